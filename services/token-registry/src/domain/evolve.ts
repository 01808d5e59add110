import { unreachable } from '@push/contracts';
import type { DeviceFact } from './device-facts';
import { AppliedEvent, DeviceState, isNewer } from './device-state';

type Capability = Pick<DeviceState, 'platform' | 'osVersion' | 'permission'>;
type Guarded = { at: number; eventId: string };

/** T5/T6: the permission seen at a registration, a session or a change is the device's permission from then on. */
function withCapability(state: DeviceState, event: Guarded, seen: Capability): DeviceState {
  if (!isNewer(state, state.capabilityAsOf, event.at, event.eventId)) return state;
  return {
    ...state,
    platform: seen.platform,
    osVersion: seen.osVersion ?? state.osVersion,
    permission: seen.permission,
    capabilityAsOf: event.at,
  };
}

/** T3/T4: the device belongs to this user (null: anonymous) from `at` on. */
function withUser(state: DeviceState, event: Guarded, userId: string | null): DeviceState {
  if (!isNewer(state, state.userAsOf, event.at, event.eventId)) return state;
  return { ...state, userId, userAsOf: event.at };
}

const byTimeAndId = (a: AppliedEvent, b: AppliedEvent) =>
  a.at - b.at || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);

/**
 * T9: `state` with `event` remembered among the events applied at the aspects' current times, and the events of
 * times no aspect has any more forgotten (an event of an older millisecond is late whatever its id). Sorted, so that
 * the same events give the same state in any order.
 */
function remembering(state: DeviceState, event: Guarded): DeviceState {
  const times = [state.capabilityAsOf, state.userAsOf, state.tokenAsOf];
  const applied = state.appliedAsOf.filter((e) => times.includes(e.at) && e.eventId !== event.eventId);
  if (times.includes(event.at)) applied.push({ at: event.at, eventId: event.eventId });
  return { ...state, appliedAsOf: applied.sort(byTimeAndId) };
}

/**
 * The device's state after one fact, per the token rules. Pure; every aspect is guarded by its own "as of" time (T9):
 * late events change nothing, events of the same millisecond apply in the order they come, and a duplicate (an event
 * applied before, same `event_id`) changes nothing.
 */
export function evolve(state: DeviceState, fact: DeviceFact): DeviceState {
  const after = applied(state, fact);
  return after === state || !('eventId' in fact) ? after : remembering(after, fact);
}

function applied(state: DeviceState, fact: DeviceFact): DeviceState {
  switch (fact.type) {
    case 'TokenRegistered': {
      const seen = withUser(withCapability(state, fact, fact), fact, fact.userId);
      if (!isNewer(state, seen.tokenAsOf, fact.at, fact.eventId)) return seen;
      // T1: the new registration replaces whatever the device held; T8: a tombstoned string is held but not sendable.
      return {
        ...seen,
        token: fact.token,
        tokenStatus: fact.staysInvalidated ? 'invalidated' : 'active',
        tokenAsOf: fact.at,
        tokenRegisteredAt: fact.at,
      };
    }
    case 'SessionStarted': {
      const seen = withUser(withCapability(state, fact, fact), fact, fact.userId);
      return state.lastSessionAt !== null && state.lastSessionAt >= fact.at
        ? seen
        : { ...seen, lastSessionAt: fact.at };
    }
    case 'ChangeUser':
      return withUser(state, fact, fact.userId);
    case 'UserLoggedOut':
      return withUser(state, fact, null);
    case 'PushPermissionChanged':
      return withCapability(state, fact, fact);
    case 'AppUninstalled':
      // T7: the token goes; the device keeps its user and capability for the read model.
      if (!isNewer(state, state.tokenAsOf, fact.at, fact.eventId)) return state;
      return {
        ...state,
        token: null,
        tokenStatus: state.tokenStatus === 'none' ? 'none' : 'removed',
        tokenAsOf: fact.at,
      };
    case 'TokenInvalidated': {
      if (state.token !== fact.token || state.tokenStatus !== 'active') return state;
      // T8: Apple re-issues a token after its 410: a registration later than the 410 timestamp is a live token.
      const reissuedAfter410 =
        state.platform === 'IOS' &&
        fact.providerTimestamp !== null &&
        state.tokenRegisteredAt !== null &&
        state.tokenRegisteredAt > fact.providerTimestamp;
      if (reissuedAfter410) return state;
      // The token aspect's time stays the registration's: a registration after the 410 timestamp but processed before
      // the bounce arrived is still judged by T8, not discarded as late.
      return { ...state, tokenStatus: 'invalidated' };
    }
    case 'TokenTakenOver':
      // T2: the token now belongs to another device of the app. The token aspect's time stays that of this device's
      // own last token event: a registration of another token here, older than the takeover but newer than that,
      // still applies when it arrives late, as it would have in occurred_at order.
      if (state.token !== fact.token) return state;
      return { ...state, token: null, tokenStatus: 'removed' };
    default:
      return unreachable(fact);
  }
}
