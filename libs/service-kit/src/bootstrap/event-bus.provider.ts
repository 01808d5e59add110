import { Inject, Injectable, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import type { TopicName } from '@push/contracts';
import { EventProducer, Projection, ProjectionRunner, ReplayOptions, readReplayBound } from '@push/event-bus';
import type { ServiceConfig } from '../config/load-config';
import { HealthChecks, ProbeResult } from '../health/health-checks';
import { ProjectionTransport } from '../projection/projection-transport';
import { PINO_LOGGER, SERVICE_CONFIG } from '../tokens';
import { ShutdownSequence } from './shutdown-sequence';

/** Provisions the service's topics; given by `runService` (tests create their topics themselves). */
export const TOPIC_PROVISIONING = Symbol('TOPIC_PROVISIONING');
export type TopicProvisioning = () => Promise<unknown>;

/** Waits between failed start attempts: 1 s doubling to 30 s, ±20 % jitter. */
export function startRetryDelayMs(failures: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** How long a SIGTERM waits for a start attempt in flight (a join in progress) before stopping anyway. */
const STOP_WAITS_FOR_START_MS = 30_000;

/** One background start: attempted until it succeeds or the service stops; what /health says about it. */
class BackgroundStart {
  attempts = 0;
  failures = 0;
  lastError: string | undefined;
  retryAt: number | undefined;
  done = false;
  /** The attempt in flight, if any (never rejects). */
  inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly what: string,
    private readonly attempt: () => Promise<void>,
    private readonly log: Logger,
    private readonly stopping: () => boolean,
  ) {}

  /** Starts the attempts; resolves once one succeeded, or the service is stopping. */
  run(): Promise<void> {
    this.loop ??= (async () => {
      while (!this.done && !this.stopping()) {
        this.attempts++;
        this.inFlight = this.attempt().then(
          () => {
            this.done = true;
            this.lastError = undefined;
          },
          (error: unknown) => {
            this.failures++;
            this.lastError = error instanceof Error ? error.message : String(error);
            if (this.stopping()) return;
            const delay = startRetryDelayMs(this.failures);
            this.retryAt = Date.now() + delay;
            this.log.error(
              { err: error, attempt: this.attempts, retryInMs: delay },
              `${this.what} could not start; retrying`,
            );
          },
        );
        await this.inFlight;
        this.inFlight = undefined;
        if (this.done || this.stopping()) break;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, Math.max(0, (this.retryAt ?? 0) - Date.now()));
        });
        this.retryAt = undefined;
      }
    })();
    return this.loop;
  }

  /** Cancels a pending retry; waits (bounded) for an attempt in flight, so that what it started can be stopped. */
  async cancel(): Promise<void> {
    clearTimeout(this.timer);
    this.wake?.();
    if (!this.inFlight) return;
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), STOP_WAITS_FOR_START_MS)),
    );
    if ((await Promise.race([this.inFlight.then(() => 'done' as const), bounded])) === 'timeout') {
      this.log.warn(
        { waitedMs: STOP_WAITS_FOR_START_MS },
        `${this.what}: a start attempt is still in flight; stopping anyway`,
      );
    }
    clearTimeout(timer);
  }

  /** What /health shows while the start has not succeeded. */
  details(): Record<string, unknown> {
    return {
      startAttempts: this.attempts,
      ...(this.lastError !== undefined && { lastStartError: this.lastError }),
      ...(this.retryAt !== undefined && { nextStartInMs: Math.max(0, this.retryAt - Date.now()) }),
    };
  }
}

/**
 * A service's Kafka side: the one producer (HTTP writes publish through it, runners drain their outbox through it) and
 * one projection runner per `@ProjectionController` of the service's modules. Nest builds those classes; its
 * microservice transport `transport` (connected by `createServiceApp`) hands them here as projections before the
 * application bootstraps. There is no other way in: a projection is always built by Nest.
 *
 * Nothing here holds up the start of the application: once it is built, the topics are provisioned (when `runService`
 * asked for it) and the runners started in the background, while HTTP already answers reads and `/health`. A start
 * that fails (broker or database down) is logged and retried with backoff (1 s doubling to 30 s) until it succeeds.
 * Each runner reports on `/health` as `kafka:<group>` with its state — `starting` (with `startAttempts` and
 * `lastStartError`), `joining`, `consuming`, `failing`, `stopped` — and is up only while consuming; provisioning
 * reports as `kafka:topics`. On SIGTERM the runners stop (finishing their batch, leaving the group at once) before the
 * database closes.
 */
@Injectable()
export class ServiceEventBus implements OnApplicationBootstrap {
  readonly producer: EventProducer;
  /** The Nest microservice transport through which the projections Nest built reach this bus. */
  readonly transport: ProjectionTransport;
  private projections: Projection<TopicName>[] = [];
  private bootstrapped = false;
  private readonly runners: { runner: ProjectionRunner<TopicName>; start: BackgroundStart }[] = [];
  private provisioning: BackgroundStart | undefined;
  private stopping = false;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    private readonly dataSource: DataSource,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly metrics: Registry,
    private readonly health: HealthChecks,
    shutdown: ShutdownSequence,
    modules: ModulesContainer,
    @Optional() @Inject(TOPIC_PROVISIONING) private readonly provisionTopics?: TopicProvisioning,
  ) {
    this.producer = new EventProducer({
      brokers: config.kafkaBrokers,
      clientId: config.serviceName,
      logger,
      topicPrefix: config.topicPrefix,
    });
    this.transport = new ProjectionTransport(modules, (projections) => this.receive(projections));
    shutdown.beforeStop(() => this.stop());
  }

  /** From the transport's `listen()`: the runners start with the application, so this must come before. */
  private receive(projections: Projection<TopicName>[]): void {
    if (this.bootstrapped)
      throw new Error(
        'the projection transport listened after the application bootstrapped: start it before (createServiceApp does)',
      );
    this.projections = projections;
  }

  /** Registers the health checks and starts provisioning and the runners in the background; returns at once. */
  onApplicationBootstrap(): void {
    this.bootstrapped = true;
    const stopping = () => this.stopping;
    const provision = this.provisionTopics;
    if (provision) {
      const start = new BackgroundStart(
        'topic provisioning',
        async () => {
          const report = (await provision()) as { created?: string[]; updated?: string[] } | undefined;
          this.logger.info({ created: report?.created, updated: report?.updated }, 'topics provisioned');
        },
        this.logger,
        stopping,
      );
      this.provisioning = start;
      this.health.register('kafka:topics', () => ({
        up: start.done,
        details: start.done ? { state: 'provisioned' } : { state: 'provisioning', ...start.details() },
      }));
    }
    for (const projection of this.projections) {
      const runner = new ProjectionRunner({
        projection,
        brokers: this.config.kafkaBrokers,
        dataSource: this.dataSource,
        logger: this.logger,
        metrics: this.metrics,
        producer: this.producer,
        topicPrefix: this.config.topicPrefix,
        ...this.config.consumer,
        replay: this.replayOf(projection.groupId),
      });
      const log = this.logger.child({ group: projection.groupId });
      const start = new BackgroundStart(
        `projection ${projection.groupId}`,
        () => this.startRunner(runner, log),
        log,
        stopping,
      );
      this.runners.push({ runner, start });
      this.health.register(`kafka:${projection.groupId}`, () => this.runnerHealth(runner, start));
    }
    const provisioned = this.provisioning?.run() ?? Promise.resolve();
    for (const { start } of this.runners) void provisioned.then(() => start.run());
  }

  /**
   * Replay mode (the replay CLI's rebuild/verify, see @push/event-bus `ReplayOptions`): a consumer group of its own
   * beside the live service's, and the bound from the file the CLI keeps up to date.
   */
  private replayOf(groupId: string): ReplayOptions | undefined {
    const replay = this.config.replay;
    if (!replay) return undefined;
    this.logger.warn({ group: groupId, boundFile: replay.boundFile }, 'replay mode: publishing nothing, bounded');
    return {
      consumerGroup: `${groupId}.replay.${replay.id}`,
      bound: () => readReplayBound(replay.boundFile, groupId),
    };
  }

  private async startRunner(runner: ProjectionRunner<TopicName>, log: Logger): Promise<void> {
    const startedAt = performance.now();
    log.info('projection starting');
    await runner.start();
    log.info(
      { ms: Math.round(performance.now() - startedAt), state: runner.health().details.state },
      'projection started',
    );
  }

  private runnerHealth(runner: ProjectionRunner<TopicName>, start: BackgroundStart): ProbeResult {
    const health = runner.health();
    if (start.done || this.stopping) return health;
    // Until start() resolved the runner is connecting (`starting`) or joining its group.
    const waitingFor = this.provisioning && !this.provisioning.done ? { waitingFor: 'topics' } : {};
    return { up: false, details: { ...health.details, ...waitingFor, ...start.details() } };
  }

  /** Runners stop first (each finishes its batch and leaves its group), then the producer; the database closes after. */
  private async stop(): Promise<void> {
    this.stopping = true;
    await this.provisioning?.cancel();
    await Promise.all(
      this.runners.map(async ({ runner, start }) => {
        await start.cancel();
        await runner.stop();
      }),
    );
    await this.producer.disconnect();
  }
}
