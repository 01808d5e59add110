import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The dispatcher's read model, one baseline:
 * - `eligible_users`: per user, subscription-state's latest `SubscriptionStateChanged` state. No row: never published
 *   by subscription-state (SUBSCRIBED when token-registry names the user, S1).
 * - `eligible_devices`: per device, token-registry's view (platform, user — null when anonymous, T4 —, the sendable
 *   token, foreground/background as its latest `PushCapabilityChanged` says, the latest `DeviceSessionRecorded` for D4)
 *   and bounce-processor's status (its latest `DeliveryStatusChanged`). A row may have only one owner's columns filled.
 * - `dispatches`: one row per dispatch the requests projection recorded, with its message, its counts and its status.
 * - `dispatch_targets`: one row per (dispatch, device) the dispatch considers: skipped with its reason, or to send —
 *   `pending`, then `in_flight` (the attempt, committed before the provider call, by the worker `claimed_by`), then its
 *   outcome. A device is claimed from `pending` once, so it is sent at most once (D5).
 * - `accepted_dispatches`: requests `POST /dispatches` published and the projection has not recorded yet (`pending`).
 * - `logged_outcomes`, `logged_completions`: what `dispatch.outcomes.v1` says of dispatches not recorded here (yet):
 *   when the read model is rebuilt, the request may be applied after its outcomes; it then takes them from here, so a
 *   device that has an outcome on the topic is never sent again and a completed dispatch sends nothing.
 */
export class DispatcherBaseline1796083200005 implements MigrationInterface {
  name = 'DispatcherBaseline1796083200005';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      create table eligible_users (
        workspace_id text not null,
        user_id text not null,
        state text not null check (state in ('SUBSCRIBED', 'OPTED_IN', 'UNSUBSCRIBED')),
        primary key (workspace_id, user_id)
      ) with (fillfactor = 80)`);
    await queryRunner.query(`
      create table eligible_devices (
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
        last_session_at_ms bigint,
        primary key (workspace_id, app_id, device_id)
      ) with (fillfactor = 80)`);
    await queryRunner.query(
      'create index eligible_devices_by_user on eligible_devices (workspace_id, user_id) where user_id is not null',
    );
    await queryRunner.query(`
      create table dispatches (
        dispatch_id text primary key,
        workspace_id text not null,
        campaign_id text,
        requested_at_ms bigint not null,
        recorded_at_ms bigint not null,
        message jsonb not null,
        status text not null check (status in ('pending', 'running', 'completed')),
        targeted integer not null,
        skipped_unsubscribed integer not null,
        skipped_not_push_enabled integer not null,
        skipped_suppressed integer not null,
        sent integer not null default 0,
        bounced integer not null default 0,
        failed integer not null default 0,
        remaining integer not null,
        completed_at_ms bigint
      )`);
    await queryRunner.query("create index dispatches_open on dispatches (dispatch_id) where status <> 'completed'");
    await queryRunner.query(`
      create table dispatch_targets (
        dispatch_id text not null,
        app_id text not null,
        device_id text not null,
        workspace_id text not null,
        user_id text,
        platform text not null check (platform in ('IOS', 'ANDROID', 'WEB')),
        token text,
        state text not null
          check (state in ('pending', 'in_flight', 'sent', 'bounced', 'failed', 'skipped')),
        reason text,
        failure_category text,
        provider_message_id text,
        claimed_by integer,
        attempt_at_ms bigint,
        outcome_at_ms bigint,
        primary key (dispatch_id, app_id, device_id)
      )`);
    await queryRunner.query(
      "create index dispatch_targets_pending on dispatch_targets (dispatch_id, app_id, device_id) where state = 'pending'",
    );
    await queryRunner.query(
      "create index dispatch_targets_in_flight on dispatch_targets (claimed_by) where state = 'in_flight'",
    );
    await queryRunner.query(`
      create table accepted_dispatches (
        dispatch_id text primary key,
        workspace_id text not null,
        accepted_at_ms bigint not null
      )`);
    await queryRunner.query(`
      create table logged_outcomes (
        dispatch_id text not null,
        app_id text not null,
        device_id text not null,
        workspace_id text not null,
        user_id text,
        platform text not null check (platform in ('IOS', 'ANDROID', 'WEB')),
        state text not null check (state in ('sent', 'bounced', 'failed')),
        reason text,
        failure_category text,
        provider_message_id text,
        outcome_at_ms bigint not null,
        primary key (dispatch_id, app_id, device_id)
      )`);
    await queryRunner.query(`
      create table logged_completions (
        dispatch_id text primary key,
        workspace_id text not null,
        targeted integer not null,
        sent integer not null,
        bounced integer not null,
        failed integer not null,
        skipped_unsubscribed integer not null,
        skipped_not_push_enabled integer not null,
        skipped_suppressed integer not null,
        completed_at_ms bigint not null
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'logged_completions',
      'logged_outcomes',
      'accepted_dispatches',
      'dispatch_targets',
      'dispatches',
      'eligible_devices',
      'eligible_users',
    ])
      await queryRunner.query(`drop table ${table}`);
  }
}
