import type { DeviceDeliveryEvent, DeviceTokenEvent, UserSubscriptionEvent } from './generated/types';

/**
 * A device as its owners' published records describe it to a consumer (segmentation, the dispatcher): the fold of
 * token-registry's and bounce-processor's records, never a re-derivation of their rules. token-registry's README: the
 * device belongs to `user_id` of its latest record; its sendable token is the latest `TokenAssigned`/`TokenReplaced`
 * not followed by a `TokenRemoved`; foreground/background are the latest `PushCapabilityChanged`'s.
 * bounce-processor's: its delivery status is the latest `DeliveryStatusChanged`'s.
 */
export interface PublishedDeviceState {
  platform: string | null;
  user_id: string | null;
  token: string | null;
  foreground_enabled: boolean;
  background_enabled: boolean;
  delivery_status: string;
}

/** The records that change a device's `PublishedDeviceState`. */
export type DeviceStateRecord = DeviceTokenEvent | Extract<DeviceDeliveryEvent, { type: 'DeliveryStatusChanged' }>;

/**
 * Whether a record of the three owner topics is about a device's state. `TokenInvalidated` is not: token-registry
 * applies it and publishes the resulting `TokenRemoved`; `UninstallDetected` and `AppProviderFlagged`/`Cleared` are
 * not facts of a device's state; `SubscriptionStateChanged` is the user's.
 */
export function isDeviceStateRecord(
  event: DeviceTokenEvent | UserSubscriptionEvent | DeviceDeliveryEvent,
): event is DeviceStateRecord {
  switch (event.type) {
    case 'SubscriptionStateChanged':
    case 'TokenInvalidated':
    case 'UninstallDetected':
    case 'AppProviderFlagged':
    case 'AppProviderCleared':
      return false;
    default:
      return true;
  }
}

/** One record applied to its device's state, in place (records of a device arrive in order, per key). */
export function applyDeviceStateRecord(device: PublishedDeviceState, event: DeviceStateRecord): void {
  if (event.type === 'DeliveryStatusChanged') {
    device.delivery_status = event.data.status;
    return;
  }
  // Every token-registry record carries the device's user after it and its platform (null only before any event
  // named one).
  device.platform = event.data.platform ?? device.platform;
  device.user_id = event.data.user_id;
  switch (event.type) {
    case 'PushCapabilityChanged':
      device.foreground_enabled = event.data.foreground_enabled;
      device.background_enabled = event.data.background_enabled;
      return;
    case 'TokenAssigned':
    case 'TokenReplaced':
      device.token = event.data.token;
      return;
    case 'TokenRemoved':
      device.token = null;
      return;
    default:
      return;
  }
}
