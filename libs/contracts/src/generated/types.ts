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

/** The app was opened on the device (a SessionStarted newer than any before): the last-active device of a user is the one with the latest session (D4). */
export interface DeviceSessionRecorded {
  /** Id of this event (UUID), derived from cause_event_id, the record type and the device: processing the cause again yields the same id, so consumers can drop duplicates by it. */
  event_id: string;
  /** event_id of the consumed event (sdk.device-events.v1 or bounce-processor.device-delivery.v1) that caused this one. */
  cause_event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app within the workspace. */
  app_id: string;
  /** The device this event is about (also the message key: "{workspace_id}:{app_id}:{device_id}"). */
  device_id: string;
  /** When the cause happened (its occurred_at, epoch milliseconds). Per device, token-registry applies causes in occurred_at order (T9). */
  occurred_at: number;
  /** The device's platform; null only while no event of the device has named it yet. */
  platform: Platform | null;
  /** The device's user after this change; null when the device is anonymous (T4: an anonymous device's token belongs to no user and counts nowhere). */
  user_id: string | null;
}

/** What attributed the device to another user. */
export type UserChangeCause = 'CHANGE_USER' | 'LOGGED_OUT' | 'SDK_REPORTED';

/** T3/T4: the device is attributed to another user, or to none. With a token this moves the token between users: user_id (the new user) has it and previous_user_id no longer has it. user_id null is a detach (logout, or an SDK report of an anonymous device): the token stays on the device but belongs to no user. Since v2 it also carries the device's OS version and notification permission at the change, so that subscription-state can tell a user who logs in on an already authorized device (S3) without re-deriving T5. */
export interface DeviceUserChanged {
  /** Id of this event (UUID), derived from cause_event_id, the record type and the device: processing the cause again yields the same id, so consumers can drop duplicates by it. */
  event_id: string;
  /** event_id of the consumed event (sdk.device-events.v1 or bounce-processor.device-delivery.v1) that caused this one. */
  cause_event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app within the workspace. */
  app_id: string;
  /** The device this event is about (also the message key: "{workspace_id}:{app_id}:{device_id}"). */
  device_id: string;
  /** When the cause happened (its occurred_at, epoch milliseconds). Per device, token-registry applies causes in occurred_at order (T9). */
  occurred_at: number;
  /** The device's platform; null only while no event of the device has named it yet. */
  platform: Platform | null;
  /** The device's user after this change; null when the device is anonymous (T4: an anonymous device's token belongs to no user and counts nowhere). */
  user_id: string | null;
  /** The device's user before; null when it was anonymous. */
  previous_user_id: string | null;
  /** The sendable token the device holds, which moves with it; null when it holds none. */
  token: string | null;
  /** CHANGE_USER (login/identify), LOGGED_OUT (UserLoggedOut), SDK_REPORTED (a TokenRegistered or SessionStarted named another user, or none). */
  cause: UserChangeCause;
  /** The device's OS version as the SDK last reported it; null when unknown (and in v1 records). */
  os_version: string | null;
  /** The device's OS notification permission at the change; null when none is known yet (and in v1 records). */
  push_permission: PushPermission | null;
}

/** T5/T6: what the OS lets the app do on this device changed (or is known for the first time): platform, OS version, notification permission, and so whether the device's token (when it holds one) is foreground-enabled and background-capable. Consumers combine it with the token events; they never re-derive T5. */
export interface PushCapabilityChanged {
  /** Id of this event (UUID), derived from cause_event_id, the record type and the device: processing the cause again yields the same id, so consumers can drop duplicates by it. */
  event_id: string;
  /** event_id of the consumed event (sdk.device-events.v1 or bounce-processor.device-delivery.v1) that caused this one. */
  cause_event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app within the workspace. */
  app_id: string;
  /** The device this event is about (also the message key: "{workspace_id}:{app_id}:{device_id}"). */
  device_id: string;
  /** When the cause happened (its occurred_at, epoch milliseconds). Per device, token-registry applies causes in occurred_at order (T9). */
  occurred_at: number;
  /** The device's platform; null only while no event of the device has named it yet. */
  platform: Platform | null;
  /** The device's user after this change; null when the device is anonymous (T4: an anonymous device's token belongs to no user and counts nowhere). */
  user_id: string | null;
  /** The OS version as the SDK reported it. */
  os_version: string | null;
  /** The OS notification permission now. */
  push_permission: PushPermission;
  /** The permission before this change; null when none was known. */
  previous_push_permission: PushPermission | null;
  /** From a PushPermissionChanged: true when the user answered an OS prompt, false when changed in settings; null for other causes. */
  prompted: boolean | null;
  /** T5: the OS lets the app show notifications (AUTHORIZED; PROVISIONAL on iOS, quietly; Android below 13 unless DENIED). */
  foreground_enabled: boolean;
  /** T5: silent (background) pushes reach the app: IOS and ANDROID always, WEB never. */
  background_enabled: boolean;
  /** iOS provisional authorization: notifications are delivered quietly to the notification centre. */
  provisional: boolean;
}

/** The device now holds a sendable token and held none before (first registration, registration after an uninstall or invalidation, or a token taken over from another device, T2). Together with the latest PushCapabilityChanged it tells whether the token is foreground-enabled and background-capable. */
export interface TokenAssigned {
  /** Id of this event (UUID), derived from cause_event_id, the record type and the device: processing the cause again yields the same id, so consumers can drop duplicates by it. */
  event_id: string;
  /** event_id of the consumed event (sdk.device-events.v1 or bounce-processor.device-delivery.v1) that caused this one. */
  cause_event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app within the workspace. */
  app_id: string;
  /** The device this event is about (also the message key: "{workspace_id}:{app_id}:{device_id}"). */
  device_id: string;
  /** When the cause happened (its occurred_at, epoch milliseconds). Per device, token-registry applies causes in occurred_at order (T9). */
  occurred_at: number;
  /** The device's platform; null only while no event of the device has named it yet. */
  platform: Platform | null;
  /** The device's user after this change; null when the device is anonymous (T4: an anonymous device's token belongs to no user and counts nowhere). */
  user_id: string | null;
  /** The token; for WEB the JSON PushSubscription. */
  token: string;
  /** T2: the device of the same app that held this token before; null when no other device held it. */
  moved_from_device_id: string | null;
}

/** Why a device lost its sendable token. */
export type TokenRemovalReason = 'UNINSTALLED' | 'INVALIDATED' | 'MOVED_TO_ANOTHER_DEVICE' | 'SUPERSEDED_BY_INVALIDATED_TOKEN';

/** The device no longer holds a sendable token: the app was uninstalled (T7), the provider invalidated the token (T8), another device took the token over (T2), or the device registered a token that had been invalidated (T8). */
export interface TokenRemoved {
  /** Id of this event (UUID), derived from cause_event_id, the record type and the device: processing the cause again yields the same id, so consumers can drop duplicates by it. */
  event_id: string;
  /** event_id of the consumed event (sdk.device-events.v1 or bounce-processor.device-delivery.v1) that caused this one. */
  cause_event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app within the workspace. */
  app_id: string;
  /** The device this event is about (also the message key: "{workspace_id}:{app_id}:{device_id}"). */
  device_id: string;
  /** When the cause happened (its occurred_at, epoch milliseconds). Per device, token-registry applies causes in occurred_at order (T9). */
  occurred_at: number;
  /** The device's platform; null only while no event of the device has named it yet. */
  platform: Platform | null;
  /** The device's user after this change; null when the device is anonymous (T4: an anonymous device's token belongs to no user and counts nowhere). */
  user_id: string | null;
  /** The token that is no longer sendable on this device. */
  token: string;
  /** UNINSTALLED (T7), INVALIDATED (T8, see provider_reason), MOVED_TO_ANOTHER_DEVICE (T2, see moved_to_device_id), SUPERSEDED_BY_INVALIDATED_TOKEN (T1+T8: the device registered a token string that stays invalidated). */
  reason: TokenRemovalReason;
  /** MOVED_TO_ANOTHER_DEVICE: the device that holds the token now. */
  moved_to_device_id: string | null;
  /** INVALIDATED: the provider's reason string (Unregistered, NotRegistered, 410, …). */
  provider_reason: string | null;
}

/** The device registered again the sendable token it already holds (the SDK does this at every session start): a sign that the token is alive, which clears a bounced or suppressed delivery status (B2). Nothing about the token changed. */
export interface TokenRenewed {
  /** Id of this event (UUID), derived from cause_event_id, the record type and the device: processing the cause again yields the same id, so consumers can drop duplicates by it. */
  event_id: string;
  /** event_id of the consumed event (sdk.device-events.v1 or bounce-processor.device-delivery.v1) that caused this one. */
  cause_event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app within the workspace. */
  app_id: string;
  /** The device this event is about (also the message key: "{workspace_id}:{app_id}:{device_id}"). */
  device_id: string;
  /** When the cause happened (its occurred_at, epoch milliseconds). Per device, token-registry applies causes in occurred_at order (T9). */
  occurred_at: number;
  /** The device's platform; null only while no event of the device has named it yet. */
  platform: Platform | null;
  /** The device's user after this change; null when the device is anonymous (T4: an anonymous device's token belongs to no user and counts nowhere). */
  user_id: string | null;
  /** The token, unchanged. */
  token: string;
}

/** T1: a new registration replaced the sendable token the device held. */
export interface TokenReplaced {
  /** Id of this event (UUID), derived from cause_event_id, the record type and the device: processing the cause again yields the same id, so consumers can drop duplicates by it. */
  event_id: string;
  /** event_id of the consumed event (sdk.device-events.v1 or bounce-processor.device-delivery.v1) that caused this one. */
  cause_event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app within the workspace. */
  app_id: string;
  /** The device this event is about (also the message key: "{workspace_id}:{app_id}:{device_id}"). */
  device_id: string;
  /** When the cause happened (its occurred_at, epoch milliseconds). Per device, token-registry applies causes in occurred_at order (T9). */
  occurred_at: number;
  /** The device's platform; null only while no event of the device has named it yet. */
  platform: Platform | null;
  /** The device's user after this change; null when the device is anonymous (T4: an anonymous device's token belongs to no user and counts nowhere). */
  user_id: string | null;
  /** The new token; for WEB the JSON PushSubscription. */
  token: string;
  /** The token it replaces, no longer assigned to anything. */
  previous_token: string;
  /** T2: the device of the same app that held the new token before; null when no other device held it. */
  moved_from_device_id: string | null;
}

/** S1: a device event named this user for the first time in the workspace (as the device's user). Published once per user, on the device where it was first seen. */
export interface UserFirstSeen {
  /** Id of this event (UUID), derived from cause_event_id, the record type and the device: processing the cause again yields the same id, so consumers can drop duplicates by it. */
  event_id: string;
  /** event_id of the consumed event (sdk.device-events.v1 or bounce-processor.device-delivery.v1) that caused this one. */
  cause_event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app within the workspace. */
  app_id: string;
  /** The device this event is about (also the message key: "{workspace_id}:{app_id}:{device_id}"). */
  device_id: string;
  /** When the cause happened (its occurred_at, epoch milliseconds). Per device, token-registry applies causes in occurred_at order (T9). */
  occurred_at: number;
  /** The device's platform; null only while no event of the device has named it yet. */
  platform: Platform | null;
  /** The user seen for the first time. */
  user_id: string;
}

/** What changed a user's subscription state. */
export type SubscriptionChangeSource = 'FIRST_SEEN' | 'SDK' | 'REST' | 'DASHBOARD' | 'AUTO_OPT_IN';

/** S1-S5: a user's push subscription state changed, or the user was seen for the first time (previous_state null). Published by subscription-state, the owner of the subscription rules: consumers (segmentation, dispatcher) take the state from here and never re-derive it. The state after the latest record of a user is the user's state. */
export interface SubscriptionStateChanged {
  /** Id of this event (UUID), derived from cause_event_id, the user and the record type: processing the cause again yields the same id, so consumers can drop duplicates by it. */
  event_id: string;
  /** event_id of the consumed event that caused this change: a PushSubscriptionSet of sdk.user-events.v1, or a UserFirstSeen or PushCapabilityChanged of token-registry.device-tokens.v1. */
  cause_event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The user (external id; also the message key: "{workspace_id}:{user_id}"). */
  user_id: string;
  /** When the cause happened (its occurred_at, epoch milliseconds). */
  occurred_at: number;
  /** The state before this change; null when this is the first sighting of the user in the workspace (S1). */
  previous_state: SubscriptionState | null;
  /** The state after this change. */
  state: SubscriptionState;
  /** FIRST_SEEN: the user was seen for the first time (S1, state SUBSCRIBED); SDK, REST, DASHBOARD: an explicit PushSubscriptionSet of that source (S2); AUTO_OPT_IN: a device of the user became AUTHORIZED (S3). */
  source: SubscriptionChangeSource;
  /** Braze's push_opted_in_at after this change (epoch milliseconds): null unless state is OPTED_IN; the time of the explicit change when the latest one set OPTED_IN, else of the first automatic opt-in after it. A record is also published when only this changes (previous_state equal to state). */
  opted_in_at: number | null;
  /** For FIRST_SEEN and AUTO_OPT_IN: the app of the device the cause is about; null for explicit changes. */
  app_id: string | null;
  /** For FIRST_SEEN and AUTO_OPT_IN: the device the cause is about; null for explicit changes. */
  device_id: string | null;
}

/** The push provider: APNs (IOS), FCM (ANDROID) or Web Push (WEB). */
export type Provider = 'APNS' | 'FCM' | 'WEB_PUSH';

/** B4: the shard's window no longer shows the app's burst of this reason: its new bounces of that reason are judged one by one again (B3). Bounces held meanwhile stay held until an operator releases or discards them. */
export interface AppProviderCleared {
  /** Id of this event (UUID), derived from cause_event_id, the device or app and the record type: processing the cause again yields the same id, so consumers drop duplicates by it. */
  event_id: string;
  /** event_id of the outcome after which the window no longer showed the burst. */
  cause_event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app within the workspace. */
  app_id: string;
  /** The device of the cause outcome (also the message key: "{workspace_id}:{app_id}:{device_id}", like every record of this topic); the record is about the app. */
  device_id: string;
  /** The provider whose answers show the burst. */
  provider: Provider;
  /** The configuration-type reason of the burst (messaging/mismatched-credential, MismatchSenderId, DeviceTokenNotForTopic, BadDeviceToken). */
  provider_reason: string;
  /** The dispatch.outcomes.v1 partition whose window decided. B4 windows are kept per partition (each partition's decisions follow from its own log, so a replay decides the same); an app is flagged for a reason while the latest record of any shard for it is AppProviderFlagged. */
  window_shard: number;
  /** The cause's occurred_at (epoch milliseconds). */
  occurred_at: number;
  /** Start of the sliding window of outcome times (epoch milliseconds) the decision counted. */
  window_start: number;
  /** End of the window: the latest outcome time seen on the shard (epoch milliseconds). */
  window_end: number;
  /** Outcomes of the app with this reason in the window (now at most the threshold). */
  reason_count: number;
  /** All outcomes of the app (sent, bounced, failed) in the window. */
  outcome_count: number;
}

/** B4: an app's outcomes show a burst of one configuration-type reason across its devices (more than the configured share of its recent outcomes, and at least the minimum count): a credentials/topic/environment error, not dead tokens. Its bounces of that reason are held instead of invalidating tokens, until an operator releases (applies as B3) or discards them. */
export interface AppProviderFlagged {
  /** Id of this event (UUID), derived from cause_event_id, the device or app and the record type: processing the cause again yields the same id, so consumers drop duplicates by it. */
  event_id: string;
  /** event_id of the outcome that made the window show the burst. */
  cause_event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app within the workspace. */
  app_id: string;
  /** The device of the cause outcome (also the message key: "{workspace_id}:{app_id}:{device_id}", like every record of this topic); the record is about the app. */
  device_id: string;
  /** The provider whose answers show the burst. */
  provider: Provider;
  /** The configuration-type reason of the burst (messaging/mismatched-credential, MismatchSenderId, DeviceTokenNotForTopic, BadDeviceToken). */
  provider_reason: string;
  /** The dispatch.outcomes.v1 partition whose window decided. B4 windows are kept per partition (each partition's decisions follow from its own log, so a replay decides the same); an app is flagged for a reason while the latest record of any shard for it is AppProviderFlagged. */
  window_shard: number;
  /** The cause's occurred_at (epoch milliseconds). */
  occurred_at: number;
  /** Start of the sliding window of outcome times (epoch milliseconds) the decision counted. */
  window_start: number;
  /** End of the window: the latest outcome time seen on the shard (epoch milliseconds). */
  window_end: number;
  /** Outcomes of the app with this reason in the window. */
  reason_count: number;
  /** All outcomes of the app (sent, bounced, failed) in the window. */
  outcome_count: number;
  /** The configured share (0–1) the reason's share of outcomes exceeded. */
  threshold_share: number;
  /** The configured minimum count of the reason in the window. */
  min_count: number;
}

/** B1: UNUSED until the first outcome, SENT after a PushSent, BOUNCED after one bounce, SUPPRESSED after two consecutive bounces (not sent to). */
export type DeliveryStatus = 'UNUSED' | 'SENT' | 'BOUNCED' | 'SUPPRESSED';

/** What changed the status: a PushSent or a permanent PushBounced (B1), or the device registering its token again / its user identifying with it (B2, back to UNUSED). */
export type DeliveryStatusCause = 'PUSH_SENT' | 'PUSH_BOUNCED' | 'TOKEN_REGISTERED' | 'USER_IDENTIFIED';

/** B1/B2: a device's delivery status (last_status) changed. Published only when the status changes; a suppressed device is not sent to (dispatcher D1) and not reachable (segmentation G6) until a later record says otherwise. */
export interface DeliveryStatusChanged {
  /** Id of this event (UUID), derived from cause_event_id, the device or app and the record type: processing the cause again yields the same id, so consumers drop duplicates by it. */
  event_id: string;
  /** event_id of the consumed event that caused the change: the PushSent or PushBounced (dispatch.outcomes.v1), or the registration (token-registry.device-tokens.v1, B2). */
  cause_event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app within the workspace. */
  app_id: string;
  /** The device this event is about (also the message key: "{workspace_id}:{app_id}:{device_id}"). */
  device_id: string;
  /** The device's push platform. */
  platform: Platform;
  /** The device's user as the outcome named it; null when it named none (anonymous device or outside sender). */
  user_id: string | null;
  /** When the cause happened (its occurred_at, epoch milliseconds). Per device, bounce-processor applies causes in occurred_at order: an older cause never changes a newer status. */
  occurred_at: number;
  /** The device's delivery status after the change. */
  status: DeliveryStatus;
  /** The device's delivery status before the change. */
  previous_status: DeliveryStatus;
  /** Bounces since the last PushSent or registration (0 after either; 2 or more when SUPPRESSED). */
  consecutive_bounces: number;
  /** What changed the status. */
  cause: DeliveryStatusCause;
  /** The bounce's provider reason when cause is PUSH_BOUNCED; else null. */
  provider_reason: string | null;
  /** The dispatch of the outcome that caused the change; null for outside senders and registrations. */
  dispatch_id: string | null;
}

/** B3: a provider answered that the token is permanently invalid. token-registry removes it from its device and tombstones the token string (T8). */
export interface TokenInvalidated {
  /** Unique id of this event (UUID); redeliveries carry the same id. */
  event_id: string;
  /** event_id of the PushBounced that showed the token invalid, when there was one. */
  bounce_event_id: string | null;
  /** The customer workspace. */
  workspace_id: string;
  /** The app within the workspace. */
  app_id: string;
  /** The device the token was sent to (also the message key: "{workspace_id}:{app_id}:{device_id}"). */
  device_id: string;
  /** The device's push platform. */
  platform: Platform;
  /** When the provider answered (epoch milliseconds). */
  occurred_at: number;
  /** The invalid token. */
  token: string;
  /** The provider's own reason string (Unregistered, BadDeviceToken, messaging/registration-token-not-registered, NotRegistered, 410, …). */
  provider_reason: string;
  /** APNs 410: when the token stopped being valid (epoch milliseconds). A registration of the same token after this instant is a token Apple re-issued: it is sendable again (T8). */
  provider_timestamp: number | null;
}

/** B5: a provider answered that the app is no longer installed on the device (APNs Unregistered, FCM messaging/registration-token-not-registered / NotRegistered): uninstall tracking. Published with the TokenInvalidated of the same bounce. */
export interface UninstallDetected {
  /** Id of this event (UUID), derived from bounce_event_id, the device or app and the record type: processing the cause again yields the same id, so consumers drop duplicates by it. */
  event_id: string;
  /** event_id of the PushBounced that showed the uninstall. */
  bounce_event_id: string;
  /** The customer workspace. */
  workspace_id: string;
  /** The app within the workspace. */
  app_id: string;
  /** The device this event is about (also the message key: "{workspace_id}:{app_id}:{device_id}"). */
  device_id: string;
  /** The device's push platform. */
  platform: Platform;
  /** The device's user as the outcome named it; null when it named none (anonymous device or outside sender). */
  user_id: string | null;
  /** When the provider answered (the bounce's occurred_at, epoch milliseconds). */
  occurred_at: number;
  /** The provider's reason string (Unregistered, NotRegistered, messaging/registration-token-not-registered, …). */
  provider_reason: string;
  /** APNs 410: when the token stopped being valid (epoch milliseconds), the best estimate of the uninstall time; null otherwise. */
  provider_timestamp: number | null;
  /** The dispatch of the bounce; null for outside senders. */
  dispatch_id: string | null;
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

/** The events on `token-registry.device-tokens.v1`. */
export type DeviceTokenEvent =
  | TypedEvent<'DeviceSessionRecorded', DeviceSessionRecorded>
  | TypedEvent<'DeviceUserChanged', DeviceUserChanged>
  | TypedEvent<'PushCapabilityChanged', PushCapabilityChanged>
  | TypedEvent<'TokenAssigned', TokenAssigned>
  | TypedEvent<'TokenRemoved', TokenRemoved>
  | TypedEvent<'TokenRenewed', TokenRenewed>
  | TypedEvent<'TokenReplaced', TokenReplaced>
  | TypedEvent<'UserFirstSeen', UserFirstSeen>;

/** The events on `subscription-state.user-subscriptions.v1`. */
export type UserSubscriptionEvent =
  | TypedEvent<'SubscriptionStateChanged', SubscriptionStateChanged>;

/** The events on `bounce-processor.device-delivery.v1`. */
export type DeviceDeliveryEvent =
  | TypedEvent<'AppProviderCleared', AppProviderCleared>
  | TypedEvent<'AppProviderFlagged', AppProviderFlagged>
  | TypedEvent<'DeliveryStatusChanged', DeliveryStatusChanged>
  | TypedEvent<'TokenInvalidated', TokenInvalidated>
  | TypedEvent<'UninstallDetected', UninstallDetected>;

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
  'token-registry.device-tokens.v1': ['DeviceSessionRecorded', 'DeviceUserChanged', 'PushCapabilityChanged', 'TokenAssigned', 'TokenRemoved', 'TokenRenewed', 'TokenReplaced', 'UserFirstSeen'],
  'subscription-state.user-subscriptions.v1': ['SubscriptionStateChanged'],
  'bounce-processor.device-delivery.v1': ['AppProviderCleared', 'AppProviderFlagged', 'DeliveryStatusChanged', 'TokenInvalidated', 'UninstallDetected'],
} as const satisfies Record<TopicName, readonly string[]>;
