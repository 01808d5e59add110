import { Topics } from '@push/contracts';
import type { ConsumedEvent } from '@push/event-bus';
import { ProjectionContext, ProjectionController, ProjectionHandler } from '@push/service-kit';
import { appendHistory } from './subscription-history';

export const SUBSCRIPTION_HISTORY_GROUP = 'subscription-state.subscription-history';

/**
 * S5's history, projected from subscription-state's own output topic — the record of what it published — rather than
 * written by the subscriptions projection from what it computed. A user's inputs come on several partitions, and a
 * replay interleaving them otherwise publishes (would publish) another sequence of records (README, "Published
 * events"), so a history written by the batch differed between two applications of one log; read back from the topic
 * it is the published history, the same for the live service and a rebuild. Records are keyed by user, so a user's
 * history is in one partition, in its order. Offsets are stored with the rows (the kit's runner), and rows are unique
 * by the record's `event_id`, so a redelivered or republished record adds nothing.
 */
@ProjectionController(SUBSCRIPTION_HISTORY_GROUP)
export class SubscriptionHistoryProjection {
  @ProjectionHandler(Topics.UserSubscriptions)
  async append(consumed: ConsumedEvent<typeof Topics.UserSubscriptions>[], { tx }: ProjectionContext): Promise<void> {
    await appendHistory(
      tx,
      consumed.map(({ event }) => event),
    );
  }
}
