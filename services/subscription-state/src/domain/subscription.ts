import type { SubscriptionChangeSource, SubscriptionSource, SubscriptionState } from '@push/contracts';

/**
 * What subscription-state keeps per user (pure data; the read model stores it as columns). The user's `state` is a
 * function of the latest explicit change and the latest automatic opt-in (`stateOf`), so events of the user's several
 * partitions (one per device, and the user's own) lead to the same state whatever order they are applied in.
 */
export interface UserSubscription {
  /** S1–S3: the state now, `stateOf` the fields below. */
  state: SubscriptionState;
  /** Braze's push_opted_in_at: when the user last became OPTED_IN; kept afterwards. */
  optedInAt: number | null;
  /** S2: the latest explicit change (`PushSubscriptionSet`) by `occurred_at`; null while there was none. */
  explicitState: SubscriptionState | null;
  explicitAt: number | null;
  /** The explicit changes applied at `explicitAt` (a redelivered one changes nothing; others of that millisecond apply in log order). */
  explicitEventIds: string[];
  /** S3: the latest automatic opt-in cause (a device of the user became AUTHORIZED) by `occurred_at`; null while none. */
  autoOptInAt: number | null;
}

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

const unseen: UserSubscription = {
  state: 'SUBSCRIBED',
  optedInAt: null,
  explicitState: null,
  explicitAt: null,
  explicitEventIds: [],
  autoOptInAt: null,
};

function sourceOf(fact: SubscriptionFact): SubscriptionChangeSource {
  if (fact.kind === 'Seen') return 'FIRST_SEEN';
  if (fact.kind === 'AutoOptIn') return 'AUTO_OPT_IN';
  return fact.source;
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
      };
    }
    case 'AutoOptIn':
      if (current !== null && base.autoOptInAt !== null && fact.at <= base.autoOptInAt) return current;
      return { ...base, autoOptInAt: fact.at };
  }
}

/**
 * Applies one fact to a user (null: never seen in the workspace). Pure. `change` is what S5 publishes: present when
 * the state changed or the user was seen for the first time (`previous` null), absent otherwise; `next` is `current`
 * itself when nothing is stored differently.
 */
export function evolve(
  current: UserSubscription | null,
  fact: SubscriptionFact,
): { next: UserSubscription | null; change: SubscriptionChange | null } {
  const fields = evolveFields(current, fact);
  if (fields === current || fields === null) return { next: current, change: null };
  const state = stateOf(fields);
  const becameOptedIn = state === 'OPTED_IN' && current?.state !== 'OPTED_IN';
  const next = { ...fields, state, optedInAt: becameOptedIn ? fact.at : fields.optedInAt };
  if (current !== null && current.state === state) return { next, change: null };
  return {
    next,
    change: { previous: current?.state ?? null, state, source: sourceOf(fact), optedInAt: next.optedInAt },
  };
}
