import { DataSource } from 'typeorm';
import { Topics, UserSubscriptionEvent } from '@push/contracts';
import type { ConsumedEvent, OutgoingEvent } from '@push/event-bus';
import { AppsFile, openDatabase } from '@push/service-kit';
import { deviceTokenEvents, dropDatabase, uniqueDatabaseUrl, userEvents } from '@push/testing';
import type { SubscriptionInput } from '../../domain/facts';
import { subscriptionStateService } from '../../service';
import { SubscriptionsProjection } from './subscriptions.projection';

jest.setTimeout(30_000);

type Consumed = typeof Topics.UserEvents | typeof Topics.DeviceTokens;

const WS = 'acme';
const kim = { workspace_id: WS, user_id: 'kim' };
const iphone = { workspace_id: WS, app_id: 'ios-app', device_id: 'iphone' };
const pixel = { workspace_id: WS, app_id: 'android-app', device_id: 'pixel' };
const kiosk = { workspace_id: WS, app_id: 'kiosk-app', device_id: 'kiosk' };

const apps = AppsFile.parse({
  apps: [
    {
      workspace_id: WS,
      app_id: 'kiosk-app',
      platform: 'web',
      opt_in_when_push_authorized: false,
      webpush: {
        vapid_public_key: 'pub',
        vapid_private_key: 'priv',
        subject: 'mailto:ops@acme.test',
      },
    },
  ],
});

let offset = 0;
const consumed = (events: SubscriptionInput[]): ConsumedEvent<Consumed>[] =>
  events.map((event) => ({
    topic: event.type === 'PushSubscriptionSet' ? Topics.UserEvents : Topics.DeviceTokens,
    partition: 0,
    offset: String(offset++),
    key: null,
    timestamp: 0,
    event,
  })) as ConsumedEvent<Consumed>[];

/** The rows the subscriptions projection writes, in a stable order, for comparing two runs. */
async function readModel(dataSource: DataSource) {
  return { users: await dataSource.query('select * from user_subscriptions order by workspace_id, user_id') };
}

const historyRows = async (dataSource: DataSource) =>
  (await dataSource.query('select count(*)::int as n from subscription_history'))[0].n as number;

/** The projection as the runner calls it: one batch in one transaction. */
async function applyBatch(dataSource: DataSource, events: SubscriptionInput[]) {
  const projection = new SubscriptionsProjection(apps);
  return dataSource.transaction((tx) => projection.apply(consumed(events), { tx }));
}

const recordsOf = (outputs: OutgoingEvent<typeof Topics.UserSubscriptions>[]) =>
  outputs.map((o) => o.event as UserSubscriptionEvent);

/** The subscriptions projection on real Postgres, without the broker: batches in, rows and outputs out. */
describe('subscriptions projection (real Postgres)', () => {
  const urls = [uniqueDatabaseUrl('subscription_state_projection'), uniqueDatabaseUrl('subscription_state_rebuild')];
  let live: DataSource;
  let rebuilt: DataSource;

  beforeAll(async () => {
    [live, rebuilt] = await Promise.all(
      urls.map((url) => openDatabase({ url, migrations: subscriptionStateService.migrations })),
    );
  });

  afterAll(async () => {
    await Promise.all([live?.destroy(), rebuilt?.destroy()]);
    await Promise.all(urls.map((url) => dropDatabase(url)));
  });

  const batches: SubscriptionInput[][] = [
    [deviceTokenEvents.userFirstSeen(iphone, 1000, 'kim'), deviceTokenEvents.userFirstSeen(pixel, 1100, 'ann')],
    [
      deviceTokenEvents.pushCapabilityChanged(iphone, 2000, { user_id: 'kim' }),
      deviceTokenEvents.pushCapabilityChanged(pixel, 2100, { user_id: 'ann', platform: 'ANDROID', os_version: '12' }),
      deviceTokenEvents.pushCapabilityChanged(kiosk, 2200, { user_id: 'ann', platform: 'WEB', os_version: null }),
    ],
    [
      userEvents.pushSubscriptionSet(kim, 3000, 'UNSUBSCRIBED', 'REST'),
      userEvents.pushSubscriptionSet(kim, 2500, 'OPTED_IN', 'SDK'), // late and older: nothing
      userEvents.pushSubscriptionSet({ workspace_id: WS, user_id: 'zoe' }, 3100, 'OPTED_IN', 'DASHBOARD'),
    ],
    [deviceTokenEvents.pushCapabilityChanged(iphone, 4000, { user_id: 'kim', previous_permission: 'DENIED' })],
  ];

  /** What the first application of the batches published. */
  const published: OutgoingEvent<typeof Topics.UserSubscriptions>[] = [];

  it('S1–S5: batches write the users and the published changes, not the history (projected from the output topic)', async () => {
    const outputs = published;
    for (const batch of batches) outputs.push(...(await applyBatch(live, batch)));

    expect(outputs.map((o) => [o.key, o.event.data.previous_state, o.event.data.state, o.event.data.source])).toEqual([
      ['acme:kim', null, 'SUBSCRIBED', 'FIRST_SEEN'],
      ['acme:ann', null, 'SUBSCRIBED', 'FIRST_SEEN'],
      ['acme:kim', 'SUBSCRIBED', 'OPTED_IN', 'AUTO_OPT_IN'], // ann: Android 12 and an app that does not opt in
      ['acme:kim', 'OPTED_IN', 'UNSUBSCRIBED', 'REST'],
      ['acme:zoe', null, 'OPTED_IN', 'DASHBOARD'],
    ]);
    expect(outputs.every((o) => o.topic === Topics.UserSubscriptions)).toBe(true);
    const { users } = await readModel(live);
    expect(users.map((u: { user_id: string; state: string }) => [u.user_id, u.state])).toEqual([
      ['ann', 'SUBSCRIBED'],
      ['kim', 'UNSUBSCRIBED'],
      ['zoe', 'OPTED_IN'],
    ]);
    expect(users[1]).toMatchObject({
      opted_in_at_ms: null,
      explicit_state: 'UNSUBSCRIBED',
      explicit_at_ms: '3000',
      auto_opt_in_at_ms: '4000',
      auto_opt_in_times_ms: ['4000'],
    });
    expect(users[2]).toMatchObject({ opted_in_at_ms: '3100' });
    // S5's history is the published records read back (subscription-history.projection.ts): written here as well, a
    // replay's other interleaving would add records the topic does not have.
    expect(await historyRows(live)).toBe(0);
  });

  it('S5: replaying the same batches again (a redelivery) changes no row and publishes nothing', async () => {
    const before = await readModel(live);

    const again = [];
    for (const batch of batches) again.push(...(await applyBatch(live, batch)));

    expect(again).toEqual([]);
    expect(await readModel(live)).toEqual(before);
  });

  it('S5: replaying them into a fresh database (a rebuild) gives the same rows and the same published records', async () => {
    const first = await readModel(live);
    const republished = [];
    for (const batch of batches) republished.push(...(await applyBatch(rebuilt, batch)));

    expect(await readModel(rebuilt)).toEqual(first);
    expect(recordsOf(republished).map((e) => e.data.event_id)).toEqual(
      recordsOf(published).map((e) => e.data.event_id),
    );
  });

  it('S1: two partitions seeing a new user at the same time publish one first sighting; the second waits and finds the user', async () => {
    const projection = new SubscriptionsProjection(apps);
    const lee = { workspace_id: WS, user_id: 'lee' };
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));

    const first = live.transaction(async (tx) => {
      const out = await projection.apply(consumed([deviceTokenEvents.userFirstSeen(iphone, 1000, 'lee')]), { tx });
      await firstHolds;
      return out;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    let secondDone = false;
    const second = live
      .transaction((tx) =>
        projection.apply(consumed([userEvents.pushSubscriptionSet(lee, 2000, 'UNSUBSCRIBED', 'REST')]), { tx }),
      )
      .then((out) => ((secondDone = true), out));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(secondDone).toBe(false);
    releaseFirst();

    const outputs = [...(await first), ...(await second)];
    expect(outputs.map((o) => [o.event.data.previous_state, o.event.data.state, o.event.data.source])).toEqual([
      [null, 'SUBSCRIBED', 'FIRST_SEEN'],
      ['SUBSCRIBED', 'UNSUBSCRIBED', 'REST'],
    ]);
  });
});
