import type { DeviceTokenEvent } from '@push/contracts';
import { deliveryEvents, deviceEvents, givenWhenThen } from '@push/testing';
import { changelogEntriesOf } from './changelog';
import { TokenRegistry, TokenRegistryInput } from './token-registry';

const WORKSPACE = 'acme';
const phone = { workspace_id: WORKSPACE, app_id: 'ios-app', device_id: 'phone' };
const tablet = { workspace_id: WORKSPACE, app_id: 'ios-app', device_id: 'tablet' };
const pixel = { workspace_id: WORKSPACE, app_id: 'android-app', device_id: 'pixel' };
const laptop = { workspace_id: WORKSPACE, app_id: 'web-app', device_id: 'laptop' };
const refOf = (d: typeof phone) => ({ workspaceId: d.workspace_id, appId: d.app_id, deviceId: d.device_id });
const subscription = (id: string) =>
  JSON.stringify({
    endpoint: `https://push.example.com/send/${id}`,
    keys: { p256dh: `p256-${id}`, auth: `auth-${id}` },
  });

/** Given/when/then over the pure registry: `given` events are applied first, `when` returns what the last ones published. */
const given = givenWhenThen(
  () => new TokenRegistry(),
  (registry, published) => ({
    registry,
    device: (d: typeof phone) => registry.device(refOf(d)),
    changelog: () => published.flatMap(changelogEntriesOf),
  }),
);

const types = (events: DeviceTokenEvent[]) => events.map((e) => `${e.type} ${e.data.device_id}`);

describe('token rules (DESIGN §4, T1–T9)', () => {
  describe('T1 one token per device', () => {
    it('T1: a new registration replaces the previous token', () => {
      const { events, device } = given(deviceEvents.tokenRegistered(phone, 1000, 'apns-old', { user_id: 'ann' })).when(
        deviceEvents.tokenRegistered(phone, 2000, 'apns-new', { user_id: 'ann' }),
      );

      expect(events).toMatchObject([
        {
          type: 'TokenReplaced',
          data: {
            device_id: 'phone',
            token: 'apns-new',
            previous_token: 'apns-old',
            user_id: 'ann',
            moved_from_device_id: null,
          },
        },
      ]);
      expect(device(phone)).toMatchObject({ token: 'apns-new', tokenStatus: 'active' });
    });

    it('T1: the replaced token is held by no device any more: registering it elsewhere moves nothing', () => {
      const { events } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-old'),
        deviceEvents.tokenRegistered(phone, 2000, 'apns-new'),
      ).when(deviceEvents.tokenRegistered(tablet, 3000, 'apns-old'));

      expect(types(events)).toEqual(['PushCapabilityChanged tablet', 'TokenAssigned tablet']);
      expect(events[1]).toMatchObject({ data: { moved_from_device_id: null } });
    });

    it('T1: registering the token the device already holds renews it and changes nothing else', () => {
      const { events, device } = given(deviceEvents.tokenRegistered(phone, 1000, 'apns-1')).when(
        deviceEvents.tokenRegistered(phone, 2000, 'apns-1'),
      );

      expect(events).toMatchObject([{ type: 'TokenRenewed', data: { token: 'apns-1', occurred_at: 2000 } }]);
      expect(device(phone)).toMatchObject({ token: 'apns-1', tokenRegisteredAt: 2000 });
    });
  });

  describe('T2 one device per token', () => {
    it('T2: the same token registered from a second device moves there', () => {
      const { events, device } = given(deviceEvents.tokenRegistered(phone, 1000, 'apns-1', { user_id: 'ann' })).when(
        deviceEvents.tokenRegistered(tablet, 2000, 'apns-1', { user_id: 'ann' }),
      );

      expect(events).toMatchObject([
        {
          type: 'TokenRemoved',
          data: {
            device_id: 'phone',
            token: 'apns-1',
            reason: 'MOVED_TO_ANOTHER_DEVICE',
            moved_to_device_id: 'tablet',
          },
        },
        { type: 'PushCapabilityChanged', data: { device_id: 'tablet' } },
        { type: 'DeviceUserChanged', data: { device_id: 'tablet', user_id: 'ann' } },
        { type: 'TokenAssigned', data: { device_id: 'tablet', token: 'apns-1', moved_from_device_id: 'phone' } },
      ]);
      expect(device(phone)).toMatchObject({ token: null, tokenStatus: 'removed' });
      expect(device(tablet)).toMatchObject({ token: 'apns-1', tokenStatus: 'active' });
    });

    it('T2: a late registration from the first device does not take the token back', () => {
      const { events, device } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-0'),
        deviceEvents.tokenRegistered(tablet, 3000, 'apns-1'),
      ).when(deviceEvents.tokenRegistered(phone, 2000, 'apns-1'));

      expect(types(events)).toEqual(['TokenReplaced phone', 'TokenRemoved phone']);
      expect(events[1]).toMatchObject({
        data: { token: 'apns-1', reason: 'MOVED_TO_ANOTHER_DEVICE', moved_to_device_id: 'tablet' },
      });
      expect(device(phone)).toMatchObject({ token: null, tokenStatus: 'removed' });
      expect(device(tablet)).toMatchObject({ token: 'apns-1', tokenStatus: 'active' });
    });

    it('T2: after a late registration the token still has one holder, which the next registration takes it from', () => {
      const laptopApp = { ...phone, device_id: 'spare' };
      const { events, device } = given(
        deviceEvents.tokenRegistered(tablet, 3000, 'apns-1'),
        deviceEvents.tokenRegistered(phone, 2000, 'apns-1'),
      ).when(deviceEvents.tokenRegistered(laptopApp, 4000, 'apns-1'));

      expect(events.filter((e) => e.type === 'TokenRemoved')).toMatchObject([
        { data: { device_id: 'tablet', moved_to_device_id: 'spare' } },
      ]);
      expect([device(phone).token, device(tablet).token, device(laptopApp).token]).toEqual([null, null, 'apns-1']);
    });

    it('T2/T9: a takeover does not discard an earlier-dated registration of the old device arriving later: the result is that of occurred_at order', () => {
      const d1 = { ...phone, device_id: 'd1' };
      const d2 = { ...phone, device_id: 'd2' };
      const x150 = deviceEvents.tokenRegistered(d1, 150, 'apns-x');
      const z180 = deviceEvents.tokenRegistered(d1, 180, 'apns-z');
      const x200 = deviceEvents.tokenRegistered(d2, 200, 'apns-x');

      const takeoverFirst = given(x150, x200).when(z180);
      const inOrder = given(x150, z180).when(x200);

      expect(takeoverFirst.device(d1)).toMatchObject({ token: 'apns-z', tokenStatus: 'active' });
      expect(takeoverFirst.device(d2)).toMatchObject({ token: 'apns-x', tokenStatus: 'active' });
      expect([takeoverFirst.device(d1), takeoverFirst.device(d2)]).toEqual([inOrder.device(d1), inOrder.device(d2)]);
      expect(takeoverFirst.events).toMatchObject([
        { type: 'TokenAssigned', data: { device_id: 'd1', token: 'apns-z', moved_from_device_id: null } },
      ]);
    });

    it('T2: the same string in another app is another token', () => {
      const otherApp = { ...tablet, app_id: 'ios-app-beta' };
      const { events, device } = given(deviceEvents.tokenRegistered(phone, 1000, 'apns-1')).when(
        deviceEvents.tokenRegistered(otherApp, 2000, 'apns-1'),
      );

      expect(types(events)).toEqual(['PushCapabilityChanged tablet', 'TokenAssigned tablet']);
      expect(device(phone)).toMatchObject({ token: 'apns-1', tokenStatus: 'active' });
    });
  });

  describe('T3/T4 the token belongs to the device user', () => {
    it('T3: ChangeUser moves the token to the new user and the changelog keeps the move', () => {
      const { events, device, changelog } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1', { user_id: 'charlie' }),
      ).when(deviceEvents.changeUser(phone, 2000, 'kim', 'charlie'));

      expect(events).toMatchObject([
        { type: 'UserFirstSeen', data: { user_id: 'kim' } },
        {
          type: 'DeviceUserChanged',
          data: { previous_user_id: 'charlie', user_id: 'kim', token: 'apns-1', cause: 'CHANGE_USER' },
        },
      ]);
      expect(device(phone).userId).toBe('kim');
      expect(changelog().map((e) => [e.token, e.fromUserId, e.toUserId, e.at])).toEqual([
        ['apns-1', null, 'charlie', 1000],
        ['apns-1', 'charlie', 'kim', 2000],
      ]);
    });

    it("T3: DeviceUserChanged carries the device's permission and OS version (S3 of subscription-state reads them)", () => {
      const { events } = given(
        deviceEvents.sessionStarted(pixel, 1000, { platform: 'ANDROID', os_version: '14', permission: 'AUTHORIZED' }),
      ).when(deviceEvents.changeUser(pixel, 2000, 'kim'), deviceEvents.userLoggedOut(pixel, 3000, 'kim'));

      expect(events.filter((e) => e.type === 'DeviceUserChanged')).toMatchObject([
        { data: { user_id: 'kim', platform: 'ANDROID', os_version: '14', push_permission: 'AUTHORIZED' } },
        { data: { user_id: null, platform: 'ANDROID', os_version: '14', push_permission: 'AUTHORIZED' } },
      ]);
      const { events: unknown } = given().when(deviceEvents.changeUser(phone, 1000, 'ann'));
      expect(unknown.find((e) => e.type === 'DeviceUserChanged')).toMatchObject({
        data: { platform: null, os_version: null, push_permission: null },
      });
    });

    it('T3/T4 (shared phone): Charlie logs out, Kim logs in: the token moves to Kim and Charlie no longer has it', () => {
      const { events, device, changelog } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-shared', { user_id: 'charlie' }),
      ).when(
        deviceEvents.userLoggedOut(phone, 2000, 'charlie'),
        deviceEvents.changeUser(phone, 3000, 'kim'),
        deviceEvents.tokenRegistered(phone, 3001, 'apns-shared', { user_id: 'kim' }),
      );

      expect(events.filter((e) => e.type === 'DeviceUserChanged')).toMatchObject([
        { data: { previous_user_id: 'charlie', user_id: null, token: 'apns-shared', cause: 'LOGGED_OUT' } },
        { data: { previous_user_id: null, user_id: 'kim', token: 'apns-shared', cause: 'CHANGE_USER' } },
      ]);
      expect(device(phone)).toMatchObject({ userId: 'kim', token: 'apns-shared', tokenStatus: 'active' });
      const moves = changelog().map((e) => [e.fromUserId, e.toUserId, e.at]);
      expect(moves).toEqual([
        [null, 'charlie', 1000],
        ['charlie', null, 2000],
        [null, 'kim', 3000],
      ]);
      const charlieHolds = changelog().reduce(
        (held, e) => (e.toUserId === 'charlie' ? held + 1 : e.fromUserId === 'charlie' ? held - 1 : held),
        0,
      );
      expect(charlieHolds).toBe(0);
    });

    it('T3: a registration naming a user assigns the token to that user', () => {
      const { events } = given().when(deviceEvents.tokenRegistered(phone, 1000, 'apns-1', { user_id: 'ann' }));

      expect(events.at(-1)).toMatchObject({ type: 'TokenAssigned', data: { token: 'apns-1', user_id: 'ann' } });
    });

    it('T4: an anonymous device keeps its token but belongs to no user and has no changelog', () => {
      const { events, device, changelog } = given().when(deviceEvents.tokenRegistered(phone, 1000, 'apns-1'));

      expect(events.at(-1)).toMatchObject({ type: 'TokenAssigned', data: { token: 'apns-1', user_id: null } });
      expect(device(phone)).toMatchObject({ userId: null, tokenStatus: 'active' });
      expect(changelog()).toEqual([]);
    });

    it('T4: UserLoggedOut detaches the token from the user; the device keeps it', () => {
      const { events, device } = given(deviceEvents.tokenRegistered(phone, 1000, 'apns-1', { user_id: 'ann' })).when(
        deviceEvents.userLoggedOut(phone, 2000, 'ann'),
      );

      expect(events).toMatchObject([
        {
          type: 'DeviceUserChanged',
          data: { previous_user_id: 'ann', user_id: null, token: 'apns-1', cause: 'LOGGED_OUT' },
        },
      ]);
      expect(device(phone)).toMatchObject({ userId: null, token: 'apns-1', tokenStatus: 'active' });
    });

    it('S1 input: a user named for the first time is published once as UserFirstSeen', () => {
      const { published } = given().when(
        deviceEvents.changeUser(phone, 1000, 'ann'),
        deviceEvents.tokenRegistered(tablet, 2000, 'apns-2', { user_id: 'ann' }),
        deviceEvents.sessionStarted(phone, 3000, { user_id: 'ann' }),
      );

      expect(published.filter((e) => e.type === 'UserFirstSeen')).toMatchObject([
        { data: { user_id: 'ann', device_id: 'phone', occurred_at: 1000 } },
      ]);
    });
  });

  describe('T5 foreground and background', () => {
    const capabilityAfter = (...inputs: TokenRegistryInput[]) =>
      given()
        .when(...inputs)
        .events.find((e) => e.type === 'PushCapabilityChanged')?.data;

    it('T5: iOS AUTHORIZED is foreground-enabled and background-capable', () => {
      expect(
        capabilityAfter(
          deviceEvents.tokenRegistered(phone, 1000, 'apns-1', { platform: 'IOS', permission: 'AUTHORIZED' }),
        ),
      ).toMatchObject({
        foreground_enabled: true,
        background_enabled: true,
        provisional: false,
      });
    });

    it('T5 (iOS provisional): quiet foreground delivery, flagged provisional', () => {
      expect(
        capabilityAfter(
          deviceEvents.tokenRegistered(phone, 1000, 'apns-1', { platform: 'IOS', permission: 'PROVISIONAL' }),
        ),
      ).toMatchObject({
        push_permission: 'PROVISIONAL',
        foreground_enabled: true,
        background_enabled: true,
        provisional: true,
      });
    });

    it('T5 (iOS declined): the token is background-only', () => {
      const { events, device } = given().when(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1', { platform: 'IOS', permission: 'DENIED' }),
      );

      expect(events.find((e) => e.type === 'PushCapabilityChanged')?.data).toMatchObject({
        foreground_enabled: false,
        background_enabled: true,
      });
      expect(device(phone).tokenStatus).toBe('active');
    });

    it('T5 (Android 12 vs 13, first session): 12 shows notifications without a prompt, 13 is background-only until AUTHORIZED', () => {
      const android = (os_version: string) =>
        capabilityAfter(
          deviceEvents.sessionStarted(pixel, 1000, { platform: 'ANDROID', os_version, permission: 'NOT_DETERMINED' }),
        );

      expect(android('12')).toMatchObject({ os_version: '12', foreground_enabled: true, background_enabled: true });
      expect(android('13')).toMatchObject({ os_version: '13', foreground_enabled: false, background_enabled: true });
      expect(
        capabilityAfter(
          deviceEvents.sessionStarted(pixel, 1000, { platform: 'ANDROID', os_version: '13', permission: 'AUTHORIZED' }),
        ),
      ).toMatchObject({ foreground_enabled: true });
    });

    it('T5 (web): never background; foreground only when AUTHORIZED', () => {
      const web = (permission: 'AUTHORIZED' | 'DENIED' | 'NOT_DETERMINED') =>
        capabilityAfter(
          deviceEvents.tokenRegistered(laptop, 1000, subscription('a'), {
            platform: 'WEB',
            os_version: null,
            permission,
          }),
        );

      expect(web('AUTHORIZED')).toMatchObject({ foreground_enabled: true, background_enabled: false });
      expect(web('DENIED')).toMatchObject({ foreground_enabled: false, background_enabled: false });
      expect(web('NOT_DETERMINED')).toMatchObject({ foreground_enabled: false, background_enabled: false });
    });
  });

  describe('T6 permission changes', () => {
    it('T6: disabled in OS settings → foreground off at the next session, background kept; re-enabled at a later session → on again', () => {
      const scenario = given(
        deviceEvents.tokenRegistered(pixel, 1000, 'fcm-1', {
          platform: 'ANDROID',
          os_version: '14',
          permission: 'AUTHORIZED',
          user_id: 'ann',
        }),
      );

      const disabled = scenario.when(
        deviceEvents.sessionStarted(pixel, 2000, {
          platform: 'ANDROID',
          os_version: '14',
          permission: 'DENIED',
          user_id: 'ann',
        }),
      );
      expect(disabled.events.find((e) => e.type === 'PushCapabilityChanged')?.data).toMatchObject({
        push_permission: 'DENIED',
        previous_push_permission: 'AUTHORIZED',
        prompted: null,
        foreground_enabled: false,
        background_enabled: true,
      });
      expect(disabled.device(pixel)).toMatchObject({ token: 'fcm-1', tokenStatus: 'active' });

      const reenabled = scenario.when(
        deviceEvents.sessionStarted(pixel, 3000, {
          platform: 'ANDROID',
          os_version: '14',
          permission: 'AUTHORIZED',
          user_id: 'ann',
        }),
      );
      expect(reenabled.events.find((e) => e.type === 'PushCapabilityChanged')?.data).toMatchObject({
        push_permission: 'AUTHORIZED',
        previous_push_permission: 'DENIED',
        foreground_enabled: true,
      });
    });

    it('T6: PushPermissionChanged (prompt accepted) turns foreground on and says it was prompted', () => {
      const { events } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1', { permission: 'NOT_DETERMINED' }),
      ).when(deviceEvents.pushPermissionChanged(phone, 2000, 'AUTHORIZED', { prompted: true }));

      expect(events).toMatchObject([
        {
          type: 'PushCapabilityChanged',
          data: {
            push_permission: 'AUTHORIZED',
            previous_push_permission: 'NOT_DETERMINED',
            prompted: true,
            foreground_enabled: true,
          },
        },
      ]);
    });

    it('T6: a session that changes nothing publishes only the session', () => {
      const { events } = given(deviceEvents.sessionStarted(phone, 1000, { user_id: 'ann' })).when(
        deviceEvents.sessionStarted(phone, 2000, { user_id: 'ann' }),
      );

      expect(types(events)).toEqual(['DeviceSessionRecorded phone']);
    });
  });

  describe('T7 uninstall', () => {
    it('T7: AppUninstalled removes the token', () => {
      const { events, device } = given(deviceEvents.tokenRegistered(phone, 1000, 'apns-1', { user_id: 'ann' })).when(
        deviceEvents.appUninstalled(phone, 2000),
      );

      expect(events).toMatchObject([
        { type: 'TokenRemoved', data: { token: 'apns-1', reason: 'UNINSTALLED', user_id: 'ann' } },
      ]);
      expect(device(phone)).toMatchObject({ token: null, tokenStatus: 'removed' });
    });

    it('T7: the token string is free again: a reinstall may register it', () => {
      const { events } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1'),
        deviceEvents.appUninstalled(phone, 2000),
      ).when(deviceEvents.tokenRegistered(tablet, 3000, 'apns-1'));

      expect(events.at(-1)).toMatchObject({
        type: 'TokenAssigned',
        data: { device_id: 'tablet', moved_from_device_id: null },
      });
    });
  });

  describe('T8 invalidated tokens', () => {
    it('T8: a token invalidated by bounce-processor is removed and tombstoned', () => {
      const { events, device, registry } = given(
        deviceEvents.tokenRegistered(pixel, 1000, 'fcm-1', { platform: 'ANDROID', os_version: '14', user_id: 'ann' }),
      ).when(
        deliveryEvents.tokenInvalidated(pixel, 2000, 'fcm-1', {
          platform: 'ANDROID',
          provider_reason: 'messaging/registration-token-not-registered',
        }),
      );

      expect(events).toMatchObject([
        {
          type: 'TokenRemoved',
          data: {
            token: 'fcm-1',
            reason: 'INVALIDATED',
            provider_reason: 'messaging/registration-token-not-registered',
          },
        },
      ]);
      expect(device(pixel)).toMatchObject({ token: 'fcm-1', tokenStatus: 'invalidated' });
      expect(registry.tombstone(WORKSPACE, 'android-app', 'fcm-1')).toMatchObject({
        providerReason: 'messaging/registration-token-not-registered',
        invalidatedAt: 2000,
      });
    });

    it('T8: registering an invalidated FCM token again does not make it sendable', () => {
      const { events, device } = given(
        deviceEvents.tokenRegistered(pixel, 1000, 'fcm-1', { platform: 'ANDROID', os_version: '14' }),
        deliveryEvents.tokenInvalidated(pixel, 2000, 'fcm-1', {
          platform: 'ANDROID',
          provider_reason: 'NotRegistered',
        }),
      ).when(deviceEvents.tokenRegistered(pixel, 3000, 'fcm-1', { platform: 'ANDROID', os_version: '14' }));

      expect(events.filter((e) => e.type.startsWith('Token'))).toEqual([]);
      expect(device(pixel)).toMatchObject({ tokenStatus: 'invalidated' });
    });

    it('T8 (APNs 410): re-registered after the 410 timestamp, the token is sendable again', () => {
      const { events, device } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1'),
        deliveryEvents.tokenInvalidated(phone, 5000, 'apns-1', {
          provider_reason: 'Unregistered',
          provider_timestamp: 4000,
        }),
      ).when(deviceEvents.tokenRegistered(phone, 4500, 'apns-1'));

      expect(events).toMatchObject([{ type: 'TokenAssigned', data: { token: 'apns-1' } }]);
      expect(device(phone)).toMatchObject({ tokenStatus: 'active' });
    });

    it('T8 (APNs 410): re-registered before the 410 timestamp, the token stays invalidated', () => {
      const { events, device } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1'),
        deliveryEvents.tokenInvalidated(phone, 5000, 'apns-1', {
          provider_reason: 'Unregistered',
          provider_timestamp: 4000,
        }),
      ).when(deviceEvents.tokenRegistered(phone, 3500, 'apns-1'));

      expect(events).toEqual([]);
      expect(device(phone)).toMatchObject({ tokenStatus: 'invalidated' });
    });

    it('T8 (APNs 410): a 410 older than the token’s latest registration does not invalidate it', () => {
      const { events, device, registry } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1'),
        deviceEvents.tokenRegistered(phone, 6000, 'apns-1'),
      ).when(deliveryEvents.tokenInvalidated(phone, 7000, 'apns-1', { provider_timestamp: 5000 }));

      expect(events).toEqual([]);
      expect(device(phone).tokenStatus).toBe('active');
      expect(registry.tombstone(WORKSPACE, 'ios-app', 'apns-1')).toBeDefined();
    });

    it('T8 (APNs 410): a revived token invalidated again without a timestamp (BadDeviceToken) stays dead for later registrations', () => {
      const { events, device, registry } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1'),
        deliveryEvents.tokenInvalidated(phone, 5000, 'apns-1', {
          provider_reason: 'Unregistered',
          provider_timestamp: 4000,
        }),
        deviceEvents.tokenRegistered(phone, 4500, 'apns-1'),
        deliveryEvents.tokenInvalidated(phone, 6000, 'apns-1', { provider_reason: 'BadDeviceToken' }),
      ).when(deviceEvents.tokenRegistered(phone, 7000, 'apns-1'));

      expect(events.filter((e) => e.type.startsWith('Token'))).toEqual([]);
      expect(device(phone)).toMatchObject({ token: 'apns-1', tokenStatus: 'invalidated' });
      expect(registry.tombstone(WORKSPACE, 'ios-app', 'apns-1')).toEqual({
        providerReason: 'BadDeviceToken',
        providerTimestamp: null,
        invalidatedAt: 6000,
      });
    });

    it('T8 (APNs 410): the latest invalidation decides the tombstone; a late older one does not replace it', () => {
      const { registry } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1'),
        deliveryEvents.tokenInvalidated(phone, 6000, 'apns-1', { provider_reason: 'BadDeviceToken' }),
      ).when(
        deliveryEvents.tokenInvalidated(phone, 5000, 'apns-1', {
          provider_reason: 'Unregistered',
          provider_timestamp: 4000,
        }),
      );

      expect(registry.tombstone(WORKSPACE, 'ios-app', 'apns-1')).toEqual({
        providerReason: 'BadDeviceToken',
        providerTimestamp: null,
        invalidatedAt: 6000,
      });
    });

    it('T8 (APNs 410): of two invalidations in the same millisecond, the one that revives fewer registrations counts, in either order', () => {
      const with410 = deliveryEvents.tokenInvalidated(phone, 5000, 'apns-1', {
        provider_reason: 'Unregistered',
        provider_timestamp: 4000,
      });
      const without = deliveryEvents.tokenInvalidated(phone, 5000, 'apns-1', { provider_reason: 'BadDeviceToken' });
      const tombstone = (...invalidations: TokenRegistryInput[]) =>
        given(deviceEvents.tokenRegistered(phone, 1000, 'apns-1'), ...invalidations).registry.tombstone(
          WORKSPACE,
          'ios-app',
          'apns-1',
        );

      expect(tombstone(with410, without)).toEqual({
        providerReason: 'BadDeviceToken',
        providerTimestamp: null,
        invalidatedAt: 5000,
      });
      expect(tombstone(without, with410, with410)).toEqual(tombstone(with410, without));
    });

    it('T8: the invalidation reaches the device that holds the token now', () => {
      const { events, device } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1'),
        deviceEvents.tokenRegistered(tablet, 2000, 'apns-1'),
      ).when(deliveryEvents.tokenInvalidated(phone, 3000, 'apns-1', { provider_reason: 'BadDeviceToken' }));

      expect(events).toMatchObject([
        {
          type: 'TokenRemoved',
          data: { device_id: 'tablet', reason: 'INVALIDATED', provider_reason: 'BadDeviceToken' },
        },
      ]);
      expect(device(tablet).tokenStatus).toBe('invalidated');
    });

    it('T8: a device that registers an invalidated token loses its sendable one', () => {
      const { events, device } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-dead'),
        deliveryEvents.tokenInvalidated(phone, 2000, 'apns-dead'),
        deviceEvents.tokenRegistered(tablet, 3000, 'apns-live'),
      ).when(deviceEvents.tokenRegistered(tablet, 4000, 'apns-dead'));

      expect(events).toMatchObject([
        {
          type: 'TokenRemoved',
          data: { device_id: 'tablet', token: 'apns-live', reason: 'SUPERSEDED_BY_INVALIDATED_TOKEN' },
        },
      ]);
      expect(device(tablet)).toMatchObject({ token: 'apns-dead', tokenStatus: 'invalidated' });
      expect(device(phone)).toMatchObject({ token: null, tokenStatus: 'removed' });
    });
  });

  describe('T9 order and duplicates', () => {
    it('T9: a duplicate (same event_id) has no effect', () => {
      const registered = deviceEvents.tokenRegistered(phone, 1000, 'apns-1', { user_id: 'ann' });
      const loggedOut = deviceEvents.userLoggedOut(phone, 2000, 'ann');
      const { events, device } = given(registered, loggedOut).when(registered, loggedOut, registered);

      expect(events).toEqual([]);
      expect(device(phone)).toMatchObject({ userId: null, token: 'apns-1', tokenRegisteredAt: 1000 });
    });

    it('T9: events of one device with the same occurred_at apply in log order (SDK init: anonymous SessionStarted, then ChangeUser in the same millisecond)', () => {
      const { events, device } = given(deviceEvents.tokenRegistered(phone, 1000, 'apns-1')).when(
        deviceEvents.sessionStarted(phone, 2000, { user_id: null }),
        deviceEvents.changeUser(phone, 2000, 'u1'),
      );

      expect(device(phone).userId).toBe('u1');
      expect(events.filter((e) => e.type === 'DeviceUserChanged')).toMatchObject([
        { data: { previous_user_id: null, user_id: 'u1', token: 'apns-1', cause: 'CHANGE_USER' } },
      ]);
    });

    it('T9 (shared phone): UserLoggedOut then ChangeUser(kim) in the same millisecond leaves the device to Kim', () => {
      const { device, changelog } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1', { user_id: 'charlie' }),
      ).when(deviceEvents.userLoggedOut(phone, 2000, 'charlie'), deviceEvents.changeUser(phone, 2000, 'kim'));

      expect(device(phone).userId).toBe('kim');
      expect(changelog().map((e) => [e.fromUserId, e.toUserId])).toEqual([
        [null, 'charlie'],
        ['charlie', null],
        [null, 'kim'],
      ]);
    });

    it('T9: a duplicate with the same occurred_at as a later event has no effect, wherever it is redelivered', () => {
      const anonymous = deviceEvents.sessionStarted(phone, 2000, { user_id: null, permission: 'DENIED' });
      const login = deviceEvents.changeUser(phone, 2000, 'u1');
      const granted = deviceEvents.pushPermissionChanged(phone, 2000, 'AUTHORIZED');
      const { events, device } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1'),
        anonymous,
        login,
        granted,
      ).when(anonymous, login, granted, anonymous);

      expect(events).toEqual([]);
      expect(device(phone)).toMatchObject({
        userId: 'u1',
        permission: 'AUTHORIZED',
        token: 'apns-1',
        tokenStatus: 'active',
      });
    });

    it('T9: of two registrations in the same millisecond the later in the log wins, and a redelivered earlier one does not take the token back', () => {
      const first = deviceEvents.tokenRegistered(phone, 2000, 'apns-1');
      const second = deviceEvents.tokenRegistered(phone, 2000, 'apns-2');
      const scenario = given(deviceEvents.tokenRegistered(phone, 1000, 'apns-0'));

      expect(scenario.when(first, second).device(phone)).toMatchObject({ token: 'apns-2', tokenStatus: 'active' });
      expect(scenario.when(first).events).toEqual([]);
      expect(scenario.when(first).device(phone).token).toBe('apns-2');
    });

    it('T9: a late ChangeUser older than the device user does not roll the user back', () => {
      const { events, device } = given(
        deviceEvents.changeUser(phone, 1000, 'ann'),
        deviceEvents.changeUser(phone, 3000, 'bob'),
      ).when(deviceEvents.changeUser(phone, 2000, 'carol'));

      expect(events.filter((e) => e.type === 'DeviceUserChanged')).toEqual([]);
      expect(device(phone).userId).toBe('bob');
    });

    it('T9: a late registration older than the uninstall does not bring the token back', () => {
      const { events, device } = given(
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1'),
        deviceEvents.appUninstalled(phone, 3000),
      ).when(deviceEvents.tokenRegistered(phone, 2000, 'apns-2'));

      expect(events).toEqual([]);
      expect(device(phone)).toMatchObject({ token: null, tokenStatus: 'removed' });
    });

    it('T9: a late session with an older permission does not roll foreground back', () => {
      const { events, device } = given(
        deviceEvents.sessionStarted(phone, 1000, { permission: 'NOT_DETERMINED' }),
        deviceEvents.pushPermissionChanged(phone, 3000, 'AUTHORIZED'),
      ).when(deviceEvents.sessionStarted(phone, 2000, { permission: 'NOT_DETERMINED' }));

      expect(types(events)).toEqual(['DeviceSessionRecorded phone']);
      expect(device(phone)).toMatchObject({ permission: 'AUTHORIZED', lastSessionAt: 2000 });
    });

    it('T9: one device’s events applied in any order end in the state of occurred_at order', () => {
      const history = [
        deviceEvents.sessionStarted(phone, 1000, { permission: 'NOT_DETERMINED' }),
        deviceEvents.tokenRegistered(phone, 1001, 'apns-1', { permission: 'NOT_DETERMINED' }),
        deviceEvents.changeUser(phone, 2000, 'ann'),
        deviceEvents.pushPermissionChanged(phone, 2500, 'AUTHORIZED'),
        deviceEvents.tokenRegistered(phone, 3000, 'apns-2', { user_id: 'ann' }),
        deviceEvents.userLoggedOut(phone, 4000, 'ann'),
        deviceEvents.sessionStarted(phone, 5000, { permission: 'DENIED' }),
        deviceEvents.changeUser(phone, 6000, 'bob'),
      ];
      const inOrder = given()
        .when(...history)
        .device(phone);
      let seed = 7;
      for (let round = 0; round < 25; round++) {
        const shuffled = [...history].sort(() => ((seed = (seed * 16807) % 2147483647) % 3) - 1);
        expect(
          given()
            .when(...shuffled)
            .device(phone),
        ).toEqual(inOrder);
      }
      expect(inOrder).toMatchObject({ userId: 'bob', token: 'apns-2', permission: 'DENIED', lastSessionAt: 5000 });
    });

    it('T9: published event ids are derived from the cause, so processing it again publishes the same ids', () => {
      const history = [
        deviceEvents.tokenRegistered(phone, 1000, 'apns-1', { user_id: 'ann' }),
        deviceEvents.tokenRegistered(tablet, 2000, 'apns-1', { user_id: 'bob' }),
      ];
      const ids = () =>
        given()
          .when(...history)
          .events.map((e) => e.data.event_id);

      expect(ids()).toEqual(ids());
      expect(new Set(ids()).size).toBe(ids().length);
      expect(ids()[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });
  });
});
