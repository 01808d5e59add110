import { type DeviceTokenEvent, type TokenRemovalReason, type UserChangeCause, unreachable } from '@push/contracts';
import type { DeviceFact } from './device-facts';
import { DeviceState, pushCapability, sendableToken } from './device-state';

/** The device an event is about and the input event that caused it. */
export interface Cause {
  workspaceId: string;
  appId: string;
  deviceId: string;
  causeEventId: string;
}

/** One fact applied to one device: its state before and after, and the input event that caused it. */
export interface DeviceChange {
  before: DeviceState;
  after: DeviceState;
  fact: DeviceFact;
  cause: Cause;
}

/** Every published event starts with these fields; `event_id` is filled in by `handle` once the order is known. */
type Header = Omit<Extract<DeviceTokenEvent, { type: 'TokenAssigned' }>['data'], 'token' | 'moved_from_device_id'>;

function header(cause: Cause, fact: DeviceFact, after: DeviceState): Header {
  return {
    event_id: '',
    cause_event_id: cause.causeEventId,
    workspace_id: cause.workspaceId,
    app_id: cause.appId,
    device_id: cause.deviceId,
    occurred_at: fact.at,
    platform: after.platform,
    user_id: after.userId,
  };
}

const capabilityChanged = (before: DeviceState, after: DeviceState): boolean =>
  after.permission !== null &&
  (before.platform !== after.platform ||
    before.osVersion !== after.osVersion ||
    before.permission !== after.permission);

function userChangeCause(fact: DeviceFact): UserChangeCause {
  if (fact.type === 'ChangeUser') return 'CHANGE_USER';
  if (fact.type === 'UserLoggedOut') return 'LOGGED_OUT';
  return 'SDK_REPORTED';
}

function removalReason(fact: DeviceFact): TokenRemovalReason {
  switch (fact.type) {
    case 'AppUninstalled':
      return 'UNINSTALLED';
    case 'TokenInvalidated':
      return 'INVALIDATED';
    case 'TokenTakenOver':
      return 'MOVED_TO_ANOTHER_DEVICE';
    case 'TokenRegistered':
      return 'SUPERSEDED_BY_INVALIDATED_TOKEN';
    case 'SessionStarted':
    case 'ChangeUser':
    case 'UserLoggedOut':
    case 'PushPermissionChanged':
      throw new Error(`${fact.type} cannot remove a token`);
    default:
      return unreachable(fact);
  }
}

/**
 * The events that tell downstream services what a change made to a device: the differences between its state before
 * and after, in the order capability, user, token, session. Pure; none when nothing they see changed. (Not a decider:
 * the token rules are applied by `evolve` already; this only describes their outcome.)
 */
export function publishedEventsOf({ before, after, fact, cause }: DeviceChange): DeviceTokenEvent[] {
  const head = header(cause, fact, after);
  const events: DeviceTokenEvent[] = [];

  if (capabilityChanged(before, after)) {
    const capability = pushCapability(after.platform, after.osVersion, after.permission);
    events.push({
      type: 'PushCapabilityChanged',
      data: {
        ...head,
        os_version: after.osVersion,
        push_permission: after.permission!,
        previous_push_permission: before.permission,
        prompted: fact.type === 'PushPermissionChanged' ? fact.prompted : null,
        foreground_enabled: capability.foregroundEnabled,
        background_enabled: capability.backgroundEnabled,
        provisional: capability.provisional,
      },
    });
  }

  const tokenBefore = sendableToken(before);
  const tokenAfter = sendableToken(after);
  if (before.userId !== after.userId) {
    events.push({
      type: 'DeviceUserChanged',
      data: {
        ...head,
        previous_user_id: before.userId,
        token: tokenBefore,
        cause: userChangeCause(fact),
        os_version: after.osVersion,
        push_permission: after.permission,
      },
    });
  }

  const takenFrom = fact.type === 'TokenRegistered' ? fact.takenFromDeviceId : null;
  if (tokenBefore === null && tokenAfter !== null) {
    events.push({ type: 'TokenAssigned', data: { ...head, token: tokenAfter, moved_from_device_id: takenFrom } });
  } else if (tokenBefore !== null && tokenAfter !== null && tokenBefore !== tokenAfter) {
    events.push({
      type: 'TokenReplaced',
      data: { ...head, token: tokenAfter, previous_token: tokenBefore, moved_from_device_id: takenFrom },
    });
  } else if (tokenBefore !== null && tokenAfter !== null && after.tokenRegisteredAt !== before.tokenRegisteredAt) {
    events.push({ type: 'TokenRenewed', data: { ...head, token: tokenAfter } });
  } else if (tokenBefore !== null && tokenAfter === null) {
    events.push({
      type: 'TokenRemoved',
      data: {
        ...head,
        token: tokenBefore,
        reason: removalReason(fact),
        moved_to_device_id: fact.type === 'TokenTakenOver' ? fact.byDeviceId : null,
        provider_reason: fact.type === 'TokenInvalidated' ? fact.providerReason : null,
      },
    });
  }

  if (after.lastSessionAt !== before.lastSessionAt) events.push({ type: 'DeviceSessionRecorded', data: head });
  return events;
}
