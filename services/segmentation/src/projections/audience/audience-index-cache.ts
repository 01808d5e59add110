import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AudienceIndex, type SegmentFilter, type SegmentSize, type UserView } from '@push/segments';
import { loadUserViews, userIdPages } from './audience-queries';
import { segmentSizeSql } from './segment-size-sql';

interface Built {
  version: string;
  index: AudienceIndex;
}

/**
 * Per workspace, an `AudienceIndex` of the committed read model and the `audience_versions` version it was built at.
 * A size is answered from the index only while the committed version is still that one; otherwise by the exact SQL
 * while a rebuild (version and views read in one REPEATABLE READ snapshot) runs in the background. So every answer is
 * exact and of committed state, whichever replica gives it (nothing is only in one process's memory: any replica
 * rebuilds from Postgres).
 */
@Injectable()
export class AudienceIndexCache {
  private readonly logger = new Logger('AudienceIndexCache');
  private readonly built = new Map<string, Built>();
  private readonly rebuilding = new Map<string, Promise<void>>();

  constructor(private readonly dataSource: DataSource) {}

  /** The exact size, and where it came from (`index` or `sql`). */
  async size(workspaceId: string, filter: SegmentFilter): Promise<{ size: SegmentSize; source: 'index' | 'sql' }> {
    const version = await this.committedVersion(workspaceId);
    const built = this.built.get(workspaceId);
    if (built && built.version === version) return { size: built.index.size(filter), source: 'index' };
    void this.rebuild(workspaceId);
    return { size: await segmentSizeSql(this.dataSource, workspaceId, filter), source: 'sql' };
  }

  /** Rebuilds the workspace's index from one snapshot (one rebuild at a time per workspace); resolves when done. */
  rebuild(workspaceId: string): Promise<void> {
    const running = this.rebuilding.get(workspaceId);
    if (running) return running;
    const job = this.build(workspaceId)
      .then((built) => {
        const current = this.built.get(workspaceId);
        if (!current || BigInt(built.version) >= BigInt(current.version)) this.built.set(workspaceId, built);
      })
      .catch((error) => this.logger.error(`index of ${workspaceId} not rebuilt: ${(error as Error).message}`))
      .finally(() => this.rebuilding.delete(workspaceId));
    this.rebuilding.set(workspaceId, job);
    return job;
  }

  private async committedVersion(workspaceId: string, db: Pick<DataSource, 'query'> = this.dataSource) {
    const rows: { version: string }[] = await db.query(
      'select version from audience_versions where workspace_id = $1',
      [workspaceId],
    );
    return rows.length === 0 ? '0' : String(rows[0].version);
  }

  private async build(workspaceId: string): Promise<Built> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('start transaction isolation level repeatable read read only');
      const version = await this.committedVersion(workspaceId, runner);
      const users: UserView[] = [];
      for await (const ids of userIdPages(runner, workspaceId, 5000)) {
        const views = await loadUserViews(runner, workspaceId, ids);
        for (const id of ids) users.push(views.get(id)!);
      }
      return { version, index: new AudienceIndex(users) };
    } finally {
      await runner.query('rollback').catch(() => undefined);
      await runner.release();
    }
  }
}
