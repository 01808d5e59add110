import type { DispatchOptions, DispatchRequested, Platform, PushMessage } from '@push/contracts';
import { type SegmentFilter, type UserView, matches, parseFilter } from '@push/segments';

export type SubscriptionStatus = 'SUBSCRIBED' | 'OPTED_IN' | 'UNSUBSCRIBED';

/** Why an audience device is not sent to; counted by reason in `DispatchCompleted` (D6). */
export type SkipReason = 'unsubscribed' | 'not_push_enabled' | 'suppressed';

/**
 * One device as its owners published it: token-registry's platform, user (null: anonymous, T4), sendable token,
 * foreground/background state (T5) and latest session (D4); bounce-processor's suppression (B1). Never re-derived.
 */
export interface DeviceFacts {
  app_id: string;
  device_id: string;
  platform: Platform;
  user_id: string | null;
  /** The sendable token (WEB: the PushSubscription JSON), null when the device has none. */
  token: string | null;
  foreground_enabled: boolean;
  background_enabled: boolean;
  suppressed: boolean;
  /** Epoch ms of the latest `DeviceSessionRecorded`, null when none was published. */
  last_session_at: number | null;
}

/** A user as the read model knows it: subscription-state's state (SUBSCRIBED when not published yet, S1), devices. */
export interface UserFacts {
  user_id: string;
  subscription: SubscriptionStatus;
  devices: readonly DeviceFacts[];
}

/** What the read model holds for a request's audience: its users (user/segment audiences) or its one device. */
export interface AudienceFacts {
  /** The workspace's users the audience may name, by id (for a segment: every user of the workspace). */
  users: ReadonlyMap<string, UserFacts>;
  /** A DeviceAudience's device, with its user's facts when it has one; null when the read model does not know it. */
  device: { device: DeviceFacts; user: UserFacts | null } | null;
}

/** A device of the audience: to send to (`skip` null) or skipped for a reason. */
export interface PlannedTarget {
  device: DeviceFacts;
  skip: SkipReason | null;
}

export interface DispatchPlan {
  /** Every device the dispatch considers, in (app_id, device_id) order. */
  targets: PlannedTarget[];
  skipped: Record<SkipReason, number>;
}

type Audience = DispatchRequested['audience'];

/** The audience union's member, without Avro's namespaced wrapper. */
export type AudienceOf =
  | { kind: 'users'; user_ids: readonly string[] }
  | { kind: 'segment'; filter_json: string }
  | { kind: 'device'; app_id: string; device_id: string };

export function audienceOf(audience: Audience): AudienceOf {
  if ('push.dispatch.UserAudience' in audience)
    return { kind: 'users', user_ids: audience['push.dispatch.UserAudience'].user_ids };
  if ('push.dispatch.SegmentAudience' in audience)
    return { kind: 'segment', filter_json: audience['push.dispatch.SegmentAudience'].filter_json };
  const { app_id, device_id } = audience['push.dispatch.DeviceAudience'];
  return { kind: 'device', app_id, device_id };
}

/** A SegmentAudience's filter, parsed with @push/segments (the validator has refused a filter that does not parse). */
export function segmentFilterOf(filterJson: string): SegmentFilter | null {
  let value: unknown;
  try {
    value = JSON.parse(filterJson);
  } catch {
    return null;
  }
  const parsed = parseFilter(value);
  return parsed.ok ? parsed.filter : null;
}

/**
 * D1–D3: why a device is not sent this message, or null when it is eligible. The conditions are checked in DESIGN's
 * order — a sendable token for this kind of push, then not suppressed, then the subscription — and the first that fails
 * is the reason counted.
 * - D1: a token, foreground-enabled, not suppressed, the user SUBSCRIBED or OPTED_IN;
 * - D2: `include_unsubscribed` and `transactional` drop the subscription condition (an anonymous device has none);
 * - D3: a silent push needs a background-capable token instead, and never goes to WEB.
 */
export function skipReasonOf(
  device: DeviceFacts,
  subscription: SubscriptionStatus | null,
  message: Pick<PushMessage, 'silent'>,
  options: Pick<DispatchOptions, 'include_unsubscribed' | 'transactional'>,
): SkipReason | null {
  const pushEnabled = message.silent
    ? device.platform !== 'WEB' && device.background_enabled
    : device.foreground_enabled;
  if (device.token === null || !pushEnabled) return 'not_push_enabled';
  if (device.suppressed) return 'suppressed';
  const subscriptionApplies = !options.include_unsubscribed && !options.transactional;
  if (subscriptionApplies && subscription === 'UNSUBSCRIBED') return 'unsubscribed';
  return null;
}

/** D4's order: the latest session first; a device with no session recorded last; ties by app and device id. */
function moreRecentlyActive(a: DeviceFacts, b: DeviceFacts): number {
  const session = (b.last_session_at ?? -1) - (a.last_session_at ?? -1);
  return session !== 0 ? session : byDevice(a, b);
}

function byDevice(a: DeviceFacts, b: DeviceFacts): number {
  if (a.app_id !== b.app_id) return a.app_id < b.app_id ? -1 : 1;
  return a.device_id < b.device_id ? -1 : a.device_id > b.device_id ? 1 : 0;
}

/** The evaluator's view of a user (@push/segments): its devices with a sendable token. */
export function userViewOf(user: UserFacts): UserView {
  return {
    user_id: user.user_id,
    subscription: user.subscription,
    push_opted_in_at: null,
    tokens: user.devices
      .filter((d) => d.token !== null)
      .map((d) => ({
        app_id: d.app_id,
        device_id: d.device_id,
        token: d.token!,
        platform: d.platform,
        foreground_enabled: d.foreground_enabled,
        background_enabled: d.background_enabled,
        suppressed: d.suppressed,
      })),
  };
}

/** The users an audience names, each once: a UserAudience's known users, a segment's matching users. */
export function audienceUsers(audience: AudienceOf, facts: AudienceFacts): UserFacts[] {
  switch (audience.kind) {
    case 'users': {
      const seen = new Set<string>();
      const users: UserFacts[] = [];
      for (const id of audience.user_ids) {
        const user = facts.users.get(id);
        if (user && !seen.has(id)) users.push(user);
        seen.add(id);
      }
      return users;
    }
    case 'segment': {
      const filter = segmentFilterOf(audience.filter_json);
      if (filter === null) return [];
      return [...facts.users.values()].filter((user) => matches(filter, userViewOf(user)));
    }
    case 'device':
      return [];
  }
}

/**
 * The devices a dispatch considers and what happens to each: the audience's devices (anonymous devices belong to no
 * user's audience, T4; a DeviceAudience names one device, even an anonymous one, for transactional dispatches only,
 * D2), limited to `app_ids` when given, each eligible (D1–D3) or skipped with its reason. With
 * `last_active_device_only` (D4) each user counts one device: the most recently active eligible one, or — when none
 * is eligible — the most recently active one, skipped with its reason (so the counts say why the user got nothing).
 * A user's targets depend on that user's facts only (all its devices): planned a page of whole users at a time, as the
 * requests projection does, the pages' targets and counts add up to the whole audience's.
 */
export function planDispatch(
  request: Pick<DispatchRequested, 'audience' | 'message' | 'options'>,
  facts: AudienceFacts,
): DispatchPlan {
  const { message, options } = request;
  const audience = audienceOf(request.audience);
  const inApps = (device: DeviceFacts) => options.app_ids.length === 0 || options.app_ids.includes(device.app_id);
  const targets: PlannedTarget[] = [];
  if (audience.kind === 'device') {
    const found = facts.device;
    if (options.transactional && found && inApps(found.device))
      targets.push({
        device: found.device,
        skip: skipReasonOf(found.device, found.user?.subscription ?? null, message, options),
      });
  } else {
    for (const user of audienceUsers(audience, facts)) {
      const considered = user.devices
        .filter(inApps)
        .map((device) => ({ device, skip: skipReasonOf(device, user.subscription, message, options) }));
      if (!options.last_active_device_only) targets.push(...considered);
      else if (considered.length > 0) {
        const eligible = considered.filter((t) => t.skip === null);
        const pool = eligible.length > 0 ? eligible : considered;
        targets.push(pool.sort((a, b) => moreRecentlyActive(a.device, b.device))[0]);
      }
    }
  }
  targets.sort((a, b) => byDevice(a.device, b.device));
  const skipped: Record<SkipReason, number> = { unsubscribed: 0, not_push_enabled: 0, suppressed: 0 };
  for (const target of targets) if (target.skip !== null) skipped[target.skip]++;
  return { targets, skipped };
}
