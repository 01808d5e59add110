import { MigrationInterface, QueryRunner } from 'typeorm';
import { commitOrderCounterComment } from '@push/service-kit';

/**
 * Marks segmentation's two version numbers as commit-order counters (`COMMIT_ORDER_COUNTER` of the kit):
 * `audience_versions.version` (bumped once per batch that changed the workspace) and
 * `audience_user_changes.changed_seq` (the version of the batch that last changed the user). They only tell a
 * replica's index what to patch, and a replay interleaving the partitions otherwise numbers its batches otherwise;
 * what they cover — which workspaces, which users — is still compared by `eventlog verify`.
 */
export class AudienceCounters1796083200008 implements MigrationInterface {
  name = 'AudienceCounters1796083200008';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      commitOrderCounterComment('audience_versions', 'version', 'the number of batches that changed the workspace'),
    );
    await queryRunner.query(
      commitOrderCounterComment(
        'audience_user_changes',
        'changed_seq',
        'the audience_versions version of the batch that last changed the user',
      ),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('comment on column audience_versions.version is null');
    await queryRunner.query('comment on column audience_user_changes.changed_seq is null');
  }
}
