import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A device can be known before any event names its platform (a ChangeUser first), so the platform becomes optional;
 * and the users already seen, so that each user's first sighting (S1) is published once.
 */
export class DevicesUsersSeen1763950000000 implements MigrationInterface {
  name = 'DevicesUsersSeen1763950000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('alter table devices alter column platform drop not null');
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
  }
}
