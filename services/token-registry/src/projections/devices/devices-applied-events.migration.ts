import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * T9 on equal times: each device remembers the events applied at its aspects' current "as of" times (their
 * `occurred_at` and `event_id`, one array each, index by index), so that another event of the same millisecond applies
 * after them while a duplicate of one of them does not. Devices of an older read model start with none remembered: a
 * redelivered event of the millisecond an aspect was last set applies once more, which sets what it set then (before,
 * only the first event of a millisecond applied).
 */
export class DevicesAppliedEvents1764200000000 implements MigrationInterface {
  name = 'DevicesAppliedEvents1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      alter table devices
        add column applied_event_at_ms bigint[] not null default '{}',
        add column applied_event_ids text[] not null default '{}'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('alter table devices drop column applied_event_at_ms, drop column applied_event_ids');
  }
}
