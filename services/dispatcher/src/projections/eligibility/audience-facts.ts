import type { EntityManager } from 'typeorm';
import type { AudienceFacts, AudienceOf, DeviceFacts, SubscriptionStatus, UserFacts } from '../../domain/dispatch-plan';

type Db = Pick<EntityManager, 'query'>;

interface DeviceRow {
  app_id: string;
  device_id: string;
  platform: DeviceFacts['platform'];
  user_id: string | null;
  token: string | null;
  foreground_enabled: boolean;
  background_enabled: boolean;
  delivery_status: string;
  last_session_at_ms: string | null;
}

const DEVICE_COLUMNS = `app_id, device_id, platform, user_id, token, foreground_enabled, background_enabled,
  delivery_status, last_session_at_ms`;

const factsOf = (row: DeviceRow): DeviceFacts => ({
  app_id: row.app_id,
  device_id: row.device_id,
  platform: row.platform,
  user_id: row.user_id,
  token: row.token,
  foreground_enabled: row.foreground_enabled,
  background_enabled: row.background_enabled,
  suppressed: row.delivery_status === 'SUPPRESSED',
  last_session_at: row.last_session_at_ms === null ? null : Number(row.last_session_at_ms),
});

/**
 * What the read model knows of an audience, for `planDispatch`: the users it may name with their devices (a device no
 * record has named a platform of yet is unknown: nothing can be sent to it) and subscription-state's state — SUBSCRIBED
 * for a user token-registry names and subscription-state has not published yet (S1). A UserAudience loads its users; a
 * SegmentAudience every user of the workspace (the filter is evaluated by @push/segments in the domain); a
 * DeviceAudience its device and that device's user.
 */
export async function loadAudienceFacts(db: Db, workspaceId: string, audience: AudienceOf): Promise<AudienceFacts> {
  if (audience.kind === 'device') {
    const [row]: DeviceRow[] = await db.query(
      `select ${DEVICE_COLUMNS} from eligible_devices
       where workspace_id = $1 and app_id = $2 and device_id = $3 and platform is not null`,
      [workspaceId, audience.app_id, audience.device_id],
    );
    if (!row) return { users: new Map(), device: null };
    const device = factsOf(row);
    if (device.user_id === null) return { users: new Map(), device: { device, user: null } };
    const [state]: { state: SubscriptionStatus }[] = await db.query(
      'select state from eligible_users where workspace_id = $1 and user_id = $2',
      [workspaceId, device.user_id],
    );
    const user = { user_id: device.user_id, subscription: state?.state ?? 'SUBSCRIBED', devices: [device] };
    return { users: new Map(), device: { device, user } };
  }
  const named = audience.kind === 'users' ? [...new Set(audience.user_ids)] : null;
  const states: { user_id: string; state: SubscriptionStatus }[] = await db.query(
    named
      ? 'select user_id, state from eligible_users where workspace_id = $1 and user_id = any($2::text[])'
      : 'select user_id, state from eligible_users where workspace_id = $1',
    named ? [workspaceId, named] : [workspaceId],
  );
  const rows: DeviceRow[] = await db.query(
    named
      ? `select ${DEVICE_COLUMNS} from eligible_devices
         where workspace_id = $1 and user_id = any($2::text[]) and platform is not null`
      : `select ${DEVICE_COLUMNS} from eligible_devices
         where workspace_id = $1 and user_id is not null and platform is not null`,
    named ? [workspaceId, named] : [workspaceId],
  );
  const users = new Map<string, UserFacts & { devices: DeviceFacts[] }>();
  for (const { user_id, state } of states) users.set(user_id, { user_id, subscription: state, devices: [] });
  for (const row of rows) {
    let user = users.get(row.user_id!);
    if (!user) users.set(row.user_id!, (user = { user_id: row.user_id!, subscription: 'SUBSCRIBED', devices: [] }));
    user.devices.push(factsOf(row));
  }
  return { users, device: null };
}
