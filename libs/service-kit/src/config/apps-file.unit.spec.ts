import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SERVICE_CONFIG } from '../tokens';
import { AppsFile, AppsFileError, AppsFileModule } from './apps-file';
import { ConfigError, loadConfig } from './load-config';

const ios = {
  workspace_id: 'acme',
  app_id: 'ios-app',
  name: 'Acme for iPhone',
  platform: 'ios',
  opt_in_when_push_authorized: true,
  apns: { team_id: 'TEAM', key_id: 'KEY', key_file: '/keys/apns.p8', topic: 'com.acme.app' },
};
const android = { workspace_id: 'acme', app_id: 'android-app', platform: 'android', fcm: { project_id: 'acme-fcm' } };
const web = {
  workspace_id: 'acme',
  app_id: 'web-app',
  platform: 'web',
  opt_in_when_push_authorized: false,
  webpush: { vapid_public_key: 'BPUB', vapid_private_key: 'super-secret-vapid', subject: 'mailto:ops@acme.test' },
};

function problemsOf(json: unknown): string[] {
  try {
    AppsFile.parse(json);
  } catch (error) {
    expect(error).toBeInstanceOf(AppsFileError);
    expect(error).toBeInstanceOf(ConfigError); // runService exits 1 with the message, like a bad variable
    return (error as AppsFileError).problems;
  }
  throw new Error('expected an AppsFileError');
}

describe('apps file (APPS_CONFIG, DESIGN §6)', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'apps-file-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every app with the defaults of the optional fields', () => {
    const file = AppsFile.parse({ apps: [ios, android, web] });

    expect(file.app('acme', 'ios-app')).toEqual({
      ...ios,
      apns: { ...ios.apns, production: false, host: null, port: null },
      fcm: null,
      webpush: null,
    });
    expect(file.app('acme', 'android-app')).toMatchObject({
      name: null,
      opt_in_when_push_authorized: true,
      fcm: { project_id: 'acme-fcm', service_account_file: null, endpoint: null },
    });
    expect(file.app('acme', 'web-app')?.opt_in_when_push_authorized).toBe(false);
    expect(file.app('other-workspace', 'ios-app')).toBeUndefined();
    expect(file.apps).toHaveLength(3);
  });

  it('keeps a fake provider server (apns host/port, fcm endpoint)', () => {
    const file = AppsFile.parse({
      apps: [
        { ...ios, apns: { ...ios.apns, host: '127.0.0.1', port: 8443, production: true } },
        { ...android, fcm: { project_id: 'p', endpoint: 'https://127.0.0.1:8444' } },
      ],
    });

    expect(file.app('acme', 'ios-app')?.apns).toMatchObject({ host: '127.0.0.1', port: 8443, production: true });
    expect(file.app('acme', 'android-app')?.fcm?.endpoint).toBe('https://127.0.0.1:8444');
  });

  it("requires only the block of the app's platform, and names the missing one", () => {
    expect(problemsOf({ apps: [{ ...ios, apns: undefined }] })).toEqual([
      'APPS_CONFIG apps[0].apns: is required for platform ios',
    ]);
    expect(problemsOf({ apps: [web, { ...android, fcm: null }] })).toEqual([
      'APPS_CONFIG apps[1].fcm: is required for platform android',
    ]);
  });

  it('names the index and the field of every problem, all at once', () => {
    const problems = problemsOf({
      apps: [
        { ...ios, app_id: '', apns: { ...ios.apns, key_id: undefined, port: 70000 } },
        { ...android, platform: 'windows' },
        { ...web, opt_in_when_push_authorized: 'yes', webpush: { ...web.webpush, subject: 'ops@acme.test' } },
      ],
    });

    expect(problems).toEqual([
      'APPS_CONFIG apps[0].app_id: must not be empty',
      'APPS_CONFIG apps[0].apns.key_id: is required',
      'APPS_CONFIG apps[0].apns.port: expected an integer 1-65535',
      'APPS_CONFIG apps[1].platform: expected one of ios|android|web, got "windows"',
      'APPS_CONFIG apps[2].opt_in_when_push_authorized: expected true or false',
      'APPS_CONFIG apps[2].webpush.subject: expected a mailto: or https:// URL',
    ]);
  });

  it('refuses unknown fields (a misspelt switch would otherwise be ignored)', () => {
    expect(problemsOf({ apps: [{ ...ios, opt_in_when_push_authorised: false }] })).toEqual([
      'APPS_CONFIG apps[0]: unknown field "opt_in_when_push_authorised"',
    ]);
  });

  it('refuses a file that is not {"apps": [...]}', () => {
    expect(problemsOf([ios])).toEqual(['APPS_CONFIG (file): expected an object {"apps": [...]}']);
    expect(problemsOf({})).toEqual(['APPS_CONFIG apps: is required']);
    expect(problemsOf({ apps: [ios, 'android-app'] })).toEqual(['APPS_CONFIG apps[1]: expected an object']);
  });

  it('refuses an app listed twice in a workspace, naming both entries', () => {
    expect(problemsOf({ apps: [ios, android, { ...ios, name: 'again' }] })).toEqual([
      'APPS_CONFIG apps[2]: app "ios-app" of workspace "acme" is already listed at apps[0]',
    ]);
    expect(AppsFile.parse({ apps: [ios, { ...ios, workspace_id: 'globex' }] }).apps).toHaveLength(2);
  });

  it('never echoes a secret value in a problem', () => {
    const problems = problemsOf({
      apps: [{ ...web, webpush: { ...web.webpush, vapid_private_key: 12345, subject: 'super-secret-vapid' } }],
    });

    expect(problems.join('\n')).not.toContain('super-secret-vapid');
    expect(problems.join('\n')).not.toContain('12345');
    expect(problems).toContain('APPS_CONFIG apps[0].webpush.vapid_private_key: expected a string');
  });

  it('loads the file, resolving relative key files against its folder', () => {
    const path = join(dir, 'apps.json');
    writeFileSync(
      path,
      JSON.stringify({
        apps: [
          { ...ios, apns: { ...ios.apns, key_file: 'keys/apns.p8' } },
          { ...android, fcm: { project_id: 'p', service_account_file: 'fcm.json' } },
        ],
      }),
    );

    const file = AppsFile.load(path);

    expect(file.app('acme', 'ios-app')?.apns?.key_file).toBe(join(dir, 'keys/apns.p8'));
    expect(file.app('acme', 'android-app')?.fcm?.service_account_file).toBe(join(dir, 'fcm.json'));
  });

  it('names the file when it is missing, not JSON or invalid', () => {
    const missing = join(dir, 'missing.json');
    expect(() => AppsFile.load(missing)).toThrow(`APPS_CONFIG: cannot read ${missing} (ENOENT)`);

    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"apps": [ {"vapid_private_key": "super-secret-vapid" ');
    expect(() => AppsFile.load(broken)).toThrow(`APPS_CONFIG: ${broken} is not valid JSON`);
    expect(() => AppsFile.load(broken)).not.toThrow('super-secret-vapid');

    const invalid = join(dir, 'invalid.json');
    writeFileSync(invalid, JSON.stringify({ apps: [{ ...ios, apns: undefined }] }));
    expect(() => AppsFile.load(invalid)).toThrow(`APPS_CONFIG (${invalid}) apps[0].apns: is required for platform ios`);
  });

  it('is a file without apps when APPS_CONFIG is unset', () => {
    expect(AppsFile.load(null).apps).toEqual([]);
  });

  it("is injectable: AppsFileModule loads the service's APPS_CONFIG once", async () => {
    const path = join(dir, 'injected.json');
    writeFileSync(path, JSON.stringify({ apps: [web] }));
    // As ServiceKitModule does: SERVICE_CONFIG from a global module.
    @Global()
    @Module({
      providers: [{ provide: SERVICE_CONFIG, useValue: loadConfig('dispatcher', undefined, { APPS_CONFIG: path }) }],
      exports: [SERVICE_CONFIG],
    })
    class KitModule {}
    @Module({ imports: [KitModule, AppsFileModule] })
    class ServiceModule {}
    const app = await NestFactory.createApplicationContext(ServiceModule, { logger: false, abortOnError: false });

    try {
      expect(app.get(AppsFile).app('acme', 'web-app')?.platform).toBe('web');
    } finally {
      await app.close();
    }
  });
});
