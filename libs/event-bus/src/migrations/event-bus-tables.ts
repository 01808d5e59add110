import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event bus's own tables, added to every service's migrations. One baseline, before the first release, replaced
 * the migrations the tables grew by (their names below): a database they migrated cannot be upgraded and is refused.
 * - consumer_offsets: per group and partition, the next Kafka offset to apply, written in the same transaction as the
 *   read model (so an event is applied exactly once in effect, whatever Kafka's committed offsets say), and the
 *   identity of the log it was read from (see log-identity.ts): the Kafka cluster and the last applied message
 *   (offset, timestamp, SHA-1 of key and value), null until a partition's first batch;
 * - event_outbox: all the messages one transaction produced, as one row written in that transaction and published
 *   after it commits (see outbox.ts): `batch` holds them Avro-encoded, `messages` counts them. The batch is compressed
 *   with lz4 where Postgres was built with it (a build option; pglz, the default, costs far more CPU): every byte of it
 *   is written to the WAL, then to the table, then vacuumed away.
 */
export class EventBusBaseline1796083200000 implements MigrationInterface {
  name = 'EventBusBaseline1796083200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await refuseMigratedBeforeBaseline(queryRunner, [
      'EventBusTables1763856000000',
      'EventOutboxBinaryKeysAndHeaders1763870000000',
      'EventOutboxBatches1764000000000',
      'ConsumerOffsetsLogIdentity1764600000000',
    ]);
    await queryRunner.query(`
      create table consumer_offsets (
        group_id text not null,
        topic text not null,
        partition integer not null,
        next_offset bigint not null,
        updated_at timestamptz not null default now(),
        cluster_id text,
        last_offset bigint,
        last_timestamp bigint,
        last_digest bytea,
        primary key (group_id, topic, partition)
      )`);
    await queryRunner.query(`
      create table event_outbox (
        id bigserial primary key,
        batch bytea not null,
        messages integer not null,
        created_at timestamptz not null default now()
      )`);
    await queryRunner.query(`
      do $$ begin
        alter table event_outbox alter column batch set compression lz4;
      exception when feature_not_supported then
        raise notice 'this Postgres has no lz4: the outbox batches are compressed with pglz';
      end $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table event_outbox');
    await queryRunner.query('drop table consumer_offsets');
  }
}

/**
 * Throws when the database was migrated by `before`, migrations a baseline replaced: TypeORM would otherwise run the
 * baseline on top of them and fail on the first table that exists. Such a database is recreated, not upgraded.
 */
export async function refuseMigratedBeforeBaseline(queryRunner: QueryRunner, before: readonly string[]): Promise<void> {
  const table = queryRunner.connection.options.migrationsTableName ?? 'migrations';
  const found: { name: string }[] = await queryRunner.query(
    `select name from "${table}" where name = any($1) order by id`,
    [before],
  );
  if (found.length === 0) return;
  const database = await queryRunner.getCurrentDatabase();
  throw new Error(
    `database "${database}" was migrated before the schema baseline (it ran ${found.map((m) => m.name).join(', ')}) ` +
      'and cannot be upgraded: recreate it. Locally: `npm run reset` (broker and every database). One service: stop ' +
      'every replica, `npm run bus -- rebuild --service <name> --yes`, start it; it rebuilds its read model from its topics.',
  );
}

/** Add these to every service's DataSource migrations. */
export const EVENT_BUS_MIGRATIONS = [EventBusBaseline1796083200000];
