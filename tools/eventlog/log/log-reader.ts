import { randomUUID } from 'node:crypto';
import type { Admin, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { TopicName } from '@push/contracts';
import { createKafka } from '@push/event-bus';

/** A stretch of one partition to read: offsets `start` ≤ o < `end`; `end` null reads on for ever (`--follow`). */
export interface PartitionRange {
  topic: TopicName;
  partition: number;
  start: bigint;
  end: bigint | null;
}

/** What an analyst asks of the log: which topics, partitions, offsets and times (Kafka timestamps, epoch ms). */
export interface LogSelection {
  topics: readonly TopicName[];
  partitions?: readonly number[];
  fromOffset?: bigint;
  /** Inclusive. */
  toOffset?: bigint;
  fromTime?: number;
  /** Inclusive. */
  toTime?: number;
  follow?: boolean;
}

/** A message as read, before decoding: the contract topic (without the deployment's prefix) and where it was. */
export interface LogMessage {
  topic: TopicName;
  partition: number;
  offset: string;
  key: string | null;
  timestamp: number;
  value: Buffer | null;
}

export interface LogReaderOptions {
  brokers: string[];
  /** KAFKA_TOPIC_PREFIX of the deployment read (tests and benchmarks use one). */
  topicPrefix?: string;
  logger?: Logger;
  /** Fetch sizes: the defaults favour throughput (an export reads whole partitions). */
  maxBytesPerPartition?: number;
  maxBytes?: number;
}

/**
 * The ranges to read, decided once at the start: the log end is captured now, so an export stops there even while
 * producers go on (unless `follow`). A time bound uses Kafka's time index (the first offset whose timestamp is at or
 * after it), as kafka-console-consumer does; messages are filtered by timestamp too, because producers' timestamps
 * need not grow with offsets.
 */
export async function planRanges(admin: Admin, prefix: string, selection: LogSelection): Promise<PartitionRange[]> {
  const existing = new Set(await admin.listTopics());
  const missing = selection.topics.filter((t) => !existing.has(prefix + t)).map((t) => prefix + t);
  if (missing.length > 0)
    throw new Error(
      `no such topic on the broker: ${missing.join(', ')} (is KAFKA_TOPIC_PREFIX / --topic-prefix right?)`,
    );
  const ranges: PartitionRange[] = [];
  for (const topic of selection.topics) {
    const physical = prefix + topic;
    const offsets = await admin.fetchTopicOffsets(physical);
    const fromTime =
      selection.fromTime === undefined
        ? undefined
        : await admin.fetchTopicOffsetsByTimestamp(physical, selection.fromTime);
    const toTime =
      selection.toTime === undefined || selection.follow
        ? undefined
        : await admin.fetchTopicOffsetsByTimestamp(physical, selection.toTime + 1);
    for (const { partition, low, high } of offsets.sort((a, b) => a.partition - b.partition)) {
      if (selection.partitions && !selection.partitions.includes(partition)) continue;
      let start = BigInt(low);
      const fromTimeOffset = fromTime?.find((p) => p.partition === partition)?.offset;
      if (fromTimeOffset !== undefined) start = max(start, BigInt(fromTimeOffset));
      if (selection.fromOffset !== undefined) start = max(start, selection.fromOffset);
      let end: bigint | null = selection.follow ? null : BigInt(high);
      if (end !== null) {
        const toTimeOffset = toTime?.find((p) => p.partition === partition)?.offset;
        if (toTimeOffset !== undefined) end = min(end, BigInt(toTimeOffset));
      }
      if (selection.toOffset !== undefined)
        end = end === null ? selection.toOffset + 1n : min(end, selection.toOffset + 1n);
      ranges.push({ topic, partition, start, end });
    }
  }
  return ranges;
}

/** Messages in a range: what the progress bar counts (an upper bound where the log has gaps). */
export function rangeSize(ranges: readonly PartitionRange[]): number | null {
  let total = 0n;
  for (const r of ranges) {
    if (r.end === null) return null;
    if (r.end > r.start) total += r.end - r.start;
  }
  return Number(total);
}

/**
 * Reads the ranges with a consumer of a throwaway group (deleted afterwards; no offsets of it matter): each partition
 * from its start, until its end, handing `onBatch` the messages of one partition at a time, in offset order (and how
 * many offsets it covered, time-filtered ones included: what a progress bar counts). Resolves
 * when every range is read (never, with an open end, until `stop()` is called). `onBatch` is awaited, so a slow
 * writer holds the fetches back.
 */
export class LogReader {
  private finish: (() => void) | undefined;

  constructor(private readonly options: LogReaderOptions) {}

  async plan(selection: LogSelection): Promise<PartitionRange[]> {
    const admin = createKafka('eventlog-plan', this.options.brokers, this.options.logger).admin();
    await admin.connect();
    try {
      return await planRanges(admin, this.options.topicPrefix ?? '', selection);
    } finally {
      await admin.disconnect();
    }
  }

  async read(
    ranges: readonly PartitionRange[],
    onBatch: (messages: LogMessage[], scanned: number) => Promise<void> | void,
    filterTime?: { from?: number; to?: number },
  ): Promise<void> {
    const prefix = this.options.topicPrefix ?? '';
    const open = new Map<string, PartitionRange>();
    for (const r of ranges) if (r.end === null || r.end > r.start) open.set(`${prefix}${r.topic}:${r.partition}`, r);
    if (open.size === 0) return;
    const kafka = createKafka('eventlog-reader', this.options.brokers, this.options.logger);
    const groupId = `eventlog-${randomUUID()}`;
    const consumer = kafka.consumer({
      groupId,
      maxBytesPerPartition: this.options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      maxBytes: this.options.maxBytes ?? 16 * 1024 * 1024,
      maxWaitTimeInMs: 100,
      sessionTimeout: 30_000,
    });
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    let failed: unknown;
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) {
        failed = e.payload.error;
        this.finish?.();
      }
    });
    const byTopic = new Map<string, number[]>();
    for (const r of open.values())
      byTopic.set(prefix + r.topic, [...(byTopic.get(prefix + r.topic) ?? []), r.partition]);
    const seekAll = () => {
      for (const r of open.values())
        consumer.seek({ topic: prefix + r.topic, partition: r.partition, offset: r.start.toString() });
    };
    consumer.on(consumer.events.GROUP_JOIN, () => seekAll());
    // A fetch holding only transaction markers (or aborted records) never reaches eachBatch; kafkajs reports it as a
    // batch of no message ending at its last offset. Nothing to read is left below that offset: at the range's end,
    // the partition is done (else a range ending in a marker would wait for ever).
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const key = `${payload.topic}:${payload.partition}`;
      const range = open.get(key);
      if (!range || range.end === null || payload.batchSize !== 0) return;
      if (BigInt(payload.lastOffset) + 1n < range.end) return;
      open.delete(key);
      consumer.pause([{ topic: payload.topic, partitions: [payload.partition] }]);
      if (open.size === 0) this.finish?.();
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...byTopic.keys()], fromBeginning: true });
      const from = filterTime?.from;
      const to = filterTime?.to;
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, isRunning, isStale }) => {
          const key = `${batch.topic}:${batch.partition}`;
          const range = open.get(key);
          if (!range || !isRunning() || isStale()) return;
          const first = batch.messages[0];
          // A batch fetched before the seek took effect (kafkajs starts a fresh group at the log start): dropped.
          if (first === undefined || BigInt(first.offset) < range.start) {
            if (first !== undefined)
              consumer.seek({ topic: batch.topic, partition: batch.partition, offset: range.start.toString() });
            return;
          }
          const messages: LogMessage[] = [];
          let reachedEnd = false;
          let scanned = 0;
          for (const m of batch.messages as KafkaMessage[]) {
            const offset = BigInt(m.offset);
            if (range.end !== null && offset >= range.end) {
              reachedEnd = true;
              break;
            }
            scanned++;
            const timestamp = Number(m.timestamp);
            if ((from !== undefined && timestamp < from) || (to !== undefined && timestamp > to)) continue;
            messages.push({
              topic: range.topic,
              partition: batch.partition,
              offset: m.offset,
              key: m.key ? m.key.toString('utf8') : null,
              timestamp,
              value: m.value,
            });
          }
          // The batch's last offset counts the transaction markers after its last message too (never handed over).
          if (range.end !== null && BigInt(batch.lastOffset()) + 1n >= range.end) reachedEnd = true;
          if (scanned > 0) await onBatch(messages, scanned);
          if (reachedEnd) {
            open.delete(key);
            consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
            if (open.size === 0) this.finish?.();
          }
        },
      });
      await done;
      if (failed) throw failed;
    } finally {
      await consumer.disconnect().catch(() => undefined);
      const admin = kafka.admin();
      await admin
        .connect()
        .then(() => admin.deleteGroups([groupId]))
        .catch(() => undefined)
        .finally(() => admin.disconnect().catch(() => undefined));
    }
  }

  /** Ends a read (a `--follow` one, or on SIGINT): resolves `read` after the batch in hand. */
  stop(): void {
    this.finish?.();
  }
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);
