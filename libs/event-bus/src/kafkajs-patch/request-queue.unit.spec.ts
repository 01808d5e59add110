// The kafkajs request-queue patch (patches/kafkajs+2.2.4.patch, upstream issue #1751). kafkajs belongs to
// libs/event-bus, but every service's Kafka clients are started from here, so the patch's proof lives with them.

interface QueuedRequest {
  entry: {
    correlationId: number;
    apiName: string;
    apiKey: number;
    apiVersion: number;
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
  };
  expectResponse: boolean;
  sendRequest: () => void;
}

interface RequestQueue {
  push(request: QueuedRequest): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number | null): void;
  destroy(): void;
  pending: unknown[];
  throttleCheckTimeoutId: NodeJS.Timeout | null;
}

// kafkajs ships no types for its internals.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueueClass = require('kafkajs/src/network/requestQueue') as new (
  options: Record<string, unknown>,
) => RequestQueue;

/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL: how often a queue with waiting requests looks at them. */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function queueOf(maxInFlightRequests: number | null): RequestQueue {
  return new RequestQueueClass({
    maxInFlightRequests,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'spec',
    broker: 'spec:9092',
    logger: silent,
  });
}

let correlationId = 0;
function request(sent: number[]): { request: QueuedRequest; done: Promise<unknown> } {
  const id = ++correlationId;
  let resolve!: (v: unknown) => void;
  const done = new Promise((r) => (resolve = r));
  return {
    done,
    request: {
      entry: { correlationId: id, apiName: 'Fetch', apiKey: 1, apiVersion: 11, resolve, reject: () => undefined },
      expectResponse: true,
      sendRequest: () => sent.push(id),
    },
  };
}

describe('kafkajs RequestQueue (patched: no timer while nothing waits)', () => {
  let timeouts: jest.SpyInstance;

  beforeEach(() => {
    timeouts = jest.spyOn(global, 'setTimeout');
  });

  afterEach(() => {
    timeouts.mockRestore();
  });

  /** Delays of the timers the queue armed (the spy sees every setTimeout of the process, only the queue runs here). */
  const armed = () => timeouts.mock.calls.map(([, delay]) => Number(delay ?? 0));

  it('arms no timer after a request is sent and answered when nothing else is pending (was a 1 ms loop, forever)', async () => {
    const queue = queueOf(null);
    const sent: number[] = [];
    const { request: r, done } = request(sent);

    queue.push(r);
    queue.fulfillRequest({ correlationId: r.entry.correlationId, payload: Buffer.alloc(0), size: 0 });
    await done;
    await new Promise((resolve) => setImmediate(resolve));

    expect(sent).toEqual([r.entry.correlationId]);
    expect(queue.throttleCheckTimeoutId && 'a pending-check timer is armed').toBeNull();
    expect(armed()).toEqual([]);
    queue.destroy();
  });

  it('still sends a request that waited for a free in-flight slot, as soon as one is answered', async () => {
    const queue = queueOf(1);
    const sent: number[] = [];
    const first = request(sent);
    const second = request(sent);

    queue.push(first.request);
    queue.push(second.request);
    expect(sent).toEqual([first.request.entry.correlationId]);
    expect(armed().every((delay) => delay >= CHECK_PENDING_REQUESTS_INTERVAL)).toBe(true);

    queue.fulfillRequest({ correlationId: first.request.entry.correlationId, payload: Buffer.alloc(0), size: 0 });
    expect(sent).toEqual([first.request.entry.correlationId, second.request.entry.correlationId]);
    queue.fulfillRequest({ correlationId: second.request.entry.correlationId, payload: Buffer.alloc(0), size: 0 });
    await Promise.all([first.done, second.done]);
    await new Promise((resolve) => setTimeout(resolve, 3 * CHECK_PENDING_REQUESTS_INTERVAL));

    expect(queue.pending).toHaveLength(0);
    expect(queue.throttleCheckTimeoutId && 'a pending-check timer is armed').toBeNull();
    queue.destroy();
  });

  it('sends a request held back by broker throttling when the throttle ends (kafkajs #1532 kept)', async () => {
    const queue = queueOf(null);
    const sent: number[] = [];
    queue.maybeThrottle(50);
    const { request: r, done } = request(sent);

    queue.push(r);
    expect(sent).toEqual([]);
    expect(armed()).toHaveLength(1);
    expect(armed()[0]).toBeGreaterThan(0);
    expect(armed()[0]).toBeLessThanOrEqual(50);

    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(sent).toEqual([r.entry.correlationId]);
    queue.fulfillRequest({ correlationId: r.entry.correlationId, payload: Buffer.alloc(0), size: 0 });
    await done;
    expect(queue.throttleCheckTimeoutId && 'a pending-check timer is armed').toBeNull();
    queue.destroy();
  });
});
