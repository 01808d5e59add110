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

export const AUDIENCE_GROUP = 'segmentation.audience';

/**
 * segmentation's projection: the published facts of token-registry, subscription-state and bounce-processor into
 * `audience_users` and `audience_devices`, in the batch's transaction (exactly once with the offsets). Each owner's
 * records are in order per key (a device's on one partition, a user's on one partition), so the latest record applied
 * is the owner's current fact; applying the same log again ends in the same rows.
 */
@ProjectionController(AUDIENCE_GROUP)
export class AudienceProjection {
  @ProjectionHandler(Topics.DeviceTokens, Topics.UserSubscriptions, Topics.DeviceDelivery)
  async apply(consumed: ConsumedEvent<Consumed>[], { tx }: ProjectionContext): Promise<void> {
    const events = consumed.map(({ event }) => event as AudienceInput);
    const deviceRecords = events.filter(isDeviceStateRecord);
    const devices = await lockDevices(tx, deviceRecords);
    // The users whose view the batch may change: a device's owner before (it may lose its token, or its last device
    // and so stop being a user) and after, and each user whose state is published.
    const changed = new Map<string, { workspace_id: string; user_id: string }>();
    const mayChange = (workspace_id: string, user_id: string | null) => {
      if (user_id !== null) changed.set(`${workspace_id}\u0000${user_id}`, { workspace_id, user_id });
    };
    for (const device of devices.values()) mayChange(device.workspace_id, device.user_id);
    const users = new Map<string, AudienceUser>();
    for (const event of events) {
      if (event.type === 'SubscriptionStateChanged') {
        const { workspace_id, user_id, state, opted_in_at } = event.data;
        users.set(`${workspace_id}\u0000${user_id}`, { workspace_id, user_id, state, opted_in_at_ms: opted_in_at });
        mayChange(workspace_id, user_id);
      } else if (isDeviceStateRecord(event)) applyDeviceStateRecord(devices.get(deviceKeyOf(event.data))!, event);
    }
    for (const device of devices.values()) mayChange(device.workspace_id, device.user_id);
    // The workspaces' new versions, in the batch's transaction (a cached index of an older version is stale), taken
    // after the devices are locked and before any user row is written: every batch locks in that order (no deadlock),
    // and the batches of one workspace commit in the order of their versions, so a snapshot of version v has all
    // changes up to v and none after.
    const workspaces = [...new Set(events.map((event) => event.data.workspace_id))].sort();
    const versions = new Map<string, string>(
      ((await tx.query(BUMP_VERSIONS, [workspaces])) as { workspace_id: string; version: string }[]).map((r) => [
        r.workspace_id,
        r.version,
      ]),
    );
    if (users.size > 0) await tx.query(UPSERT_USERS, USERS.arrays(inKeyOrder(users)));
    if (devices.size > 0) await tx.query(UPDATE_DEVICES, DEVICES.arrays(devices.values()));
    if (changed.size > 0) {
      const rows = inKeyOrder(changed).map((u) => ({ ...u, changed_seq: versions.get(u.workspace_id)! }));
      await tx.query(UPSERT_CHANGES, CHANGES.arrays(rows));
    }
    if (devices.size > 0) {
      const apps = distinctBy([...devices.values()], (d) => `${d.workspace_id}\u0000${d.app_id}`);
      await tx.query(INSERT_APPS, APPS.arrays(apps));
    }
  }
}

type AudienceInput = DeviceTokenEvent | UserSubscriptionEvent | DeviceDeliveryEvent;
/** The records that change a device's row: token-registry's, and bounce-processor's status. */

interface AudienceUser {
  workspace_id: string;
  user_id: string;
  state: string;
  opted_in_at_ms: number | null;
}

/** A device's row: its key and the owners' state of it (`PublishedDeviceState`, folded by the contract's fold). */
interface AudienceDevice extends PublishedDeviceState {
  workspace_id: string;
  app_id: string;
  device_id: string;
}

const USERS = new BulkRows<AudienceUser>({
  workspace_id: 'text',
  user_id: 'text',
  state: 'text',
  opted_in_at_ms: 'bigint',
});
const UPSERT_USERS = `${USERS.insert('audience_users', USERS.unnest())} ${USERS.onConflictUpdate(['workspace_id', 'user_id'])}`;

const BUMP_VERSIONS = `insert into audience_versions (workspace_id, version) select w, 1 from unnest($1::text[]) as w
  on conflict (workspace_id) do update set version = audience_versions.version + 1
  returning workspace_id, version`;

const CHANGES = new BulkRows<{ workspace_id: string; user_id: string; changed_seq: string }>({
  workspace_id: 'text',
  user_id: 'text',
  changed_seq: 'bigint',
});
/** Each user the batch may change, at its workspace's new version (the index's catch-up reads these). */
const UPSERT_CHANGES = `${CHANGES.insert('audience_user_changes', CHANGES.unnest())} ${CHANGES.onConflictUpdate(['workspace_id', 'user_id'])}`;

const APPS = new BulkRows<{ workspace_id: string; app_id: string }>({ workspace_id: 'text', app_id: 'text' });
const INSERT_APPS = `${APPS.insert('audience_apps', APPS.unnest())} on conflict do nothing`;

const DEVICES = new BulkRows<AudienceDevice>({
  workspace_id: 'text',
  app_id: 'text',
  device_id: 'text',
  platform: 'text',
  user_id: 'text',
  token: 'text',
  foreground_enabled: 'boolean',
  background_enabled: 'boolean',
  delivery_status: 'text',
});
const DEVICE_KEYS = new BulkRows<Pick<AudienceDevice, 'workspace_id' | 'app_id' | 'device_id'>>({
  workspace_id: 'text',
  app_id: 'text',
  device_id: 'text',
});
/** A device row for every key not stored yet (the table's defaults), so that each one can be locked. */
const INSERT_MISSING_DEVICES = `${DEVICE_KEYS.insert('audience_devices', DEVICE_KEYS.unnest())} on conflict do nothing`;
/**
 * The batch's devices, locked in key order: a device's token-registry and bounce-processor records are on two topics,
 * and the partitions of both may be applied at once; each batch reads, changes and writes back whole rows.
 */
const LOCK_DEVICES = `select ${DEVICES.selectList()} from audience_devices
  where (workspace_id, app_id, device_id) in (select * from ${DEVICE_KEYS.unnest()})
  order by workspace_id, app_id, device_id for update`;
const UPDATE_DEVICES = `update audience_devices d set
    platform = r.platform, user_id = r.user_id, token = r.token, foreground_enabled = r.foreground_enabled,
    background_enabled = r.background_enabled, delivery_status = r.delivery_status
  from ${DEVICES.unnest()}
  where d.workspace_id = r.workspace_id and d.app_id = r.app_id and d.device_id = r.device_id`;

const deviceKeyOf = (d: { workspace_id: string; app_id: string; device_id: string }) =>
  `${d.workspace_id}\u0000${d.app_id}\u0000${d.device_id}`;

/** The stored rows of the devices the batch's records name, created where missing, locked for the transaction. */
async function lockDevices(
  tx: EntityManager,
  records: readonly DeviceStateRecord[],
): Promise<Map<string, AudienceDevice>> {
  // In key order, so that two batches creating or locking the same devices wait for each other, never deadlock.
  const keys = distinctBy(
    records.map(({ data: { workspace_id, app_id, device_id } }) => ({ workspace_id, app_id, device_id })),
    deviceKeyOf,
  ).sort((a, b) => (deviceKeyOf(a) < deviceKeyOf(b) ? -1 : 1));
  const devices = new Map<string, AudienceDevice>();
  if (keys.length === 0) return devices;
  const parameters = DEVICE_KEYS.arrays(keys);
  await tx.query(INSERT_MISSING_DEVICES, parameters);
  for (const row of (await tx.query(LOCK_DEVICES, parameters)) as AudienceDevice[]) devices.set(deviceKeyOf(row), row);
  return devices;
}
