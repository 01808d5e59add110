import type { EntityManager } from 'typeorm';
import type { Provider } from '@push/providers';
import { BulkRows, distinctBy } from '@push/service-kit';
import type { AppRef } from '../../domain/bounce-processor';
import type { AppWindow, Bucket } from '../../domain/burst-window';

interface AppKey {
  workspace_id: string;
  app_id: string;
}

/** A `burst_windows` row: buckets as `[start, total, reasons]` triples, flagged reasons with their provider. */
interface WindowRow extends AppKey {
  shard: number;
  buckets: [number, number, Record<string, number>][];
  flagged: Record<string, Provider>;
}

const WINDOWS = new BulkRows<WindowRow>({
  shard: 'integer',
  workspace_id: 'text',
  app_id: 'text',
  buckets: 'jsonb',
  flagged: 'jsonb',
});
const APP_KEYS = new BulkRows<AppKey>({ workspace_id: 'text', app_id: 'text' });

const SELECT_WINDOWS = `select ${WINDOWS.selectList()} from burst_windows
  where shard = $3 and (${APP_KEYS.columns()}) in (select * from ${APP_KEYS.unnest()})`;
const UPSERT_WINDOWS = `${WINDOWS.insert('burst_windows', WINDOWS.recordset())}
  ${WINDOWS.onConflictUpdate(['shard', 'workspace_id', 'app_id'])}`;

const windowOf = (row: WindowRow): AppWindow => ({
  buckets: new Map(row.buckets.map(([start, total, reasons]): [number, Bucket] => [start, { total, reasons }])),
  flagged: new Map(Object.entries(row.flagged)),
});

/** The shard's event time (B4), null before its first outcome. */
export async function shardWatermark(tx: EntityManager, shard: number): Promise<number | null> {
  const rows: { watermark_ms: number }[] = await tx.query(
    'select watermark_ms::float8 as watermark_ms from burst_shards where shard = $1',
    [shard],
  );
  return rows[0]?.watermark_ms ?? null;
}

export async function saveShardWatermark(tx: EntityManager, shard: number, watermark: number): Promise<void> {
  await tx.query(
    `insert into burst_shards (shard, watermark_ms) values ($1, $2)
     on conflict (shard) do update set watermark_ms = excluded.watermark_ms`,
    [shard, watermark],
  );
}

/** The stored windows of these apps on the shard. */
export async function loadWindows(
  tx: EntityManager,
  shard: number,
  apps: readonly AppRef[],
): Promise<{ ref: AppRef; window: AppWindow }[]> {
  const keys = distinctBy(
    apps.map((a) => ({ workspace_id: a.workspaceId, app_id: a.appId })),
    (k) => `${k.workspace_id}\u0000${k.app_id}`,
  );
  if (keys.length === 0) return [];
  const rows: WindowRow[] = await tx.query(SELECT_WINDOWS, [...APP_KEYS.arrays(keys), shard]);
  return rows.map((row) => ({ ref: { workspaceId: row.workspace_id, appId: row.app_id }, window: windowOf(row) }));
}

export async function saveWindows(
  tx: EntityManager,
  shard: number,
  windows: readonly { ref: AppRef; window: AppWindow }[],
): Promise<void> {
  if (windows.length === 0) return;
  const rows: WindowRow[] = windows.map(({ ref, window }) => ({
    shard,
    workspace_id: ref.workspaceId,
    app_id: ref.appId,
    buckets: [...window.buckets].map(([start, b]) => [start, b.total, b.reasons]),
    flagged: Object.fromEntries(window.flagged),
  }));
  await tx.query(UPSERT_WINDOWS, [WINDOWS.json(rows)]);
}
