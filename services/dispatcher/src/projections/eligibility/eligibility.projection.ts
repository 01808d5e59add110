import {
  DeviceDeliveryEvent,
  DeviceStateRecord,
  DeviceTokenEvent,
  PublishedDeviceState,
  Topics,
  UserSubscriptionEvent,
  applyDeviceStateRecord,
  isDeviceStateRecord,
} from '@push/contracts';
import type { ConsumedEvent } from '@push/event-bus';
import {
  BulkRows,
  ProjectionContext,
  ProjectionController,
  ProjectionHandler,
  distinctBy,
  inKeyOrder,
} from '@push/service-kit';
import type { EntityManager } from 'typeorm';

type Consumed = typeof Topics.DeviceTokens | typeof Topics.UserSubscriptions | typeof Topics.DeviceDelivery;

export const ELIGIBILITY_GROUP = 'dispatcher.eligibility';

/**
 * The owners' published facts into `eligible_users` and `eligible_devices`, in the batch's transaction (exactly once
 * with the offsets): token-registry's device records, subscription-state's user states, bounce-processor's delivery
 * status. Each owner's records are in order per key (a device's on one partition, a user's on one partition), so the
 * latest record applied is the owner's current fact; the same log applied again ends in the same rows. No rule is
 * re-derived here: the columns are what the owners published.
 */
@ProjectionController(ELIGIBILITY_GROUP)
export class EligibilityProjection {
  @ProjectionHandler(Topics.DeviceTokens, Topics.UserSubscriptions, Topics.DeviceDelivery)
  async apply(consumed: ConsumedEvent<Consumed>[], { tx }: ProjectionContext): Promise<void> {
    const events = consumed.map(({ event }) => event as EligibilityInput);
    const devices = await lockDevices(tx, events.filter(isDeviceStateRecord));
    const users = new Map<string, EligibleUser>();
    for (const event of events) {
      if (event.type === 'SubscriptionStateChanged') {
        const { workspace_id, user_id, state } = event.data;
        users.set(`${workspace_id}\u0000${user_id}`, { workspace_id, user_id, state });
      } else if (isDeviceStateRecord(event)) applyDeviceFact(devices.get(deviceKeyOf(event.data))!, event);
    }
    if (users.size > 0) await tx.query(UPSERT_USERS, USERS.arrays(inKeyOrder(users)));
    if (devices.size > 0) await tx.query(UPDATE_DEVICES, DEVICES.arrays(devices.values()));
  }
}

type EligibilityInput = DeviceTokenEvent | UserSubscriptionEvent | DeviceDeliveryEvent;
/** The records that change a device's row: token-registry's, and bounce-processor's status. */

interface EligibleUser {
  workspace_id: string;
  user_id: string;
  state: string;
}

/** A device's row: its key and the owners' state of it (`PublishedDeviceState`, folded by the contract's fold). */
interface EligibleDevice extends PublishedDeviceState {
  workspace_id: string;
  app_id: string;
  device_id: string;
  last_session_at_ms: number | null;
}

const USERS = new BulkRows<EligibleUser>({ workspace_id: 'text', user_id: 'text', state: 'text' });
const UPSERT_USERS = `${USERS.insert('eligible_users', USERS.unnest())} ${USERS.onConflictUpdate(['workspace_id', 'user_id'])}`;

const DEVICES = new BulkRows<EligibleDevice>({
  workspace_id: 'text',
  app_id: 'text',
  device_id: 'text',
  platform: 'text',
  user_id: 'text',
  token: 'text',
  foreground_enabled: 'boolean',
  background_enabled: 'boolean',
  delivery_status: 'text',
  last_session_at_ms: 'bigint',
});
const DEVICE_KEYS = new BulkRows<Pick<EligibleDevice, 'workspace_id' | 'app_id' | 'device_id'>>({
  workspace_id: 'text',
  app_id: 'text',
  device_id: 'text',
});
/** A device row for every key not stored yet (the table's defaults), so that each one can be locked. */
const INSERT_MISSING_DEVICES = `${DEVICE_KEYS.insert('eligible_devices', DEVICE_KEYS.unnest())} on conflict do nothing`;
/**
 * The batch's devices, locked in key order: a device's token-registry and bounce-processor records are on two topics,
 * and the partitions of both may be applied at once; each batch reads, changes and writes back whole rows.
 */
const LOCK_DEVICES = `select ${DEVICES.selectList()} from eligible_devices
  where (workspace_id, app_id, device_id) in (select * from ${DEVICE_KEYS.unnest()})
  order by workspace_id, app_id, device_id for update`;
const UPDATE_DEVICES = `update eligible_devices d set
    platform = r.platform, user_id = r.user_id, token = r.token, foreground_enabled = r.foreground_enabled,
    background_enabled = r.background_enabled, delivery_status = r.delivery_status,
    last_session_at_ms = r.last_session_at_ms
  from ${DEVICES.unnest()}
  where d.workspace_id = r.workspace_id and d.app_id = r.app_id and d.device_id = r.device_id`;

const deviceKeyOf = (d: { workspace_id: string; app_id: string; device_id: string }) =>
  `${d.workspace_id}\u0000${d.app_id}\u0000${d.device_id}`;

/** The stored rows of the devices the batch's records name, created where missing, locked for the transaction. */
async function lockDevices(
  tx: EntityManager,
  records: readonly DeviceStateRecord[],
): Promise<Map<string, EligibleDevice>> {
  // In key order, so that two batches creating or locking the same devices wait for each other, never deadlock.
  const keys = distinctBy(
    records.map(({ data: { workspace_id, app_id, device_id } }) => ({ workspace_id, app_id, device_id })),
    deviceKeyOf,
  ).sort((a, b) => (deviceKeyOf(a) < deviceKeyOf(b) ? -1 : 1));
  const devices = new Map<string, EligibleDevice>();
  if (keys.length === 0) return devices;
  const parameters = DEVICE_KEYS.arrays(keys);
  await tx.query(INSERT_MISSING_DEVICES, parameters);
  for (const row of (await tx.query(LOCK_DEVICES, parameters)) as EligibleDevice[]) {
    row.last_session_at_ms = row.last_session_at_ms === null ? null : Number(row.last_session_at_ms);
    devices.set(deviceKeyOf(row), row);
  }
  return devices;
}

/**
 * One published record applied to its device's row: the owners' published state (`applyDeviceStateRecord`, shared
 * with segmentation), and the last session, the latest `DeviceSessionRecorded` (D4).
 */
function applyDeviceFact(device: EligibleDevice, event: DeviceStateRecord): void {
  applyDeviceStateRecord(device, event);
  if (event.type === 'DeviceSessionRecorded')
    device.last_session_at_ms = Math.max(device.last_session_at_ms ?? event.data.occurred_at, event.data.occurred_at);
}
