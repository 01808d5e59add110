import {
  type DeviceDeliveryEvent,
  type DeviceTokenEvent,
  type SdkDeviceEvent,
  deterministicEventId,
  unreachable,
} from '@push/contracts';
import type { DeviceFact } from './device-facts';
import { DeviceState, isNewer, unknownDevice } from './device-state';
import { Cause, publishedEventsOf } from './published-events';
import { evolve } from './evolve';

/** What token-registry consumes. */
export type TokenRegistryInput = SdkDeviceEvent | DeviceDeliveryEvent;

export interface DeviceRef {
  workspaceId: string;
  appId: string;
  deviceId: string;
  /** The device's map key, computed once per reference: a batch looks each device up several times. */
  key?: string;
}

/** T8: a token string a provider declared invalid. */
export interface Tombstone {
  providerReason: string;
  /** APNs 410 timestamp: registrations after it are re-issued tokens. */
  providerTimestamp: number | null;
  invalidatedAt: number;
}

/**
 * T2: a token string's latest registration by any device of the app (latest by `occurred_at`, then by `event_id`). It
 * outlives its device letting the token go (another token, an uninstall), so that a registration older than it, from
 * another device and arriving later, still loses the token as it would have in `occurred_at` order.
 */
export interface TokenRegistration {
  deviceId: string;
  at: number;
  eventId: string;
}

/** A token string of an app with its latest registration (T2), as the registry lists the ones a batch changed. */
export interface RegisteredToken {
  workspaceId: string;
  appId: string;
  token: string;
  registration: TokenRegistration;
}

/**
 * T2/T9 across devices: does registration `a` come after `b`? Later `occurred_at`; in the same millisecond (two devices'
 * partitions, whose relative order the log does not fix) the greater `event_id`, so that the outcome is the log's and
 * not the order token-registry happens to apply the partitions in.
 */
export const registeredAfter = (a: Omit<TokenRegistration, 'deviceId'>, b: TokenRegistration): boolean =>
  a.at > b.at || (a.at === b.at && a.eventId > b.eventId);

/** A token string of an app with its tombstone (T8), as the registry lists the ones a batch changed. */
export interface TombstonedToken {
  workspaceId: string;
  appId: string;
  token: string;
  tombstone: Tombstone;
}

const SEP = '\u0000';
export const deviceKey = (ref: DeviceRef): string =>
  (ref.key ??= `${ref.workspaceId}${SEP}${ref.appId}${SEP}${ref.deviceId}`);
const tokenKey = (workspaceId: string, appId: string, token: string) => `${workspaceId}${SEP}${appId}${SEP}${token}`;
const userKey = (workspaceId: string, userId: string) => `${workspaceId}${SEP}${userId}`;

/**
 * bounce-processor's records that token-registry does not apply: delivery status, uninstall and B4 flags are for its
 * other consumers; only `TokenInvalidated` is T8's. They change nothing here and are never dead-lettered.
 */
const IGNORED_DELIVERY_RECORDS: Readonly<Record<Exclude<DeviceDeliveryEvent['type'], 'TokenInvalidated'>, true>> = {
  DeliveryStatusChanged: true,
  UninstallDetected: true,
  AppProviderFlagged: true,
  AppProviderCleared: true,
};

export const isIgnoredInput = (input: TokenRegistryInput): boolean =>
  Object.hasOwn(IGNORED_DELIVERY_RECORDS, input.type);

/** The user an event names as its device's user (S1 counts these sightings); null when it names none. */
export function namedUser(input: TokenRegistryInput): string | null {
  return input.type === 'TokenRegistered' || input.type === 'SessionStarted' || input.type === 'ChangeUser'
    ? input.data.user_id
    : null;
}

/** T8: may this registration make a tombstoned token sendable? Only on APNs, after the 410 timestamp. */
export function staysInvalidated(
  tombstone: Tombstone | undefined,
  platform: DeviceState['platform'],
  registeredAt: number,
): boolean {
  if (!tombstone) return false;
  return !(platform === 'IOS' && tombstone.providerTimestamp !== null && registeredAt > tombstone.providerTimestamp);
}

/**
 * The part of the registry that a batch of events touches: device states, which device holds each token (T2), the
 * tombstones (T8) and the users already seen (S1). The projection loads it from Postgres, `handle` applies events to it
 * (pure, in memory) and the projection writes back what `changed` lists. Unit tests use it directly.
 */
export class TokenRegistry {
  private readonly devices = new Map<string, { ref: DeviceRef; state: DeviceState }>();
  private readonly holders = new Map<string, string>();
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly registrations = new Map<string, TokenRegistration>();
  private readonly seenUsers = new Set<string>();
  readonly changed = {
    devices: new Map<string, DeviceRef>(),
    tombstones: new Map<string, TombstonedToken>(),
    registrations: new Map<string, RegisteredToken>(),
  };

  putDevice(ref: DeviceRef, state: DeviceState): void {
    this.setDevice(ref, state);
  }

  putTombstone(workspaceId: string, appId: string, token: string, tombstone: Tombstone): void {
    this.tombstones.set(tokenKey(workspaceId, appId, token), tombstone);
  }

  putRegistration(workspaceId: string, appId: string, token: string, registration: TokenRegistration): void {
    this.registrations.set(tokenKey(workspaceId, appId, token), registration);
  }

  registration(workspaceId: string, appId: string, token: string): TokenRegistration | undefined {
    return this.registrations.get(tokenKey(workspaceId, appId, token));
  }

  putSeenUser(workspaceId: string, userId: string): void {
    this.seenUsers.add(userKey(workspaceId, userId));
  }

  device(ref: DeviceRef): DeviceState {
    return this.devices.get(deviceKey(ref))?.state ?? unknownDevice;
  }

  knowsDevice(ref: DeviceRef): boolean {
    return this.devices.has(deviceKey(ref));
  }

  tombstone(workspaceId: string, appId: string, token: string): Tombstone | undefined {
    return this.tombstones.get(tokenKey(workspaceId, appId, token));
  }

  /** Applies one consumed event; returns the events to publish, in order, with their deterministic ids. */
  handle(input: TokenRegistryInput): DeviceTokenEvent[] {
    if (isIgnoredInput(input)) return [];
    const { data } = input;
    const ref: DeviceRef = { workspaceId: data.workspace_id, appId: data.app_id, deviceId: data.device_id };
    const events = [...this.firstSightings(input, ref), ...this.apply(input, ref)];
    // The same cause always yields the same ids; the counter tells apart two records of one type for one device.
    const seen = new Map<string, number>();
    for (const event of events) {
      const name = `${event.data.device_id}${SEP}${event.type}`;
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      event.data.event_id = deterministicEventId(data.event_id, event.data.device_id, event.type, String(n));
    }
    return events;
  }

  private apply(input: TokenRegistryInput, ref: DeviceRef): DeviceTokenEvent[] {
    const cause = (device: DeviceRef): Cause => ({ ...device, causeEventId: input.data.event_id });
    const at = input.data.occurred_at;
    const eventId = input.data.event_id;
    switch (input.type) {
      case 'TokenRegistered':
        return this.register(input.data, ref, cause);
      case 'SessionStarted': {
        const d = input.data;
        return this.step(
          ref,
          {
            type: 'SessionStarted',
            at,
            eventId,
            platform: d.platform,
            osVersion: d.os_version,
            permission: d.push_permission,
            userId: d.user_id,
          },
          cause(ref),
        );
      }
      case 'ChangeUser':
        return this.step(ref, { type: 'ChangeUser', at, eventId, userId: input.data.user_id }, cause(ref));
      case 'UserLoggedOut':
        return this.step(ref, { type: 'UserLoggedOut', at, eventId }, cause(ref));
      case 'PushPermissionChanged': {
        const d = input.data;
        return this.step(
          ref,
          {
            type: 'PushPermissionChanged',
            at,
            eventId,
            platform: d.platform,
            osVersion: d.os_version,
            permission: d.push_permission,
            prompted: d.prompted,
          },
          cause(ref),
        );
      }
      case 'AppUninstalled':
        return this.step(ref, { type: 'AppUninstalled', at, eventId }, cause(ref));
      case 'TokenInvalidated':
        return this.invalidate(input.data, cause);
      case 'DeliveryStatusChanged':
      case 'UninstallDetected':
      case 'AppProviderFlagged':
      case 'AppProviderCleared':
        return [];
      default:
        return unreachable(input);
    }
  }

  /** T1, T2, T8. */
  private register(
    data: Extract<TokenRegistryInput, { type: 'TokenRegistered' }>['data'],
    ref: DeviceRef,
    cause: (device: DeviceRef) => Cause,
  ): DeviceTokenEvent[] {
    const at = data.occurred_at;
    const fact: Extract<DeviceFact, { type: 'TokenRegistered' }> = {
      type: 'TokenRegistered',
      at,
      eventId: data.event_id,
      platform: data.platform,
      osVersion: data.os_version,
      permission: data.push_permission,
      userId: data.user_id,
      token: data.token,
      staysInvalidated: staysInvalidated(this.tombstone(ref.workspaceId, ref.appId, data.token), data.platform, at),
      takenFromDeviceId: null,
    };
    const key = tokenKey(ref.workspaceId, ref.appId, data.token);
    const holderId = this.holders.get(key);
    const device = this.device(ref);
    if (!isNewer(device, device.tokenAsOf, at, data.event_id)) return this.step(ref, fact, cause(ref));

    // The token's latest registration by another device, whether that device still holds it or let it go since. A
    // holder without a stored registration (a read model from before they were kept) counts as registered when its
    // token aspect was last set, before any registration of that millisecond.
    const holderState = holderId === undefined ? undefined : this.device({ ...ref, deviceId: holderId });
    const latest =
      this.registrations.get(key) ??
      (holderId === undefined || holderState?.tokenAsOf == null
        ? undefined
        : { deviceId: holderId, at: holderState.tokenAsOf, eventId: '' });
    const byOther = latest !== undefined && latest.deviceId !== ref.deviceId ? latest : undefined;

    if (byOther === undefined || registeredAfter({ at, eventId: data.event_id }, byOther)) {
      const registration = { deviceId: ref.deviceId, at, eventId: data.event_id };
      this.registrations.set(key, registration);
      this.changed.registrations.set(key, {
        workspaceId: ref.workspaceId,
        appId: ref.appId,
        token: data.token,
        registration,
      });
      if (holderId === undefined || holderId === ref.deviceId) return this.step(ref, fact, cause(ref));
      // The token moved here: the previous holder loses it first, so that it is never on two devices.
      const holder: DeviceRef = { workspaceId: ref.workspaceId, appId: ref.appId, deviceId: holderId };
      const lost = this.step(
        holder,
        { type: 'TokenTakenOver', at, token: data.token, byDeviceId: ref.deviceId },
        cause(holder),
      );
      return [...lost, ...this.step(ref, { ...fact, takenFromDeviceId: holderId }, cause(ref))];
    }
    // A late registration: another device registered the token after it (and may have let it go since). T1 still
    // applies (this device's previous token was replaced then), and the token then moved on (T2).
    const replaced = this.step(ref, fact, cause(ref));
    const movedOn = this.step(
      ref,
      { type: 'TokenTakenOver', at: byOther.at, token: data.token, byDeviceId: byOther.deviceId },
      cause(ref),
    );
    if (holderId !== undefined) this.holders.set(key, holderId);
    return [...replaced, ...movedOn];
  }

  /** T8: tombstone the token string and remove it from whichever device of the app holds it now. */
  private invalidate(
    data: Extract<TokenRegistryInput, { type: 'TokenInvalidated' }>['data'],
    cause: (device: DeviceRef) => Cause,
  ): DeviceTokenEvent[] {
    const key = tokenKey(data.workspace_id, data.app_id, data.token);
    const tombstone = tombstoneAfter(this.tombstones.get(key), {
      providerReason: data.provider_reason,
      providerTimestamp: data.provider_timestamp,
      invalidatedAt: data.occurred_at,
    });
    this.tombstones.set(key, tombstone);
    this.changed.tombstones.set(key, {
      workspaceId: data.workspace_id,
      appId: data.app_id,
      token: data.token,
      tombstone,
    });

    const holderId = this.holders.get(key);
    if (holderId === undefined) return [];
    const holder: DeviceRef = { workspaceId: data.workspace_id, appId: data.app_id, deviceId: holderId };
    return this.step(
      holder,
      {
        type: 'TokenInvalidated',
        at: data.occurred_at,
        token: data.token,
        providerReason: data.provider_reason,
        providerTimestamp: data.provider_timestamp,
      },
      cause(holder),
    );
  }

  /** S1: a user named as a device's user for the first time in the workspace. */
  private firstSightings(input: TokenRegistryInput, ref: DeviceRef): DeviceTokenEvent[] {
    const userId = namedUser(input);
    if (userId === null) return [];
    const key = userKey(ref.workspaceId, userId);
    if (this.seenUsers.has(key)) return [];
    this.seenUsers.add(key);
    const device = this.device(ref);
    return [
      {
        type: 'UserFirstSeen',
        data: {
          event_id: '',
          cause_event_id: input.data.event_id,
          workspace_id: ref.workspaceId,
          app_id: ref.appId,
          device_id: ref.deviceId,
          occurred_at: input.data.occurred_at,
          platform: 'platform' in input.data ? input.data.platform : device.platform,
          user_id: userId,
        },
      },
    ];
  }

  private step(ref: DeviceRef, fact: DeviceFact, cause: Cause): DeviceTokenEvent[] {
    const before = this.device(ref);
    const after = evolve(before, fact);
    if (after === before && this.knowsDevice(ref)) return [];
    this.setDevice(ref, after);
    this.changed.devices.set(deviceKey(ref), ref);
    return publishedEventsOf({ before, after, fact, cause });
  }

  private setDevice(ref: DeviceRef, state: DeviceState): void {
    const key = deviceKey(ref);
    const previous = this.devices.get(key)?.state;
    if (previous?.token && this.holders.get(tokenKey(ref.workspaceId, ref.appId, previous.token)) === ref.deviceId) {
      this.holders.delete(tokenKey(ref.workspaceId, ref.appId, previous.token));
    }
    if (state.token) this.holders.set(tokenKey(ref.workspaceId, ref.appId, state.token), ref.deviceId);
    this.devices.set(key, { ref, state });
  }
}

/**
 * T8: a token's tombstone is its latest invalidation's: a later one without a 410 timestamp (BadDeviceToken after a
 * revived token) leaves no registration able to revive it, and a late older one changes nothing. Of two in the same
 * millisecond (or a duplicate), the one that revives fewer registrations, whatever order they come in.
 */
function tombstoneAfter(previous: Tombstone | undefined, next: Tombstone): Tombstone {
  if (!previous || next.invalidatedAt > previous.invalidatedAt) return next;
  if (next.invalidatedAt < previous.invalidatedAt) return previous;
  return revivesFewer(next, previous) ? next : previous;
}

const revivesFewer = (a: Tombstone, b: Tombstone): boolean =>
  b.providerTimestamp !== null && (a.providerTimestamp === null || a.providerTimestamp > b.providerTimestamp);
