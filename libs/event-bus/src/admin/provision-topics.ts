import { Admin, ConfigResourceTypes, ITopicConfig } from 'kafkajs';
import { ALL_EVENT_TOPICS, dlqTopicOf } from '@push/contracts';
import { createKafka } from '../kafka';

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Event topics are the system of record: kept forever (`retention.ms=-1`). */
  retentionMs: number;
}

export interface ProvisioningOptions {
  brokers: string[];
  /** Default 6: bounds how many replicas of a service can share the work. */
  partitions?: number;
  /** Defaults to every topic of the contract; each also gets its `<topic>.dlq`. */
  topics?: readonly string[];
}

export interface ProvisioningReport {
  created: string[];
  /** Existing topics whose partitions were raised or whose retention was corrected. */
  updated: string[];
  unchanged: string[];
}

export const DEFAULT_PARTITIONS = 6;
const KEEP_FOREVER = -1;

export function topicSpecs(options: Pick<ProvisioningOptions, 'partitions' | 'topics'>): TopicSpec[] {
  const partitions = options.partitions ?? DEFAULT_PARTITIONS;
  const topics = options.topics ?? ALL_EVENT_TOPICS;
  return topics.flatMap((topic) => [
    { topic, partitions, retentionMs: KEEP_FOREVER },
    { topic: dlqTopicOf(topic), partitions, retentionMs: KEEP_FOREVER },
  ]);
}

/**
 * Creates every topic with an explicit partition count and retention, and repairs existing ones: a
 * partition count below the configured one is raised (never lowered: that would reorder keys), and
 * retention is set back to the configured value. Safe to run at every start and from several replicas.
 */
export async function provisionTopics(options: ProvisioningOptions): Promise<ProvisioningReport> {
  // No logger: a failed attempt is reported (and retried) by the caller; kafkajs' own retry warnings would repeat it.
  const admin = createKafka('topic-provisioner', options.brokers).admin();
  await admin.connect();
  try {
    return await reconcile(admin, topicSpecs(options));
  } finally {
    await admin.disconnect();
  }
}

async function reconcile(admin: Admin, specs: TopicSpec[]): Promise<ProvisioningReport> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  const report: ProvisioningReport = { created: [], updated: [], unchanged: [] };

  if (missing.length > 0) {
    await admin.createTopics({ waitForLeaders: true, topics: missing.map(toTopicConfig) });
    report.created.push(...missing.map((s) => s.topic));
  }

  const present = specs.filter((s) => existing.has(s.topic));
  if (present.length === 0) return report;

  const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
  const partitionCount = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.topic, configNames: ['retention.ms'] })),
  });
  const retention = new Map(
    configs.resources.map((r) => [
      r.resourceName,
      r.configEntries.find((e) => e.configName === 'retention.ms')?.configValue,
    ]),
  );

  const tooFewPartitions = present.filter((s) => (partitionCount.get(s.topic) ?? 0) < s.partitions);
  if (tooFewPartitions.length > 0) {
    await admin.createPartitions({
      topicPartitions: tooFewPartitions.map((s) => ({ topic: s.topic, count: s.partitions })),
    });
  }
  const wrongRetention = present.filter((s) => retention.get(s.topic) !== String(s.retentionMs));
  if (wrongRetention.length > 0) {
    await admin.alterConfigs({
      validateOnly: false,
      resources: wrongRetention.map((s) => ({
        type: ConfigResourceTypes.TOPIC,
        name: s.topic,
        configEntries: [{ name: 'retention.ms', value: String(s.retentionMs) }],
      })),
    });
  }

  const updated = new Set([...tooFewPartitions, ...wrongRetention].map((s) => s.topic));
  for (const s of present) (updated.has(s.topic) ? report.updated : report.unchanged).push(s.topic);
  return report;
}

function toTopicConfig(spec: TopicSpec): ITopicConfig {
  return {
    topic: spec.topic,
    numPartitions: spec.partitions,
    replicationFactor: -1,
    configEntries: [{ name: 'retention.ms', value: String(spec.retentionMs) }],
  };
}
