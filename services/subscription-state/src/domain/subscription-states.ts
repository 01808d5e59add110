import { type UserSubscriptionEvent, deterministicEventId } from '@push/contracts';
import { AppOptInPolicy, SubscriptionInput, factOf } from './facts';
import { SubscriptionChange, SubscriptionFact, UserSubscription, evolve } from './subscription';

export interface UserRef {
  workspaceId: string;
  userId: string;
}

const userKey = (ref: UserRef) => `${ref.workspaceId}\u0000${ref.userId}`;

/** Every app opts in (no apps file, or an app it does not list: the default of `opt_in_when_push_authorized`). */
export const EVERY_APP_OPTS_IN: AppOptInPolicy = () => true;

/** S5: the record of one change, with the previous state, the source and the cause. */
export function publishedEventOf(fact: SubscriptionFact, change: SubscriptionChange): UserSubscriptionEvent {
  const onDevice = fact.kind === 'Explicit' ? null : fact;
  return {
    type: 'SubscriptionStateChanged',
    data: {
      // One record at most per cause and user: reprocessing the cause publishes the same id.
      event_id: deterministicEventId(fact.causeEventId, fact.workspaceId, fact.userId, 'SubscriptionStateChanged'),
      cause_event_id: fact.causeEventId,
      workspace_id: fact.workspaceId,
      user_id: fact.userId,
      occurred_at: fact.at,
      previous_state: change.previous,
      state: change.state,
      source: change.source,
      opted_in_at: change.optedInAt,
      app_id: onDevice?.appId ?? null,
      device_id: onDevice?.deviceId ?? null,
    },
  };
}

/**
 * The users a batch of events touches: the projection loads them from Postgres (`put`), `handle` applies events to
 * them (pure, in memory) and the projection writes back what `changed` lists. Unit tests use it directly.
 */
export class SubscriptionStates {
  private readonly users = new Map<string, { ref: UserRef; state: UserSubscription }>();
  readonly changed = new Map<string, { ref: UserRef; state: UserSubscription }>();

  constructor(private readonly appOptsIn: AppOptInPolicy = EVERY_APP_OPTS_IN) {}

  /** The user an input is about for the rules (to load before `handle`), or null when it is no fact. */
  userOf(input: SubscriptionInput): UserRef | null {
    const fact = factOf(input, this.appOptsIn);
    return fact && { workspaceId: fact.workspaceId, userId: fact.userId };
  }

  put(ref: UserRef, state: UserSubscription): void {
    this.users.set(userKey(ref), { ref, state });
  }

  /** The user's subscription; undefined for a user never seen (S1). */
  user(ref: UserRef): UserSubscription | undefined {
    return this.users.get(userKey(ref))?.state;
  }

  handle(input: SubscriptionInput): UserSubscriptionEvent[] {
    const fact = factOf(input, this.appOptsIn);
    if (fact === null) return [];
    const ref = { workspaceId: fact.workspaceId, userId: fact.userId };
    const key = userKey(ref);
    const current = this.users.get(key)?.state ?? null;
    const { next, change } = evolve(current, fact);
    if (next !== null && next !== current) {
      this.users.set(key, { ref, state: next });
      this.changed.set(key, { ref, state: next });
    }
    return change ? [publishedEventOf(fact, change)] : [];
  }
}
