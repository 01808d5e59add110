import { type Platform, type PushPermission, unreachable } from '@push/contracts';

/** Whether the device's token can be sent to: `active` sendable, `invalidated` held but not sendable (T8), `removed` lost (T2, T7), `none` never had one. */
export type TokenStatus = 'active' | 'none' | 'removed' | 'invalidated';

/** An event applied to a device: its `occurred_at` and `event_id`. */
export interface AppliedEvent {
  at: number;
  eventId: string;
}

/**
 * Everything token-registry knows of one device, folded from its events by `evolve`. Each aspect remembers the
 * `occurred_at` of the newest event that set it, so that a late event cannot roll it back (T9).
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
  /**
   * The events applied at the aspects' current "as of" times (usually one or two): an event of the same millisecond
   * still applies after them, unless it is one of them again (a duplicate), T9.
   */
  appliedAsOf: readonly AppliedEvent[];
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
  appliedAsOf: Object.freeze([]),
});

/**
 * T9: does the event `eventId` at `at` change an aspect of `state` last set at `asOf`? When it happened later; or in the
 * same millisecond, unless it is one of the events applied then: on equal times log order decides, and a duplicate
 * (the same `event_id`) changes nothing. A late event changes nothing either.
 */
export const isNewer = (state: DeviceState, asOf: number | null, at: number, eventId: string): boolean =>
  asOf === null || at > asOf || (at === asOf && !state.appliedAsOf.some((e) => e.eventId === eventId));

export const sendableToken = (state: DeviceState): string | null =>
  state.tokenStatus === 'active' ? state.token : null;

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
export function pushCapability(
  platform: Platform | null,
  osVersion: string | null,
  permission: PushPermission | null,
): PushCapability {
  const none = { foregroundEnabled: false, backgroundEnabled: false, provisional: false };
  if (platform === null || permission === null) return none;
  switch (platform) {
    case 'IOS':
      return {
        foregroundEnabled: permission === 'AUTHORIZED' || permission === 'PROVISIONAL',
        backgroundEnabled: true,
        provisional: permission === 'PROVISIONAL',
      };
    case 'ANDROID': {
      const major = majorVersion(osVersion);
      const needsNoPermission = major !== null && major < ANDROID_RUNTIME_PERMISSION_MAJOR;
      return {
        foregroundEnabled: permission === 'AUTHORIZED' || (needsNoPermission && permission !== 'DENIED'),
        backgroundEnabled: true,
        provisional: false,
      };
    }
    case 'WEB':
      return { foregroundEnabled: permission === 'AUTHORIZED', backgroundEnabled: false, provisional: false };
    default:
      return unreachable(platform);
  }
}

/**
 * What the device can be sent now, as the read model and its HTTP API answer (T5 with T2/T7/T8): foreground and
 * background only while it holds a sendable token; `provisional` as its permission says, token or not.
 */
export function reachability(state: DeviceState): PushCapability {
  const capability = pushCapability(state.platform, state.osVersion, state.permission);
  const sendable = sendableToken(state) !== null;
  return {
    foregroundEnabled: sendable && capability.foregroundEnabled,
    backgroundEnabled: sendable && capability.backgroundEnabled,
    provisional: capability.provisional,
  };
}
