import { formatAt } from '../format';

/** A device of the user as token-registry's `GET /users/{user_id}/devices` answers it (token masked). */
export interface DeviceView {
  app_id: string;
  device_id: string;
  platform: 'ios' | 'android' | 'web';
  os_version: string | null;
  token: string | null;
  token_status: 'active' | 'none' | 'removed' | 'invalidated';
  foreground_enabled: boolean;
  background_enabled: boolean;
  provisional: boolean;
  last_session_at: string | null;
  push_permission: 'authorized' | 'denied' | 'provisional' | 'not_determined' | null;
  permission_seen_at: string | null;
  invalidated: { provider_reason: string | null; provider_timestamp: string | null; at: string | null } | null;
}

/** bounce-processor's `GET /devices/{app_id}/{device_id}/delivery` (null: no outcome yet, a 404). */
export interface DeliveryView {
  last_status: 'unused' | 'sent' | 'bounced' | 'suppressed';
  consecutive_bounces: number;
  last_outcome_at: string | null;
  history: { outcome: 'sent' | 'bounced' | 'failed'; reason: string | null; at: string; dispatch_id: string | null }[];
}

export type PushSubscribe = 'subscribed' | 'opted_in' | 'unsubscribed';

/** subscription-state's `GET /users/{user_id}/subscription` (null: never seen, a 404). */
export interface SubscriptionView {
  user_id: string;
  push_subscribe: PushSubscribe;
  push_opted_in_at: string | null;
  history: { from: PushSubscribe | null; to: PushSubscribe; source: string; at: string }[];
}

/** token-registry's `GET /users/{user_id}/token-changelog` entries (tokens masked), oldest first. */
export interface ChangelogEntry {
  app_id: string;
  device_id: string;
  token: string;
  from_user_id: string | null;
  to_user_id: string | null;
  at: string;
}

const PROVIDER = { ios: 'APNs', android: 'FCM', web: 'Web Push' } as const;

export const SUBSCRIPTION_LABEL: Record<PushSubscribe, string> = {
  subscribed: 'Subscribed',
  opted_in: 'Opted-In',
  unsubscribed: 'Unsubscribed',
};

const SOURCE_LABEL: Record<string, string> = {
  first_seen: 'first seen',
  sdk: 'the app (SDK)',
  rest: 'the REST API',
  dashboard: 'the console',
  auto_opt_in: 'automatic opt-in when push was allowed',
};
export const sourceLabel = (source: string): string => SOURCE_LABEL[source] ?? source;

/**
 * The "Push Registered For" line of a device (DESIGN §9): `Foreground: <app>` when its token shows notifications,
 * `Background: <app>` when it takes silent pushes only, `--` when there is no push registration to speak of (no
 * sendable token, or one that can take neither).
 */
export function registeredFor(device: DeviceView, appName: string): string {
  if (device.token_status !== 'active') return '--';
  if (device.foreground_enabled) return `Foreground: ${appName}`;
  if (device.background_enabled) return `Background: ${appName}`;
  return '--';
}

export interface Reachability {
  reachable: boolean;
  sentence: string;
}

/**
 * Why a device can or cannot get a visible push now, in a support agent's words. The first cause that stops it is
 * the one named, in the order the dispatcher applies them (D1): the token, bounces, the user's subscription, the OS
 * permission.
 */
export function reachabilityOf(
  device: DeviceView,
  delivery: DeliveryView | null,
  subscription: SubscriptionView | null,
): Reachability {
  const provider = PROVIDER[device.platform];
  const no = (sentence: string): Reachability => ({ reachable: false, sentence: `Not reachable: ${sentence}` });

  if (device.token_status === 'invalidated') {
    const reason = device.invalidated?.provider_reason;
    return no(
      `token invalidated by ${provider}${reason ? ` ${reason}` : ''} at ${formatAt(device.invalidated?.at)}; the app must register a new token.`,
    );
  }
  if (device.token_status === 'removed')
    return no('the token was removed (the app was uninstalled, or the token moved to another device).');
  if (device.token_status === 'none') return no('the app has not registered a push token on this device yet.');

  if (delivery?.last_status === 'suppressed') {
    const lastBounce = delivery.history.find((h) => h.outcome === 'bounced');
    return no(
      `suppressed after ${delivery.consecutive_bounces} bounces in a row${lastBounce ? ` (last: ${lastBounce.reason ?? 'bounced'} at ${formatAt(lastBounce.at)})` : ''}; a new registration of the app clears it.`,
    );
  }

  if (subscription?.push_subscribe === 'unsubscribed') {
    const change = [...subscription.history].reverse().find((h) => h.to === 'unsubscribed');
    return no(
      `the user unsubscribed from push${change ? ` at ${formatAt(change.at)} (through ${sourceLabel(change.source)})` : ''}.`,
    );
  }

  if (!device.foreground_enabled) {
    const seen = device.permission_seen_at ? ` at ${formatAt(device.permission_seen_at)}` : '';
    if (device.platform === 'web')
      return no(
        `notifications are not allowed in the browser (permission ${device.push_permission ?? 'unknown'}${seen}).`,
      );
    const silent = device.background_enabled ? ' Silent (background) pushes still arrive.' : '';
    if (device.push_permission === 'denied') return no(`notifications turned off in the OS settings${seen}.${silent}`);
    if (device.push_permission === 'not_determined')
      return no(`the user has not been asked to allow notifications yet.${silent}`);
    return no(`notifications are not allowed by the OS.${silent}`);
  }

  const lastSent = delivery?.history.find((h) => h.outcome === 'sent');
  const sent = lastSent ? ` Last push sent at ${formatAt(lastSent.at)}.` : '';
  if (delivery?.last_status === 'bounced') {
    const bounce = delivery.history.find((h) => h.outcome === 'bounced');
    return {
      reachable: true,
      sentence: `Reachable, but the last push bounced (${bounce?.reason ?? 'bounced'} at ${formatAt(bounce?.at)}); one more bounce in a row suppresses the device.`,
    };
  }
  if (device.provisional)
    return {
      reachable: true,
      sentence: `Reachable quietly: iOS provisional authorisation delivers to the Notification Centre only.${sent}`,
    };
  if (device.platform === 'android' && device.push_permission !== 'authorized')
    return {
      reachable: true,
      sentence: `Reachable: Android before 13 shows notifications without asking for permission.${sent}`,
    };
  return { reachable: true, sentence: `Reachable: notifications are allowed.${sent}` };
}

/** A device that was the user's and now belongs to someone else: the changelog's latest move of it away from the user. */
export interface MovedDevice {
  app_id: string;
  device_id: string;
  token: string;
  to_user_id: string;
  at: string;
}

/**
 * Devices of the changelog whose latest entry naming the user moved their token from the user to another user (a
 * shared phone that someone else logged into), and which the user does not hold any more.
 */
export function movedAway(userId: string, changelog: ChangelogEntry[], devices: DeviceView[]): MovedDevice[] {
  const held = new Set(devices.map((d) => `${d.app_id}\u0000${d.device_id}`));
  const latest = new Map<string, ChangelogEntry>();
  for (const entry of changelog) latest.set(`${entry.app_id}\u0000${entry.device_id}`, entry);
  const moved: MovedDevice[] = [];
  for (const [key, entry] of latest) {
    if (held.has(key) || entry.from_user_id !== userId || entry.to_user_id === null || entry.to_user_id === userId)
      continue;
    moved.push({
      app_id: entry.app_id,
      device_id: entry.device_id,
      token: entry.token,
      to_user_id: entry.to_user_id,
      at: entry.at,
    });
  }
  return moved;
}

export const movedSentence = (moved: MovedDevice): string =>
  `Not reachable for this user: moved to user ${moved.to_user_id} at ${formatAt(moved.at)}.`;

/** One changelog entry in words: "Token ****ab12 moved from user alex to user kim". */
export function changelogSentence(entry: ChangelogEntry, userId: string): string {
  const token = `Token ${entry.token}`;
  if (entry.from_user_id === null)
    return `${token} assigned to ${entry.to_user_id === userId ? 'this user' : `user ${entry.to_user_id}`}`;
  if (entry.to_user_id === null)
    return `${token} removed from ${entry.from_user_id === userId ? 'this user' : `user ${entry.from_user_id}`}`;
  if (entry.to_user_id === userId) return `${token} moved to this user from user ${entry.from_user_id}`;
  return `${token} moved from this user to user ${entry.to_user_id}`;
}
