import type { EntityManager } from 'typeorm';

type Db = Pick<EntityManager, 'query'>;

export interface DispatchProgress {
  dispatch_id: string;
  status: 'pending' | 'running' | 'completed';
  targeted: number;
  sent: number;
  bounced: number;
  failed: number;
  skipped: { unsubscribed: number; not_push_enabled: number; suppressed: number };
}

export interface DispatchDevice {
  app_id: string;
  device_id: string;
  user_id: string | null;
  platform: 'ios' | 'android' | 'web';
  /** null while the device's push is pending or in flight. */
  outcome: 'sent' | 'bounced' | 'failed' | 'skipped' | null;
  reason: string | null;
  at: string | null;
}

const iso = (ms: string | number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/**
 * A dispatch of the workspace as the read model has it; a request `POST /dispatches` published that the projection
 * has not recorded yet is `pending` with nothing counted. Null: no such dispatch in this workspace.
 */
export async function dispatchProgress(
  db: Db,
  workspaceId: string,
  dispatchId: string,
): Promise<DispatchProgress | null> {
  const [row]: {
    status: DispatchProgress['status'];
    targeted: number;
    sent: number;
    bounced: number;
    failed: number;
    skipped_unsubscribed: number;
    skipped_not_push_enabled: number;
    skipped_suppressed: number;
  }[] = await db.query(
    `select status, targeted, sent, bounced, failed, skipped_unsubscribed, skipped_not_push_enabled, skipped_suppressed
     from dispatches where dispatch_id = $1 and workspace_id = $2`,
    [dispatchId, workspaceId],
  );
  if (row)
    return {
      dispatch_id: dispatchId,
      status: row.status,
      targeted: row.targeted,
      sent: row.sent,
      bounced: row.bounced,
      failed: row.failed,
      skipped: {
        unsubscribed: row.skipped_unsubscribed,
        not_push_enabled: row.skipped_not_push_enabled,
        suppressed: row.skipped_suppressed,
      },
    };
  const accepted: unknown[] = await db.query(
    'select 1 from accepted_dispatches where dispatch_id = $1 and workspace_id = $2',
    [dispatchId, workspaceId],
  );
  if (accepted.length === 0) return null;
  return {
    dispatch_id: dispatchId,
    status: 'pending',
    targeted: 0,
    sent: 0,
    bounced: 0,
    failed: 0,
    skipped: { unsubscribed: 0, not_push_enabled: 0, suppressed: 0 },
  };
}

/** A device's state in `dispatch_targets`: what `GET /dispatches/{id}/devices?state=` filters on. */
export const TARGET_STATES = ['pending', 'in_flight', 'sent', 'bounced', 'failed', 'skipped'] as const;
export type TargetState = (typeof TARGET_STATES)[number];

/** A device of a dispatch by its key, the order of the device pages. */
export interface DeviceKey {
  app_id: string;
  device_id: string;
}

export interface DevicePageQuery {
  /** At most this many devices. */
  limit: number;
  /** Only devices after this one in (app_id, device_id) order; null: from the first. */
  after: DeviceKey | null;
  /** Only devices in this state; null: all. */
  state: TargetState | null;
}

export interface DevicePage {
  devices: DispatchDevice[];
  /** The key to ask for the next page after, null when this page ends the dispatch's devices. */
  next: DeviceKey | null;
}

/**
 * A page of the devices a dispatch of the workspace considers, with their outcomes, in (app, device) order: keyset
 * paging on `dispatch_targets`' primary key, so that every page costs the same however deep it is, and a device is on
 * exactly one page (a dispatch's devices are fixed once recorded). Null: no such dispatch in this workspace.
 */
export async function dispatchDevicePage(
  db: Db,
  workspaceId: string,
  dispatchId: string,
  query: DevicePageQuery,
): Promise<DevicePage | null> {
  const progress = await dispatchProgress(db, workspaceId, dispatchId);
  if (!progress) return null;
  const parameters: unknown[] = [dispatchId, workspaceId];
  const where = ['dispatch_id = $1', 'workspace_id = $2'];
  if (query.after) {
    parameters.push(query.after.app_id, query.after.device_id);
    where.push(`(app_id, device_id) > ($${parameters.length - 1}, $${parameters.length})`);
  }
  if (query.state) {
    parameters.push(query.state);
    where.push(`state = $${parameters.length}`);
  }
  // One row more than asked: whether a next page exists, without a second query.
  parameters.push(query.limit + 1);
  const rows: {
    app_id: string;
    device_id: string;
    user_id: string | null;
    platform: string;
    state: string;
    reason: string | null;
    outcome_at_ms: string | null;
  }[] = await db.query(
    `select app_id, device_id, user_id, platform, state, reason, outcome_at_ms from dispatch_targets
     where ${where.join(' and ')} order by app_id, device_id limit $${parameters.length}`,
    parameters,
  );
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    devices: page.map((r) => ({
      app_id: r.app_id,
      device_id: r.device_id,
      user_id: r.user_id,
      platform: r.platform.toLowerCase() as DispatchDevice['platform'],
      outcome: r.state === 'pending' || r.state === 'in_flight' ? null : (r.state as DispatchDevice['outcome']),
      reason: r.reason,
      at: iso(r.outcome_at_ms),
    })),
    next: rows.length > query.limit ? { app_id: last.app_id, device_id: last.device_id } : null,
  };
}

/** Notes a request the API published, so that its status is `pending` until the projection records it. */
export async function noteAccepted(db: Db, workspaceId: string, dispatchId: string, now: number): Promise<void> {
  await db.query(
    `insert into accepted_dispatches (dispatch_id, workspace_id, accepted_at_ms) values ($1, $2, $3)
     on conflict (dispatch_id) do nothing`,
    [dispatchId, workspaceId, now],
  );
}
