import type { EntityManager } from 'typeorm';

/**
 * Serialises, per dispatch, the requests projection and the outcomes projection (different topics, so different
 * transactions that may run at once): whichever commits second sees what the first wrote — a request recorded, or a
 * published outcome or completion waiting for it — and no published completion is missed by a request applied at the
 * same moment. Transaction-scoped advisory locks, taken in id order so that two batches never wait for each other in
 * a cycle (a hash collision only makes one wait).
 */
export async function lockDispatches(tx: EntityManager, dispatchIds: Iterable<string>): Promise<void> {
  const ids = [...new Set(dispatchIds)].sort();
  if (ids.length === 0) return;
  await tx.query(
    `select pg_advisory_xact_lock(${DISPATCH_LOCK_CLASS}, hashtext(id)) from unnest($1::text[]) with ordinality as t(id, n)
     order by n`,
    [ids],
  );
}

/** The advisory-lock class of dispatches (`pg_advisory_xact_lock(class, hashtext(dispatch_id))`). */
const DISPATCH_LOCK_CLASS = 0x64737064; // "dspd"
