import type { EntityManager } from 'typeorm';
import { BulkRows, distinctBy } from '@push/service-kit';
import type { DeviceRef } from '../../domain/bounce-processor';
import type { DeviceDelivery, HistoryEntry } from '../../domain/device-delivery';

export interface DeviceKey {
  workspace_id: string;
  app_id: string;
  device_id: string;
}

/** A `delivery_devices` row: the domain's `DeviceDelivery`, column by column. */
export interface DeliveryDeviceRow extends DeviceKey {
  platform: DeviceDelivery['platform'];
  user_id: string | null;
  status: DeviceDelivery['status'];
  consecutive_bounces: number;
  as_of_ms: number | null;
  ids_at_as_of: string[];
  last_outcome_ms: number | null;
  history: StoredHistoryEntry[];
}

/** A history entry as stored (JSON) and answered by the HTTP API. */
export interface StoredHistoryEntry {
  outcome: HistoryEntry['outcome'];
  reason: string | null;
  at: number;
  dispatch_id: string | null;
  event_id: string;
}

/** An epoch-milliseconds column (bigint), read as float8 so that it arrives as a JS number, not a string. */
const epochMs = (column: string) => ({ type: 'bigint', select: `${column}::float8` });

const DEVICES = new BulkRows<DeliveryDeviceRow>({
  workspace_id: 'text',
  app_id: 'text',
  device_id: 'text',
  platform: 'text',
  user_id: 'text',
  status: 'text',
  consecutive_bounces: 'integer',
  as_of_ms: epochMs('as_of_ms'),
  ids_at_as_of: 'text[]',
  last_outcome_ms: epochMs('last_outcome_ms'),
  history: 'jsonb',
});
const DEVICE_KEYS = new BulkRows<DeviceKey>({ workspace_id: 'text', app_id: 'text', device_id: 'text' });

export const DELIVERY_DEVICE_COLUMNS = DEVICES.selectList();

// A device's outcomes (dispatch.outcomes.v1) and registrations (token-registry.device-tokens.v1) are on two topics,
// applied by concurrent transactions. `for update` locks only rows that exist: two transactions both seeing a new
// device would both insert it, and the upsert of the later would overwrite the earlier's effect. So every batch first
// claims its devices' keys in `delivery_device_claims` (one row per device ever seen, never read otherwise): an insert
// of a key another open transaction inserted waits for it, and a key already there is locked. Claimed in key order, so
// an outcome batch and a registration batch serialise without deadlock; only then are the devices read.
const CLAIM = `insert into delivery_device_claims (${DEVICE_KEYS.columns()})
  select * from ${DEVICE_KEYS.unnest()} order by ${DEVICE_KEYS.columns()}
  on conflict do nothing`;
const LOCK_CLAIMS = `select 1 from delivery_device_claims
  where (${DEVICE_KEYS.columns()}) in (select * from ${DEVICE_KEYS.unnest()})
  order by ${DEVICE_KEYS.columns()} for update`;
const READ = `select ${DELIVERY_DEVICE_COLUMNS} from delivery_devices
  where (${DEVICE_KEYS.columns()}) in (select * from ${DEVICE_KEYS.unnest()})`;
const UPSERT = `${DEVICES.insert('delivery_devices', DEVICES.recordset())}
  ${DEVICES.onConflictUpdate(['workspace_id', 'app_id', 'device_id'])}`;

export const deliveryOf = (row: DeliveryDeviceRow): DeviceDelivery => ({
  platform: row.platform,
  userId: row.user_id,
  status: row.status,
  consecutiveBounces: row.consecutive_bounces,
  asOf: row.as_of_ms,
  idsAtAsOf: row.ids_at_as_of,
  lastOutcomeAt: row.last_outcome_ms,
  history: row.history.map((e) => ({
    outcome: e.outcome,
    reason: e.reason,
    at: e.at,
    dispatchId: e.dispatch_id,
    eventId: e.event_id,
  })),
});

const rowOf = (ref: DeviceRef, state: DeviceDelivery): DeliveryDeviceRow => ({
  workspace_id: ref.workspaceId,
  app_id: ref.appId,
  device_id: ref.deviceId,
  platform: state.platform,
  user_id: state.userId,
  status: state.status,
  consecutive_bounces: state.consecutiveBounces,
  as_of_ms: state.asOf,
  ids_at_as_of: state.idsAtAsOf,
  last_outcome_ms: state.lastOutcomeAt,
  history: state.history.map((e) => ({
    outcome: e.outcome,
    reason: e.reason,
    at: e.at,
    dispatch_id: e.dispatchId,
    event_id: e.eventId,
  })),
});

export const deviceRefOf = (key: DeviceKey): DeviceRef => ({
  workspaceId: key.workspace_id,
  appId: key.app_id,
  deviceId: key.device_id,
});

const keyOf = (key: DeviceKey) => `${key.workspace_id}\u0000${key.app_id}\u0000${key.device_id}`;

/**
 * The stored devices among `keys` (unknown ones have no row yet), every key — known or not — locked for the transaction
 * through its claim, so that no concurrent batch reads or writes these devices until this one ends.
 */
export async function lockDeliveryDevices(tx: EntityManager, keys: readonly DeviceKey[]): Promise<DeliveryDeviceRow[]> {
  const distinct = distinctBy(keys, keyOf);
  if (!distinct.length) return [];
  const arrays = DEVICE_KEYS.arrays(distinct);
  await tx.query(CLAIM, arrays);
  await tx.query(LOCK_CLAIMS, arrays);
  return tx.query(READ, arrays);
}

export async function upsertDeliveryDevices(
  tx: EntityManager,
  devices: readonly { ref: DeviceRef; state: DeviceDelivery }[],
): Promise<void> {
  if (devices.length) await tx.query(UPSERT, [DEVICES.json(devices.map(({ ref, state }) => rowOf(ref, state)))]);
}
