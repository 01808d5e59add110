import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event bus's own tables, added to every service's migrations:
 * - consumer_offsets: the next Kafka offset to apply per group and partition, written in the same transaction as the
 *   read model (so an event is applied exactly once in effect, whatever Kafka's committed offsets say);
 * - event_outbox: events a batch produced, written in that same transaction and published after it commits.
 */
export class EventBusTables1763856000000 implements MigrationInterface {
  name = 'EventBusTables1763856000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      create table consumer_offsets (
        group_id text not null,
        topic text not null,
        partition integer not null,
        next_offset bigint not null,
        updated_at timestamptz not null default now(),
        primary key (group_id, topic, partition)
      )`);
    await queryRunner.query(`
      create table event_outbox (
        id bigserial primary key,
        topic text not null,
        key text,
        value bytea,
        headers jsonb not null default '{}',
        created_at timestamptz not null default now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table event_outbox');
    await queryRunner.query('drop table consumer_offsets');
  }
}

/**
 * Dead letters go out unchanged: a poison message's key and headers may be any bytes, so the outbox keeps the key as
 * bytea and header values as base64 (a list per name) instead of UTF-8 text.
 */
export class EventOutboxBinaryKeysAndHeaders1763870000000 implements MigrationInterface {
  name = 'EventOutboxBinaryKeysAndHeaders1763870000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`alter table event_outbox alter column key type bytea using convert_to(key, 'UTF8')`);
    await queryRunner.query(`
      update event_outbox set headers = (
        select coalesce(jsonb_object_agg(name, jsonb_build_array(encode(convert_to(value, 'UTF8'), 'base64'))), '{}')
        from jsonb_each_text(headers) as h(name, value))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      update event_outbox set headers = (
        select coalesce(jsonb_object_agg(name, convert_from(decode(value ->> 0, 'base64'), 'UTF8')), '{}')
        from jsonb_each(headers) as h(name, value))`);
    await queryRunner.query(`alter table event_outbox alter column key type text using convert_from(key, 'UTF8')`);
  }
}

/**
 * One outbox row per transaction: `batch` holds all the messages it produced (Avro, see outbox.ts) and `messages` how
 * many. Rows written before keep their one message in topic/key/value/headers and are still published. The batch is
 * compressed with lz4 where Postgres was built with it (a build option; pglz, the default, costs far more CPU): every
 * byte of it is written to the WAL, then to the table, then vacuumed away.
 */
export class EventOutboxBatches1764000000000 implements MigrationInterface {
  name = 'EventOutboxBatches1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'alter table event_outbox add column batch bytea, add column messages integer not null default 1, alter column topic drop not null',
    );
    await queryRunner.query(`
      do $$ begin
        alter table event_outbox alter column batch set compression lz4;
      exception when feature_not_supported then
        raise notice 'this Postgres has no lz4: the outbox batches are compressed with pglz';
      end $$`);
    await queryRunner.query(
      'alter table event_outbox add constraint event_outbox_one_form check ((batch is null) <> (topic is null))',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if ((await queryRunner.query('select 1 from event_outbox where batch is not null limit 1')).length) {
      throw new Error('event_outbox holds batches: let the service publish them before migrating down');
    }
    await queryRunner.query('alter table event_outbox drop constraint event_outbox_one_form');
    await queryRunner.query(
      'alter table event_outbox drop column batch, drop column messages, alter column topic set not null',
    );
  }
}

/**
 * The identity of the log a read model was built from, beside each partition's offset (see log-identity.ts): the Kafka
 * cluster and the last applied message (offset, timestamp, SHA-1 of key and value). Null in rows written before: those
 * partitions are checked by their offsets alone until their next batch records it.
 */
export class ConsumerOffsetsLogIdentity1764600000000 implements MigrationInterface {
  name = 'ConsumerOffsetsLogIdentity1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'alter table consumer_offsets add column cluster_id text, add column last_offset bigint, add column last_timestamp bigint, add column last_digest bytea',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'alter table consumer_offsets drop column cluster_id, drop column last_offset, drop column last_timestamp, drop column last_digest',
    );
  }
}

/** Add these to every service's DataSource migrations. */
export const EVENT_BUS_MIGRATIONS = [
  EventBusTables1763856000000,
  EventOutboxBinaryKeysAndHeaders1763870000000,
  EventOutboxBatches1764000000000,
  ConsumerOffsetsLogIdentity1764600000000,
];
