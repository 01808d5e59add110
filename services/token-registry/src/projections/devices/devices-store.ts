import type { EntityManager } from 'typeorm';
import { DeviceState, pushCapability, sendableToken } from '../../domain/device-state';
import type { ChangelogEntry } from '../../domain/changelog';
import { TokenRegistry, TokenRegistryInput, deviceKey, namedUser } from '../../domain/token-registry';

/** A `devices` row as `STORED_DEVICE_COLUMNS` selects it: the domain's `DeviceState`, column by column. */
export interface StoredDevice {
  workspace_id: string;
  app_id: string;
  device_id: string;
  platform: DeviceState['platform'];
  os_version: string | null;
  push_permission: DeviceState['permission'];
  capability_as_of_ms: number | null;
  user_id: string | null;
  user_as_of_ms: number | null;
  token: string | null;
  token_status: DeviceState['tokenStatus'];
  token_as_of_ms: number | null;
  token_registered_at_ms: number | null;
  last_session_ms: number | null;
  applied_event_at_ms: number[];
  applied_event_ids: string[];
}

/** The columns of a `devices` row that hold a `DeviceState` (float8: epoch milliseconds arrive as JS numbers). */
export const STORED_DEVICE_COLUMNS = `workspace_id, app_id, device_id, platform, os_version, push_permission, capability_as_of_ms::float8 as capability_as_of_ms,
  user_id, user_as_of_ms::float8 as user_as_of_ms, token, token_status, token_as_of_ms::float8 as token_as_of_ms,
  token_registered_at_ms::float8 as token_registered_at_ms, (extract(epoch from last_session_at) * 1000)::float8 as last_session_ms,
  applied_event_at_ms::float8[] as applied_event_at_ms, applied_event_ids`;

export const stateOf = (row: StoredDevice): DeviceState => ({
  platform: row.platform,
  osVersion: row.os_version,
  permission: row.push_permission,
  capabilityAsOf: row.capability_as_of_ms,
  userId: row.user_id,
  userAsOf: row.user_as_of_ms,
  token: row.token,
  tokenStatus: row.token_status,
  tokenAsOf: row.token_as_of_ms,
  tokenRegisteredAt: row.token_registered_at_ms,
  lastSessionAt: row.last_session_ms,
  appliedAsOf: row.applied_event_ids.map((eventId, i) => ({ at: row.applied_event_at_ms[i], eventId })),
});

/** Tuples as one array per column: the parameters of an `unnest(...)`. */
function columns(tuples: Iterable<unknown[]>, width: number): unknown[][] {
  const cols: unknown[][] = Array.from({ length: width }, () => []);
  for (const tuple of tuples) for (let i = 0; i < width; i++) cols[i].push(tuple[i]);
  return cols;
}

/** Distinct string tuples (lookup keys), as one array per column. */
function distinctColumns(tuples: Iterable<string[]>, width: number): unknown[][] {
  const distinct = new Map<string, string[]>();
  for (const tuple of tuples) distinct.set(tuple.join('\u0000'), tuple);
  return columns(distinct.values(), width);
}

/** A map's values in the order of their keys: rows every transaction inserts in the same order (no deadlock). */
function valuesInKeyOrder<V>(map: Map<string, V>): V[] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, value]) => value);
}

/**
 * Each user a batch names as a device's user, with the time of the first such event; sorted, so that two partitions'
 * transactions claiming some of the same users wait for each other in one order instead of deadlocking.
 */
function firstNamings(events: readonly TokenRegistryInput[]): { workspaceId: string; userId: string; at: number }[] {
  const first = new Map<string, { workspaceId: string; userId: string; at: number }>();
  for (const event of events) {
    const userId = namedUser(event);
    const key = `${event.data.workspace_id}\u0000${userId}`;
    if (userId !== null && !first.has(key))
      first.set(key, { workspaceId: event.data.workspace_id, userId, at: event.data.occurred_at });
  }
  return valuesInKeyOrder(first);
}

function* namedTokens(events: readonly TokenRegistryInput[]): Generator<[string, string, string]> {
  for (const { type, data } of events) {
    if (type === 'TokenRegistered' || type === 'TokenInvalidated') yield [data.workspace_id, data.app_id, data.token];
  }
}

const tupleKey = (tuple: readonly unknown[]) => tuple.join('\u0000');

/**
 * The batch's registered and invalidated tokens that no device holds yet, each with the device that registers it last
 * (the likely holder after the batch; an invalidated token nobody registers names its bounced device, and its claim
 * goes at the end of the batch), sorted (claimed in one order by every transaction).
 */
function unheldTokens(events: readonly TokenRegistryInput[], holders: readonly HolderRow[]): string[][] {
  const held = new Set(holders.map((h) => tupleKey([h.workspace_id, h.app_id, h.token])));
  const unheld = new Map<string, string[]>();
  for (const { type, data } of events) {
    if (type !== 'TokenRegistered' && type !== 'TokenInvalidated') continue;
    const tuple = [data.workspace_id, data.app_id, data.token, data.device_id];
    const key = tupleKey(tuple.slice(0, 3));
    if (!held.has(key) && (type === 'TokenRegistered' || !unheld.has(key))) unheld.set(key, tuple);
  }
  return valuesInKeyOrder(unheld);
}

/**
 * A token the batch invalidates moved to another device (or left its device) between the batch's read of its holder
 * and the locking of that device, in a transaction that has committed since: the batch must not write a tombstone only
 * and leave the token sendable where it went (T8). SQLSTATE 40001, a serialization failure: the runner retries the
 * batch at once, and the retry reads and locks the token's new holder.
 */
export class InvalidatedTokenMoved extends Error {
  readonly code = '40001';

  constructor() {
    super('a token this batch invalidates changed devices while the batch locked its holder; retrying the batch');
  }
}

interface HolderRow {
  workspace_id: string;
  app_id: string;
  token: string;
  device_id: string;
}

const HOLDERS_OF = `select workspace_id, app_id, token, device_id from token_holders
  where (workspace_id, app_id, token) in (select * from unnest($1::text[], $2::text[], $3::text[]))`;

/**
 * Loads into a `TokenRegistry` everything a batch can touch (its devices and the devices holding its tokens, locked
 * for the transaction; the tombstones of its tokens; which of its users were seen) and writes back what changed.
 */
export class DevicesStore {
  /** The token each loaded device row holds, to move its `token_holders` row when it changes. */
  private readonly storedTokens = new Map<string, string | null>();
  /**
   * The `token_holders` rows this transaction inserted for new tokens before locking devices (by workspace, app and
   * token, with the device they name): `save` keeps, retargets or deletes each.
   */
  private readonly claims = new Map<string, string[]>();

  private constructor(
    private readonly tx: EntityManager,
    readonly registry: TokenRegistry,
  ) {}

  static async load(tx: EntityManager, events: readonly TokenRegistryInput[]): Promise<DevicesStore> {
    const store = new DevicesStore(tx, new TokenRegistry());
    const tokens = distinctColumns(namedTokens(events), 3);
    const users = firstNamings(events);

    // Two single-table lookups rather than a join: without statistics yet (a fresh read model), the planner joined on
    // the workspace and app alone and filtered the rest, scanning a whole app per token.
    const holders: HolderRow[] = tokens[0].length ? await tx.query(HOLDERS_OF, tokens) : [];
    // T2 across partitions: a new token registered by two partitions' transactions at once would collide on the
    // holders' key at commit time and cost one of them its whole batch. Claiming the new tokens' keys first makes the
    // second transaction wait here instead, then find the first one's holder and lock that device too. T8: an
    // invalidation claims its unheld token the same way, so that it and the token's first registration serialise
    // (else each would miss the other: the registration the tombstone, the invalidation the new holder).
    const unheld = unheldTokens(events, holders);
    if (unheld.length) {
      const claimed: HolderRow[] = await tx.query(
        `insert into token_holders (workspace_id, app_id, token, device_id) select * from unnest($1::text[], $2::text[], $3::text[], $4::text[])
         on conflict do nothing returning workspace_id, app_id, token, device_id`,
        columns(unheld, 4),
      );
      for (const c of claimed)
        store.claims.set(tupleKey([c.workspace_id, c.app_id, c.token]), [
          c.workspace_id,
          c.app_id,
          c.token,
          c.device_id,
        ]);
      const lost = unheld
        .filter((tuple) => !store.claims.has(tupleKey(tuple.slice(0, 3))))
        .map((tuple) => tuple.slice(0, 3));
      if (lost.length) holders.push(...((await tx.query(HOLDERS_OF, columns(lost, 3))) as HolderRow[]));
    }
    const keys = distinctColumns(
      [
        ...events.map(({ data }) => [data.workspace_id, data.app_id, data.device_id]),
        ...holders.map((h) => [h.workspace_id, h.app_id, h.device_id]),
      ],
      3,
    );
    // Locked in key order so that concurrent partitions lock shared rows in the same order.
    const rows: StoredDevice[] = await tx.query(
      `select ${STORED_DEVICE_COLUMNS}
       from devices
       where (workspace_id, app_id, device_id) in (select * from unnest($1::text[], $2::text[], $3::text[]))
       order by workspace_id, app_id, device_id for update`,
      keys,
    );
    for (const row of rows) {
      const ref = { workspaceId: row.workspace_id, appId: row.app_id, deviceId: row.device_id };
      store.storedTokens.set(deviceKey(ref), row.token);
      store.registry.putDevice(ref, stateOf(row));
    }
    await store.checkInvalidatedHolders(events, holders);

    if (tokens[0].length) {
      const tombstones: {
        workspace_id: string;
        app_id: string;
        token: string;
        provider_reason: string;
        provider_timestamp: Date | null;
        invalidated_at: Date;
      }[] = await tx.query(
        `select * from token_tombstones where (workspace_id, app_id, token) in (select * from unnest($1::text[], $2::text[], $3::text[]))`,
        tokens,
      );
      for (const t of tombstones) {
        store.registry.putTombstone(t.workspace_id, t.app_id, t.token, {
          providerReason: t.provider_reason,
          providerTimestamp: t.provider_timestamp?.getTime() ?? null,
          invalidatedAt: t.invalidated_at.getTime(),
        });
      }
    }
    if (users.length) {
      // S1 exactly once, even across partitions and replicas: the users this transaction inserts are the new ones; a
      // concurrent transaction naming the same user waits for this one and then finds it.
      const inserted: { workspace_id: string; user_id: string }[] = await tx.query(
        `insert into users_seen (workspace_id, user_id, first_seen_at)
         select * from unnest($1::text[], $2::text[], $3::timestamptz[]) on conflict do nothing returning workspace_id, user_id`,
        columns(
          users.map(({ workspaceId, userId, at }) => [workspaceId, userId, new Date(at).toISOString()]),
          3,
        ),
      );
      const isNew = new Set(inserted.map((u) => `${u.workspace_id}\u0000${u.user_id}`));
      for (const u of users)
        if (!isNew.has(`${u.workspaceId}\u0000${u.userId}`)) store.registry.putSeenUser(u.workspaceId, u.userId);
    }
    return store;
  }

  /**
   * T8 with a concurrent move (T2): the holder of each token the batch invalidates and does not claim must be the one
   * read before locking devices. A move must lock the device the token leaves, which this batch now holds, so once
   * the holders are unchanged here, they stay so until the batch commits. Not a lock on the holders' rows taken
   * before the devices: the token's device, uninstalled or registering another token meanwhile, deletes that row
   * after locking the device, and the two would deadlock.
   */
  private async checkInvalidatedHolders(
    events: readonly TokenRegistryInput[],
    holdersRead: readonly HolderRow[],
  ): Promise<void> {
    const invalidated = new Map<string, string[]>();
    for (const { type, data } of events) {
      if (type !== 'TokenInvalidated') continue;
      const tuple = [data.workspace_id, data.app_id, data.token];
      if (!this.claims.has(tupleKey(tuple))) invalidated.set(tupleKey(tuple), tuple);
    }
    if (invalidated.size === 0) return;
    const holderAsRead = new Map(holdersRead.map((h) => [tupleKey([h.workspace_id, h.app_id, h.token]), h.device_id]));
    const holderNow = new Map(
      ((await this.tx.query(HOLDERS_OF, columns(invalidated.values(), 3))) as HolderRow[]).map((h) => [
        tupleKey([h.workspace_id, h.app_id, h.token]),
        h.device_id,
      ]),
    );
    for (const key of invalidated.keys())
      if (holderNow.get(key) !== holderAsRead.get(key)) throw new InvalidatedTokenMoved();
  }

  async save(changelog: readonly ChangelogEntry[]): Promise<void> {
    const { tx, registry } = this;
    const changed = [...registry.changed.devices.values()].map((ref) => ({ ref, state: registry.device(ref) }));

    // T2: a token's holder row moves with it; removals first, so that a token changing devices in this batch is free.
    const moved = changed.filter(({ ref, state }) => (this.storedTokens.get(deviceKey(ref)) ?? null) !== state.token);
    const released = moved.filter(({ ref }) => this.storedTokens.get(deviceKey(ref)));
    if (released.length) {
      await tx.query(
        `delete from token_holders h using unnest($1::text[], $2::text[], $3::text[], $4::text[]) as r(workspace_id, app_id, token, device_id)
         where (h.workspace_id, h.app_id, h.token, h.device_id) = (r.workspace_id, r.app_id, r.token, r.device_id)`,
        columns(
          released.map(({ ref }) => [ref.workspaceId, ref.appId, this.storedTokens.get(deviceKey(ref)), ref.deviceId]),
          4,
        ),
      );
    }
    const taken = moved
      .filter(({ state }) => state.token !== null)
      .map(({ ref, state }) => [ref.workspaceId, ref.appId, state.token as string, ref.deviceId]);
    // Most new tokens end with the device whose claim holds them already; the others move or go.
    const retargeted: string[][] = [];
    const unclaimed: string[][] = [];
    const takenKeys = new Set<string>();
    for (const holder of taken) {
      const key = tupleKey(holder.slice(0, 3));
      const claim = this.claims.get(key);
      takenKeys.add(key);
      if (!claim) unclaimed.push(holder);
      else if (claim[3] !== holder[3]) retargeted.push(holder);
    }
    if (retargeted.length) {
      await tx.query(
        `update token_holders h set device_id = r.device_id from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as r(workspace_id, app_id, token, device_id)
         where (h.workspace_id, h.app_id, h.token) = (r.workspace_id, r.app_id, r.token)`,
        columns(retargeted, 4),
      );
    }
    if (unclaimed.length) {
      await tx.query(
        `insert into token_holders (workspace_id, app_id, token, device_id) select * from unnest($1::text[], $2::text[], $3::text[], $4::text[])`,
        columns(unclaimed, 4),
      );
    }
    // Claims of tokens no device ended up holding (a registration that lost to a later one in the same batch).
    const unused = [...this.claims].filter(([key]) => !takenKeys.has(key)).map(([, claim]) => claim);
    if (unused.length) {
      await tx.query(
        `delete from token_holders h using unnest($1::text[], $2::text[], $3::text[], $4::text[]) as r(workspace_id, app_id, token, device_id)
         where (h.workspace_id, h.app_id, h.token, h.device_id) = (r.workspace_id, r.app_id, r.token, r.device_id)`,
        columns(unused, 4),
      );
    }

    if (changed.length) {
      const rows = changed.map(({ ref, state }) => {
        const capability = pushCapability(state.platform, state.osVersion, state.permission);
        const sendable = sendableToken(state) !== null;
        return {
          workspace_id: ref.workspaceId,
          app_id: ref.appId,
          device_id: ref.deviceId,
          platform: state.platform,
          os_version: state.osVersion,
          user_id: state.userId,
          token: state.token,
          token_status: state.tokenStatus,
          foreground_enabled: sendable && capability.foregroundEnabled,
          background_enabled: sendable && capability.backgroundEnabled,
          provisional: capability.provisional,
          push_permission: state.permission,
          capability_as_of_ms: state.capabilityAsOf,
          user_as_of_ms: state.userAsOf,
          token_as_of_ms: state.tokenAsOf,
          token_registered_at_ms: state.tokenRegisteredAt,
          last_session_ms: state.lastSessionAt,
          applied_event_at_ms: state.appliedAsOf.map((e) => e.at),
          applied_event_ids: state.appliedAsOf.map((e) => e.eventId),
        };
      });
      // One JSON parameter: V8 serialises it natively, where pg would escape every element of thirteen text arrays.
      await tx.query(
        `insert into devices (workspace_id, app_id, device_id, platform, os_version, user_id, token, token_status,
                              foreground_enabled, background_enabled, provisional, push_permission, capability_as_of_ms,
                              user_as_of_ms, token_as_of_ms, token_registered_at_ms, last_session_at, applied_event_at_ms,
                              applied_event_ids)
         select workspace_id, app_id, device_id, platform, os_version, user_id, token, token_status, foreground_enabled,
           background_enabled, provisional, push_permission, capability_as_of_ms, user_as_of_ms, token_as_of_ms,
           token_registered_at_ms, to_timestamp(last_session_ms / 1000.0), applied_event_at_ms, applied_event_ids
         from json_to_recordset($1::json) as r(workspace_id text, app_id text, device_id text, platform text,
           os_version text, user_id text, token text, token_status text, foreground_enabled boolean,
           background_enabled boolean, provisional boolean, push_permission text, capability_as_of_ms bigint,
           user_as_of_ms bigint, token_as_of_ms bigint, token_registered_at_ms bigint, last_session_ms bigint,
           applied_event_at_ms bigint[], applied_event_ids text[])
         on conflict (workspace_id, app_id, device_id) do update set
           platform = excluded.platform, os_version = excluded.os_version, user_id = excluded.user_id, token = excluded.token,
           token_status = excluded.token_status, foreground_enabled = excluded.foreground_enabled,
           background_enabled = excluded.background_enabled, provisional = excluded.provisional,
           push_permission = excluded.push_permission, capability_as_of_ms = excluded.capability_as_of_ms,
           user_as_of_ms = excluded.user_as_of_ms, token_as_of_ms = excluded.token_as_of_ms,
           token_registered_at_ms = excluded.token_registered_at_ms, last_session_at = excluded.last_session_at,
           applied_event_at_ms = excluded.applied_event_at_ms, applied_event_ids = excluded.applied_event_ids`,
        [JSON.stringify(rows)],
      );
    }

    const tombstones = [...registry.changed.tombstones.values()];
    if (tombstones.length) {
      await tx.query(
        `insert into token_tombstones (workspace_id, app_id, token, provider_reason, provider_timestamp, invalidated_at)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[])
         on conflict (workspace_id, app_id, token) do update set provider_reason = excluded.provider_reason,
           provider_timestamp = excluded.provider_timestamp, invalidated_at = excluded.invalidated_at`,
        columns(
          tombstones.map((t) => [
            t.workspaceId,
            t.appId,
            t.token,
            t.tombstone.providerReason,
            t.tombstone.providerTimestamp === null ? null : new Date(t.tombstone.providerTimestamp).toISOString(),
            new Date(t.tombstone.invalidatedAt).toISOString(),
          ]),
          6,
        ),
      );
    }

    if (changelog.length) {
      await tx.query(
        `insert into token_changelog (workspace_id, app_id, device_id, token, from_user_id, to_user_id, at, event_id)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[])
         on conflict (event_id) do nothing`,
        columns(
          changelog.map((e) => [
            e.workspaceId,
            e.appId,
            e.deviceId,
            e.token,
            e.fromUserId,
            e.toUserId,
            new Date(e.at).toISOString(),
            e.entryId,
          ]),
          8,
        ),
      );
    }
  }
}
