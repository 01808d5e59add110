import { KNOWN_REASONS, NETWORK_ERROR, Provider, ReasonClass, classifyReason, providerOf } from './provider-reasons';

interface Expected {
  class: ReasonClass;
  burstSensitive?: boolean;
  uninstall?: boolean;
}

/**
 * PROVIDERS.md's classification table (and DESIGN B3–B5), row by row: every reason it names, with its class. A reason
 * missing from the library or classified otherwise fails its own test.
 */
const PROVIDERS_TABLE: Record<Provider, Record<string, Expected>> = {
  FCM: {
    // bounce, permanent; also the uninstall signal (B5)
    'messaging/registration-token-not-registered': { class: 'permanent', uninstall: true },
    UNREGISTERED: { class: 'permanent', uninstall: true },
    NotRegistered: { class: 'permanent', uninstall: true },
    // bounce, permanent
    'messaging/invalid-registration-token': { class: 'permanent' },
    InvalidRegistration: { class: 'permanent' },
    // configuration (burst) / bounce (single): B4
    'messaging/mismatched-credential': { class: 'configuration', burstSensitive: true },
    SENDER_ID_MISMATCH: { class: 'configuration', burstSensitive: true },
    MismatchSenderId: { class: 'configuration', burstSensitive: true },
    // configuration
    'messaging/third-party-auth-error': { class: 'configuration' },
    'messaging/authentication-error': { class: 'configuration' },
    'app/invalid-credential': { class: 'configuration' },
    // retry
    'messaging/message-rate-exceeded': { class: 'retry' },
    'messaging/internal-error': { class: 'retry' },
    'messaging/server-unavailable': { class: 'retry' },
    'app/network-error': { class: 'retry' },
    // messaging/invalid-argument without a message naming the token: a bad payload
    'messaging/invalid-argument': { class: 'payload' },
    '200': { class: 'success' },
  },
  APNS: {
    Unregistered: { class: 'permanent', uninstall: true },
    ExpiredToken: { class: 'permanent' },
    BadDeviceToken: { class: 'permanent', burstSensitive: true },
    DeviceTokenNotForTopic: { class: 'configuration', burstSensitive: true },
    InvalidProviderToken: { class: 'configuration' },
    ExpiredProviderToken: { class: 'configuration' },
    BadCertificate: { class: 'configuration' },
    BadCertificateEnvironment: { class: 'configuration' },
    MissingProviderToken: { class: 'configuration' },
    TopicDisallowed: { class: 'configuration' },
    BadTopic: { class: 'configuration' },
    MissingTopic: { class: 'configuration' },
    InvalidPushType: { class: 'configuration' },
    TooManyProviderTokenUpdates: { class: 'configuration' },
    TooManyRequests: { class: 'retry' },
    InternalServerError: { class: 'retry' },
    ServiceUnavailable: { class: 'retry' },
    Shutdown: { class: 'retry' },
    '429': { class: 'retry' },
    '500': { class: 'retry' },
    '503': { class: 'retry' },
    [NETWORK_ERROR]: { class: 'retry' },
    PayloadTooLarge: { class: 'payload' },
    '413': { class: 'payload' },
    BadPriority: { class: 'payload' },
    BadExpirationDate: { class: 'payload' },
    PayloadEmpty: { class: 'payload' },
    '200': { class: 'success' },
  },
  WEB_PUSH: {
    '201': { class: 'success' },
    '404': { class: 'permanent' },
    '410': { class: 'permanent' },
    '429': { class: 'retry' },
    '500': { class: 'retry' },
    '502': { class: 'retry' },
    '503': { class: 'retry' },
    [NETWORK_ERROR]: { class: 'retry' },
    '400': { class: 'configuration' },
    '401': { class: 'configuration' },
    '403': { class: 'configuration' },
    '413': { class: 'payload' },
  },
};

const rows = (Object.entries(PROVIDERS_TABLE) as [Provider, Record<string, Expected>][]).flatMap(
  ([provider, reasons]) => Object.entries(reasons).map(([reason, expected]) => ({ provider, reason, expected })),
);

describe('provider reasons (PROVIDERS.md)', () => {
  it.each(rows)('$provider $reason is $expected.class', ({ provider, reason, expected }) => {
    expect(classifyReason(provider, reason)).toEqual({
      provider,
      reason,
      class: expected.class,
      burstSensitive: expected.burstSensitive ?? false,
      uninstall: expected.uninstall ?? false,
    });
  });

  it('the library knows no FCM or APNs reason that the table above does not check', () => {
    for (const provider of ['FCM', 'APNS'] as const)
      expect([...KNOWN_REASONS[provider]].sort()).toEqual(Object.keys(PROVIDERS_TABLE[provider]).sort());
  });

  it('every Web Push status the library classifies is 2xx success, 404/410, 429/5xx, 400/401/403 or 413', () => {
    const statuses = KNOWN_REASONS.WEB_PUSH.filter((reason) => reason !== NETWORK_ERROR).map(Number);
    const documented = (s: number) =>
      (s >= 200 && s < 300) || [400, 401, 403, 404, 410, 413, 429].includes(s) || (s >= 500 && s < 600);
    expect(statuses.filter((s) => !documented(s))).toEqual([]);
    expect(classifyReason('WEB_PUSH', '418').class).toBe('unknown');
  });

  it('B3: FCM messaging/invalid-argument is permanent only when its message says the token is not a valid FCM token', () => {
    const message = 'The registration token is not a valid FCM registration token';
    expect(classifyReason('FCM', 'messaging/invalid-argument', message).class).toBe('permanent');
    expect(classifyReason('FCM', `messaging/invalid-argument: ${message}`).class).toBe('permanent');
    expect(classifyReason('FCM', 'messaging/invalid-argument', 'Invalid JSON payload received').class).toBe('payload');
    expect(classifyReason('FCM', 'messaging/invalid-argument: android.ttl must be positive').class).toBe('payload');
  });

  it('unknown reasons are kept and never permanent, burst-sensitive or an uninstall', () => {
    for (const [provider, reason] of [
      ['FCM', 'messaging/something-new'],
      ['APNS', 'SomethingNew'],
      ['APNS', 'unregistered'],
      ['WEB_PUSH', 'Gone'],
      ['FCM', ''],
      ['FCM', 'constructor'],
      ['APNS', '__proto__'],
    ] as const)
      expect(classifyReason(provider, reason)).toEqual({
        provider,
        reason,
        class: 'unknown',
        burstSensitive: false,
        uninstall: false,
      });
  });

  it('a reason is classified by its own provider only: an APNs reason from FCM is unknown', () => {
    expect(classifyReason('FCM', 'Unregistered').class).toBe('unknown');
    expect(classifyReason('APNS', 'NotRegistered').class).toBe('unknown');
    expect(classifyReason('WEB_PUSH', 'Unregistered').class).toBe('unknown');
  });

  it('each platform has its provider', () => {
    expect([providerOf('IOS'), providerOf('ANDROID'), providerOf('WEB')]).toEqual(['APNS', 'FCM', 'WEB_PUSH']);
  });
});
