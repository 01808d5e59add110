import { DataSource, QueryRunner } from 'typeorm';
import { dropDatabase, uniqueDatabaseUrl } from '@push/testing';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ShutdownSequence } from '../bootstrap/shutdown-sequence';
import { openDatabase } from './database';
import { analyzeStaleTables, staleTables } from './planner-statistics';
import { PlannerStatisticsKeeper } from './planner-statistics-keeper';

jest.setTimeout(60_000);

describe('planner statistics kept fresh by the service (real Postgres)', () => {
  const url = uniqueDatabaseUrl('kit_statistics');
  let db: DataSource;
  let writer: QueryRunner; // one connection for every write, so that its statistics can be flushed on request

  beforeAll(async () => {
    db = await openDatabase({ url, migrations: [] });
    writer = db.createQueryRunner();
    await writer.connect();
    await writer.query('create table pages (id int primary key, owner text not null)');
    await writer.query('create table small (id int primary key)');
    await writer.query('insert into pages select i, $1 from generate_series(1, 50000) i', ['kim']);
    await writer.query('insert into small select i from generate_series(1, 100) i');
  });

  afterAll(async () => {
    await writer.release();
    await db.destroy();
    await dropDatabase(url);
  });

  // pg_stat counters reach the view when a backend flushes them (up to 10 s after its last statement unless asked).
  const flushed = async () => {
    await writer.query('select pg_stat_force_next_flush()');
    await new Promise((resolve) => setTimeout(resolve, 300));
  };

  it('a bulk-loaded table never analyzed is stale, a small one is not; after analyzeStaleTables neither is', async () => {
    await flushed();
    expect(await staleTables(db, ['pages', 'small'])).toEqual(['pages']);

    expect(await analyzeStaleTables(writer, ['pages', 'small'])).toEqual(['pages']);
    await flushed();
    expect(await staleTables(db, ['pages', 'small'])).toEqual([]);
    const [{ reltuples }] = await db.query("select reltuples::int from pg_class where relname = 'pages'");
    expect(reltuples).toBe(50000); // the planner now knows the table's size
  });

  it('a table modified by more than the fraction since its analysis is stale again', async () => {
    await writer.query('update pages set owner = $1 where id <= 15000', ['lee']);
    await flushed();
    expect(await staleTables(db, ['pages'])).toEqual(['pages']); // 15,000 of 50,000 > a fifth
    expect(await staleTables(db, ['pages'], { fraction: 0.5 })).toEqual([]);
  });

  it("every service's keeper analyzes the stale tables of its whole schema, and only those, then none again", async () => {
    await writer.query('create table sightings (id int primary key, user_id text not null)');
    await writer.query("insert into sightings select i, 'u' || i from generate_series(1, 30000) i");
    await flushed();
    const registry = new Registry();
    const logger = pino({ level: 'silent' });
    const keeper = new PlannerStatisticsKeeper(db, logger, registry, new ShutdownSequence(db, logger));
    // `pages` was left stale by the test before (15,000 rows updated), `sightings` never analyzed, `small` too small.
    expect(await keeper.check()).toEqual(['pages', 'sightings']);
    await flushed();
    expect(await keeper.check()).toEqual([]);
    const [metric] = (await registry.getMetricsAsJSON()).filter(
      (m) => m.name === 'planner_statistics_tables_analyzed_total',
    );
    expect(metric.values[0].value).toBe(2);
    // The planner now looks a sighting up by its key instead of hashing the whole table.
    const plan: { 'QUERY PLAN': string }[] = await db.query(
      'explain select * from sightings s join unnest(array[1, 2, 3]) k(id) using (id)',
    );
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).not.toMatch(/Seq Scan on sightings/);
  });
});
