import { backoffMs, judge, retryAfterMs } from './delivery-policy';

const policy = { maxAttempts: 4, retryBaseMs: 100, retryMaxMs: 10_000 };
const failure = (reason: string, extra = {}) => ({ ok: false as const, reason, ...extra });

describe('judge (D6)', () => {
  it('D6: a sent answer is sent, with the provider message id', () => {
    expect(judge('APNS', { ok: true, messageId: 'id-1' }, 1, policy)).toEqual({
      kind: 'done',
      result: { kind: 'sent', providerMessageId: 'id-1' },
      pause: false,
      burstReason: null,
    });
  });

  it('D6: token reasons are bounces with the reason and the APNs timestamp; B4 reasons are bounces too', () => {
    expect(judge('APNS', failure('Unregistered', { timestamp: 42 }), 1, policy)).toMatchObject({
      result: { kind: 'bounced', providerReason: 'Unregistered', providerTimestamp: 42 },
      pause: false,
    });
    expect(judge('FCM', failure('messaging/mismatched-credential'), 1, policy)).toMatchObject({
      result: { kind: 'bounced', providerReason: 'messaging/mismatched-credential' },
    });
    expect(judge('APNS', failure('DeviceTokenNotForTopic'), 1, policy)).toMatchObject({
      result: { kind: 'bounced' },
      pause: false,
      burstReason: 'DeviceTokenNotForTopic',
    });
    expect(judge('APNS', failure('BadDeviceToken'), 1, policy)).toMatchObject({ burstReason: 'BadDeviceToken' });
    expect(judge('APNS', failure('Unregistered'), 1, policy)).toMatchObject({ burstReason: null });
    expect(judge('WEB_PUSH', failure('410'), 1, policy)).toMatchObject({
      result: { kind: 'bounced', providerReason: '410' },
    });
  });

  it('D6: FCM invalid-argument is a bounce only when its message says the token is not valid; the message is kept', () => {
    const message = 'The registration token is not a valid FCM registration token';
    expect(judge('FCM', failure('messaging/invalid-argument', { message }), 1, policy)).toMatchObject({
      result: { kind: 'bounced', providerReason: `messaging/invalid-argument: ${message}` },
    });
    expect(judge('FCM', failure('messaging/invalid-argument', { message: 'bad ttl' }), 1, policy)).toMatchObject({
      result: { kind: 'failed', category: 'PAYLOAD', reason: 'messaging/invalid-argument: bad ttl' },
    });
  });

  it('D6: configuration reasons fail CONFIGURATION and pause; payload reasons fail PAYLOAD without a pause', () => {
    expect(judge('APNS', failure('InvalidProviderToken'), 1, policy)).toEqual({
      kind: 'done',
      result: { kind: 'failed', category: 'CONFIGURATION', reason: 'InvalidProviderToken' },
      pause: true,
      burstReason: null,
    });
    expect(judge('WEB_PUSH', failure('403'), 1, policy)).toMatchObject({ pause: true });
    expect(judge('APNS', failure('PayloadTooLarge'), 1, policy)).toEqual({
      kind: 'done',
      result: { kind: 'failed', category: 'PAYLOAD', reason: 'PayloadTooLarge' },
      pause: false,
      burstReason: null,
    });
  });

  it('D6: retryable and unknown reasons retry until maxAttempts, then RETRY_EXHAUSTED', () => {
    expect(judge('APNS', failure('TooManyRequests'), 1, policy, () => 0)).toEqual({ kind: 'retry', delayMs: 50 });
    expect(judge('FCM', failure('messaging/unknown-error'), 3, policy, () => 0)).toEqual({
      kind: 'retry',
      delayMs: 200,
    });
    expect(judge('APNS', failure('TooManyRequests'), 4, policy)).toMatchObject({
      result: { kind: 'failed', category: 'RETRY_EXHAUSTED', reason: 'TooManyRequests' },
    });
  });

  it('D6: the delay is never shorter than Retry-After; a Retry-After beyond retryMaxMs ends the attempts', () => {
    expect(judge('WEB_PUSH', failure('429', { retryAfterMs: 3000 }), 1, policy, () => 1)).toEqual({
      kind: 'retry',
      delayMs: 3000,
    });
    expect(judge('WEB_PUSH', failure('429', { retryAfterMs: 20_000 }), 1, policy)).toMatchObject({
      result: { kind: 'failed', category: 'RETRY_EXHAUSTED' },
    });
  });

  it('D6: an unusable token (no request made) fails PAYLOAD, never a bounce', () => {
    expect(
      judge('WEB_PUSH', failure('INVALID_SUBSCRIPTION', { unusableToken: true, message: 'not JSON' }), 1, policy),
    ).toMatchObject({
      result: { kind: 'failed', category: 'PAYLOAD', reason: 'not JSON' },
    });
  });
});

describe('backoff and Retry-After', () => {
  it('doubles per attempt with equal jitter, capped at retryMaxMs', () => {
    expect([1, 2, 3].map((n) => backoffMs(n, policy, () => 0))).toEqual([50, 100, 200]);
    expect([1, 2, 3].map((n) => backoffMs(n, policy, () => 1))).toEqual([100, 200, 400]);
    expect(backoffMs(20, policy, () => 1)).toBe(10_000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs(['2'])).toBe(2000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(undefined)).toBeNull();
    expect(retryAfterMs('soon')).toBeNull();
  });
});
