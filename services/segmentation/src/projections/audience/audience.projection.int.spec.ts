import { DataSource } from 'typeorm';
import type { DeviceDeliveryEvent, DeviceTokenEvent, Topics, UserSubscriptionEvent } from '@push/contracts';
import type { ConsumedEvent } from '@push/event-bus';
import { Registry } from 'prom-client';
import { segmentSize, exportUser, type SegmentFilter, type UserView } from '@push/segments';
import { openDatabase } from '@push/service-kit';
import { deliveryEvents, deviceTokenEvents, dropDatabase, subscriptionEvents, uniqueDatabaseUrl } from '@push/testing';
import { segmentationService } from '../../service';
import { AudienceIndexCache } from './audience-index-cache';
import { loadUserViews, userIdPages, userViewPages } from './audience-queries';
import { segmentSizeSql } from './segment-size-sql';
import { AudienceProjection } from './audience.projection';

jest.setTimeout(30_000);

type Consumed = typeof Topics.DeviceTokens | typeof Topics.UserSubscriptions | typeof Topics.DeviceDelivery;
type Fact = DeviceTokenEvent | UserSubscriptionEvent | DeviceDeliveryEvent;

const WS = 'acme';
const OTHER_WS = 'globex';
const phone = { workspace_id: WS, app_id: 'ios-app', device_id: 'shared-phone' };
const pixel = { workspace_id: WS, app_id: 'android-app', device_id: 'pixel' };
const browser = { workspace_id: WS, app_id: 'web-app', device_id: 'browser' };
const anonymous = { workspace_id: WS, app_id: 'android-app', device_id: 'anonymous' };
const elsewhere = { workspace_id: OTHER_WS, app_id: 'ios-app', device_id: 'shared-phone' };

const TOPIC: Record<string, Consumed> = {
  SubscriptionStateChanged: 'subscription-state.user-subscriptions.v1',
  DeliveryStatusChanged: 'bounce-processor.device-delivery.v1',
  TokenInvalidated: 'bounce-processor.device-delivery.v1',
};

let offset = 0;
const consumed = (events: Fact[]): ConsumedEvent<Consumed>[] =>
  events.map((event) => ({
    topic: TOPIC[event.type] ?? 'token-registry.device-tokens.v1',
    partition: 0,
    offset: String(offset++),
    key: null,
    timestamp: 0,
    event,
  })) as ConsumedEvent<Consumed>[];

async function applyBatches(db: DataSource, batches: Fact[][]) {
  const projection = new AudienceProjection();
  for (const batch of batches) await db.transaction((tx) => projection.apply(consumed(batch), { tx }));
}

async function readModel(db: DataSource) {
  return {
    users: await db.query('select * from audience_users order by workspace_id, user_id'),
    devices: await db.query('select * from audience_devices order by workspace_id, app_id, device_id'),
  };
}

/** The log of the three owners' topics the specs apply, in partition order per key. */
const log: Fact[] = [
  subscriptionEvents.stateChanged({ workspace_id: WS, user_id: 'ann' }, 1000, 'SUBSCRIBED', null),
  subscriptionEvents.stateChanged({ workspace_id: WS, user_id: 'bob' }, 1000, 'SUBSCRIBED', null),
  subscriptionEvents.stateChanged({ workspace_id: WS, user_id: 'cat' }, 1000, 'SUBSCRIBED', null),
  subscriptionEvents.stateChanged({ workspace_id: OTHER_WS, user_id: 'ann' }, 1000, 'SUBSCRIBED', null),
  // ann's shared phone: authorized, token assigned, then bob logs in on it (T3: the token moves with the device).
  deviceTokenEvents.pushCapabilityChanged(phone, 1100, { user_id: 'ann' }),
  deviceTokenEvents.tokenAssigned(phone, 1100, 'apns-phone', { user_id: 'ann' }),
  deviceTokenEvents.deviceUserChanged(phone, 1200, 'bob', { previous_user_id: 'ann', token: 'apns-phone' }),
  // cat's Android phone, suppressed by bounce-processor, then registered again (B2: back to UNUSED).
  deviceTokenEvents.pushCapabilityChanged(pixel, 1100, { user_id: 'cat', platform: 'ANDROID', os_version: '14' }),
  deviceTokenEvents.tokenAssigned(pixel, 1100, 'fcm-pixel', { user_id: 'cat', platform: 'ANDROID' }),
  deliveryEvents.deliveryStatusChanged(pixel, 1300, 'BOUNCED', 'SENT'),
  deliveryEvents.deliveryStatusChanged(pixel, 1400, 'SUPPRESSED', 'BOUNCED'),
  // cat's browser: a token, later removed (uninstalled).
  deviceTokenEvents.pushCapabilityChanged(browser, 1100, { user_id: 'cat', platform: 'WEB', os_version: null }),
  deviceTokenEvents.tokenAssigned(browser, 1100, '{"endpoint":"https://push.example/1"}', {
    user_id: 'cat',
    platform: 'WEB',
  }),
  deviceTokenEvents.tokenRemoved(browser, 1500, '{"endpoint":"https://push.example/1"}', {
    user_id: 'cat',
    platform: 'WEB',
  }),
  // An anonymous device (T4) with a valid token.
  deviceTokenEvents.pushCapabilityChanged(anonymous, 1100, { platform: 'ANDROID', os_version: '14' }),
  deviceTokenEvents.tokenAssigned(anonymous, 1100, 'fcm-anon', { user_id: null, platform: 'ANDROID' }),
  // The other workspace's ann has the same device ids and a token: never counted in acme.
  deviceTokenEvents.pushCapabilityChanged(elsewhere, 1100, { user_id: 'ann' }),
  deviceTokenEvents.tokenAssigned(elsewhere, 1100, 'apns-elsewhere', { user_id: 'ann' }),
  // ann unsubscribes.
  subscriptionEvents.stateChanged({ workspace_id: WS, user_id: 'ann' }, 1600, 'UNSUBSCRIBED', 'SUBSCRIBED'),
];

describe('audience projection (real Postgres)', () => {
  const urls = [uniqueDatabaseUrl('segmentation_projection'), uniqueDatabaseUrl('segmentation_rebuild')];
  let live: DataSource;
  let rebuilt: DataSource;

  beforeAll(async () => {
    [live, rebuilt] = await Promise.all(
      urls.map((url) => openDatabase({ url, migrations: segmentationService.migrations })),
    );
    await applyBatches(live, [log.slice(0, 7), log.slice(7, 13), log.slice(13)]);
  });

  afterAll(async () => {
    await Promise.all([live?.destroy(), rebuilt?.destroy()]);
    await Promise.all(urls.map((url) => dropDatabase(url)));
  });

  it('the same log applied again, and in other batches into another database, gives the same rows', async () => {
    const first = await readModel(live);
    await applyBatches(live, [log]);
    expect(await readModel(live)).toEqual(first);
    await applyBatches(
      rebuilt,
      log.map((fact) => [fact]),
    );
    expect(await readModel(rebuilt)).toEqual(first);
  });

  it("takes each owner's published facts: token-registry's device, bounce-processor's status, subscription-state's state", async () => {
    const { users, devices } = await readModel(live);
    expect(users).toContainEqual({ workspace_id: WS, user_id: 'ann', state: 'UNSUBSCRIBED', opted_in_at_ms: null });
    expect(devices).toContainEqual({
      workspace_id: WS,
      app_id: 'android-app',
      device_id: 'pixel',
      platform: 'ANDROID',
      user_id: 'cat',
      token: 'fcm-pixel',
      foreground_enabled: true,
      background_enabled: true,
      delivery_status: 'SUPPRESSED',
    });
    expect(devices).toContainEqual(
      expect.objectContaining({ device_id: 'browser', token: null, user_id: 'cat', platform: 'WEB' }),
    );
    expect(devices).toContainEqual(
      expect.objectContaining({ device_id: 'anonymous', user_id: null, token: 'fcm-anon' }),
    );
  });

  it('G7 seed: after the token moves from one user to another on a shared phone only the second exports it', async () => {
    const views = await loadUserViews(live, WS, ['ann', 'bob']);
    expect(exportUser(views.get('ann')!).push_tokens).toEqual([]);
    expect(exportUser(views.get('bob')!).push_tokens).toEqual([
      { app: 'ios-app', platform: 'ios', token: 'apns-phone', device_id: 'shared-phone', notifications_enabled: true },
    ]);
  });

  it('T4/G6: anonymous devices and another workspace count nowhere; unknown users are absent', async () => {
    const views = await loadUserViews(live, WS, ['ann', 'bob', 'cat', 'nobody']);
    expect([...views.keys()].sort()).toEqual(['ann', 'bob', 'cat']);
    const everyone: SegmentFilter = { not: { user_ids: [] } };
    expect(segmentSize(everyone, views.values())).toEqual({
      total: 3,
      reachable: { ios_push: 1, android_push: 0, web_push: 0 },
    });
    expect(segmentSize({ platform: 'android' }, views.values()).total).toBe(1);
  });

  it('G6 seed: a suppressed device stops counting as reachable and counts again after re-registration (B2)', async () => {
    const db = rebuilt;
    const android = { platform: 'android' } as const;
    const size = async () => segmentSize(android, (await loadUserViews(db, WS, ['cat'])).values());
    expect(await size()).toEqual({ total: 1, reachable: { ios_push: 0, android_push: 0, web_push: 0 } });
    await applyBatches(db, [[deliveryEvents.deliveryStatusChanged(pixel, 1700, 'UNUSED', 'SUPPRESSED')]]);
    expect(await size()).toEqual({ total: 1, reachable: { ios_push: 0, android_push: 1, web_push: 0 } });
  });

  const filters: SegmentFilter[] = [
    { push_enabled: true },
    { push_enabled: false },
    { push_enabled_for_app: 'ios-app' },
    { push_enabled_for_app: 'android-app' },
    { push_enabled_for_app: 'web-app' },
    { foreground_push_enabled: true },
    { foreground_push_enabled: false },
    { background_push_enabled: true },
    { background_push_enabled: false },
    { push_subscription: 'subscribed' },
    { push_subscription: 'opted_in' },
    { push_subscription: 'unsubscribed' },
    { platform: 'ios' },
    { platform: 'android' },
    { platform: 'web' },
    { user_ids: ['ann', 'cat', 'nobody'] },
    { user_ids: [] },
    { not: { user_ids: [] } },
    { and: [{ platform: 'android' }, { push_subscription: 'subscribed' }] },
    { or: [{ push_enabled: true }, { not: { background_push_enabled: true } }] },
    { and: [{ not: { push_subscription: 'unsubscribed' } }, { or: [{ platform: 'ios' }, { user_ids: ['cat'] }] }] },
  ];

  it.each(filters)('G1–G6: the SQL size of %j equals the evaluator over the same read model', async (filter) => {
    const views = await loadUserViews(live, WS, ['ann', 'bob', 'cat']);
    expect(await segmentSizeSql(live, WS, filter)).toEqual(segmentSize(filter, views.values()));
  });

  it('G6: the SQL size counts one workspace only and never anonymous devices', async () => {
    expect(await segmentSizeSql(live, WS, { platform: 'android' })).toEqual({
      total: 1,
      reachable: { ios_push: 0, android_push: 0, web_push: 0 },
    });
    expect(await segmentSizeSql(live, OTHER_WS, { not: { user_ids: [] } })).toEqual({
      total: 1,
      reachable: { ios_push: 1, android_push: 0, web_push: 0 },
    });
  });

  it('export/segment pages: every user of the workspace once, in order, across pages of any size', async () => {
    // dan has a device but no subscription record yet: a user too (S1); cat has two devices, named once.
    await applyBatches(live, [
      [deviceTokenEvents.pushCapabilityChanged({ ...pixel, device_id: 'tablet' }, 1, { user_id: 'dan' })],
    ]);
    for (const pageSize of [1, 2, 3, 1000]) {
      const pages: string[][] = [];
      for await (const page of userIdPages(live, WS, pageSize)) pages.push(page);
      expect(pages.flat()).toEqual(['ann', 'bob', 'cat', 'dan']);
      expect(Math.max(...pages.map((p) => p.length))).toBeLessThanOrEqual(pageSize);
    }
  });

  it('the index answers once it is of the committed version: SQL while first built, then patched after each batch', async () => {
    const cache = new AudienceIndexCache(live, new Registry());
    const filter: SegmentFilter = { push_subscription: 'subscribed' };
    expect(await cache.size(WS, filter)).toEqual({ size: await segmentSizeSql(live, WS, filter), source: 'sql' });
    await cache.rebuild(WS);
    for (const f of filters) {
      expect(await cache.size(WS, f)).toEqual({ size: await segmentSizeSql(live, WS, f), source: 'index' });
    }
    // A committed batch: the next answer waits for the patch and already counts eve, from the index.
    const before = (await cache.size(WS, filter)).size.total;
    await applyBatches(live, [
      [subscriptionEvents.stateChanged({ workspace_id: WS, user_id: 'eve' }, 1, 'SUBSCRIBED')],
    ]);
    expect(await cache.size(WS, filter)).toEqual({ size: await segmentSizeSql(live, WS, filter), source: 'index' });
    expect((await cache.size(WS, filter)).size.total).toBe(before + 1);
    // Another workspace has its own index and version.
    expect((await cache.size(OTHER_WS, filter)).source).toBe('sql');
    await cache.rebuild(OTHER_WS);
    expect(await cache.size(OTHER_WS, filter)).toEqual({
      size: await segmentSizeSql(live, OTHER_WS, filter),
      source: 'index',
    });
    expect((await cache.size(WS, filter)).source).toBe('index');
  });

  it('userViewPages: the same views as loadUserViews, every user once in order, across pages of any size', async () => {
    const ids: string[] = [];
    for await (const page of userIdPages(live, WS, 1000)) ids.push(...page);
    const expected = [...(await loadUserViews(live, WS, ids)).values()].sort((a, b) =>
      ids.indexOf(a.user_id) < ids.indexOf(b.user_id) ? -1 : 1,
    );
    for (const pageSize of [1, 2, 3, 1000]) {
      const pages: UserView[][] = [];
      for await (const page of userViewPages(live, WS, pageSize)) pages.push(page);
      expect(pages.flat()).toEqual(expected);
      expect(Math.max(...pages.map((p) => p.length))).toBeLessThanOrEqual(pageSize);
    }
  });
});
