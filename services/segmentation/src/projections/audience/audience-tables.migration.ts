import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * segmentation's read model, one baseline — the facts its owners publish, never re-derived:
 * - `audience_users`: per user of a workspace, subscription-state's latest `SubscriptionStateChanged` (`state`,
 *   `opted_in_at`). A user with no row was never seen by subscription-state.
 * - `audience_devices`: per device, token-registry's view (platform, user — null when anonymous, T4 —, the sendable
 *   token, foreground/background as its latest `PushCapabilityChanged` says) and bounce-processor's `last_status`
 *   (its latest `DeliveryStatusChanged`). A row may exist with only one owner's columns filled.
 * - `audience_versions`: per workspace, a counter every batch that writes the workspace's rows bumps in its
 *   transaction: an index built in a snapshot of version v is current while the committed version is v.
 */
export class AudienceBaseline1796083200003 implements MigrationInterface {
  name = 'AudienceBaseline1796083200003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      create table audience_users (
        workspace_id text not null,
        user_id text not null,
        state text not null check (state in ('SUBSCRIBED', 'OPTED_IN', 'UNSUBSCRIBED')),
        opted_in_at_ms bigint,
        primary key (workspace_id, user_id)
      ) with (fillfactor = 80)`);
    await queryRunner.query(`
      create table audience_devices (
        workspace_id text not null,
        app_id text not null,
        device_id text not null,
        platform text check (platform in ('IOS', 'ANDROID', 'WEB')),
        user_id text,
        token text,
        foreground_enabled boolean not null default false,
        background_enabled boolean not null default false,
        delivery_status text not null default 'UNUSED'
          check (delivery_status in ('UNUSED', 'SENT', 'BOUNCED', 'SUPPRESSED')),
        primary key (workspace_id, app_id, device_id)
      ) with (fillfactor = 80)`);
    await queryRunner.query('create table audience_versions (workspace_id text primary key, version bigint not null)');
    await queryRunner.query(
      'create index audience_devices_by_user on audience_devices (workspace_id, user_id) where user_id is not null',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table audience_versions');
    await queryRunner.query('drop table audience_devices');
    await queryRunner.query('drop table audience_users');
  }
}
