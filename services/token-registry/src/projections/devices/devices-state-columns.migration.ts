import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The domain's device state as columns instead of a JSON copy beside them: the row is half the size (the token was
 * stored twice), so every update writes half the bytes to the table and the WAL, and neither side parses JSON. The
 * "as of" times of T9 are epoch milliseconds, as the domain keeps them.
 */
export class DevicesStateColumns1764100000000 implements MigrationInterface {
  name = 'DevicesStateColumns1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      alter table devices
        add column push_permission text check (push_permission in ('AUTHORIZED', 'DENIED', 'PROVISIONAL', 'NOT_DETERMINED')),
        add column capability_as_of_ms bigint,
        add column user_as_of_ms bigint,
        add column token_as_of_ms bigint,
        add column token_registered_at_ms bigint`);
    await queryRunner.query(`
      update devices set
        push_permission = state ->> 'permission',
        capability_as_of_ms = (state ->> 'capabilityAsOf')::bigint,
        user_as_of_ms = (state ->> 'userAsOf')::bigint,
        token_as_of_ms = (state ->> 'tokenAsOf')::bigint,
        token_registered_at_ms = (state ->> 'tokenRegisteredAt')::bigint`);
    await queryRunner.query('alter table devices drop column state');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`alter table devices add column state jsonb not null default '{}'`);
    await queryRunner.query(`
      update devices set state = jsonb_build_object(
        'platform', platform, 'osVersion', os_version, 'permission', push_permission, 'capabilityAsOf', capability_as_of_ms,
        'userId', user_id, 'userAsOf', user_as_of_ms, 'token', token, 'tokenStatus', token_status, 'tokenAsOf', token_as_of_ms,
        'tokenRegisteredAt', token_registered_at_ms,
        'lastSessionAt', (extract(epoch from last_session_at) * 1000)::bigint)`);
    await queryRunner.query(`
      alter table devices drop column push_permission, drop column capability_as_of_ms, drop column user_as_of_ms,
        drop column token_as_of_ms, drop column token_registered_at_ms`);
  }
}
