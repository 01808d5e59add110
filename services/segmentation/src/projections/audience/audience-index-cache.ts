import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource, type QueryRunner } from 'typeorm';
import { analyzeStaleTables } from '@push/service-kit';
import { AudienceIndex, indexRow, type IndexRow, type SegmentFilter, type SegmentSize } from '@push/segments';
import { loadUserViews, userViewPages } from './audience-queries';
import { segmentSizeSql } from './segment-size-sql';

/** A workspace's index, the `audience_versions` version of the snapshot it is of, and that snapshot's apps. */
export interface IndexedWorkspace {
  version: bigint;
  index: AudienceIndex;
  apps: ReadonlySet<string>;
}

interface Refresh {
  /** Whether it patches the index (quick: a request waits for it) or builds it whole (a request answers by SQL). */
  kind: Promise<'patch' | 'build'>;
  done: Promise<void>;
}

export interface IndexCacheOptions {
  /** How often every workspace's index is brought to the committed version in the background (0: never). */
  refreshIntervalMs?: number;
  /** A catch-up naming more changed users than this (or than half the index) builds the index whole instead. */
  maxPatchUsers?: number;
}

/** Nest token of the `IndexCacheOptions` (optional: the defaults otherwise). */
export const INDEX_CACHE_OPTIONS = Symbol('INDEX_CACHE_OPTIONS');

/** The users' views read for a patch per query (`loadUserViews` of that many ids). */
const PATCH_PAGE = 5000;

/** The tables index builds, patches and exports range-scan: their planner statistics are kept fresh (`freshStatistics`). */
const SCANNED_TABLES = ['audience_users', 'audience_devices', 'audience_user_changes'];

/**
 * Per workspace, an `AudienceIndex` of the committed read model at the `audience_versions` version it is of, kept
 * current incrementally: a catch-up reads, in one REPEATABLE READ snapshot, the version and the views of only the users
 * whose `audience_user_changes.changed_seq` is past the index's version (the projection sets it in the batch's
 * transaction), and patches their bits. A size is answered from the index only once it is of at least the version
 * committed when the request came (a request waits for a patch); while an index is first built (or rebuilt after
 * a very large backlog) the exact SQL answers. So every answer is exact and of committed state whichever replica gives
 * it: nothing is only in one process's memory, every replica builds and patches from Postgres.
 *
 * At start every workspace's index is built; then a timer (`refreshIntervalMs`) brings each one to the committed
 * version, so that a request's own catch-up is small, and builds the indexes of workspaces that appear later.
 */
@Injectable()
export class AudienceIndexCache implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('AudienceIndexCache');
  private readonly current = new Map<string, IndexedWorkspace>();
  private readonly refreshing = new Map<string, Refresh>();
  private readonly refreshIntervalMs: number;
  private readonly maxPatchUsers: number;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private readonly served: Counter<'source'>;
  private readonly buildSeconds: Histogram;
  private readonly patchSeconds: Histogram;
  private readonly analyzed: Counter;

  constructor(
    private readonly dataSource: DataSource,
    registry: Registry,
    @Optional() @Inject(INDEX_CACHE_OPTIONS) options: IndexCacheOptions | null = null,
  ) {
    options ??= {};
    this.refreshIntervalMs = options.refreshIntervalMs ?? 500;
    this.maxPatchUsers = options.maxPatchUsers ?? 100_000;
    this.served = new Counter({
      name: 'segmentation_sizes_served_total',
      help: 'POST /segments/size answers, by where they came from: the index, or the exact SQL while it is built',
      labelNames: ['source'],
      registers: [registry],
    });
    this.buildSeconds = new Histogram({
      name: 'segmentation_index_build_seconds',
      help: "A workspace's index built whole from one snapshot of the read model (at start, for a new workspace, after a large backlog)",
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 20, 40, 80],
      registers: [registry],
    });
    this.patchSeconds = new Histogram({
      name: 'segmentation_index_patch_seconds',
      help: "A workspace's index brought to the committed version by reading only the users changed since its own",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.analyzed = new Counter({
      name: 'segmentation_tables_analyzed_total',
      help: 'ANALYZEs of the read model run by the service, its tables statistics being stale (see freshStatistics)',
      registers: [registry],
    });
    const current = this.current;
    new Gauge({
      name: 'segmentation_index_users',
      help: "Users in a workspace's index",
      labelNames: ['workspace_id'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [workspace_id, { index }] of current) this.set({ workspace_id }, index.users);
      },
    });
    new Gauge({
      name: 'segmentation_index_bytes',
      help: "Bytes of a workspace's index: its bitsets and its user-id table (typed arrays, outside the JS heap)",
      labelNames: ['workspace_id'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [workspace_id, { index }] of current) this.set({ workspace_id }, index.byteLength);
      },
    });
  }

  onApplicationBootstrap(): void {
    // Every workspace's index, built at start in the background (the SQL answers until it is ready).
    void this.refreshAll();
    if (this.refreshIntervalMs > 0) {
      this.timer = setInterval(() => void this.refreshAll(), this.refreshIntervalMs);
      this.timer.unref();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
    await Promise.all([...this.refreshing.values()].map((r) => r.done));
  }

  /** The exact size, and where it came from (`index` or `sql`). */
  async size(workspaceId: string, filter: SegmentFilter): Promise<{ size: SegmentSize; source: 'index' | 'sql' }> {
    const indexed = await this.fresh(workspaceId);
    const answer = indexed
      ? { size: indexed.index.size(filter), source: 'index' as const }
      : { size: await segmentSizeSql(this.dataSource, workspaceId, filter), source: 'sql' as const };
    this.served.inc({ source: answer.source });
    return answer;
  }

  /** The apps the workspace's devices name, of the committed state (from the index's snapshot when it has one). */
  async appsSeen(workspaceId: string): Promise<ReadonlySet<string>> {
    const indexed = await this.fresh(workspaceId);
    return indexed ? indexed.apps : new Set(await appsOf(this.dataSource, workspaceId));
  }

  /**
   * The workspace's index once it is of at least the version committed now, waiting for a patch (joining one that
   * runs, starting another if that one read an older snapshot); undefined while it is being built whole.
   */
  async fresh(workspaceId: string): Promise<IndexedWorkspace | undefined> {
    const committed = await committedVersion(this.dataSource, workspaceId);
    for (let attempt = 0; attempt < 2; attempt++) {
      const indexed = this.current.get(workspaceId);
      if (indexed && indexed.version >= committed) return indexed;
      const refresh = this.refresh(workspaceId);
      if ((await refresh.kind) === 'build') return undefined;
      await refresh.done;
    }
    const indexed = this.current.get(workspaceId);
    return indexed && indexed.version >= committed ? indexed : undefined;
  }

  /** Brings the workspace's index to the committed version (one refresh at a time per workspace); resolves when done. */
  rebuild(workspaceId: string): Promise<void> {
    return this.refresh(workspaceId).done;
  }

  /** Every workspace of `audience_versions` whose index is missing or behind, brought to its version, one at a time. */
  refreshAll(): Promise<void> {
    this.ticking ??= (async () => {
      try {
        const rows: { workspace_id: string; version: string }[] = await this.dataSource.query(
          'select workspace_id, version from audience_versions order by workspace_id',
        );
        for (const { workspace_id, version } of rows) {
          const indexed = this.current.get(workspace_id);
          if (!indexed || indexed.version < BigInt(version)) await this.refresh(workspace_id).done;
        }
      } catch (error) {
        this.logger.error(`indexes not refreshed: ${(error as Error).message}`);
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  private refresh(workspaceId: string): Refresh {
    const running = this.refreshing.get(workspaceId);
    if (running) return running;
    let decide!: (kind: 'patch' | 'build') => void;
    const kind = new Promise<'patch' | 'build'>((resolve) => (decide = resolve));
    const done = this.catchUp(workspaceId, decide)
      .catch((error) => this.logger.error(`index of ${workspaceId} not refreshed: ${(error as Error).message}`))
      .finally(() => {
        decide('patch'); // a failure before deciding: the waiting request finds the index behind and answers by SQL
        this.refreshing.delete(workspaceId);
      });
    const refresh = { kind, done };
    this.refreshing.set(workspaceId, refresh);
    return refresh;
  }

  /**
   * ANALYZEs the scanned tables when their statistics are stale (never analyzed, or a fifth of their rows modified
   * since): with a bulk load's stale statistics, a page of a build or an export is planned as a sort of every row
   * (860 ms instead of 10 ms at a million users). The kit's `PlannerStatisticsKeeper` checks every table every 10 s;
   * this is the check right before a build or an export, which may come sooner (a start after a replay).
   */
  async freshStatistics(): Promise<void> {
    const analyzed = await analyzeStaleTables(this.dataSource, SCANNED_TABLES);
    if (analyzed.length) {
      this.analyzed.inc(analyzed.length);
      this.logger.log(`planner statistics refreshed: analyzed ${analyzed.join(', ')}`);
    }
  }

  /** One snapshot: its version, then a patch of the users changed since the index's version, or a whole build. */
  private async catchUp(workspaceId: string, decide: (kind: 'patch' | 'build') => void): Promise<void> {
    const started = performance.now();
    if (!this.current.has(workspaceId)) await this.freshStatistics(); // a build; a patch relies on the kit's keeper
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('start transaction isolation level repeatable read read only');
      const version = await committedVersion(runner, workspaceId);
      const indexed = this.current.get(workspaceId);
      if (indexed && indexed.version >= version) return decide('patch');
      const limit = indexed ? Math.min(this.maxPatchUsers, Math.max(PATCH_PAGE, indexed.index.users >> 1)) : 0;
      const changed: { user_id: string }[] = indexed
        ? await runner.query(
            `select user_id from audience_user_changes where workspace_id = $1 and changed_seq > $2 limit $3`,
            [workspaceId, String(indexed.version), limit + 1],
          )
        : [];
      if (!indexed || changed.length > limit) {
        decide('build');
        const built = await this.build(runner, workspaceId, version);
        this.current.set(workspaceId, built);
        this.buildSeconds.observe((performance.now() - started) / 1000);
        this.logger.log(
          `index of ${workspaceId} built at version ${version}: ${built.index.users} users in ${Math.round(performance.now() - started)} ms`,
        );
        return;
      }
      decide('patch');
      const ids = changed.map((c) => c.user_id);
      // Each page's views made into the index's compact rows at once: a large catch-up holds ~100 bytes a user.
      const rows: IndexRow[] = [];
      for (let from = 0; from < ids.length; from += PATCH_PAGE) {
        const page = await loadUserViews(runner, workspaceId, ids.slice(from, from + PATCH_PAGE));
        for (const view of page.values()) rows.push(indexRow(view));
      }
      const known = new Set(rows.map((r) => r.user_id));
      const apps = new Set(await appsOf(runner, workspaceId));
      // Synchronous from here: a size answered in between sees the index wholly before or wholly after.
      indexed.index.patch(
        rows,
        ids.filter((id) => !known.has(id)),
      );
      this.current.set(workspaceId, { index: indexed.index, version, apps });
      this.patchSeconds.observe((performance.now() - started) / 1000);
    } finally {
      await runner.query('rollback').catch(() => undefined);
      await runner.release();
    }
  }

  /** The whole index from the runner's snapshot, a page of views at a time (memory: the index and one page). */
  private async build(runner: QueryRunner, workspaceId: string, version: bigint): Promise<IndexedWorkspace> {
    const index = new AudienceIndex([]);
    for await (const page of userViewPages(runner, workspaceId, 10_000)) index.patch(page);
    return { index, version, apps: new Set(await appsOf(runner, workspaceId)) };
  }
}

async function committedVersion(db: Pick<DataSource, 'query'>, workspaceId: string): Promise<bigint> {
  const rows: { version: string }[] = await db.query('select version from audience_versions where workspace_id = $1', [
    workspaceId,
  ]);
  return rows.length === 0 ? 0n : BigInt(rows[0].version);
}

/** The apps a workspace's devices name (`audience_apps`, kept by the projection). */
async function appsOf(db: Pick<DataSource, 'query'>, workspaceId: string): Promise<string[]> {
  const rows: { app_id: string }[] = await db.query('select app_id from audience_apps where workspace_id = $1', [
    workspaceId,
  ]);
  return rows.map((r) => r.app_id);
}
