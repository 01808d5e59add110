import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * bounce-processor's read model, one baseline:
 * - `delivery_devices`: one row per device, the domain's `DeviceDelivery`: B1 status and consecutive bounces, the
 *   "as of" time (epoch milliseconds) and the event ids applied at it (late and repeated inputs change nothing), and
 *   the last 50 outcomes (`history`, JSON, newest first) that GET /devices/…/delivery answers.
 * - `burst_shards`: each shard's event time (the latest outcome time of its `dispatch.outcomes.v1` partition), B4.
 * - `burst_windows`: per shard and app, the window's counts by bucket and the reasons the app is flagged for (JSON).
 * - `waiting_bounces`: burst-sensitive bounces waiting for their decision (`pending`, by shard and time) or held for an
 *   operator (`held`, by app); they survive restarts and are rebuilt by a replay like the rest.
 */
export class DeliveryBaseline1796083200002 implements MigrationInterface {
  name = 'DeliveryBaseline1796083200002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      create table delivery_devices (
        workspace_id text not null,
        app_id text not null,
        device_id text not null,
        platform text check (platform in ('IOS', 'ANDROID', 'WEB')),
        user_id text,
        status text not null check (status in ('UNUSED', 'SENT', 'BOUNCED', 'SUPPRESSED')),
        consecutive_bounces integer not null,
        as_of_ms bigint,
        ids_at_as_of text[] not null default '{}',
        last_outcome_ms bigint,
        history jsonb not null default '[]',
        primary key (workspace_id, app_id, device_id)
      ) with (fillfactor = 70)`);
    await queryRunner.query(`
      create table burst_shards (
        shard integer primary key,
        watermark_ms bigint not null
      )`);
    await queryRunner.query(`
      create table burst_windows (
        shard integer not null,
        workspace_id text not null,
        app_id text not null,
        buckets jsonb not null,
        flagged jsonb not null,
        primary key (shard, workspace_id, app_id)
      )`);
    await queryRunner.query(`
      create table waiting_bounces (
        workspace_id text not null,
        app_id text not null,
        bounce_event_id text not null,
        shard integer not null,
        state text not null check (state in ('pending', 'held')),
        device_id text not null,
        platform text not null check (platform in ('IOS', 'ANDROID', 'WEB')),
        user_id text,
        token text not null,
        reason text not null,
        provider_timestamp_ms bigint,
        dispatch_id text,
        at_ms bigint not null,
        primary key (workspace_id, app_id, bounce_event_id)
      )`);
    await queryRunner.query(
      "create index waiting_bounces_pending on waiting_bounces (shard, at_ms) where state = 'pending'",
    );
    await queryRunner.query(
      "create index waiting_bounces_held on waiting_bounces (workspace_id, app_id, at_ms) where state = 'held'",
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table waiting_bounces, burst_windows, burst_shards, delivery_devices');
  }
}
