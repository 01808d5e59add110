import type { Platform, PushPermission } from '@push/contracts';

/** Whether the device's token can be sent to: `active` sendable, `invalidated` held but not sendable (T8), `removed` lost (T2, T7), `none` never had one. */
export type TokenStatus = 'active' | 'none' | 'removed' | 'invalidated';

/**
 * Everything token-registry knows of one device, folded from its events by `evolve`. Each aspect remembers the
 * `occurred_at` of the newest event that set it, so that a late event cannot roll it back (T9). Stored as JSON.
 */
export interface DeviceState {
  platform: Platform | null;
  osVersion: string | null;
  permission: PushPermission | null;
  capabilityAsOf: number | null;
  userId: string | null;
  userAsOf: number | null;
  /** The token string while `active` or `invalidated`; null otherwise. */
  token: string | null;
  tokenStatus: TokenStatus;
  tokenAsOf: number | null;
  /** When the current token was last registered: an APNs 410 older than this does not invalidate it (T8). */
  tokenRegisteredAt: number | null;
  lastSessionAt: number | null;
}

export const unknownDevice: DeviceState = Object.freeze({
  platform: null,
  osVersion: null,
  permission: null,
  capabilityAsOf: null,
  userId: null,
  userAsOf: null,
  token: null,
  tokenStatus: 'none',
  tokenAsOf: null,
  tokenRegisteredAt: null,
  lastSessionAt: null,
});

/** T9: an event changes an aspect only if it is newer than what set the aspect; duplicates and late events are not. */
export const isNewer = (at: number, asOf: number | null): boolean => asOf === null || at > asOf;

export const sendableToken = (state: DeviceState): string | null => (state.tokenStatus === 'active' ? state.token : null);

export interface PushCapability {
  /** The OS lets the app show notifications. */
  foregroundEnabled: boolean;
  /** Silent pushes reach the app. */
  backgroundEnabled: boolean;
  /** iOS quiet delivery to the notification centre. */
  provisional: boolean;
}

/** Android 13 introduced the runtime notification permission; before it, apps may notify unless disabled in settings. */
const ANDROID_RUNTIME_PERMISSION_MAJOR = 13;

const majorVersion = (osVersion: string | null): number | null => {
  const major = osVersion === null ? NaN : Number.parseInt(osVersion, 10);
  return Number.isNaN(major) ? null : major;
};

/**
 * T5. Android below 13 needs no permission, so NOT_DETERMINED still shows notifications there; DENIED means the user
 * disabled them in the OS settings (T6). An Android device of unknown OS version is treated as 13+ (the prompt
 * decides), so nothing is counted reachable on a guess.
 */
export function pushCapability(platform: Platform | null, osVersion: string | null, permission: PushPermission | null): PushCapability {
  const none = { foregroundEnabled: false, backgroundEnabled: false, provisional: false };
  if (platform === null || permission === null) return none;
  switch (platform) {
    case 'IOS':
      return { foregroundEnabled: permission === 'AUTHORIZED' || permission === 'PROVISIONAL', backgroundEnabled: true, provisional: permission === 'PROVISIONAL' };
    case 'ANDROID': {
      const major = majorVersion(osVersion);
      const needsNoPermission = major !== null && major < ANDROID_RUNTIME_PERMISSION_MAJOR;
      return { foregroundEnabled: permission === 'AUTHORIZED' || (needsNoPermission && permission !== 'DENIED'), backgroundEnabled: true, provisional: false };
    }
    case 'WEB':
      return { foregroundEnabled: permission === 'AUTHORIZED', backgroundEnabled: false, provisional: false };
    default:
      return unreachable(platform);
  }
}

export function unreachable(value: never): never {
  throw new Error(`unhandled case ${JSON.stringify(value)}`);
}
