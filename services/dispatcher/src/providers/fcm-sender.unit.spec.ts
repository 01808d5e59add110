import { fcmAttemptOf } from './fcm-sender';

const body = (status: string, errorCode?: string, message = 'm') =>
  JSON.stringify({
    error: {
      code: 0,
      message,
      status,
      ...(errorCode && { details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] }),
    },
  });

describe("FCM v1 answers as firebase-admin's codes (D6)", () => {
  it.each([
    [404, body('NOT_FOUND', 'UNREGISTERED'), 'messaging/registration-token-not-registered'],
    [404, body('NOT_FOUND'), 'messaging/registration-token-not-registered'],
    [400, body('INVALID_ARGUMENT', 'INVALID_ARGUMENT'), 'messaging/invalid-argument'],
    [403, body('PERMISSION_DENIED', 'SENDER_ID_MISMATCH'), 'messaging/mismatched-credential'],
    [403, body('PERMISSION_DENIED'), 'messaging/mismatched-credential'],
    [429, body('RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED'), 'messaging/message-rate-exceeded'],
    [503, body('UNAVAILABLE', 'UNAVAILABLE'), 'messaging/server-unavailable'],
    [500, body('INTERNAL', 'INTERNAL'), 'messaging/internal-error'],
    [401, body('UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR'), 'messaging/third-party-auth-error'],
    [401, body('UNAUTHENTICATED', 'APNS_AUTH_ERROR'), 'messaging/third-party-auth-error'],
    [401, body('UNAUTHENTICATED'), 'messaging/third-party-auth-error'],
    [400, body('SOMETHING_NEW'), 'messaging/unknown-error'],
    [401, 'Unauthorized', 'messaging/authentication-error'],
    [403, '<html>Forbidden</html>', 'messaging/authentication-error'],
    [400, 'bad', 'messaging/invalid-argument'],
    [500, '', 'messaging/internal-error'],
    [503, '', 'messaging/server-unavailable'],
    [502, 'Bad Gateway', 'messaging/unknown-error'],
  ])('D6: %i %s → %s', (status, text, reason) => {
    expect(fcmAttemptOf(status, text, undefined)).toMatchObject({ ok: false, reason });
  });

  it('keeps the message and the Retry-After, and the message name of a success', () => {
    expect(fcmAttemptOf(429, body('RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED', 'slow down'), '30')).toEqual({
      ok: false,
      reason: 'messaging/message-rate-exceeded',
      message: 'slow down',
      retryAfterMs: 30_000,
    });
    expect(fcmAttemptOf(200, '{"name":"projects/p/messages/1"}', undefined)).toEqual({
      ok: true,
      messageId: 'projects/p/messages/1',
    });
  });
});
