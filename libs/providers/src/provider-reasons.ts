/** The three push providers, one per platform of the contract. */
export type Provider = 'FCM' | 'APNS' | 'WEB_PUSH';

/** A platform of the contract (`push.sdk.Platform`). */
export type PlatformName = 'IOS' | 'ANDROID' | 'WEB';

/**
 * What a provider's answer means for the token (PROVIDERS.md, DESIGN B3/B4, D6):
 * - `permanent`: the token is dead (B3);
 * - `configuration`: the app's credentials, topic or environment are wrong, not the token;
 * - `retry`: rate limits, provider errors, the network — send again later;
 * - `payload`: the message is wrong, never the token;
 * - `success`: delivered to the provider.
 */
export type ReasonClass = 'permanent' | 'configuration' | 'retry' | 'payload' | 'success';

export interface ReasonClassification {
  provider: Provider;
  /** The reason as the provider gave it, kept even when unknown. */
  reason: string;
  /** `unknown` for a reason no provider documents: it is kept and counted, never treated as permanent. */
  class: ReasonClass | 'unknown';
  /**
   * B4: a configuration-type reason (a wrong sender id, topic or APNs environment) that a single device can also
   * cause. One such bounce behaves as B3 (permanent); a burst of them across an app's devices is the app's
   * configuration, and no token may be invalidated because of it.
   */
  burstSensitive: boolean;
  /** B5: the provider says the app was removed from the device. */
  uninstall: boolean;
}

/** The reason a sender records for a connection error without an HTTP status (APNs, Web Push). */
export const NETWORK_ERROR = 'network-error';

const PROVIDER_OF_PLATFORM: Record<PlatformName, Provider> = { IOS: 'APNS', ANDROID: 'FCM', WEB: 'WEB_PUSH' };

export const providerOf = (platform: PlatformName): Provider => PROVIDER_OF_PLATFORM[platform];

interface Entry {
  class: ReasonClass;
  burstSensitive?: boolean;
  uninstall?: boolean;
}

const permanent: Entry = { class: 'permanent' };
const uninstall: Entry = { class: 'permanent', uninstall: true };
const configuration: Entry = { class: 'configuration' };
const burstConfiguration: Entry = { class: 'configuration', burstSensitive: true };
const retry: Entry = { class: 'retry' };
const payload: Entry = { class: 'payload' };
const success: Entry = { class: 'success' };

/**
 * FCM: firebase-admin's error codes, the FCM v1 error codes PROVIDERS.md names and the legacy HTTP API's reasons.
 * `messaging/invalid-argument` is not here: its class depends on its message (`classifyReason`). A sent push is `200`
 * for every provider (HTTP status; Web Push answers 201).
 */
const FCM: Record<string, Entry> = {
  'messaging/registration-token-not-registered': uninstall,
  UNREGISTERED: uninstall,
  NotRegistered: uninstall,
  'messaging/invalid-registration-token': permanent,
  InvalidRegistration: permanent,
  'messaging/mismatched-credential': burstConfiguration,
  SENDER_ID_MISMATCH: burstConfiguration,
  MismatchSenderId: burstConfiguration,
  'messaging/third-party-auth-error': configuration,
  'messaging/authentication-error': configuration,
  'app/invalid-credential': configuration,
  'messaging/message-rate-exceeded': retry,
  'messaging/internal-error': retry,
  'messaging/server-unavailable': retry,
  'app/network-error': retry,
  '200': success,
};

/** APNs: the `reason` of an error response (or the HTTP status when it has none). */
const APNS: Record<string, Entry> = {
  Unregistered: uninstall,
  ExpiredToken: permanent,
  BadDeviceToken: { class: 'permanent', burstSensitive: true },
  DeviceTokenNotForTopic: burstConfiguration,
  InvalidProviderToken: configuration,
  ExpiredProviderToken: configuration,
  BadCertificate: configuration,
  BadCertificateEnvironment: configuration,
  MissingProviderToken: configuration,
  TopicDisallowed: configuration,
  BadTopic: configuration,
  MissingTopic: configuration,
  InvalidPushType: configuration,
  TooManyProviderTokenUpdates: configuration,
  TooManyRequests: retry,
  InternalServerError: retry,
  ServiceUnavailable: retry,
  Shutdown: retry,
  '429': retry,
  '500': retry,
  '503': retry,
  [NETWORK_ERROR]: retry,
  PayloadTooLarge: payload,
  '413': payload,
  BadPriority: payload,
  BadExpirationDate: payload,
  PayloadEmpty: payload,
  '200': success,
};

/** Web Push answers are HTTP statuses (web-push's `WebPushError.statusCode`). */
function webPushEntry(reason: string): Entry | undefined {
  if (reason === NETWORK_ERROR) return retry;
  if (!/^[1-5]\d\d$/.test(reason)) return undefined;
  const status = Number(reason);
  if (status >= 200 && status < 300) return success;
  if (status === 404 || status === 410) return permanent;
  if (status === 429 || status >= 500) return retry;
  if (status === 400 || status === 401 || status === 403) return configuration;
  if (status === 413) return payload;
  return undefined;
}

/** FCM's `messaging/invalid-argument` names a bad token only through its message (firebase-admin's wording). */
const INVALID_ARGUMENT = 'messaging/invalid-argument';
const NOT_A_VALID_TOKEN = /not a valid FCM registration token/i;

/**
 * Splits `messaging/invalid-argument: The registration token is not a valid FCM registration token` into the code
 * and its message: a sender that records the provider's message with the code does so after ": ".
 */
function codeAndMessage(reason: string): { code: string; message: string | null } {
  const at = reason.indexOf(': ');
  return at < 0 ? { code: reason, message: null } : { code: reason.slice(0, at), message: reason.slice(at + 2) };
}

function entryOf(provider: Provider, reason: string, message: string | null): Entry | undefined {
  switch (provider) {
    case 'FCM': {
      const { code, message: inline } = codeAndMessage(reason);
      const text = message ?? inline;
      // Without a message saying so, an invalid argument is the payload's: a token is never invalidated on a guess.
      if (code === INVALID_ARGUMENT) return text !== null && NOT_A_VALID_TOKEN.test(text) ? permanent : payload;
      return Object.hasOwn(FCM, reason) ? FCM[reason] : undefined;
    }
    case 'APNS':
      return Object.hasOwn(APNS, reason) ? APNS[reason] : undefined;
    case 'WEB_PUSH':
      return webPushEntry(reason);
    default: {
      const never: never = provider;
      throw new Error(`unknown provider ${String(never)}`);
    }
  }
}

/**
 * The class of a provider's answer. `message` is the provider's error message where the reason alone is ambiguous
 * (FCM `messaging/invalid-argument`); it may also follow the reason after ": ". An unknown reason is `unknown`:
 * never permanent, never burst-sensitive, never an uninstall.
 */
export function classifyReason(
  provider: Provider,
  reason: string,
  message: string | null = null,
): ReasonClassification {
  const entry = entryOf(provider, reason, message);
  return {
    provider,
    reason,
    class: entry?.class ?? 'unknown',
    burstSensitive: entry?.burstSensitive ?? false,
    uninstall: entry?.uninstall ?? false,
  };
}

/** The reasons of the table, per provider (Web Push: the statuses it classifies, plus the network error). */
export const KNOWN_REASONS: Readonly<Record<Provider, readonly string[]>> = {
  FCM: [...Object.keys(FCM), INVALID_ARGUMENT],
  APNS: Object.keys(APNS),
  WEB_PUSH: [
    ...Array.from({ length: 400 }, (_, i) => String(200 + i)).filter((s) => webPushEntry(s) !== undefined),
    NETWORK_ERROR,
  ],
};
