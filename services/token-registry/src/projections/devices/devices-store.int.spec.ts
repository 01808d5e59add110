import { randomBytes } from 'node:crypto';
import { DataSource, QueryRunner } from 'typeorm';
import { Topics } from '@push/contracts';
import { openDatabase } from '@push/service-kit';
import { deliveryEvents, deviceEvents, dropDatabase, uniqueDatabaseUrl } from '@push/testing';
import { changelogEntriesOf } from '../../domain/changelog';
import { TokenRegistryInput } from '../../domain/token-registry';
import { MAX_ID_BYTES, MAX_TOKEN_BYTES, inputProblem } from '../../domain/validation';
import { tokenRegistryService } from '../../service';
import { DevicesProjection } from './devices.projection';
import { DevicesStore } from './devices-store';
import { appendChangelog } from './token-changelog';

jest.setTimeout(30_000);

const deviceOf = (device_id: string) => ({ workspace_id: 'acme', app_id: 'ios-app', device_id });
/** SQLSTATEs of a transaction that lost a race with a concurrent one, which the projection runner retries at once. */
const LOST_RACE = new Set(['40001', '40P01', '23505']);

/** What the projection does with one batch, in a transaction the test commits. */
async function load(runner: QueryRunner, events: TokenRegistryInput[]) {
  await runner.connect();
  await runner.startTransaction();
  return DevicesStore.load(runner.manager, events);
}

async function applyAndCommit(runner: QueryRunner, store: DevicesStore, events: TokenRegistryInput[]) {
  const published = events.flatMap((event) => store.registry.handle(event));
  await store.save();
  await runner.commitTransaction();
  await runner.release();
  return published;
}

/** T2 and T8 across partitions: two transactions of token-registry touching one token at the same time. */
describe('DevicesStore with concurrent transactions (real Postgres)', () => {
  const url = uniqueDatabaseUrl('token_registry_store');
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = await openDatabase({ url, migrations: tokenRegistryService.migrations });
  });

  afterAll(async () => {
    await dataSource.destroy();
    await dropDatabase(url);
  });

  it('the second waits for the first instead of failing at commit, then moves the token to its device', async () => {
    const first = [deviceEvents.tokenRegistered(deviceOf('phone-a'), 1_000, 'new-shared-token')];
    const second = [deviceEvents.tokenRegistered(deviceOf('phone-b'), 2_000, 'new-shared-token')];
    const runnerA = dataSource.createQueryRunner();
    const runnerB = dataSource.createQueryRunner();

    const storeA = await load(runnerA, first);
    let secondLoaded = false;
    const loadingB = load(runnerB, second).then((store) => ((secondLoaded = true), store));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(secondLoaded).toBe(false);

    await applyAndCommit(runnerA, storeA, first);
    const publishedB = await applyAndCommit(runnerB, await loadingB, second);

    expect(publishedB.map((e) => [e.type, e.data.device_id])).toEqual([
      ['TokenRemoved', 'phone-a'],
      ['PushCapabilityChanged', 'phone-b'],
      ['TokenAssigned', 'phone-b'],
    ]);
    expect(await dataSource.query('select token, device_id from token_holders')).toEqual([
      { token: 'new-shared-token', device_id: 'phone-b' },
    ]);
    expect(await dataSource.query('select device_id, token, token_status from devices order by device_id')).toEqual([
      { device_id: 'phone-a', token: null, token_status: 'removed' },
      { device_id: 'phone-b', token: 'new-shared-token', token_status: 'active' },
    ]);
  });

  it('a claim that no device ends up holding is not left behind', async () => {
    const runner = dataSource.createQueryRunner();
    const events = [
      deviceEvents.tokenRegistered(deviceOf('tablet'), 1_000, 'first-token'),
      deviceEvents.tokenRegistered(deviceOf('tablet'), 2_000, 'second-token'),
    ];
    await applyAndCommit(runner, await load(runner, events), events);
    expect(
      await dataSource.query(
        `select token, device_id from token_holders where device_id in ('tablet', '') order by token`,
      ),
    ).toEqual([{ token: 'second-token', device_id: 'tablet' }]);
  });

  /** What the runner does with a batch: applied in a transaction of its own, retried at once when it lost a race. */
  async function applyRetryingRaces(events: TokenRegistryInput[]) {
    for (;;) {
      const runner = dataSource.createQueryRunner();
      try {
        return await applyAndCommit(runner, await load(runner, events), events);
      } catch (error) {
        await runner.rollbackTransaction();
        await runner.release();
        if (!LOST_RACE.has((error as { code?: string }).code ?? '')) throw error;
      }
    }
  }

  /** Starts a batch that is expected to wait for an open transaction; `settled()` says whether it finished yet. */
  function start(events: TokenRegistryInput[]) {
    let settled = false;
    const done = applyRetryingRaces(events).finally(() => (settled = true));
    return { done, settled: () => settled };
  }

  const pause = () => new Promise((resolve) => setTimeout(resolve, 500));
  const devices = (...ids: string[]) =>
    dataSource.query(
      'select device_id, token, token_status from devices where device_id = any($1) order by device_id',
      [ids],
    );

  it('T8/T2 race: an invalidation racing a move of its token to another device reaches the new device', async () => {
    await applyRetryingRaces([deviceEvents.tokenRegistered(deviceOf('old-phone'), 1_000, 'moving-token')]);
    const move = [deviceEvents.tokenRegistered(deviceOf('new-phone'), 2_000, 'moving-token')];
    const mover = dataSource.createQueryRunner();
    const moving = await load(mover, move);

    // Bounced on the device that held the token when the push was sent; the move is not committed yet.
    const invalidation = start([
      deliveryEvents.tokenInvalidated(deviceOf('old-phone'), 3_000, 'moving-token', {
        provider_reason: 'BadDeviceToken',
      }),
    ]);
    await pause();
    await applyAndCommit(mover, moving, move);
    const published = await invalidation.done;

    expect(published).toMatchObject([
      { type: 'TokenRemoved', data: { device_id: 'new-phone', token: 'moving-token', reason: 'INVALIDATED' } },
    ]);
    expect(await devices('old-phone', 'new-phone')).toEqual([
      { device_id: 'new-phone', token: 'moving-token', token_status: 'invalidated' },
      { device_id: 'old-phone', token: null, token_status: 'removed' },
    ]);
  });

  it('T8/T2 race: a move waiting for an invalidation of its token carries the token invalidated', async () => {
    await applyRetryingRaces([deviceEvents.tokenRegistered(deviceOf('old-tablet'), 1_000, 'dying-token')]);
    const invalidation = [
      deliveryEvents.tokenInvalidated(deviceOf('old-tablet'), 3_000, 'dying-token', {
        provider_reason: 'BadDeviceToken',
      }),
    ];
    const invalidator = dataSource.createQueryRunner();
    const invalidating = await load(invalidator, invalidation);

    const move = start([deviceEvents.tokenRegistered(deviceOf('new-tablet'), 2_000, 'dying-token')]);
    await pause();
    expect(move.settled()).toBe(false);
    await applyAndCommit(invalidator, invalidating, invalidation);
    await move.done;

    expect(await devices('old-tablet', 'new-tablet')).toEqual([
      { device_id: 'new-tablet', token: 'dying-token', token_status: 'invalidated' },
      { device_id: 'old-tablet', token: null, token_status: 'removed' },
    ]);
  });

  it('T8/T2 race: an invalidation racing the first claim of a new token waits for the claim, then invalidates the token on its new device', async () => {
    const claim = [deviceEvents.tokenRegistered(deviceOf('fresh-phone'), 2_000, 'fresh-token')];
    const claimer = dataSource.createQueryRunner();
    const claiming = await load(claimer, claim);

    // A bounce of the same token string sent to a device that held it before (since uninstalled).
    const invalidation = start([deliveryEvents.tokenInvalidated(deviceOf('gone-phone'), 3_000, 'fresh-token')]);
    await pause();
    expect(invalidation.settled()).toBe(false);
    await applyAndCommit(claimer, claiming, claim);
    await invalidation.done;

    expect(await devices('fresh-phone')).toEqual([
      { device_id: 'fresh-phone', token: 'fresh-token', token_status: 'invalidated' },
    ]);
    expect(await dataSource.query(`select device_id from token_holders where token = 'fresh-token'`)).toEqual([
      { device_id: 'fresh-phone' },
    ]);
  });

  it("T8/T7 race: an invalidation racing the uninstall of the token's device neither deadlocks nor leaves a holder behind", async () => {
    await applyRetryingRaces([deviceEvents.tokenRegistered(deviceOf('removed-app'), 1_000, 'orphan-token')]);
    const uninstall = [deviceEvents.appUninstalled(deviceOf('removed-app'), 2_000)];
    const uninstaller = dataSource.createQueryRunner();
    const uninstalling = await load(uninstaller, uninstall);

    const invalidation = start([deliveryEvents.tokenInvalidated(deviceOf('removed-app'), 3_000, 'orphan-token')]);
    await pause();
    await applyAndCommit(uninstaller, uninstalling, uninstall);
    await invalidation.done;

    expect(await devices('removed-app')).toEqual([{ device_id: 'removed-app', token: null, token_status: 'removed' }]);
    expect(await dataSource.query(`select device_id from token_holders where token = 'orphan-token'`)).toEqual([]);
    expect(await dataSource.query(`select provider_reason from token_tombstones where token = 'orphan-token'`)).toEqual(
      [{ provider_reason: 'Unregistered' }],
    );
  });
});

describe('read model limits (real Postgres)', () => {
  const url = uniqueDatabaseUrl('token_registry_limits');
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = await openDatabase({ url, migrations: tokenRegistryService.migrations });
  });

  afterAll(async () => {
    await dataSource.destroy();
    await dropDatabase(url);
  });

  it('§3.5: the longest ids (256 bytes) and token (2048 bytes) validation accepts fit every index of the read model', async () => {
    // Random base64: Postgres cannot compress it, so each index entry is as wide as these limits allow.
    const random = (bytes: number) => randomBytes(bytes).toString('base64').slice(0, bytes);
    const device = {
      workspace_id: random(MAX_ID_BYTES),
      app_id: random(MAX_ID_BYTES),
      device_id: random(MAX_ID_BYTES),
    };
    const token = random(MAX_TOKEN_BYTES);
    const events = [
      deviceEvents.tokenRegistered(device, 1_000, token, { user_id: random(MAX_ID_BYTES) }),
      deviceEvents.changeUser(device, 2_000, random(MAX_ID_BYTES)),
      deliveryEvents.tokenInvalidated(device, 3_000, token),
    ];
    expect(events.map(inputProblem)).toEqual([null, null, null]);

    const runner = dataSource.createQueryRunner();
    const published = await applyAndCommit(runner, await load(runner, events), events);
    // The changelog projection's rows, from the records the batch published.
    await dataSource.transaction((tx) => appendChangelog(tx, published.flatMap(changelogEntriesOf)));

    expect(await dataSource.query('select token_status from devices')).toEqual([{ token_status: 'invalidated' }]);
    expect(await dataSource.query('select count(*)::int as n from token_tombstones')).toEqual([{ n: 1 }]);
    expect(await dataSource.query('select count(*)::int as n from token_changelog')).toEqual([{ n: 3 }]);
  });
});

describe('the devices projection and the changelog (real Postgres)', () => {
  const url = uniqueDatabaseUrl('token_registry_batch');
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = await openDatabase({ url, migrations: tokenRegistryService.migrations });
  });

  afterAll(async () => {
    await dataSource.destroy();
    await dropDatabase(url);
  });

  it('T3: a batch publishes the moves but writes no changelog row: the changelog is projected from the output topic', async () => {
    const phone = deviceOf('batch-phone');
    const events = [
      deviceEvents.tokenRegistered(phone, 1_000, 'batch-token', { user_id: 'ann' }),
      deviceEvents.changeUser(phone, 2_000, 'bob'),
    ];
    const consumed = events.map((event, offset) => ({
      topic: Topics.DeviceEvents,
      partition: 0,
      offset: String(offset),
      key: null,
      timestamp: 0,
      event,
    }));

    const outputs = await dataSource.transaction((tx) => new DevicesProjection().apply(consumed, { tx }));

    expect(outputs.flatMap((o) => changelogEntriesOf(o.event)).map((e) => [e.fromUserId, e.toUserId])).toEqual([
      [null, 'ann'],
      ['ann', 'bob'],
    ]);
    expect(await dataSource.query('select count(*)::int as n from token_changelog')).toEqual([{ n: 0 }]);
  });
});
