import { DataSource } from 'typeorm';
import { Registry } from 'prom-client';
import type { DeviceDeliveryEvent, DeviceTokenEvent, Platform, Topics, UserSubscriptionEvent } from '@push/contracts';
import type { ConsumedEvent } from '@push/event-bus';
import { randomSegmentFilter, segmentSize, type SegmentFilter, type UserView } from '@push/segments';
import { openDatabase } from '@push/service-kit';
import {
  deliveryEvents,
  deviceTokenEvents,
  dropDatabase,
  seededRandom,
  subscriptionEvents,
  uniqueDatabaseUrl,
} from '@push/testing';
import { segmentationService } from '../../service';
import { AudienceIndexCache } from './audience-index-cache';
import { userViewPages } from './audience-queries';
import { AudienceProjection } from './audience.projection';
import { segmentSizeSql } from './segment-size-sql';

jest.setTimeout(120_000);

type Consumed = typeof Topics.DeviceTokens | typeof Topics.UserSubscriptions | typeof Topics.DeviceDelivery;
type Fact = DeviceTokenEvent | UserSubscriptionEvent | DeviceDeliveryEvent;

const WS = 'acme';
const OTHER_WS = 'globex';
const APPS: { app_id: string; platform: Platform }[] = [
  { app_id: 'ios-app', platform: 'IOS' },
  { app_id: 'android-app', platform: 'ANDROID' },
  { app_id: 'web-app', platform: 'WEB' },
];
const USERS = 40;
const DEVICES = 60;

let offset = 0;
const consumed = (events: Fact[]): ConsumedEvent<Consumed>[] =>
  events.map((event) => ({
    topic:
      event.type === 'SubscriptionStateChanged'
        ? 'subscription-state.user-subscriptions.v1'
        : event.type === 'DeliveryStatusChanged'
          ? 'bounce-processor.device-delivery.v1'
          : 'token-registry.device-tokens.v1',
    partition: 0,
    offset: String(offset++),
    key: null,
    timestamp: 0,
    event,
  })) as ConsumedEvent<Consumed>[];

const projection = new AudienceProjection();
const applyBatch = (db: DataSource, batch: Fact[]) => db.transaction((tx) => projection.apply(consumed(batch), { tx }));

/** A random record of one of the three owners about the users u0…u39 and devices d0…d59 of a workspace. */
function randomFact(rnd: () => number, workspace_id: string): Fact {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const user = () => `u${Math.floor(rnd() * USERS)}`;
  const d = Math.floor(rnd() * DEVICES);
  const { app_id, platform } = APPS[d % APPS.length];
  const device = { workspace_id, app_id, device_id: `d${d}` };
  const owner = rnd() < 0.1 ? null : user(); // anonymous now and then (T4)
  const token = `token-${d}-${Math.floor(rnd() * 3)}`;
  switch (pick(['state', 'capability', 'assigned', 'removed', 'moved', 'delivery'] as const)) {
    case 'state':
      return subscriptionEvents.stateChanged(
        { workspace_id, user_id: user() },
        1,
        pick(['SUBSCRIBED', 'OPTED_IN', 'UNSUBSCRIBED'] as const),
      );
    case 'capability':
      return deviceTokenEvents.pushCapabilityChanged(device, 1, {
        user_id: owner,
        platform,
        permission: pick(['AUTHORIZED', 'DENIED', 'PROVISIONAL', 'NOT_DETERMINED'] as const),
      });
    case 'assigned':
      return deviceTokenEvents.tokenAssigned(device, 1, token, { user_id: owner, platform });
    case 'removed':
      return deviceTokenEvents.tokenRemoved(device, 1, token, { user_id: owner, platform });
    case 'moved':
      return deviceTokenEvents.deviceUserChanged(device, 1, owner, { platform });
    case 'delivery':
      return deliveryEvents.deliveryStatusChanged(device, 1, pick(['SUPPRESSED', 'UNUSED', 'SENT'] as const), 'SENT', {
        platform,
      });
  }
}

const randomFilter = (rnd: () => number): SegmentFilter =>
  randomSegmentFilter(rnd, {
    appIds: APPS.map((a) => a.app_id),
    userIds: (r) => Array.from({ length: Math.floor(r() * 5) }, () => `u${Math.floor(r() * (USERS + 5))}`),
  });

/** Every user's view of the workspace, as the evaluator's reference. */
async function allViews(db: DataSource, workspaceId: string): Promise<UserView[]> {
  const views: UserView[] = [];
  for await (const page of userViewPages(db, workspaceId, 7)) views.push(...page);
  return views;
}

const everyone: SegmentFilter = { not: { user_ids: [] } };

describe('AudienceIndexCache: the incremental index (real Postgres)', () => {
  const url = uniqueDatabaseUrl('segmentation_index');
  let db: DataSource;
  const replica = () => new AudienceIndexCache(db, new Registry(), { refreshIntervalMs: 0 });

  beforeAll(async () => {
    db = await openDatabase({ url, migrations: segmentationService.migrations });
  });

  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(url);
  });

  it('G1–G6 incremental: after random batches, two replicas patched at different paces answer every random filter as the SQL and the evaluator do', async () => {
    for (const seed of [11, 12, 13]) {
      const rnd = seededRandom(seed);
      const workspace = `${WS}-${seed}`;
      const other = `${OTHER_WS}-${seed}`;
      // Replica a is asked after every batch; replica b only every fourth one (it catches up several versions at once).
      const a = replica();
      const b = replica();
      for (let batch = 0; batch < 24; batch++) {
        const facts = Array.from({ length: 1 + Math.floor(rnd() * 12) }, () =>
          randomFact(rnd, rnd() < 0.85 ? workspace : other),
        );
        await applyBatch(db, facts);
        const asked = batch % 4 === 3 ? [a, b] : [a];
        if (batch === 0) await Promise.all([a.rebuild(workspace), b.rebuild(workspace)]);
        const views = await allViews(db, workspace);
        for (let q = 0; q < 12; q++) {
          const filter = randomFilter(rnd);
          const expected = await segmentSizeSql(db, workspace, filter);
          expect({ seed, batch, filter, evaluator: segmentSize(filter, views) }).toEqual({
            seed,
            batch,
            filter,
            evaluator: expected,
          });
          for (const cache of asked)
            expect({ seed, batch, filter, answer: await cache.size(workspace, filter) }).toEqual({
              seed,
              batch,
              filter,
              answer: { size: expected, source: 'index' },
            });
        }
      }
      // A third replica built now from the read model has the same users as the two patched ones.
      const c = replica();
      await c.rebuild(workspace);
      const [fa, fb, fc] = await Promise.all([a.fresh(workspace), b.fresh(workspace), c.fresh(workspace)]);
      expect(fa!.version).toBe(fc!.version);
      expect(fb!.version).toBe(fc!.version);
      for (let q = 0; q < 30; q++) {
        const filter = randomFilter(rnd);
        const answers = [fa, fb, fc].map((f) => f!.index.size(filter));
        expect(answers[0]).toEqual(answers[2]);
        expect(answers[1]).toEqual(answers[2]);
      }
      // The other workspace never leaks in.
      expect((await a.size(workspace, everyone)).size.total).toBe((await allViews(db, workspace)).length);
    }
  });

  it('T3/G7 through a patch: a device-only user whose last device moves to another user is no user any more', async () => {
    const ws = 'moves';
    const phone = { workspace_id: ws, app_id: 'ios-app', device_id: 'phone' };
    await applyBatch(db, [
      deviceTokenEvents.pushCapabilityChanged(phone, 1, { user_id: 'ann' }),
      deviceTokenEvents.tokenAssigned(phone, 1, 'apns-phone', { user_id: 'ann' }),
    ]);
    const cache = replica();
    await cache.rebuild(ws);
    expect(await cache.size(ws, { user_ids: ['ann', 'bob'] })).toEqual({
      size: { total: 1, reachable: { ios_push: 1, android_push: 0, web_push: 0 } },
      source: 'index',
    });
    await applyBatch(db, [
      deviceTokenEvents.deviceUserChanged(phone, 2, 'bob', { previous_user_id: 'ann', token: 'apns-phone' }),
    ]);
    const answer = await cache.size(ws, everyone);
    expect(answer).toEqual({ size: await segmentSizeSql(db, ws, everyone), source: 'index' });
    expect(answer.size.total).toBe(1);
    expect((await cache.size(ws, { user_ids: ['ann'] })).size.total).toBe(0);
    expect((await cache.size(ws, { user_ids: ['bob'] })).size.reachable.ios_push).toBe(1);
    // G6 seed: suppressed, then registered again (B2).
    await applyBatch(db, [
      deliveryEvents.deliveryStatusChanged(phone, 3, 'SUPPRESSED', 'BOUNCED', { platform: 'IOS' }),
    ]);
    expect((await cache.size(ws, everyone)).size.reachable.ios_push).toBe(0);
    await applyBatch(db, [deliveryEvents.deliveryStatusChanged(phone, 4, 'UNUSED', 'SUPPRESSED', { platform: 'IOS' })]);
    expect((await cache.size(ws, everyone)).size.reachable.ios_push).toBe(1);
  });

  it('a stale replica never answers from an uncommitted or an old state', async () => {
    const ws = 'stale';
    const joined = (user_id: string) => subscriptionEvents.stateChanged({ workspace_id: ws, user_id }, 1, 'SUBSCRIBED');
    await applyBatch(db, [joined('ann')]);
    const a = replica();
    await a.rebuild(ws);
    const before = await segmentSizeSql(db, ws, everyone);
    expect(before.total).toBe(1);

    // A batch written but not committed: neither the built replica nor one built meanwhile counts it.
    const runner = db.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    try {
      await projection.apply(consumed([joined('bob')]), { tx: runner.manager });
      const b = replica();
      await b.rebuild(ws);
      expect(await a.size(ws, everyone)).toEqual({ size: before, source: 'index' });
      expect(await b.size(ws, everyone)).toEqual({ size: before, source: 'index' });
      await runner.commitTransaction();
      // Committed: the very next answer of each replica counts bob (none answers from its older index).
      expect(await a.size(ws, everyone)).toEqual({
        size: { ...before, total: 2 },
        source: 'index',
      });
      expect((await b.size(ws, everyone)).size.total).toBe(2);
    } finally {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      await runner.release();
    }

    // Several batches committed while a replica is not asked: its next answer is of the latest, not of its version.
    for (const user of ['cat', 'dan', 'eve']) await applyBatch(db, [joined(user)]);
    expect(await a.size(ws, everyone)).toEqual({ size: { ...before, total: 5 }, source: 'index' });
  });

  it('every workspace is built at start; a very large backlog is a rebuild, answered by SQL meanwhile', async () => {
    const ws = 'backlog';
    await applyBatch(db, [subscriptionEvents.stateChanged({ workspace_id: ws, user_id: 'u0' }, 1, 'SUBSCRIBED')]);
    const cache = new AudienceIndexCache(db, new Registry(), { refreshIntervalMs: 0, maxPatchUsers: 3 });
    cache.onApplicationBootstrap();
    await cache.refreshAll();
    expect((await cache.size(ws, everyone)).source).toBe('index');
    expect((await cache.size('stale', everyone)).source).toBe('index');
    await applyBatch(
      db,
      ['u1', 'u2', 'u3', 'u4'].map((user_id) =>
        subscriptionEvents.stateChanged({ workspace_id: ws, user_id }, 1, 'SUBSCRIBED'),
      ),
    );
    // Four changed users exceed maxPatchUsers (3): a whole build, the exact SQL answering meanwhile.
    expect(await cache.size(ws, everyone)).toEqual({ size: await segmentSizeSql(db, ws, everyone), source: 'sql' });
    await cache.rebuild(ws);
    expect(await cache.size(ws, everyone)).toEqual({
      size: { total: 5, reachable: { ios_push: 0, android_push: 0, web_push: 0 } },
      source: 'index',
    });
    await cache.onApplicationShutdown();
  });
});
