import type { DeviceDeliveryEvent } from '@push/contracts';
import { deviceTokenEvents, givenWhenThen, outcomeEvents } from '@push/testing';
import { BounceProcessor, BounceProcessorInput } from './bounce-processor';
import { DEFAULT_BURST_SETTINGS } from './burst-window';
import { HISTORY_LENGTH } from './device-delivery';

const WORKSPACE = 'acme';
const phone = { workspace_id: WORKSPACE, app_id: 'ios-app', device_id: 'phone' };
const pixel = { workspace_id: WORKSPACE, app_id: 'android-app', device_id: 'pixel' };
const laptop = { workspace_id: WORKSPACE, app_id: 'web-app', device_id: 'laptop' };
type Device = typeof phone;
const refOf = (d: Device) => ({ workspaceId: d.workspace_id, appId: d.app_id, deviceId: d.device_id });
const appOf = (d: Device) => ({ workspaceId: d.workspace_id, appId: d.app_id });
const { pushSent, pushBounced, pushFailed } = outcomeEvents;
const android = { platform: 'ANDROID' as const };
const web = { platform: 'WEB' as const };
const SETTLE = DEFAULT_BURST_SETTINGS.settleMs;
const CLOCK = { workspace_id: WORKSPACE, app_id: 'clock-app', device_id: 'clock' };

const given = givenWhenThen(
  () => new BounceProcessor(0),
  (processor) => ({
    processor,
    device: (d: Device) => processor.device(refOf(d)),
    held: (d: Device) => processor.heldBounces(appOf(d)),
    flagged: (d: Device) => processor.flaggedReasons(appOf(d)),
  }),
);

/** What the events say, device by device; the clock device's own status is left out. */
const types = (events: DeviceDeliveryEvent[]) =>
  events.filter((e) => e.data.app_id !== CLOCK.app_id).map((e) => `${e.type} ${e.data.device_id}`);
const flags = (events: DeviceDeliveryEvent[]) => types(events.filter((e) => e.type.startsWith('AppProvider')));
const release = (d: Device): BounceProcessorInput => ({
  type: 'ReleaseHeldBounces',
  data: { workspace_id: d.workspace_id, app_id: d.app_id },
});
const discard = (d: Device): BounceProcessorInput => ({
  type: 'DiscardHeldBounces',
  data: { workspace_id: d.workspace_id, app_id: d.app_id },
});
/** An outcome on another app of the shard, late enough for every pending bounce before `at - SETTLE` to be decided. */
const later = (at: number) => pushSent(CLOCK, at);

describe('bounce rules (DESIGN §4, B1–B5)', () => {
  describe('B1 delivery status', () => {
    it('B1: a device is unused until its first outcome, then sent after a PushSent', () => {
      const scenario = given();
      expect(scenario.device(phone)).toMatchObject({ status: 'UNUSED', consecutiveBounces: 0, history: [] });

      const sent = pushSent(phone, 1000, { user_id: 'ann' });
      const { events, device } = scenario.when(sent);

      expect(events).toEqual([
        {
          type: 'DeliveryStatusChanged',
          data: expect.objectContaining({
            cause_event_id: sent.data.event_id,
            ...phone,
            platform: 'IOS',
            user_id: 'ann',
            occurred_at: 1000,
            status: 'SENT',
            previous_status: 'UNUSED',
            consecutive_bounces: 0,
            cause: 'PUSH_SENT',
            provider_reason: null,
            dispatch_id: 'd1',
          }),
        },
      ]);
      expect(device(phone)).toMatchObject({ status: 'SENT', lastOutcomeAt: 1000 });
    });

    it('B1: a status is published only when it changes: a second send publishes nothing', () => {
      const { events } = given(pushSent(phone, 1000)).when(pushSent(phone, 2000));
      expect(events).toEqual([]);
    });

    it('B1: two consecutive bounces suppress', () => {
      const { events, device } = given(pushSent(phone, 1000), pushBounced(phone, 2000, 'tok', 'Unregistered')).when(
        pushBounced(phone, 3000, 'tok', 'Unregistered'),
      );

      expect(events[0]).toMatchObject({
        type: 'DeliveryStatusChanged',
        data: { status: 'SUPPRESSED', previous_status: 'BOUNCED', consecutive_bounces: 2, cause: 'PUSH_BOUNCED' },
      });
      expect(device(phone)).toMatchObject({ status: 'SUPPRESSED', consecutiveBounces: 2 });
    });

    it('B1: one bounce makes the device bounced', () => {
      const { events } = given(pushSent(phone, 1000)).when(pushBounced(phone, 2000, 'tok', 'Unregistered'));
      expect(events[0]).toMatchObject({
        data: { status: 'BOUNCED', previous_status: 'SENT', consecutive_bounces: 1, provider_reason: 'Unregistered' },
      });
    });

    it('B1: a send in between resets the bounces', () => {
      const { device } = given(pushBounced(phone, 1000, 'tok', 'Unregistered'), pushSent(phone, 2000)).when(
        pushBounced(phone, 3000, 'tok', 'Unregistered'),
      );
      expect(device(phone)).toMatchObject({ status: 'BOUNCED', consecutiveBounces: 1 });
    });

    it('B1: a failure (PushFailed) changes no status but is in the history, newest first', () => {
      const { events, device } = given(pushSent(phone, 1000)).when(
        pushFailed(phone, 2000, 'TooManyRequests', 'RETRY_EXHAUSTED', { dispatch_id: 'd2' }),
      );
      expect(events).toEqual([]);
      expect(
        device(phone).history.map(({ outcome, reason, at, dispatchId }) => ({ outcome, reason, at, dispatchId })),
      ).toEqual([
        { outcome: 'failed', reason: 'TooManyRequests', at: 2000, dispatchId: 'd2' },
        { outcome: 'sent', reason: null, at: 1000, dispatchId: 'd1' },
      ]);
    });

    it(`B1: the history keeps the last ${HISTORY_LENGTH} outcomes`, () => {
      const sends = Array.from({ length: HISTORY_LENGTH + 5 }, (_, i) => pushSent(phone, 1000 + i));
      const { device } = given(...sends);
      expect(device(phone).history).toHaveLength(HISTORY_LENGTH);
      expect(device(phone).history[0].at).toBe(1000 + HISTORY_LENGTH + 4);
    });

    it('B1: an outcome redelivered (same event_id) changes nothing', () => {
      const bounce = pushBounced(phone, 2000, 'tok', 'Unregistered');
      const { events, device } = given(pushSent(phone, 1000), bounce).when(bounce);
      expect(events).toEqual([]);
      expect(device(phone)).toMatchObject({ status: 'BOUNCED', consecutiveBounces: 1 });
      expect(device(phone).history).toHaveLength(2);
    });

    it('B1: a late outcome (older than the device state) changes nothing', () => {
      const { events, device } = given(pushSent(phone, 5000)).when(
        pushBounced(phone, 4000, 'tok', 'Unregistered'),
        pushBounced(phone, 4500, 'tok', 'Unregistered'),
      );
      expect(events).toEqual([]);
      expect(device(phone)).toMatchObject({ status: 'SENT', consecutiveBounces: 0, lastOutcomeAt: 5000 });
    });

    it('B1: two outcomes of the same millisecond both apply, in log order', () => {
      const { device } = given(pushBounced(phone, 1000, 'tok', 'Unregistered')).when(
        pushBounced(phone, 1000, 'tok', 'ExpiredToken'),
      );
      expect(device(phone)).toMatchObject({ status: 'SUPPRESSED', consecutiveBounces: 2 });
    });
  });

  describe('B2 re-registration', () => {
    it('B2: a registration of the token on a suppressed device clears it back to unused', () => {
      const renewed = deviceTokenEvents.tokenRenewed(phone, 4000, 'tok', { user_id: 'ann' });
      const { events, device } = given(
        pushBounced(phone, 2000, 'tok', 'Unregistered'),
        pushBounced(phone, 3000, 'tok', 'Unregistered'),
      ).when(renewed);

      expect(events).toEqual([
        {
          type: 'DeliveryStatusChanged',
          data: expect.objectContaining({
            cause_event_id: renewed.data.event_id,
            status: 'UNUSED',
            previous_status: 'SUPPRESSED',
            consecutive_bounces: 0,
            cause: 'TOKEN_REGISTERED',
            dispatch_id: null,
          }),
        },
      ]);
      expect(device(phone)).toMatchObject({ status: 'UNUSED', consecutiveBounces: 0 });
    });

    it('B2: a new token (TokenReplaced) clears a bounced device too', () => {
      const { data } = deviceTokenEvents.tokenRenewed(phone, 3000, 'new-tok');
      const { events } = given(pushBounced(phone, 2000, 'tok', 'Unregistered')).when({
        type: 'TokenReplaced',
        data: { ...data, previous_token: 'tok', moved_from_device_id: null },
      });
      expect(events[0]).toMatchObject({ data: { status: 'UNUSED', previous_status: 'BOUNCED' } });
    });

    it("B2: the device's user identifying again with its token clears the status", () => {
      const { events } = given(pushBounced(phone, 2000, 'tok', 'Unregistered')).when(
        deviceTokenEvents.deviceUserChanged(phone, 3000, 'ann', { token: 'tok' }),
      );
      expect(events[0]).toMatchObject({ data: { status: 'UNUSED', cause: 'USER_IDENTIFIED', user_id: 'ann' } });
    });

    it('B2: a logout, or a user change without token, clears nothing', () => {
      const { events, device } = given(pushBounced(phone, 2000, 'tok', 'Unregistered')).when(
        deviceTokenEvents.deviceUserChanged(phone, 3000, null, { token: 'tok' }),
        deviceTokenEvents.deviceUserChanged(phone, 3100, 'ann', { token: null }),
      );
      expect(events).toEqual([]);
      expect(device(phone).status).toBe('BOUNCED');
    });

    it('B2: a registration older than the bounce (late) clears nothing, and a bounce older than the registration changes nothing', () => {
      const bounced = given(pushBounced(phone, 2000, 'tok', 'Unregistered')).when(
        deviceTokenEvents.tokenRenewed(phone, 1500, 'tok'),
      );
      expect(bounced.events).toEqual([]);
      expect(bounced.device(phone).status).toBe('BOUNCED');

      const registered = given(deviceTokenEvents.tokenRenewed(phone, 3000, 'tok')).when(
        pushBounced(phone, 2000, 'tok', 'Unregistered'),
      );
      expect(registered.events).toEqual([]);
      expect(registered.device(phone).status).toBe('UNUSED');
    });

    it('B2: a registration on a sent device publishes nothing', () => {
      const { events } = given(pushSent(phone, 1000)).when(deviceTokenEvents.tokenRenewed(phone, 2000, 'tok'));
      expect(events).toEqual([]);
    });
  });

  describe('B3 permanent reasons invalidate the token', () => {
    it.each([
      ['IOS', 'Unregistered'],
      ['IOS', 'ExpiredToken'],
      ['IOS', 'BadDeviceToken'],
      ['ANDROID', 'messaging/registration-token-not-registered'],
      ['ANDROID', 'messaging/invalid-registration-token'],
      ['ANDROID', 'NotRegistered'],
      ['ANDROID', 'InvalidRegistration'],
      ['ANDROID', 'messaging/invalid-argument: The registration token is not a valid FCM registration token'],
      ['WEB', '404'],
      ['WEB', '410'],
    ] as const)('B3: %s %s invalidates the token', (platform, reason) => {
      const bounce = pushBounced(phone, 2000, 'tok', reason, { platform, provider_timestamp: 1500 });
      // A single burst-sensitive reason (BadDeviceToken) is decided once the shard's time has moved on.
      const { events } = given().when(bounce, later(2000 + SETTLE));

      expect(events.filter((e) => e.type === 'TokenInvalidated')).toEqual([
        {
          type: 'TokenInvalidated',
          data: {
            event_id: expect.any(String),
            bounce_event_id: bounce.data.event_id,
            ...phone,
            platform,
            occurred_at: 2000,
            token: 'tok',
            provider_reason: reason,
            provider_timestamp: 1500,
          },
        },
      ]);
    });

    it("B3: a web 410 invalidates the token and publishes nothing about the user's subscription", () => {
      const { events } = given(pushSent(laptop, 1000, { ...web, user_id: 'ann' })).when(
        pushBounced(laptop, 2000, '{"endpoint":"https://push.example/1"}', '410', { ...web, user_id: 'ann' }),
      );
      expect(types(events)).toEqual(['DeliveryStatusChanged laptop', 'TokenInvalidated laptop']);
    });

    it.each([
      ['IOS', 'SomethingNew', 'unknown'],
      ['ANDROID', 'messaging/brand-new-error', 'unknown'],
      ['IOS', 'TooManyRequests', 'retry'],
      ['IOS', 'PayloadTooLarge', 'payload'],
      ['ANDROID', 'messaging/invalid-argument', 'payload'],
      ['IOS', 'InvalidProviderToken', 'configuration'],
      ['WEB', '429', 'retry'],
    ] as const)(
      'B3: a %s bounce with %s (%s) invalidates nothing and changes no status',
      (platform, reason, _class) => {
        const { events, device, processor } = given(pushSent(phone, 1000, { platform })).when(
          pushBounced(phone, 2000, 'tok', reason, { platform }),
          later(2000 + SETTLE),
        );
        expect(types(events)).toEqual([]);
        expect(device(phone)).toMatchObject({ status: 'SENT' });
        expect(device(phone).history[0]).toMatchObject({ outcome: 'bounced', reason });
        expect(processor.unknownReasons.map((r) => r.reason)).toEqual(
          reason === 'SomethingNew' || reason === 'messaging/brand-new-error' ? [reason] : [],
        );
      },
    );

    it('B3: the same bounce processed again (a replay) publishes the same event ids', () => {
      const inputs = [pushSent(pixel, 1000, android), pushBounced(pixel, 2000, 'tok', 'NotRegistered', android)];
      expect(given(...inputs).published).toEqual(given(...inputs).published);
    });
  });

  describe('B4 burst safety', () => {
    const burstDevice = (i: number) => ({ workspace_id: WORKSPACE, app_id: 'android-app', device_id: `d${i}` });
    const otherApp = { workspace_id: WORKSPACE, app_id: 'other-android-app', device_id: 'x' };
    const burst = Array.from({ length: 1000 }, (_, i) =>
      pushBounced(burstDevice(i), 10_000 + i, `tok-${i}`, 'messaging/mismatched-credential', android),
    );

    it('B4: a burst of 1,000 messaging/mismatched-credential bounces on one app invalidates nothing, a single one on another app does, and release applies the held ones', () => {
      const single = pushBounced(otherApp, 10_500, 'tok-x', 'messaging/mismatched-credential', android);
      const scenario = given(...burst.slice(0, 500), single, ...burst.slice(500));
      expect(scenario.published.filter((e) => e.type !== 'AppProviderFlagged')).toEqual([]);
      expect(types(scenario.published)).toEqual(['AppProviderFlagged d9']);
      expect(scenario.published[0].data).toMatchObject({
        app_id: 'android-app',
        provider: 'FCM',
        provider_reason: 'messaging/mismatched-credential',
        window_shard: 0,
        reason_count: DEFAULT_BURST_SETTINGS.minCount,
        outcome_count: DEFAULT_BURST_SETTINGS.minCount,
        threshold_share: DEFAULT_BURST_SETTINGS.share,
        min_count: DEFAULT_BURST_SETTINGS.minCount,
      });
      expect(scenario.held(burstDevice(0))).toHaveLength(1000);
      expect(scenario.flagged(burstDevice(0))).toEqual(['messaging/mismatched-credential']);

      const decided = scenario.when(later(10_500 + SETTLE));
      expect(types(decided.events)).toEqual(['DeliveryStatusChanged x', 'TokenInvalidated x']);
      expect(decided.held(burstDevice(0))).toHaveLength(1000);

      const released = scenario.when(release(burstDevice(0)));
      const invalidated = released.events.filter((e) => e.type === 'TokenInvalidated');
      expect(invalidated).toHaveLength(1000);
      expect(invalidated[0].data).toMatchObject({ device_id: 'd0', token: 'tok-0' });
      expect(released.device(burstDevice(999))).toMatchObject({ status: 'BOUNCED' });
      expect(released.held(burstDevice(0))).toEqual([]);
    });

    it('B4: discarding the held bounces invalidates nothing and forgets them', () => {
      const { events, held } = given(...burst.slice(0, 50)).when(discard(burstDevice(0)));
      expect(events).toEqual([]);
      expect(held(burstDevice(0))).toEqual([]);
    });

    it('B4: a share at or below the threshold is no burst: each bounce is judged alone (B3)', () => {
      // 10 bounces among 50 outcomes: a share of exactly 20 %.
      const inputs = Array.from({ length: 50 }, (_, i) =>
        i % 5 === 4
          ? pushBounced(burstDevice(i), 10_000 + i, `tok-${i}`, 'MismatchSenderId', android)
          : pushSent(burstDevice(i), 10_000 + i, android),
      );
      const { events } = given(...inputs).when(later(10_050 + SETTLE));
      expect(events.filter((e) => e.type === 'TokenInvalidated')).toHaveLength(10);
      expect(events.filter((e) => e.type === 'AppProviderFlagged')).toEqual([]);
    });

    it('B4: PushFailed with the same reason counts toward the burst', () => {
      const failed = Array.from({ length: 9 }, (_, i) =>
        pushFailed(burstDevice(i), 10_000 + i, 'messaging/mismatched-credential', 'CONFIGURATION', android),
      );
      const { events, held } = given(...failed).when(
        pushBounced(burstDevice(9), 10_009, 'tok-9', 'messaging/mismatched-credential', android),
      );
      expect(types(events)).toEqual(['AppProviderFlagged d9']);
      expect(held(burstDevice(0))).toHaveLength(1);
    });

    it('B4: once the window no longer shows the burst the app is cleared, and a new single bounce is B3 again', () => {
      const recovered = Array.from({ length: 60 }, (_, i) =>
        pushSent(burstDevice(2000 + i), 10_000 + DEFAULT_BURST_SETTINGS.windowMs + i * 10, android),
      );
      const scenario = given(...burst.slice(0, 20));
      const { events, flagged } = scenario.when(...recovered);
      expect(flags(events)).toEqual(['AppProviderCleared d2000']);
      expect(events.find((e) => e.type === 'AppProviderCleared')?.data).toMatchObject({
        provider: 'FCM',
        provider_reason: 'messaging/mismatched-credential',
      });
      expect(flagged(burstDevice(0))).toEqual([]);

      const at = 10_000 + DEFAULT_BURST_SETTINGS.windowMs + 1000;
      const next = scenario.when(
        pushBounced(burstDevice(3000), at, 'tok-new', 'messaging/mismatched-credential', android),
        later(at + SETTLE),
      );
      expect(types(next.events)).toEqual(['DeliveryStatusChanged d3000', 'TokenInvalidated d3000']);
      expect(next.held(burstDevice(0))).toHaveLength(20);
    });

    it('B4: a released bounce whose device has had a newer outcome since invalidates nothing', () => {
      const { events } = given(...burst.slice(0, 20), pushSent(burstDevice(3), 20_000, android)).when(
        release(burstDevice(0)),
      );
      expect(events.filter((e) => e.type === 'TokenInvalidated')).toHaveLength(19);
      expect(events.some((e) => e.data.device_id === 'd3')).toBe(false);
    });

    it('B4: the decisions follow from the log alone: a replay at another wall-clock time decides the same', () => {
      const single = pushBounced(otherApp, 10_500, 'tok-x', 'BadDeviceToken', { platform: 'IOS' });
      const inputs = [...burst.slice(0, 30), single, later(10_500 + SETTLE), release(burstDevice(0))];
      jest.useFakeTimers({ now: 0 });
      const first = given(...inputs).published;
      jest.setSystemTime(new Date('2030-01-01T00:00:00Z'));
      const replay = given(...inputs).published;
      jest.useRealTimers();
      expect(replay).toEqual(first);
      expect(first.filter((e) => e.type === 'TokenInvalidated')).toHaveLength(31);
    });
  });

  describe('B5 uninstall signal', () => {
    it.each([
      ['IOS', 'Unregistered'],
      ['ANDROID', 'NotRegistered'],
      ['ANDROID', 'messaging/registration-token-not-registered'],
    ] as const)('B5: %s %s publishes uninstall detected', (platform, reason) => {
      const bounce = pushBounced(phone, 2000, 'tok', reason, { platform, user_id: 'ann', provider_timestamp: 1900 });
      const { events } = given().when(bounce);
      expect(events.at(-1)).toEqual({
        type: 'UninstallDetected',
        data: {
          event_id: expect.any(String),
          bounce_event_id: bounce.data.event_id,
          ...phone,
          platform,
          user_id: 'ann',
          occurred_at: 2000,
          provider_reason: reason,
          provider_timestamp: 1900,
          dispatch_id: 'd1',
        },
      });
      expect(types(events)).toEqual([
        'DeliveryStatusChanged phone',
        'TokenInvalidated phone',
        'UninstallDetected phone',
      ]);
    });

    it.each([
      ['IOS', 'ExpiredToken'],
      ['WEB', '410'],
      ['ANDROID', 'InvalidRegistration'],
    ] as const)('B5: %s %s is no uninstall', (platform, reason) => {
      const { events } = given().when(pushBounced(phone, 2000, 'tok', reason, { platform }));
      expect(events.map((e) => e.type)).not.toContain('UninstallDetected');
    });
  });
});
