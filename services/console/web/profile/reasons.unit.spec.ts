import {
  ChangelogEntry,
  DeliveryView,
  DeviceView,
  SubscriptionView,
  changelogSentence,
  movedAway,
  movedSentence,
  reachabilityOf,
  registeredFor,
} from './reasons';

const iphone: DeviceView = {
  app_id: 'ios-app',
  device_id: 'iphone',
  platform: 'ios',
  os_version: '17.4',
  token: '**********abc123',
  token_status: 'active',
  foreground_enabled: true,
  background_enabled: true,
  provisional: false,
  last_session_at: '2026-11-01T10:00:00.000Z',
  push_permission: 'authorized',
  permission_seen_at: '2026-11-01T10:00:00.000Z',
  invalidated: null,
};
const subscribed: SubscriptionView = {
  user_id: 'kim',
  push_subscribe: 'subscribed',
  push_opted_in_at: null,
  history: [{ from: null, to: 'subscribed', source: 'first_seen', at: '2026-10-01T08:00:00.000Z' }],
};
const sent: DeliveryView = {
  last_status: 'sent',
  consecutive_bounces: 0,
  last_outcome_at: '2026-11-02T09:30:00.000Z',
  history: [{ outcome: 'sent', reason: null, at: '2026-11-02T09:30:00.000Z', dispatch_id: 'd1' }],
};

describe("a device's Push Registered For line (DESIGN §9)", () => {
  it('T5: Foreground when the token shows notifications, Background when background-only, -- without a token', () => {
    expect(registeredFor(iphone, 'Acme iOS')).toBe('Foreground: Acme iOS');
    expect(registeredFor({ ...iphone, foreground_enabled: false }, 'Acme iOS')).toBe('Background: Acme iOS');
    expect(registeredFor({ ...iphone, token_status: 'removed', token: null }, 'Acme iOS')).toBe('--');
    expect(registeredFor({ ...iphone, token_status: 'invalidated' }, 'Acme iOS')).toBe('--');
    expect(
      registeredFor({ ...iphone, platform: 'web', foreground_enabled: false, background_enabled: false }, 'Web'),
    ).toBe('--');
  });
});

describe("why a device is or is not reachable, in a support agent's words", () => {
  it('D1: reachable with notifications allowed, naming the last push sent', () => {
    expect(reachabilityOf(iphone, sent, subscribed)).toEqual({
      reachable: true,
      sentence: 'Reachable: notifications are allowed. Last push sent at 2026-11-02 09:30 UTC.',
    });
  });

  it('T6: notifications turned off in the OS settings at the time the permission was seen, silent pushes still arrive', () => {
    const off = {
      ...iphone,
      foreground_enabled: false,
      push_permission: 'denied' as const,
      permission_seen_at: '2026-11-03T07:15:00.000Z',
    };

    expect(reachabilityOf(off, null, subscribed)).toEqual({
      reachable: false,
      sentence:
        'Not reachable: notifications turned off in the OS settings at 2026-11-03 07:15 UTC. Silent (background) pushes still arrive.',
    });
  });

  it('T8: a token invalidated by APNs Unregistered, with the time', () => {
    const invalidated: DeviceView = {
      ...iphone,
      token_status: 'invalidated',
      invalidated: { provider_reason: 'Unregistered', provider_timestamp: null, at: '2026-11-04T12:00:00.000Z' },
    };

    expect(reachabilityOf(invalidated, sent, subscribed).sentence).toBe(
      'Not reachable: token invalidated by APNs Unregistered at 2026-11-04 12:00 UTC; the app must register a new token.',
    );
    expect(reachabilityOf({ ...invalidated, platform: 'android' }, sent, subscribed).sentence).toContain(
      'by FCM Unregistered',
    );
  });

  it('B1: suppressed after two bounces in a row names the last reason; one bounce is still reachable', () => {
    const suppressed: DeliveryView = {
      last_status: 'suppressed',
      consecutive_bounces: 2,
      last_outcome_at: '2026-11-05T10:00:00.000Z',
      history: [
        { outcome: 'bounced', reason: 'BadDeviceToken', at: '2026-11-05T10:00:00.000Z', dispatch_id: 'd3' },
        { outcome: 'bounced', reason: 'BadDeviceToken', at: '2026-11-05T09:00:00.000Z', dispatch_id: 'd2' },
      ],
    };
    const bounced: DeliveryView = { ...suppressed, last_status: 'bounced', consecutive_bounces: 1 };

    expect(reachabilityOf(iphone, suppressed, subscribed)).toEqual({
      reachable: false,
      sentence:
        'Not reachable: suppressed after 2 bounces in a row (last: BadDeviceToken at 2026-11-05 10:00 UTC); a new registration of the app clears it.',
    });
    expect(reachabilityOf(iphone, bounced, subscribed).reachable).toBe(true);
    expect(reachabilityOf(iphone, bounced, subscribed).sentence).toContain('the last push bounced (BadDeviceToken');
  });

  it('S2: an unsubscribed user is named with when and through what it happened', () => {
    const unsubscribed: SubscriptionView = {
      ...subscribed,
      push_subscribe: 'unsubscribed',
      history: [
        ...subscribed.history,
        { from: 'subscribed', to: 'unsubscribed', source: 'dashboard', at: '2026-11-06T16:45:00.000Z' },
      ],
    };

    expect(reachabilityOf(iphone, sent, unsubscribed).sentence).toBe(
      'Not reachable: the user unsubscribed from push at 2026-11-06 16:45 UTC (through the console).',
    );
  });

  it('T4, T7: a removed token and a device without one', () => {
    expect(reachabilityOf({ ...iphone, token_status: 'removed', token: null }, null, subscribed).sentence).toContain(
      'the token was removed',
    );
    expect(reachabilityOf({ ...iphone, token_status: 'none', token: null }, null, subscribed).sentence).toContain(
      'has not registered a push token',
    );
  });

  it('T5: provisional iOS is reachable quietly; Android before 13 without permission is reachable', () => {
    expect(
      reachabilityOf({ ...iphone, provisional: true, push_permission: 'provisional' }, null, subscribed).sentence,
    ).toBe('Reachable quietly: iOS provisional authorisation delivers to the Notification Centre only.');
    const android12 = {
      ...iphone,
      platform: 'android' as const,
      os_version: '12',
      push_permission: 'not_determined' as const,
    };
    expect(reachabilityOf(android12, null, subscribed)).toEqual({
      reachable: true,
      sentence: 'Reachable: Android before 13 shows notifications without asking for permission.',
    });
  });

  it('a web device without permission is not reachable and takes no silent push', () => {
    const web = {
      ...iphone,
      platform: 'web' as const,
      foreground_enabled: false,
      background_enabled: false,
      push_permission: 'denied' as const,
    };

    expect(reachabilityOf(web, null, subscribed).sentence).toBe(
      'Not reachable: notifications are not allowed in the browser (permission denied at 2026-11-01 10:00 UTC).',
    );
  });
});

describe('the push token changelog', () => {
  const changelog: ChangelogEntry[] = [
    {
      app_id: 'ios-app',
      device_id: 'shared',
      token: '****aaa111',
      from_user_id: null,
      to_user_id: 'alex',
      at: '2026-11-01T09:00:00.000Z',
    },
    {
      app_id: 'ios-app',
      device_id: 'shared',
      token: '****aaa111',
      from_user_id: 'alex',
      to_user_id: 'kim',
      at: '2026-11-01T10:00:00.000Z',
    },
    {
      app_id: 'ios-app',
      device_id: 'own',
      token: '****bbb222',
      from_user_id: null,
      to_user_id: 'alex',
      at: '2026-11-01T09:30:00.000Z',
    },
  ];

  it('T3: a shared phone that another user logged into is "moved to user kim at …" on the first user', () => {
    const alexDevices = [{ ...iphone, device_id: 'own' }];
    const moved = movedAway('alex', changelog, alexDevices);

    expect(moved).toEqual([
      {
        app_id: 'ios-app',
        device_id: 'shared',
        token: '****aaa111',
        to_user_id: 'kim',
        at: '2026-11-01T10:00:00.000Z',
      },
    ]);
    expect(movedSentence(moved[0])).toBe('Not reachable for this user: moved to user kim at 2026-11-01 10:00 UTC.');
    expect(movedAway('kim', changelog, [{ ...iphone, device_id: 'shared' }])).toEqual([]);
  });

  it('T3: each move in words, from the point of view of the user shown', () => {
    expect(changelogSentence(changelog[1], 'kim')).toBe('Token ****aaa111 moved to this user from user alex');
    expect(changelogSentence(changelog[1], 'alex')).toBe('Token ****aaa111 moved from this user to user kim');
    expect(changelogSentence(changelog[0], 'alex')).toBe('Token ****aaa111 assigned to this user');
    expect(changelogSentence({ ...changelog[0], from_user_id: 'alex', to_user_id: null }, 'alex')).toBe(
      'Token ****aaa111 removed from this user',
    );
  });
});
