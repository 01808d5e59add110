import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `devices_by_user`: the devices of a user, for `GET /users/{user_id}/devices` (the console's profile). Before it the
 * endpoint found them through the token changelog, which misses a device whose first token was already tombstoned when
 * its registration was applied (T8 before T3: no assignment, no changelog entry). Partial: anonymous devices (T4) are
 * not indexed.
 */
export class DevicesByUser1796083200007 implements MigrationInterface {
  name = 'DevicesByUser1796083200007';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'create index devices_by_user on devices (workspace_id, user_id) where user_id is not null',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop index devices_by_user');
  }
}
