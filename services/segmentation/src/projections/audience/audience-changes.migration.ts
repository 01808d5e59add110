import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a replica's index needs to catch up by reading only what changed (issue 13, the incremental index):
 * - `audience_user_changes`: per user of a workspace, `changed_seq` = the workspace's `audience_versions` version of
 *   the last batch that may have changed the user's view (its state, a device it has or had — the previous owner of a
 *   device that moved too, and a device-only user that lost its last device, who is then no user at all). Set in the
 *   batch's transaction, so a snapshot of version v holds every change up to v and none after. One row per user,
 *   never more: the table does not grow with the number of batches.
 * - `audience_apps`: the apps a workspace's devices name (anonymous ones too), for the filter's unknown-app check
 *   without a `distinct` over the devices.
 * Both are filled here from the rows already stored, at each workspace's current version.
 */
export class AudienceChanges1796083200004 implements MigrationInterface {
  name = 'AudienceChanges1796083200004';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      create table audience_user_changes (
        workspace_id text not null,
        user_id text not null,
        changed_seq bigint not null,
        primary key (workspace_id, user_id)
      ) with (fillfactor = 80)`);
    await queryRunner.query(
      'create index audience_user_changes_by_seq on audience_user_changes (workspace_id, changed_seq)',
    );
    await queryRunner.query(
      'create table audience_apps (workspace_id text not null, app_id text not null, primary key (workspace_id, app_id))',
    );
    await queryRunner.query(`
      insert into audience_user_changes (workspace_id, user_id, changed_seq)
      select k.workspace_id, k.user_id, coalesce(v.version, 0) from (
        select workspace_id, user_id from audience_users
        union
        select workspace_id, user_id from audience_devices where user_id is not null
      ) k left join audience_versions v using (workspace_id)`);
    await queryRunner.query(
      'insert into audience_apps (workspace_id, app_id) select distinct workspace_id, app_id from audience_devices',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table audience_apps');
    await queryRunner.query('drop table audience_user_changes');
  }
}
