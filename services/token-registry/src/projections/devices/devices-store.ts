import type { EntityManager } from 'typeorm';
import { TokenRegistry, TokenRegistryInput, deviceKey } from '../../domain/token-registry';
import { deviceRefOf, lockDevices, stateOf, upsertDevices } from './devices-table';
import { TokenHolders, TokenMove, tokensNamedBy } from './token-holders';
import { loadRegistrations, saveRegistrations } from './token-registrations';
import { loadTombstones, saveTombstones } from './token-tombstones';
import { usersSeenBefore } from './users-seen';

/**
 * One batch's part of the read model, in its transaction: `load` puts into a `TokenRegistry` everything the batch can
 * touch (its devices and the devices holding its tokens, locked for the transaction; the tombstones and latest
 * registrations of its tokens; which of its users were seen), the projection applies the pure domain to it, and `save` writes back what changed.
 * Each table has its own module; the order of the steps is the locking protocol (README, "Read model").
 */
export class DevicesStore {
  private constructor(
    private readonly tx: EntityManager,
    readonly registry: TokenRegistry,
    private readonly holders: TokenHolders,
    /** The token each stored device row held, by device key: where its `token_holders` row moves from. */
    private readonly storedTokens: ReadonlyMap<string, string | null>,
  ) {}

  static async load(tx: EntityManager, inputs: readonly TokenRegistryInput[]): Promise<DevicesStore> {
    const registry = new TokenRegistry();
    const tokens = tokensNamedBy(inputs);
    const holders = await TokenHolders.claim(tx, inputs, tokens);
    const rows = await lockDevices(tx, [
      ...inputs.map(({ data }) => ({
        workspace_id: data.workspace_id,
        app_id: data.app_id,
        device_id: data.device_id,
      })),
      ...holders.holdingDevices(),
    ]);
    const storedTokens = new Map<string, string | null>();
    for (const row of rows) {
      const ref = deviceRefOf(row);
      storedTokens.set(deviceKey(ref), row.token);
      registry.putDevice(ref, stateOf(row));
    }
    await holders.checkInvalidatedHolders(tx, inputs);
    for (const { workspaceId, appId, token, tombstone } of await loadTombstones(tx, tokens))
      registry.putTombstone(workspaceId, appId, token, tombstone);
    for (const { workspaceId, appId, token, registration } of await loadRegistrations(tx, tokens))
      registry.putRegistration(workspaceId, appId, token, registration);
    for (const user of await usersSeenBefore(tx, inputs)) registry.putSeenUser(user.workspace_id, user.user_id);
    return new DevicesStore(tx, registry, holders, storedTokens);
  }

  /**
   * Writes the rows the batch changed. Not the token changelog: that is the history of what was published, projected
   * from the output topic by `TokenChangelogProjection` (README, "Read model").
   */
  async save(): Promise<void> {
    const { tx, registry } = this;
    const changed = [...registry.changed.devices.values()].map((ref) => ({ ref, state: registry.device(ref) }));
    const moves: TokenMove[] = [];
    for (const { ref, state } of changed) {
      const from = this.storedTokens.get(deviceKey(ref)) ?? null;
      if (from !== state.token) moves.push({ ref, from, to: state.token });
    }
    await this.holders.save(tx, moves);
    await upsertDevices(tx, changed);
    await saveTombstones(tx, [...registry.changed.tombstones.values()]);
    await saveRegistrations(tx, [...registry.changed.registrations.values()]);
  }
}
