import type { DeviceFact } from './device-facts';
import { DeviceState, isNewer, unreachable } from './device-state';

type Capability = Pick<DeviceState, 'platform' | 'osVersion' | 'permission'>;

/** T5/T6: the permission seen at a registration, a session or a change is the device's permission from then on. */
function withCapability(state: DeviceState, at: number, seen: Capability): DeviceState {
  if (!isNewer(at, state.capabilityAsOf)) return state;
  return { ...state, platform: seen.platform, osVersion: seen.osVersion ?? state.osVersion, permission: seen.permission, capabilityAsOf: at };
}

/** T3/T4: the device belongs to this user (null: anonymous) from `at` on. */
function withUser(state: DeviceState, at: number, userId: string | null): DeviceState {
  if (!isNewer(at, state.userAsOf)) return state;
  return { ...state, userId, userAsOf: at };
}

/**
 * The device's state after one fact, per the token rules. Pure; every aspect is guarded by its own "as of" time (T9),
 * which also makes a duplicate (same event, same `occurred_at`) a no-op.
 */
export function evolve(state: DeviceState, fact: DeviceFact): DeviceState {
  switch (fact.type) {
    case 'TokenRegistered': {
      const seen = withUser(withCapability(state, fact.at, fact), fact.at, fact.userId);
      if (!isNewer(fact.at, seen.tokenAsOf)) return seen;
      // T1: the new registration replaces whatever the device held; T8: a tombstoned string is held but not sendable.
      return { ...seen, token: fact.token, tokenStatus: fact.staysInvalidated ? 'invalidated' : 'active', tokenAsOf: fact.at, tokenRegisteredAt: fact.at };
    }
    case 'SessionStarted': {
      const seen = withUser(withCapability(state, fact.at, fact), fact.at, fact.userId);
      return state.lastSessionAt !== null && state.lastSessionAt >= fact.at ? seen : { ...seen, lastSessionAt: fact.at };
    }
    case 'ChangeUser':
      return withUser(state, fact.at, fact.userId);
    case 'UserLoggedOut':
      return withUser(state, fact.at, null);
    case 'PushPermissionChanged':
      return withCapability(state, fact.at, fact);
    case 'AppUninstalled':
      // T7: the token goes; the device keeps its user and capability for the read model.
      if (!isNewer(fact.at, state.tokenAsOf)) return state;
      return { ...state, token: null, tokenStatus: state.tokenStatus === 'none' ? 'none' : 'removed', tokenAsOf: fact.at };
    case 'TokenInvalidated': {
      if (state.token !== fact.token || state.tokenStatus !== 'active') return state;
      // T8: Apple re-issues a token after its 410: a registration later than the 410 timestamp is a live token.
      const reissuedAfter410 = state.platform === 'IOS' && fact.providerTimestamp !== null && state.tokenRegisteredAt !== null && state.tokenRegisteredAt > fact.providerTimestamp;
      if (reissuedAfter410) return state;
      // The token aspect's time stays the registration's: a registration after the 410 timestamp but processed before
      // the bounce arrived is still judged by T8, not discarded as late.
      return { ...state, tokenStatus: 'invalidated' };
    }
    case 'TokenTakenOver':
      // T2: the token now belongs to another device of the app.
      if (state.token !== fact.token) return state;
      return { ...state, token: null, tokenStatus: 'removed', tokenAsOf: Math.max(fact.at, state.tokenAsOf ?? fact.at) };
    default:
      return unreachable(fact);
  }
}
