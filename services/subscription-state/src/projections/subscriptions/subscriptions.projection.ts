import { MessageKeys, Topics, UserSubscriptionEvent } from '@push/contracts';
import type { ConsumedEvent, OutgoingEvent } from '@push/event-bus';
import {
  AppsFile,
  ProjectionContext,
  ProjectionController,
  ProjectionHandler,
  ProjectionValidator,
} from '@push/service-kit';
import type { AppOptInPolicy } from '../../domain/facts';
import { SubscriptionStates, UserRef } from '../../domain/subscription-states';
import { inputProblem } from '../../domain/validation';
import { lockUsers, saveUsers } from './user-subscriptions-table';

type Consumed = typeof Topics.UserEvents | typeof Topics.DeviceTokens;

export const SUBSCRIPTIONS_GROUP = 'subscription-state.subscriptions';

/**
 * subscription-state's rules: explicit preferences (`sdk.user-events.v1`) and token-registry's device records in, the
 * users' subscriptions out, and every change published on `subscription-state.user-subscriptions.v1` (through the
 * outbox, in the transaction that stores the offsets). The history of those changes is not written here: it is
 * projected from what was published (`SubscriptionHistoryProjection`).
 */
@ProjectionController(SUBSCRIPTIONS_GROUP)
export class SubscriptionsProjection {
  /** S3: an app's `opt_in_when_push_authorized` (true for an app the apps file does not list). */
  private readonly appOptsIn: AppOptInPolicy;

  constructor(apps: AppsFile) {
    this.appOptsIn = (workspaceId, appId) => apps.app(workspaceId, appId)?.opt_in_when_push_authorized ?? true;
  }

  @ProjectionValidator()
  validate({ event }: ConsumedEvent<Consumed>): string | null {
    return inputProblem(event);
  }

  @ProjectionHandler(Topics.UserEvents, Topics.DeviceTokens)
  async apply(
    consumed: ConsumedEvent<Consumed>[],
    { tx }: ProjectionContext,
  ): Promise<OutgoingEvent<typeof Topics.UserSubscriptions>[]> {
    const states = new SubscriptionStates(this.appOptsIn);
    const refs = new Map<string, UserRef>();
    for (const { event } of consumed) {
      const ref = states.userOf(event);
      if (ref) refs.set(`${ref.workspaceId}\u0000${ref.userId}`, ref);
    }
    for (const { ref, state } of await lockUsers(tx, refs)) states.put(ref, state);

    const published: UserSubscriptionEvent[] = consumed.flatMap(({ event }) => states.handle(event));
    await saveUsers(tx, states.changed.values());
    return published.map((event) => ({
      topic: Topics.UserSubscriptions,
      key: MessageKeys.user(event.data.workspace_id, event.data.user_id),
      event,
    }));
  }
}
