import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * - `token_holders`: which device holds each token string of an app (T2), the one index a batch's token lookup uses.
 *   It changes only when a token does; a token index on `devices` itself was updated by nearly every event (a row
 *   version each) and left the planner choosing the primary key with a filter for that lookup.
 * - `users_seen`: the users already named by a device event, so that each first sighting (S1) is published once.
 * - `devices`: a device can be known before any event names its platform (a ChangeUser first); its rows are updated
 *   in place (HOT) thanks to free space on each page and no index on columns that change.
 */
export class TokenHoldersUsersSeen1763950000000 implements MigrationInterface {
  name = 'TokenHoldersUsersSeen1763950000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      create table token_holders (
        workspace_id text not null,
        app_id text not null,
        token text not null,
        device_id text not null,
        primary key (workspace_id, app_id, token)
      )`);
    await queryRunner.query(
      'insert into token_holders (workspace_id, app_id, token, device_id) select workspace_id, app_id, token, device_id from devices where token is not null',
    );
    await queryRunner.query('drop index devices_by_token');
    await queryRunner.query('drop index devices_by_user');
    await queryRunner.query('alter table devices alter column platform drop not null');
    await queryRunner.query('alter table devices set (fillfactor = 70)');
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
    // Such devices never registered a token (a registration names the platform): nothing sendable is lost.
    await queryRunner.query('delete from devices where platform is null');
    await queryRunner.query('alter table devices alter column platform set not null');
    await queryRunner.query('alter table devices reset (fillfactor)');
    await queryRunner.query(
      'create index devices_by_user on devices (workspace_id, user_id) where user_id is not null',
    );
    await queryRunner.query(
      'create unique index devices_by_token on devices (workspace_id, app_id, token) where token is not null',
    );
    await queryRunner.query('drop table token_holders');
  }
}
