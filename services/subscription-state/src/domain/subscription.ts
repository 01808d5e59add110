import type { SubscriptionChangeSource, SubscriptionSource, SubscriptionState } from '@push/contracts';

/**
 * What subscription-state keeps per user (pure data; the read model stores it as columns). The user's `state` is a
 * function of the latest explicit change and the latest automatic opt-in (`stateOf`), so events of the user's several
 * partitions (one per device, and the user's own) lead to the same state whatever order they are applied in.
 */
export interface UserSubscription {
  /** S1–S3: the state now, `stateOf` the fields below. */
  state: SubscriptionState;
  /** Braze's push_opted_in_at, `optedInAtOf` the fields below: null unless the state is OPTED_IN. */
  optedInAt: number | null;
  /** S2: the latest explicit change (`PushSubscriptionSet`) by `occurred_at`; null while there was none. */
  explicitState: SubscriptionState | null;
  explicitAt: number | null;
  /** The explicit changes applied at `explicitAt` (a redelivered one changes nothing; others of that millisecond apply in log order). */
  explicitEventIds: string[];
  /** S3: the latest automatic opt-in cause (a device of the user became AUTHORIZED) by `occurred_at`; null while none. */
  autoOptInAt: number | null;
  /**
   * The times of the automatic opt-in causes later than `explicitAt`, ascending, at most `MAX_OPT_IN_TIMES` (the
   * earliest): the earliest is when the user became OPTED_IN after the latest explicit change, in `occurred_at` order.
   */
  autoOptInTimes: number[];
}

/** How many automatic opt-in times a user keeps (beyond them, `optedInAtOf` may be later than the true first). */
export const MAX_OPT_IN_TIMES = 16;

/** What the domain learns from an input event (`factOf`), for one user of a workspace. */
export type SubscriptionFact =
  /** S1: token-registry saw the user for the first time. */
  | (FactBase & { kind: 'Seen'; appId: string; deviceId: string })
  /** S2: an explicit preference. */
  | (FactBase & { kind: 'Explicit'; state: SubscriptionState; source: SubscriptionSource })
  /** S3: a device of the user became AUTHORIZED, and the exceptions do not apply. */
  | (FactBase & { kind: 'AutoOptIn'; appId: string; deviceId: string });

interface FactBase {
  workspaceId: string;
  userId: string;
  at: number;
  causeEventId: string;
}

/** A change of a user's state, for S5: the state before (null: first sighting) and after, and what caused it. */
export interface SubscriptionChange {
  previous: SubscriptionState | null;
  state: SubscriptionState;
  source: SubscriptionChangeSource;
  optedInAt: number | null;
}

/**
 * S2/S3/S4: the state the latest explicit change gives (SUBSCRIBED without one: S1), opted in when a qualifying
 * authorization came later than that change — unless that state is UNSUBSCRIBED (an automatic opt-in never overrides
 * it) or already OPTED_IN. Nothing here can produce UNSUBSCRIBED but an explicit change (S4). On equal `occurred_at`
 * the explicit change wins.
 */
export function stateOf(s: Pick<UserSubscription, 'explicitState' | 'explicitAt' | 'autoOptInAt'>): SubscriptionState {
  const base = s.explicitState ?? 'SUBSCRIBED';
  const optedInLater = s.autoOptInAt !== null && (s.explicitAt === null || s.autoOptInAt > s.explicitAt);
  return base === 'SUBSCRIBED' && optedInLater ? 'OPTED_IN' : base;
}

/**
 * Braze's push_opted_in_at, a function of the fields like the state (so it does not depend on the order a user's
 * partitions are applied in): null unless OPTED_IN; the latest explicit change's time when that was OPTED_IN; else
 * the earliest automatic opt-in cause after the latest explicit change (when the user became OPTED_IN).
 */
export function optedInAtOf(
  s: Pick<UserSubscription, 'explicitState' | 'explicitAt' | 'autoOptInAt' | 'autoOptInTimes'>,
): number | null {
  if (stateOf(s) !== 'OPTED_IN') return null;
  if (s.explicitState === 'OPTED_IN') return s.explicitAt;
  return s.autoOptInTimes[0] ?? s.autoOptInAt;
}

const unseen: UserSubscription = {
  state: 'SUBSCRIBED',
  optedInAt: null,
  explicitState: null,
  explicitAt: null,
  explicitEventIds: [],
  autoOptInAt: null,
  autoOptInTimes: [],
};

function sourceOf(fact: SubscriptionFact): SubscriptionChangeSource {
  if (fact.kind === 'Seen') return 'FIRST_SEEN';
  if (fact.kind === 'AutoOptIn') return 'AUTO_OPT_IN';
  return fact.source;
}

/** `times` with `at` in its ascending place, keeping the earliest `MAX_OPT_IN_TIMES`. */
function insertSorted(times: readonly number[], at: number): number[] {
  const next = [...times, at].sort((x, y) => x - y);
  return next.slice(0, MAX_OPT_IN_TIMES);
}

/** The fact's effect on the stored fields, or `current` itself when it has none (late, repeated, nothing new). */
function evolveFields(current: UserSubscription | null, fact: SubscriptionFact): UserSubscription | null {
  const base = current ?? unseen;
  switch (fact.kind) {
    case 'Seen':
      return current ?? { ...unseen };
    case 'Explicit': {
      if (base.explicitAt !== null && fact.at < base.explicitAt) return current; // S2: a late older change
      const sameTime = base.explicitAt === fact.at;
      if (sameTime && base.explicitEventIds.includes(fact.causeEventId)) return current; // redelivered
      return {
        ...base,
        explicitState: fact.state,
        explicitAt: fact.at,
        explicitEventIds: sameTime ? [...base.explicitEventIds, fact.causeEventId] : [fact.causeEventId],
        // Opt-ins not later than the latest explicit change can never count again (it only moves forward).
        autoOptInTimes: base.autoOptInTimes.filter((at) => at > fact.at),
      };
    }
    case 'AutoOptIn': {
      const latest = base.autoOptInAt === null || fact.at > base.autoOptInAt;
      const counts = base.explicitAt === null || fact.at > base.explicitAt;
      const times =
        counts && !base.autoOptInTimes.includes(fact.at) ? insertSorted(base.autoOptInTimes, fact.at) : null;
      if (current !== null && !latest && times === null) return current; // older, repeated or superseded: nothing new
      return {
        ...base,
        autoOptInAt: latest ? fact.at : base.autoOptInAt,
        autoOptInTimes: times ?? base.autoOptInTimes,
      };
    }
  }
}

/**
 * Applies one fact to a user (null: never seen in the workspace). Pure. `change` is what S5 publishes: present when
 * the user was seen for the first time (`previous` null), the state changed, or its `optedInAt` did (an explicit
 * OPTED_IN of a user already opted in; an earlier opt-in cause arriving late); absent otherwise. `next` is `current`
 * itself when nothing is stored differently.
 */
export function evolve(
  current: UserSubscription | null,
  fact: SubscriptionFact,
): { next: UserSubscription | null; change: SubscriptionChange | null } {
  const fields = evolveFields(current, fact);
  if (fields === current || fields === null) return { next: current, change: null };
  const next = { ...fields, state: stateOf(fields), optedInAt: optedInAtOf(fields) };
  const state = next.state;
  if (current !== null && current.state === state && current.optedInAt === next.optedInAt)
    return { next, change: null };
  return {
    next,
    change: { previous: current?.state ?? null, state, source: sourceOf(fact), optedInAt: next.optedInAt },
  };
}
