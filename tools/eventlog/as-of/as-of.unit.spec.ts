import { MessageKeys, TopicName, Topics } from '@push/contracts';
import {
  deliveryEvents,
  deviceEvents,
  deviceTokenEvents,
  outcomeEvents,
  subscriptionEvents,
  userEvents,
} from '@push/testing';
import { asOfJson, explain, renderText } from './explain';
import { AsOfSubject, LoggedEvent, foldAsOf } from './fold';

const ws = 'acme';
const phone = { workspace_id: ws, app_id: 'ios-app', device_id: 'phone' };
const tablet = { workspace_id: ws, app_id: 'android-app', device_id: 'tablet' };
const kim = { workspace_id: ws, user_id: 'kim' };
const T = Date.UTC(2026, 11, 1, 9);
const at = (minutes: number) => T + minutes * 60_000;
const APNS_TOKEN = 'f'.repeat(64);
const FCM_TOKEN = `fcm:${'a'.repeat(150)}`;

/** A log: each record gets the next offset of its topic (one partition each: a device's records are in order). */
function log(...records: [TopicName, { type: string; data: object }][]): LoggedEvent[] {
  const next = new Map<string, number>();
  return records.map(([topic, event]) => {
    const offset = next.get(topic) ?? 0;
    next.set(topic, offset + 1);
    const data = event.data as LoggedEvent['data'];
    const key =
      typeof data.device_id === 'string'
        ? MessageKeys.device(data.workspace_id as string, data.app_id as string, data.device_id)
        : MessageKeys.user(data.workspace_id as string, data.user_id as string);
    return { topic, partition: 0, offset: String(offset), key, timestamp: data.occurred_at, type: event.type, data };
  });
}

const userKim: AsOfSubject = { kind: 'user', workspace_id: ws, user_id: 'kim' };

/** Kim registers an iPhone and an Android tablet, opts in; at 30 the iPhone's token bounces (Unregistered). */
const history = log(
  [Topics.DeviceEvents, deviceEvents.tokenRegistered(phone, at(0), APNS_TOKEN, { user_id: 'kim' })],
  [Topics.DeviceTokens, deviceTokenEvents.userFirstSeen(phone, at(0), 'kim')],
  [Topics.DeviceTokens, deviceTokenEvents.pushCapabilityChanged(phone, at(0), { user_id: 'kim' })],
  [Topics.DeviceTokens, deviceTokenEvents.tokenAssigned(phone, at(0), APNS_TOKEN, { user_id: 'kim' })],
  [Topics.UserSubscriptions, subscriptionEvents.stateChanged(kim, at(0), 'SUBSCRIBED')],
  [
    Topics.DeviceEvents,
    deviceEvents.tokenRegistered(tablet, at(5), FCM_TOKEN, {
      user_id: 'kim',
      platform: 'ANDROID',
      os_version: '14',
      permission: 'DENIED',
    }),
  ],
  [
    Topics.DeviceTokens,
    deviceTokenEvents.pushCapabilityChanged(tablet, at(5), {
      user_id: 'kim',
      platform: 'ANDROID',
      os_version: '14',
      permission: 'DENIED',
    }),
  ],
  [
    Topics.DeviceTokens,
    deviceTokenEvents.tokenAssigned(tablet, at(5), FCM_TOKEN, { user_id: 'kim', platform: 'ANDROID' }),
  ],
  [Topics.UserEvents, userEvents.pushSubscriptionSet(kim, at(10), 'OPTED_IN', 'SDK')],
  [
    Topics.UserSubscriptions,
    {
      type: 'SubscriptionStateChanged',
      data: { ...subscriptionEvents.stateChanged(kim, at(10), 'OPTED_IN', 'SUBSCRIBED').data, source: 'SDK' },
    },
  ],
  [Topics.DispatchOutcomes, outcomeEvents.pushBounced(phone, at(30), APNS_TOKEN, 'Unregistered', { user_id: 'kim' })],
  [
    Topics.DeviceDelivery,
    deliveryEvents.tokenInvalidated(phone, at(30), APNS_TOKEN, { provider_reason: 'Unregistered' }),
  ],
  [
    Topics.DeviceTokens,
    {
      type: 'TokenRemoved',
      data: {
        ...deviceTokenEvents.tokenRemoved(phone, at(30), APNS_TOKEN, { user_id: 'kim', reason: 'INVALIDATED' }).data,
        provider_reason: 'Unregistered',
      },
    },
  ],
);

describe('as-of: the fold over the owners’ published records', () => {
  it('before the bounce, the iPhone has its sendable token, the tablet its DENIED permission, kim is OPTED_IN', () => {
    const state = foldAsOf(history, userKim, at(20));
    expect(state.devices.map((d) => `${d.app_id}/${d.device_id}`)).toEqual(['android-app/tablet', 'ios-app/phone']);
    const [tabletState, phoneState] = state.devices;
    expect(phoneState.token?.value).toEqual({ status: 'sendable', token: APNS_TOKEN });
    expect(phoneState.capability?.value.foreground_enabled).toBe(true);
    expect(tabletState.capability?.value).toMatchObject({ push_permission: 'DENIED', foreground_enabled: false });
    expect(state.subscription?.value).toMatchObject({ state: 'OPTED_IN', source: 'SDK' });
    // Records after the time are left out, SDK events before it are in the list.
    expect(state.events.map((e) => e.type)).toEqual([
      'TokenRegistered',
      'UserFirstSeen',
      'PushCapabilityChanged',
      'TokenAssigned',
      'SubscriptionStateChanged',
      'TokenRegistered',
      'PushCapabilityChanged',
      'TokenAssigned',
      'PushSubscriptionSet',
      'SubscriptionStateChanged',
    ]);
  });

  it('after the bounce, the iPhone’s token is removed as INVALIDATED with the provider reason token-registry and bounce-processor published', () => {
    const state = foldAsOf(history, userKim, at(31));
    const phoneState = state.devices.find((d) => d.device_id === 'phone');
    expect(phoneState?.token?.value).toMatchObject({
      status: 'removed',
      reason: 'INVALIDATED',
      provider_reason: 'Unregistered',
    });
    expect(phoneState?.invalidated?.value.provider_reason).toBe('Unregistered');
    expect(state.events.map((e) => e.type).slice(-3)).toEqual(['PushBounced', 'TokenInvalidated', 'TokenRemoved']);
  });

  it('takes the owners’ word: a foreground flag token-registry published is used as is, never re-derived from the permission', () => {
    const odd = log([
      Topics.DeviceTokens,
      {
        type: 'PushCapabilityChanged',
        data: {
          ...deviceTokenEvents.pushCapabilityChanged(phone, at(0), { user_id: 'kim', permission: 'DENIED' }).data,
          foreground_enabled: true,
        },
      },
    ]);
    expect(foldAsOf(odd, userKim, at(1)).devices[0].capability?.value.foreground_enabled).toBe(true);
  });

  it('a shared phone: once the device is lee’s, it is one of kim’s former devices, and lee’s as a device question', () => {
    const shared = [
      ...history.slice(0, 5),
      ...log([
        Topics.DeviceTokens,
        deviceTokenEvents.deviceUserChanged(phone, at(40), 'lee', { previous_user_id: 'kim', token: APNS_TOKEN }),
      ]).map((e) => ({ ...e, offset: '100' })),
    ];
    const forKim = foldAsOf(shared, userKim, at(41));
    expect(forKim.devices).toEqual([]);
    expect(explain(forKim).summary).toBe(
      "kim is not reachable: none of the devices the user had is the user's any more",
    );
    expect(explain(forKim).former).toEqual([
      "device ios-app/phone (iOS) is no longer this user's: it belongs to user lee since 2026-12-01T09:40:00Z",
    ]);
    expect(forKim.formerDevices.map((d) => [d.device_id, d.user?.value])).toEqual([['phone', 'lee']]);
    const forDevice = foldAsOf(
      shared,
      { kind: 'device', workspace_id: ws, app_id: 'ios-app', device_id: 'phone' },
      at(41),
    );
    expect(forDevice.user_id).toBe('lee');
    // Before the switch the device was kim's.
    expect(foldAsOf(shared, userKim, at(39)).devices.map((d) => d.device_id)).toEqual(['phone']);
  });
});

describe('as-of: the sentences a support agent reads', () => {
  it('G6: reachable on iOS through the iPhone; not on Android because notifications are off (foreground as token-registry published it)', () => {
    const answer = explain(foldAsOf(history, userKim, at(20)));
    expect(answer.summary).toBe('kim is reachable on iOS');
    expect(answer.platforms.map((p) => p.sentence)).toEqual([
      `reachable on iOS through ios-app/phone: notifications on, token active since 2026-12-01T09:00:00Z, subscription opted-in (sdk) since 2026-12-01T09:10:00Z`,
      'not reachable on Android: notifications are off on the device (permission DENIED) since 2026-12-01T09:05:00Z; silent background pushes still possible',
    ]);
  });

  it('G6: not reachable on iOS: token invalidated by APNs Unregistered at the time of the bounce', () => {
    const answer = explain(foldAsOf(history, userKim, at(31)));
    expect(answer.summary).toBe('kim is not reachable on any platform');
    expect(answer.platforms[0].sentence).toBe(
      'not reachable on iOS: token invalidated by APNs Unregistered at 2026-12-01T09:30:00Z',
    );
    expect(answer.verdicts.find((v) => v.device.device_id === 'phone')?.because?.type).toBe('TokenInvalidated');
  });

  it('G6: suppressed after two bounces, uninstalled, unsubscribed: each says why and when', () => {
    const suppressed = [
      ...history.slice(0, 5),
      ...log([
        Topics.DeviceDelivery,
        {
          type: 'DeliveryStatusChanged',
          data: {
            ...deliveryEvents.deliveryStatusChanged(phone, at(50), 'SUPPRESSED', 'BOUNCED', { platform: 'IOS' }).data,
            provider_reason: 'BadDeviceToken',
          },
        },
      ]),
    ];
    expect(explain(foldAsOf(suppressed, userKim, at(51))).platforms[0].sentence).toBe(
      'not reachable on iOS: suppressed after 2 bounces in a row (last: APNs BadDeviceToken) at 2026-12-01T09:50:00Z',
    );

    const uninstalled = [
      ...history.slice(0, 5),
      ...log([Topics.DeviceTokens, deviceTokenEvents.tokenRemoved(phone, at(60), APNS_TOKEN, { user_id: 'kim' })]).map(
        (e) => ({ ...e, offset: '50' }),
      ),
    ];
    expect(explain(foldAsOf(uninstalled, userKim, at(61))).platforms[0].sentence).toBe(
      'not reachable on iOS: the app was uninstalled at 2026-12-01T10:00:00Z',
    );

    const unsubscribed = [
      ...history.slice(0, 5),
      ...log([
        Topics.UserSubscriptions,
        subscriptionEvents.stateChanged(kim, at(70), 'UNSUBSCRIBED', 'SUBSCRIBED'),
      ]).map((e) => ({ ...e, offset: '9' })),
    ];
    const answer = explain(foldAsOf(unsubscribed, userKim, at(71)));
    expect(answer.platforms[0].sentence).toBe(
      'not reachable on iOS: the user unsubscribed (rest) at 2026-12-01T10:10:00Z',
    );
    expect(answer.subscription).toBe('subscription unsubscribed (rest) since 2026-12-01T10:10:00Z');
  });

  it('T4: an anonymous device is in no user’s audience; a user with no device is said so', () => {
    expect(explain(foldAsOf(history, { kind: 'user', workspace_id: ws, user_id: 'ann' }, at(90))).summary).toBe(
      'ann is not reachable: no device of this user was known by 2026-12-01T10:30:00Z',
    );
    const anonymous = log(
      [Topics.DeviceTokens, deviceTokenEvents.pushCapabilityChanged(phone, at(0))],
      [Topics.DeviceTokens, deviceTokenEvents.tokenAssigned(phone, at(0), APNS_TOKEN)],
    );
    expect(
      explain(foldAsOf(anonymous, { kind: 'device', workspace_id: ws, app_id: 'ios-app', device_id: 'phone' }, at(1)))
        .summary,
    ).toBe(
      "device ios-app/phone (anonymous) is in no user's audience: the device is anonymous (logged out or never identified), so campaigns do not target it (T4)",
    );
  });

  it('text and JSON list the events that made it so, oldest first, and never show a token whole', () => {
    const state = foldAsOf(history, userKim, at(31));
    const text = renderText(state);
    expect(text).toContain('As of 2026-12-01T09:31:00Z: kim is not reachable on any platform.');
    expect(text).toContain('Events that made it so (13, oldest first):');
    expect(text).toMatch(
      /2026-12-01T09:30:00Z TokenRemoved ios-app\/phone \(platform=IOS, user_id=kim, reason=INVALIDATED, provider_reason=Unregistered\)/,
    );
    expect(text).not.toContain(APNS_TOKEN);
    const json = JSON.stringify(asOfJson(state));
    expect(json).not.toContain(APNS_TOKEN);
    expect(json).not.toContain(FCM_TOKEN);
    expect(asOfJson(state)).toMatchObject({
      summary: 'kim is not reachable on any platform',
      subscription: { state: 'OPTED_IN', source: 'SDK' },
      devices: expect.arrayContaining([
        expect.objectContaining({ device_id: 'phone', token_status: 'removed', token: `${'*'.repeat(58)}ffffff` }),
      ]),
    });
  });
});
