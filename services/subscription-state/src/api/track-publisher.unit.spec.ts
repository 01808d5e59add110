import type { RawMessage } from '@push/event-bus';
import type { ServiceEventBus } from '@push/service-kit';
import { userEvents } from '@push/testing';
import { TrackPublisher } from './track-publisher';

/** A producer whose sends the test acknowledges (or fails) one at a time. */
function fakeBus() {
  const sends: { messages: RawMessage[]; ack: () => void; fail: (e: Error) => void }[] = [];
  const producer = {
    encode: ({ key }: { key: string }) => ({ topic: 'sdk.user-events.v1', key, value: Buffer.from(key) }),
    sendRaw: (messages: RawMessage[]) =>
      new Promise<void>((ack, fail) => sends.push({ messages: [...messages], ack, fail })),
  };
  return { bus: { producer } as unknown as ServiceEventBus, sends };
}

const keyed = (user_id: string) => ({
  key: `acme:${user_id}`,
  event: userEvents.pushSubscriptionSet({ workspace_id: 'acme', user_id }, 1, 'OPTED_IN', 'REST'),
});
const tick = () => new Promise((r) => setImmediate(r));
const keysOf = (messages: RawMessage[]) => messages.map((m) => m.key);

describe('TrackPublisher (group commit of /users/track writes)', () => {
  it('sends what arrives during a send together, in arrival order, and answers each caller only once its send is acknowledged', async () => {
    const { bus, sends } = fakeBus();
    const publisher = new TrackPublisher(bus);
    const answered: string[] = [];

    const first = publisher.publish([keyed('a')]).then(() => answered.push('first'));
    const second = publisher.publish([keyed('b'), keyed('c')]).then(() => answered.push('second'));
    const third = publisher.publish([keyed('d')]).then(() => answered.push('third'));
    await tick();
    expect(sends.map((s) => keysOf(s.messages))).toEqual([['acme:a']]);

    sends[0].ack();
    await first;
    await tick();
    expect(answered).toEqual(['first']);
    expect(sends.map((s) => keysOf(s.messages))).toEqual([['acme:a'], ['acme:b', 'acme:c', 'acme:d']]);

    sends[1].ack();
    await Promise.all([second, third]);
    expect(answered).toEqual(['first', 'second', 'third']);
  });

  it('a failed send rejects every caller in it, and the next callers are sent anew', async () => {
    const { bus, sends } = fakeBus();
    const publisher = new TrackPublisher(bus);

    const first = publisher.publish([keyed('a')]);
    const second = publisher.publish([keyed('b')]);
    await tick();
    sends[0].fail(new Error('broker down'));
    await expect(first).rejects.toThrow('broker down');
    await tick();
    sends[1].fail(new Error('still down'));
    await expect(second).rejects.toThrow('still down');

    const third = publisher.publish([keyed('c')]);
    await tick();
    sends[2].ack();
    await expect(third).resolves.toBeUndefined();
    expect(sends.map((s) => keysOf(s.messages))).toEqual([['acme:a'], ['acme:b'], ['acme:c']]);
  });
});
