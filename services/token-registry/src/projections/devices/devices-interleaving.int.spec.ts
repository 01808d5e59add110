import { DataSource } from 'typeorm';
import { openDatabase } from '@push/service-kit';
import { dropDatabase, seededRandom, uniqueDatabaseUrl } from '@push/testing';
import type { TokenRegistryInput } from '../../domain/token-registry';
import { tokenRegistryService } from '../../service';
import { interleavedBatches, logOf, partitionsOf } from '../../testing/interleaved-logs';
import { DevicesStore } from './devices-store';

jest.setTimeout(120_000);

/** SQLSTATEs of a transaction that lost a race with a concurrent one, which the projection runner retries at once. */
const LOST_RACE = new Set(['40001', '40P01', '23505']);

/** The log again in workspace `workspace`, its event ids prefixed alike (their order, which breaks ties, is kept). */
const inWorkspace = (log: readonly TokenRegistryInput[], workspace: string): TokenRegistryInput[] =>
  log.map(
    (input) =>
      ({
        ...input,
        data: { ...input.data, workspace_id: workspace, event_id: `${workspace}-${input.data.event_id}` },
      }) as TokenRegistryInput,
  );

/**
 * T2/T9 and S1 in the read model: one log applied batch by batch through `DevicesStore` (as the projection does, one
 * transaction per batch) with its two partitions interleaved differently — and once with both partitions' batches
 * running at the same time, as the live service does — leaves the same rows. Each application is a workspace of its
 * own in one database.
 */
describe('DevicesStore: the read model does not depend on how partitions interleave (real Postgres)', () => {
  const url = uniqueDatabaseUrl('token_registry_interleaving');
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = await openDatabase({ url, migrations: tokenRegistryService.migrations });
  });

  afterAll(async () => {
    await dataSource.destroy();
    await dropDatabase(url);
  });

  /** One batch in its transaction, retried at once when it lost a race (as the projection runner does). */
  async function applyBatch(batch: readonly TokenRegistryInput[]): Promise<void> {
    for (;;) {
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      await runner.startTransaction();
      try {
        const store = await DevicesStore.load(runner.manager, batch);
        for (const input of batch) store.registry.handle(input);
        await store.save();
        await runner.commitTransaction();
        return;
      } catch (error) {
        await runner.rollbackTransaction();
        if (!LOST_RACE.has((error as { code?: string }).code ?? '')) throw error;
      } finally {
        await runner.release();
      }
    }
  }

  /** A workspace's rows of the tables that must not differ, without the workspace and the event id prefixes. */
  async function readModelOf(workspace: string) {
    const rows = async (sql: string) =>
      JSON.parse(JSON.stringify(await dataSource.query(sql, [workspace])).replaceAll(`${workspace}-`, '')) as unknown[];
    return {
      devices: await rows(
        `select to_jsonb(d) - 'workspace_id' as row from devices d where workspace_id = $1 order by app_id, device_id`,
      ),
      tokenHolders: await rows(
        'select app_id, token, device_id from token_holders where workspace_id = $1 order by app_id, token',
      ),
      tokenRegistrations: await rows(
        `select app_id, token, device_id, registered_at_ms, event_id from token_registrations where workspace_id = $1
         order by app_id, token`,
      ),
      usersSeen: await rows('select user_id, first_seen_at from users_seen where workspace_id = $1 order by user_id'),
    };
  }

  const check = async (ties: boolean) => {
    for (let seed = 1; seed <= 12; seed++) {
      const rng = seededRandom(seed);
      const log = logOf(rng, 60, ties);
      const ws = (k: number) => `${ties ? 'ties' : 'distinct'}-${seed}-${k}`;

      // The log's own order, in batches of four.
      const inOrder = inWorkspace(log, ws(0));
      for (let i = 0; i < inOrder.length; i += 4) await applyBatch(inOrder.slice(i, i + 4));
      const expected = await readModelOf(ws(0));

      for (let k = 1; k <= 2; k++) {
        for (const batch of interleavedBatches(rng, inWorkspace(log, ws(k)))) await applyBatch(batch);
        expect({ seed, ...(await readModelOf(ws(k))) }).toEqual({ seed, ...expected });
      }

      // Both partitions at once, each in batches of three, their transactions racing on shared tokens and users.
      await Promise.all(
        partitionsOf(inWorkspace(log, ws(3))).map(async (partition) => {
          for (let i = 0; i < partition.length; i += 3) await applyBatch(partition.slice(i, i + 3));
        }),
      );
      expect({ seed, ...(await readModelOf(ws(3))) }).toEqual({ seed, ...expected });
    }
  };

  it('T2/T9/S1: devices, token holders, token registrations and users_seen are the same in every interleaving (distinct times)', () =>
    check(false));

  it('T2/T9/S1: …and with same-millisecond events of several devices (event_id decides between devices)', () =>
    check(true));
});
