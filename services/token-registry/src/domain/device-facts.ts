import type { Platform, PushPermission } from '@push/contracts';

/**
 * What can happen to one device, as `evolve` applies it: the SDK's device events (with their `event_id`, which tells
 * a duplicate from another event of the same millisecond, T9), a provider's invalidation of a token, and another
 * device taking the token over (T2). Cross-device context (tombstones, the token's current holder) is resolved
 * beforehand by `handle`, so that `evolve` only needs the device's own state.
 */
export type DeviceFact =
  | {
      type: 'TokenRegistered';
      at: number;
      eventId: string;
      platform: Platform;
      osVersion: string | null;
      permission: PushPermission;
      userId: string | null;
      token: string;
      /** T8: the token string is tombstoned and this registration does not make it sendable again. */
      staysInvalidated: boolean;
      /** T2: the device of the same app that held this token until now. */
      takenFromDeviceId: string | null;
    }
  | {
      type: 'SessionStarted';
      at: number;
      eventId: string;
      platform: Platform;
      osVersion: string | null;
      permission: PushPermission;
      userId: string | null;
    }
  | { type: 'ChangeUser'; at: number; eventId: string; userId: string }
  | { type: 'UserLoggedOut'; at: number; eventId: string }
  | {
      type: 'PushPermissionChanged';
      at: number;
      eventId: string;
      platform: Platform;
      osVersion: string | null;
      permission: PushPermission;
      prompted: boolean;
    }
  | { type: 'AppUninstalled'; at: number; eventId: string }
  | { type: 'TokenInvalidated'; at: number; token: string; providerReason: string; providerTimestamp: number | null }
  | { type: 'TokenTakenOver'; at: number; token: string; byDeviceId: string };
