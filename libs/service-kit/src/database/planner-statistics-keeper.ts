import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { ShutdownSequence } from '../bootstrap/shutdown-sequence';
import { PINO_LOGGER } from '../tokens';
import { analyzeStaleTables } from './planner-statistics';

/** How often every service looks for tables of its read model whose planner statistics are stale. */
export const PLANNER_STATISTICS_CHECK_MS = 10_000;

/**
 * Keeps the planner statistics of the service's own tables fresh (`analyzeStaleTables` over its schema, every
 * `PLANNER_STATISTICS_CHECK_MS`). Where autovacuum does not (this project's CI machine runs with it off, a replay
 * writes millions of rows in minutes) a growing table keeps the statistics of when it was empty, and a batch's
 * lookup by key is planned as a hash join over a scan of the whole table: token-registry's `users_seen` update read
 * every row, 42 ms a batch at 100,000 users and growing with them. Failures are logged, never fatal: the statistics are
 * only as stale as they would be without this.
 */
@Injectable()
export class PlannerStatisticsKeeper implements OnApplicationBootstrap {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly analyzed: Counter;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    registry: Registry,
    shutdown: ShutdownSequence,
  ) {
    this.analyzed =
      (registry.getSingleMetric('planner_statistics_tables_analyzed_total') as Counter | undefined) ??
      new Counter({
        name: 'planner_statistics_tables_analyzed_total',
        help: "Tables of the service's read model ANALYZEd because their planner statistics were stale",
        registers: [registry],
      });
    shutdown.beforeStop(() => this.stop());
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.checkOnce(), PLANNER_STATISTICS_CHECK_MS);
    this.timer.unref();
  }

  /** One check at a time: a slow ANALYZE is not started again under itself. */
  private checkOnce(): Promise<void> {
    this.running ??= this.check().then(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** ANALYZEs the stale tables of the service's schema now; their names. */
  async check(): Promise<string[]> {
    if (!this.dataSource.isInitialized) return [];
    try {
      const analyzed = await analyzeStaleTables(this.dataSource, 'all');
      if (analyzed.length) {
        this.analyzed.inc(analyzed.length);
        this.logger.info({ tables: analyzed }, 'planner statistics refreshed');
      }
      return analyzed;
    } catch (error) {
      this.logger.warn({ err: error }, 'planner statistics not refreshed');
      return [];
    }
  }

  private async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
