import type { DataSource, EntityManager } from 'typeorm';
import type { StoredHistoryEntry } from './delivery-devices-table';

export interface DeliveryRow {
  status: string;
  consecutive_bounces: number;
  last_outcome_ms: number | null;
  history: StoredHistoryEntry[];
}

export interface HeldSummary {
  count: number;
  first_at_ms: number | null;
  last_at_ms: number | null;
  reasons: { reason: string; count: number }[];
}

export interface FlaggedApp {
  workspace_id: string;
  app_id: string;
  reasons: string[];
  shards: number[];
}

/** What the HTTP API and /health read of the delivery read model. */
export class DeliveryQueries {
  constructor(private readonly db: DataSource | EntityManager) {}

  async device(workspaceId: string, appId: string, deviceId: string): Promise<DeliveryRow | undefined> {
    const rows: DeliveryRow[] = await this.db.query(
      `select status, consecutive_bounces, last_outcome_ms::float8 as last_outcome_ms, history
       from delivery_devices where workspace_id = $1 and app_id = $2 and device_id = $3`,
      [workspaceId, appId, deviceId],
    );
    return rows[0];
  }

  async held(workspaceId: string, appId: string): Promise<HeldSummary> {
    const reasons: { reason: string; count: number; first_at_ms: number; last_at_ms: number }[] = await this.db.query(
      `select reason, count(*)::int as count, min(at_ms)::float8 as first_at_ms, max(at_ms)::float8 as last_at_ms
       from waiting_bounces where workspace_id = $1 and app_id = $2 and state = 'held'
       group by reason order by count(*) desc, reason`,
      [workspaceId, appId],
    );
    return {
      count: reasons.reduce((n, r) => n + r.count, 0),
      first_at_ms: reasons.length ? Math.min(...reasons.map((r) => r.first_at_ms)) : null,
      last_at_ms: reasons.length ? Math.max(...reasons.map((r) => r.last_at_ms)) : null,
      reasons: reasons.map(({ reason, count }) => ({ reason, count })),
    };
  }

  /** The apps some shard's window flags now (B4), with the reasons and the shards. */
  async flaggedApps(workspaceId?: string): Promise<FlaggedApp[]> {
    return this.db.query(
      `select workspace_id, app_id, array_agg(distinct reason order by reason) as reasons,
              array_agg(distinct shard order by shard) as shards
       from burst_windows, jsonb_object_keys(flagged) as reason
       where $1::text is null or workspace_id = $1
       group by workspace_id, app_id order by workspace_id, app_id`,
      [workspaceId ?? null],
    );
  }

  /** Held bounces per app, for /metrics. */
  async heldCounts(): Promise<{ workspace_id: string; app_id: string; count: number }[]> {
    return this.db.query(
      `select workspace_id, app_id, count(*)::int as count from waiting_bounces where state = 'held'
       group by workspace_id, app_id`,
    );
  }
}
