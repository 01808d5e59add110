import { randomBytes } from 'node:crypto';
import { MessageKeys, SdkDeviceEvent, Topics, decodeEvent, dlqTopicOf, encodeEvent } from '@push/contracts';
import { deliveryEvents, deviceEvents, deviceTokenEvents, serviceUnderTest } from '@push/testing';
import { changelogEntriesOf } from '../../domain/changelog';
import { tokenRegistryService } from '../../service';
import { TOKEN_CHANGELOG_GROUP } from './token-changelog.projection';

jest.setTimeout(60_000);

const WS = 'acme';
const auth = { Authorization: 'Bearer key-acme' };
const deviceOf = (device_id: string, app_id = 'ios-app') => ({ workspace_id: WS, app_id, device_id });
const keyOf = (event: { data: { workspace_id: string; app_id: string; device_id: string } }) =>
  MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id);

/** token-registry running as a service: events in through the real broker, rows in Postgres, events out through Kafka. */
describe('token-registry devices projection (real Kafka and Postgres)', () => {
  const service = serviceUnderTest(tokenRegistryService, {
    topics: [Topics.DeviceEvents, Topics.DeviceDelivery, Topics.DeviceTokens],
    env: { API_KEYS: 'key-acme=acme' },
  });

  const publish = (...events: SdkDeviceEvent[]) =>
    service.publish(
      Topics.DeviceEvents,
      events.map((event) => ({ key: keyOf(event), event })),
    );
  const applied = () => service.waitUntilApplied('token-registry.devices');
  const device = async (id: string, app = 'ios-app') =>
    (await service.http().get(`/devices/${app}/${id}`).set(auth)).body;
  const published = () => service.published(Topics.DeviceTokens);
  const query = (sql: string) => service.dataSource.query(sql);

  it('T3/T4 (shared phone, end to end): the token moves from Charlie to Kim; the device, the changelog and the published events say so', async () => {
    const phone = deviceOf('shared-phone');
    await publish(
      deviceEvents.tokenRegistered(phone, 1000, 'apns-shared-0123456789', { user_id: 'charlie' }),
      deviceEvents.userLoggedOut(phone, 2000, 'charlie'),
      deviceEvents.changeUser(phone, 3000, 'kim'),
    );
    await applied();

    expect(await device('shared-phone')).toMatchObject({
      user_id: 'kim',
      token: '*'.repeat(16) + '456789',
      token_status: 'active',
      platform: 'ios',
      foreground_enabled: true,
    });
    const charlie = (await service.http().get('/users/charlie/token-changelog').set(auth)).body;
    const kim = (await service.http().get('/users/kim/token-changelog').set(auth)).body;
    expect(
      charlie.entries.map((e: { from_user_id: string; to_user_id: string }) => [e.from_user_id, e.to_user_id]),
    ).toEqual([
      [null, 'charlie'],
      ['charlie', null],
    ]);
    expect(kim.entries).toMatchObject([
      { device_id: 'shared-phone', from_user_id: null, to_user_id: 'kim', at: '1970-01-01T00:00:03.000Z' },
    ]);

    const out = (await published()).filter((e) => e.data.device_id === 'shared-phone');
    expect(out.map((e) => e.type)).toEqual([
      'UserFirstSeen',
      'PushCapabilityChanged',
      'DeviceUserChanged',
      'TokenAssigned',
      'DeviceUserChanged',
      'UserFirstSeen',
      'DeviceUserChanged',
    ]);
    expect(out.at(-1)).toMatchObject({
      data: { previous_user_id: null, user_id: 'kim', token: 'apns-shared-0123456789', cause: 'CHANGE_USER' },
    });
  });

  it('T9: redelivered events (the same event ids again) change nothing and publish nothing', async () => {
    const tablet = deviceOf('tablet');
    const history = [
      deviceEvents.tokenRegistered(tablet, 1000, 'apns-tablet-1', { user_id: 'ann' }),
      deviceEvents.pushPermissionChanged(tablet, 2000, 'DENIED', { prompted: false }),
      deviceEvents.changeUser(tablet, 3000, 'bob', 'ann'),
    ];
    await publish(...history);
    await applied();
    const before = {
      device: await device('tablet'),
      published: (await published()).length,
      changelog: await query('select * from token_changelog order by id'),
    };

    await publish(...history, ...history);
    await applied();

    expect(await device('tablet')).toEqual(before.device);
    expect((await published()).length).toBe(before.published);
    expect(await query('select * from token_changelog order by id')).toEqual(before.changelog);
    expect(before.device).toMatchObject({ user_id: 'bob', foreground_enabled: false, background_enabled: true });
  });

  it('T9: events of the same millisecond apply in log order (SDK init: anonymous session, then ChangeUser); redelivered in a later batch they change nothing', async () => {
    const kiosk = deviceOf('kiosk');
    const session = deviceEvents.sessionStarted(kiosk, 2000, { user_id: null });
    await publish(
      deviceEvents.tokenRegistered(kiosk, 1000, 'apns-kiosk-1'),
      session,
      deviceEvents.changeUser(kiosk, 2000, 'hal'),
    );
    await applied();
    expect(await device('kiosk')).toMatchObject({ user_id: 'hal', token_status: 'active' });
    const before = (await published()).length;

    await publish(session);
    await applied();

    expect(await device('kiosk')).toMatchObject({ user_id: 'hal', token_status: 'active' });
    expect((await published()).length).toBe(before);
  });

  it('T9: a late event older than the state it would change does not roll it back', async () => {
    const watch = deviceOf('watch');
    await publish(
      deviceEvents.tokenRegistered(watch, 1000, 'apns-watch-1', { user_id: 'dora' }),
      deviceEvents.changeUser(watch, 5000, 'erin'),
      deviceEvents.appUninstalled(watch, 6000),
    );
    await publish(
      deviceEvents.changeUser(watch, 4000, 'dora'),
      deviceEvents.tokenRegistered(watch, 5500, 'apns-watch-2', { user_id: 'erin' }),
      deviceEvents.sessionStarted(watch, 4500, { permission: 'DENIED' }),
    );
    await applied();

    expect(await device('watch')).toMatchObject({
      user_id: 'erin',
      token: null,
      token_status: 'removed',
      last_session_at: '1970-01-01T00:00:04.500Z',
    });
    const states: { push_permission: string }[] = await query(
      `select push_permission from devices where device_id = 'watch'`,
    );
    expect(states[0].push_permission).toBe('AUTHORIZED');
  });

  it('T8 through bounce-processor.device-delivery.v1: the token is removed and tombstoned; registering it again keeps it unsendable', async () => {
    const pixel = deviceOf('pixel', 'android-app');
    await publish(
      deviceEvents.tokenRegistered(pixel, 1000, 'fcm-pixel-1', {
        platform: 'ANDROID',
        os_version: '14',
        user_id: 'fay',
      }),
    );
    const invalidated = deliveryEvents.tokenInvalidated(pixel, 2000, 'fcm-pixel-1', {
      platform: 'ANDROID',
      provider_reason: 'messaging/registration-token-not-registered',
    });
    await service.publish(Topics.DeviceDelivery, [{ key: keyOf(invalidated), event: invalidated }]);
    await applied();
    expect(await device('pixel', 'android-app')).toMatchObject({
      token_status: 'invalidated',
      foreground_enabled: false,
      background_enabled: false,
    });

    await publish(
      deviceEvents.tokenRegistered(pixel, 3000, 'fcm-pixel-1', {
        platform: 'ANDROID',
        os_version: '14',
        user_id: 'fay',
      }),
    );
    await applied();
    expect(await device('pixel', 'android-app')).toMatchObject({ token_status: 'invalidated' });
    const removed = (await published()).filter((e) => e.data.device_id === 'pixel' && e.type === 'TokenRemoved');
    expect(removed).toMatchObject([
      {
        data: {
          reason: 'INVALIDATED',
          provider_reason: 'messaging/registration-token-not-registered',
          token: 'fcm-pixel-1',
        },
      },
    ]);
  });

  it('bad device events go to the DLQ with the reason; the valid events around them in the same partition are applied', async () => {
    const laptop = deviceOf('laptop', 'web-app');
    const valid = JSON.stringify({ endpoint: 'https://push.example.com/laptop', keys: { p256dh: 'BPk', auth: 'au' } });
    const unknownPlatform = encodeEvent(
      Topics.DeviceEvents,
      deviceEvents.sessionStarted(laptop, 1500, { platform: 'WEB' }),
    );
    // The platform enum's index (WEB = 2, zig-zag 0x04) sits right before os_version's union branch and "17.4".
    const platformIndexAt = unknownPlatform.lastIndexOf(Buffer.from('\x02\x0817.4', 'latin1')) - 1;
    expect(unknownPlatform[platformIndexAt]).toBe(0x04);
    unknownPlatform[platformIndexAt] = 0x06;
    expect(() => decodeEvent(Topics.DeviceEvents, unknownPlatform)).toThrow();

    await publish(deviceEvents.tokenRegistered(laptop, 1000, valid, { platform: 'WEB', os_version: null }));
    await service.publishRaw(Topics.DeviceEvents, [{ key: keyOf({ data: laptop }), value: unknownPlatform }]);
    await publish(
      deviceEvents.tokenRegistered(laptop, 2000, '', { platform: 'WEB', os_version: null }),
      deviceEvents.tokenRegistered(laptop, 2100, '{"endpoint":"https://push.example.com/x"}', {
        platform: 'WEB',
        os_version: null,
      }),
      deviceEvents.changeUser({ ...laptop, device_id: '' }, 2200, 'gus'),
      deviceEvents.changeUser(laptop, 3000, 'gus'),
    );
    await applied();

    const dead = await service.messages(dlqTopicOf(Topics.DeviceEvents), 4);
    const reasons = dead.map((m) => String(m.headers!['dlq-error'])).sort();
    expect(reasons).toHaveLength(4);
    expect(reasons.filter((r) => r === 'token is empty')).toHaveLength(1);
    expect(reasons.filter((r) => r === 'token of a WEB device has no keys')).toHaveLength(1);
    expect(reasons.filter((r) => r === 'device_id is empty')).toHaveLength(1);
    expect(dead.map((m) => String(m.headers!['dlq-error-code'])).sort()).toEqual([
      'CONTRACT_VIOLATION',
      'CONTRACT_VIOLATION',
      'CONTRACT_VIOLATION',
      'INVALID_BODY',
    ]);
    expect(await device('laptop', 'web-app')).toMatchObject({
      user_id: 'gus',
      token_status: 'active',
      platform: 'web',
      background_enabled: false,
    });
  });

  it('§3.5: a registration with a token too long for the read model to index goes to the DLQ as a contract violation; the next event of its partition applies', async () => {
    const tv = deviceOf('tv', 'android-app');
    // 2,700 incompressible bytes: as a token_holders key this fails Postgres's btree row limit (SQLSTATE 54000).
    const oversized = randomBytes(1350).toString('hex');
    await publish(
      deviceEvents.tokenRegistered(tv, 1000, oversized, { platform: 'ANDROID', os_version: '14' }),
      deviceEvents.tokenRegistered(tv, 2000, 'fcm-tv-0123456789', { platform: 'ANDROID', os_version: '14' }),
    );
    await applied();

    const dead = (await service.messages(dlqTopicOf(Topics.DeviceEvents), 5)).filter(
      (m) => m.key?.toString() === keyOf({ data: tv }),
    );
    expect(dead.map((m) => [String(m.headers!['dlq-error-code']), String(m.headers!['dlq-error'])])).toEqual([
      ['CONTRACT_VIOLATION', 'token is longer than 2048 bytes (UTF-8): 2700 bytes'],
    ]);
    expect(await device('tv', 'android-app')).toMatchObject({
      token: '*'.repeat(11) + '456789',
      token_status: 'active',
    });
  });

  it('T3: the changelog is what token-registry published, read back from its output topic; a record published again adds nothing', async () => {
    const phone = deviceOf('changelog-phone');
    await publish(
      deviceEvents.tokenRegistered(phone, 1000, 'apns-changelog-0123456789', { user_id: 'ivy' }),
      deviceEvents.changeUser(phone, 2000, 'jon', 'ivy'),
    );
    await applied();
    const records = (await published()).filter((e) => e.data.device_id === 'changelog-phone');
    const rows = () =>
      query(
        `select event_id, from_user_id, to_user_id, at from token_changelog where device_id = 'changelog-phone' order by id`,
      );
    const expected = records.flatMap(changelogEntriesOf).map((e) => ({
      event_id: e.entryId,
      from_user_id: e.fromUserId,
      to_user_id: e.toUserId,
      at: new Date(e.at),
    }));
    expect(expected).toMatchObject([
      { from_user_id: null, to_user_id: 'ivy' },
      { from_user_id: 'ivy', to_user_id: 'jon' },
    ]);
    expect(await rows()).toEqual(expected);

    // A crash between Kafka's acknowledgement and the outbox's delete publishes the records again: same ids.
    await service.publish(
      Topics.DeviceTokens,
      records.map((event) => ({ key: keyOf(event), event })),
    );
    await applied();
    expect(await rows()).toEqual(expected);
  });

  it('T3: a record on the output topic is in the changelog whatever the devices projection computed (the topic is the record)', async () => {
    // A move no input of this test caused: only a changelog projected from the topic has it.
    const tv = deviceOf('changelog-tv');
    const assigned = deviceTokenEvents.tokenAssigned(tv, 5000, 'apns-tv-0123456789', { user_id: 'kai' });
    await service.publish(Topics.DeviceTokens, [{ key: keyOf(assigned), event: assigned }]);
    await applied();

    expect(
      await query(`select from_user_id, to_user_id from token_changelog where device_id = 'changelog-tv'`),
    ).toEqual([{ from_user_id: null, to_user_id: 'kai' }]);
    expect((await service.http().get('/users/kai/token-changelog').set(auth)).body.entries).toMatchObject([
      { device_id: 'changelog-tv', from_user_id: null, to_user_id: 'kai' },
    ]);
    expect((await service.http().get('/devices/ios-app/changelog-tv').set(auth)).status).toBe(404);
  });

  it('/health lists both projections, the changelog one consuming the output topic', async () => {
    const health = await service.http().get('/health');
    expect(health.status).toBe(200);
    expect(health.body.info).toMatchObject({
      'kafka:token-registry.devices': { status: 'up', state: 'consuming' },
      [`kafka:${TOKEN_CHANGELOG_GROUP}`]: { status: 'up', state: 'consuming' },
    });
    const stored: { topic: string }[] = await query(
      `select distinct topic from consumer_offsets where group_id = '${TOKEN_CHANGELOG_GROUP}'`,
    );
    expect(stored).toEqual([{ topic: Topics.DeviceTokens }]);
  });
});
