import type { EntityManager } from 'typeorm';
import { BulkRows } from '@push/service-kit';
import type { ChangelogEntry } from '../../domain/changelog';

/** A `token_changelog` row (T3) as written; `event_id` is the entry's id, unique, so that a replay adds nothing. */
interface ChangelogRecord {
  workspace_id: string;
  app_id: string;
  device_id: string;
  token: string;
  from_user_id: string | null;
  to_user_id: string | null;
  at: string;
  event_id: string;
}

const CHANGELOG = new BulkRows<ChangelogRecord>({
  workspace_id: 'text',
  app_id: 'text',
  device_id: 'text',
  token: 'text',
  from_user_id: 'text',
  to_user_id: 'text',
  at: 'timestamptz',
  event_id: 'text',
});

// One insert from `unnest`: rows get their bigserial ids in the arrays' order, the order of the output topic's partition.
const APPEND = `${CHANGELOG.insert('token_changelog', CHANGELOG.unnest())} on conflict (event_id) do nothing`;

/**
 * Appends the changelog entries of a batch of published records, in their order (those already there — a record
 * consumed again, or published twice after a crash — are kept).
 */
export async function appendChangelog(tx: EntityManager, entries: readonly ChangelogEntry[]): Promise<void> {
  if (!entries.length) return;
  const records = entries.map((e) => ({
    workspace_id: e.workspaceId,
    app_id: e.appId,
    device_id: e.deviceId,
    token: e.token,
    from_user_id: e.fromUserId,
    to_user_id: e.toUserId,
    at: new Date(e.at).toISOString(),
    event_id: e.entryId,
  }));
  await tx.query(APPEND, CHANGELOG.arrays(records));
}
