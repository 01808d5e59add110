import { Topics } from '@push/contracts';
import { deleteTestTopics, messageCount, testBrokers, uniqueTopicPrefix } from '@push/testing';
import { createKafka } from './kafka';
import { murmur2 } from './partitioner';
import { EventProducer } from './producer';

jest.setTimeout(60_000);

const prefix = uniqueTopicPrefix('producer');
const topic = prefix + Topics.UserEvents;
/** A key that the partitioner puts on `partition` of a two-partition topic. */
const keyOn = (partition: number) =>
  Array.from({ length: 100 }, (_, i) => `key-${i}`).find(
    (k) => (murmur2(Buffer.from(k)) & 0x7fffffff) % 2 === partition,
  )!;

beforeAll(async () => {
  // A topic taking record batches of at most 4 KiB: one request can then be accepted on one partition and not another.
  const admin = createKafka('producer-spec-admin', testBrokers()).admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: '4096' }] },
    ],
  });
  await admin.disconnect();
});
afterAll(() => deleteTestTopics(prefix));

describe('EventProducer (real Kafka)', () => {
  it('keeps producing after the broker rejected part of a request', async () => {
    const producer = new EventProducer({ brokers: testBrokers(), clientId: 'producer-spec' });
    try {
      // In one request, partition 0 accepts its message and partition 1 rejects one larger than the topic takes: kafkajs rolls back
      // both partitions' sequence numbers, and its idempotent producer would answer every later request to
      // partition 0 with OUT_OF_ORDER_SEQUENCE_NUMBER.
      await expect(
        producer.sendRaw([
          { topic, key: keyOn(0), value: Buffer.from('fits') },
          { topic, key: keyOn(1), value: Buffer.alloc(8 * 1024) },
        ]),
      ).rejects.toThrow(/larger than the max message size/);

      await producer.sendRaw([
        { topic, key: keyOn(0), value: Buffer.from('after') },
        { topic, key: keyOn(1), value: Buffer.from('after') },
      ]);
      expect(await messageCount(topic)).toBe(3);
    } finally {
      await producer.disconnect();
    }
  });
});
