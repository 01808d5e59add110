import type { EntityManager } from 'typeorm';
import { BulkRows, distinctBy, inKeyOrder } from '@push/service-kit';
import type { DeviceRef, TokenRegistryInput } from '../../domain/token-registry';
import type { DeviceKey } from './devices-table';

/** A token string of an app: the key of `token_holders` and `token_tombstones`. */
export interface TokenKey {
  workspace_id: string;
  app_id: string;
  token: string;
}

/** A `token_holders` row: the device of the app that holds the token (T2). */
export interface TokenHolder extends TokenKey {
  device_id: string;
}

/** A device whose token changed in the batch: the token its stored row held, and the one it holds now. */
export interface TokenMove {
  ref: DeviceRef;
  from: string | null;
  to: string | null;
}

export const TOKEN_KEYS = new BulkRows<TokenKey>({ workspace_id: 'text', app_id: 'text', token: 'text' });
const HOLDERS = new BulkRows<TokenHolder>({ workspace_id: 'text', app_id: 'text', token: 'text', device_id: 'text' });

// Two single-table lookups (holders, then devices) rather than a join: without statistics yet (a fresh read model),
// the planner joined on the workspace and app alone and filtered the rest, scanning a whole app per token.
const HOLDERS_OF = `select ${HOLDERS.columns()} from token_holders
  where (${TOKEN_KEYS.columns()}) in (select * from ${TOKEN_KEYS.unnest()})`;
const CLAIM = `${HOLDERS.insert('token_holders', HOLDERS.unnest())} on conflict do nothing returning ${HOLDERS.columns()}`;
const DELETE = `delete from token_holders h using ${HOLDERS.unnest()} where (${HOLDERS.columns('h')}) = (${HOLDERS.columns('r')})`;
const RETARGET = `update token_holders h set device_id = r.device_id from ${HOLDERS.unnest()}
  where (${TOKEN_KEYS.columns('h')}) = (${TOKEN_KEYS.columns('r')})`;
const INSERT = HOLDERS.insert('token_holders', HOLDERS.unnest());

export const tokenKeyOf = (token: TokenKey): string => `${token.workspace_id}\u0000${token.app_id}\u0000${token.token}`;

type TokenInput = Extract<TokenRegistryInput, { type: 'TokenRegistered' | 'TokenInvalidated' }>;
const namesToken = (input: TokenRegistryInput): input is TokenInput =>
  input.type === 'TokenRegistered' || input.type === 'TokenInvalidated';

/** The token strings a batch registers or invalidates, each once. */
export function tokensNamedBy(inputs: readonly TokenRegistryInput[]): TokenKey[] {
  return distinctBy(
    inputs
      .filter(namesToken)
      .map(({ data }) => ({ workspace_id: data.workspace_id, app_id: data.app_id, token: data.token })),
    tokenKeyOf,
  );
}

/**
 * The batch's registered and invalidated tokens that no device holds yet, each with the device that registers it last
 * (the likely holder after the batch; an invalidated token nobody registers names its bounced device, and its claim
 * goes at the end of the batch), sorted (claimed in one order by every transaction).
 */
function unheldTokens(inputs: readonly TokenRegistryInput[], held: readonly TokenHolder[]): TokenHolder[] {
  const isHeld = new Set(held.map(tokenKeyOf));
  const unheld = new Map<string, TokenHolder>();
  for (const input of inputs) {
    if (!namesToken(input)) continue;
    const { workspace_id, app_id, token, device_id } = input.data;
    const claim = { workspace_id, app_id, token, device_id };
    const key = tokenKeyOf(claim);
    if (!isHeld.has(key) && (input.type === 'TokenRegistered' || !unheld.has(key))) unheld.set(key, claim);
  }
  return inKeyOrder(unheld);
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

/**
 * `token_holders` and the claim protocol that keeps one device per token (T2) across partitions, in its three steps:
 * `claim` before the devices are locked, `checkInvalidatedHolders` once they are, and `save` with the batch's writes.
 */
export class TokenHolders {
  private constructor(
    /** The holders of the batch's tokens, as read before the devices were locked. */
    private readonly read: readonly TokenHolder[],
    /**
     * The rows this transaction inserted for tokens nobody held (by token key, naming the device that registers the
     * token last): `save` keeps, retargets or deletes each.
     */
    private readonly claims: ReadonlyMap<string, TokenHolder>,
  ) {}

  /**
   * Reads the holders of the batch's tokens, and claims those nobody holds. T2 across partitions: a new token registered
   * by two partitions' transactions at once would collide on the holders' key at commit time and cost one of them its
   * whole batch. Claiming the new tokens' keys first makes the second transaction wait here instead, then find the
   * first one's holder and lock that device too. T8: an invalidation claims its unheld token the same way, so that it
   * and the token's first registration serialise (else each would miss the other: the registration the tombstone, the
   * invalidation the new holder).
   */
  static async claim(
    tx: EntityManager,
    inputs: readonly TokenRegistryInput[],
    tokens: readonly TokenKey[],
  ): Promise<TokenHolders> {
    const read: TokenHolder[] = tokens.length ? await tx.query(HOLDERS_OF, TOKEN_KEYS.arrays(tokens)) : [];
    const unheld = unheldTokens(inputs, read);
    const claims = new Map<string, TokenHolder>();
    if (unheld.length) {
      const claimed: TokenHolder[] = await tx.query(CLAIM, HOLDERS.arrays(unheld));
      for (const claim of claimed) claims.set(tokenKeyOf(claim), claim);
      // A claim that lost to a concurrent transaction's (committed while this one waited): read that holder instead.
      const lost = unheld.filter((token) => !claims.has(tokenKeyOf(token)));
      if (lost.length) read.push(...((await tx.query(HOLDERS_OF, TOKEN_KEYS.arrays(lost))) as TokenHolder[]));
    }
    return new TokenHolders(read, claims);
  }

  /** The devices holding the batch's tokens: locked with the batch's own devices, as a move changes both. */
  holdingDevices(): DeviceKey[] {
    return this.read.map(({ workspace_id, app_id, device_id }) => ({ workspace_id, app_id, device_id }));
  }

  /**
   * T8 with a concurrent move (T2): the holder of each token the batch invalidates and does not claim must be the one
   * read before locking devices. A move must lock the device the token leaves, which this batch now holds, so once
   * the holders are unchanged here, they stay so until the batch commits. Not a lock on the holders' rows taken
   * before the devices: the token's device, uninstalled or registering another token meanwhile, deletes that row
   * after locking the device, and the two would deadlock.
   */
  async checkInvalidatedHolders(tx: EntityManager, inputs: readonly TokenRegistryInput[]): Promise<void> {
    const invalidated = new Map<string, TokenKey>();
    for (const { type, data } of inputs) {
      if (type !== 'TokenInvalidated') continue;
      const token = { workspace_id: data.workspace_id, app_id: data.app_id, token: data.token };
      const key = tokenKeyOf(token);
      if (!this.claims.has(key)) invalidated.set(key, token);
    }
    if (invalidated.size === 0) return;
    const holderAsRead = new Map(this.read.map((holder) => [tokenKeyOf(holder), holder.device_id]));
    const now: TokenHolder[] = await tx.query(HOLDERS_OF, TOKEN_KEYS.arrays(invalidated.values()));
    const holderNow = new Map(now.map((holder) => [tokenKeyOf(holder), holder.device_id]));
    for (const key of invalidated.keys())
      if (holderNow.get(key) !== holderAsRead.get(key)) throw new InvalidatedTokenMoved();
  }

  /**
   * Moves each changed token's row with it (T2): the rows of the tokens devices let go and of the claims no device
   * ended up holding (a registration that lost to a later one in the same batch) are deleted first, so that a token
   * changing devices in this batch is free; a claim held by another device than the one it named is retargeted; a
   * token taken without a claim (it had a holder) gets its row.
   */
  async save(tx: EntityManager, moves: readonly TokenMove[]): Promise<void> {
    const holder = (ref: DeviceRef, token: string): TokenHolder => ({
      workspace_id: ref.workspaceId,
      app_id: ref.appId,
      token,
      device_id: ref.deviceId,
    });
    const released: TokenHolder[] = [];
    const retargeted: TokenHolder[] = [];
    const unclaimed: TokenHolder[] = [];
    const taken = new Set<string>();
    for (const { ref, from, to } of moves) {
      if (from !== null) released.push(holder(ref, from));
      if (to === null) continue;
      const row = holder(ref, to);
      const key = tokenKeyOf(row);
      const claim = this.claims.get(key);
      taken.add(key);
      // Most new tokens end with the device whose claim holds them already: nothing to write.
      if (!claim) unclaimed.push(row);
      else if (claim.device_id !== row.device_id) retargeted.push(row);
    }
    for (const [key, claim] of this.claims) if (!taken.has(key)) released.push(claim);

    if (released.length) await tx.query(DELETE, HOLDERS.arrays(released));
    if (retargeted.length) await tx.query(RETARGET, HOLDERS.arrays(retargeted));
    if (unclaimed.length) await tx.query(INSERT, HOLDERS.arrays(unclaimed));
  }
}
