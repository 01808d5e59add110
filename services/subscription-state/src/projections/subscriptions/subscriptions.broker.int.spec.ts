import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DeviceTokenEvent, MessageKeys, SdkUserEvent, Topics, dlqTopicOf } from '@push/contracts';
import { deviceTokenEvents, serviceUnderTest, subscriptionEvents, userEvents } from '@push/testing';
import { subscriptionStateService } from '../../service';
import { SUBSCRIPTION_HISTORY_GROUP } from './subscription-history.projection';
import { SUBSCRIPTIONS_GROUP } from './subscriptions.projection';

jest.setTimeout(60_000);

const WS = 'acme';
const appsFile = join(mkdtempSync(join(tmpdir(), 'subscription-state-apps-')), 'apps.json');
writeFileSync(
  appsFile,
  JSON.stringify({
    apps: [
      {
        workspace_id: WS,
        app_id: 'ios-app',
        platform: 'ios',
        apns: { team_id: 't', key_id: 'k', key_file: 'a.p8', topic: 'com.acme' },
      },
      { workspace_id: WS, app_id: 'android-app', platform: 'android', fcm: { project_id: 'acme' } },
      {
        workspace_id: WS,
        app_id: 'kiosk-app',
        platform: 'android',
        opt_in_when_push_authorized: false,
        fcm: { project_id: 'acme' },
      },
    ],
  }),
);

const device = (device_id: string, app_id = 'ios-app') => ({ workspace_id: WS, app_id, device_id });
const user = (user_id: string) => ({ workspace_id: WS, user_id });

/** subscription-state running as a service: token-registry's records and SDK user events in through the broker. */
describe('subscription-state projection (real Kafka and Postgres)', () => {
  const service = serviceUnderTest(subscriptionStateService, {
    topics: [Topics.UserEvents, Topics.DeviceTokens, Topics.UserSubscriptions],
    env: { API_KEYS: 'key-acme=acme', APPS_CONFIG: appsFile },
  });
  afterAll(() => rmSync(dirname(appsFile), { recursive: true, force: true }));

  const publishDevice = async (...events: DeviceTokenEvent[]) => {
    await service.publish(
      Topics.DeviceTokens,
      events.map((event) => ({
        key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
        event,
      })),
    );
    await service.waitUntilApplied(SUBSCRIPTIONS_GROUP);
  };
  const publishUser = async (...events: SdkUserEvent[]) => {
    await service.publish(
      Topics.UserEvents,
      events.map((event) => ({ key: MessageKeys.user(event.data.workspace_id, event.data.user_id), event })),
    );
    await service.waitUntilApplied(SUBSCRIPTIONS_GROUP);
  };
  const changesOf = async (userId: string) =>
    (await service.published(Topics.UserSubscriptions))
      .filter((e) => e.data.user_id === userId)
      .map((e) => [e.data.previous_state, e.data.state, e.data.source, e.data.app_id]);
  const stateOf = async (userId: string) =>
    (
      await service.dataSource.query('select state from user_subscriptions where workspace_id = $1 and user_id = $2', [
        WS,
        userId,
      ])
    )[0]?.state;

  it('S1/S3/S4: a user with three devices on two apps is seen once, opted in once, and stays opted in through a denial', async () => {
    const iphone = device('iphone');
    const ipad = device('ipad');
    const pixel = device('pixel', 'android-app');
    await publishDevice(
      deviceTokenEvents.userFirstSeen(iphone, 1000, 'maya'),
      deviceTokenEvents.pushCapabilityChanged(iphone, 1000, { user_id: 'maya', permission: 'NOT_DETERMINED' }),
      deviceTokenEvents.deviceUserChanged(ipad, 1100, 'maya', { permission: 'PROVISIONAL' }),
      deviceTokenEvents.pushCapabilityChanged(pixel, 1200, {
        user_id: 'maya',
        platform: 'ANDROID',
        os_version: '14',
        permission: 'DENIED',
      }),
    );
    expect(await changesOf('maya')).toEqual([[null, 'SUBSCRIBED', 'FIRST_SEEN', 'ios-app']]);

    await publishDevice(
      deviceTokenEvents.pushCapabilityChanged(pixel, 2000, {
        user_id: 'maya',
        platform: 'ANDROID',
        os_version: '14',
        previous_permission: 'DENIED',
        prompted: false,
      }),
    );
    await publishDevice(
      deviceTokenEvents.pushCapabilityChanged(iphone, 2100, { user_id: 'maya', previous_permission: 'NOT_DETERMINED' }),
      deviceTokenEvents.pushCapabilityChanged(pixel, 3000, {
        user_id: 'maya',
        platform: 'ANDROID',
        os_version: '14',
        permission: 'DENIED',
        previous_permission: 'AUTHORIZED',
      }),
    );

    expect(await changesOf('maya')).toEqual([
      [null, 'SUBSCRIBED', 'FIRST_SEEN', 'ios-app'],
      ['SUBSCRIBED', 'OPTED_IN', 'AUTO_OPT_IN', 'android-app'],
    ]);
    expect(await stateOf('maya')).toBe('OPTED_IN');
  });

  it('S3: an explicit unsubscribe, then push re-enabled in the settings: the user stays unsubscribed', async () => {
    const phone = device('noor-phone');
    await publishDevice(deviceTokenEvents.userFirstSeen(phone, 1000, 'noor'));
    await publishUser(userEvents.pushSubscriptionSet(user('noor'), 2000, 'UNSUBSCRIBED', 'SDK'));
    await publishDevice(
      deviceTokenEvents.pushCapabilityChanged(phone, 3000, {
        user_id: 'noor',
        previous_permission: 'DENIED',
        prompted: false,
      }),
    );

    expect(await changesOf('noor')).toEqual([
      [null, 'SUBSCRIBED', 'FIRST_SEEN', 'ios-app'],
      ['SUBSCRIBED', 'UNSUBSCRIBED', 'SDK', null],
    ]);
    expect(await stateOf('noor')).toBe('UNSUBSCRIBED');
  });

  it('S2: a late older PushSubscriptionSet changes nothing', async () => {
    await publishUser(userEvents.pushSubscriptionSet(user('omar'), 5000, 'OPTED_IN', 'REST'));
    await publishUser(userEvents.pushSubscriptionSet(user('omar'), 4000, 'UNSUBSCRIBED', 'DASHBOARD'));

    expect(await changesOf('omar')).toEqual([[null, 'OPTED_IN', 'REST', null]]);
    expect(await stateOf('omar')).toBe('OPTED_IN');
  });

  it('S3: an Android 12 authorization does not opt in; an Android 13 one does', async () => {
    const android = (device_id: string, userId: string, os_version: string) =>
      deviceTokenEvents.pushCapabilityChanged(device(device_id, 'android-app'), 2000, {
        user_id: userId,
        platform: 'ANDROID',
        os_version,
      });
    await publishDevice(
      deviceTokenEvents.userFirstSeen(device('a12', 'android-app'), 1000, 'pia', 'ANDROID'),
      deviceTokenEvents.userFirstSeen(device('a13', 'android-app'), 1000, 'quinn', 'ANDROID'),
    );
    await publishDevice(android('a12', 'pia', '12'), android('a13', 'quinn', '13'));

    expect(await stateOf('pia')).toBe('SUBSCRIBED');
    expect(await changesOf('pia')).toEqual([[null, 'SUBSCRIBED', 'FIRST_SEEN', 'android-app']]);
    expect(await stateOf('quinn')).toBe('OPTED_IN');
    expect(await changesOf('quinn')).toEqual([
      [null, 'SUBSCRIBED', 'FIRST_SEEN', 'android-app'],
      ['SUBSCRIBED', 'OPTED_IN', 'AUTO_OPT_IN', 'android-app'],
    ]);
  });

  it('S3: an app whose apps-file entry sets opt_in_when_push_authorized: false does not opt its users in', async () => {
    const kiosk = device('kiosk-1', 'kiosk-app');
    await publishDevice(deviceTokenEvents.userFirstSeen(kiosk, 1000, 'rosa', 'ANDROID'));
    await publishDevice(
      deviceTokenEvents.pushCapabilityChanged(kiosk, 2000, { user_id: 'rosa', platform: 'ANDROID', os_version: '14' }),
    );

    expect(await stateOf('rosa')).toBe('SUBSCRIBED');
    expect(await changesOf('rosa')).toEqual([[null, 'SUBSCRIBED', 'FIRST_SEEN', 'kiosk-app']]);
  });

  it('§3.5: a PushSubscriptionSet of a blank user goes to the DLQ with the reason; the events around it apply', async () => {
    await publishUser(
      userEvents.pushSubscriptionSet(user('sam'), 1000, 'UNSUBSCRIBED'),
      userEvents.pushSubscriptionSet(user('  '), 1000, 'UNSUBSCRIBED'),
      userEvents.pushSubscriptionSet(user('sam'), 2000, 'OPTED_IN'),
    );

    const [dead] = await service.messages(dlqTopicOf(Topics.UserEvents), 1);
    const header = (name: string) => String(dead.headers?.[name]);
    expect([header('dlq-error-code'), header('dlq-error')]).toEqual(['CONTRACT_VIOLATION', 'user_id is empty']);
    expect(await stateOf('sam')).toBe('OPTED_IN');
  });

  const historyOf = (userId: string) =>
    service.dataSource.query(
      `select event_id, from_state, to_state, source, cause_event_id from subscription_history
       where workspace_id = $1 and user_id = $2 order by id`,
      [WS, userId],
    );

  it('S5: the history is what subscription-state published, read back from its output topic; a record published again adds nothing', async () => {
    await publishDevice(deviceTokenEvents.userFirstSeen(device('history-phone'), 1000, 'tess'));
    await publishUser(userEvents.pushSubscriptionSet(user('tess'), 2000, 'UNSUBSCRIBED', 'REST'));
    const records = (await service.published(Topics.UserSubscriptions)).filter((e) => e.data.user_id === 'tess');
    const expected = records.map(({ data }) => ({
      event_id: data.event_id,
      from_state: data.previous_state,
      to_state: data.state,
      source: data.source,
      cause_event_id: data.cause_event_id,
    }));
    expect(expected.map((r) => [r.from_state, r.to_state, r.source])).toEqual([
      [null, 'SUBSCRIBED', 'FIRST_SEEN'],
      ['SUBSCRIBED', 'UNSUBSCRIBED', 'REST'],
    ]);
    expect(await historyOf('tess')).toEqual(expected);
    const api = await service.http().get('/users/tess/subscription').set({ Authorization: 'Bearer key-acme' });
    expect(api.body.history.map((h: { source: string }) => h.source)).toEqual(['first_seen', 'rest']);

    // A crash between Kafka's acknowledgement and the outbox's delete publishes the records again: same ids.
    await service.publish(
      Topics.UserSubscriptions,
      records.map((event) => ({ key: MessageKeys.user(WS, 'tess'), event })),
    );
    await service.waitUntilApplied(SUBSCRIPTION_HISTORY_GROUP);
    expect(await historyOf('tess')).toEqual(expected);
  });

  it('S5: a record on the output topic is in the history whatever the subscriptions projection computed (the topic is the record)', async () => {
    // A change no input of this test caused: only a history projected from the topic has it.
    const record = subscriptionEvents.stateChanged(user('uma'), 3000, 'OPTED_IN', 'SUBSCRIBED');
    await service.publish(Topics.UserSubscriptions, [{ key: MessageKeys.user(WS, 'uma'), event: record }]);
    await service.waitUntilApplied(SUBSCRIPTION_HISTORY_GROUP);

    expect(await historyOf('uma')).toMatchObject([
      { event_id: record.data.event_id, from_state: 'SUBSCRIBED', to_state: 'OPTED_IN' },
    ]);
    expect(await stateOf('uma')).toBeUndefined();
  });

  it('/health lists both projections, the history one consuming the output topic', async () => {
    const health = await service.http().get('/health');
    expect(health.status).toBe(200);
    expect(health.body.info).toMatchObject({
      [`kafka:${SUBSCRIPTIONS_GROUP}`]: { status: 'up', state: 'consuming' },
      [`kafka:${SUBSCRIPTION_HISTORY_GROUP}`]: { status: 'up', state: 'consuming' },
    });
    expect(
      await service.dataSource.query('select distinct topic from consumer_offsets where group_id = $1', [
        SUBSCRIPTION_HISTORY_GROUP,
      ]),
    ).toEqual([{ topic: Topics.UserSubscriptions }]);
  });
});
