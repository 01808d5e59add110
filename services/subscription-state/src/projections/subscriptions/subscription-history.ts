import type { EntityManager } from 'typeorm';
import type { UserSubscriptionEvent } from '@push/contracts';
import { BulkRows } from '@push/service-kit';

/** A `subscription_history` row (S5) as written; unique by the published record's `event_id`. */
interface HistoryRecord {
  workspace_id: string;
  user_id: string;
  from_state: string | null;
  to_state: string;
  source: string;
  at: string;
  cause_event_id: string;
  event_id: string;
}

const HISTORY = new BulkRows<HistoryRecord>({
  workspace_id: 'text',
  user_id: 'text',
  from_state: 'text',
  to_state: 'text',
  source: 'text',
  at: 'timestamptz',
  cause_event_id: 'text',
  event_id: 'text',
});

// One insert from `unnest`: rows get their bigserial ids in the arrays' order, the order of the output topic's partition
// (a user's records are on one), so a user's history reads in the order it was published.
const APPEND = `${HISTORY.insert('subscription_history', HISTORY.unnest())} on conflict (event_id) do nothing`;

/**
 * Appends published changes, in their order (those already there — a record consumed again, or published twice after a
 * crash — are kept).
 */
export async function appendHistory(tx: EntityManager, published: readonly UserSubscriptionEvent[]): Promise<void> {
  if (!published.length) return;
  const records = published.map(({ data }) => ({
    workspace_id: data.workspace_id,
    user_id: data.user_id,
    from_state: data.previous_state,
    to_state: data.state,
    source: data.source,
    at: new Date(data.occurred_at).toISOString(),
    cause_event_id: data.cause_event_id,
    event_id: data.event_id,
  }));
  await tx.query(APPEND, HISTORY.arrays(records));
}
