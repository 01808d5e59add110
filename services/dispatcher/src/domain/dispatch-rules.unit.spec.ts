import type { DispatchRequested } from '@push/contracts';
import { dispatchEvents, givenWhenThen, outcomeEvents } from '@push/testing';
import {
  type AudienceFacts,
  type DeviceFacts,
  type DispatchPlan,
  type SubscriptionStatus,
  type UserFacts,
  planDispatch,
} from './dispatch-plan';
import { OUTCOME_UNKNOWN, dispatchCompletedOf, outcomeEventId, outcomeEventOf } from './outcomes';
import { requestProblem } from './validation';

const WS = 'acme';

/** What the read model would hold, fed fact by fact; a request answers its plan, one output per considered device. */
type Input =
  | { device: Partial<DeviceFacts> & Pick<DeviceFacts, 'device_id'> }
  | { user: string; state: SubscriptionStatus }
  | { request: DispatchRequested };
type Output = { device: string; skip: DispatchPlan['targets'][number]['skip'] };

class Audience {
  private readonly devices: DeviceFacts[] = [];
  private readonly states = new Map<string, SubscriptionStatus>();
  lastPlan: DispatchPlan | null = null;

  handle(input: Input): Output[] {
    if ('device' in input) {
      this.devices.push({
        app_id: 'ios-app',
        platform: 'IOS',
        user_id: null,
        token: `token-of-${input.device.device_id}`,
        foreground_enabled: true,
        background_enabled: true,
        suppressed: false,
        last_session_at: null,
        ...input.device,
      });
      return [];
    }
    if ('user' in input) {
      this.states.set(input.user, input.state);
      return [];
    }
    this.lastPlan = planDispatch(input.request, this.facts(input.request));
    return this.lastPlan.targets.map((t) => ({ device: `${t.device.app_id}/${t.device.device_id}`, skip: t.skip }));
  }

  /** As the read model holds them: users known by a state or a device (SUBSCRIBED when unpublished, S1). */
  private facts(request: DispatchRequested): AudienceFacts {
    const users = new Map<string, UserFacts & { devices: DeviceFacts[] }>();
    for (const [user_id, subscription] of this.states) users.set(user_id, { user_id, subscription, devices: [] });
    for (const d of this.devices) {
      if (d.user_id === null) continue;
      if (!users.has(d.user_id)) users.set(d.user_id, { user_id: d.user_id, subscription: 'SUBSCRIBED', devices: [] });
      users.get(d.user_id)!.devices.push(d);
    }
    const audience = request.audience;
    if (!('push.dispatch.DeviceAudience' in audience)) return { users, device: null };
    const { app_id, device_id } = audience['push.dispatch.DeviceAudience'];
    const device = this.devices.find((d) => d.app_id === app_id && d.device_id === device_id);
    return {
      users: new Map(),
      device: device ? { device, user: device.user_id === null ? null : users.get(device.user_id)! } : null,
    };
  }
}

const given = givenWhenThen(
  () => new Audience(),
  (audience) => ({ skipped: () => audience.lastPlan?.skipped }),
);

const device = (device_id: string, more: Partial<DeviceFacts> = {}): Input => ({ device: { device_id, ...more } });
const user = (id: string, state: SubscriptionStatus): Input => ({ user: id, state });
const request = (...args: Parameters<typeof dispatchEvents.dispatchRequested>): Input => ({
  request: dispatchEvents.dispatchRequested(...args).data,
});
const toKim = (more: Parameters<typeof dispatchEvents.dispatchRequested>[3] = {}) =>
  request('d1', WS, { user_ids: ['kim'] }, more);

describe('eligibility (D1–D4) and audiences', () => {
  it('D1: a subscribed or opted-in user’s device with a foreground-enabled token, not suppressed, is sent to', () => {
    const { events, skipped } = given(
      device('phone', { user_id: 'kim' }),
      device('tablet', { user_id: 'kim' }),
      user('kim', 'OPTED_IN'),
    ).when(toKim());
    expect(events).toEqual([
      { device: 'ios-app/phone', skip: null },
      { device: 'ios-app/tablet', skip: null },
    ]);
    expect(skipped()).toEqual({ unsubscribed: 0, not_push_enabled: 0, suppressed: 0 });
  });

  it('D1: a user never published by subscription-state is SUBSCRIBED (S1) and is sent to', () => {
    expect(given(device('phone', { user_id: 'kim' })).when(toKim()).events).toEqual([
      { device: 'ios-app/phone', skip: null },
    ]);
  });

  it('D1: no token or no foreground → not_push_enabled; suppressed → suppressed; unsubscribed → unsubscribed', () => {
    const { events, skipped } = given(
      device('no-token', { user_id: 'kim', token: null }),
      device('background-only', { user_id: 'kim', foreground_enabled: false }),
      device('suppressed', { user_id: 'kim', suppressed: true }),
      device('ok', { user_id: 'kim' }),
      device('ann-phone', { user_id: 'ann' }),
      user('ann', 'UNSUBSCRIBED'),
    ).when(request('d1', WS, { user_ids: ['kim', 'ann'] }));
    expect(events).toEqual([
      { device: 'ios-app/ann-phone', skip: 'unsubscribed' },
      { device: 'ios-app/background-only', skip: 'not_push_enabled' },
      { device: 'ios-app/no-token', skip: 'not_push_enabled' },
      { device: 'ios-app/ok', skip: null },
      { device: 'ios-app/suppressed', skip: 'suppressed' },
    ]);
    expect(skipped()).toEqual({ unsubscribed: 1, not_push_enabled: 2, suppressed: 1 });
  });

  it('D1: the first failing condition is the reason (token, then suppression, then subscription)', () => {
    const { events } = given(
      device('dead', { user_id: 'ann', token: null, suppressed: true }),
      device('suppressed', { user_id: 'ann', suppressed: true }),
      user('ann', 'UNSUBSCRIBED'),
    ).when(request('d1', WS, { user_ids: ['ann'] }));
    expect(events).toEqual([
      { device: 'ios-app/dead', skip: 'not_push_enabled' },
      { device: 'ios-app/suppressed', skip: 'suppressed' },
    ]);
  });

  it('D2: include_unsubscribed sends to an unsubscribed user, still not to a suppressed or disabled device', () => {
    const { events } = given(
      device('phone', { user_id: 'ann' }),
      device('suppressed', { user_id: 'ann', suppressed: true }),
      device('disabled', { user_id: 'ann', foreground_enabled: false }),
      user('ann', 'UNSUBSCRIBED'),
    ).when(request('d1', WS, { user_ids: ['ann'] }, { options: { include_unsubscribed: true } }));
    expect(events).toEqual([
      { device: 'ios-app/disabled', skip: 'not_push_enabled' },
      { device: 'ios-app/phone', skip: null },
      { device: 'ios-app/suppressed', skip: 'suppressed' },
    ]);
  });

  it('D2: transactional ignores the subscription too', () => {
    const { events } = given(device('phone', { user_id: 'ann' }), user('ann', 'UNSUBSCRIBED')).when(
      request('d1', WS, { user_ids: ['ann'] }, { options: { transactional: true } }),
    );
    expect(events).toEqual([{ device: 'ios-app/phone', skip: null }]);
  });

  it('D2: a transactional DeviceAudience reaches one named device, even an anonymous one', () => {
    const { events } = given(device('anonymous-phone'), device('other')).when(
      request('d1', WS, { app_id: 'ios-app', device_id: 'anonymous-phone' }, { options: { transactional: true } }),
    );
    expect(events).toEqual([{ device: 'ios-app/anonymous-phone', skip: null }]);
  });

  it('D2: a transactional DeviceAudience of an unsubscribed user’s device is sent; a disabled one is skipped', () => {
    const transactional = { options: { transactional: true } };
    const scenario = given(
      device('phone', { user_id: 'ann' }),
      device('disabled', { foreground_enabled: false }),
      user('ann', 'UNSUBSCRIBED'),
    );
    expect(scenario.when(request('d1', WS, { app_id: 'ios-app', device_id: 'phone' }, transactional)).events).toEqual([
      { device: 'ios-app/phone', skip: null },
    ]);
    expect(
      scenario.when(request('d2', WS, { app_id: 'ios-app', device_id: 'disabled' }, transactional)).events,
    ).toEqual([{ device: 'ios-app/disabled', skip: 'not_push_enabled' }]);
  });

  it('D2: a DeviceAudience without transactional is refused (dead-lettered) and plans nothing', () => {
    const event = dispatchEvents.dispatchRequested('d1', WS, { app_id: 'ios-app', device_id: 'phone' }).data;
    expect(requestProblem(event)).toMatch(/transactional dispatches only \(D2\)/);
    expect(given(device('phone')).when({ request: event }).events).toEqual([]);
  });

  it('D2/T4: an anonymous device is in no user or segment audience', () => {
    const scenario = given(device('anonymous'), device('phone', { user_id: 'kim' }));
    expect(scenario.when(toKim()).events).toEqual([{ device: 'ios-app/phone', skip: null }]);
    expect(scenario.when(request('d2', WS, { filter_json: '{"platform":"ios"}' })).events).toEqual([
      { device: 'ios-app/phone', skip: null },
    ]);
  });

  it('D3: a silent push goes to background-capable tokens, foreground not needed, never to WEB', () => {
    const { events } = given(
      device('background-only', { user_id: 'kim', foreground_enabled: false }),
      device('no-background', { user_id: 'kim', background_enabled: false }),
      device('browser', { user_id: 'kim', app_id: 'web-app', platform: 'WEB', background_enabled: true }),
    ).when(toKim({ message: { silent: true, title: null, body: null } }));
    expect(events).toEqual([
      { device: 'ios-app/background-only', skip: null },
      { device: 'ios-app/no-background', skip: 'not_push_enabled' },
      { device: 'web-app/browser', skip: 'not_push_enabled' },
    ]);
  });

  it('D3: a visible push goes to a foreground-enabled WEB token', () => {
    const { events } = given(
      device('browser', { user_id: 'kim', app_id: 'web-app', platform: 'WEB', background_enabled: false }),
    ).when(toKim());
    expect(events).toEqual([{ device: 'web-app/browser', skip: null }]);
  });

  it('D4: last_active_device_only sends to the user’s device with the latest session', () => {
    const { events } = given(
      device('old', { user_id: 'kim', last_session_at: 1000 }),
      device('latest', { user_id: 'kim', last_session_at: 3000 }),
      device('never', { user_id: 'kim', last_session_at: null }),
      device('ann-phone', { user_id: 'ann', last_session_at: 10 }),
    ).when(request('d1', WS, { user_ids: ['kim', 'ann'] }, { options: { last_active_device_only: true } }));
    expect(events).toEqual([
      { device: 'ios-app/ann-phone', skip: null },
      { device: 'ios-app/latest', skip: null },
    ]);
  });

  it('D4: among eligible devices; when none is eligible, the latest one is counted as skipped with its reason', () => {
    const d4 = { options: { last_active_device_only: true } };
    const scenario = given(
      device('older', { user_id: 'kim', last_session_at: 1000 }),
      device('latest-disabled', { user_id: 'kim', last_session_at: 3000, foreground_enabled: false }),
      device('a', { user_id: 'ann', last_session_at: 1000, token: null }),
      device('b', { user_id: 'ann', last_session_at: 2000, suppressed: true }),
    );
    expect(scenario.when(request('d1', WS, { user_ids: ['kim'] }, d4)).events).toEqual([
      { device: 'ios-app/older', skip: null },
    ]);
    const { events, skipped } = scenario.when(request('d2', WS, { user_ids: ['ann'] }, d4));
    expect(events).toEqual([{ device: 'ios-app/b', skip: 'suppressed' }]);
    expect(skipped()).toEqual({ unsubscribed: 0, not_push_enabled: 0, suppressed: 1 });
  });

  it('app_ids limits the devices considered; the others are not counted', () => {
    const { events } = given(
      device('phone', { user_id: 'kim' }),
      device('pixel', { user_id: 'kim', app_id: 'android-app', platform: 'ANDROID' }),
      device('browser', { user_id: 'kim', app_id: 'web-app', platform: 'WEB', token: null }),
    ).when(toKim({ options: { app_ids: ['android-app', 'web-app'] } }));
    expect(events).toEqual([
      { device: 'android-app/pixel', skip: null },
      { device: 'web-app/browser', skip: 'not_push_enabled' },
    ]);
  });

  it('SegmentAudience: the users matching the filter (@push/segments), then eligibility per device', () => {
    const { events } = given(
      device('kim-phone', { user_id: 'kim' }),
      device('ann-pixel', { user_id: 'ann', app_id: 'android-app', platform: 'ANDROID' }),
      device('bob-phone', { user_id: 'bob' }),
      user('bob', 'UNSUBSCRIBED'),
    ).when(request('d1', WS, { filter_json: '{"platform":"ios"}' }));
    expect(events).toEqual([
      { device: 'ios-app/bob-phone', skip: 'unsubscribed' },
      { device: 'ios-app/kim-phone', skip: null },
    ]);
  });

  it('UserAudience: unknown users add nothing; a user named twice counts once', () => {
    const { events } = given(device('phone', { user_id: 'kim' })).when(
      request('d1', WS, { user_ids: ['kim', 'nobody', 'kim'] }),
    );
    expect(events).toEqual([{ device: 'ios-app/phone', skip: null }]);
  });
});

describe('outcome records (D5, D6)', () => {
  const target = {
    dispatch_id: 'd1',
    workspace_id: WS,
    app_id: 'ios-app',
    device_id: 'phone',
    user_id: 'kim',
    platform: 'IOS' as const,
    token: 'apns-token',
  };

  it('D6: sent → PushSent, bounced → PushBounced with the token and reason, failed → PushFailed with its category', () => {
    expect(outcomeEventOf(target, { kind: 'sent', providerMessageId: 'apns-id-1' }, 5)).toEqual({
      type: 'PushSent',
      data: expect.objectContaining({ dispatch_id: 'd1', provider_message_id: 'apns-id-1', occurred_at: 5 }),
    });
    expect(
      outcomeEventOf(target, { kind: 'bounced', providerReason: 'Unregistered', providerTimestamp: 4 }, 5),
    ).toMatchObject({
      type: 'PushBounced',
      data: { token: 'apns-token', provider_reason: 'Unregistered', provider_timestamp: 4, user_id: 'kim' },
    });
    expect(
      outcomeEventOf(target, { kind: 'failed', category: 'CONFIGURATION', reason: 'InvalidProviderToken' }, 5),
    ).toMatchObject({ type: 'PushFailed', data: { category: 'CONFIGURATION', reason: 'InvalidProviderToken' } });
  });

  it('D5: one event id per (dispatch, device), whatever the outcome: a re-publish repeats the same event', () => {
    const sent = outcomeEventOf(target, { kind: 'sent', providerMessageId: null }, 5);
    const unknown = outcomeEventOf(target, OUTCOME_UNKNOWN, 9);
    expect(sent.data.event_id).toBe(outcomeEventId(target));
    expect(unknown.data.event_id).toBe(sent.data.event_id);
    expect(outcomeEventId({ ...target, dispatch_id: 'd2' })).not.toBe(sent.data.event_id);
    expect(outcomeEventId({ ...target, device_id: 'tablet' })).not.toBe(sent.data.event_id);
  });

  it('D5: a push in flight at a crash is reported failed with an unknown outcome', () => {
    expect(outcomeEventOf(target, OUTCOME_UNKNOWN, 9)).toMatchObject({
      type: 'PushFailed',
      data: { category: 'RETRY_EXHAUSTED', reason: expect.stringMatching(/^OUTCOME_UNKNOWN: /) },
    });
  });

  it('D6: reasons are cut to 256 bytes of UTF-8 (bounce-processor refuses longer ones), never inside a character', () => {
    const long = outcomeEventOf(target, { kind: 'failed', category: 'PAYLOAD', reason: 'é'.repeat(300) }, 5);
    const reason = (long.data as { reason: string }).reason;
    expect(Buffer.byteLength(reason, 'utf8')).toBeLessThanOrEqual(256);
    expect(reason).toMatch(/^é+…$/);
    const bounced = outcomeEventOf(
      target,
      { kind: 'bounced', providerReason: 'x'.repeat(400), providerTimestamp: null },
      5,
    );
    expect(
      Buffer.byteLength((bounced.data as { provider_reason: string }).provider_reason, 'utf8'),
    ).toBeLessThanOrEqual(256);
    expect(outcomeEventOf(target, { kind: 'failed', category: 'PAYLOAD', reason: 'short' }, 5).data).toMatchObject({
      reason: 'short',
    });
  });

  it('D6: DispatchCompleted carries the counts by skip reason', () => {
    expect(
      dispatchCompletedOf(
        { dispatch_id: 'd1', workspace_id: WS },
        {
          targeted: 3,
          sent: 2,
          bounced: 0,
          failed: 0,
          skipped: { unsubscribed: 1, not_push_enabled: 0, suppressed: 0 },
        },
        7,
      ),
    ).toEqual(outcomeEvents.dispatchCompleted('d1', WS, 7, { sent: 2, skipped_unsubscribed: 1 }));
    expect(
      dispatchCompletedOf(
        { dispatch_id: 'd1', workspace_id: WS },
        {
          targeted: 10,
          sent: 4,
          bounced: 1,
          failed: 1,
          skipped: { unsubscribed: 2, not_push_enabled: 1, suppressed: 1 },
        },
        7,
      ),
    ).toEqual({
      type: 'DispatchCompleted',
      data: {
        dispatch_id: 'd1',
        workspace_id: WS,
        occurred_at: 7,
        targeted: 10,
        sent: 4,
        bounced: 1,
        failed: 1,
        skipped_unsubscribed: 2,
        skipped_not_push_enabled: 1,
        skipped_suppressed: 1,
      },
    });
  });
});

describe('request validation (dead letters)', () => {
  it.each([
    [{ filter_json: '{"platfrom":"ios"}' }, /audience.filter_json/],
    [{ filter_json: 'nope' }, /is not JSON/],
    [{ user_ids: ['ok', ' '] }, /audience.user_ids\[1\] is empty/],
  ])('%j is refused', (audience, reason) => {
    expect(requestProblem(dispatchEvents.dispatchRequested('d1', WS, audience).data)).toMatch(reason);
  });

  it('a valid request passes', () => {
    expect(
      requestProblem(dispatchEvents.dispatchRequested('d1', WS, { filter_json: '{"push_enabled":true}' }).data),
    ).toBe(null);
  });
});
