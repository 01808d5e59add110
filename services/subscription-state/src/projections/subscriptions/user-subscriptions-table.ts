import type { EntityManager } from 'typeorm';
import { BulkRows, inKeyOrder } from '@push/service-kit';
import type { UserSubscription } from '../../domain/subscription';
import type { UserRef } from '../../domain/subscription-states';

/** The key of a `user_subscriptions` row. */
interface UserKey {
  workspace_id: string;
  user_id: string;
}

/** A `user_subscriptions` row: the domain's `UserSubscription`, column by column (`state` null: claimed, unseen). */
interface UserSubscriptionRecord extends UserKey {
  state: UserSubscription['state'] | null;
  opted_in_at_ms: number | null;
  explicit_state: UserSubscription['explicitState'];
  explicit_at_ms: number | null;
  explicit_event_ids: string[];
  auto_opt_in_at_ms: number | null;
  auto_opt_in_times_ms: number[];
}

/** An epoch-milliseconds column (bigint), read as float8 so that it arrives as a JS number, not a string. */
const epochMs = (column: string) => ({ type: 'bigint', select: `${column}::float8` });

const USERS = new BulkRows<UserSubscriptionRecord>({
  workspace_id: 'text',
  user_id: 'text',
  state: 'text',
  opted_in_at_ms: epochMs('opted_in_at_ms'),
  explicit_state: 'text',
  explicit_at_ms: epochMs('explicit_at_ms'),
  explicit_event_ids: 'text[]',
  auto_opt_in_at_ms: epochMs('auto_opt_in_at_ms'),
  auto_opt_in_times_ms: { type: 'bigint[]', select: 'auto_opt_in_times_ms::float8[]' },
});
const USER_KEYS = new BulkRows<UserKey>({ workspace_id: 'text', user_id: 'text' });

// Claimed and locked in key order, so that two partitions touching some of the same users wait for each other in one
// order instead of deadlocking. Claiming first (a row with state null) makes a user's first sighting in one
// transaction visible to a concurrent one, which then waits for it at the lock and finds the user seen.
const CLAIM = `${USER_KEYS.insert('user_subscriptions', USER_KEYS.unnest())} on conflict do nothing`;
const LOCK = `select ${USERS.selectList()} from user_subscriptions
  where (${USER_KEYS.columns()}) in (select * from ${USER_KEYS.unnest()})
  order by ${USER_KEYS.columns()} for update`;
const UPSERT = `${USERS.insert('user_subscriptions', USERS.recordset())}
  ${USERS.onConflictUpdate(['workspace_id', 'user_id'])}`;

const keyOf = (ref: UserRef): UserKey => ({ workspace_id: ref.workspaceId, user_id: ref.userId });

function stateOf(row: UserSubscriptionRecord & { state: UserSubscription['state'] }): UserSubscription {
  return {
    state: row.state,
    optedInAt: row.opted_in_at_ms,
    explicitState: row.explicit_state,
    explicitAt: row.explicit_at_ms,
    explicitEventIds: row.explicit_event_ids,
    autoOptInAt: row.auto_opt_in_at_ms,
    autoOptInTimes: row.auto_opt_in_times_ms,
  };
}

/**
 * Claims and locks the rows of `refs` for the transaction; returns the users seen before (those with a state), each
 * with its stored subscription.
 */
export async function lockUsers(
  tx: EntityManager,
  refs: ReadonlyMap<string, UserRef>,
): Promise<{ ref: UserRef; state: UserSubscription }[]> {
  if (refs.size === 0) return [];
  const keys = inKeyOrder(refs).map(keyOf);
  await tx.query(CLAIM, USER_KEYS.arrays(keys));
  const rows: UserSubscriptionRecord[] = await tx.query(LOCK, USER_KEYS.arrays(keys));
  return rows.flatMap((row) =>
    row.state === null
      ? []
      : [{ ref: { workspaceId: row.workspace_id, userId: row.user_id }, state: stateOf({ ...row, state: row.state }) }],
  );
}

/** Writes the users' rows as a whole. */
export async function saveUsers(
  tx: EntityManager,
  users: Iterable<{ ref: UserRef; state: UserSubscription }>,
): Promise<void> {
  const records = [...users].map(({ ref, state }): UserSubscriptionRecord => ({
    ...keyOf(ref),
    state: state.state,
    opted_in_at_ms: state.optedInAt,
    explicit_state: state.explicitState,
    explicit_at_ms: state.explicitAt,
    explicit_event_ids: state.explicitEventIds,
    auto_opt_in_at_ms: state.autoOptInAt,
    auto_opt_in_times_ms: state.autoOptInTimes,
  }));
  if (records.length) await tx.query(UPSERT, [USERS.json(records)]);
}
