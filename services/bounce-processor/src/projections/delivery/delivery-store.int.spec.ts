import type { DataSource } from 'typeorm';
import type { DeviceDeliveryEvent, DispatchOutcomeEvent } from '@push/contracts';
import { openDatabase } from '@push/service-kit';
import { deviceTokenEvents, dropDatabase, outcomeEvents, uniqueDatabaseUrl } from '@push/testing';
import { DEFAULT_BURST_SETTINGS } from '../../domain/burst-window';
import { bounceProcessorService } from '../../service';
import { applyOperatorCommand, applyOutcomes, applyRegistrations } from './delivery-store';

jest.setTimeout(60_000);

const WS = 'acme';
const device = (app_id: string, device_id: string) => ({ workspace_id: WS, app_id, device_id });
const android = { platform: 'ANDROID' as const };
const SETTLE = DEFAULT_BURST_SETTINGS.settleMs;

/** A shard's log: a burst on one app, single bounces on others, sends, and outcomes late enough to decide the pending. */
function shardLog(): DispatchOutcomeEvent[] {
  const log: DispatchOutcomeEvent[] = [];
  for (let i = 0; i < 40; i++) {
    log.push(outcomeEvents.pushSent(device('ios-app', `phone-${i}`), 1_000 + i));
    log.push(
      outcomeEvents.pushBounced(
        device('burst-app', `d${i}`),
        1_000 + i,
        `tok-${i}`,
        'messaging/mismatched-credential',
        android,
      ),
    );
  }
  log.push(outcomeEvents.pushBounced(device('quiet-app', 'q1'), 1_050, 'tok-q1', 'MismatchSenderId', android));
  log.push(outcomeEvents.pushBounced(device('ios-app', 'phone-3'), 1_060, 'tok-p3', 'Unregistered'));
  log.push(outcomeEvents.pushBounced(device('ios-app', 'phone-3'), 1_070, 'tok-p3', 'Unregistered'));
  log.push(outcomeEvents.pushBounced(device('ios-app', 'phone-4'), 1_080, 'tok-p4', 'SomethingNew'));
  log.push(outcomeEvents.pushSent(device('ios-app', 'phone-5'), 1_100 + SETTLE));
  return log;
}

/** The log applied in transactions of `batchSize` events, as the projection runner would; what they published. */
async function applyInBatches(dataSource: DataSource, log: readonly DispatchOutcomeEvent[], batchSize: number) {
  const published: DeviceDeliveryEvent[] = [];
  for (let i = 0; i < log.length; i += batchSize)
    await dataSource.transaction(async (tx) => {
      published.push(...(await applyOutcomes(tx, 3, DEFAULT_BURST_SETTINGS, log.slice(i, i + batchSize))).events);
    });
  return published;
}

const readModel = async (dataSource: DataSource) => ({
  devices: await dataSource.query(
    'select workspace_id, app_id, device_id, status, consecutive_bounces, history from delivery_devices order by 1, 2, 3',
  ),
  waiting: await dataSource.query(
    'select app_id, bounce_event_id, shard, state from waiting_bounces order by app_id, at_ms, bounce_event_id',
  ),
  windows: await dataSource.query('select shard, app_id, buckets, flagged from burst_windows order by 1, 2'),
  shards: await dataSource.query('select shard, watermark_ms::float8 from burst_shards'),
});

describe('the delivery read model (real Postgres)', () => {
  const urls = [uniqueDatabaseUrl('bounce_store_a'), uniqueDatabaseUrl('bounce_store_b')];
  let a: DataSource;
  let b: DataSource;

  beforeAll(async () => {
    [a, b] = await Promise.all(urls.map((url) => openDatabase({ url, migrations: bounceProcessorService.migrations })));
  });

  afterAll(async () => {
    await Promise.all([a, b].map((dataSource) => dataSource.destroy()));
    await Promise.all(urls.map((url) => dropDatabase(url)));
  });

  const log = shardLog();

  it('B4: a replay into another database, in other batches, decides the same and leaves the same read model', async () => {
    const inOne = await applyInBatches(a, log, log.length);
    const inSevens = await applyInBatches(b, log, 7);

    expect(inSevens).toEqual(inOne);
    expect(await readModel(b)).toEqual(await readModel(a));
    const invalidated = inOne.filter((e) => e.type === 'TokenInvalidated').map((e) => e.data.device_id);
    expect(invalidated).toEqual(['phone-3', 'phone-3', 'q1']);
    expect(inOne.filter((e) => e.type === 'AppProviderFlagged').map((e) => e.data.app_id)).toEqual(['burst-app']);
    const { waiting } = await readModel(a);
    expect(waiting.filter((w: { state: string }) => w.state === 'held')).toHaveLength(40);
    expect(waiting.every((w: { shard: number }) => w.shard === 3)).toBe(true);
  });

  it('B1: the same log applied again (redelivered) changes nothing and publishes nothing', async () => {
    const before = await readModel(a);
    expect(await applyInBatches(a, log, 5)).toEqual([]);
    expect(await readModel(a)).toEqual(before);
  });

  it('B2: a registration from token-registry clears a suppressed device, once', async () => {
    const renewed = deviceTokenEvents.tokenRenewed(device('ios-app', 'phone-3'), 2_000 + SETTLE, 'tok-p3');
    const first = await a.transaction((tx) => applyRegistrations(tx, 0, [renewed]));
    const again = await a.transaction((tx) => applyRegistrations(tx, 0, [renewed]));

    expect(first.events).toMatchObject([
      {
        type: 'DeliveryStatusChanged',
        data: { device_id: 'phone-3', status: 'UNUSED', previous_status: 'SUPPRESSED' },
      },
    ]);
    expect(again.events).toEqual([]);
  });

  it('B1/B2: a new device — its registration and first outcome applied by concurrent transactions — gets both', async () => {
    // Its outcomes and its registrations come on two topics, applied at the same time by two partitions' batches.
    const fresh = device('ios-app', 'fresh-1');
    const registered = deviceTokenEvents.tokenAssigned(fresh, 3_000, 'tok-fresh', { user_id: 'kim' });
    const sent = outcomeEvents.pushSent(fresh, 3_001);
    let releaseRegistration = () => {};
    const registrationHeld = new Promise<void>((resolve) => (releaseRegistration = resolve));
    const finished: string[] = [];

    const registration = a.transaction(async (tx) => {
      await applyRegistrations(tx, 0, [registered]);
      await registrationHeld; // still open while the outcome's batch runs
      finished.push('registration');
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const outcome = a.transaction(async (tx) => {
      await applyOutcomes(tx, 4, DEFAULT_BURST_SETTINGS, [sent]);
      finished.push('outcome');
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    releaseRegistration();
    await Promise.all([registration, outcome]);

    // The outcome's batch waited for the registration's (the device's claim), then read its row.
    expect(finished).toEqual(['registration', 'outcome']);
    const [row] = await a.query(
      "select user_id, status, jsonb_array_length(history) as outcomes from delivery_devices where device_id = 'fresh-1'",
    );
    expect(row).toEqual({ user_id: 'kim', status: 'SENT', outcomes: 1 });
  });

  it('B4: release applies the held bounces as B3 once; the rows are gone afterwards', async () => {
    const command = { type: 'ReleaseHeldBounces' as const, data: { workspace_id: WS, app_id: 'burst-app' } };
    const released = await a.transaction((tx) => applyOperatorCommand(tx, command));
    const again = await a.transaction((tx) => applyOperatorCommand(tx, command));

    expect(released.bounces).toBe(40);
    expect(released.events.filter((e) => e.type === 'TokenInvalidated')).toHaveLength(40);
    expect(again).toMatchObject({ bounces: 0, events: [] });
    expect(await a.query("select count(*)::int as n from waiting_bounces where app_id = 'burst-app'")).toEqual([
      { n: 0 },
    ]);
    expect(
      await a.query("select status from delivery_devices where app_id = 'burst-app' and device_id = 'd0'"),
    ).toEqual([{ status: 'BOUNCED' }]);
  });
});
