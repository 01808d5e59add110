import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * An apps file (DESIGN §6) for the core's specs, written to a temporary folder: `ios-app`, `android-app` and `web-app`
 * of the given workspaces. The provider double never reads the credentials; the paths only have to be well formed.
 */
export function writeAppsFile(workspaces: readonly string[]): string {
  const folder = mkdtempSync(join(tmpdir(), 'dispatcher-apps-'));
  const apps = workspaces.flatMap((workspace_id) => [
    {
      workspace_id,
      app_id: 'ios-app',
      platform: 'ios',
      apns: { team_id: 'TEAM123456', key_id: 'KEY1234567', key_file: 'apns.p8', topic: 'com.example.app' },
    },
    { workspace_id, app_id: 'android-app', platform: 'android', fcm: { project_id: 'example-project' } },
    {
      workspace_id,
      app_id: 'web-app',
      platform: 'web',
      webpush: { vapid_public_key: 'public', vapid_private_key: 'private', subject: 'mailto:ops@example.com' },
    },
  ]);
  const path = join(folder, 'apps.json');
  writeFileSync(path, JSON.stringify({ apps }));
  return path;
}
