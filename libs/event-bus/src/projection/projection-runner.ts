import { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';
import { CodecError, EventOf, SchemaRegistry, TopicName, contractRegistry } from '@push/contracts';
import { createKafka } from '../kafka';
import { BusMetrics, busMetrics } from '../metrics/bus-metrics';
import { OutboxWrite, drainOutbox, outboxSize, publishCommitted, writeOutbox } from '../outbox/outbox';
import { EventProducer, RawMessage } from '../producer';
import { DeadLetterCode, deadLetter } from './dead-letter';
import { ConsumedEvent, ContractViolation, Projection } from './projection';
import { isConcurrencyConflict, retryDelayMs } from './retry-delay';

export interface ProjectionRunnerOptions<T extends TopicName> {
  projection: Projection<T>;
  brokers: string[];
  dataSource: DataSource;
  logger: Logger;
  /** The service's one prom-client registry. */
  metrics: Registry;
  /** Shared with the service's HTTP writes; created (and owned) by the runner when absent. */
  producer?: EventProducer;
  /** Prepended to every contract topic name (isolated test runs, several deployments on one cluster); default none. */
  topicPrefix?: string;
  /** Longest wait for `minBytes` before a fetch returns: low for freshness (default 20 ms). */
  maxWaitTimeInMs?: number;
  /** A fetch returns as soon as this many bytes are there (default 1: at once). */
  minBytes?: number;
  /** Bytes fetched per partition at most (default 1 MiB). */
  maxBytesPerPartition?: number;
  /** Bytes per fetch at most, all partitions together (default 10 MiB). */
  maxBytes?: number;
  /** Messages applied per transaction at most; a larger fetched batch is applied in several (default 2000). */
  maxEventsPerTransaction?: number;
  /** Partitions applied concurrently, each in its own transaction (default 1). */
  partitionsConsumedConcurrently?: number;
  /** How long the group waits for a silent (crashed) member before moving its partitions (default 30 s). */
  sessionTimeoutMs?: number;
  /** How often the consumer tells the group it is alive, also while a long transaction runs (default 3 s). */
  heartbeatIntervalMs?: number;
  /** Backoff of a batch that failed with a non-contract error: first and longest wait (default 200 ms, 10 s). */
  retry?: { initialMs: number; maxMs: number };
  /** The schema versions messages are read with (default: every version under schemas/). */
  schemas?: SchemaRegistry;
}

export type RunnerState = 'starting' | 'joining' | 'consuming' | 'failing' | 'stopped';

export interface RunnerHealth {
  up: boolean;
  details: { state: RunnerState; failingBatches: number } & Record<string, unknown>;
}

type Outcome = { applied: number; skipped: number; deadLetters: DeadLetterCode[]; outbox: OutboxWrite | null; nextOffset: string };
type Decoded<T extends TopicName> = ConsumedEvent<T> | { code: DeadLetterCode; reason: string };

const OUTBOX_RETRY_MS = 1000;
/** Outputs of committed batches waiting for their publish to start, at most, before a partition waits for it. */
const MAX_UNPUBLISHED_MESSAGES = 20_000;
const HEARTBEAT_MS = 3000;

/**
 * The one consumer runner of every service. Each fetched batch (or each `maxEventsPerTransaction` slice of it) is
 * decoded, checked, applied and its partition's next offset stored in ONE Postgres transaction; Kafka offsets are
 * committed only afterwards and are a hint. Postgres is the truth: on assignment the consumer seeks to the stored
 * offsets, and inside the transaction the stored offset row is locked and every message below it skipped, so
 * redelivery, restarts and rebalances apply each event exactly once in effect. Poison goes to `<topic>.dlq` through
 * the outbox, in the same transaction, and never blocks its partition; any other error rolls back and retries.
 */
export class ProjectionRunner<T extends TopicName> {
  private readonly consumer: Consumer;
  private readonly producer: EventProducer;
  private readonly ownsProducer: boolean;
  private readonly metrics: BusMetrics;
  private readonly projection: Projection<T>;
  private readonly prefix: string;
  private readonly schemas: SchemaRegistry;
  private readonly log: Logger;
  /** Stored next offsets by `<physical topic>:<partition>`, as this process last read or wrote them. */
  private readonly knownOffsets = new Map<string, string>();
  private running = false;
  private startedAt: number | undefined;
  private joined = false;
  private failingBatches = 0;
  /** True when the outbox table may hold rows nobody holds in memory (at start, after a failed publish): drain it. */
  private outboxPending = true;
  /** Outbox writes of committed batches, in commit order, not yet published. */
  private readonly committed: OutboxWrite[] = [];
  private draining: Promise<void> | undefined;
  private outboxTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ProjectionRunnerOptions<T>) {
    this.projection = options.projection;
    this.prefix = options.topicPrefix ?? '';
    this.schemas = options.schemas ?? contractRegistry;
    this.log = options.logger.child({ group: options.projection.groupId });
    this.consumer = createKafka(`${options.projection.groupId}-consumer`, options.brokers, options.logger).consumer({
      groupId: options.projection.groupId,
      maxWaitTimeInMs: options.maxWaitTimeInMs ?? 20,
      minBytes: options.minBytes ?? 1,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
      maxBytes: options.maxBytes ?? 10 * 1024 * 1024,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? HEARTBEAT_MS,
    });
    this.ownsProducer = !options.producer;
    this.producer =
      options.producer ??
      new EventProducer({ brokers: options.brokers, clientId: `${options.projection.groupId}-producer`, logger: options.logger, topicPrefix: this.prefix });
    this.metrics = busMetrics(options.metrics);
    const { GROUP_JOIN, CRASH, STOP, DISCONNECT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      this.joined = true;
      this.seekToStoredOffsets(e.payload.memberAssignment);
    });
    this.consumer.on(CRASH, (e) => {
      this.joined = false;
      this.log.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
    });
    this.consumer.on(STOP, () => (this.joined = false));
    this.consumer.on(DISCONNECT, () => (this.joined = false));
  }

  /** True while the consumer is in its group, running, and its batches are not failing. */
  isHealthy(): boolean {
    return this.health().up;
  }

  /** What `/health` shows for this runner: up or not, and why (state, failing batches, partitions refused). */
  health(): RunnerHealth {
    const state: RunnerState = !this.running ? (this.startedAt ? 'stopped' : 'starting') : !this.joined ? 'joining' : this.failingBatches > 0 ? 'failing' : 'consuming';
    return { up: state === 'consuming', details: { state, failingBatches: this.failingBatches } };
  }

  /** Publishes what a previous run left in the outbox, then joins the group and consumes. */
  async start(): Promise<void> {
    this.startedAt = Date.now();
    await this.producer.connect();
    await this.drainOutbox();
    await this.loadStoredOffsets();
    await this.consumer.connect();
    for (const topic of this.projection.topics) await this.consumer.subscribe({ topic: this.prefix + topic, fromBeginning: true });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.outboxTimer = setInterval(() => {
      if (this.outboxPending) void this.drainOutbox();
    }, OUTBOX_RETRY_MS);
  }

  /** Stops fetching, lets the batch in flight finish and commit, publishes what it produced, disconnects. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.outboxTimer);
    await this.consumer.disconnect();
    await this.drainOutbox();
    if (this.ownsProducer) await this.producer.disconnect();
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const topic = batch.topic.slice(this.prefix.length) as T;
    const { groupId } = this.projection;
    const perTransaction = this.options.maxEventsPerTransaction ?? 2000;
    for (let start = 0; start < batch.messages.length; start += perTransaction) {
      if (!isRunning() || isStale()) return;
      const messages = batch.messages.slice(start, start + perTransaction);
      const outcome = await this.applyUntilDone(topic, batch.partition, messages, payload);
      if (outcome === 'rewound' || outcome === 'stopped') return;

      this.metrics.applied.inc({ group: groupId, topic }, outcome.applied);
      if (outcome.skipped) this.metrics.skipped.inc({ group: groupId, topic }, outcome.skipped);
      for (const code of outcome.deadLetters) this.metrics.deadLetters.inc({ topic, code });
      this.knownOffsets.set(`${batch.topic}:${batch.partition}`, outcome.nextOffset);
      resolveOffset(messages[messages.length - 1].offset);
      await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: outcome.nextOffset }] }] });
      const lag = BigInt(batch.highWatermark) - BigInt(outcome.nextOffset);
      this.metrics.lag.set({ group: groupId, topic, partition: String(batch.partition) }, lag > 0n ? Number(lag) : 0);
      if (outcome.outbox) {
        this.committed.push(outcome.outbox);
        // Published in the background, in commit order, while this partition applies its next slice; it waits only
        // when more than a few batches' outputs are still unpublished (bounded memory, and Kafka sets the pace).
        const publishing = this.drainOutbox();
        if (this.committed.reduce((n, w) => n + w.messages.length, 0) > MAX_UNPUBLISHED_MESSAGES) await publishing;
      }
    }
  }

  /**
   * Applies one slice of a batch until it commits. A `ContractViolation` from the projection dead-letters that event
   * and applies the slice again without it; any other error (database down, a bug) rolls back, waits with growing
   * backoff and tries again — nothing is committed or dead-lettered meanwhile, and the partition waits.
   */
  private async applyUntilDone(topic: T, partition: number, messages: KafkaMessage[], payload: EachBatchPayload): Promise<Outcome | 'rewound' | 'stopped'> {
    const rejected = new Map<string, string>();
    for (let failures = 0; ; ) {
      const heartbeats = setInterval(() => void payload.heartbeat().catch(() => undefined), this.options.heartbeatIntervalMs ?? HEARTBEAT_MS);
      const timer = this.metrics.batchSeconds.startTimer({ group: this.projection.groupId });
      try {
        const outcome = await this.applyInTransaction(topic, partition, messages, rejected);
        timer();
        if (failures > 0) this.failingBatches--;
        return outcome;
      } catch (error) {
        if (error instanceof ContractViolation && error.event.partition === partition && !rejected.has(error.event.offset) && isIn(messages, error.event.offset)) {
          rejected.set(error.event.offset, error.reason);
          continue;
        }
        if (failures++ === 0) this.failingBatches++;
        this.metrics.batchFailures.inc({ group: this.projection.groupId });
        // Two partitions' transactions touching the same rows (a deadlock, or both inserting one new unique key) is a
        // race the retry wins at once; anything that fails again backs off.
        const conflict = failures === 1 && isConcurrencyConflict(error);
        const delay = conflict ? 0 : retryDelayMs(failures, this.options.retry);
        if (conflict) this.log.warn({ err: error, topic, partition, offset: messages[0].offset }, 'batch conflicted with a concurrent transaction; retrying now');
        else this.log.error({ err: error, topic, partition, offset: messages[0].offset, failures, retryInMs: delay }, 'batch rolled back; retrying');
        if (!(await this.sleepWhileRunning(delay, payload))) {
          this.failingBatches--;
          return 'stopped';
        }
      } finally {
        clearInterval(heartbeats);
      }
    }
  }

  private async applyInTransaction(topic: T, partition: number, messages: KafkaMessage[], rejected: Map<string, string>): Promise<Outcome | 'rewound'> {
    const { groupId } = this.projection;
    return this.options.dataSource.transaction(async (tx) => {
      const stored = await lockStoredOffset(tx, groupId, topic, partition);
      if (stored !== null && BigInt(messages[0].offset) > BigInt(stored)) {
        // Kafka's committed offset is ahead of the read model (a restored database): go back rather than leave a gap.
        this.consumer.seek({ topic: this.prefix + topic, partition, offset: stored });
        return 'rewound' as const;
      }
      const redelivered = stored !== null && BigInt(messages[0].offset) < BigInt(stored);
      const fresh = redelivered ? messages.filter((m) => BigInt(m.offset) >= BigInt(stored)) : messages;
      const skipped = messages.length - fresh.length;
      if (fresh.length === 0) return { applied: 0, skipped, deadLetters: [], outbox: null, nextOffset: stored as string };
      const nextOffset = (BigInt(fresh[fresh.length - 1].offset) + 1n).toString();
      const outcome: Outcome = { applied: 0, skipped, deadLetters: [], outbox: null, nextOffset };

      const valid: ConsumedEvent<T>[] = [];
      const outbox: RawMessage[] = [];
      for (const message of fresh) {
        const decoded = this.decode(topic, partition, message, rejected);
        if ('event' in decoded) valid.push(decoded);
        else {
          outbox.push(deadLetter(this.prefix + topic, partition, message, decoded.code, decoded.reason));
          outcome.deadLetters.push(decoded.code);
        }
      }
      const published = valid.length > 0 ? ((await this.projection.apply(valid, tx)) ?? []) : [];
      for (const event of published) outbox.push(this.producer.encode(event));
      if (outbox.length > 0) outcome.outbox = await writeOutbox(tx, outbox);
      await tx.query(
        `insert into consumer_offsets (group_id, topic, partition, next_offset) values ($1, $2, $3, $4)
         on conflict (group_id, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()`,
        [groupId, topic, partition, nextOffset],
      );
      outcome.applied = valid.length;
      return outcome;
    });
  }

  private decode(topic: T, partition: number, message: KafkaMessage, rejected: Map<string, string>): Decoded<T> {
    const violation = rejected.size > 0 ? rejected.get(message.offset) : undefined;
    if (violation !== undefined) return { code: 'CONTRACT_VIOLATION', reason: violation };
    if (!message.value) return { code: 'EMPTY', reason: 'the message has no value' };
    let event: EventOf<T>;
    try {
      event = this.schemas.decode(topic, message.value);
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
    const reason = this.projection.validate?.(consumed) ?? null;
    return reason === null ? consumed : { code: 'CONTRACT_VIOLATION', reason };
  }

  /**
   * One drain at a time, so that outputs leave in commit order. Committed batches are published from memory; after a
   * failure (and at start) the table itself is drained in write order instead, and what memory held is dropped: those
   * rows are in the table. A failure leaves the rows for the next batch or the retry timer (nothing is lost).
   */
  private drainOutbox(): Promise<void> {
    // A batch that committed while a drain was finishing is published by the next drain, not left waiting.
    if (this.draining) return this.draining.then(() => (this.committed.length > 0 ? this.drainOutbox() : undefined));
    this.draining = (async () => {
      try {
        while (!this.outboxPending && this.committed.length > 0) {
          await publishCommitted(this.options.dataSource, this.producer, this.committed.splice(0));
        }
        if (this.outboxPending) {
          this.committed.length = 0;
          await drainOutbox(this.options.dataSource, this.producer);
          this.outboxPending = false;
        }
      } catch (error) {
        this.outboxPending = true;
        this.committed.length = 0;
        this.log.warn({ err: error }, 'outbox not drained; retrying');
      }
      const size = await outboxSize(this.options.dataSource).catch(() => undefined);
      if (size !== undefined) this.metrics.outboxSize.set({ group: this.projection.groupId }, size);
    })().finally(() => (this.draining = undefined));
    return this.draining;
  }

  private async loadStoredOffsets(): Promise<void> {
    const rows: { topic: string; partition: number; next_offset: string }[] = await this.options.dataSource.query(
      'select topic, partition, next_offset from consumer_offsets where group_id = $1',
      [this.projection.groupId],
    );
    for (const r of rows) this.knownOffsets.set(`${this.prefix}${r.topic}:${r.partition}`, r.next_offset);
  }

  /**
   * Seeks at once to the offsets this process knows (exact on the first join), then re-reads them from the database
   * in case another replica advanced them meanwhile. The check inside each transaction stays the guarantee.
   */
  private seekToStoredOffsets(assignment: Record<string, number[]>): void {
    const seekKnown = () => {
      for (const [topic, partitions] of Object.entries(assignment)) {
        for (const partition of partitions) {
          const offset = this.knownOffsets.get(`${topic}:${partition}`);
          if (offset !== undefined) this.consumer.seek({ topic, partition, offset });
        }
      }
    };
    seekKnown();
    const before = new Map(this.knownOffsets);
    void this.loadStoredOffsets()
      .then(() => {
        if ([...this.knownOffsets].some(([key, offset]) => before.get(key) !== offset)) seekKnown();
      })
      .catch((error) => this.log.warn({ err: error }, 'could not re-read stored offsets after a rebalance'));
  }

  /** Waits `ms` (heartbeating); false when the runner was stopped or the partition reassigned meanwhile. */
  private async sleepWhileRunning(ms: number, { isRunning, isStale, heartbeat }: EachBatchPayload): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (!isRunning() || isStale()) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, until - Date.now())));
      await heartbeat().catch(() => undefined);
    }
    return isRunning() && !isStale();
  }
}

async function lockStoredOffset(tx: EntityManager, groupId: string, topic: string, partition: number): Promise<string | null> {
  const rows: { next_offset: string }[] = await tx.query(
    'select next_offset from consumer_offsets where group_id = $1 and topic = $2 and partition = $3 for update',
    [groupId, topic, partition],
  );
  return rows.length ? rows[0].next_offset : null;
}

function isIn(messages: KafkaMessage[], offset: string): boolean {
  return BigInt(offset) >= BigInt(messages[0].offset) && BigInt(offset) <= BigInt(messages[messages.length - 1].offset);
}
