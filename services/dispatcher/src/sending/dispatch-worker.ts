import { randomInt } from 'node:crypto';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { Topics } from '@push/contracts';
import { type OutboxWrite, drainOutbox, publishCommitted, writeOutbox } from '@push/event-bus';
import {
  type AppConfig,
  AppsFile,
  HealthChecks,
  PINO_LOGGER,
  SERVICE_CONFIG,
  type ServiceConfig,
  ServiceEventBus,
  ShutdownSequence,
} from '@push/service-kit';
import { OUTCOME_UNKNOWN, type TargetOutcome, appNotConfigured } from '../domain/outcomes';
import { DispatcherMetrics } from '../dispatcher-metrics';
import { WORK_CHANNEL } from '../projections/dispatches/dispatch-requests.projection';
import { PUSH_PROVIDER, type PushProvider } from '../providers/push-provider';
import {
  type ClaimedBatch,
  type RecordedOutcomes,
  attemptsInFlight,
  claimBatch,
  completeFinished,
  instancesInFlight,
  recordOutcomes,
} from './attempts';
import { outcomesCaughtUp, outcomesEnd } from './outcomes-catch-up';
import { SENDING_SETTINGS, type SendingSettings } from './sending-settings';

/** The advisory-lock class of worker instances: `pg_advisory_lock(WORKER_LOCK_CLASS, instance)`. */
const WORKER_LOCK_CLASS = 0x64737077; // "dspw"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends the recorded dispatches, at most once per device (D5), outside the projection's transaction:
 *
 * 0. **Catch-up**: before its first claim, a process waits until `LoggedOutcomesProjection` has applied
 *    `dispatch.outcomes.v1` up to where it ended at the start: a rebuilt read model knows every published outcome.
 * 1. **Instance.** Each process is a worker instance: a number it holds a session advisory lock on, on a Postgres
 *    connection of its own, for as long as it lives. A SIGKILL closes that connection and Postgres releases the lock.
 * 2. **Claim** (`claimBatch`): a transaction marks up to `DISPATCH_BATCH_SIZE` pending devices of one (dispatch, app)
 *    `in_flight` for this instance (`FOR UPDATE SKIP LOCKED`: replicas share the work) and **commits before the
 *    provider is called**. A device leaves `pending` once, so nothing — a redelivered request, a restart, another
 *    replica — can send it again.
 * 3. **Send**: one `PushProvider.send` per batch (the adapters retry, D6), `DISPATCH_CONCURRENCY` batches at once.
 * 4. **Record** (`recordOutcomes`): a transaction writes each device's outcome, the dispatch's counts and, with the
 *    last device, its completion, and the records (`PushSent`/`PushBounced`/`PushFailed`, `DispatchCompleted`) to the
 *    outbox; published after the commit (deterministic event ids: a re-drain repeats the same events).
 * 5. **Recovery**: attempts `in_flight` for an instance whose lock can be taken belong to a process that died between
 *    2 and 4: whether the push reached the device is unknown; it is never sent again and is reported as `PushFailed`
 *    RETRY_EXHAUSTED `OUTCOME_UNKNOWN: …`. Every replica looks at start and every `DISPATCH_RECOVERY_MS`.
 *
 * The projection announces new work with `pg_notify` at its commit; the loops also poll every `DISPATCH_POLL_MS`.
 */
@Injectable()
export class DispatchWorker implements OnApplicationBootstrap {
  private readonly log: Logger;
  private session: Client | null = null;
  private instance = 0;
  private stopping = false;
  private loops: Promise<void>[] = [];
  private wakeUps: (() => void)[] = [];
  private recoveryTimer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  private lastError: string | undefined;
  private outboxBehind = false;
  private catchingUp = false;
  private draining: Promise<void> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: ServiceEventBus,
    private readonly apps: AppsFile,
    @Inject(PUSH_PROVIDER) private readonly provider: PushProvider,
    @Inject(SENDING_SETTINGS) private readonly settings: SendingSettings,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    private readonly metrics: DispatcherMetrics,
    @Inject(PINO_LOGGER) logger: Logger,
    health: HealthChecks,
    shutdown: ShutdownSequence,
  ) {
    this.log = logger.child({ component: 'dispatch-worker' });
    health.register('dispatch-worker', () => ({
      up: this.session !== null && !this.catchingUp,
      details: {
        state: this.stopping
          ? 'stopped'
          : this.catchingUp
            ? 'catching up on dispatch.outcomes.v1'
            : this.session
              ? 'sending'
              : 'starting',
        ...(this.session && { instance: this.instance }),
        ...(this.lastError !== undefined && { lastError: this.lastError }),
        ...(this.outboxBehind && { outbox: 'waiting for Kafka' }),
      },
    }));
    shutdown.beforeStop(() => this.stop());
  }

  onApplicationBootstrap(): void {
    this.starting = this.start();
  }

  /** Opens the instance's session (retried until it succeeds), recovers what it left, starts the loops. */
  private async start(): Promise<void> {
    for (let failures = 0; !this.stopping; failures++) {
      try {
        await this.openSession();
        break;
      } catch (error) {
        this.lastError = (error as Error).message;
        this.log.error({ err: error }, 'dispatch worker could not open its session; retrying');
        await sleep(Math.min(30_000, 1000 * 2 ** failures));
      }
    }
    if (this.stopping) return;
    await this.catchUp();
    if (this.stopping) return;
    await this.recover().catch((error: unknown) => this.failed('recovery', error));
    this.recoveryTimer = setInterval(
      () => void this.recover().catch((error: unknown) => this.failed('recovery', error)),
      this.settings.recoveryMs,
    );
    this.loops = Array.from({ length: this.settings.concurrency }, () => this.loop());
  }

  /** Waits until every outcome published before this start is in the read model (see `outcomesEnd`). */
  private async catchUp(): Promise<void> {
    this.catchingUp = true;
    for (let failures = 0; !this.stopping;) {
      try {
        const end = await outcomesEnd(this.config.kafkaBrokers, this.config.topicPrefix, this.log);
        while (!this.stopping && !(await outcomesCaughtUp(this.dataSource, end))) await sleep(200);
        break;
      } catch (error) {
        this.failed('catching up on dispatch.outcomes.v1', error);
        await sleep(Math.min(30_000, 1000 * 2 ** failures++));
      }
    }
    this.catchingUp = false;
  }

  /**
   * A connection of its own that holds the instance's advisory lock and listens for new work. Its attempts of an
   * earlier life under the same number (a process that died, whose number this one drew) are recovered first.
   */
  private async openSession(): Promise<void> {
    const client = new Client({ connectionString: this.config.databaseUrl });
    client.on('error', (error) => this.sessionLost(client, error));
    await client.connect();
    for (;;) {
      const candidate = randomInt(1, 2 ** 31 - 1);
      const [{ locked }] = (
        await client.query('select pg_try_advisory_lock($1, $2) as locked', [WORKER_LOCK_CLASS, candidate])
      ).rows;
      if (locked) {
        this.instance = candidate;
        break;
      }
    }
    client.on('notification', () => this.wakeAll());
    await client.query(`listen ${WORK_CHANNEL}`);
    await this.declareUnknown(this.instance);
    this.session = client;
    this.lastError = undefined;
    this.log.info({ instance: this.instance }, 'dispatch worker started');
  }

  /** The session died (Postgres restarted, network): the lock is gone, so this process takes a new instance. */
  private sessionLost(client: Client, error: Error): void {
    if (this.session !== client) return;
    this.session = null;
    this.failed('session', error);
    void client.end().catch(() => undefined);
    if (this.stopping) return;
    void (async () => {
      for (let failures = 0; !this.stopping && this.session === null; failures++) {
        try {
          await this.openSession();
        } catch (reopen) {
          this.failed('session', reopen);
          await sleep(Math.min(30_000, 1000 * 2 ** failures));
        }
      }
    })();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        if (this.session === null) {
          await this.idle();
          continue;
        }
        const batch = await claimBatch(this.dataSource, this.instance, this.settings.batchSize, Date.now());
        if (!batch) {
          if ((await this.completeFinished()) === 0) await this.idle();
          continue;
        }
        await this.send(batch);
      } catch (error) {
        this.failed('batch', error);
        await sleep(1000);
      }
    }
  }

  private async send(batch: ClaimedBatch): Promise<void> {
    const app = this.apps.app(batch.workspaceId, batch.appId);
    let outcomes: TargetOutcome[];
    if (!app) outcomes = batch.targets.map(() => appNotConfigured(batch.appId));
    else {
      outcomes = await this.sendThrough(app, batch);
    }
    await this.record(
      batch.dispatchId,
      this.instance,
      batch.targets.map((target, i) => ({ target, outcome: outcomes[i] })),
    );
  }

  /**
   * The provider's answers for a batch. When the adapter fails instead of answering (a bug: it never rejects for a
   * provider's answer), whether the pushes left is unknown: they are reported so at once, never sent again. When the
   * process is stopping, the batch stays in flight and the next start reports it.
   */
  private async sendThrough(app: AppConfig, batch: ClaimedBatch): Promise<TargetOutcome[]> {
    try {
      const results = await this.provider.send(
        app,
        batch.message,
        batch.targets.map((t) => ({
          workspaceId: t.workspace_id,
          appId: t.app_id,
          deviceId: t.device_id,
          userId: t.user_id,
          platform: t.platform,
          token: t.token,
        })),
      );
      if (results.length !== batch.targets.length)
        throw new Error(`the provider answered ${results.length} results for ${batch.targets.length} targets`);
      return results;
    } catch (error) {
      if (this.stopping) throw error;
      this.failed('provider', error);
      const reason = `OUTCOME_UNKNOWN: the provider adapter failed (${(error as Error).message}); not sent again (D5)`;
      return batch.targets.map(() => ({ ...OUTCOME_UNKNOWN, reason }));
    }
  }

  /** Records outcomes and publishes their records from the outbox once committed. */
  private async record(
    dispatchId: string,
    instance: number,
    results: Parameters<typeof recordOutcomes>[3],
  ): Promise<void> {
    let write: OutboxWrite | null = null;
    const recorded: RecordedOutcomes = await this.dataSource.transaction(async (tx) => {
      const outcomes = await recordOutcomes(tx, dispatchId, instance, results, Date.now());
      if (outcomes.events.length > 0)
        write = await writeOutbox(
          tx,
          outcomes.events.map(({ key, event }) =>
            this.bus.producer.encode({ topic: Topics.DispatchOutcomes, key, event }),
          ),
        );
      return outcomes;
    });
    this.metrics.outcomes(recorded.counts);
    if (recorded.completed) this.metrics.completed();
    if (write) await this.publish(write);
  }

  /** Dispatches with nothing to send are completed here, once caught up (see `completeFinished`). */
  private async completeFinished(): Promise<number> {
    let write: OutboxWrite | null = null;
    const completions = await this.dataSource.transaction(async (tx) => {
      const records = await completeFinished(tx, Date.now());
      if (records.length > 0)
        write = await writeOutbox(
          tx,
          records.map(({ key, event }) => this.bus.producer.encode({ topic: Topics.DispatchOutcomes, key, event })),
        );
      return records.length;
    });
    this.metrics.completed(completions);
    if (write) await this.publish(write);
    return completions;
  }

  private async publish(write: OutboxWrite): Promise<void> {
    try {
      await publishCommitted(this.dataSource, this.bus.producer, [write]);
    } catch (error) {
      // The rows stay in the outbox: drained (in order, under the outbox's lock) until Kafka takes them.
      this.failed('publish', error);
      this.outboxBehind = true;
      this.draining ??= this.drain().finally(() => (this.draining = undefined));
    }
  }

  private async drain(): Promise<void> {
    while (!this.stopping) {
      try {
        await drainOutbox(this.dataSource, this.bus.producer);
        this.outboxBehind = false;
        return;
      } catch (error) {
        this.failed('publish', error);
        await sleep(1000);
      }
    }
  }

  /** Attempts of dead instances: outcome unknown, reported, never sent again. */
  private async recover(): Promise<void> {
    const session = this.session;
    if (!session) return;
    for (const instance of await instancesInFlight(this.dataSource, this.instance)) {
      const [{ locked }] = (
        await session.query('select pg_try_advisory_lock($1, $2) as locked', [WORKER_LOCK_CLASS, instance])
      ).rows;
      if (!locked) continue; // that instance is alive: its pushes are in flight
      try {
        await this.declareUnknown(instance);
      } finally {
        await session.query('select pg_advisory_unlock($1, $2)', [WORKER_LOCK_CLASS, instance]);
      }
    }
  }

  private async declareUnknown(instance: number): Promise<void> {
    const inFlight = await this.dataSource.transaction((tx) => attemptsInFlight(tx, instance));
    for (const [dispatchId, targets] of inFlight) {
      this.log.warn(
        { dispatch_id: dispatchId, devices: targets.length, instance },
        'pushes were in flight when their worker stopped: outcome unknown, not sent again (D5)',
      );
      await this.record(
        dispatchId,
        instance,
        targets.map((target) => ({ target, outcome: OUTCOME_UNKNOWN })),
      );
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.settings.pollMs);
      const wake = () => done();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUps.push(wake);
    });
  }

  private wakeAll(): void {
    const wakeUps = this.wakeUps;
    this.wakeUps = [];
    for (const wake of wakeUps) wake();
  }

  private failed(what: string, error: unknown): void {
    this.lastError = `${what}: ${error instanceof Error ? error.message : String(error)}`;
    this.log.error({ err: error }, `dispatch worker: ${what} failed`);
  }

  /**
   * Stops claiming and lets the batches in flight settle and be recorded (before the database closes); the provider
   * is closed by its own module afterwards.
   */
  private async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.recoveryTimer);
    this.wakeAll();
    await this.starting;
    await Promise.all(this.loops);
    await this.draining;
    const session = this.session;
    this.session = null;
    await session?.end().catch(() => undefined);
  }
}
