import type { EntityManager } from 'typeorm';
import { BulkRows, inKeyOrder } from '@push/service-kit';
import { TokenRegistryInput, namedUser } from '../../domain/token-registry';

/** A user of a workspace. */
export interface UserKey {
  workspace_id: string;
  user_id: string;
}

/** A `users_seen` row (S1): when a device event first named the user; ISO-8601, read by Postgres as timestamptz. */
interface SightingRecord extends UserKey {
  first_seen_at: string;
}

const SIGHTINGS = new BulkRows<SightingRecord>({ workspace_id: 'text', user_id: 'text', first_seen_at: 'timestamptz' });
const INSERT = `${SIGHTINGS.insert('users_seen', SIGHTINGS.unnest())} on conflict do nothing returning workspace_id, user_id`;
// Only the rows this batch saw earlier than stored are updated (and locked): a late event of another partition.
const EARLIER = `update users_seen u set first_seen_at = r.first_seen_at from ${SIGHTINGS.unnest()}
  where (u.workspace_id, u.user_id) = (r.workspace_id, r.user_id) and u.first_seen_at > r.first_seen_at`;

const userKeyOf = (user: UserKey) => `${user.workspace_id}\u0000${user.user_id}`;

/**
 * Each user a batch names as a device's user, with the earliest `occurred_at` of such an event (not the first in the
 * batch: a late event names the user earlier); sorted, so that two partitions'
 * transactions claiming some of the same users wait for each other in one order instead of deadlocking.
 */
function firstSightings(inputs: readonly TokenRegistryInput[]): SightingRecord[] {
  const first = new Map<string, SightingRecord>();
  for (const input of inputs) {
    const userId = namedUser(input);
    if (userId === null) continue;
    const user = { workspace_id: input.data.workspace_id, user_id: userId };
    const key = userKeyOf(user);
    const seenAt = new Date(input.data.occurred_at).toISOString();
    const earlier = first.get(key);
    // ISO-8601 strings of one format compare as their times.
    if (!earlier || seenAt < earlier.first_seen_at) first.set(key, { ...user, first_seen_at: seenAt });
  }
  return inKeyOrder(first);
}

/**
 * Records the users the batch names in `users_seen` and returns those that were there already (S1 exactly once, even
 * across partitions and replicas: the users this transaction inserts are the new ones; a concurrent transaction naming
 * the same user waits for this one and then finds it). `first_seen_at` is the earliest `occurred_at` of any event that
 * named the user, whatever order partitions are applied in: a batch that names a user earlier than stored moves it
 * back (a separate statement, so that it sees a row a concurrent transaction inserted while this one waited).
 */
export async function usersSeenBefore(tx: EntityManager, inputs: readonly TokenRegistryInput[]): Promise<UserKey[]> {
  const sightings = firstSightings(inputs);
  if (!sightings.length) return [];
  const inserted: UserKey[] = await tx.query(INSERT, SIGHTINGS.arrays(sightings));
  const isNew = new Set(inserted.map(userKeyOf));
  const seenBefore = sightings.filter((sighting) => !isNew.has(userKeyOf(sighting)));
  if (seenBefore.length) await tx.query(EARLIER, SIGHTINGS.arrays(seenBefore));
  return seenBefore;
}
