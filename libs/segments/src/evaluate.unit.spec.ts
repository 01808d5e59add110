import { exportUser, matches, reachability, segmentSize, type UserToken, type UserView } from './evaluate';
import type { SegmentFilter } from './filter';

function token(overrides: Partial<UserToken> = {}): UserToken {
  return {
    app_id: 'app-1',
    device_id: 'd1',
    token: 'tok-1',
    platform: 'IOS',
    foreground_enabled: true,
    background_enabled: true,
    suppressed: false,
    ...overrides,
  };
}
function user(overrides: Partial<UserView> = {}): UserView {
  return { user_id: 'u1', subscription: 'SUBSCRIBED', tokens: [], push_opted_in_at: null, ...overrides };
}
const none = { ios_push: false, android_push: false, web_push: false };

describe('G1–G7 evaluator', () => {
  it('G1: Push Enabled for App X needs a foreground-enabled token for app X', () => {
    expect(matches({ push_enabled_for_app: 'app-1' }, user({ tokens: [token()] }))).toBe(true);
    expect(matches({ push_enabled_for_app: 'app-2' }, user({ tokens: [token()] }))).toBe(false);
    expect(matches({ push_enabled_for_app: 'app-1' }, user({ tokens: [token({ foreground_enabled: false })] }))).toBe(
      false,
    );
  });

  it('G1/G2 seed: an unsubscribed user with a valid token is not Push Enabled but is Push Enabled for App', () => {
    const u = user({ subscription: 'UNSUBSCRIBED', tokens: [token()] });
    expect(matches({ push_enabled: true }, u)).toBe(false);
    expect(matches({ push_enabled: false }, u)).toBe(true);
    expect(matches({ push_enabled_for_app: 'app-1' }, u)).toBe(true);
  });

  it('G2: Push Enabled is a foreground-enabled token on any app and the user not UNSUBSCRIBED', () => {
    const tokens = [token({ app_id: 'app-1', foreground_enabled: false }), token({ app_id: 'app-2' })];
    expect(matches({ push_enabled: true }, user({ tokens }))).toBe(true);
    expect(matches({ push_enabled: true }, user({ subscription: 'OPTED_IN', tokens }))).toBe(true);
    expect(matches({ push_enabled: true }, user({ tokens: [tokens[0]] }))).toBe(false);
    expect(matches({ push_enabled: false }, user({ tokens: [tokens[0]] }))).toBe(true);
  });

  it('G2 seed: provisional iOS (foreground-enabled as token-registry publishes it, T5) is Push Enabled', () => {
    // token-registry's PushCapabilityChanged says foreground_enabled: true, provisional: true; segmentation takes it.
    expect(
      matches({ push_enabled: true }, user({ tokens: [token({ platform: 'IOS', foreground_enabled: true })] })),
    ).toBe(true);
  });

  it('G3/G2 seed: a background-only iOS device is Background Push Enabled but not Push Enabled', () => {
    const u = user({ tokens: [token({ foreground_enabled: false, background_enabled: true })] });
    expect(matches({ background_push_enabled: true }, u)).toBe(true);
    expect(matches({ push_enabled: true }, u)).toBe(false);
    expect(matches({ foreground_push_enabled: true }, u)).toBe(false);
  });

  it('G3: Background Push Enabled needs a background-capable token on any app; false matches those without', () => {
    const web = token({ platform: 'WEB', background_enabled: false });
    expect(matches({ background_push_enabled: true }, user({ tokens: [web] }))).toBe(false);
    expect(matches({ background_push_enabled: false }, user({ tokens: [web] }))).toBe(true);
    expect(matches({ background_push_enabled: true }, user({ tokens: [web, token({ app_id: 'app-3' })] }))).toBe(true);
  });

  it('G4: Foreground Push Enabled ignores the subscription', () => {
    const u = user({ subscription: 'UNSUBSCRIBED', tokens: [token()] });
    expect(matches({ foreground_push_enabled: true }, u)).toBe(true);
    expect(matches({ foreground_push_enabled: false }, u)).toBe(false);
    expect(matches({ foreground_push_enabled: false }, user())).toBe(true);
  });

  it.each([
    ['SUBSCRIBED', 'subscribed'],
    ['OPTED_IN', 'opted_in'],
    ['UNSUBSCRIBED', 'unsubscribed'],
  ] as const)('G5: push_subscription %s matches only %s', (state, value) => {
    for (const other of ['subscribed', 'opted_in', 'unsubscribed'] as const) {
      expect(matches({ push_subscription: other }, user({ subscription: state }))).toBe(other === value);
    }
  });

  it('§5: platform is having a token on that platform (any foreground state)', () => {
    const u = user({ tokens: [token({ platform: 'ANDROID', foreground_enabled: false })] });
    expect(matches({ platform: 'android' }, u)).toBe(true);
    expect(matches({ platform: 'ios' }, u)).toBe(false);
    expect(matches({ platform: 'web' }, u)).toBe(false);
  });

  it('§5: user_ids matches exactly the users named', () => {
    expect(matches({ user_ids: ['u1', 'u2'] }, user())).toBe(true);
    expect(matches({ user_ids: ['U1', 'u1 '] }, user())).toBe(false);
    expect(matches({ user_ids: [] }, user())).toBe(false);
  });

  it('§5: and / or / not combine as boolean logic', () => {
    const u = user({ tokens: [token({ platform: 'WEB', background_enabled: false })] });
    const yes: SegmentFilter = { platform: 'web' };
    const no: SegmentFilter = { platform: 'ios' };
    expect(matches({ and: [yes, yes] }, u)).toBe(true);
    expect(matches({ and: [yes, no] }, u)).toBe(false);
    expect(matches({ or: [no, yes] }, u)).toBe(true);
    expect(matches({ or: [no, no] }, u)).toBe(false);
    expect(matches({ not: no }, u)).toBe(true);
    expect(matches({ not: { not: yes } }, u)).toBe(true);
    expect(
      matches(
        {
          and: [{ push_enabled: true }, { or: [{ platform: 'android' }, { not: { background_push_enabled: true } }] }],
        },
        u,
      ),
    ).toBe(true);
  });

  it('G6 seed: a user Subscribed with no token is in the segment but not reachable', () => {
    const u = user();
    expect(matches({ push_subscription: 'subscribed' }, u)).toBe(true);
    expect(reachability(u)).toEqual(none);
    expect(segmentSize({ push_subscription: 'subscribed' }, [u])).toEqual({
      total: 1,
      reachable: { ios_push: 0, android_push: 0, web_push: 0 },
    });
  });

  it('G6: reachable per platform needs a foreground-enabled, not suppressed token there and SUBSCRIBED or OPTED_IN', () => {
    const tokens = [
      token({ platform: 'IOS' }),
      token({ platform: 'ANDROID', foreground_enabled: false }),
      token({ platform: 'WEB' }),
    ];
    expect(reachability(user({ tokens }))).toEqual({ ios_push: true, android_push: false, web_push: true });
    expect(reachability(user({ subscription: 'OPTED_IN', tokens }))).toEqual({
      ios_push: true,
      android_push: false,
      web_push: true,
    });
    expect(reachability(user({ subscription: 'UNSUBSCRIBED', tokens }))).toEqual(none);
  });

  it('G6 seed: a suppressed device stops counting as reachable and counts again once no longer suppressed (B2)', () => {
    const filter: SegmentFilter = { push_enabled: true };
    const suppressed = user({ tokens: [token({ platform: 'ANDROID', suppressed: true })] });
    expect(segmentSize(filter, [suppressed])).toEqual({
      total: 1,
      reachable: { ios_push: 0, android_push: 0, web_push: 0 },
    });
    // bounce-processor publishes the status back to unused after the re-registration (B2): the view says not suppressed.
    const registeredAgain = user({ tokens: [token({ platform: 'ANDROID', suppressed: false })] });
    expect(segmentSize(filter, [registeredAgain])).toEqual({
      total: 1,
      reachable: { ios_push: 0, android_push: 1, web_push: 0 },
    });
  });

  it('G6: one suppressed token does not hide another reachable token of the same platform', () => {
    const u = user({ tokens: [token({ app_id: 'app-1', suppressed: true }), token({ app_id: 'app-2' })] });
    expect(reachability(u).ios_push).toBe(true);
  });

  it('G6: a segment total can exceed the sum of its reachable counts; only users of the segment are counted', () => {
    const users = [
      user({ user_id: 'a', tokens: [token({ platform: 'IOS' }), token({ platform: 'WEB' })] }),
      user({ user_id: 'b', subscription: 'UNSUBSCRIBED', tokens: [token({ platform: 'ANDROID' })] }),
      user({ user_id: 'c' }),
      user({ user_id: 'd', tokens: [token({ platform: 'ANDROID' })] }),
    ];
    expect(segmentSize({ not: { user_ids: ['d'] } }, users)).toEqual({
      total: 3,
      reachable: { ios_push: 1, android_push: 0, web_push: 1 },
    });
  });

  it('G7: the export lists every token of the user with notifications_enabled its foreground state', () => {
    const u = user({
      user_id: 'u9',
      subscription: 'OPTED_IN',
      push_opted_in_at: Date.UTC(2026, 0, 2, 3, 4, 5),
      tokens: [
        token({ app_id: 'app-1', device_id: 'd1', token: 'apns-token', platform: 'IOS', foreground_enabled: false }),
        token({ app_id: 'app-2', device_id: 'd2', token: '{"endpoint":"e"}', platform: 'WEB', suppressed: true }),
      ],
    });
    expect(exportUser(u)).toEqual({
      external_id: 'u9',
      push_subscribe: 'opted_in',
      push_opted_in_at: '2026-01-02T03:04:05.000Z',
      push_tokens: [
        { app: 'app-1', platform: 'ios', token: 'apns-token', device_id: 'd1', notifications_enabled: false },
        { app: 'app-2', platform: 'web', token: '{"endpoint":"e"}', device_id: 'd2', notifications_enabled: true },
      ],
    });
    expect(exportUser(user({ subscription: 'UNSUBSCRIBED' }))).toEqual({
      external_id: 'u1',
      push_subscribe: 'unsubscribed',
      push_opted_in_at: null,
      push_tokens: [],
    });
  });
});
