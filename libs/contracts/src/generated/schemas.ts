// generated — do not edit. Source: schemas/**/*.avsc, generator: tools/codegen/generate-contracts.ts.
// Run `npm run codegen` after changing a schema.
/* eslint-disable */
import type { SchemaVersion } from '../schema-files';

/** Every schema version ever published under schemas/: the codec reads messages written with any of them. */
export const SCHEMA_VERSIONS: readonly SchemaVersion[] = [
  {
    topic: 'dispatch.outcomes.v1',
    record: 'DispatchCompleted',
    version: 1,
    file: 'dispatch.outcomes.v1/DispatchCompleted.v1.avsc',
    schema: {"type":"record","name":"DispatchCompleted","namespace":"push.dispatch","doc":"Every targeted device of a dispatch has an outcome or was skipped; keyed by dispatch_id.","fields":[{"name":"dispatch_id","type":"string","doc":"The dispatch."},{"name":"workspace_id","type":"string","doc":"The customer workspace."},{"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"When the dispatch completed (epoch milliseconds)."},{"name":"targeted","type":"int","doc":"Devices considered."},{"name":"sent","type":"int","doc":"Devices sent to."},{"name":"bounced","type":"int","doc":"Devices whose token bounced."},{"name":"failed","type":"int","doc":"Devices that failed."},{"name":"skipped_unsubscribed","type":"int","doc":"Devices skipped: user unsubscribed."},{"name":"skipped_not_push_enabled","type":"int","doc":"Devices skipped: no sendable token for this push."},{"name":"skipped_suppressed","type":"int","doc":"Devices skipped: delivery suppressed (B1)."}]},
  },
  {
    topic: 'dispatch.outcomes.v1',
    record: 'PushBounced',
    version: 1,
    file: 'dispatch.outcomes.v1/PushBounced.v1.avsc',
    schema: {"type":"record","name":"PushBounced","namespace":"push.dispatch","doc":"The provider rejected the device's token.","fields":[{"name":"event_id","type":"string","doc":"Unique id of this outcome."},{"name":"dispatch_id","type":["null","string"],"default":null,"doc":"The dispatch it answers; null for bounces reported by outside senders."},{"name":"workspace_id","type":"string","doc":"The customer workspace."},{"name":"app_id","type":"string","doc":"The app."},{"name":"device_id","type":"string","doc":"The device."},{"name":"user_id","type":["null","string"],"default":null,"doc":"The device's user at send time, if any."},{"name":"platform","type":{"type":"enum","name":"push.sdk.Platform","symbols":["IOS","ANDROID","WEB"],"doc":"The device's push platform."},"doc":"The device's push platform."},{"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"When the provider answered (epoch milliseconds)."},{"name":"token","type":"string","doc":"The token that bounced."},{"name":"provider_reason","type":"string","doc":"The provider's own reason string (Unregistered, BadDeviceToken, messaging/registration-token-not-registered, 410, …)."},{"name":"provider_timestamp","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null,"doc":"APNs 410: when the token stopped being valid (epoch milliseconds)."}]},
  },
  {
    topic: 'dispatch.outcomes.v1',
    record: 'PushFailed',
    version: 1,
    file: 'dispatch.outcomes.v1/PushFailed.v1.avsc',
    schema: {"type":"record","name":"PushFailed","namespace":"push.dispatch","doc":"The push could not be delivered for a reason that is not the token's.","fields":[{"name":"event_id","type":"string","doc":"Unique id of this outcome."},{"name":"dispatch_id","type":["null","string"],"default":null,"doc":"The dispatch it answers; null for bounces reported by outside senders."},{"name":"workspace_id","type":"string","doc":"The customer workspace."},{"name":"app_id","type":"string","doc":"The app."},{"name":"device_id","type":"string","doc":"The device."},{"name":"user_id","type":["null","string"],"default":null,"doc":"The device's user at send time, if any."},{"name":"platform","type":{"type":"enum","name":"push.sdk.Platform","symbols":["IOS","ANDROID","WEB"],"doc":"The device's push platform."},"doc":"The device's push platform."},{"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"When the provider answered (epoch milliseconds)."},{"name":"reason","type":"string","doc":"What went wrong, in the provider's words where there are some."},{"name":"category","type":{"type":"enum","name":"FailureCategory","symbols":["RETRY_EXHAUSTED","CONFIGURATION","PAYLOAD"],"doc":"Why a push failed."},"doc":"The class of failure (D6)."}]},
  },
  {
    topic: 'dispatch.outcomes.v1',
    record: 'PushSent',
    version: 1,
    file: 'dispatch.outcomes.v1/PushSent.v1.avsc',
    schema: {"type":"record","name":"PushSent","namespace":"push.dispatch","doc":"The provider accepted the push for the device.","fields":[{"name":"event_id","type":"string","doc":"Unique id of this outcome."},{"name":"dispatch_id","type":["null","string"],"default":null,"doc":"The dispatch it answers; null for bounces reported by outside senders."},{"name":"workspace_id","type":"string","doc":"The customer workspace."},{"name":"app_id","type":"string","doc":"The app."},{"name":"device_id","type":"string","doc":"The device."},{"name":"user_id","type":["null","string"],"default":null,"doc":"The device's user at send time, if any."},{"name":"platform","type":{"type":"enum","name":"push.sdk.Platform","symbols":["IOS","ANDROID","WEB"],"doc":"The device's push platform."},"doc":"The device's push platform."},{"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"When the provider answered (epoch milliseconds)."},{"name":"provider_message_id","type":["null","string"],"default":null,"doc":"The provider's id of the message (FCM name, apns-id)."}]},
  },
  {
    topic: 'dispatch.requests.v1',
    record: 'DispatchRequested',
    version: 1,
    file: 'dispatch.requests.v1/DispatchRequested.v1.avsc',
    schema: {"type":"record","name":"DispatchRequested","namespace":"push.dispatch","doc":"The campaign service asks for a push to an audience.","fields":[{"name":"dispatch_id","type":"string","doc":"Unique id of the dispatch; also the message key. Redeliveries carry the same id."},{"name":"workspace_id","type":"string","doc":"The customer workspace."},{"name":"campaign_id","type":["null","string"],"default":null,"doc":"The campaign this dispatch belongs to, if any."},{"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"When the dispatch was requested (epoch milliseconds)."},{"name":"audience","type":[{"type":"record","name":"UserAudience","doc":"These users' eligible devices.","fields":[{"name":"user_ids","type":{"type":"array","items":"string"},"doc":"External ids of the users."}]},{"type":"record","name":"SegmentAudience","doc":"The users matching a segment filter (DESIGN §5).","fields":[{"name":"filter_json","type":"string","doc":"The filter expression as JSON."}]},{"type":"record","name":"DeviceAudience","doc":"One named device (transactional dispatches only).","fields":[{"name":"app_id","type":"string","doc":"The app."},{"name":"device_id","type":"string","doc":"The device."}]}],"doc":"Who to send to."},{"name":"message","type":{"type":"record","name":"PushMessage","doc":"What to send.","fields":[{"name":"title","type":["null","string"],"default":null,"doc":"Visible title."},{"name":"body","type":["null","string"],"default":null,"doc":"Visible body."},{"name":"data","type":{"type":"map","values":"string"},"doc":"Custom key/value data delivered with the push."},{"name":"silent","type":"boolean","doc":"A silent (background) push: no visible part, background-capable tokens only.","default":false},{"name":"ttl_seconds","type":["null","int"],"default":null,"doc":"How long the provider may hold the push for an offline device."},{"name":"collapse_key","type":["null","string"],"default":null,"doc":"Pushes with the same key replace each other on the device."},{"name":"priority","type":{"type":"enum","name":"Priority","symbols":["HIGH","NORMAL"],"doc":"Delivery priority."},"doc":"Delivery priority.","default":"HIGH"}]},"doc":"The push."},{"name":"options","type":{"type":"record","name":"DispatchOptions","doc":"How eligibility is decided.","fields":[{"name":"include_unsubscribed","type":"boolean","doc":"Ignore the subscription state (D2).","default":false},{"name":"transactional","type":"boolean","doc":"Ignore the subscription state and allow DeviceAudience (D2).","default":false},{"name":"last_active_device_only","type":"boolean","doc":"Per user, only the device with the latest session (D4).","default":false},{"name":"app_ids","type":{"type":"array","items":"string"},"doc":"Only these apps; empty means all apps.","default":[]}]},"doc":"Eligibility options."}]},
  },
  {
    topic: 'sdk.device-events.v1',
    record: 'AppUninstalled',
    version: 1,
    file: 'sdk.device-events.v1/AppUninstalled.v1.avsc',
    schema: {"type":"record","name":"AppUninstalled","namespace":"push.sdk","doc":"The platform or the gateway learned that the app was removed from the device.","fields":[{"name":"event_id","type":"string","doc":"Unique id of this event (UUID); redeliveries carry the same id."},{"name":"workspace_id","type":"string","doc":"The customer workspace."},{"name":"app_id","type":"string","doc":"The app (one per platform build) within the workspace."},{"name":"device_id","type":"string","doc":"The SDK's installation id of the app on one device."},{"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"When it happened on the device (epoch milliseconds)."}]},
  },
  {
    topic: 'sdk.device-events.v1',
    record: 'ChangeUser',
    version: 1,
    file: 'sdk.device-events.v1/ChangeUser.v1.avsc',
    schema: {"type":"record","name":"ChangeUser","namespace":"push.sdk","doc":"The SDK now attributes the device to user_id (login / identify).","fields":[{"name":"event_id","type":"string","doc":"Unique id of this event (UUID); redeliveries carry the same id."},{"name":"workspace_id","type":"string","doc":"The customer workspace."},{"name":"app_id","type":"string","doc":"The app (one per platform build) within the workspace."},{"name":"device_id","type":"string","doc":"The SDK's installation id of the app on one device."},{"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"When it happened on the device (epoch milliseconds)."},{"name":"user_id","type":"string","doc":"The user the device now belongs to."},{"name":"previous_user_id","type":["null","string"],"default":null,"doc":"The user the SDK attributed the device to before, if any."}]},
  },
  {
    topic: 'sdk.device-events.v1',
    record: 'PushPermissionChanged',
    version: 1,
    file: 'sdk.device-events.v1/PushPermissionChanged.v1.avsc',
    schema: {"type":"record","name":"PushPermissionChanged","namespace":"push.sdk","doc":"The OS notification permission changed while the app was running.","fields":[{"name":"event_id","type":"string","doc":"Unique id of this event (UUID); redeliveries carry the same id."},{"name":"workspace_id","type":"string","doc":"The customer workspace."},{"name":"app_id","type":"string","doc":"The app (one per platform build) within the workspace."},{"name":"device_id","type":"string","doc":"The SDK's installation id of the app on one device."},{"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"When it happened on the device (epoch milliseconds)."},{"name":"platform","type":{"type":"enum","name":"push.sdk.Platform","symbols":["IOS","ANDROID","WEB"],"doc":"The device's push platform."},"doc":"The device's push platform."},{"name":"os_version","type":["null","string"],"default":null,"doc":"OS version as reported, e.g. \"12\", \"13\", \"17.4\"."},{"name":"push_permission","type":{"type":"enum","name":"push.sdk.PushPermission","symbols":["AUTHORIZED","PROVISIONAL","DENIED","NOT_DETERMINED"],"doc":"The OS notification permission as the SDK saw it."},"doc":"The OS notification permission now."},{"name":"prompted","type":"boolean","doc":"True when this is the answer to an OS prompt, false when changed in settings."}]},
  },
  {
    topic: 'sdk.device-events.v1',
    record: 'SessionStarted',
    version: 1,
    file: 'sdk.device-events.v1/SessionStarted.v1.avsc',
    schema: {"type":"record","name":"SessionStarted","namespace":"push.sdk","doc":"The app was opened; carries the OS notification permission as it is now.","fields":[{"name":"event_id","type":"string","doc":"Unique id of this event (UUID); redeliveries carry the same id."},{"name":"workspace_id","type":"string","doc":"The customer workspace."},{"name":"app_id","type":"string","doc":"The app (one per platform build) within the workspace."},{"name":"device_id","type":"string","doc":"The SDK's installation id of the app on one device."},{"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"When it happened on the device (epoch milliseconds)."},{"name":"platform","type":{"type":"enum","name":"push.sdk.Platform","symbols":["IOS","ANDROID","WEB"],"doc":"The device's push platform."},"doc":"The device's push platform."},{"name":"os_version","type":["null","string"],"default":null,"doc":"OS version as reported, e.g. \"12\", \"13\", \"17.4\"."},{"name":"push_permission","type":{"type":"enum","name":"push.sdk.PushPermission","symbols":["AUTHORIZED","PROVISIONAL","DENIED","NOT_DETERMINED"],"doc":"The OS notification permission as the SDK saw it."},"doc":"The OS notification permission now."},{"name":"user_id","type":["null","string"],"default":null,"doc":"The identified user, null if the device is anonymous."}]},
  },
  {
    topic: 'sdk.device-events.v1',
    record: 'TokenRegistered',
    version: 1,
    file: 'sdk.device-events.v1/TokenRegistered.v1.avsc',
    schema: {"type":"record","name":"TokenRegistered","namespace":"push.sdk","doc":"The SDK obtained or refreshed the device's push token (it does this at every session start).","fields":[{"name":"event_id","type":"string","doc":"Unique id of this event (UUID); redeliveries carry the same id."},{"name":"workspace_id","type":"string","doc":"The customer workspace."},{"name":"app_id","type":"string","doc":"The app (one per platform build) within the workspace."},{"name":"device_id","type":"string","doc":"The SDK's installation id of the app on one device."},{"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"When it happened on the device (epoch milliseconds)."},{"name":"platform","type":{"type":"enum","name":"push.sdk.Platform","symbols":["IOS","ANDROID","WEB"],"doc":"The device's push platform."},"doc":"The device's push platform."},{"name":"token","type":"string","doc":"The push token; for WEB the JSON PushSubscription {\"endpoint\",\"keys\":{\"p256dh\",\"auth\"}}."},{"name":"os_version","type":["null","string"],"default":null,"doc":"OS version as reported, e.g. \"12\", \"13\", \"17.4\"."},{"name":"push_permission","type":{"type":"enum","name":"push.sdk.PushPermission","symbols":["AUTHORIZED","PROVISIONAL","DENIED","NOT_DETERMINED"],"doc":"The OS notification permission as the SDK saw it."},"doc":"The OS notification permission now."},{"name":"user_id","type":["null","string"],"default":null,"doc":"The identified user, null if the device is anonymous."}]},
  },
  {
    topic: 'sdk.device-events.v1',
    record: 'UserLoggedOut',
    version: 1,
    file: 'sdk.device-events.v1/UserLoggedOut.v1.avsc',
    schema: {"type":"record","name":"UserLoggedOut","namespace":"push.sdk","doc":"clearIdentify: the device is anonymous again.","fields":[{"name":"event_id","type":"string","doc":"Unique id of this event (UUID); redeliveries carry the same id."},{"name":"workspace_id","type":"string","doc":"The customer workspace."},{"name":"app_id","type":"string","doc":"The app (one per platform build) within the workspace."},{"name":"device_id","type":"string","doc":"The SDK's installation id of the app on one device."},{"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"When it happened on the device (epoch milliseconds)."},{"name":"user_id","type":["null","string"],"default":null,"doc":"The user who logged out, if the SDK knew it."}]},
  },
  {
    topic: 'sdk.user-events.v1',
    record: 'PushSubscriptionSet',
    version: 1,
    file: 'sdk.user-events.v1/PushSubscriptionSet.v1.avsc',
    schema: {"type":"record","name":"PushSubscriptionSet","namespace":"push.sdk","doc":"An explicit push subscription preference change of a user.","fields":[{"name":"event_id","type":"string","doc":"Unique id of this event (UUID); redeliveries carry the same id."},{"name":"workspace_id","type":"string","doc":"The customer workspace."},{"name":"user_id","type":"string","doc":"The user (external id)."},{"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"When the preference was set (epoch milliseconds)."},{"name":"state","type":{"type":"enum","name":"SubscriptionState","symbols":["SUBSCRIBED","OPTED_IN","UNSUBSCRIBED"],"doc":"A user's push subscription state."},"doc":"The new state."},{"name":"source","type":{"type":"enum","name":"SubscriptionSource","symbols":["SDK","REST","DASHBOARD"],"doc":"Where a preference change came from."},"doc":"Who set it."}]},
  },
];
