import { DeviceDeliveryEvent, DeviceTokenEvent, Topics, UserSubscriptionEvent } from '@push/contracts';
import type { ConsumedEvent } from '@push/event-bus';
import { ProjectionContext, ProjectionController, ProjectionHandler } from '@push/service-kit';
import type { EntityManager } from 'typeorm';

type Consumed = typeof Topics.DeviceTokens | typeof Topics.UserSubscriptions | typeof Topics.DeviceDelivery;

export const AUDIENCE_GROUP = 'segmentation.audience';

/**
 * segmentation's projection: the published facts of token-registry, subscription-state and bounce-processor into
 * `audience_users` and `audience_devices`, in the batch's transaction (exactly once with the offsets). Each owner's
 * records are in order per key (a device's on one partition, a user's on one partition), so the latest record applied
 * is the owner's current fact; applying the same log again ends in the same rows.
 */
@ProjectionController(AUDIENCE_GROUP)
export class AudienceProjection {
  @ProjectionHandler(Topics.DeviceTokens, Topics.UserSubscriptions, Topics.DeviceDelivery)
  async apply(consumed: ConsumedEvent<Consumed>[], { tx }: ProjectionContext): Promise<void> {
    const workspaces = new Set<string>();
    for (const { event } of consumed) {
      await applyFact(tx, event as DeviceTokenEvent | UserSubscriptionEvent | DeviceDeliveryEvent);
      workspaces.add(event.data.workspace_id);
    }
    // The workspaces' versions, in the batch's transaction: a cached index of an older version is stale.
    await tx.query(
      `insert into audience_versions (workspace_id, version) select w, 1 from unnest($1::text[]) as w
       on conflict (workspace_id) do update set version = audience_versions.version + 1`,
      [[...workspaces].sort()],
    );
  }
}

const deviceKey = (d: { workspace_id: string; app_id: string; device_id: string }) => [
  d.workspace_id,
  d.app_id,
  d.device_id,
];

/**
 * One published record applied to the read model. token-registry's consumer view (its README): the device belongs to
 * `user_id` of its latest record, its sendable token is the latest `TokenAssigned`/`TokenReplaced` not followed by a
 * `TokenRemoved`, foreground/background are the latest `PushCapabilityChanged`'s. bounce-processor's: the latest
 * `DeliveryStatusChanged`'s status. subscription-state's: the latest `SubscriptionStateChanged` of the user.
 */
async function applyFact(
  tx: EntityManager,
  event: DeviceTokenEvent | UserSubscriptionEvent | DeviceDeliveryEvent,
): Promise<void> {
  switch (event.type) {
    case 'SubscriptionStateChanged': {
      const { workspace_id, user_id, state, opted_in_at } = event.data;
      await tx.query(
        `insert into audience_users (workspace_id, user_id, state, opted_in_at_ms) values ($1, $2, $3, $4)
         on conflict (workspace_id, user_id) do update set state = excluded.state, opted_in_at_ms = excluded.opted_in_at_ms`,
        [workspace_id, user_id, state, opted_in_at],
      );
      return;
    }
    case 'DeliveryStatusChanged': {
      await tx.query(
        `insert into audience_devices (workspace_id, app_id, device_id, delivery_status) values ($1, $2, $3, $4)
         on conflict (workspace_id, app_id, device_id) do update set delivery_status = excluded.delivery_status`,
        [...deviceKey(event.data), event.data.status],
      );
      return;
    }
    case 'TokenInvalidated':
    case 'UninstallDetected':
    case 'AppProviderFlagged':
    case 'AppProviderCleared':
      // token-registry applies the invalidation and publishes the TokenRemoved segmentation takes; the others are
      // not facts of the audience.
      return;
    default:
      return applyDeviceRecord(tx, event);
  }
}

async function applyDeviceRecord(tx: EntityManager, event: DeviceTokenEvent): Promise<void> {
  const { platform, user_id } = event.data;
  const key = deviceKey(event.data);
  // Every record carries the device's user after it and its platform (null only before any event named one).
  await tx.query(
    `insert into audience_devices (workspace_id, app_id, device_id, platform, user_id) values ($1, $2, $3, $4, $5)
     on conflict (workspace_id, app_id, device_id)
     do update set platform = coalesce(excluded.platform, audience_devices.platform), user_id = excluded.user_id`,
    [...key, platform, user_id],
  );
  switch (event.type) {
    case 'PushCapabilityChanged':
      await tx.query(
        `update audience_devices set foreground_enabled = $4, background_enabled = $5
         where workspace_id = $1 and app_id = $2 and device_id = $3`,
        [...key, event.data.foreground_enabled, event.data.background_enabled],
      );
      return;
    case 'TokenAssigned':
    case 'TokenReplaced':
      await tx.query(
        'update audience_devices set token = $4 where workspace_id = $1 and app_id = $2 and device_id = $3',
        [...key, event.data.token],
      );
      return;
    case 'TokenRemoved':
      await tx.query(
        'update audience_devices set token = null where workspace_id = $1 and app_id = $2 and device_id = $3',
        key,
      );
      return;
    default:
      return;
  }
}
