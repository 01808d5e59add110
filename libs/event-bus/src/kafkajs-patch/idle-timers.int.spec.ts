import { randomUUID } from 'node:crypto';
import { Topics } from '@push/contracts';
import { createKafka } from '../kafka';
import { createTestTopics, deleteTestTopics, eventually, testBrokers, uniqueTopicPrefix } from '@push/testing';

jest.setTimeout(30_000);

/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL. */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;
const realSetTimeout = global.setTimeout;
const idle = (ms: number) => new Promise((resolve) => realSetTimeout(resolve, ms));

/**
 * The kafkajs request-queue patch against the real broker (patches/kafkajs+2.2.4.patch, upstream issue #1751): once
 * its requests are answered, an idle client arms no timer shorter than the pending-check interval. Unpatched, every
 * connection re-armed a negative (1 ms) timeout after each request, forever: thousands of timers a second.
 */
describe('kafkajs clients idling against the real broker', () => {
  const prefix = uniqueTopicPrefix('idle-timers');
  const topic = prefix + Topics.DeviceEvents;

  beforeAll(() => createTestTopics(prefix, [Topics.DeviceEvents], 1));
  afterAll(() => deleteTestTopics(prefix));

  it('an idle connected admin, producer and consumer arm no timer shorter than the pending-check interval', async () => {
    const kafka = createKafka('idle-timers-spec', testBrokers());
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({
      groupId: `idle-timers-${randomUUID()}`,
      maxWaitTimeInMs: 500,
      sessionTimeout: 6000,
      heartbeatInterval: 1000,
    });
    let consumed = 0;
    try {
      await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async () => void consumed++ });
      await admin.listTopics();
      await producer.send({ topic, messages: [{ key: 'k', value: 'v' }] });
      await eventually(() => consumed === 1, 15_000, 'the message consumed');
      await idle(500);

      const timeouts = jest.spyOn(global, 'setTimeout');
      try {
        await idle(2000);
        const delays = timeouts.mock.calls.map(([, delay]) => Number(delay ?? 0));
        expect(delays.filter((delay) => delay < CHECK_PENDING_REQUESTS_INTERVAL)).toEqual([]);
        // what is left: the consumer's long polls and heartbeats, a few a second
        expect(delays.length).toBeLessThan(40);
      } finally {
        timeouts.mockRestore();
      }
    } finally {
      await Promise.all([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
    }
  });
});
