import type { DeviceTokenEvent, Platform, PushPermission, SdkUserEvent } from '@push/contracts';
import type { SubscriptionFact } from './subscription';

/** What subscription-state consumes: explicit preferences, and token-registry's device records. */
export type SubscriptionInput = SdkUserEvent | DeviceTokenEvent;

/** S3: does an authorization on this app opt its user in? The apps file's `opt_in_when_push_authorized`. */
export type AppOptInPolicy = (workspaceId: string, appId: string) => boolean;

/** Android 13 introduced the notification permission; below it an "authorized" device asked the user nothing. */
const ANDROID_PERMISSION_SINCE = 13;

/** An Android `os_version` without a leading number counts as 13+: a real permission, as token-registry's T5 does. */
function belowAndroid13(osVersion: string | null): boolean {
  const major = osVersion === null ? Number.NaN : Number.parseInt(osVersion, 10);
  return Number.isFinite(major) && major < ANDROID_PERMISSION_SINCE;
}

/**
 * S3 and its exceptions: an AUTHORIZED device opts its user in unless it is Android below 13 or its app's config says
 * `opt_in_when_push_authorized: false`. PROVISIONAL (and every other permission) does not.
 */
export function authorizationOptsIn(
  device: { workspaceId: string; appId: string; platform: Platform | null; osVersion: string | null },
  permission: PushPermission | null,
  appOptsIn: AppOptInPolicy,
): boolean {
  if (permission !== 'AUTHORIZED') return false;
  if (device.platform === 'ANDROID' && belowAndroid13(device.osVersion)) return false;
  return appOptsIn(device.workspaceId, device.appId);
}

/**
 * The fact an input event is for the subscription rules, or null when it has none. S3's moments: a device of the user
 * moves to AUTHORIZED (`PushCapabilityChanged` from any other or no permission: the prompt accepted, re-enabled in
 * settings, or the first registration already authorized), or an AUTHORIZED device is attached to the user
 * (`DeviceUserChanged`: the user logs in on it). Denials, disabling, token removals and detaches are no fact (S4).
 */
export function factOf(input: SubscriptionInput, appOptsIn: AppOptInPolicy): SubscriptionFact | null {
  switch (input.type) {
    case 'PushSubscriptionSet': {
      const d = input.data;
      const base = { workspaceId: d.workspace_id, userId: d.user_id, at: d.occurred_at, causeEventId: d.event_id };
      return { kind: 'Explicit', ...base, state: d.state, source: d.source };
    }
    case 'UserFirstSeen': {
      const d = input.data;
      return { kind: 'Seen', ...deviceBase(d, d.user_id) };
    }
    case 'PushCapabilityChanged': {
      const d = input.data;
      if (d.user_id === null || d.previous_push_permission === 'AUTHORIZED') return null;
      const device = { workspaceId: d.workspace_id, appId: d.app_id, platform: d.platform, osVersion: d.os_version };
      if (!authorizationOptsIn(device, d.push_permission, appOptsIn)) return null;
      return { kind: 'AutoOptIn', ...deviceBase(d, d.user_id) };
    }
    case 'DeviceUserChanged': {
      const d = input.data;
      if (d.user_id === null) return null;
      const device = { workspaceId: d.workspace_id, appId: d.app_id, platform: d.platform, osVersion: d.os_version };
      if (!authorizationOptsIn(device, d.push_permission, appOptsIn)) return null;
      return { kind: 'AutoOptIn', ...deviceBase(d, d.user_id) };
    }
    case 'TokenAssigned':
    case 'TokenReplaced':
    case 'TokenRenewed':
    case 'TokenRemoved':
    case 'DeviceSessionRecorded':
      return null;
  }
}

function deviceBase(
  d: { workspace_id: string; app_id: string; device_id: string; occurred_at: number; event_id: string },
  userId: string,
) {
  return {
    workspaceId: d.workspace_id,
    userId,
    at: d.occurred_at,
    causeEventId: d.event_id,
    appId: d.app_id,
    deviceId: d.device_id,
  };
}
