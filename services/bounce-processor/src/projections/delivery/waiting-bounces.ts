import type { EntityManager } from 'typeorm';
import type { Platform } from '@push/contracts';
import { BulkRows } from '@push/service-kit';
import type { AppRef, WaitingBounce, WaitingState } from '../../domain/bounce-processor';

/** A `waiting_bounces` row. */
export interface WaitingRow {
  workspace_id: string;
  app_id: string;
  bounce_event_id: string;
  shard: number;
  state: 'pending' | 'held';
  device_id: string;
  platform: Platform;
  user_id: string | null;
  token: string;
  reason: string;
  provider_timestamp_ms: number | null;
  dispatch_id: string | null;
  at_ms: number;
}

const epochMs = (column: string) => ({ type: 'bigint', select: `${column}::float8` });

const WAITING = new BulkRows<WaitingRow>({
  workspace_id: 'text',
  app_id: 'text',
  bounce_event_id: 'text',
  shard: 'integer',
  state: 'text',
  device_id: 'text',
  platform: 'text',
  user_id: 'text',
  token: 'text',
  reason: 'text',
  provider_timestamp_ms: epochMs('provider_timestamp_ms'),
  dispatch_id: 'text',
  at_ms: epochMs('at_ms'),
});
const KEYS = new BulkRows<Pick<WaitingRow, 'workspace_id' | 'app_id' | 'bounce_event_id'>>({
  workspace_id: 'text',
  app_id: 'text',
  bounce_event_id: 'text',
});
const APP_KEYS = new BulkRows<{ workspace_id: string; app_id: string }>({ workspace_id: 'text', app_id: 'text' });

const UPSERT = `${WAITING.insert('waiting_bounces', WAITING.recordset())}
  ${WAITING.onConflictUpdate(['workspace_id', 'app_id', 'bounce_event_id'])}`;
const DELETE = `delete from waiting_bounces where (${KEYS.columns()}) in (select * from ${KEYS.unnest()})`;
// The pending bounces a batch may decide: those of its apps (a flag holds them all), and those its time passes.
const PENDING = `select ${WAITING.selectList()} from waiting_bounces
  where state = 'pending' and shard = $3
    and (at_ms <= $4 or (${APP_KEYS.columns()}) in (select * from ${APP_KEYS.unnest()}))
  order by at_ms, bounce_event_id`;

export const bounceOf = (row: WaitingRow): WaitingBounce => ({
  bounceEventId: row.bounce_event_id,
  workspaceId: row.workspace_id,
  appId: row.app_id,
  deviceId: row.device_id,
  platform: row.platform,
  userId: row.user_id,
  token: row.token,
  reason: row.reason,
  providerTimestamp: row.provider_timestamp_ms,
  dispatchId: row.dispatch_id,
  at: row.at_ms,
});

const rowOf = (bounce: WaitingBounce, shard: number, state: 'pending' | 'held'): WaitingRow => ({
  workspace_id: bounce.workspaceId,
  app_id: bounce.appId,
  bounce_event_id: bounce.bounceEventId,
  shard,
  state,
  device_id: bounce.deviceId,
  platform: bounce.platform,
  user_id: bounce.userId,
  token: bounce.token,
  reason: bounce.reason,
  provider_timestamp_ms: bounce.providerTimestamp,
  dispatch_id: bounce.dispatchId,
  at_ms: bounce.at,
});

export async function loadPending(
  tx: EntityManager,
  shard: number,
  apps: readonly AppRef[],
  dueUntil: number | null,
): Promise<WaitingRow[]> {
  const keys = apps.map((a) => ({ workspace_id: a.workspaceId, app_id: a.appId }));
  return tx.query(PENDING, [...APP_KEYS.arrays(keys), shard, dueUntil ?? Number.MIN_SAFE_INTEGER]);
}

/** An app's held bounces, oldest first, locked: a release or discard takes them once. */
export async function lockHeld(tx: EntityManager, app: AppRef): Promise<WaitingRow[]> {
  return tx.query(
    `select ${WAITING.selectList()} from waiting_bounces
     where workspace_id = $1 and app_id = $2 and state = 'held' order by at_ms, bounce_event_id for update`,
    [app.workspaceId, app.appId],
  );
}

/** Writes what the domain changed: pending and held rows upserted, decided ones deleted. */
export async function saveWaiting(
  tx: EntityManager,
  shard: number,
  changed: ReadonlyMap<string, { bounce: WaitingBounce; state: WaitingState }>,
): Promise<void> {
  const kept: WaitingRow[] = [];
  const gone: WaitingBounce[] = [];
  for (const { bounce, state } of changed.values())
    if (state === 'gone') gone.push(bounce);
    else kept.push(rowOf(bounce, shard, state));
  if (gone.length)
    await tx.query(
      DELETE,
      KEYS.arrays(
        gone.map((b) => ({ workspace_id: b.workspaceId, app_id: b.appId, bounce_event_id: b.bounceEventId })),
      ),
    );
  if (kept.length) await tx.query(UPSERT, [WAITING.json(kept)]);
}
