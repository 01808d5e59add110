import { ALL_EVENT_TOPICS, MessageKeys, TopicName, Topics } from '@push/contracts';
import { EventProducer, OutgoingEvent } from '@push/event-bus';
import {
  createTestTopics,
  deleteTestTopics,
  deliveryEvents,
  deviceEvents,
  deviceTokenEvents,
  outcomeEvents,
  subscriptionEvents,
  testBrokers,
  uniqueTopicPrefix,
  userEvents,
} from '@push/testing';
import { runCli } from '../testing/run-cli';

jest.setTimeout(90_000);

const prefix = uniqueTopicPrefix('eventlog-as-of');
const ws = 'acme';
const phone = { workspace_id: ws, app_id: 'ios-app', device_id: 'phone' };
const tablet = { workspace_id: ws, app_id: 'android-app', device_id: 'tablet' };
const strangers = { workspace_id: 'globex', app_id: 'ios-app', device_id: 'phone' };
const kim = { workspace_id: ws, user_id: 'kim' };
const T = Date.UTC(2026, 11, 1, 9);
const at = (minutes: number) => T + minutes * 60_000;
const TOKEN = 'e'.repeat(64);

let producer: EventProducer;

function keyed(topic: TopicName, event: { type: string; data: object }): OutgoingEvent {
  const data = event.data as { workspace_id: string; app_id?: string; device_id?: string | null; user_id: string };
  const key =
    typeof data.device_id === 'string'
      ? MessageKeys.device(data.workspace_id, data.app_id as string, data.device_id)
      : MessageKeys.user(data.workspace_id, data.user_id);
  return { topic, key, event } as OutgoingEvent;
}

beforeAll(async () => {
  await createTestTopics(prefix, ALL_EVENT_TOPICS, 3);
  producer = new EventProducer({ brokers: testBrokers(), clientId: 'eventlog-as-of-test', topicPrefix: prefix });
  const events: OutgoingEvent[] = [
    keyed(Topics.DeviceEvents, deviceEvents.tokenRegistered(phone, at(0), TOKEN, { user_id: 'kim' })),
    keyed(Topics.DeviceTokens, deviceTokenEvents.userFirstSeen(phone, at(0), 'kim')),
    keyed(Topics.DeviceTokens, deviceTokenEvents.pushCapabilityChanged(phone, at(0), { user_id: 'kim' })),
    keyed(Topics.DeviceTokens, deviceTokenEvents.tokenAssigned(phone, at(0), TOKEN, { user_id: 'kim' })),
    keyed(Topics.UserSubscriptions, subscriptionEvents.stateChanged(kim, at(0), 'SUBSCRIBED')),
    keyed(
      Topics.DeviceTokens,
      deviceTokenEvents.pushCapabilityChanged(tablet, at(5), { user_id: 'kim', platform: 'ANDROID', os_version: '14' }),
    ),
    keyed(
      Topics.DeviceTokens,
      deviceTokenEvents.tokenAssigned(tablet, at(5), `fcm-${'t'.repeat(150)}`, { user_id: 'kim', platform: 'ANDROID' }),
    ),
    keyed(Topics.DispatchOutcomes, outcomeEvents.pushBounced(phone, at(30), TOKEN, 'Unregistered', { user_id: 'kim' })),
    keyed(Topics.DeviceDelivery, deliveryEvents.tokenInvalidated(phone, at(30), TOKEN)),
    keyed(Topics.DeviceTokens, {
      type: 'TokenRemoved',
      data: {
        ...deviceTokenEvents.tokenRemoved(phone, at(30), TOKEN, { user_id: 'kim', reason: 'INVALIDATED' }).data,
        provider_reason: 'Unregistered',
      },
    }),
    keyed(Topics.UserEvents, userEvents.pushSubscriptionSet(kim, at(40), 'UNSUBSCRIBED', 'REST')),
    keyed(Topics.UserSubscriptions, subscriptionEvents.stateChanged(kim, at(40), 'UNSUBSCRIBED', 'SUBSCRIBED')),
    // Another workspace's kim, on a device of the same name: never part of the answer.
    keyed(Topics.DeviceTokens, deviceTokenEvents.tokenAssigned(strangers, at(1), 'z'.repeat(64), { user_id: 'kim' })),
  ];
  for (const event of events) await producer.publish(event.topic, [{ key: event.key, event: event.event } as never]);
});

afterAll(async () => {
  await producer?.disconnect();
  await deleteTestTopics(prefix);
});

const asOf = (time: number, ...args: string[]) =>
  runCli(['as-of', new Date(time).toISOString(), '--workspace', ws, '--topic-prefix', prefix, ...args]);

describe('eventlog as-of against the broker', () => {
  it('a user before the bounce: reachable on iOS and Android, with the events that made it so', async () => {
    const run = await asOf(at(20), '--user', 'kim', '--json');
    expect(run.code).toBe(0);
    const answer = JSON.parse(run.stdout);
    expect(answer.summary).toBe('kim is reachable on iOS and Android');
    expect(answer.devices.map((d: { device_id: string }) => d.device_id)).toEqual(['tablet', 'phone']);
    expect(answer.events.map((e: { type: string }) => e.type)).toEqual([
      'TokenRegistered',
      'UserFirstSeen',
      'PushCapabilityChanged',
      'TokenAssigned',
      'SubscriptionStateChanged',
      'PushCapabilityChanged',
      'TokenAssigned',
    ]);
    expect(run.stdout).not.toContain(TOKEN);
  });

  it('after the bounce and the unsubscribe: why not, in words, as text', async () => {
    const run = await asOf(at(35), '--user', 'kim');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('As of 2026-12-01T09:35:00Z: kim is reachable on Android.');
    expect(run.stdout).toContain(
      'not reachable on iOS: token invalidated by APNs Unregistered at 2026-12-01T09:30:00Z',
    );
    const later = await asOf(at(45), '--user', 'kim');
    expect(later.stdout).toContain('kim is not reachable on any platform');
    expect(later.stdout).toContain('not reachable on Android: the user unsubscribed (rest) at 2026-12-01T09:40:00Z');
    expect(later.stdout).toMatch(/PushSubscriptionSet kim \(state=UNSUBSCRIBED, source=REST\)/);
  });

  it('a device question, and bad questions refused with exit code 2', async () => {
    const run = await asOf(at(45), '--device', 'ios-app:phone', '--json');
    expect(JSON.parse(run.stdout)).toMatchObject({
      user_id: 'kim',
      devices: [{ device_id: 'phone', reachable: false, token_status: 'removed' }],
    });
    const both = await asOf(at(45), '--device', 'ios-app:phone', '--user', 'kim');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give exactly one of --user');
    const badTime = await runCli(['as-of', 'noon', '--workspace', ws, '--user', 'kim']);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('<time>: expected an ISO-8601 time');
  });
});
