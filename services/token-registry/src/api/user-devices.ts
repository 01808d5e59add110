import { DataSource } from 'typeorm';
import { maskToken } from '@push/service-kit';

interface UserDeviceRow {
  app_id: string;
  device_id: string;
  platform: 'IOS' | 'ANDROID' | 'WEB';
  os_version: string | null;
  token: string | null;
  token_status: 'active' | 'none' | 'removed' | 'invalidated';
  foreground_enabled: boolean;
  background_enabled: boolean;
  provisional: boolean;
  last_session_at: Date | null;
  push_permission: 'AUTHORIZED' | 'DENIED' | 'PROVISIONAL' | 'NOT_DETERMINED' | null;
  capability_as_of_ms: number | null;
  provider_reason: string | null;
  provider_timestamp: Date | null;
  invalidated_at: Date | null;
}

/**
 * The user's devices now (`devices_by_user`), every platform-known device whose user is this one — also one whose only
 * token was invalidated before it was ever assigned (T8). The tombstone of an invalidated token gives the provider's
 * reason.
 */
const USER_DEVICES = `
  select d.app_id, d.device_id, d.platform, d.os_version, d.token, d.token_status, d.foreground_enabled,
         d.background_enabled, d.provisional, d.last_session_at, d.push_permission,
         d.capability_as_of_ms::float8 as capability_as_of_ms,
         t.provider_reason, t.provider_timestamp, t.invalidated_at
  from devices d
  left join token_tombstones t
    on d.token_status = 'invalidated' and t.workspace_id = d.workspace_id and t.app_id = d.app_id and t.token = d.token
  where d.workspace_id = $1 and d.user_id = $2 and d.platform is not null
  order by d.last_session_at desc nulls last, d.app_id, d.device_id`;

const iso = (date: Date | null) => date?.toISOString() ?? null;

/** `GET /users/{user_id}/devices`: the user's devices in the API's shape (tokens masked). */
export async function userDevices(dataSource: DataSource, workspaceId: string, userId: string) {
  const rows: UserDeviceRow[] = await dataSource.query(USER_DEVICES, [workspaceId, userId]);
  return {
    user_id: userId,
    devices: rows.map((row) => ({
      app_id: row.app_id,
      device_id: row.device_id,
      platform: row.platform.toLowerCase(),
      os_version: row.os_version,
      token: maskToken(row.token),
      token_status: row.token_status,
      foreground_enabled: row.foreground_enabled,
      background_enabled: row.background_enabled,
      provisional: row.provisional,
      last_session_at: iso(row.last_session_at),
      push_permission: row.push_permission?.toLowerCase() ?? null,
      permission_seen_at: row.capability_as_of_ms === null ? null : new Date(row.capability_as_of_ms).toISOString(),
      invalidated:
        row.token_status === 'invalidated' && row.invalidated_at
          ? {
              provider_reason: row.provider_reason,
              provider_timestamp: iso(row.provider_timestamp),
              at: iso(row.invalidated_at),
            }
          : null,
    })),
  };
}
