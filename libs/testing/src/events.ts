import { randomUUID } from 'node:crypto';
import type {
  DeliveryStatus,
  DispatchOptions,
  DispatchRequestEvent,
  DispatchRequested,
  DeviceDeliveryEvent,
  DeviceTokenEvent,
  DispatchOutcomeEvent,
  FailureCategory,
  Platform,
  PushMessage,
  PushPermission,
  SdkDeviceEvent,
  SdkUserEvent,
  SubscriptionSource,
  SubscriptionState,
  TokenRemovalReason,
  UserSubscriptionEvent,
} from '@push/contracts';

export interface DeviceRef {
  workspace_id: string;
  app_id: string;
  device_id: string;
}

const base = (device: DeviceRef, occurred_at: number) => ({ event_id: randomUUID(), ...device, occurred_at });

/** Builders of valid SDK device events for tests and benchmarks. */
export const deviceEvents = {
  tokenRegistered(
    device: DeviceRef,
    at: number,
    token: string,
    options: {
      platform?: Platform;
      permission?: PushPermission;
      os_version?: string | null;
      user_id?: string | null;
    } = {},
  ): SdkDeviceEvent {
    return {
      type: 'TokenRegistered',
      data: {
        ...base(device, at),
        platform: options.platform ?? 'IOS',
        token,
        os_version: options.os_version ?? '17.4',
        push_permission: options.permission ?? 'AUTHORIZED',
        user_id: options.user_id ?? null,
      },
    };
  },
  sessionStarted(
    device: DeviceRef,
    at: number,
    options: {
      platform?: Platform;
      permission?: PushPermission;
      os_version?: string | null;
      user_id?: string | null;
    } = {},
  ): SdkDeviceEvent {
    return {
      type: 'SessionStarted',
      data: {
        ...base(device, at),
        platform: options.platform ?? 'IOS',
        os_version: options.os_version ?? '17.4',
        push_permission: options.permission ?? 'AUTHORIZED',
        user_id: options.user_id ?? null,
      },
    };
  },
  changeUser(device: DeviceRef, at: number, user_id: string, previous_user_id: string | null = null): SdkDeviceEvent {
    return { type: 'ChangeUser', data: { ...base(device, at), user_id, previous_user_id } };
  },
  userLoggedOut(device: DeviceRef, at: number, user_id: string | null = null): SdkDeviceEvent {
    return { type: 'UserLoggedOut', data: { ...base(device, at), user_id } };
  },
  pushPermissionChanged(
    device: DeviceRef,
    at: number,
    permission: PushPermission,
    options: { platform?: Platform; os_version?: string | null; prompted?: boolean } = {},
  ): SdkDeviceEvent {
    return {
      type: 'PushPermissionChanged',
      data: {
        ...base(device, at),
        platform: options.platform ?? 'IOS',
        os_version: options.os_version ?? '17.4',
        push_permission: permission,
        prompted: options.prompted ?? true,
      },
    };
  },
  appUninstalled(device: DeviceRef, at: number): SdkDeviceEvent {
    return { type: 'AppUninstalled', data: base(device, at) };
  },
};

/** Builders of bounce-processor's device delivery events. */
export const deliveryEvents = {
  /** bounce-processor's B1 status change of a device (an ANDROID device of no user unless told). */
  deliveryStatusChanged(
    device: DeviceRef,
    at: number,
    status: DeliveryStatus,
    previous_status: DeliveryStatus,
    options: { platform?: Platform; user_id?: string | null } = {},
  ): DeviceDeliveryEvent {
    return {
      type: 'DeliveryStatusChanged',
      data: {
        ...base(device, at),
        cause_event_id: randomUUID(),
        platform: options.platform ?? 'ANDROID',
        user_id: options.user_id ?? null,
        status,
        previous_status,
        consecutive_bounces: status === 'SUPPRESSED' ? 2 : status === 'BOUNCED' ? 1 : 0,
        cause: status === 'UNUSED' ? 'TOKEN_REGISTERED' : status === 'SENT' ? 'PUSH_SENT' : 'PUSH_BOUNCED',
        provider_reason: null,
        dispatch_id: null,
      },
    };
  },
  tokenInvalidated(
    device: DeviceRef,
    at: number,
    token: string,
    options: { platform?: Platform; provider_reason?: string; provider_timestamp?: number | null } = {},
  ): DeviceDeliveryEvent {
    return {
      type: 'TokenInvalidated',
      data: {
        ...base(device, at),
        bounce_event_id: null,
        platform: options.platform ?? 'IOS',
        token,
        provider_reason: options.provider_reason ?? 'Unregistered',
        provider_timestamp: options.provider_timestamp ?? null,
      },
    };
  },
};

/** Builders of SDK user events (`sdk.user-events.v1`). */
/** Builders of subscription-state's published records (`subscription-state.user-subscriptions.v1`). */
export const subscriptionEvents = {
  /** A user's state changed (FIRST_SEEN when there was none before, REST otherwise); `opted_in_at` at OPTED_IN. */
  stateChanged(
    user: { workspace_id: string; user_id: string },
    at: number,
    state: SubscriptionState,
    previous_state: SubscriptionState | null = null,
  ): UserSubscriptionEvent {
    return {
      type: 'SubscriptionStateChanged',
      data: {
        event_id: randomUUID(),
        cause_event_id: randomUUID(),
        workspace_id: user.workspace_id,
        user_id: user.user_id,
        occurred_at: at,
        previous_state,
        state,
        source: previous_state === null ? 'FIRST_SEEN' : 'REST',
        opted_in_at: state === 'OPTED_IN' ? at : null,
        app_id: null,
        device_id: null,
      },
    };
  },
};

export const userEvents = {
  pushSubscriptionSet(
    user: { workspace_id: string; user_id: string },
    at: number,
    state: SubscriptionState,
    source: SubscriptionSource = 'SDK',
  ): SdkUserEvent {
    return {
      type: 'PushSubscriptionSet',
      data: {
        event_id: randomUUID(),
        workspace_id: user.workspace_id,
        user_id: user.user_id,
        occurred_at: at,
        state,
        source,
      },
    };
  },
};

/** The header of a token-registry record: a fresh `event_id` and `cause_event_id`, the device, an iOS platform. */
const tokenRegistryBase = (device: DeviceRef, at: number, platform: Platform | null, user_id: string | null) => ({
  event_id: randomUUID(),
  cause_event_id: randomUUID(),
  ...device,
  occurred_at: at,
  platform,
  user_id,
});

/** Builders of token-registry's published records (`token-registry.device-tokens.v1`), for its consumers' tests. */
export const deviceTokenEvents = {
  userFirstSeen(device: DeviceRef, at: number, user_id: string, platform: Platform = 'IOS'): DeviceTokenEvent {
    return { type: 'UserFirstSeen', data: { ...tokenRegistryBase(device, at, platform, user_id), user_id } };
  },
  /** Defaults: an iOS 17.4 device of no user, AUTHORIZED from nothing known (its first capability), prompted. */
  pushCapabilityChanged(
    device: DeviceRef,
    at: number,
    options: {
      user_id?: string | null;
      platform?: Platform;
      os_version?: string | null;
      permission?: PushPermission;
      previous_permission?: PushPermission | null;
      prompted?: boolean | null;
    } = {},
  ): DeviceTokenEvent {
    const platform = options.platform ?? 'IOS';
    const permission = options.permission ?? 'AUTHORIZED';
    return {
      type: 'PushCapabilityChanged',
      data: {
        ...tokenRegistryBase(device, at, platform, options.user_id ?? null),
        os_version: options.os_version === undefined ? '17.4' : options.os_version,
        push_permission: permission,
        previous_push_permission: options.previous_permission ?? null,
        prompted: options.prompted === undefined ? true : options.prompted,
        // What token-registry's T5 would say, roughly: these builders feed consumers, which never re-derive it.
        foreground_enabled: permission === 'AUTHORIZED' || (platform === 'IOS' && permission === 'PROVISIONAL'),
        background_enabled: platform !== 'WEB',
        provisional: platform === 'IOS' && permission === 'PROVISIONAL',
      },
    };
  },
  /** The device now holds a sendable token (of an iOS device unless told). */
  tokenAssigned(
    device: DeviceRef,
    at: number,
    token: string,
    options: { platform?: Platform; user_id?: string | null } = {},
  ): DeviceTokenEvent {
    return {
      type: 'TokenAssigned',
      data: {
        ...tokenRegistryBase(device, at, options.platform ?? 'IOS', options.user_id ?? null),
        token,
        moved_from_device_id: null,
      },
    };
  },
  /** The device lost its sendable token (uninstalled unless told). */
  tokenRemoved(
    device: DeviceRef,
    at: number,
    token: string,
    options: { platform?: Platform; user_id?: string | null; reason?: TokenRemovalReason } = {},
  ): DeviceTokenEvent {
    return {
      type: 'TokenRemoved',
      data: {
        ...tokenRegistryBase(device, at, options.platform ?? 'IOS', options.user_id ?? null),
        token,
        reason: options.reason ?? 'UNINSTALLED',
        moved_to_device_id: null,
        provider_reason: null,
      },
    };
  },
  /** The app was opened on the device: a session newer than any before (D4: the user's last active device). */
  deviceSessionRecorded(
    device: DeviceRef,
    at: number,
    options: { platform?: Platform; user_id?: string | null } = {},
  ): DeviceTokenEvent {
    return {
      type: 'DeviceSessionRecorded',
      data: tokenRegistryBase(device, at, options.platform ?? 'IOS', options.user_id ?? null),
    };
  },
  /** The device registered its current token again (B2). */
  tokenRenewed(
    device: DeviceRef,
    at: number,
    token: string,
    options: { platform?: Platform; user_id?: string | null } = {},
  ): Extract<DeviceTokenEvent, { type: 'TokenRenewed' }> {
    return {
      type: 'TokenRenewed',
      data: { ...tokenRegistryBase(device, at, options.platform ?? 'IOS', options.user_id ?? null), token },
    };
  },
  /** Defaults: an iOS 17.4 device whose permission is AUTHORIZED, attached to `user_id` by a ChangeUser. */
  deviceUserChanged(
    device: DeviceRef,
    at: number,
    user_id: string | null,
    options: {
      previous_user_id?: string | null;
      platform?: Platform | null;
      os_version?: string | null;
      permission?: PushPermission | null;
      token?: string | null;
    } = {},
  ): DeviceTokenEvent {
    return {
      type: 'DeviceUserChanged',
      data: {
        ...tokenRegistryBase(device, at, options.platform === undefined ? 'IOS' : options.platform, user_id),
        previous_user_id: options.previous_user_id ?? null,
        token: options.token ?? null,
        cause: user_id === null ? 'LOGGED_OUT' : 'CHANGE_USER',
        os_version: options.os_version === undefined ? '17.4' : options.os_version,
        push_permission: options.permission === undefined ? 'AUTHORIZED' : options.permission,
      },
    };
  },
};

/** Builders of provider outcomes (`dispatch.outcomes.v1`): an iOS device, a dispatch `d1`, unless told otherwise. */
export const outcomeEvents = {
  pushSent(
    device: DeviceRef,
    at: number,
    options: { platform?: Platform; user_id?: string | null; dispatch_id?: string | null } = {},
  ): Extract<DispatchOutcomeEvent, { type: 'PushSent' }> {
    return {
      type: 'PushSent',
      data: { ...outcomeBase(device, at, options), provider_message_id: null },
    };
  },
  pushBounced(
    device: DeviceRef,
    at: number,
    token: string,
    provider_reason: string,
    options: {
      platform?: Platform;
      user_id?: string | null;
      dispatch_id?: string | null;
      provider_timestamp?: number | null;
    } = {},
  ): Extract<DispatchOutcomeEvent, { type: 'PushBounced' }> {
    return {
      type: 'PushBounced',
      data: {
        ...outcomeBase(device, at, options),
        token,
        provider_reason,
        provider_timestamp: options.provider_timestamp ?? null,
      },
    };
  },
  pushFailed(
    device: DeviceRef,
    at: number,
    reason: string,
    category: FailureCategory,
    options: { platform?: Platform; user_id?: string | null; dispatch_id?: string | null } = {},
  ): Extract<DispatchOutcomeEvent, { type: 'PushFailed' }> {
    return { type: 'PushFailed', data: { ...outcomeBase(device, at, options), reason, category } };
  },
  /** A dispatch's completion with its counts (zero unless told): `targeted` is the sum of the others unless given. */
  dispatchCompleted(
    dispatch_id: string,
    workspace_id: string,
    at: number,
    counts: Partial<
      Omit<
        Extract<DispatchOutcomeEvent, { type: 'DispatchCompleted' }>['data'],
        'dispatch_id' | 'workspace_id' | 'occurred_at'
      >
    > = {},
  ): Extract<DispatchOutcomeEvent, { type: 'DispatchCompleted' }> {
    const c = {
      sent: 0,
      bounced: 0,
      failed: 0,
      skipped_unsubscribed: 0,
      skipped_not_push_enabled: 0,
      skipped_suppressed: 0,
      ...counts,
    };
    const targeted =
      counts.targeted ??
      c.sent + c.bounced + c.failed + c.skipped_unsubscribed + c.skipped_not_push_enabled + c.skipped_suppressed;
    return {
      type: 'DispatchCompleted',
      data: { dispatch_id, workspace_id, occurred_at: at, ...c, targeted },
    };
  },
};

const outcomeBase = (
  device: DeviceRef,
  at: number,
  options: { platform?: Platform; user_id?: string | null; dispatch_id?: string | null },
) => ({
  ...base(device, at),
  dispatch_id: options.dispatch_id === undefined ? 'd1' : options.dispatch_id,
  user_id: options.user_id ?? null,
  platform: options.platform ?? 'IOS',
});

/** An audience of `dispatchEvents.dispatchRequested`, without Avro's namespaced union wrapper. */
export type DispatchAudienceSpec =
  { user_ids: string[] } | { filter_json: string } | { app_id: string; device_id: string };

/** Builders of dispatch requests (`dispatch.requests.v1`), as the campaign service publishes them. */
export const dispatchEvents = {
  /**
   * A `DispatchRequested` of `workspace_id` to `audience`; defaults: a visible push ("Hello" / "World", no data,
   * HIGH priority), default options (D1 eligibility, every app), no campaign, `occurred_at` now.
   */
  dispatchRequested(
    dispatch_id: string,
    workspace_id: string,
    audience: DispatchAudienceSpec,
    options: { message?: Partial<PushMessage>; options?: Partial<DispatchOptions>; at?: number } = {},
  ): DispatchRequestEvent {
    const record: DispatchRequested['audience'] =
      'user_ids' in audience
        ? { 'push.dispatch.UserAudience': { user_ids: audience.user_ids } }
        : 'filter_json' in audience
          ? { 'push.dispatch.SegmentAudience': { filter_json: audience.filter_json } }
          : { 'push.dispatch.DeviceAudience': { app_id: audience.app_id, device_id: audience.device_id } };
    return {
      type: 'DispatchRequested',
      data: {
        dispatch_id,
        workspace_id,
        campaign_id: null,
        occurred_at: options.at ?? Date.now(),
        audience: record,
        message: {
          title: 'Hello',
          body: 'World',
          data: {},
          silent: false,
          ttl_seconds: null,
          collapse_key: null,
          priority: 'HIGH',
          ...options.message,
        },
        options: {
          include_unsubscribed: false,
          transactional: false,
          last_active_device_only: false,
          app_ids: [],
          ...options.options,
        },
      },
    };
  },
};
