import type { SegmentFilter } from './filter';

export type SubscriptionStatus = 'SUBSCRIBED' | 'OPTED_IN' | 'UNSUBSCRIBED';
export type TokenPlatform = 'IOS' | 'ANDROID' | 'WEB';

/**
 * One token assigned to the user, as its owners published it: token-registry's foreground/background state (T5) and
 * bounce-processor's delivery status (B1). Anonymous devices and devices without a token are in no user's view (T4).
 */
export interface UserToken {
  app_id: string;
  device_id: string;
  /** The token as token-registry published it (unmasked: exports carry it as Braze does). */
  token: string;
  platform: TokenPlatform;
  foreground_enabled: boolean;
  background_enabled: boolean;
  /** bounce-processor's `last_status` is `suppressed` (B1). */
  suppressed: boolean;
}

/** What the evaluator knows of one user: subscription-state's state (S1: SUBSCRIBED when first seen) and tokens. */
export interface UserView {
  user_id: string;
  subscription: SubscriptionStatus;
  tokens: readonly UserToken[];
  /** subscription-state's `opted_in_at` (epoch ms), null unless OPTED_IN. */
  push_opted_in_at: number | null;
}

export interface Reachability {
  ios_push: boolean;
  android_push: boolean;
  web_push: boolean;
}

/** G1: a foreground-enabled token for the app. */
export function pushEnabledForApp(user: UserView, appId: string): boolean {
  return user.tokens.some((t) => t.app_id === appId && t.foreground_enabled);
}

/** G4: a foreground-enabled token on any app; the subscription is not considered. */
export function foregroundPushEnabled(user: UserView): boolean {
  return user.tokens.some((t) => t.foreground_enabled);
}

/** G2: a foreground-enabled token on any app and the user not UNSUBSCRIBED. */
export function pushEnabled(user: UserView): boolean {
  return user.subscription !== 'UNSUBSCRIBED' && foregroundPushEnabled(user);
}

/** G3: a background-capable token on any app. */
export function backgroundPushEnabled(user: UserView): boolean {
  return user.tokens.some((t) => t.background_enabled);
}

const PLATFORM = { ios: 'IOS', android: 'ANDROID', web: 'WEB' } as const;

/** Whether the user is in the segment of the filter (DESIGN §5). */
export function matches(filter: SegmentFilter, user: UserView): boolean {
  if ('and' in filter) return filter.and.every((f) => matches(f, user));
  if ('or' in filter) return filter.or.some((f) => matches(f, user));
  if ('not' in filter) return !matches(filter.not, user);
  if ('push_enabled' in filter) return pushEnabled(user) === filter.push_enabled;
  if ('push_enabled_for_app' in filter) return pushEnabledForApp(user, filter.push_enabled_for_app);
  if ('foreground_push_enabled' in filter) return foregroundPushEnabled(user) === filter.foreground_push_enabled;
  if ('background_push_enabled' in filter) return backgroundPushEnabled(user) === filter.background_push_enabled;
  if ('push_subscription' in filter) return user.subscription === filter.push_subscription.toUpperCase(); // G5
  if ('platform' in filter) return user.tokens.some((t) => t.platform === PLATFORM[filter.platform]);
  return filter.user_ids.includes(user.user_id);
}

/**
 * G6: per platform, whether a user of the segment is reachable there — a foreground-enabled, not suppressed token on
 * that platform and the state SUBSCRIBED or OPTED_IN.
 */
export function reachability(user: UserView): Reachability {
  const on = (platform: TokenPlatform) =>
    user.subscription !== 'UNSUBSCRIBED' &&
    user.tokens.some((t) => t.platform === platform && t.foreground_enabled && !t.suppressed);
  return { ios_push: on('IOS'), android_push: on('ANDROID'), web_push: on('WEB') };
}

export interface SegmentSize {
  total: number;
  reachable: { ios_push: number; android_push: number; web_push: number };
}

/** `POST /segments/size` over plain views: the users matching, and of them those reachable per platform (G6). */
export function segmentSize(filter: SegmentFilter, users: Iterable<UserView>): SegmentSize {
  const size: SegmentSize = { total: 0, reachable: { ios_push: 0, android_push: 0, web_push: 0 } };
  for (const user of users) {
    if (!matches(filter, user)) continue;
    size.total += 1;
    const r = reachability(user);
    if (r.ios_push) size.reachable.ios_push += 1;
    if (r.android_push) size.reachable.android_push += 1;
    if (r.web_push) size.reachable.web_push += 1;
  }
  return size;
}

export interface ExportedToken {
  app: string;
  platform: 'ios' | 'android' | 'web';
  token: string;
  device_id: string;
  notifications_enabled: boolean;
}

export interface ExportedUser {
  external_id: string;
  push_subscribe: 'subscribed' | 'opted_in' | 'unsubscribed';
  push_opted_in_at: string | null;
  push_tokens: ExportedToken[];
}

/**
 * G7: the Braze export of a user — every token assigned to the user, `notifications_enabled` its foreground state.
 * Anonymous devices are in no user's view (T4), so in no export.
 */
export function exportUser(user: UserView): ExportedUser {
  return {
    external_id: user.user_id,
    push_subscribe: user.subscription.toLowerCase() as ExportedUser['push_subscribe'],
    push_opted_in_at: user.push_opted_in_at === null ? null : new Date(user.push_opted_in_at).toISOString(),
    push_tokens: user.tokens.map((t) => ({
      app: t.app_id,
      platform: t.platform.toLowerCase() as ExportedToken['platform'],
      token: t.token,
      device_id: t.device_id,
      notifications_enabled: t.foreground_enabled,
    })),
  };
}
