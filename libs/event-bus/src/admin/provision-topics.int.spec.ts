import { ConfigResourceTypes } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { createKafka } from '../kafka';
import { provisionTopics } from './provision-topics';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

describe('topic provisioning', () => {
  const admin = createKafka('provisioning-spec', brokers).admin();
  const run = randomUUID().slice(0, 8);
  const events = `spec.provision-${run}.events.v1`;
  const tooSmall = `spec.provision-${run}.small.v1`;
  const all = [events, `${events}.dlq`, tooSmall, `${tooSmall}.dlq`];

  beforeAll(() => admin.connect());
  afterAll(async () => {
    await admin.deleteTopics({ topics: all }).catch(() => undefined);
    await admin.disconnect();
  });

  async function partitionsOf(topic: string): Promise<number> {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0].partitions.length;
  }

  async function retentionOf(topic: string): Promise<string | undefined> {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
    });
    return resources[0].configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
  }

  it('creates each topic and its dead-letter topic with the configured partitions and infinite retention', async () => {
    const report = await provisionTopics({ brokers, partitions: 4, topics: [events] });

    expect(report.created.sort()).toEqual([events, `${events}.dlq`].sort());
    for (const topic of [events, `${events}.dlq`]) {
      expect(await partitionsOf(topic)).toBe(4);
      expect(await retentionOf(topic)).toBe('-1');
    }
  });

  it('is idempotent and repairs partition counts and retention of existing topics', async () => {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: tooSmall, numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '60000' }] }],
    });

    const first = await provisionTopics({ brokers, partitions: 4, topics: [events, tooSmall] });
    const second = await provisionTopics({ brokers, partitions: 4, topics: [events, tooSmall] });

    expect(first.created).toEqual([`${tooSmall}.dlq`]);
    expect(first.updated).toEqual([tooSmall]);
    expect(second.created).toEqual([]);
    expect(second.updated).toEqual([]);
    expect(second.unchanged.sort()).toEqual(all.sort());
    expect(await partitionsOf(tooSmall)).toBe(4);
    expect(await retentionOf(tooSmall)).toBe('-1');
  });
});
