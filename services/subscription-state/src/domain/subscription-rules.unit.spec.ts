import type { DeviceTokenEvent, SubscriptionState, UserSubscriptionEvent } from '@push/contracts';
import { deviceTokenEvents, givenWhenThen, userEvents } from '@push/testing';
import type { SubscriptionInput } from './facts';
import { SubscriptionStates } from './subscription-states';

const WORKSPACE = 'acme';
const kim = { workspace_id: WORKSPACE, user_id: 'kim' };
const iphone = { workspace_id: WORKSPACE, app_id: 'ios-app', device_id: 'iphone' };
const ipad = { workspace_id: WORKSPACE, app_id: 'ios-app', device_id: 'ipad' };
const pixel = { workspace_id: WORKSPACE, app_id: 'android-app', device_id: 'pixel' };
const laptop = { workspace_id: WORKSPACE, app_id: 'web-app', device_id: 'laptop' };
/** An app whose apps-file entry sets `opt_in_when_push_authorized: false`. */
const kiosk = { workspace_id: WORKSPACE, app_id: 'kiosk-app', device_id: 'kiosk' };

const given = givenWhenThen(
  () => new SubscriptionStates((workspaceId, appId) => !(workspaceId === WORKSPACE && appId === 'kiosk-app')),
  (states, published) => ({
    stateOf: (userId = 'kim') => states.user({ workspaceId: WORKSPACE, userId })?.state,
    history: () => published.map((e) => [e.data.previous_state, e.data.state, e.data.source]),
  }),
);

const seen = (at = 1000, device = iphone) => deviceTokenEvents.userFirstSeen(device, at, 'kim');
const set = (at: number, state: SubscriptionState, source: 'SDK' | 'REST' | 'DASHBOARD' = 'REST') =>
  userEvents.pushSubscriptionSet(kim, at, state, source);
const authorized = (
  device: typeof iphone,
  at: number,
  options: Parameters<typeof deviceTokenEvents.pushCapabilityChanged>[2] = {},
) =>
  deviceTokenEvents.pushCapabilityChanged(device, at, {
    user_id: 'kim',
    previous_permission: 'NOT_DETERMINED',
    ...options,
  });
const android = (at: number, os_version: string | null) =>
  authorized(pixel, at, { platform: 'ANDROID', os_version, prompted: true });
const states = (events: UserSubscriptionEvent[]) => events.map((e) => e.data.state);

describe('subscription rules (DESIGN §4, S1–S5)', () => {
  describe('S1 first sighting', () => {
    it('S1: a user token-registry sees for the first time is SUBSCRIBED, published with previous state null', () => {
      const { events, stateOf } = given().when(seen(1000));

      expect(events).toMatchObject([
        {
          type: 'SubscriptionStateChanged',
          data: {
            workspace_id: WORKSPACE,
            user_id: 'kim',
            previous_state: null,
            state: 'SUBSCRIBED',
            source: 'FIRST_SEEN',
            occurred_at: 1000,
            opted_in_at: null,
            app_id: 'ios-app',
            device_id: 'iphone',
          },
        },
      ]);
      expect(stateOf()).toBe('SUBSCRIBED');
    });

    it('S1: a user is first seen once: another UserFirstSeen of the user changes nothing', () => {
      const { events } = given(seen(1000)).when(seen(2000, pixel), seen(500, laptop));

      expect(events).toEqual([]);
    });

    it('S1: a first /users/track of an unseen user is its first sighting (previous state null)', () => {
      const { events, stateOf } = given().when(set(1000, 'SUBSCRIBED'));

      expect(events).toMatchObject([{ data: { previous_state: null, state: 'SUBSCRIBED', source: 'REST' } }]);
      expect(given().when(set(1000, 'UNSUBSCRIBED')).events).toMatchObject([
        { data: { previous_state: null, state: 'UNSUBSCRIBED', source: 'REST', app_id: null, device_id: null } },
      ]);
      expect(stateOf()).toBe('SUBSCRIBED');
    });

    it('S1: users are per workspace', () => {
      const other = deviceTokenEvents.userFirstSeen({ ...iphone, workspace_id: 'globex' }, 2000, 'kim');
      const { events, stateOf } = given(seen(1000)).when(other);

      expect(events).toMatchObject([{ data: { workspace_id: 'globex', previous_state: null, state: 'SUBSCRIBED' } }]);
      expect(stateOf()).toBe('SUBSCRIBED');
    });
  });

  describe('S2 explicit changes', () => {
    it('S2: PushSubscriptionSet sets the state, with its source', () => {
      const { events, stateOf } = given(seen(1000)).when(
        set(2000, 'OPTED_IN', 'SDK'),
        set(3000, 'UNSUBSCRIBED', 'DASHBOARD'),
        set(4000, 'SUBSCRIBED', 'REST'),
      );

      expect(events.map((e) => [e.data.previous_state, e.data.state, e.data.source, e.data.occurred_at])).toEqual([
        ['SUBSCRIBED', 'OPTED_IN', 'SDK', 2000],
        ['OPTED_IN', 'UNSUBSCRIBED', 'DASHBOARD', 3000],
        ['UNSUBSCRIBED', 'SUBSCRIBED', 'REST', 4000],
      ]);
      expect(stateOf()).toBe('SUBSCRIBED');
    });

    it('S2: the latest explicit change by occurred_at wins, whatever order they arrive in', () => {
      const { events, stateOf } = given(seen(1000)).when(set(3000, 'UNSUBSCRIBED'), set(2000, 'OPTED_IN'));

      expect(states(events)).toEqual(['UNSUBSCRIBED']);
      expect(stateOf()).toBe('UNSUBSCRIBED');
    });

    it('S2: a late older PushSubscriptionSet changes nothing', () => {
      const { events, stateOf } = given(seen(1000), set(5000, 'OPTED_IN')).when(
        set(4000, 'UNSUBSCRIBED'),
        set(4999, 'SUBSCRIBED', 'DASHBOARD'),
      );

      expect(events).toEqual([]);
      expect(stateOf()).toBe('OPTED_IN');
    });

    it('S2: a redelivered PushSubscriptionSet changes nothing; another one of the same millisecond applies in log order', () => {
      const unsubscribe = set(2000, 'UNSUBSCRIBED');
      const resubscribe = set(2000, 'SUBSCRIBED');
      const { events, stateOf } = given(seen(1000), unsubscribe).when(resubscribe, unsubscribe, resubscribe);

      expect(states(events)).toEqual(['SUBSCRIBED']);
      expect(stateOf()).toBe('SUBSCRIBED');
    });

    it("S2: the state applies to all the user's devices and apps: unsubscribed, no app's authorization opts in", () => {
      const { events, stateOf } = given(seen(1000), set(2000, 'UNSUBSCRIBED')).when(
        authorized(iphone, 3000),
        android(3100, '14'),
        authorized(laptop, 3200, { platform: 'WEB', os_version: null }),
      );

      expect(events).toEqual([]);
      expect(stateOf()).toBe('UNSUBSCRIBED');
    });
  });

  describe('S3 automatic opt-in', () => {
    it('S3: a device of the user becoming AUTHORIZED at a prompt opts the user in', () => {
      const { events, stateOf } = given(seen(1000)).when(authorized(iphone, 2000));

      expect(events).toMatchObject([
        {
          data: {
            previous_state: 'SUBSCRIBED',
            state: 'OPTED_IN',
            source: 'AUTO_OPT_IN',
            occurred_at: 2000,
            opted_in_at: 2000,
            app_id: 'ios-app',
            device_id: 'iphone',
          },
        },
      ]);
      expect(stateOf()).toBe('OPTED_IN');
    });

    it('S3: re-enabled in the OS settings (DENIED → AUTHORIZED, not prompted) opts in', () => {
      const { events } = given(seen(1000)).when(
        authorized(iphone, 2000, { previous_permission: 'DENIED', prompted: false }),
      );

      expect(history(events)).toEqual([['SUBSCRIBED', 'OPTED_IN', 'AUTO_OPT_IN']]);
    });

    it('S3: a first registration already AUTHORIZED (no permission known before) opts in', () => {
      const { events } = given(seen(1000)).when(
        authorized(iphone, 1000, { previous_permission: null, prompted: null }),
      );

      expect(history(events)).toEqual([['SUBSCRIBED', 'OPTED_IN', 'AUTO_OPT_IN']]);
    });

    it('S3: logging in on a device that is already AUTHORIZED (DeviceUserChanged) opts the user in', () => {
      const { events } = given(seen(1000)).when(deviceTokenEvents.deviceUserChanged(ipad, 2000, 'kim'));

      expect(events).toMatchObject([{ data: { state: 'OPTED_IN', source: 'AUTO_OPT_IN', device_id: 'ipad' } }]);
      const notAuthorized = deviceTokenEvents.deviceUserChanged(ipad, 2000, 'kim', { permission: 'DENIED' });
      expect(given(seen(1000)).when(notAuthorized).events).toEqual([]);
      const unknown = deviceTokenEvents.deviceUserChanged(ipad, 2000, 'kim', { permission: null, platform: null });
      expect(given(seen(1000)).when(unknown).events).toEqual([]);
    });

    it('S3: Android below 13 does not opt in (no permission was asked); Android 13 and later do', () => {
      expect(given(seen(1000)).when(android(2000, '12')).events).toEqual([]);
      expect(given(seen(1000)).when(android(2000, '12.1')).events).toEqual([]);
      expect(given(seen(1000)).when(android(2000, '8.0.0')).events).toEqual([]);
      expect(states(given(seen(1000)).when(android(2000, '13')).events)).toEqual(['OPTED_IN']);
      expect(states(given(seen(1000)).when(android(2000, '14.0')).events)).toEqual(['OPTED_IN']);
      expect(states(given(seen(1000)).when(android(2000, '12'), android(3000, '13')).events)).toEqual(['OPTED_IN']);
    });

    it('S3: an Android version that is unknown or not a number counts as 13+ (a real permission)', () => {
      expect(states(given(seen(1000)).when(android(2000, null)).events)).toEqual(['OPTED_IN']);
      expect(states(given(seen(1000)).when(android(2000, 'Tiramisu')).events)).toEqual(['OPTED_IN']);
    });

    it('S3: iOS and Web below any version opt in (the exception is Android only)', () => {
      const oldIphone = authorized(iphone, 2000, { os_version: '9.0' });
      expect(states(given(seen(1000)).when(oldIphone).events)).toEqual(['OPTED_IN']);
      const web = authorized(laptop, 2000, { platform: 'WEB', os_version: null });
      expect(states(given(seen(1000)).when(web).events)).toEqual(['OPTED_IN']);
    });

    it('S3: PROVISIONAL does not opt in, nor DENIED or NOT_DETERMINED', () => {
      for (const permission of ['PROVISIONAL', 'DENIED', 'NOT_DETERMINED'] as const)
        expect(given(seen(1000)).when(authorized(iphone, 2000, { permission })).events).toEqual([]);
      const { events } = given(seen(1000), authorized(iphone, 2000, { permission: 'PROVISIONAL' })).when(
        authorized(iphone, 3000, { previous_permission: 'PROVISIONAL' }),
      );
      expect(states(events)).toEqual(['OPTED_IN']);
    });

    it('S3: an app whose apps-file entry sets opt_in_when_push_authorized: false does not opt in; other apps do', () => {
      const { events, stateOf } = given(seen(1000)).when(authorized(kiosk, 2000));
      expect(events).toEqual([]);
      expect(stateOf()).toBe('SUBSCRIBED');

      expect(given(seen(1000)).when(authorized(kiosk, 2000), authorized(iphone, 3000)).events).toMatchObject([
        { data: { state: 'OPTED_IN', app_id: 'ios-app' } },
      ]);
    });

    it('S3: an authorization that is no move to AUTHORIZED (already AUTHORIZED: an OS update) does not opt in', () => {
      const { events } = given(seen(1000)).when(authorized(iphone, 2000, { previous_permission: 'AUTHORIZED' }));

      expect(events).toEqual([]);
    });

    it('S3: an anonymous device becoming AUTHORIZED opts nobody in', () => {
      const { events } = given(seen(1000)).when(authorized(iphone, 2000, { user_id: null }));

      expect(events).toEqual([]);
    });

    it('S3: explicit UNSUBSCRIBED, then re-enabled in settings: the user stays UNSUBSCRIBED', () => {
      const { events, stateOf } = given(seen(1000), authorized(iphone, 1500), set(2000, 'UNSUBSCRIBED')).when(
        authorized(iphone, 3000, { previous_permission: 'DENIED', prompted: false }),
      );

      expect(events).toEqual([]);
      expect(stateOf()).toBe('UNSUBSCRIBED');
    });

    it('S3: an automatic opt-in never overrides a later explicit UNSUBSCRIBED, even when it arrives after it', () => {
      const { events, stateOf } = given(seen(1000), set(3000, 'UNSUBSCRIBED')).when(authorized(pixel, 2000, {}));

      expect(events).toEqual([]);
      expect(stateOf()).toBe('UNSUBSCRIBED');
    });

    it('S3: an authorization older than the latest explicit SUBSCRIBED does not opt in; a newer one does', () => {
      const { events, stateOf } = given(seen(1000), set(3000, 'SUBSCRIBED', 'DASHBOARD')).when(
        authorized(iphone, 2000),
        authorized(iphone, 3000, { previous_permission: 'DENIED' }), // same millisecond: the explicit change wins
      );
      expect(events).toEqual([]);
      expect(stateOf()).toBe('SUBSCRIBED');

      expect(history(given(seen(1000), set(3000, 'SUBSCRIBED')).when(authorized(iphone, 4000)).events)).toEqual([
        ['SUBSCRIBED', 'OPTED_IN', 'AUTO_OPT_IN'],
      ]);
    });

    it('S3: an explicit change older than the opt-in that arrives late: UNSUBSCRIBED still applies, SUBSCRIBED does not undo it', () => {
      const late = given(seen(1000), authorized(iphone, 3000));
      expect(late.when(set(2000, 'SUBSCRIBED')).events).toEqual([]);
      expect(history(late.when(set(2500, 'UNSUBSCRIBED')).events)).toEqual([['OPTED_IN', 'UNSUBSCRIBED', 'REST']]);
    });

    it("S3: a user's first sighting may be an authorization (token-registry's records of two devices arrive in any order)", () => {
      const { events, stateOf } = given().when(
        authorized(pixel, 2000, { platform: 'ANDROID', os_version: '14' }),
        seen(1000),
      );

      expect(events).toMatchObject([{ data: { previous_state: null, state: 'OPTED_IN', source: 'AUTO_OPT_IN' } }]);
      expect(stateOf()).toBe('OPTED_IN');
    });

    it('S3: opted_in_at is when the user became OPTED_IN: the first opt-in after the latest explicit change; null when not OPTED_IN', () => {
      const { events } = given(seen(1000), authorized(iphone, 2000)).when(
        authorized(ipad, 2500), // already opted in: nothing changes, nothing published
        set(3000, 'UNSUBSCRIBED'),
        set(4000, 'OPTED_IN', 'SDK'),
        set(5000, 'SUBSCRIBED', 'DASHBOARD'),
        authorized(pixel, 7000),
        authorized(laptop, 6000, { platform: 'WEB', os_version: null }), // earlier, arriving late: it opted in first
      );

      expect(events.map((e) => [e.data.state, e.data.opted_in_at, e.data.source])).toEqual([
        ['UNSUBSCRIBED', null, 'REST'],
        ['OPTED_IN', 4000, 'SDK'],
        ['SUBSCRIBED', null, 'DASHBOARD'],
        ['OPTED_IN', 7000, 'AUTO_OPT_IN'],
        ['OPTED_IN', 6000, 'AUTO_OPT_IN'], // only opted_in_at changed: published too (previous_state = state)
      ]);
    });

    it('S3: an explicit OPTED_IN of a user already opted in moves opted_in_at to it and is published', () => {
      const { events } = given(seen(1000), authorized(iphone, 2000)).when(set(3000, 'OPTED_IN', 'SDK'));

      expect(events.map((e) => [e.data.previous_state, e.data.state, e.data.opted_in_at])).toEqual([
        ['OPTED_IN', 'OPTED_IN', 3000],
      ]);
    });

    it('S3: opted_in_at counts only opt-ins after the latest explicit change, in any of the 120 orders', () => {
      const inputs: SubscriptionInput[] = [
        authorized(iphone, 2000),
        authorized(ipad, 3500),
        set(3000, 'SUBSCRIBED'),
        authorized(pixel, 4000, { platform: 'ANDROID', os_version: '14' }),
        set(1000, 'UNSUBSCRIBED'),
      ];
      for (const order of permutations(inputs)) {
        const { subject } = given(seen(500), ...order);
        expect(subject.user({ workspaceId: WORKSPACE, userId: 'kim' })).toMatchObject({
          state: 'OPTED_IN',
          optedInAt: 3500,
        });
      }
    });
  });

  describe('S4 nothing automatic unsubscribes', () => {
    const removed = (reason: 'INVALIDATED' | 'UNINSTALLED'): DeviceTokenEvent => ({
      type: 'TokenRemoved',
      data: {
        ...deviceTokenEvents.userFirstSeen(iphone, 5000, 'kim').data,
        token: 'apns-1',
        reason,
        moved_to_device_id: null,
        provider_reason: reason === 'INVALIDATED' ? 'Unregistered' : null,
      },
    });

    it('S4: denials, disabling in settings, bounces, uninstalls and logouts leave the state as it is', () => {
      for (const before of [[], [authorized(iphone, 2000)]]) {
        const { events, stateOf } = given(seen(1000), ...before).when(
          authorized(iphone, 3000, { permission: 'DENIED', previous_permission: 'AUTHORIZED', prompted: false }),
          authorized(iphone, 3100, { permission: 'NOT_DETERMINED', previous_permission: 'DENIED' }),
          removed('INVALIDATED'),
          removed('UNINSTALLED'),
          deviceTokenEvents.deviceUserChanged(iphone, 6000, null, { previous_user_id: 'kim' }),
        );
        expect(events).toEqual([]);
        expect(stateOf()).toBe(before.length === 0 ? 'SUBSCRIBED' : 'OPTED_IN');
      }
    });

    it('S4: of all inputs, only an explicit UNSUBSCRIBED ever gives UNSUBSCRIBED (1,000 random sequences)', () => {
      let seed = 7;
      const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
      const automatic = (at: number): SubscriptionInput[] => [
        seen(at),
        authorized(iphone, at),
        authorized(iphone, at, { permission: 'DENIED', previous_permission: 'AUTHORIZED' }),
        android(at, '12'),
        authorized(kiosk, at),
        removed('UNINSTALLED'),
        deviceTokenEvents.deviceUserChanged(ipad, at, 'kim'),
        deviceTokenEvents.deviceUserChanged(ipad, at, null),
      ];
      for (let run = 0; run < 1000; run++) {
        const inputs = Array.from({ length: 12 }, () =>
          random(4) === 0
            ? set(random(10_000), (['SUBSCRIBED', 'OPTED_IN'] as const)[random(2)])
            : automatic(random(10_000))[random(8)],
        );
        const { published } = given(...inputs);
        expect(published.filter((e) => e.data.state === 'UNSUBSCRIBED')).toEqual([]);
      }
    });
  });

  describe('S5 every change is published with the previous state, the source and the cause', () => {
    it('S5: each record names its cause (event id and time) and the state before; its id is derived from the cause', () => {
      const cause = authorized(iphone, 2000);
      const { events } = given(seen(1000)).when(cause);
      const again = given(seen(1000)).when(cause).events;

      expect(events).toMatchObject([
        { data: { cause_event_id: cause.data.event_id, occurred_at: 2000, previous_state: 'SUBSCRIBED' } },
      ]);
      expect(again[0].data.event_id).toBe(events[0].data.event_id);
      expect(events[0].data.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it('S5: the records chain: each previous state is the state of the record before', () => {
      const { published } = given(
        seen(1000),
        authorized(iphone, 2000),
        set(3000, 'UNSUBSCRIBED', 'DASHBOARD'),
        set(4000, 'SUBSCRIBED', 'SDK'),
        android(5000, '14'),
      );

      expect(history(published)).toEqual([
        [null, 'SUBSCRIBED', 'FIRST_SEEN'],
        ['SUBSCRIBED', 'OPTED_IN', 'AUTO_OPT_IN'],
        ['OPTED_IN', 'UNSUBSCRIBED', 'DASHBOARD'],
        ['UNSUBSCRIBED', 'SUBSCRIBED', 'SDK'],
        ['SUBSCRIBED', 'OPTED_IN', 'AUTO_OPT_IN'],
      ]);
    });

    it("S2/S3: the same events end in the same state and opted_in_at in every order (a user's partitions interleave freely)", () => {
      const inputs: SubscriptionInput[] = [
        seen(1000),
        set(2000, 'UNSUBSCRIBED'),
        authorized(iphone, 2500),
        set(3000, 'SUBSCRIBED', 'DASHBOARD'),
        android(3500, '12'),
        authorized(kiosk, 3600),
        deviceTokenEvents.deviceUserChanged(ipad, 4000, 'kim'),
        set(3900, 'UNSUBSCRIBED', 'SDK'),
      ];
      const finals = new Set(
        permutations(inputs.slice(1)).map((order) => {
          const user = given(inputs[0], ...order).subject.user({ workspaceId: WORKSPACE, userId: 'kim' })!;
          return `${user.state} ${user.optedInAt}`;
        }),
      );
      // In occurred_at order: UNSUBSCRIBED at 3900, then the login on an authorized iPad at 4000 does not override it.
      expect([...finals]).toEqual(['UNSUBSCRIBED null']);
    });
  });
});

const permutations = (items: SubscriptionInput[]): SubscriptionInput[][] =>
  items.length <= 1
    ? [items]
    : items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [item, ...p]));

function history(events: UserSubscriptionEvent[]) {
  return events.map((e) => [e.data.previous_state, e.data.state, e.data.source]);
}
