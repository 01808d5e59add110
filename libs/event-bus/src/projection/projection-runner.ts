import { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';
import { CodecError, EventOf, SchemaRegistry, TopicName, contractRegistry, storageProblem } from '@push/contracts';
import { createKafka } from '../kafka';
import { BusMetrics, busMetrics } from '../metrics/bus-metrics';
import { OutboxWrite, drainOutbox, outboxSize, publishCommitted, writeOutbox } from '../outbox/outbox';
import { EventProducer, RawMessage } from '../producer';
import { DeadLetterCode, deadLetter } from './dead-letter';
import { ConsumedEvent, Projection, RejectedEventError } from './projection';
import { Assessment, RefusalReason, StoredPosition, assessPartition, messageDigest, sameMessage } from './log-identity';
import { ReplayOptions } from './replay';
import { failureKind, retryDelayMs } from './retry-delay';

/** How a runner consumes. Every field has a default: `DEFAULT_CONSUMER_SETTINGS`. */
export interface ConsumerSettings {
  /**
   * Longest time the broker holds an idle fetch open. With `minBytes` 1 a fetch returns as soon as a message arrives,
   * so a longer wait costs no freshness; a short one makes every idle consumer poll the broker (an idle consumer sends
   * 1000 / this many fetches a second).
   */
  maxWaitTimeInMs: number;
  /** A fetch returns as soon as this many bytes are there. */
  minBytes: number;
  /** Bytes fetched per partition at most. */
  maxBytesPerPartition: number;
  /** Bytes per fetch at most, all partitions together. */
  maxBytes: number;
  /**
   * Messages applied per transaction at most; a larger fetched batch is applied in several. Smaller transactions hold
   * their row locks for less time (a partition touching another partition's device waits less) and keep less alive
   * across garbage collections; larger ones commit less often.
   */
  maxEventsPerTransaction: number;
  /** Partitions applied concurrently, each in its own transaction: Node works on one while Postgres commits another. */
  partitionsConsumedConcurrently: number;
  /** How long the group waits for a silent (crashed) member before giving its partitions to another member. */
  sessionTimeoutMs: number;
  /** How often the consumer tells the group it is alive, also while a long transaction runs. */
  heartbeatIntervalMs: number;
}

/**
 * The one source of the consumer defaults: runners use them for what they are not given, and the services' `CONSUMER_*`
 * variables default to them (service-kit's `loadConfig`). Measured (service-kit README "Start-up, restarts and idle
 * cost", `npm run bench:idle`, `bench:restart`, `bench:token-registry`):
 * - max wait 500 ms: idle fetches cost CPU in the service and the broker (at 20 ms token-registry idled at 3–4 % of a
 *   core, at 500 ms 0.6 %); freshness does not depend on it (minBytes 1: a fetch returns when an event arrives);
 * - session timeout 6 s: the broker's lowest allowed value by default (`group.min.session.timeout.ms`), so a crashed
 *   member's partitions move after ~6 s instead of 30 s;
 * - heartbeat 1 s: a sixth of the session; with the max wait, an idle member heartbeats at least every 1.5 s and
 *   survives ~4.5 s of a blocked event loop or a slow network;
 * - 2 partitions at once, at most 1500 events per transaction: token-registry's throughput and latency optimum.
 */
export const DEFAULT_CONSUMER_SETTINGS: Readonly<ConsumerSettings> = {
  maxWaitTimeInMs: 500,
  minBytes: 1,
  maxBytesPerPartition: 1024 * 1024,
  maxBytes: 10 * 1024 * 1024,
  maxEventsPerTransaction: 1500,
  partitionsConsumedConcurrently: 2,
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 1000,
};

export interface ProjectionRunnerOptions<T extends TopicName> extends Partial<ConsumerSettings> {
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
  /** Backoff of a batch that failed with a non-contract error: first and longest wait (default 200 ms, 10 s). */
  retry?: { initialMs: number; maxMs: number };
  /** The schema versions messages are read with (default: every version under schemas/). */
  schemas?: SchemaRegistry;
  /** Replay mode (a rebuild beside the live service): nothing published, nothing applied beyond the bound. */
  replay?: ReplayOptions;
}

/** The options' consumer settings, each one not given taken from `DEFAULT_CONSUMER_SETTINGS`. */
function consumerSettings(options: Partial<ConsumerSettings>): ConsumerSettings {
  const defaults = DEFAULT_CONSUMER_SETTINGS;
  return {
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? defaults.maxWaitTimeInMs,
    minBytes: options.minBytes ?? defaults.minBytes,
    maxBytesPerPartition: options.maxBytesPerPartition ?? defaults.maxBytesPerPartition,
    maxBytes: options.maxBytes ?? defaults.maxBytes,
    maxEventsPerTransaction: options.maxEventsPerTransaction ?? defaults.maxEventsPerTransaction,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? defaults.partitionsConsumedConcurrently,
    sessionTimeoutMs: options.sessionTimeoutMs ?? defaults.sessionTimeoutMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? defaults.heartbeatIntervalMs,
  };
}

export type RunnerState = 'starting' | 'joining' | 'consuming' | 'failing' | 'refusing' | 'crashed' | 'stopped';

/** A partition the runner does not consume, because its log is not the one the read model was built from. */
export interface RefusedPartition {
  topic: string;
  partition: number;
  reason: RefusalReason;
  message: string;
  storedOffset: string;
  logStartOffset: string | null;
  logEndOffset: string | null;
}

export interface RunnerHealth {
  up: boolean;
  details: { state: RunnerState; failingBatches: number; refusedPartitions?: RefusedPartition[] } & Record<
    string,
    unknown
  >;
}

type Outcome = { applied: number; skipped: number; deadLetters: DeadLetterCode[]; nextOffset: string };
type Decoded<T extends TopicName> = ConsumedEvent<T> | { code: DeadLetterCode; reason: string };
/** Messages the runner dead-letters itself, by offset: found by a projection (`RejectedEventError`) or by isolation. */
type Rejections = Map<string, { code: DeadLetterCode; reason: string }>;

/** An outbox write, queued for publishing as its transaction commits, so that outputs leave in commit order. */
interface CommitSlot {
  write: OutboxWrite;
  state: 'committing' | 'committed' | 'aborted';
}

/** What the runner knows of one assigned partition in the current generation. */
interface PartitionGate {
  /** Where the consumer was last told to fetch from, in this generation. */
  seekedTo: string | undefined;
  /** Resolves once the stored position and the log were compared (undefined: the runner stopped first); the first batch waits for it. */
  assessment: Promise<Assessment | undefined>;
  verified: boolean;
}

const OUTBOX_RETRY_MS = 1000;
/** Outputs of committed batches waiting for their publish to start, at most, before a partition waits for it. */
const MAX_UNPUBLISHED_MESSAGES = 20_000;
/** How often refused partitions are assessed again (an operator may have rebuilt or accepted meanwhile). */
const REASSESS_REFUSED_MS = 5000;
/** Consecutive failures with the same error before it is blamed on the batch's messages rather than the system. */
const SAME_ERROR_LIMIT = 3;
/**
 * Messages dead-lettered in a row by isolation, with nothing applied in between, before the runner stops blaming
 * messages: when every message fails, the fault is the system's (a bug, a missing table), and dead-lettering them all
 * would empty the read model. It then retries with backoff and reports the partition as failing.
 */
const MAX_ISOLATIONS_IN_A_ROW = 10;

/**
 * The one consumer runner of every service. Each fetched batch (or each `maxEventsPerTransaction` slice of it) is
 * decoded, checked, applied and its partition's next offset stored in ONE Postgres transaction; Kafka offsets are
 * committed only afterwards and are a hint. Postgres is the truth: on assignment the consumer compares the stored
 * position with the log (cluster, offsets, the last applied message) and seeks to it, or refuses the partition when the
 * log is not the one the read model was built from; inside the transaction the stored offset row is locked and every
 * message below it skipped, so redelivery, restarts and rebalances apply each event exactly once in effect. Poison goes
 * to `<topic>.dlq` through the outbox, in the same transaction, and never blocks its partition; a message whose data
 * fails the store every time is isolated and dead-lettered; any other error rolls back and retries.
 */
export class ProjectionRunner<T extends TopicName> {
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private readonly producer: EventProducer;
  private readonly ownsProducer: boolean;
  private readonly metrics: BusMetrics;
  private readonly projection: Projection<T>;
  private readonly settings: ConsumerSettings;
  private readonly prefix: string;
  private readonly schemas: SchemaRegistry;
  private readonly log: Logger;
  /** Stored positions by `<physical topic>:<partition>`, as this process last read or wrote them. */
  private readonly stored = new Map<string, StoredPosition>();
  /** The assigned partitions of the current generation. */
  private gates = new Map<string, PartitionGate>();
  private readonly refused = new Map<string, RefusedPartition>();
  private clusterId: string | undefined;
  /** `crashed`: kafkajs stopped the consumer for good (a non-retriable error); the runner restarts it with backoff. */
  private phase: 'new' | 'starting' | 'running' | 'crashed' | 'stopped' = 'new';
  private crash: { error: string; restarts: number } | undefined;
  private joined = false;
  private failingBatches = 0;
  private isolationsInARow = 0;
  /** True when the outbox table may hold rows nobody holds in memory (at start, after a failed publish): drain it. */
  private outboxPending = true;
  /** Outbox writes in the order their transactions committed (or are committing), not yet published. */
  private committed: CommitSlot[] = [];
  private draining: Promise<void> | undefined;
  private outboxTimer: NodeJS.Timeout | undefined;
  private reassessTimer: NodeJS.Timeout | undefined;
  /** Replay mode: the bound (next offsets by `<contract topic>:<partition>`), as last read. */
  private replayBound = new Map<string, string>();
  /** Replay mode: partitions paused at their bound (by physical key), with the offset to go on from. */
  private readonly atBound = new Map<string, string>();
  /** Replay mode: partitions resumed after waiting at their bound, until a batch fetched from that offset arrives. */
  private readonly resumeAt = new Map<string, string>();
  private replayTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ProjectionRunnerOptions<T>) {
    this.projection = options.projection;
    this.settings = consumerSettings(options);
    this.prefix = options.topicPrefix ?? '';
    this.schemas = options.schemas ?? contractRegistry;
    this.log = options.logger.child({ group: options.projection.groupId });
    this.kafka = createKafka(`${options.projection.groupId}-consumer`, options.brokers, options.logger);
    this.consumer = this.kafka.consumer({
      // The deployment's prefix isolates its consumer group too: two deployments (or test runs) sharing a cluster
      // would otherwise be one group, and a member of one would be handed, and never apply, the other's partitions.
      groupId: this.prefix + (options.replay?.consumerGroup ?? options.projection.groupId),
      maxWaitTimeInMs: this.settings.maxWaitTimeInMs,
      minBytes: this.settings.minBytes,
      maxBytesPerPartition: this.settings.maxBytesPerPartition,
      maxBytes: this.settings.maxBytes,
      sessionTimeout: this.settings.sessionTimeoutMs,
      heartbeatInterval: this.settings.heartbeatIntervalMs,
    });
    this.ownsProducer = !options.producer;
    this.producer =
      options.producer ??
      new EventProducer({
        brokers: options.brokers,
        clientId: `${options.projection.groupId}-producer`,
        logger: options.logger,
        topicPrefix: this.prefix,
      });
    this.metrics = busMetrics(options.metrics);
    const { GROUP_JOIN, CRASH, STOP, DISCONNECT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      this.joined = true;
      this.onAssignment(e.payload.memberAssignment);
    });
    this.consumer.on(CRASH, (e) => {
      this.joined = false;
      this.log.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
      // kafkajs restarts the consumer itself after a retriable error; after any other it is stopped for good.
      if (!e.payload.restart && this.phase === 'running') void this.restartAfterCrash(e.payload.error);
    });
    this.consumer.on(STOP, () => (this.joined = false));
    this.consumer.on(DISCONNECT, () => (this.joined = false));
  }

  /** True while the consumer is in its group, running, applying every assigned partition, and not failing. */
  isHealthy(): boolean {
    return this.health().up;
  }

  /** What `/health` shows for this runner: up or not, and why (state, failing batches, partitions refused). */
  health(): RunnerHealth {
    const refusedPartitions = [...this.refused.values()];
    const state = this.state(refusedPartitions.length > 0);
    const details: RunnerHealth['details'] = { state, failingBatches: this.failingBatches };
    if (refusedPartitions.length > 0) details.refusedPartitions = refusedPartitions;
    if (this.crash) Object.assign(details, { lastCrash: this.crash.error, restartsAfterCrash: this.crash.restarts });
    return { up: state === 'consuming', details };
  }

  private state(refusing: boolean): RunnerState {
    if (this.phase === 'new' || this.phase === 'starting') return 'starting';
    if (this.phase !== 'running') return this.phase;
    if (!this.joined) return 'joining';
    if (refusing) return 'refusing';
    return this.failingBatches > 0 ? 'failing' : 'consuming';
  }

  /**
   * Publishes what a previous run left in the outbox, then joins the group and consumes. A start that fails leaves
   * nothing connected and may be attempted again.
   */
  async start(): Promise<void> {
    if (this.phase !== 'new')
      throw new Error(`the runner of ${this.projection.groupId} is ${this.phase}: start it once`);
    this.phase = 'starting';
    try {
      if (this.options.replay) await this.refreshReplayBound();
      else {
        await this.producer.connect();
        await this.drainOutbox();
      }
      await this.loadStoredPositions();
      await this.runConsumer();
    } catch (error) {
      await this.consumer.disconnect().catch(() => undefined);
      if (this.ownsProducer) await this.producer.disconnect().catch(() => undefined);
      if (this.phase === 'starting') this.phase = 'new';
      throw error;
    }
    if (this.stopped()) return;
    if (this.options.replay)
      this.replayTimer = setInterval(() => void this.refreshReplayBound(), this.options.replay.refreshMs ?? 500);
    else
      this.outboxTimer = setInterval(() => {
        if (this.outboxPending) void this.drainOutbox();
      }, OUTBOX_RETRY_MS);
    this.reassessTimer = setInterval(() => {
      if (this.refused.size > 0) this.reassessRefused();
    }, REASSESS_REFUSED_MS);
  }

  /** Stops fetching, lets the batch in flight finish and commit, publishes what it produced, disconnects. */
  async stop(): Promise<void> {
    if (this.phase === 'new' || this.phase === 'stopped') return;
    this.phase = 'stopped';
    clearInterval(this.outboxTimer);
    clearInterval(this.reassessTimer);
    clearInterval(this.replayTimer);
    await this.consumer.disconnect();
    if (!this.options.replay) await this.drainOutbox();
    if (this.ownsProducer) await this.producer.disconnect();
  }

  /** A method, not a narrowed field read: stop() may change the phase while an await is pending. */
  private stopped(): boolean {
    return this.phase === 'stopped';
  }

  private get running(): boolean {
    return this.phase === 'running' || this.phase === 'crashed';
  }

  private async runConsumer(): Promise<void> {
    await this.consumer.connect();
    for (const topic of this.projection.topics)
      await this.consumer.subscribe({ topic: this.prefix + topic, fromBeginning: true });
    if (this.stopped()) {
      // stop() came while this was connecting: leave nothing connected behind it.
      await this.consumer.disconnect();
      return;
    }
    this.phase = 'running';
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.settings.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /** After kafkajs gave up on the consumer: reconnects and rejoins with backoff, reporting `crashed` meanwhile. */
  private async restartAfterCrash(error: unknown): Promise<void> {
    this.phase = 'crashed';
    this.crash = { error: error instanceof Error ? error.message : String(error), restarts: this.crash?.restarts ?? 0 };
    for (let attempt = 1; this.phase === 'crashed'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt, { initialMs: 1000, maxMs: 30_000 })));
      if (this.phase !== 'crashed') return;
      try {
        await this.consumer.disconnect().catch(() => undefined);
        await this.runConsumer();
        this.crash.restarts++;
        this.log.warn({ attempt }, 'consumer restarted after a crash');
        return;
      } catch (restartError) {
        if (this.stopped()) return;
        this.phase = 'crashed';
        this.log.error({ err: restartError, attempt }, 'consumer could not restart after a crash; retrying');
      }
    }
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const gated = batch.messages.length === 0 ? null : await this.consumable(payload);
    if (gated === null) return;
    if (gated.length < batch.messages.length) resolveOffset(batch.messages[0].offset);
    const consumable = this.options.replay ? this.withinReplayBound(batch, gated) : gated;
    if (consumable === null) return;
    const topic = batch.topic.slice(this.prefix.length) as T;
    const { groupId } = this.projection;
    const perTransaction = this.settings.maxEventsPerTransaction;
    for (let start = 0; start < consumable.length; start += perTransaction) {
      if (!isRunning() || isStale()) return;
      const messages = consumable.slice(start, start + perTransaction);
      const outcome = await this.applyUntilDone(topic, batch.partition, messages, payload, new Map());
      if (outcome === 'stopped') return;

      this.metrics.applied.inc({ group: groupId, topic }, outcome.applied);
      if (outcome.skipped) this.metrics.skipped.inc({ group: groupId, topic }, outcome.skipped);
      for (const code of outcome.deadLetters) this.metrics.deadLetters.inc({ topic, code });
      resolveOffset(messages[messages.length - 1].offset);
      // Kafka's committed offsets are only a hint (the stored offsets are the truth): a failed commit, for instance
      // during a rebalance, changes nothing that matters and must not fail a batch that has committed.
      await commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: outcome.nextOffset }] }],
      }).catch((error) =>
        this.log.debug({ err: error, topic, partition: batch.partition }, 'Kafka offset commit failed (a hint only)'),
      );
      const lag = BigInt(batch.highWatermark) - BigInt(outcome.nextOffset);
      this.metrics.lag.set({ group: groupId, topic, partition: String(batch.partition) }, lag > 0n ? Number(lag) : 0);
      // Published in the background, in commit order, while this partition applies its next slice; it waits only
      // when more than a few batches' outputs are still unpublished (bounded memory, and Kafka sets the pace).
      if (this.committed.length > 0) {
        const publishing = this.drainOutbox();
        if (this.committed.reduce((n, slot) => n + slot.write.messages.length, 0) > MAX_UNPUBLISHED_MESSAGES)
          await publishing;
      }
    }
  }

  /**
   * The gate of a partition's first batch in a generation: waits for the assessment made on assignment, refuses a log
   * that is not the read model's, makes sure the batch was fetched from the position the assessment chose (seeking
   * there otherwise, and dropping the batch), and checks that the message found at the last applied offset is the one
   * the read model applied. Later batches pass at once.
   */
  private async consumable({ batch, isRunning, isStale }: EachBatchPayload): Promise<KafkaMessage[] | null> {
    const key = `${batch.topic}:${batch.partition}`;
    const gate = this.gates.get(key);
    if (!gate) return null;
    if (gate.verified) return batch.messages;
    const assessment = await gate.assessment;
    if (
      !isRunning() ||
      isStale() ||
      this.gates.get(key) !== gate ||
      assessment === undefined ||
      assessment.kind === 'refuse'
    )
      return null;
    const from = assessment.verify?.offset ?? assessment.offset;
    // Where this batch was fetched from must be where the assessment said to start: kafkajs starts a partition never
    // applied at the log start on its own (no committed offset, `fromBeginning`), so that batch is kept, not refetched.
    const fetchedFrom = (batch as unknown as { fetchedOffset?: string }).fetchedOffset;
    if (fetchedFrom !== undefined ? BigInt(fetchedFrom) !== BigInt(from) : gate.seekedTo !== from) {
      this.seek(batch.topic, batch.partition, from, gate);
      return null;
    }
    if (assessment.verify) {
      const first = batch.messages[0];
      const found = { offset: first.offset, timestamp: first.timestamp, digest: messageDigest(first.key, first.value) };
      if (!sameMessage(assessment.verify, found)) {
        const stored = this.stored.get(key);
        this.refuse(
          batch.topic,
          batch.partition,
          {
            kind: 'refuse',
            reason: 'LAST_APPLIED_MESSAGE_DIFFERS',
            message:
              first.offset === assessment.verify.offset
                ? `the message at offset ${first.offset} is not the one the read model applied last (timestamp ${first.timestamp}, expected ${assessment.verify.timestamp}, or other key/value): the log was replaced`
                : `the log has no message at offset ${assessment.verify.offset}, the last one the read model applied (the first one there is at ${first.offset}): the log was replaced`,
          },
          stored?.nextOffset ?? '?',
          null,
          batch.highWatermark,
        );
        return null;
      }
      gate.verified = true;
      // The verified message was applied before: it only proved the log is the same one.
      return batch.messages.slice(1);
    }
    gate.verified = true;
    return batch.messages;
  }

  /**
   * Applies one slice of a batch until it commits. A `RejectedEventError` from the projection dead-letters that event
   * and applies the slice again without it. A failure the message's data causes (or the same unexplained error again
   * and again) is isolated: the slice is applied in halves until the one message that fails alone is dead-lettered
   * (`UNPROCESSABLE`) and its neighbours applied. Any other error (database down, a race) rolls back, waits with
   * growing backoff and tries again — nothing is committed or dead-lettered meanwhile, and the partition waits.
   */
  private async applyUntilDone(
    topic: T,
    partition: number,
    messages: KafkaMessage[],
    payload: EachBatchPayload,
    rejected: Rejections,
  ): Promise<Outcome | 'stopped'> {
    let lastError = '';
    let sameErrors = 0;
    for (let failures = 0; ;) {
      const heartbeats = setInterval(
        () => void payload.heartbeat().catch(() => undefined),
        this.settings.heartbeatIntervalMs,
      );
      const timer = this.metrics.batchSeconds.startTimer({ group: this.projection.groupId });
      try {
        const outcome = await this.applyInTransaction(topic, partition, messages, rejected);
        timer();
        if (failures > 0) this.failingBatches--;
        if (outcome.applied > 0) this.isolationsInARow = 0;
        return outcome;
      } catch (error) {
        if (
          error instanceof RejectedEventError &&
          error.event.partition === partition &&
          !rejected.has(error.event.offset) &&
          isIn(messages, error.event.offset)
        ) {
          rejected.set(error.event.offset, { code: 'CONTRACT_VIOLATION', reason: error.reason });
          continue;
        }
        const kind = failureKind(error);
        const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        sameErrors = text === lastError ? sameErrors + 1 : 1;
        lastError = text;
        const isolate =
          (kind === 'message' || (kind === 'unknown' && sameErrors >= SAME_ERROR_LIMIT)) &&
          this.isolationsInARow < MAX_ISOLATIONS_IN_A_ROW &&
          messages.some((m) => !rejected.has(m.offset));
        if (isolate) {
          if (failures > 0) this.failingBatches--;
          return this.isolate(topic, partition, messages, payload, rejected, text);
        }
        if (failures++ === 0) this.failingBatches++;
        this.metrics.batchFailures.inc({ group: this.projection.groupId });
        // Two partitions' transactions touching the same rows (a deadlock, or both inserting one new unique key) is a
        // race the retry wins at once; anything that fails again backs off.
        const conflict = failures === 1 && kind === 'conflict';
        const delay = conflict ? 0 : retryDelayMs(failures, this.options.retry);
        if (conflict)
          this.log.warn(
            { err: error, topic, partition, offset: messages[0].offset },
            'batch conflicted with a concurrent transaction; retrying now',
          );
        else
          this.log.error(
            { err: error, topic, partition, offset: messages[0].offset, failures, retryInMs: delay },
            'batch rolled back; retrying',
          );
        if (!(await this.sleepWhileRunning(delay, payload))) {
          this.failingBatches--;
          return 'stopped';
        }
      } finally {
        clearInterval(heartbeats);
      }
    }
  }

  /** Finds the message a failure belongs to by applying the slice in halves; dead-letters it once it fails alone. */
  private async isolate(
    topic: T,
    partition: number,
    messages: KafkaMessage[],
    payload: EachBatchPayload,
    rejected: Rejections,
    error: string,
  ): Promise<Outcome | 'stopped'> {
    const pending = messages.filter((m) => !rejected.has(m.offset));
    if (pending.length === 1) {
      const culprit = pending[0];
      this.isolationsInARow++;
      this.log.error(
        { topic, partition, offset: culprit.offset, error },
        'a message fails alone every time; dead-lettering it',
      );
      rejected.set(culprit.offset, {
        code: 'UNPROCESSABLE',
        reason: `applying the message fails every time: ${error}`,
      });
      return this.applyUntilDone(topic, partition, messages, payload, rejected);
    }
    const half = Math.ceil(messages.length / 2);
    const first = await this.applyUntilDone(topic, partition, messages.slice(0, half), payload, rejected);
    if (first === 'stopped') return first;
    const second = await this.applyUntilDone(topic, partition, messages.slice(half), payload, rejected);
    if (second === 'stopped') return second;
    return {
      applied: first.applied + second.applied,
      skipped: first.skipped + second.skipped,
      deadLetters: [...first.deadLetters, ...second.deadLetters],
      nextOffset: second.nextOffset,
    };
  }

  private async applyInTransaction(
    topic: T,
    partition: number,
    messages: KafkaMessage[],
    rejected: Rejections,
  ): Promise<Outcome> {
    const { groupId } = this.projection;
    let slot: CommitSlot | undefined;
    let committedPosition: StoredPosition | undefined;
    try {
      const outcome = await this.options.dataSource.transaction(async (tx) => {
        const stored = await lockStoredOffset(tx, groupId, topic, partition, messages[0].offset);
        // Below the stored offset: redelivered, already applied. Above it: a gap Kafka leaves where a transactional
        // producer's commit markers and aborted records are, never handed to consumers — nothing to apply there.
        const redelivered = BigInt(messages[0].offset) < BigInt(stored);
        const fresh = redelivered ? messages.filter((m) => BigInt(m.offset) >= BigInt(stored)) : messages;
        const skipped = messages.length - fresh.length;
        if (fresh.length === 0) return { applied: 0, skipped, deadLetters: [], nextOffset: stored };
        const last = fresh[fresh.length - 1];
        const nextOffset = (BigInt(last.offset) + 1n).toString();
        const outcome: Outcome = { applied: 0, skipped, deadLetters: [], nextOffset };

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
        // A replay publishes nothing: the live service published these outputs and dead letters (or holds them).
        if (!this.options.replay) for (const event of published) outbox.push(this.producer.encode(event));
        const write = outbox.length > 0 && !this.options.replay ? await writeOutbox(tx, outbox) : null;
        const position: StoredPosition = {
          nextOffset,
          clusterId: this.clusterId ?? null,
          lastOffset: last.offset,
          lastTimestamp: last.timestamp,
          lastDigest: messageDigest(last.key, last.value),
        };
        await tx.query(
          `update consumer_offsets set next_offset = $4, cluster_id = $5, last_offset = $6, last_timestamp = $7, last_digest = $8, updated_at = now()
           where group_id = $1 and topic = $2 and partition = $3`,
          [
            groupId,
            topic,
            partition,
            nextOffset,
            position.clusterId,
            position.lastOffset,
            position.lastTimestamp,
            position.lastDigest,
          ],
        );
        outcome.applied = valid.length;
        committedPosition = position;
        // Queued as the last step before COMMIT: a transaction that waited for this one's row locks reaches this line
        // only after this one committed, so outputs of batches touching the same rows are published in commit order.
        if (write) this.committed.push((slot = { write, state: 'committing' }));
        return outcome;
      });
      if (slot) slot.state = 'committed';
      if (committedPosition) this.stored.set(`${this.prefix}${topic}:${partition}`, committedPosition);
      return outcome;
    } catch (error) {
      if (slot) slot.state = 'aborted';
      throw error;
    }
  }

  private decode(topic: T, partition: number, message: KafkaMessage, rejected: Rejections): Decoded<T> {
    const rejection = rejected.size > 0 ? rejected.get(message.offset) : undefined;
    if (rejection !== undefined) return rejection;
    if (!message.value) return { code: 'EMPTY', reason: 'the message has no value' };
    let event: EventOf<T>;
    try {
      event = this.schemas.decode(topic, message.value);
    } catch (error) {
      if (error instanceof CodecError) return { code: error.code, reason: error.message };
      throw error;
    }
    const unstorable = storageProblem(event);
    if (unstorable !== null) return { code: 'CONTRACT_VIOLATION', reason: unstorable };
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
   * One drain at a time, so that outputs leave in commit order. Committed writes are published from memory, in the
   * order their transactions committed, up to the first one still committing; after a failure (and at start) the
   * table itself is drained in write order first. A write whose row a table drain (here or in another replica) has
   * already published is skipped, so nothing held in memory needs dropping for correctness; after a failure the
   * committed writes are dropped anyway (their rows are in the table) to bound memory while Kafka is down.
   */
  private drainOutbox(): Promise<void> {
    // A batch that committed while a drain was finishing is published by the next drain, not left waiting.
    if (this.draining)
      return this.draining.then(() => (this.publishable().length > 0 ? this.drainOutbox() : undefined));
    this.draining = (async () => {
      try {
        if (this.outboxPending) {
          await drainOutbox(this.options.dataSource, this.producer);
          this.outboxPending = false;
        }
        for (let ready = this.publishable(); ready.length > 0; ready = this.publishable()) {
          await publishCommitted(
            this.options.dataSource,
            this.producer,
            ready.map((slot) => slot.write),
          );
          this.forget(ready);
        }
      } catch (error) {
        this.outboxPending = true;
        this.forget('all-committed');
        this.log.warn({ err: error }, 'outbox not drained; retrying');
      }
      const size = await outboxSize(this.options.dataSource).catch(() => undefined);
      if (size !== undefined) this.metrics.outboxSize.set({ group: this.projection.groupId }, size);
    })().finally(() => (this.draining = undefined));
    return this.draining;
  }

  /** The committed writes at the head of the queue, in commit order, up to the first still committing. */
  private publishable(): CommitSlot[] {
    const ready: CommitSlot[] = [];
    for (const slot of this.committed) {
      if (slot.state === 'committing') break;
      if (slot.state === 'committed') ready.push(slot);
    }
    return ready;
  }

  /** Forgets published (or, after a failure, all committed) writes, and every aborted one. */
  private forget(slots: 'all-committed' | CommitSlot[]): void {
    const gone = slots === 'all-committed' ? undefined : new Set(slots);
    this.committed = this.committed.filter(
      (slot) => slot.state === 'committing' || (slot.state === 'committed' && gone !== undefined && !gone.has(slot)),
    );
  }

  private async loadStoredPositions(): Promise<void> {
    const rows: {
      topic: string;
      partition: number;
      next_offset: string;
      cluster_id: string | null;
      last_offset: string | null;
      last_timestamp: string | null;
      last_digest: Buffer | null;
    }[] = await this.options.dataSource.query(
      'select topic, partition, next_offset, cluster_id, last_offset, last_timestamp, last_digest from consumer_offsets where group_id = $1',
      [this.projection.groupId],
    );
    const found = new Set<string>();
    for (const r of rows) {
      const key = `${this.prefix}${r.topic}:${r.partition}`;
      found.add(key);
      this.stored.set(key, {
        nextOffset: r.next_offset,
        clusterId: r.cluster_id,
        lastOffset: r.last_offset,
        lastTimestamp: r.last_timestamp,
        lastDigest: r.last_digest,
      });
    }
    // A row deleted meanwhile (the operator reset the partition, or rebuilt the read model) starts from the log start.
    for (const key of [...this.stored.keys()]) if (!found.has(key)) this.stored.delete(key);
  }

  /**
   * A new generation's assignment: seeks at once to the positions this process knows (so that nothing is fetched from
   * Kafka's committed offsets meanwhile), then, in the background, re-reads the stored positions (another replica may
   * have moved them), asks the broker for the cluster id and each partition's log start and end, and decides per
   * partition: consume from the log start (never applied), from the stored position (checked on the first batch), or
   * refuse. Each partition's first batch waits for that decision.
   */
  private onAssignment(assignment: Record<string, number[]>): void {
    // Pausing outlives assignments in kafkajs: every partition starts unpaused, and a refusal pauses it again.
    for (const key of [...this.refused.keys()]) this.clearRefusal(key, false);
    // So does a replay's wait at the bound: each partition starts from its stored position and is cut there again.
    this.atBound.clear();
    this.resumeAt.clear();
    const topicPartitions = Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions }));
    this.whileConsuming(() => this.consumer.resume(topicPartitions));
    this.gates = new Map();
    this.gate(assignment);
  }

  /** Gates the given partitions: seeks to what this process knows, and has their first batch wait for `assess`. */
  private gate(partitions: Record<string, number[]>): void {
    const decided = this.assess(partitions);
    const gates = new Map<string, PartitionGate>();
    for (const [topic, numbers] of Object.entries(partitions)) {
      for (const partition of numbers) {
        const key = `${topic}:${partition}`;
        const gate: PartitionGate = {
          seekedTo: undefined,
          verified: false,
          assessment: decided.then((all) => all.get(key)),
        };
        const known = this.stored.get(key);
        if (known)
          this.seek(
            topic,
            partition,
            known.lastOffset !== null && known.lastDigest !== null ? known.lastOffset : known.nextOffset,
            gate,
          );
        gates.set(key, gate);
        this.gates.set(key, gate);
      }
    }
    void decided.then((all) => {
      for (const [key, assessment] of all) {
        const gate = gates.get(key) as PartitionGate;
        if (assessment.kind === 'refuse' || this.gates.get(key) !== gate) continue;
        const from = assessment.verify?.offset ?? assessment.offset;
        if (gate.seekedTo !== from) this.seek(...splitKey(key), from, gate);
      }
    });
  }

  /** Compares the stored positions with the log, until it has an answer for every partition (or the runner stops). */
  private async assess(assignment: Record<string, number[]>): Promise<Map<string, Assessment>> {
    if (!Object.values(assignment).some((partitions) => partitions.length > 0)) return new Map();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.loadStoredPositions();
        const { clusterId, offsets } = await this.describeLogs(Object.keys(assignment));
        this.clusterId = clusterId;
        const result = new Map<string, Assessment>();
        for (const [topic, partitions] of Object.entries(assignment)) {
          for (const partition of partitions) {
            const key = `${topic}:${partition}`;
            const log = offsets.get(key);
            if (!log) throw new Error(`the broker did not report the offsets of ${key}`);
            const stored = this.stored.get(key);
            const assessment = assessPartition(stored, { clusterId, ...log });
            if (assessment.kind === 'refuse')
              this.refuse(
                topic,
                partition,
                assessment,
                stored?.nextOffset ?? '?',
                log.logStartOffset,
                log.logEndOffset,
              );
            result.set(key, assessment);
          }
        }
        return result;
      } catch (error) {
        const delay = retryDelayMs(attempt);
        this.log.warn({ err: error, retryInMs: delay }, 'could not compare the stored offsets with the log; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (!this.running) return new Map();
      }
    }
  }

  private async describeLogs(
    topics: string[],
  ): Promise<{ clusterId: string; offsets: Map<string, { logStartOffset: string; logEndOffset: string }> }> {
    const admin: Admin = this.kafka.admin();
    await admin.connect();
    try {
      const { clusterId } = await admin.describeCluster();
      const offsets = new Map<string, { logStartOffset: string; logEndOffset: string }>();
      for (const topic of topics) {
        for (const p of await admin.fetchTopicOffsets(topic))
          offsets.set(`${topic}:${p.partition}`, { logStartOffset: p.low, logEndOffset: p.high });
      }
      return { clusterId, offsets };
    } finally {
      await admin.disconnect();
    }
  }

  /** Stops consuming a partition whose log is not the read model's, loudly: an error log, `/health`, a metric. */
  private refuse(
    topic: string,
    partition: number,
    assessment: Extract<Assessment, { kind: 'refuse' }>,
    storedOffset: string,
    logStartOffset: string | null,
    logEndOffset: string | null,
  ): void {
    const key = `${topic}:${partition}`;
    const refusal: RefusedPartition = {
      topic,
      partition,
      reason: assessment.reason,
      message: assessment.message,
      storedOffset,
      logStartOffset,
      logEndOffset,
    };
    this.whileConsuming(() => this.consumer.pause([{ topic, partitions: [partition] }]));
    const before = this.refused.get(key);
    this.refused.set(key, refusal);
    this.metrics.refusedPartitions.set(
      { group: this.projection.groupId, topic, partition: String(partition), reason: assessment.reason },
      1,
    );
    // Once per assignment and reason: the message changes as the new log grows, the operator needs it once.
    if (before?.reason !== refusal.reason) {
      this.log.error(
        { ...refusal, docs: 'libs/event-bus/README.md#a-log-the-read-model-was-not-built-from-what-the-operator-does' },
        `refusing to consume ${topic} partition ${partition}: ${assessment.message}. Rebuild the read model from this log, or accept this log from its start (npm run bus -- --help)`,
      );
    }
  }

  /** `resolved`: the log matches again (logged); otherwise a new assignment assesses the partition anew. */
  private clearRefusal(key: string, resolved = true): void {
    const refusal = this.refused.get(key);
    if (!refusal) return;
    this.refused.delete(key);
    this.metrics.refusedPartitions.remove({
      group: this.projection.groupId,
      topic: refusal.topic,
      partition: String(refusal.partition),
      reason: refusal.reason,
    });
    if (resolved)
      this.log.warn(
        { topic: refusal.topic, partition: refusal.partition },
        'partition no longer refused: its stored position matches the log again',
      );
  }

  /** Assesses refused partitions again: the operator may have rebuilt the read model or accepted the log meanwhile. */
  private reassessRefused(): void {
    const partitions: Record<string, number[]> = {};
    for (const { topic, partition } of this.refused.values()) (partitions[topic] ??= []).push(partition);
    void this.assess(partitions).then((decisions) => {
      const back: Record<string, number[]> = {};
      for (const [key, assessment] of decisions) {
        if (assessment.kind !== 'consume' || !this.refused.has(key)) continue;
        const [topic, partition] = splitKey(key);
        this.clearRefusal(key);
        (back[topic] ??= []).push(partition);
      }
      if (Object.keys(back).length === 0) return;
      this.gate(back);
      this.whileConsuming(() =>
        this.consumer.resume(Object.entries(back).map(([topic, numbers]) => ({ topic, partitions: numbers }))),
      );
    });
  }

  /**
   * Replay mode: the messages of a batch below the partition's bound. The first message at the bound pauses the
   * partition there (batches fetched before the pause took effect are dropped) until the bound moves past it; then the
   * partition resumes from that offset, and batches are applied again only from a fetch that started there — so
   * nothing beyond the bound is applied, and nothing below it skipped.
   */
  private withinReplayBound(batch: EachBatchPayload['batch'], messages: KafkaMessage[]): KafkaMessage[] | null {
    const key = `${batch.topic}:${batch.partition}`;
    if (this.atBound.has(key)) return null;
    const resumeAt = this.resumeAt.get(key);
    if (resumeAt !== undefined) {
      const fetchedFrom = (batch as unknown as { fetchedOffset?: string }).fetchedOffset ?? batch.messages[0].offset;
      if (BigInt(fetchedFrom) !== BigInt(resumeAt)) {
        this.whileConsuming(() =>
          this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: resumeAt }),
        );
        return null;
      }
      this.resumeAt.delete(key);
    }
    const bound = BigInt(this.replayBound.get(`${batch.topic.slice(this.prefix.length)}:${batch.partition}`) ?? '0');
    const within = messages.filter((m) => BigInt(m.offset) < bound);
    if (within.length < messages.length) {
      const next = messages[within.length].offset;
      this.atBound.set(key, next);
      this.whileConsuming(() => this.consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]));
    }
    return within;
  }

  /** Replay mode: reads the bound again and resumes the partitions it has moved past. */
  private async refreshReplayBound(): Promise<void> {
    const replay = this.options.replay as ReplayOptions;
    try {
      this.replayBound = new Map(await replay.bound());
    } catch (error) {
      // At start this fails the start (retried by the caller); later the last bound read stays in force.
      if (this.phase === 'starting') throw error;
      this.log.warn({ err: error }, 'could not read the replay bound; keeping the last one');
      return;
    }
    for (const [key, next] of [...this.atBound]) {
      const [topic, partition] = splitKey(key);
      const bound = BigInt(this.replayBound.get(`${topic.slice(this.prefix.length)}:${partition}`) ?? '0');
      if (bound <= BigInt(next)) continue;
      this.atBound.delete(key);
      this.resumeAt.set(key, next);
      this.whileConsuming(() => {
        this.consumer.seek({ topic, partition, offset: next });
        this.consumer.resume([{ topic, partitions: [partition] }]);
      });
    }
  }

  private seek(topic: string, partition: number, offset: string, gate: PartitionGate): void {
    gate.seekedTo = offset;
    this.whileConsuming(() => this.consumer.seek({ topic, partition, offset }));
  }

  /**
   * Seek, pause and resume throw while kafkajs has no consumer group (between a crash and its restart, or after a
   * stop); the next assignment gates every partition again, so what was meant for the old one can be dropped.
   */
  private whileConsuming(act: () => void): void {
    try {
      act();
    } catch (error) {
      this.log.debug({ err: error }, 'consumer not running: seek/pause/resume dropped');
    }
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

/**
 * Locks the partition's stored offset row for the transaction, creating it first for a partition never applied (at
 * the first fetched offset): so that two members applying the same first batch — one still retrying after its
 * partition was revoked, the other its new owner — serialise on the row, and the second skips what the first applied.
 */
async function lockStoredOffset(
  tx: EntityManager,
  groupId: string,
  topic: string,
  partition: number,
  firstOffset: string,
): Promise<string> {
  const select =
    'select next_offset from consumer_offsets where group_id = $1 and topic = $2 and partition = $3 for update';
  const rows: { next_offset: string }[] = await tx.query(select, [groupId, topic, partition]);
  if (rows.length) return rows[0].next_offset;
  await tx.query(
    'insert into consumer_offsets (group_id, topic, partition, next_offset) values ($1, $2, $3, $4) on conflict do nothing',
    [groupId, topic, partition, firstOffset],
  );
  const created: { next_offset: string }[] = await tx.query(select, [groupId, topic, partition]);
  return created[0].next_offset;
}

function isIn(messages: KafkaMessage[], offset: string): boolean {
  return BigInt(offset) >= BigInt(messages[0].offset) && BigInt(offset) <= BigInt(messages[messages.length - 1].offset);
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf(':');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}
