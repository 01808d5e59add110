import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * token-registry's read model: one row per device (its current token, user, platform and push capability, as the
 * token rules T1–T9 leave them), the token changelog (every move of a token between users, T3) and the tombstones of
 * invalidated tokens (T8).
 */
export class DevicesTables1763856100000 implements MigrationInterface {
  name = 'DevicesTables1763856100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      create table devices (
        workspace_id text not null,
        app_id text not null,
        device_id text not null,
        platform text not null,
        os_version text,
        user_id text,
        token text,
        token_status text not null default 'none' check (token_status in ('active', 'none', 'removed', 'invalidated')),
        foreground_enabled boolean not null default false,
        background_enabled boolean not null default false,
        provisional boolean not null default false,
        last_session_at timestamptz,
        -- The domain's whole device state (per-aspect "as of" times for T9, …); the columns above are read from it.
        state jsonb not null default '{}',
        primary key (workspace_id, app_id, device_id)
      )`);
    await queryRunner.query(
      'create index devices_by_user on devices (workspace_id, user_id) where user_id is not null',
    );
    // T2: a token string belongs to at most one device of an app.
    await queryRunner.query(
      'create unique index devices_by_token on devices (workspace_id, app_id, token) where token is not null',
    );
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
    // T8: invalidated token strings; a new registration of one is sendable only on APNs after the 410 timestamp.
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
    await queryRunner.query('create index token_changelog_from on token_changelog (workspace_id, from_user_id, at)');
    await queryRunner.query('create index token_changelog_to on token_changelog (workspace_id, to_user_id, at)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table token_tombstones');
    await queryRunner.query('drop table token_changelog');
    await queryRunner.query('drop table devices');
  }
}
