import type { Platform } from '@push/contracts';
import { maskToken } from '@push/service-kit';
import type { AsOfState, DeviceAsOf, LoggedEvent, Stated, SubscriptionAsOf } from './fold';

const PLATFORMS: readonly Platform[] = ['IOS', 'ANDROID', 'WEB'];
const PLATFORM_NAMES: Record<Platform, string> = { IOS: 'iOS', ANDROID: 'Android', WEB: 'Web' };
const PROVIDER_NAMES: Record<Platform, string> = { IOS: 'APNs', ANDROID: 'FCM', WEB: 'Web Push' };

export const time = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** Why a device cannot receive a push then, in a support agent's words; null when it can. */
export interface DeviceVerdict {
  device: DeviceAsOf;
  reachable: boolean;
  /** "token invalidated by APNs Unregistered at …" or "notifications enabled, token active, …". */
  reason: string;
  /** The record the reason rests on. */
  because: LoggedEvent | null;
}

const deviceName = (d: DeviceAsOf) => `${d.app_id}/${d.device_id}`;

function subscriptionWords(subscription: Stated<SubscriptionAsOf> | null): string {
  if (!subscription) return 'subscription-state had published no state for the user (counts as subscribed, S1)';
  const { state, source } = subscription.value;
  return `subscription ${state.toLowerCase().replace('_', '-')} (${source.toLowerCase().replace(/_/g, ' ')}) since ${time(subscription.at)}`;
}

/**
 * The one condition that keeps a device from push, in the order an agent checks them: a sendable token, notifications
 * allowed by the OS (foreground, as token-registry published it), not suppressed by bounces (bounce-processor), and
 * the user not unsubscribed (subscription-state) — DESIGN G6/D1 over the owners' published facts.
 */
export function deviceVerdict(device: DeviceAsOf, subscription: Stated<SubscriptionAsOf> | null): DeviceVerdict {
  const platform = device.platform;
  const provider = platform ? PROVIDER_NAMES[platform] : 'the provider';
  const token = device.token;
  if (!token) return { device, reachable: false, reason: 'no push token registered yet', because: null };
  if (token.value.status === 'removed') {
    const removed = token.value;
    const at = time(token.at);
    switch (removed.reason) {
      case 'INVALIDATED': {
        const reason = removed.provider_reason ?? device.invalidated?.value.provider_reason ?? 'a permanent bounce';
        return {
          device,
          reachable: false,
          reason: `token invalidated by ${provider} ${reason} at ${at}`,
          because: device.invalidated?.event ?? token.event,
        };
      }
      case 'UNINSTALLED':
        return { device, reachable: false, reason: `the app was uninstalled at ${at}`, because: token.event };
      case 'MOVED_TO_ANOTHER_DEVICE':
        return {
          device,
          reachable: false,
          reason: `its token moved to device ${removed.moved_to_device_id ?? '(unknown)'} at ${at} (the same token registered there)`,
          because: token.event,
        };
      case 'SUPERSEDED_BY_INVALIDATED_TOKEN':
        return {
          device,
          reachable: false,
          reason: `it registered a token that ${provider} had invalidated before, at ${at}`,
          because: token.event,
        };
      default:
        return { device, reachable: false, reason: `token removed (${removed.reason}) at ${at}`, because: token.event };
    }
  }
  const capability = device.capability;
  if (capability && !capability.value.foreground_enabled) {
    const background = capability.value.background_enabled ? '; silent background pushes still possible' : '';
    return {
      device,
      reachable: false,
      reason: `notifications are off on the device (permission ${capability.value.push_permission}) since ${time(capability.at)}${background}`,
      because: capability.event,
    };
  }
  if (!capability)
    return {
      device,
      reachable: false,
      reason: 'the OS notification permission is not known yet',
      because: token.event,
    };
  const delivery = device.delivery;
  if (delivery?.value.status === 'SUPPRESSED')
    return {
      device,
      reachable: false,
      reason: `suppressed after ${delivery.value.consecutive_bounces} bounces in a row (last: ${provider} ${delivery.value.provider_reason ?? 'bounce'}) at ${time(delivery.at)}`,
      because: delivery.event,
    };
  if (subscription?.value.state === 'UNSUBSCRIBED')
    return {
      device,
      reachable: false,
      reason: `the user unsubscribed (${subscription.value.source.toLowerCase()}) at ${time(subscription.at)}`,
      because: subscription.event,
    };
  const bounced = delivery?.value.status === 'BOUNCED' ? `, 1 bounce (${delivery.value.provider_reason ?? ''})` : '';
  return {
    device,
    reachable: true,
    reason: `notifications on, token active since ${time(token.at)}${bounced}, ${subscriptionWords(subscription)}`,
    because: token.event,
  };
}

export interface PlatformAnswer {
  platform: Platform;
  reachable: boolean;
  sentence: string;
}

export interface AsOfAnswer {
  /** The headline: "kim is reachable on iOS; not on Android: …". */
  summary: string;
  platforms: PlatformAnswer[];
  verdicts: DeviceVerdict[];
  /** Lines about the devices that were the user's before. */
  former: string[];
  subscription: string;
}

/** The answer to "why is this user (not) reachable?" as sentences, per platform and per device. */
export function explain(state: AsOfState): AsOfAnswer {
  const verdicts = state.devices.map((d) => deviceVerdict(d, state.subscription));
  const who =
    state.subject.kind === 'user'
      ? state.subject.user_id
      : `device ${state.subject.app_id}/${state.subject.device_id}${state.user_id ? ` (user ${state.user_id})` : ' (anonymous)'}`;
  const platforms: PlatformAnswer[] = [];
  for (const platform of PLATFORMS) {
    const mine = verdicts.filter((v) => v.device.platform === platform);
    if (mine.length === 0) continue;
    const reachable = mine.filter((v) => v.reachable);
    const name = PLATFORM_NAMES[platform];
    platforms.push(
      reachable.length > 0
        ? {
            platform,
            reachable: true,
            sentence: `reachable on ${name} through ${reachable.map((v) => deviceName(v.device)).join(', ')}: ${reachable[0].reason}`,
          }
        : {
            platform,
            reachable: false,
            sentence: `not reachable on ${name}: ${mine.map((v) => (mine.length > 1 ? `${deviceName(v.device)}: ${v.reason}` : v.reason)).join('; ')}`,
          },
    );
  }
  const unknownPlatform = verdicts.filter((v) => v.device.platform === null);
  const anonymous = state.subject.kind === 'device' && state.user_id === null && state.devices.length > 0;
  let summary: string;
  if (state.devices.length === 0 && state.formerDevices.length > 0)
    summary = `${who} is not reachable: none of the devices the user had is the user's any more`;
  else if (state.devices.length === 0)
    summary =
      state.subject.kind === 'user'
        ? `${who} is not reachable: no device of this user was known by ${time(state.asOf)}`
        : `${who} is not reachable: no record of this device by ${time(state.asOf)}`;
  else if (anonymous)
    summary = `${who} is in no user's audience: the device is anonymous (logged out or never identified), so campaigns do not target it (T4)`;
  else {
    const yes = platforms.filter((p) => p.reachable).map((p) => PLATFORM_NAMES[p.platform]);
    summary =
      yes.length > 0 ? `${who} is reachable on ${yes.join(' and ')}` : `${who} is not reachable on any platform`;
  }
  const former = state.formerDevices.map((d) => {
    const owner = d.user?.value ? `user ${d.user.value}` : 'no one (anonymous)';
    return `device ${deviceName(d)} (${d.platform ? PLATFORM_NAMES[d.platform] : 'platform unknown'}) is no longer this user's: it belongs to ${owner} since ${d.user ? time(d.user.at) : '?'}`;
  });
  for (const v of unknownPlatform) former.push(`device ${deviceName(v.device)}: platform not known yet (${v.reason})`);
  return { summary, platforms, verdicts, former, subscription: subscriptionWords(state.subscription) };
}

/** One event of the list, in words: its time, type, device or user, and what it says. */
export function describeEvent(event: LoggedEvent): string {
  const d = event.data as Record<string, unknown>;
  const where = typeof d.device_id === 'string' ? `${String(d.app_id)}/${d.device_id}` : String(d.user_id ?? event.key);
  const facts: string[] = [];
  for (const field of [
    'platform',
    'os_version',
    'push_permission',
    'user_id',
    'previous_user_id',
    'state',
    'previous_state',
    'source',
    'reason',
    'cause',
    'status',
    'provider_reason',
    'foreground_enabled',
    'moved_to_device_id',
    'moved_from_device_id',
    'dispatch_id',
  ]) {
    const value = d[field];
    if (value === null || value === undefined || (field === 'user_id' && where === value)) continue;
    facts.push(`${field}=${String(value)}`);
  }
  return `${time(event.data.occurred_at)} ${event.type} ${where}${facts.length ? ` (${facts.join(', ')})` : ''} [${event.topic} ${event.partition}@${event.offset}]`;
}

/** The whole answer as text: summary, per platform, per device, former devices, then the events that made it so. */
export function renderText(state: AsOfState): string {
  const answer = explain(state);
  const lines = [`As of ${time(state.asOf)}: ${answer.summary}.`];
  for (const p of answer.platforms) lines.push(`  - ${p.sentence}`);
  if (state.user_id !== null) lines.push(`  - ${answer.subscription}`);
  if (answer.verdicts.length > 0) {
    lines.push('', 'Devices:');
    for (const v of answer.verdicts)
      lines.push(
        `  - ${deviceName(v.device)} (${v.device.platform ? PLATFORM_NAMES[v.device.platform] : '?'}): ${v.reachable ? 'reachable' : 'not reachable'}: ${v.reason}`,
      );
  }
  if (answer.former.length > 0) {
    lines.push('', 'Formerly:');
    for (const f of answer.former) lines.push(`  - ${f}`);
  }
  lines.push('', `Events that made it so (${state.events.length}, oldest first):`);
  for (const e of state.events) lines.push(`  ${describeEvent(e)}`);
  return `${lines.join('\n')}\n`;
}

/** Tokens are never shown whole (DESIGN §4 masks them in every API): all but the last 6 characters become `*`. */
function masked(data: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...data };
  for (const field of ['token', 'previous_token'])
    if (typeof copy[field] === 'string') copy[field] = maskToken(copy[field] as string);
  return copy;
}

/** `--json`: the state, the sentences and the events, tokens masked. */
export function asOfJson(state: AsOfState): object {
  const answer = explain(state);
  return {
    as_of: time(state.asOf),
    subject: state.subject,
    user_id: state.user_id,
    summary: answer.summary,
    platforms: answer.platforms.map((p) => ({ platform: p.platform, reachable: p.reachable, sentence: p.sentence })),
    subscription: state.subscription
      ? {
          state: state.subscription.value.state,
          source: state.subscription.value.source,
          opted_in_at:
            state.subscription.value.opted_in_at === null ? null : time(state.subscription.value.opted_in_at),
          since: time(state.subscription.at),
        }
      : null,
    devices: answer.verdicts.map((v) => ({
      app_id: v.device.app_id,
      device_id: v.device.device_id,
      platform: v.device.platform,
      user_id: v.device.user?.value ?? null,
      reachable: v.reachable,
      reason: v.reason,
      token_status: v.device.token?.value.status ?? 'none',
      token: v.device.token ? maskToken(v.device.token.value.token) : null,
      foreground_enabled: v.device.capability?.value.foreground_enabled ?? null,
      background_enabled: v.device.capability?.value.background_enabled ?? null,
      push_permission: v.device.capability?.value.push_permission ?? null,
      delivery_status: v.device.delivery?.value.status ?? null,
      because: v.because ? { topic: v.because.topic, partition: v.because.partition, offset: v.because.offset } : null,
    })),
    former: answer.former,
    events: state.events.map((e) => ({
      topic: e.topic,
      partition: e.partition,
      offset: e.offset,
      occurred_at: time(e.data.occurred_at),
      type: e.type,
      description: describeEvent(e),
      event: masked(e.data),
    })),
  };
}
