import { MessageKeys, Topics } from '@push/contracts';
import { deviceTokenEvents, serviceUnderTest, subscriptionEvents } from '@push/testing';
import { AUDIENCE_GROUP } from '../projections/audience/audience.projection';
import { segmentationService } from '../service';

jest.setTimeout(60_000);

const acme = { Authorization: 'Bearer key-acme' };
const globex = { Authorization: 'Bearer key-globex' };
const iphone = { workspace_id: 'acme', app_id: 'ios-app', device_id: 'iphone' };
const globexPhone = { workspace_id: 'globex', app_id: 'ios-app', device_id: 'iphone' };

const subscribed = (workspace_id: string, user_id: string) =>
  subscriptionEvents.stateChanged({ workspace_id, user_id }, 1000, 'SUBSCRIBED');
const tokenAssigned = (device: typeof iphone, user_id: string, token = `apns-${device.workspace_id}`) =>
  deviceTokenEvents.tokenAssigned(device, 1100, token, { user_id });

/** segmentation's HTTP API running as a service: the owners' records in through the broker. */
describe('segmentation HTTP API (real Kafka and Postgres)', () => {
  const service = serviceUnderTest(segmentationService, {
    topics: [Topics.DeviceTokens, Topics.UserSubscriptions, Topics.DeviceDelivery],
    env: { API_KEYS: 'key-acme=acme,key-globex=globex,key-initech=initech' },
  });
  const size = (body: unknown, headers: Record<string, string> = acme) =>
    service
      .http()
      .post('/segments/size')
      .set(headers)
      .send(body as object);

  beforeAll(async () => {
    await service.publish(
      Topics.UserSubscriptions,
      [subscribed('acme', 'kim'), subscribed('acme', 'lee'), subscribed('globex', 'kim')].map((event) => ({
        key: MessageKeys.user(event.data.workspace_id, event.data.user_id),
        event,
      })),
    );
    const devices = [
      deviceTokenEvents.pushCapabilityChanged(iphone, 1000, { user_id: 'kim' }),
      tokenAssigned(iphone, 'kim'),
      deviceTokenEvents.pushCapabilityChanged(globexPhone, 1000, { user_id: 'kim' }),
      tokenAssigned(globexPhone, 'kim'),
    ];
    await service.publish(
      Topics.DeviceTokens,
      devices.map((event) => ({
        key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
        event,
      })),
    );
    await service.publish(
      Topics.UserSubscriptions,
      [
        subscriptionEvents.stateChanged({ workspace_id: 'initech', user_id: 'ana' }, 1000, 'SUBSCRIBED'),
        subscriptionEvents.stateChanged({ workspace_id: 'initech', user_id: 'ben' }, 1000, 'UNSUBSCRIBED'),
        subscriptionEvents.stateChanged({ workspace_id: 'initech', user_id: 'cat' }, 1000, 'OPTED_IN'),
      ].map((event) => ({ key: MessageKeys.user(event.data.workspace_id, event.data.user_id), event })),
    );
    // ana: iOS, notifications allowed; ben: Android, allowed; cat: iOS with notifications denied (background only).
    const anaPhone = { workspace_id: 'initech', app_id: 'ios-app', device_id: 'ana-phone' };
    const benPhone = { workspace_id: 'initech', app_id: 'android-app', device_id: 'ben-phone' };
    const catPhone = { workspace_id: 'initech', app_id: 'ios-app', device_id: 'cat-phone' };
    const initech = [
      deviceTokenEvents.pushCapabilityChanged(anaPhone, 1000, { user_id: 'ana' }),
      tokenAssigned(anaPhone, 'ana', 'apns-ana'),
      deviceTokenEvents.pushCapabilityChanged(benPhone, 1000, {
        user_id: 'ben',
        platform: 'ANDROID',
        os_version: '14',
      }),
      deviceTokenEvents.tokenAssigned(benPhone, 1100, 'fcm-ben', { user_id: 'ben', platform: 'ANDROID' }),
      deviceTokenEvents.pushCapabilityChanged(catPhone, 1000, { user_id: 'cat', permission: 'DENIED' }),
      tokenAssigned(catPhone, 'cat', 'apns-cat'),
    ];
    await service.publish(
      Topics.DeviceTokens,
      initech.map((event) => ({
        key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
        event,
      })),
    );
    await service.waitUntilApplied(AUDIENCE_GROUP);
  });

  /** The filter's size is exactly `users`, and each of ana, ben and cat is in it or not accordingly. */
  async function expectExactly(filter: object, users: string[]): Promise<void> {
    const initech = { Authorization: 'Bearer key-initech' };
    const response = await size({ filter }, initech);
    expect(response.status).toBe(200);
    expect(response.body.total).toBe(users.length);
    // The same users one by one: each named one is in the segment, the others are not.
    for (const user of ['ana', 'ben', 'cat']) {
      const one = await size({ filter: { and: [filter, { user_ids: [user] }] } }, initech);
      expect([user, one.body.total]).toEqual([user, users.includes(user) ? 1 : 0]);
    }
  }

  it('G1: through the service, Push Enabled for App X needs a foreground-enabled token for app X', async () => {
    await expectExactly({ push_enabled_for_app: 'ios-app' }, ['ana']);
    await expectExactly({ push_enabled_for_app: 'android-app' }, ['ben']); // unsubscribed, still Push Enabled for App
  });

  it('G2: through the service, Push Enabled needs a foreground-enabled token and a subscription', async () => {
    await expectExactly({ push_enabled: true }, ['ana']);
    await expectExactly({ push_enabled: false }, ['ben', 'cat']);
  });

  it('G3: through the service, Background Push Enabled', async () => {
    await expectExactly({ background_push_enabled: true }, ['ana', 'ben', 'cat']);
  });

  it('G4: through the service, Foreground Push Enabled, subscription not considered', async () => {
    await expectExactly({ foreground_push_enabled: true }, ['ana', 'ben']);
  });

  it('G5: through the service, Push Subscription Status SUBSCRIBED / OPTED_IN / UNSUBSCRIBED', async () => {
    await expectExactly({ push_subscription: 'subscribed' }, ['ana']);
    await expectExactly({ push_subscription: 'opted_in' }, ['cat']);
    await expectExactly({ push_subscription: 'unsubscribed' }, ['ben']);
  });

  it('G2/G6: answers the exact size and reachable counts of the key’s workspace only', async () => {
    const response = await size({ filter: { push_subscription: 'subscribed' } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ total: 2, reachable: { ios_push: 1, android_push: 0, web_push: 0 } });
    expect((await size({ filter: { push_enabled: true } })).body).toEqual({
      total: 1,
      reachable: { ios_push: 1, android_push: 0, web_push: 0 },
    });
    expect((await size({ filter: { user_ids: ['lee'] } }, globex)).body).toEqual({
      total: 0,
      reachable: { ios_push: 0, android_push: 0, web_push: 0 },
    });
  });

  it.each([
    [{ filter: { and: [{ platform: 'ios' }, { platfrom: 'web' }] } }, 'filter.and.1.platfrom'],
    [{ filter: { or: [] } }, 'filter.or'],
    [{ filter: { not: { push_enabled: 'yes' } } }, 'filter.not.push_enabled'],
    [{ filter: { user_ids: Array.from({ length: 10_001 }, (_, i) => `u${i}`) } }, 'filter.user_ids'],
    [{ filter: { not: { push_enabled_for_app: 'unknown-app' } } }, 'filter.not.push_enabled_for_app'],
    [{ filter: { push_enabled: true }, filters: {} }, '(body)'], // zod names the unknown key in the message
    [{}, 'filter'],
  ])('§5: a bad body (case %#) is a 400 naming %s', async (body, field) => {
    const response = await size(body);
    expect(response.status).toBe(400);
    expect(response.body.issues.map((i: { field: string }) => i.field)).toContain(field);
  });

  it('§5: an app of the workspace is known; one seen only in another workspace is not', async () => {
    expect((await size({ filter: { push_enabled_for_app: 'ios-app' } })).body.total).toBe(1);
    expect((await size({ filter: { push_enabled_for_app: 'ios-app' } }, globex)).status).toBe(200);
    await service.publish(Topics.DeviceTokens, [
      {
        key: MessageKeys.device('globex', 'globex-only', 'd'),
        event: deviceTokenEvents.pushCapabilityChanged(
          { workspace_id: 'globex', app_id: 'globex-only', device_id: 'd' },
          1,
        ),
      },
    ]);
    await service.waitUntilApplied(AUDIENCE_GROUP);
    expect((await size({ filter: { push_enabled_for_app: 'globex-only' } }, globex)).status).toBe(200);
    expect((await size({ filter: { push_enabled_for_app: 'globex-only' } })).status).toBe(400);
  });

  it('§5: an unknown body key is a 400 whose message names it', async () => {
    const response = await size({ filter: { push_enabled: true }, filters: {} });
    expect(response.status).toBe(400);
    expect(response.body.message).toContain('"filters"');
  });

  it('no API key is a 401', async () => {
    expect((await size({ filter: { push_enabled: true } }, {})).status).toBe(401);
  });

  describe('POST /users/export/ids', () => {
    const exportIds = (body: unknown, headers: Record<string, string> = acme) =>
      service
        .http()
        .post('/users/export/ids')
        .set(headers)
        .send(body as object);
    const shared = { workspace_id: 'acme', app_id: 'ios-app', device_id: 'shared' };

    beforeAll(async () => {
      // ann's phone, then lee logs in on it: token-registry moves the token with the device (T3).
      const events = [
        deviceTokenEvents.pushCapabilityChanged(shared, 2000, { user_id: 'ann', permission: 'DENIED' }),
        tokenAssigned(shared, 'ann', 'apns-shared-token-0123456789'),
        deviceTokenEvents.deviceUserChanged(shared, 2100, 'lee', {
          previous_user_id: 'ann',
          token: 'apns-shared-token-0123456789',
        }),
      ];
      await service.publish(
        Topics.DeviceTokens,
        events.map((event) => ({ key: MessageKeys.device('acme', 'ios-app', 'shared'), event })),
      );
      const ann = subscribed('acme', 'ann');
      await service.publish(Topics.UserSubscriptions, [{ key: MessageKeys.user('acme', 'ann'), event: ann }]);
      await service.waitUntilApplied(AUDIENCE_GROUP);
    });

    it('G7: each user with push_subscribe, push_opted_in_at and every token unmasked; unknown ids invalid', async () => {
      const response = await exportIds({ external_ids: ['kim', 'nobody', 'kim'] });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        message: 'success',
        users: [
          {
            external_id: 'kim',
            push_subscribe: 'subscribed',
            push_opted_in_at: null,
            push_tokens: [
              { app: 'ios-app', platform: 'ios', token: 'apns-acme', device_id: 'iphone', notifications_enabled: true },
            ],
          },
        ],
        invalid_user_ids: ['nobody'],
      });
    });

    it('G7 seed: after the token moves from one user to another on a shared phone only the second exports it', async () => {
      const response = await exportIds({ external_ids: ['ann', 'lee'] });
      // ann (seen by subscription-state) has no token left; lee has it, notifications off (DENIED).
      expect(response.body.users).toEqual([
        { external_id: 'ann', push_subscribe: 'subscribed', push_opted_in_at: null, push_tokens: [] },
        {
          external_id: 'lee',
          push_subscribe: 'subscribed',
          push_opted_in_at: null,
          push_tokens: [
            {
              app: 'ios-app',
              platform: 'ios',
              token: 'apns-shared-token-0123456789',
              device_id: 'shared',
              notifications_enabled: false,
            },
          ],
        },
      ]);
    });

    it('fields_to_export limits each user to those fields and external_id', async () => {
      const response = await exportIds({ external_ids: ['kim'], fields_to_export: ['push_subscribe', 'email'] });
      expect(response.body.users).toEqual([{ external_id: 'kim', push_subscribe: 'subscribed' }]);
    });

    it('sees only the key’s workspace: another workspace’s kim has its own token', async () => {
      const response = await exportIds({ external_ids: ['kim', 'lee'] }, globex);
      expect(response.body.users).toEqual([
        {
          external_id: 'kim',
          push_subscribe: 'subscribed',
          push_opted_in_at: null,
          push_tokens: [
            { app: 'ios-app', platform: 'ios', token: 'apns-globex', device_id: 'iphone', notifications_enabled: true },
          ],
        },
      ]);
      expect(response.body.invalid_user_ids).toEqual(['lee']);
    });

    it.each([
      [{ external_ids: Array.from({ length: 51 }, (_, i) => `u${i}`) }, 'external_ids'],
      [{ external_ids: [] }, 'external_ids'],
      [{ external_ids: ['u1', 7] }, 'external_ids.1'],
      [{ external_ids: ['u1', ''] }, 'external_ids.1'],
      [{ external_ids: ['u1'], fields_to_export: 'push_tokens' }, 'fields_to_export'],
      [{}, 'external_ids'],
    ])('a bad body (case %#) is a 400 naming %s', async (body, field) => {
      const response = await exportIds(body);
      expect(response.status).toBe(400);
      expect(response.body.issues.map((i: { field: string }) => i.field)).toContain(field);
    });

    it('no API key is a 401', async () => {
      expect((await exportIds({ external_ids: ['kim'] }, {})).status).toBe(401);
    });
  });

  describe('POST /users/export/segment', () => {
    const exportSegment = (body: unknown, headers: Record<string, string> = acme) =>
      service
        .http()
        .post('/users/export/segment')
        .set(headers)
        .send(body as object);
    const lines = (text: string) =>
      text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line));

    it('G7: streams the segment’s users of the key’s workspace as NDJSON, one export object a line', async () => {
      const response = await exportSegment({ filter: { push_enabled: true } });
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toContain('application/x-ndjson');
      expect(lines(response.text)).toEqual([
        {
          external_id: 'kim',
          push_subscribe: 'subscribed',
          push_opted_in_at: null,
          push_tokens: [
            { app: 'ios-app', platform: 'ios', token: 'apns-acme', device_id: 'iphone', notifications_enabled: true },
          ],
        },
      ]);
      const everyone = await exportSegment({ filter: { not: { user_ids: [] } } });
      expect(lines(everyone.text).map((u) => u.external_id)).toEqual(['ann', 'kim', 'lee']);
      const globexUsers = await exportSegment({ filter: { not: { user_ids: [] } } }, globex);
      expect(lines(globexUsers.text).map((u) => u.external_id)).toEqual(['kim']);
    });

    /** An RFC 4180 reader (quoted fields with doubled quotes, commas and line breaks inside, CRLF records). */
    function parseCsv(text: string): string[][] {
      const records: string[][] = [];
      let record: string[] = [];
      let field = '';
      let quoted = false;
      for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (quoted && c === '"' && text[i + 1] === '"') {
          field += '"';
          i += 1;
        } else if (quoted && c === '"') quoted = false;
        else if (quoted || (c !== '"' && c !== ',' && c !== '\r')) field += c;
        else if (c === '"') quoted = true;
        else if (c === ',') {
          record.push(field);
          field = '';
        } else {
          expect(text[i + 1]).toBe('\n'); // a bare CR outside quotes is no record end
          record.push(field);
          records.push(record);
          record = [];
          field = '';
          i += 1;
        }
      }
      expect(field === '' && record.length === 0).toBe(true); // the last record ended with CRLF
      return records;
    }

    it('§9: with Accept: text/csv streams the CSV user export — header, one RFC 4180 row per user, no token', async () => {
      const evil = { workspace_id: 'acme', app_id: 'ios-app', device_id: '=evil,"phone"' };
      await service.publish(Topics.DeviceTokens, [
        {
          key: MessageKeys.device('acme', 'ios-app', evil.device_id),
          event: deviceTokenEvents.pushCapabilityChanged(evil, 1000, { user_id: '-zed' }),
        },
        {
          key: MessageKeys.device('acme', 'ios-app', evil.device_id),
          event: tokenAssigned(evil, '-zed', 'apns-evil-token'),
        },
      ]);
      await service.waitUntilApplied(AUDIENCE_GROUP);
      const response = await exportSegment({ filter: { not: { user_ids: [] } } }).set('Accept', 'text/csv');
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toContain('text/csv');
      expect(response.text).not.toContain('apns-');
      const [header, ...rows] = parseCsv(response.text);
      expect(header).toEqual([
        'external_id',
        'push_subscribe',
        'push_opted_in_at',
        'push_enabled',
        'foreground_push_enabled',
        'background_push_enabled',
        'ios_push_reachable',
        'android_push_reachable',
        'web_push_reachable',
        'push_tokens',
      ]);
      const byId = Object.fromEntries(rows.map((row) => [row[0], row]));
      expect(Object.keys(byId).sort()).toEqual(["'-zed", 'ann', 'kim', 'lee']);
      expect(byId.kim).toEqual([
        'kim',
        'subscribed',
        '',
        'true',
        'true',
        'true',
        'true',
        'false',
        'false',
        'ios-app:ios:iphone:foreground',
      ]);
      // lee holds the shared phone with notifications off (DENIED): background only, not push enabled.
      expect(byId.lee.slice(3)).toEqual([
        'false',
        'false',
        'true',
        'false',
        'false',
        'false',
        'ios-app:ios:shared:background',
      ]);
      // A user id and a device id a client chose cannot become formulas; the comma and quotes survive the quoting.
      expect(byId["'-zed"][9]).toBe('ios-app:ios:=evil,"phone":foreground');
      const globexRows = parseCsv(
        (await exportSegment({ filter: { push_enabled: true } }, globex).set('Accept', 'text/csv')).text,
      );
      expect(globexRows.map((row) => row[0])).toEqual(['external_id', 'kim']);
    });

    it('metrics: sizes served by source and export users by format are on /metrics', async () => {
      await size({ filter: { push_enabled: true } });
      const metrics = (await service.http().get('/metrics')).text;
      expect(metrics).toMatch(/segmentation_sizes_served_total\{source="(index|sql)"[^}]*\} [1-9]/);
      expect(metrics).toMatch(/segmentation_export_users_total\{format="ndjson"[^}]*\} [1-9]/);
      expect(metrics).toMatch(/segmentation_export_users_total\{format="csv"[^}]*\} [1-9]/);
      expect(metrics).toMatch(/segmentation_index_build_seconds_count[^ ]* [1-9]/);
      expect(metrics).toMatch(/segmentation_index_users\{workspace_id="acme"[^}]*\} [1-9]/);
    });

    it('§5: a bad filter is a 400 naming its path, before any line', async () => {
      const response = await exportSegment({
        filter: { and: [{ platform: 'ios' }, { push_enabled_for_app: 'nope' }] },
      });
      expect(response.status).toBe(400);
      expect(response.body.issues.map((i: { field: string }) => i.field)).toEqual([
        'filter.and.1.push_enabled_for_app',
      ]);
      expect((await exportSegment({ filter: { push_enabled: true } }, {})).status).toBe(401);
    });
  });

  it('GET /docs-json documents the three routes', async () => {
    const response = await service.http().get('/docs-json');
    expect(response.status).toBe(200);
    expect(Object.keys(response.body.paths)).toEqual(
      expect.arrayContaining(['/segments/size', '/users/export/ids', '/users/export/segment']),
    );
    expect(Object.keys(response.body.paths['/segments/size'])).toEqual(['post']);
  });
});
