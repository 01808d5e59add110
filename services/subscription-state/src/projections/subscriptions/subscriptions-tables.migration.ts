import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * subscription-state's read model, one baseline:
 * - `user_subscriptions`: one row per user of a workspace, the domain's `UserSubscription` as columns — the state
 *   (S1–S3), `opted_in_at` (Braze push_opted_in_at), the latest explicit change (state, epoch ms, the event ids applied
 *   at that millisecond), the latest automatic opt-in and the earliest ones after the latest explicit change (epoch ms). `state` is null only in a row a batch has just
 *   claimed for a user not seen before (it fills it in before committing). Updated in place (fillfactor 70).
 * - `subscription_history`: every published change (S5), unique by the published record's `event_id`, so that
 *   applying the same records again adds nothing (since 2026-12, projected from the output topic, in its order).
 */
export class SubscriptionsBaseline1796083200002 implements MigrationInterface {
  name = 'SubscriptionsBaseline1796083200002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      create table user_subscriptions (
        workspace_id text not null,
        user_id text not null,
        state text check (state in ('SUBSCRIBED', 'OPTED_IN', 'UNSUBSCRIBED')),
        opted_in_at_ms bigint,
        explicit_state text check (explicit_state in ('SUBSCRIBED', 'OPTED_IN', 'UNSUBSCRIBED')),
        explicit_at_ms bigint,
        explicit_event_ids text[] not null default '{}',
        auto_opt_in_at_ms bigint,
        auto_opt_in_times_ms bigint[] not null default '{}',
        primary key (workspace_id, user_id)
      ) with (fillfactor = 70)`);
    await queryRunner.query(`
      create table subscription_history (
        id bigserial primary key,
        workspace_id text not null,
        user_id text not null,
        from_state text,
        to_state text not null,
        source text not null,
        at timestamptz not null,
        cause_event_id text not null,
        event_id text not null unique
      )`);
    await queryRunner.query(
      'create index subscription_history_user on subscription_history (workspace_id, user_id, id)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table subscription_history');
    await queryRunner.query('drop table user_subscriptions');
  }
}
