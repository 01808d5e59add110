import { Topics } from '@push/contracts';
import type { ConsumedEvent } from '@push/event-bus';
import { ProjectionContext, ProjectionController, ProjectionHandler } from '@push/service-kit';
import { changelogEntriesOf } from '../../domain/changelog';
import { appendChangelog } from './token-changelog';

export const TOKEN_CHANGELOG_GROUP = 'token-registry.token-changelog';

/**
 * T3's changelog, projected from token-registry's own output topic — the record of what it published — rather than
 * written by the devices projection from what it computed. A replay applies the input partitions in another
 * interleaving and computes other events for a late T2 registration (README, "Read model"), so a changelog written by
 * the batch differed between two applications of one log; read back from the topic it is the published history, the
 * same for the live service and a rebuild. Offsets are stored with the rows (the kit's runner), and the entry ids come
 * from the records' `event_id`, so a redelivered or republished record adds nothing.
 */
@ProjectionController(TOKEN_CHANGELOG_GROUP)
export class TokenChangelogProjection {
  @ProjectionHandler(Topics.DeviceTokens)
  async append(consumed: ConsumedEvent<typeof Topics.DeviceTokens>[], { tx }: ProjectionContext): Promise<void> {
    await appendChangelog(
      tx,
      consumed.flatMap(({ event }) => changelogEntriesOf(event)),
    );
  }
}
