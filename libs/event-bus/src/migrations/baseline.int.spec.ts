import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { createDatabase, dropDatabase, uniqueDatabaseUrl } from '@push/testing';
import { EVENT_BUS_MIGRATIONS } from './event-bus-tables';

jest.setTimeout(30_000);

/** The first of the migrations the baseline replaced, as TypeORM recorded it in a database it migrated. */
class EventBusTables1763856000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('create table consumer_offsets (group_id text, topic text, partition integer)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table consumer_offsets');
  }
}

describe('the event bus schema baseline (real Postgres)', () => {
  const url = uniqueDatabaseUrl('event_bus_baseline');
  const database = new URL(url).pathname.slice(1);

  beforeAll(() => createDatabase(url));
  afterAll(() => dropDatabase(url));

  it('refuses a database migrated before it, saying to recreate it, and changes nothing', async () => {
    const old = new DataSource({ type: 'postgres', url, migrations: [EventBusTables1763856000000] });
    await old.initialize();
    await old.runMigrations();
    await old.destroy();

    const current = new DataSource({ type: 'postgres', url, migrations: EVENT_BUS_MIGRATIONS });
    await current.initialize();
    // TypeORM also prints the failed migration to the console, whatever its logging option.
    const consoleLog = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await expect(current.runMigrations({ transaction: 'each' })).rejects.toThrow(
        `database "${database}" was migrated before the schema baseline (it ran EventBusTables1763856000000) and cannot be upgraded: recreate it. Locally: \`npm run reset\``,
      );
      expect(await current.query(`select to_regclass('event_outbox') as outbox`)).toEqual([{ outbox: null }]);
      expect(await current.query('select name from migrations')).toEqual([{ name: 'EventBusTables1763856000000' }]);
    } finally {
      consoleLog.mockRestore();
      await current.destroy();
    }
  });
});
