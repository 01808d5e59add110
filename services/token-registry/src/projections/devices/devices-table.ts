import type { EntityManager } from 'typeorm';
import { BulkRows, distinctBy } from '@push/service-kit';
import { DeviceState, reachability } from '../../domain/device-state';
import type { DeviceRef } from '../../domain/token-registry';

/** The key of a `devices` row. */
export interface DeviceKey {
  workspace_id: string;
  app_id: string;
  device_id: string;
}

/** A `devices` row as `STORED_DEVICE_COLUMNS` selects it: the domain's `DeviceState`, column by column. */
export interface StoredDevice extends DeviceKey {
  platform: DeviceState['platform'];
  os_version: string | null;
  push_permission: DeviceState['permission'];
  capability_as_of_ms: number | null;
  user_id: string | null;
  user_as_of_ms: number | null;
  token: string | null;
  token_status: DeviceState['tokenStatus'];
  token_as_of_ms: number | null;
  token_registered_at_ms: number | null;
  last_session_ms: number | null;
  applied_event_at_ms: number[];
  applied_event_ids: string[];
}

/** A `devices` row as the store writes it: the state, and what the HTTP API answers of its reachability (T5). */
interface DeviceRecord extends StoredDevice {
  foreground_enabled: boolean;
  background_enabled: boolean;
  provisional: boolean;
}

/** An epoch-milliseconds column (bigint), read as float8 so that it arrives as a JS number, not a string. */
const epochMs = (column: string) => ({ type: 'bigint', select: `${column}::float8` });

/** The one column map of `devices`: the select list, the upsert and its JSON parameter are generated from it. */
const DEVICES = new BulkRows<DeviceRecord>({
  workspace_id: 'text',
  app_id: 'text',
  device_id: 'text',
  platform: 'text',
  os_version: 'text',
  push_permission: 'text',
  capability_as_of_ms: epochMs('capability_as_of_ms'),
  user_id: 'text',
  user_as_of_ms: epochMs('user_as_of_ms'),
  token: 'text',
  token_status: 'text',
  token_as_of_ms: epochMs('token_as_of_ms'),
  token_registered_at_ms: epochMs('token_registered_at_ms'),
  last_session_ms: {
    type: 'bigint',
    column: 'last_session_at',
    select: '(extract(epoch from last_session_at) * 1000)::float8',
    insert: 'to_timestamp(last_session_ms / 1000.0)',
  },
  applied_event_at_ms: { type: 'bigint[]', select: 'applied_event_at_ms::float8[]' },
  applied_event_ids: 'text[]',
  // Derived from the state (the domain's `reachability`): written for the HTTP API, never read back.
  foreground_enabled: { type: 'boolean', select: null },
  background_enabled: { type: 'boolean', select: null },
  provisional: { type: 'boolean', select: null },
});
const DEVICE_KEYS = new BulkRows<DeviceKey>({ workspace_id: 'text', app_id: 'text', device_id: 'text' });

/** The columns of a `devices` row that hold a `DeviceState`, as a select list giving a `StoredDevice`. */
export const STORED_DEVICE_COLUMNS = DEVICES.selectList();

// Locked in key order so that concurrent partitions lock shared rows in the same order.
const LOCK = `select ${STORED_DEVICE_COLUMNS} from devices
  where (${DEVICE_KEYS.columns()}) in (select * from ${DEVICE_KEYS.unnest()})
  order by ${DEVICE_KEYS.columns()} for update`;
// One JSON parameter: V8 serialises it natively, where pg would escape every element of thirteen text arrays.
const UPSERT = `${DEVICES.insert('devices', DEVICES.recordset())}
  ${DEVICES.onConflictUpdate(['workspace_id', 'app_id', 'device_id'])}`;

export const stateOf = (row: StoredDevice): DeviceState => ({
  platform: row.platform,
  osVersion: row.os_version,
  permission: row.push_permission,
  capabilityAsOf: row.capability_as_of_ms,
  userId: row.user_id,
  userAsOf: row.user_as_of_ms,
  token: row.token,
  tokenStatus: row.token_status,
  tokenAsOf: row.token_as_of_ms,
  tokenRegisteredAt: row.token_registered_at_ms,
  lastSessionAt: row.last_session_ms,
  appliedAsOf: row.applied_event_ids.map((eventId, i) => ({ at: row.applied_event_at_ms[i], eventId })),
});

function recordOf(ref: DeviceRef, state: DeviceState): DeviceRecord {
  const reach = reachability(state);
  return {
    workspace_id: ref.workspaceId,
    app_id: ref.appId,
    device_id: ref.deviceId,
    platform: state.platform,
    os_version: state.osVersion,
    push_permission: state.permission,
    capability_as_of_ms: state.capabilityAsOf,
    user_id: state.userId,
    user_as_of_ms: state.userAsOf,
    token: state.token,
    token_status: state.tokenStatus,
    token_as_of_ms: state.tokenAsOf,
    token_registered_at_ms: state.tokenRegisteredAt,
    last_session_ms: state.lastSessionAt,
    applied_event_at_ms: state.appliedAsOf.map((e) => e.at),
    applied_event_ids: state.appliedAsOf.map((e) => e.eventId),
    foreground_enabled: reach.foregroundEnabled,
    background_enabled: reach.backgroundEnabled,
    provisional: reach.provisional,
  };
}

export const deviceRefOf = (key: DeviceKey): DeviceRef => ({
  workspaceId: key.workspace_id,
  appId: key.app_id,
  deviceId: key.device_id,
});

const deviceKeyOf = (key: DeviceKey) => `${key.workspace_id}\u0000${key.app_id}\u0000${key.device_id}`;

/** Reads the stored devices among `keys` (unknown ones have no row yet), locked for the transaction. */
export async function lockDevices(tx: EntityManager, keys: readonly DeviceKey[]): Promise<StoredDevice[]> {
  const distinct = distinctBy(keys, deviceKeyOf);
  return distinct.length ? tx.query(LOCK, DEVICE_KEYS.arrays(distinct)) : [];
}

/** Writes the devices' rows (inserted or updated as a whole). */
export async function upsertDevices(
  tx: EntityManager,
  devices: readonly { ref: DeviceRef; state: DeviceState }[],
): Promise<void> {
  if (devices.length) await tx.query(UPSERT, [DEVICES.json(devices.map(({ ref, state }) => recordOf(ref, state)))]);
}
