import { DataSource } from 'typeorm';

export interface DeviceRow {
  workspace_id: string;
  app_id: string;
  device_id: string;
  platform: 'IOS' | 'ANDROID' | 'WEB' | null;
  os_version: string | null;
  user_id: string | null;
  token: string | null;
  token_status: 'active' | 'none' | 'removed' | 'invalidated';
  foreground_enabled: boolean;
  background_enabled: boolean;
  provisional: boolean;
  last_session_at: Date | null;
}

export interface ChangelogRow {
  app_id: string;
  device_id: string;
  token: string;
  from_user_id: string | null;
  to_user_id: string | null;
  at: Date;
}

/** Reads of the devices read model; every one is scoped to a workspace. */
export class DevicesQueries {
  constructor(private readonly dataSource: DataSource) {}

  async device(workspaceId: string, appId: string, deviceId: string): Promise<DeviceRow | null> {
    const rows: DeviceRow[] = await this.dataSource.query(
      'select * from devices where workspace_id = $1 and app_id = $2 and device_id = $3',
      [workspaceId, appId, deviceId],
    );
    return rows[0] ?? null;
  }

  /** Every move of a token to or from the user, oldest first. */
  async changelog(workspaceId: string, userId: string): Promise<ChangelogRow[]> {
    return this.dataSource.query(
      `select app_id, device_id, token, from_user_id, to_user_id, at from token_changelog
       where workspace_id = $1 and (from_user_id = $2 or to_user_id = $2) order by at, id`,
      [workspaceId, userId],
    );
  }
}
