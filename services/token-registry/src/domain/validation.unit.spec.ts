import { deliveryEvents, deviceEvents } from '@push/testing';
import { inputProblem } from './validation';

const device = { workspace_id: 'acme', app_id: 'web-app', device_id: 'laptop' };
const web = (token: string) => deviceEvents.tokenRegistered(device, 1000, token, { platform: 'WEB', os_version: null });

describe('bad device events go to the dead-letter topic with a reason (issue 4)', () => {
  it('accepts valid events of every kind', () => {
    const valid = [
      web(JSON.stringify({ endpoint: 'https://fcm.googleapis.com/fcm/send/abc', keys: { p256dh: 'BPx', auth: 'au' } })),
      deviceEvents.tokenRegistered(device, 1000, 'apns-1'),
      deviceEvents.sessionStarted(device, 1000),
      deviceEvents.changeUser(device, 1000, 'ann'),
      deviceEvents.userLoggedOut(device, 1000),
      deviceEvents.pushPermissionChanged(device, 1000, 'DENIED'),
      deviceEvents.appUninstalled(device, 1000),
      deliveryEvents.tokenInvalidated(device, 1000, 'apns-1'),
    ];
    expect(valid.map(inputProblem)).toEqual(valid.map(() => null));
  });

  it('accepts the longest ids (256 bytes) and token (2048 bytes) the read model can index', () => {
    const longest = { workspace_id: 'w'.repeat(256), app_id: 'a'.repeat(256), device_id: 'd'.repeat(256) };
    const events = [
      deviceEvents.tokenRegistered(longest, 1000, 't'.repeat(2048), { user_id: 'u'.repeat(256) }),
      deviceEvents.changeUser(longest, 1000, 'ü'.repeat(128)),
    ];
    expect(events.map(inputProblem)).toEqual([null, null]);
  });

  it.each([
    ['an empty token', deviceEvents.tokenRegistered(device, 1000, '  '), 'token is empty'],
    ['a missing device id', deviceEvents.appUninstalled({ ...device, device_id: '' }, 1000), 'device_id is empty'],
    [
      'an empty workspace id',
      deviceEvents.changeUser({ ...device, workspace_id: '' }, 1000, 'ann'),
      'workspace_id is empty',
    ],
    ['an empty user id on ChangeUser', deviceEvents.changeUser(device, 1000, ''), 'user_id is empty'],
    [
      'an empty user id on TokenRegistered',
      deviceEvents.tokenRegistered(device, 1000, 'apns-1', { user_id: ' ' }),
      'user_id is empty (an anonymous device has user_id null)',
    ],
    [
      'a web token that is not JSON',
      web('not-json'),
      'token of a WEB device is not JSON (expected a PushSubscription {"endpoint","keys":{"p256dh","auth"}})',
    ],
    [
      'a web token that is a JSON string',
      web('"https://push.example.com"'),
      'token of a WEB device is not a PushSubscription object',
    ],
    [
      'a web token without endpoint',
      web(JSON.stringify({ keys: { p256dh: 'a', auth: 'b' } })),
      'token of a WEB device has no endpoint',
    ],
    [
      'a web token whose endpoint is not a URL',
      web(JSON.stringify({ endpoint: 'push server', keys: { p256dh: 'a', auth: 'b' } })),
      'token of a WEB device has an endpoint that is not a URL',
    ],
    [
      'a web token with a non-HTTP endpoint',
      web(JSON.stringify({ endpoint: 'ftp://x', keys: { p256dh: 'a', auth: 'b' } })),
      'token of a WEB device has an endpoint with scheme ftp: (expected https:)',
    ],
    ['a web token without keys', web(JSON.stringify({ endpoint: 'https://x' })), 'token of a WEB device has no keys'],
    [
      'a web token without p256dh',
      web(JSON.stringify({ endpoint: 'https://x', keys: { auth: 'b' } })),
      'token of a WEB device has no keys.p256dh',
    ],
    [
      'a web token without auth',
      web(JSON.stringify({ endpoint: 'https://x', keys: { p256dh: 'a' } })),
      'token of a WEB device has no keys.auth',
    ],
    ['an invalidation of an empty token', deliveryEvents.tokenInvalidated(device, 1000, ''), 'token is empty'],
    [
      'a token over 2048 bytes',
      deviceEvents.tokenRegistered(device, 1000, 'a'.repeat(2049)),
      'token is longer than 2048 bytes (UTF-8): 2049 bytes',
    ],
    [
      'a token over 2048 bytes in UTF-8 (1,025 two-byte characters)',
      deviceEvents.tokenRegistered(device, 1000, 'é'.repeat(1025)),
      'token is longer than 2048 bytes (UTF-8): 2050 bytes',
    ],
    [
      'an invalidation of a token over 2048 bytes',
      deliveryEvents.tokenInvalidated(device, 1000, 'a'.repeat(2049)),
      'token is longer than 2048 bytes (UTF-8): 2049 bytes',
    ],
    [
      'a workspace id over 256 bytes',
      deviceEvents.appUninstalled({ ...device, workspace_id: 'w'.repeat(257) }, 1000),
      'workspace_id is longer than 256 bytes (UTF-8): 257 bytes',
    ],
    [
      'an app id over 256 bytes',
      deliveryEvents.tokenInvalidated({ ...device, app_id: 'a'.repeat(257) }, 1000, 'apns-1'),
      'app_id is longer than 256 bytes (UTF-8): 257 bytes',
    ],
    [
      'a device id over 256 bytes',
      deviceEvents.sessionStarted({ ...device, device_id: 'd'.repeat(257) }, 1000),
      'device_id is longer than 256 bytes (UTF-8): 257 bytes',
    ],
    [
      'a user id over 256 bytes on ChangeUser',
      deviceEvents.changeUser(device, 1000, 'u'.repeat(257)),
      'user_id is longer than 256 bytes (UTF-8): 257 bytes',
    ],
    [
      'a user id over 256 bytes on TokenRegistered',
      deviceEvents.tokenRegistered(device, 1000, 'apns-1', { user_id: 'u'.repeat(257) }),
      'user_id is longer than 256 bytes (UTF-8): 257 bytes',
    ],
    [
      'a user id over 256 bytes on SessionStarted',
      deviceEvents.sessionStarted(device, 1000, { user_id: 'u'.repeat(257) }),
      'user_id is longer than 256 bytes (UTF-8): 257 bytes',
    ],
  ])('rejects %s', (_what, event, reason) => {
    expect(inputProblem(event)).toBe(reason);
  });
});
