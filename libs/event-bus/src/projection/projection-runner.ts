import { Consumer, EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';
import { CodecError, EventOf, TopicName, decodeEvent, dlqTopicOf, encodeEvent } from '@push/contracts';
import { createKafka } from '../kafka';
import { drainOutbox, writeOutbox } from '../outbox/outbox';
import { EventProducer, OutgoingEvent, RawMessage } from '../producer';

/** One decoded message handed to a projection. */
export interface ConsumedEvent<T extends TopicName = TopicName> {
  /** The contract topic (without the deployment's prefix). */
  topic: T;
  partition: number;
  offset: string;
  key: string | null;
  /** Kafka's timestamp of the message (epoch ms). */
  timestamp: number;
  event: EventOf<T>;
}

export interface Projection<T extends TopicName> {
  /** The consumer group; also the key of this projection's stored offsets. */
  groupId: string;
  topics: readonly T[];
  /**
   * Contract checks beyond the schema (an empty token, a web token that is not a PushSubscription, …): a reason sends
   * the message to the dead-letter topic instead of the projection; null lets it through.
   */
  validate?(event: ConsumedEvent<T>): string | null;
  /** Applies a batch in offset order inside the transaction that also stores the offsets; returns events to publish. */
  apply(events: ConsumedEvent<T>[], tx: EntityManager): Promise<OutgoingEvent[] | void>;
}

export interface ProjectionRunnerOptions<T extends TopicName> {
  projection: Projection<T>;
  brokers: string[];
  dataSource: DataSource;
  logger: Logger;
  metrics: Registry;
  /** Shared with the service's HTTP writes; created (and owned) by the runner when absent. */
  producer?: EventProducer;
  /** Prepended to every contract topic name (isolated test runs, several deployments on one cluster); default none. */
  topicPrefix?: string;
  /** Longest wait for more data before a fetch returns: low for freshness (default 20 ms). */
  maxWaitTimeInMs?: number;
  /** Bytes fetched per partition at most (default 1 MiB). */
  maxBytesPerPartition?: number;
  /** Messages applied per transaction at most; a larger fetch is applied in several (default 2000). */
  maxEventsPerTransaction?: number;
  /** Partitions applied concurrently, each in its own transaction (default 1). */
  partitionsConsumedConcurrently?: number;
  /** How long the group waits for a silent (crashed) member before moving its partitions (default 30 s). */
  sessionTimeoutMs?: number;
}

interface BusMetrics {
  applied: Counter<'group' | 'topic'>;
  deadLetters: Counter<'group' | 'topic' | 'code'>;
  lag: Gauge<'group' | 'topic' | 'partition'>;
  batchSeconds: Histogram<'group'>;
}

/**
 * The one consumer runner of every service. Each fetched batch is decoded, checked, applied and its next offset stored
 * in ONE Postgres transaction; Kafka offsets are committed only afterwards and serve as a hint. Postgres is the truth:
 * on assignment the consumer seeks to the stored offsets, and inside the transaction the stored offset row is locked
 * and every message below it skipped, so redelivery, restarts and rebalances apply each event exactly once in effect.
 * Poison goes to `<topic>.dlq` through the outbox, in the same transaction, and never blocks the partition.
 */
export class ProjectionRunner<T extends TopicName> {
  private readonly consumer: Consumer;
  private readonly producer: EventProducer;
  private readonly ownsProducer: boolean;
  private readonly metrics: BusMetrics;
  private readonly projection: Projection<T>;
  private readonly prefix: string;
  private running = false;
  private connected = false;
  /** Set when published events may wait in the outbox (a batch wrote some, or a drain failed). */
  private outboxPending = true;

  constructor(private readonly options: ProjectionRunnerOptions<T>) {
    this.projection = options.projection;
    this.prefix = options.topicPrefix ?? '';
    const kafka = createKafka(`${options.projection.groupId}-consumer`, options.brokers, options.logger);
    this.consumer = kafka.consumer({
      groupId: options.projection.groupId,
      maxWaitTimeInMs: options.maxWaitTimeInMs ?? 20,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
      maxBytes: 10 * 1024 * 1024,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    this.ownsProducer = !options.producer;
    this.producer =
      options.producer ??
      new EventProducer({ brokers: options.brokers, clientId: `${options.projection.groupId}-producer`, logger: options.logger, topicPrefix: this.prefix });
    this.metrics = busMetrics(options.metrics);
    this.consumer.on(this.consumer.events.CONNECT, () => (this.connected = true));
    this.consumer.on(this.consumer.events.DISCONNECT, () => (this.connected = false));
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      this.connected = false;
      options.logger.error({ err: e.payload.error, group: this.projection.groupId }, 'consumer crashed; kafkajs restarts it');
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => void this.seekToStoredOffsets(e.payload.memberAssignment));
  }

  /** Connected to the broker and consuming. */
  isHealthy(): boolean {
    return this.running && this.connected;
  }

  async start(): Promise<void> {
    await this.producer.connect();
    // Whatever a crash left in the outbox goes out first; if Kafka refuses now, the next batch tries again.
    await this.drain().catch((error) => this.options.logger.warn({ err: error }, 'outbox not drained at start'));
    await this.consumer.connect();
    this.connected = true;
    for (const topic of this.projection.topics) await this.consumer.subscribe({ topic: this.prefix + topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.running = true;
  }

  /** Stops fetching, lets the batch in flight finish and commit, publishes what it produced, disconnects. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.consumer.disconnect();
    await this.drain().catch((error) => this.options.logger.error({ err: error }, 'outbox not drained at stop; the next start publishes it'));
    if (this.ownsProducer) await this.producer.disconnect();
  }

  private async drain(): Promise<void> {
    try {
      await drainOutbox(this.options.dataSource, this.producer);
      this.outboxPending = false;
    } catch (error) {
      this.outboxPending = true;
      throw error;
    }
  }

  private async onBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const topic = batch.topic.slice(this.prefix.length) as T;
    const chunkSize = this.options.maxEventsPerTransaction ?? 2000;
    for (let start = 0; start < batch.messages.length; start += chunkSize) {
      if (!isRunning() || isStale()) return;
      const messages = batch.messages.slice(start, start + chunkSize);
      const timer = this.metrics.batchSeconds.startTimer({ group: this.projection.groupId });
      const outcome = await this.applyInTransaction(topic, batch.partition, messages);
      timer();
      if (outcome === 'gap') return;

      const { groupId } = this.projection;
      this.metrics.applied.inc({ group: groupId, topic }, outcome.applied);
      for (const code of outcome.deadLetterCodes) this.metrics.deadLetters.inc({ group: groupId, topic, code });
      const last = messages[messages.length - 1].offset;
      resolveOffset(last);
      await commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }],
      });
      await heartbeat();
      this.metrics.lag.set({ group: groupId, topic, partition: String(batch.partition) }, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(last) - 1n)));
      if (outcome.published || this.outboxPending) await this.drain();
    }
  }

  private async applyInTransaction(
    topic: T,
    partition: number,
    messages: KafkaMessage[],
  ): Promise<'gap' | { applied: number; deadLetterCodes: string[]; published: boolean }> {
    const { groupId } = this.projection;
    return this.options.dataSource.transaction(async (tx) => {
      const stored = await lockStoredOffset(tx, groupId, topic, partition);
      const first = BigInt(messages[0].offset);
      if (stored !== null && first > stored) {
        // Kafka would skip events the read model has not seen (its committed offset is ahead of ours): go back.
        this.consumer.seek({ topic: this.prefix + topic, partition, offset: stored.toString() });
        return 'gap' as const;
      }
      const fresh = stored === null ? messages : messages.filter((m) => BigInt(m.offset) >= stored);
      if (fresh.length === 0) return { applied: 0, deadLetterCodes: [], published: false };

      const valid: ConsumedEvent<T>[] = [];
      const deadLetters: RawMessage[] = [];
      for (const message of fresh) {
        const decoded = this.decode(topic, partition, message);
        if ('event' in decoded) valid.push(decoded);
        else deadLetters.push(deadLetter(this.prefix + topic, partition, message, decoded.code, decoded.reason));
      }

      const outgoing = valid.length ? ((await this.projection.apply(valid, tx)) ?? []) : [];
      const published: RawMessage[] = outgoing.map((o) => ({ topic: this.prefix + o.topic, key: o.key, value: encodeEvent(o.topic, o.event as never) }));
      await writeOutbox(tx, [...deadLetters, ...published]);
      const next = BigInt(fresh[fresh.length - 1].offset) + 1n;
      await tx.query(
        `insert into consumer_offsets (group_id, topic, partition, next_offset) values ($1, $2, $3, $4)
         on conflict (group_id, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()`,
        [groupId, topic, partition, next.toString()],
      );
      return {
        applied: valid.length,
        deadLetterCodes: deadLetters.map((d) => String(d.headers?.['dlq-error-code'])),
        published: deadLetters.length + published.length > 0,
      };
    });
  }

  private decode(topic: T, partition: number, message: KafkaMessage): ConsumedEvent<T> | { code: string; reason: string } {
    let event: EventOf<T>;
    try {
      if (!message.value) return { code: 'EMPTY', reason: 'message has no value' };
      event = decodeEvent(topic, message.value);
    } catch (error) {
      if (error instanceof CodecError) return { code: error.code, reason: error.message };
      throw error;
    }
    const consumed: ConsumedEvent<T> = {
      topic,
      partition,
      offset: message.offset,
      key: message.key?.toString('utf8') ?? null,
      timestamp: Number(message.timestamp),
      event,
    };
    const violation = this.projection.validate?.(consumed) ?? null;
    return violation === null ? consumed : { code: 'CONTRACT_VIOLATION', reason: violation };
  }

  private async seekToStoredOffsets(assignment: Record<string, number[]>): Promise<void> {
    try {
      const rows: { topic: string; partition: number; next_offset: string }[] = await this.options.dataSource.query(
        'select topic, partition, next_offset from consumer_offsets where group_id = $1',
        [this.projection.groupId],
      );
      const stored = new Map(rows.map((r) => [`${r.topic}:${r.partition}`, r.next_offset]));
      for (const [topic, partitions] of Object.entries(assignment)) {
        for (const partition of partitions) {
          const offset = stored.get(`${topic.slice(this.prefix.length)}:${partition}`);
          if (offset !== undefined) this.consumer.seek({ topic, partition, offset });
        }
      }
    } catch (error) {
      // Not fatal: the in-transaction check still skips applied events and rewinds over gaps.
      this.options.logger.warn({ err: error, group: this.projection.groupId }, 'could not seek to stored offsets');
    }
  }
}

async function lockStoredOffset(tx: EntityManager, groupId: string, topic: string, partition: number): Promise<bigint | null> {
  const rows: { next_offset: string }[] = await tx.query(
    'select next_offset from consumer_offsets where group_id = $1 and topic = $2 and partition = $3 for update',
    [groupId, topic, partition],
  );
  return rows.length ? BigInt(rows[0].next_offset) : null;
}

function deadLetter(topic: string, partition: number, message: KafkaMessage, code: string, reason: string): RawMessage {
  const headers: IHeaders = {
    ...(message.headers ?? {}),
    'dlq-error': reason,
    'dlq-error-code': code,
    'dlq-source-topic': topic,
    'dlq-source-partition': String(partition),
    'dlq-source-offset': message.offset,
  };
  return { topic: dlqTopicOf(topic), key: message.key?.toString('utf8') ?? null, value: message.value, headers };
}

function busMetrics(registry: Registry): BusMetrics {
  const existing = <M>(name: string) => registry.getSingleMetric(name) as M | undefined;
  return {
    applied:
      existing<Counter<'group' | 'topic'>>('event_bus_events_applied_total') ??
      new Counter({ name: 'event_bus_events_applied_total', help: 'Events applied to read models.', labelNames: ['group', 'topic'], registers: [registry] }),
    deadLetters:
      existing<Counter<'group' | 'topic' | 'code'>>('event_bus_dead_letters_total') ??
      new Counter({ name: 'event_bus_dead_letters_total', help: 'Messages sent to <topic>.dlq, by error code.', labelNames: ['group', 'topic', 'code'], registers: [registry] }),
    lag:
      existing<Gauge<'group' | 'topic' | 'partition'>>('event_bus_consumer_lag') ??
      new Gauge({ name: 'event_bus_consumer_lag', help: 'Messages behind the partition end after the last applied batch.', labelNames: ['group', 'topic', 'partition'], registers: [registry] }),
    batchSeconds:
      existing<Histogram<'group'>>('event_bus_batch_seconds') ??
      new Histogram({
        name: 'event_bus_batch_seconds',
        help: 'Time to apply one transaction of events.',
        labelNames: ['group'],
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
  };
}
