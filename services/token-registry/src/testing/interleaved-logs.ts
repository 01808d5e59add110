import type { SdkDeviceEvent } from '@push/contracts';
import { deviceEvents } from '@push/testing';
import type { TokenRegistryInput } from '../domain/token-registry';

/**
 * Test support shared by the domain's interleaving property test and the read model's: a seeded log shaped like the
 * chaos stream and random interleavings of its two partitions.
 */

export const WORKSPACE = 'acme';
export const DEVICES = 8;
export const device = (d: number, workspace_id = WORKSPACE) => ({
  workspace_id,
  app_id: 'ios-app',
  device_id: `device-${d}`,
});
export const refOf = (d: number) => ({ workspaceId: WORKSPACE, appId: 'ios-app', deviceId: `device-${d}` });
const partitionOf = (input: TokenRegistryInput) => Number(input.data.device_id.slice('device-'.length)) % 2;

/**
 * A log shaped like the chaos stream (`deviceEventStream` of bench/support.ts), on few devices so that tokens meet:
 * sessions, registrations (some of another device's token, T2), logins, logouts, permission changes, uninstalls; some
 * devices refresh their token half-way; some events are ten events late (an earlier occurred_at, later in the log).
 * Times are distinct unless `ties`, so that occurred_at order alone decides (README, T9).
 */
export function logOf(rng: () => number, events: number, ties: boolean, workspace = WORKSPACE): TokenRegistryInput[] {
  const log: SdkDeviceEvent[] = [];
  for (let i = 0; i < events; i++) {
    const d = Math.floor(rng() * DEVICES);
    const late = rng() < 0.1 ? 10_000 : 0;
    const at = 1_000_000 + i * 1000 - late + (ties ? 0 : late ? 7 : 0);
    const tokenOf = (owner: number) => `apns-${owner}-${owner % 3 === 0 && i >= events / 2 ? 1 : 0}`;
    const user = `user-${d % 3}`;
    const roll = rng();
    if (roll < 0.3)
      log.push(deviceEvents.sessionStarted(device(d, workspace), at, { user_id: rng() < 0.7 ? user : null }));
    else if (roll < 0.5)
      log.push(deviceEvents.tokenRegistered(device(d, workspace), at, tokenOf(d), { user_id: user }));
    else if (roll < 0.65)
      log.push(deviceEvents.tokenRegistered(device(d, workspace), at, tokenOf((d + 1) % DEVICES), { user_id: user }));
    else if (roll < 0.75) log.push(deviceEvents.changeUser(device(d, workspace), at, `user-${(d + 1) % 3}`));
    else if (roll < 0.83) log.push(deviceEvents.userLoggedOut(device(d, workspace), at));
    else if (roll < 0.93)
      log.push(deviceEvents.pushPermissionChanged(device(d, workspace), at, rng() < 0.5 ? 'AUTHORIZED' : 'DENIED'));
    else log.push(deviceEvents.appUninstalled(device(d, workspace), at));
  }
  return log;
}

/** The log's two partitions (by device), each in the log's order. */
export const partitionsOf = (log: readonly TokenRegistryInput[]): TokenRegistryInput[][] => [
  log.filter((e) => partitionOf(e) === 0),
  log.filter((e) => partitionOf(e) === 1),
];

/**
 * The log's two partitions merged in a random order that keeps each partition's own order, as batches: runs of one to
 * six events of one partition, like a consumer's batches.
 */
export function interleavedBatches(rng: () => number, log: readonly TokenRegistryInput[]): TokenRegistryInput[][] {
  const partitions = partitionsOf(log);
  const at = [0, 0];
  const batches: TokenRegistryInput[][] = [];
  while (at[0] < partitions[0].length || at[1] < partitions[1].length) {
    const p = at[0] === partitions[0].length ? 1 : at[1] === partitions[1].length ? 0 : rng() < 0.5 ? 0 : 1;
    const run = 1 + Math.floor(rng() * 6);
    batches.push(partitions[p].slice(at[p], at[p] + run));
    at[p] += run;
  }
  return batches;
}

/** The same, as one sequence of events. */
export const interleaving = (rng: () => number, log: readonly TokenRegistryInput[]): TokenRegistryInput[] =>
  interleavedBatches(rng, log).flat();
