import { randomUUID } from 'node:crypto';
import type { DeviceDeliveryEvent, Platform, PushPermission, SdkDeviceEvent } from '@push/contracts';

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
