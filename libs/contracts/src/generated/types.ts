// generated — do not edit. Source: schemas/**/*.avsc, generator: tools/codegen/generate-contracts.ts.
// Run `npm run codegen` after changing a schema.
/* eslint-disable */
import type { TopicName } from '../topics';

/** An event as the codec hands it over: the Avro record's short name and the record. */
export interface TypedEvent<N extends string, T> {
  type: N;
  data: T;
}

/** The platform or the gateway learned that the app was removed from the device. */
export interface AppUninstalled {
  /** Unique id of this event (UUID); redeliveries carry the same id. */
  event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app (one per platform build) within the workspace. */
  app_id: string;
  /** The SDK's installation id of the app on one device. */
  device_id: string;
  /** When it happened on the device (epoch milliseconds). */
  occurred_at: number;
}

/** The SDK now attributes the device to user_id (login / identify). */
export interface ChangeUser {
  /** Unique id of this event (UUID); redeliveries carry the same id. */
  event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app (one per platform build) within the workspace. */
  app_id: string;
  /** The SDK's installation id of the app on one device. */
  device_id: string;
  /** When it happened on the device (epoch milliseconds). */
  occurred_at: number;
  /** The user the device now belongs to. */
  user_id: string;
  /** The user the SDK attributed the device to before, if any. */
  previous_user_id: string | null;
}

/** The device's push platform. */
export type Platform = 'IOS' | 'ANDROID' | 'WEB';

/** The OS notification permission as the SDK saw it. */
export type PushPermission = 'AUTHORIZED' | 'PROVISIONAL' | 'DENIED' | 'NOT_DETERMINED';

/** The OS notification permission changed while the app was running. */
export interface PushPermissionChanged {
  /** Unique id of this event (UUID); redeliveries carry the same id. */
  event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app (one per platform build) within the workspace. */
  app_id: string;
  /** The SDK's installation id of the app on one device. */
  device_id: string;
  /** When it happened on the device (epoch milliseconds). */
  occurred_at: number;
  /** The device's push platform. */
  platform: Platform;
  /** OS version as reported, e.g. "12", "13", "17.4". */
  os_version: string | null;
  /** The OS notification permission now. */
  push_permission: PushPermission;
  /** True when this is the answer to an OS prompt, false when changed in settings. */
  prompted: boolean;
}

/** The app was opened; carries the OS notification permission as it is now. */
export interface SessionStarted {
  /** Unique id of this event (UUID); redeliveries carry the same id. */
  event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app (one per platform build) within the workspace. */
  app_id: string;
  /** The SDK's installation id of the app on one device. */
  device_id: string;
  /** When it happened on the device (epoch milliseconds). */
  occurred_at: number;
  /** The device's push platform. */
  platform: Platform;
  /** OS version as reported, e.g. "12", "13", "17.4". */
  os_version: string | null;
  /** The OS notification permission now. */
  push_permission: PushPermission;
  /** The identified user, null if the device is anonymous. */
  user_id: string | null;
}

/** The SDK obtained or refreshed the device's push token (it does this at every session start). */
export interface TokenRegistered {
  /** Unique id of this event (UUID); redeliveries carry the same id. */
  event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app (one per platform build) within the workspace. */
  app_id: string;
  /** The SDK's installation id of the app on one device. */
  device_id: string;
  /** When it happened on the device (epoch milliseconds). */
  occurred_at: number;
  /** The device's push platform. */
  platform: Platform;
  /** The push token; for WEB the JSON PushSubscription {"endpoint","keys":{"p256dh","auth"}}. */
  token: string;
  /** OS version as reported, e.g. "12", "13", "17.4". */
  os_version: string | null;
  /** The OS notification permission now. */
  push_permission: PushPermission;
  /** The identified user, null if the device is anonymous. */
  user_id: string | null;
}

/** clearIdentify: the device is anonymous again. */
export interface UserLoggedOut {
  /** Unique id of this event (UUID); redeliveries carry the same id. */
  event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app (one per platform build) within the workspace. */
  app_id: string;
  /** The SDK's installation id of the app on one device. */
  device_id: string;
  /** When it happened on the device (epoch milliseconds). */
  occurred_at: number;
  /** The user who logged out, if the SDK knew it. */
  user_id: string | null;
}

/** A user's push subscription state. */
export type SubscriptionState = 'SUBSCRIBED' | 'OPTED_IN' | 'UNSUBSCRIBED';

/** Where a preference change came from. */
export type SubscriptionSource = 'SDK' | 'REST' | 'DASHBOARD';

/** An explicit push subscription preference change of a user. */
export interface PushSubscriptionSet {
  /** Unique id of this event (UUID); redeliveries carry the same id. */
  event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The user (external id). */
  user_id: string;
  /** When the preference was set (epoch milliseconds). */
  occurred_at: number;
  /** The new state. */
  state: SubscriptionState;
  /** Who set it. */
  source: SubscriptionSource;
}

/** These users' eligible devices. */
export interface UserAudience {
  /** External ids of the users. */
  user_ids: string[];
}

/** The users matching a segment filter (DESIGN §5). */
export interface SegmentAudience {
  /** The filter expression as JSON. */
  filter_json: string;
}

/** One named device (transactional dispatches only). */
export interface DeviceAudience {
  /** The app. */
  app_id: string;
  /** The device. */
  device_id: string;
}

/** Delivery priority. */
export type Priority = 'HIGH' | 'NORMAL';

/** What to send. */
export interface PushMessage {
  /** Visible title. */
  title: string | null;
  /** Visible body. */
  body: string | null;
  /** Custom key/value data delivered with the push. */
  data: Record<string, string>;
  /** A silent (background) push: no visible part, background-capable tokens only. */
  silent: boolean;
  /** How long the provider may hold the push for an offline device. */
  ttl_seconds: number | null;
  /** Pushes with the same key replace each other on the device. */
  collapse_key: string | null;
  /** Delivery priority. */
  priority: Priority;
}

/** How eligibility is decided. */
export interface DispatchOptions {
  /** Ignore the subscription state (D2). */
  include_unsubscribed: boolean;
  /** Ignore the subscription state and allow DeviceAudience (D2). */
  transactional: boolean;
  /** Per user, only the device with the latest session (D4). */
  last_active_device_only: boolean;
  /** Only these apps; empty means all apps. */
  app_ids: string[];
}

/** The campaign service asks for a push to an audience. */
export interface DispatchRequested {
  /** Unique id of the dispatch; also the message key. Redeliveries carry the same id. */
  dispatch_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The campaign this dispatch belongs to, if any. */
  campaign_id: string | null;
  /** When the dispatch was requested (epoch milliseconds). */
  occurred_at: number;
  /** Who to send to. */
  audience: { 'push.dispatch.UserAudience': UserAudience } | { 'push.dispatch.SegmentAudience': SegmentAudience } | { 'push.dispatch.DeviceAudience': DeviceAudience };
  /** The push. */
  message: PushMessage;
  /** Eligibility options. */
  options: DispatchOptions;
}

/** Every targeted device of a dispatch has an outcome or was skipped; keyed by dispatch_id. */
export interface DispatchCompleted {
  /** The dispatch. */
  dispatch_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** When the dispatch completed (epoch milliseconds). */
  occurred_at: number;
  /** Devices considered. */
  targeted: number;
  /** Devices sent to. */
  sent: number;
  /** Devices whose token bounced. */
  bounced: number;
  /** Devices that failed. */
  failed: number;
  /** Devices skipped: user unsubscribed. */
  skipped_unsubscribed: number;
  /** Devices skipped: no sendable token for this push. */
  skipped_not_push_enabled: number;
  /** Devices skipped: delivery suppressed (B1). */
  skipped_suppressed: number;
}

/** The provider rejected the device's token. */
export interface PushBounced {
  /** Unique id of this outcome. */
  event_id: string;
  /** The dispatch it answers; null for bounces reported by outside senders. */
  dispatch_id: string | null;
  /** The customer workspace. */
  workspace_id: string;
  /** The app. */
  app_id: string;
  /** The device. */
  device_id: string;
  /** The device's user at send time, if any. */
  user_id: string | null;
  /** The device's push platform. */
  platform: Platform;
  /** When the provider answered (epoch milliseconds). */
  occurred_at: number;
  /** The token that bounced. */
  token: string;
  /** The provider's own reason string (Unregistered, BadDeviceToken, messaging/registration-token-not-registered, 410, …). */
  provider_reason: string;
  /** APNs 410: when the token stopped being valid (epoch milliseconds). */
  provider_timestamp: number | null;
}

/** Why a push failed. */
export type FailureCategory = 'RETRY_EXHAUSTED' | 'CONFIGURATION' | 'PAYLOAD';

/** The push could not be delivered for a reason that is not the token's. */
export interface PushFailed {
  /** Unique id of this outcome. */
  event_id: string;
  /** The dispatch it answers; null for bounces reported by outside senders. */
  dispatch_id: string | null;
  /** The customer workspace. */
  workspace_id: string;
  /** The app. */
  app_id: string;
  /** The device. */
  device_id: string;
  /** The device's user at send time, if any. */
  user_id: string | null;
  /** The device's push platform. */
  platform: Platform;
  /** When the provider answered (epoch milliseconds). */
  occurred_at: number;
  /** What went wrong, in the provider's words where there are some. */
  reason: string;
  /** The class of failure (D6). */
  category: FailureCategory;
}

/** The provider accepted the push for the device. */
export interface PushSent {
  /** Unique id of this outcome. */
  event_id: string;
  /** The dispatch it answers; null for bounces reported by outside senders. */
  dispatch_id: string | null;
  /** The customer workspace. */
  workspace_id: string;
  /** The app. */
  app_id: string;
  /** The device. */
  device_id: string;
  /** The device's user at send time, if any. */
  user_id: string | null;
  /** The device's push platform. */
  platform: Platform;
  /** When the provider answered (epoch milliseconds). */
  occurred_at: number;
  /** The provider's id of the message (FCM name, apns-id). */
  provider_message_id: string | null;
}

/** The events on `sdk.device-events.v1`. */
export type SdkDeviceEvent =
  | TypedEvent<'AppUninstalled', AppUninstalled>
  | TypedEvent<'ChangeUser', ChangeUser>
  | TypedEvent<'PushPermissionChanged', PushPermissionChanged>
  | TypedEvent<'SessionStarted', SessionStarted>
  | TypedEvent<'TokenRegistered', TokenRegistered>
  | TypedEvent<'UserLoggedOut', UserLoggedOut>;

/** The events on `sdk.user-events.v1`. */
export type SdkUserEvent =
  | TypedEvent<'PushSubscriptionSet', PushSubscriptionSet>;

/** The events on `dispatch.requests.v1`. */
export type DispatchRequestEvent =
  | TypedEvent<'DispatchRequested', DispatchRequested>;

/** The events on `dispatch.outcomes.v1`. */
export type DispatchOutcomeEvent =
  | TypedEvent<'DispatchCompleted', DispatchCompleted>
  | TypedEvent<'PushBounced', PushBounced>
  | TypedEvent<'PushFailed', PushFailed>
  | TypedEvent<'PushSent', PushSent>;

/** The events on `token-registry.device-tokens.v1` (no schema published yet). */
export type DeviceTokenEvent = never;

/** The events on `subscription-state.user-subscriptions.v1` (no schema published yet). */
export type UserSubscriptionEvent = never;

/** The events on `bounce-processor.device-delivery.v1` (no schema published yet). */
export type DeviceDeliveryEvent = never;

/** The events each topic carries. */
export interface TopicEventMap {
  'sdk.device-events.v1': SdkDeviceEvent;
  'sdk.user-events.v1': SdkUserEvent;
  'dispatch.requests.v1': DispatchRequestEvent;
  'dispatch.outcomes.v1': DispatchOutcomeEvent;
  'token-registry.device-tokens.v1': DeviceTokenEvent;
  'subscription-state.user-subscriptions.v1': UserSubscriptionEvent;
  'bounce-processor.device-delivery.v1': DeviceDeliveryEvent;
}

/** The events a topic carries, e.g. `EventOf<'sdk.device-events.v1'>`. */
export type EventOf<T extends TopicName> = TopicEventMap[T];

/** The record types (event types) each topic carries. */
export const RECORDS_BY_TOPIC = {
  'sdk.device-events.v1': ['AppUninstalled', 'ChangeUser', 'PushPermissionChanged', 'SessionStarted', 'TokenRegistered', 'UserLoggedOut'],
  'sdk.user-events.v1': ['PushSubscriptionSet'],
  'dispatch.requests.v1': ['DispatchRequested'],
  'dispatch.outcomes.v1': ['DispatchCompleted', 'PushBounced', 'PushFailed', 'PushSent'],
  'token-registry.device-tokens.v1': [],
  'subscription-state.user-subscriptions.v1': [],
  'bounce-processor.device-delivery.v1': [],
} as const satisfies Record<TopicName, readonly string[]>;
