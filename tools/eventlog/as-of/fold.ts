import {
  DeliveryStatus,
  DeviceDeliveryEvent,
  DeviceTokenEvent,
  MessageKeys,
  Platform,
  PushPermission,
  SubscriptionChangeSource,
  SubscriptionState,
  Topics,
  UserSubscriptionEvent,
} from '@push/contracts';

/** A decoded record of the log with where it was: what the as-of fold reads. */
export interface LoggedEvent {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** Kafka's timestamp, epoch ms. */
  timestamp: number;
  type: string;
  data: Record<string, unknown> & { occurred_at: number };
}

/** Who the question is about: a user of a workspace, or one device (`app_id:device_id`). */
export type AsOfSubject =
  | { kind: 'user'; workspace_id: string; user_id: string }
  | { kind: 'device'; workspace_id: string; app_id: string; device_id: string };

/** A fact as an owner published it, and the record that said so (so that the explanation can point at it). */
export interface Stated<T> {
  value: T;
  at: number;
  event: LoggedEvent;
}

/** What token-registry and bounce-processor had published about one device by then. */
export interface DeviceAsOf {
  workspace_id: string;
  app_id: string;
  device_id: string;
  platform: Platform | null;
  /** The device's user after its latest token-registry record (null: anonymous, T4). */
  user: Stated<string | null> | null;
  capability: Stated<{
    push_permission: PushPermission;
    os_version: string | null;
    foreground_enabled: boolean;
    background_enabled: boolean;
    provisional: boolean;
  }> | null;
  /** The sendable token (latest TokenAssigned/TokenReplaced not followed by TokenRemoved), or why it went. */
  token: Stated<
    | { status: 'sendable'; token: string }
    | {
        status: 'removed';
        token: string;
        reason: string;
        provider_reason: string | null;
        moved_to_device_id: string | null;
      }
  > | null;
  delivery: Stated<{ status: DeliveryStatus; consecutive_bounces: number; provider_reason: string | null }> | null;
  invalidated: Stated<{ provider_reason: string; provider_timestamp: number | null }> | null;
  uninstallDetected: Stated<{ provider_reason: string }> | null;
}

export interface SubscriptionAsOf {
  state: SubscriptionState;
  source: SubscriptionChangeSource;
  opted_in_at: number | null;
}

/** The state as of a time: the subject's devices (current and former) and the user's subscription. */
export interface AsOfState {
  asOf: number;
  subject: AsOfSubject;
  /** The user the answer is about: the subject's, or the device's user then (null: anonymous or unknown). */
  user_id: string | null;
  subscription: Stated<SubscriptionAsOf> | null;
  /** Devices of the user then (or the one device asked for). */
  devices: DeviceAsOf[];
  /** Devices that were the user's before and are someone else's (or no one's) then: a shared phone, a logout. */
  formerDevices: DeviceAsOf[];
  /** Every record that went into the answer, SDK events included, in event-time order. */
  events: LoggedEvent[];
}

export const deviceKeyOf = (data: Record<string, unknown>): string | null =>
  typeof data.workspace_id === 'string' && typeof data.app_id === 'string' && typeof data.device_id === 'string'
    ? MessageKeys.device(data.workspace_id, data.app_id, data.device_id)
    : null;

/** True for a record that happened by then (event time: `occurred_at`, what the SDK or provider says). */
export const happenedBy = (event: LoggedEvent, asOf: number): boolean => event.data.occurred_at <= asOf;

/** Log order: a device's (or user's) records are on one partition of each topic, so offset order per topic is theirs. */
function logOrder(a: LoggedEvent, b: LoggedEvent): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  if (a.partition !== b.partition) return a.partition - b.partition;
  const d = BigInt(a.offset) - BigInt(b.offset);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/**
 * Of records of the same millisecond, causes before effects: the SDK's or provider's fact, then bounce-processor's
 * decision, token-registry's, subscription-state's (each owner publishes with its cause's `occurred_at`).
 */
const TOPIC_RANK: readonly string[] = [
  Topics.DeviceEvents,
  Topics.UserEvents,
  Topics.DispatchRequests,
  Topics.DispatchOutcomes,
  Topics.DeviceDelivery,
  Topics.DeviceTokens,
  Topics.UserSubscriptions,
];

function causalOrder(a: LoggedEvent, b: LoggedEvent): number {
  const rank = TOPIC_RANK.indexOf(a.topic) - TOPIC_RANK.indexOf(b.topic);
  return rank !== 0 ? rank : a.timestamp - b.timestamp || logOrder(a, b);
}

function emptyDevice(event: LoggedEvent): DeviceAsOf {
  const data = event.data as unknown as { workspace_id: string; app_id: string; device_id: string };
  return {
    workspace_id: data.workspace_id,
    app_id: data.app_id,
    device_id: data.device_id,
    platform: null,
    user: null,
    capability: null,
    token: null,
    delivery: null,
    invalidated: null,
    uninstallDetected: null,
  };
}

/** One token-registry record applied to the device's view: only what the record says, no rule re-derived. */
function applyDeviceToken(device: DeviceAsOf, event: LoggedEvent): void {
  const record = { type: event.type, data: event.data } as unknown as DeviceTokenEvent;
  const at = record.data.occurred_at;
  if (record.data.platform) device.platform = record.data.platform;
  // Every record states the device's user after it; the user's "since" is the record where it became this one.
  if (device.user?.value !== record.data.user_id) device.user = { value: record.data.user_id, at, event };
  switch (record.type) {
    case 'PushCapabilityChanged': {
      const { push_permission, os_version, foreground_enabled, background_enabled, provisional } = record.data;
      device.capability = {
        value: { push_permission, os_version, foreground_enabled, background_enabled, provisional },
        at,
        event,
      };
      return;
    }
    case 'TokenAssigned':
    case 'TokenReplaced':
      device.token = { value: { status: 'sendable', token: record.data.token }, at, event };
      return;
    case 'TokenRemoved': {
      const { token, reason, provider_reason, moved_to_device_id } = record.data;
      device.token = { value: { status: 'removed', token, reason, provider_reason, moved_to_device_id }, at, event };
      return;
    }
    case 'TokenRenewed':
      if (device.token?.value.status !== 'sendable')
        device.token = { value: { status: 'sendable', token: record.data.token }, at, event };
      return;
    case 'DeviceUserChanged':
    case 'DeviceSessionRecorded':
    case 'UserFirstSeen':
      return;
    default:
      return;
  }
}

function applyDelivery(device: DeviceAsOf, event: LoggedEvent): void {
  const record = { type: event.type, data: event.data } as unknown as DeviceDeliveryEvent;
  const at = record.data.occurred_at;
  switch (record.type) {
    case 'DeliveryStatusChanged': {
      const { status, consecutive_bounces, provider_reason, platform } = record.data;
      device.platform ??= platform;
      device.delivery = { value: { status, consecutive_bounces, provider_reason }, at, event };
      return;
    }
    case 'TokenInvalidated':
      device.platform ??= record.data.platform;
      device.invalidated = {
        value: { provider_reason: record.data.provider_reason, provider_timestamp: record.data.provider_timestamp },
        at,
        event,
      };
      return;
    case 'UninstallDetected':
      device.uninstallDetected = { value: { provider_reason: record.data.provider_reason }, at, event };
      return;
    default:
      return;
  }
}

/**
 * The state as of `asOf` from the owners' published records (token-registry's device records, subscription-state's
 * subscription records, bounce-processor's delivery records), each aspect the latest of its owner's records in log
 * order among those that happened by then — nothing re-derived from SDK events, which only go into the list of
 * events that made it so. `records` are every record of the subject's devices and user (as `relevantKeys` selects).
 */
export function foldAsOf(records: readonly LoggedEvent[], subject: AsOfSubject, asOf: number): AsOfState {
  const byTime = records.filter((e) => happenedBy(e, asOf));
  const ordered = [...byTime].sort(logOrder);
  const devices = new Map<string, DeviceAsOf>();
  const deviceOf = (event: LoggedEvent): DeviceAsOf | null => {
    const key = deviceKeyOf(event.data);
    if (key === null) return null;
    let device = devices.get(key);
    if (!device) devices.set(key, (device = emptyDevice(event)));
    return device;
  };
  for (const event of ordered) {
    if (event.topic === Topics.DeviceTokens) {
      const device = deviceOf(event);
      if (device) applyDeviceToken(device, event);
    } else if (event.topic === Topics.DeviceDelivery) {
      const device = deviceOf(event);
      if (device) applyDelivery(device, event);
    }
  }

  let userId: string | null;
  let current: DeviceAsOf[];
  let former: DeviceAsOf[] = [];
  if (subject.kind === 'user') {
    userId = subject.user_id;
    const everOwned = [...devices.values()].filter((d) =>
      ordered.some(
        (e) =>
          e.topic === Topics.DeviceTokens &&
          deviceKeyOf(e.data) === MessageKeys.device(d.workspace_id, d.app_id, d.device_id) &&
          (e.data.user_id === userId || e.data.previous_user_id === userId),
      ),
    );
    current = everOwned.filter((d) => d.user?.value === userId);
    former = everOwned.filter((d) => d.user?.value !== userId);
  } else {
    const key = MessageKeys.device(subject.workspace_id, subject.app_id, subject.device_id);
    const device = devices.get(key);
    current = device ? [device] : [];
    userId = device?.user?.value ?? null;
  }

  let subscription: Stated<SubscriptionAsOf> | null = null;
  if (userId !== null) {
    const userKey = MessageKeys.user(subject.workspace_id, userId);
    for (const event of ordered) {
      if (event.topic !== Topics.UserSubscriptions || event.key !== userKey) continue;
      const record = { type: event.type, data: event.data } as unknown as UserSubscriptionEvent;
      const { state, source, opted_in_at } = record.data;
      subscription = { value: { state, source, opted_in_at }, at: record.data.occurred_at, event };
    }
  }

  const keys = new Set([...current, ...former].map((d) => MessageKeys.device(d.workspace_id, d.app_id, d.device_id)));
  const userKey = userId === null ? null : MessageKeys.user(subject.workspace_id, userId);
  const events = byTime
    .filter((e) => {
      const deviceKey = deviceKeyOf(e.data);
      if (deviceKey !== null && keys.has(deviceKey)) return true;
      return userKey !== null && e.key === userKey;
    })
    .sort((a, b) => a.data.occurred_at - b.data.occurred_at || causalOrder(a, b));
  const byDevice = (a: DeviceAsOf, b: DeviceAsOf) =>
    a.app_id === b.app_id ? (a.device_id < b.device_id ? -1 : 1) : a.app_id < b.app_id ? -1 : 1;
  return {
    asOf,
    subject,
    user_id: userId,
    subscription,
    devices: current.sort(byDevice),
    formerDevices: former.sort(byDevice),
    events,
  };
}
