import { MigrationInterface, QueryRunner } from 'typeorm';
import { refuseMigratedBeforeBaseline } from '@push/event-bus';

/**
 * token-registry's read model, one baseline before the first release (it replaced the migrations named below: a
 * database they migrated is refused, to be recreated):
 * - `devices`: one row per device, the domain's device state (devices-store.ts) as columns: its token, user,
 *   platform and push capability as the token rules T1–T9 leave them, and each aspect's "as of" time for T9 in epoch
 *   milliseconds, as the domain keeps them. A device can be known before any event names its platform (a ChangeUser
 *   first). `applied_event_at_ms` / `applied_event_ids` (one array each, index by index) remember the events applied
 *   at the aspects' current "as of" times, so that another event of the same millisecond applies after them while a
 *   duplicate of one of them does not. Rows are updated in place (HOT) thanks to free space on each page
 *   (fillfactor 70) and no index on columns that change.
 * - `token_holders`: which device holds each token string of an app (T2), the one index a batch's token lookup uses;
 *   it changes only when a token does (an index on `devices` itself was updated by nearly every event).
 * - `token_changelog`: every move of a token between users (T3).
 * - `token_tombstones`: invalidated token strings (T8); a new registration of one is sendable only on APNs after the
 *   410 timestamp.
 * - `users_seen`: the users already named by a device event, so that each first sighting (S1) is published once.
 */
export class DevicesBaseline1796083200001 implements MigrationInterface {
  name = 'DevicesBaseline1796083200001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await refuseMigratedBeforeBaseline(queryRunner, [
      'DevicesTables1763856100000',
      'TokenHoldersUsersSeen1763950000000',
      'DevicesStateColumns1764100000000',
      'DevicesAppliedEvents1764200000000',
    ]);
    await queryRunner.query(`
      create table devices (
        workspace_id text not null,
        app_id text not null,
        device_id text not null,
        platform text,
        os_version text,
        user_id text,
        token text,
        token_status text not null default 'none' check (token_status in ('active', 'none', 'removed', 'invalidated')),
        foreground_enabled boolean not null default false,
        background_enabled boolean not null default false,
        provisional boolean not null default false,
        last_session_at timestamptz,
        push_permission text check (push_permission in ('AUTHORIZED', 'DENIED', 'PROVISIONAL', 'NOT_DETERMINED')),
        capability_as_of_ms bigint,
        user_as_of_ms bigint,
        token_as_of_ms bigint,
        token_registered_at_ms bigint,
        applied_event_at_ms bigint[] not null default '{}',
        applied_event_ids text[] not null default '{}',
        primary key (workspace_id, app_id, device_id)
      ) with (fillfactor = 70)`);
    await queryRunner.query(`
      create table token_holders (
        workspace_id text not null,
        app_id text not null,
        token text not null,
        device_id text not null,
        primary key (workspace_id, app_id, token)
      )`);
    await queryRunner.query(`
      create table token_changelog (
        id bigserial primary key,
        workspace_id text not null,
        app_id text not null,
        device_id text not null,
        token text not null,
        from_user_id text,
        to_user_id text,
        at timestamptz not null,
        event_id text not null unique
      )`);
    await queryRunner.query('create index token_changelog_from on token_changelog (workspace_id, from_user_id, at)');
    await queryRunner.query('create index token_changelog_to on token_changelog (workspace_id, to_user_id, at)');
    await queryRunner.query(`
      create table token_tombstones (
        workspace_id text not null,
        app_id text not null,
        token text not null,
        provider_reason text not null,
        provider_timestamp timestamptz,
        invalidated_at timestamptz not null,
        primary key (workspace_id, app_id, token)
      )`);
    await queryRunner.query(`
      create table users_seen (
        workspace_id text not null,
        user_id text not null,
        first_seen_at timestamptz not null,
        primary key (workspace_id, user_id)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table users_seen');
    await queryRunner.query('drop table token_tombstones');
    await queryRunner.query('drop table token_changelog');
    await queryRunner.query('drop table token_holders');
    await queryRunner.query('drop table devices');
  }
}
