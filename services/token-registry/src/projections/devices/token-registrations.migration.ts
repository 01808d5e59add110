import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `token_registrations`: each token string's latest registration by any device of the app (T2) — device, `occurred_at`
 * in epoch milliseconds and `event_id` — kept when that device lets the token go (another token, an uninstall), unlike
 * `token_holders`. A registration of the token from another device that is older and arrives later (its partition
 * behind) is then still judged against it, so the devices end as in `occurred_at` order whatever order the partitions
 * are applied in. Not backfilled: a token held before this migration counts as registered at its holder's token time
 * until it is registered again (the domain's fallback); one let go before it is forgotten as it was.
 */
export class TokenRegistrations1796083200002 implements MigrationInterface {
  name = 'TokenRegistrations1796083200002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      create table token_registrations (
        workspace_id text not null,
        app_id text not null,
        token text not null,
        device_id text not null,
        registered_at_ms bigint not null,
        event_id text not null,
        primary key (workspace_id, app_id, token)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table token_registrations');
  }
}
