import { DataSource } from 'typeorm';
import { Topics } from '@push/contracts';
import { serviceUnderTest } from '@push/testing';
import { tokenRegistryService } from '../service';

const TOKEN = 'apns-0123456789abcdef0123456789abcdef';

/** Devices and changelog entries of two workspaces, as the projection would have written them. */
async function seed(dataSource: DataSource) {
  await dataSource.query(
    `insert into devices (workspace_id, app_id, device_id, platform, os_version, user_id, token, token_status,
         foreground_enabled, background_enabled, provisional, last_session_at)
       values ('ws-a', 'ios-app', 'phone-1', 'IOS', '17.4', 'kim', $1, 'active', true, true, false, '2026-11-01T10:00:00Z'),
              ('ws-a', 'web-app', 'browser-1', 'WEB', null, null, null, 'removed', false, false, false, null),
              ('ws-a', 'ios-app', 'identified-only', null, null, 'kim', null, 'none', false, false, false, null)`,
    [TOKEN],
  );
  await dataSource.query(
    `insert into token_changelog (workspace_id, app_id, device_id, token, from_user_id, to_user_id, at, event_id)
       values ('ws-a', 'ios-app', 'phone-1', $1, null, 'charlie', '2026-11-01T09:00:00Z', 'e1'),
              ('ws-a', 'ios-app', 'phone-1', $1, 'charlie', 'kim', '2026-11-01T10:00:00Z', 'e2')`,
    [TOKEN],
  );
}

describe('token-registry HTTP API', () => {
  const service = serviceUnderTest(tokenRegistryService, {
    topics: [Topics.DeviceEvents, Topics.DeviceDelivery, Topics.DeviceTokens],
    partitions: 1,
    env: { API_KEYS: 'key-a=ws-a,key-b=ws-b' },
    seed,
  });
  const asA = { Authorization: 'Bearer key-a' };
  const asB = { Authorization: 'Bearer key-b' };

  it('serves a device in the DESIGN §4 shape with the token masked to its last 6 characters', async () => {
    const response = await service.http().get('/devices/ios-app/phone-1').set(asA);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      workspace_id: 'ws-a',
      app_id: 'ios-app',
      device_id: 'phone-1',
      platform: 'ios',
      os_version: '17.4',
      user_id: 'kim',
      token: '*'.repeat(TOKEN.length - 6) + TOKEN.slice(-6),
      token_status: 'active',
      foreground_enabled: true,
      background_enabled: true,
      provisional: false,
      last_session_at: '2026-11-01T10:00:00.000Z',
    });
  });

  it('answers null token and session for a device without them', async () => {
    const response = await service.http().get('/devices/web-app/browser-1').set(asA);

    expect(response.body).toMatchObject({
      platform: 'web',
      token: null,
      token_status: 'removed',
      last_session_at: null,
      user_id: null,
    });
  });

  it('answers 404 for an unknown device, and for a device of another workspace', async () => {
    expect((await service.http().get('/devices/ios-app/nope').set(asA)).status).toBe(404);
    expect((await service.http().get('/devices/ios-app/phone-1').set(asB)).status).toBe(404);
  });

  it('answers 401 without an API key', async () => {
    expect((await service.http().get('/devices/ios-app/phone-1')).status).toBe(401);
  });

  it('lists the token changelog of a user oldest first, both moves to and from the user, tokens masked', async () => {
    const charlie = await service.http().get('/users/charlie/token-changelog').set(asA);
    const kimInB = await service.http().get('/users/kim/token-changelog').set(asB);

    expect(charlie.status).toBe(200);
    expect(charlie.body.user_id).toBe('charlie');
    expect(
      charlie.body.entries.map((e: { from_user_id: string; to_user_id: string }) => [e.from_user_id, e.to_user_id]),
    ).toEqual([
      [null, 'charlie'],
      ['charlie', 'kim'],
    ]);
    expect(charlie.body.entries[1]).toMatchObject({
      app_id: 'ios-app',
      device_id: 'phone-1',
      at: '2026-11-01T10:00:00.000Z',
    });
    expect(charlie.body.entries[0].token.endsWith(TOKEN.slice(-6))).toBe(true);
    expect(JSON.stringify(charlie.body)).not.toContain(TOKEN);
    expect(kimInB.body.entries).toEqual([]);
  });

  it('answers 400 naming the path parameter (not "(body)") for a blank id', async () => {
    const response = await service.http().get('/devices/ios-app/%20').set(asA);

    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'device_id: must not be blank',
      issues: [{ field: 'device_id', problem: 'must not be blank' }],
    });
  });

  it('answers 400 naming the parameter for an id with a NUL character, never 500', async () => {
    const device = await service.http().get('/devices/app/%00').set(asA);
    const changelog = await service.http().get('/users/a%00b/token-changelog').set(asA);

    expect([device.status, changelog.status]).toEqual([400, 400]);
    expect(device.body.issues).toEqual([{ field: 'device_id', problem: 'must not contain NUL characters' }]);
    expect(changelog.body.issues).toEqual([{ field: 'user_id', problem: 'must not contain NUL characters' }]);
  });

  it('answers 400 for an id longer than any stored one (256 bytes of UTF-8)', async () => {
    const response = await service
      .http()
      .get(`/devices/${'é'.repeat(129)}/phone-1`)
      .set(asA);

    expect(response.status).toBe(400);
    expect(response.body.issues).toEqual([{ field: 'app_id', problem: 'is longer than 256 bytes (UTF-8)' }]);
  });

  it('looks ids up exactly as given: " phone-1" is not phone-1', async () => {
    const spaced = await service.http().get('/devices/ios-app/%20phone-1').set(asA);
    const trailing = await service.http().get('/users/charlie%20/token-changelog').set(asA);

    expect(spaced.status).toBe(404);
    expect(trailing.body).toEqual({ user_id: 'charlie ', entries: [] });
  });

  it('answers 404 for a device no event has named a platform of yet (seen only through ChangeUser, UserLoggedOut or AppUninstalled)', async () => {
    const response = await service.http().get('/devices/ios-app/identified-only').set(asA);

    expect(response.status).toBe(404);
    expect(response.body.message).toBe(
      'device identified-only of app ios-app has no known platform yet: no registration, session or permission change has named one',
    );
  });

  it('documents in OpenAPI that a device always has a platform, and when it is a 404 instead', async () => {
    const operation = (await service.http().get('/docs-json')).body.paths['/devices/{app_id}/{device_id}'].get;

    expect(operation.responses['200'].content['application/json'].schema.properties.platform).toEqual({
      type: 'string',
      enum: ['ios', 'android', 'web'],
    });
    expect(operation.responses['404'].description).toMatch(/no event has named its platform yet/);
    expect(operation.parameters.map((p: { name: string; description: string }) => [p.name, p.description])).toEqual([
      ['app_id', 'exact id, as the SDK sent it (not trimmed); 1 to 256 bytes of UTF-8'],
      ['device_id', 'exact id, as the SDK sent it (not trimmed); 1 to 256 bytes of UTF-8'],
    ]);
  });
});
