import type { SdkDeviceEvent } from '@push/contracts';
import { deviceEvents } from '@push/testing';
import { TokenRegistry, TokenRegistryInput } from './token-registry';

/** A small seeded PRNG (mulberry32): the same seed gives the same streams and interleavings, so a failure replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORKSPACE = 'acme';
const DEVICES = 8;
const device = (d: number) => ({ workspace_id: WORKSPACE, app_id: 'ios-app', device_id: `device-${d}` });
const refOf = (d: number) => ({ workspaceId: WORKSPACE, appId: 'ios-app', deviceId: `device-${d}` });
const partitionOf = (input: TokenRegistryInput) => Number(input.data.device_id.slice('device-'.length)) % 2;

/**
 * A log shaped like the chaos stream (`deviceEventStream` of bench/support.ts), on few devices so that tokens meet:
 * sessions, registrations (some of another device's token, T2), logins, logouts, permission changes, uninstalls; some
 * devices refresh their token half-way; some events are a "minute" late (an earlier occurred_at, later in the log).
 * Times are distinct unless `ties`, so that occurred_at order alone decides (README, T9).
 */
function logOf(rng: () => number, events: number, ties: boolean): TokenRegistryInput[] {
  const log: SdkDeviceEvent[] = [];
  for (let i = 0; i < events; i++) {
    const d = Math.floor(rng() * DEVICES);
    const late = rng() < 0.1 ? 60_000 : 0;
    const at = 1_000_000 + i * 1000 - late + (ties ? 0 : late ? 7 : 0);
    const tokenOf = (owner: number) => `apns-${owner}-${owner % 3 === 0 && i >= events / 2 ? 1 : 0}`;
    const user = `user-${d % 3}`;
    const roll = rng();
    if (roll < 0.3) log.push(deviceEvents.sessionStarted(device(d), at, { user_id: rng() < 0.7 ? user : null }));
    else if (roll < 0.5) log.push(deviceEvents.tokenRegistered(device(d), at, tokenOf(d), { user_id: user }));
    else if (roll < 0.65)
      log.push(deviceEvents.tokenRegistered(device(d), at, tokenOf((d + 1) % DEVICES), { user_id: user }));
    else if (roll < 0.75) log.push(deviceEvents.changeUser(device(d), at, `user-${(d + 1) % 3}`));
    else if (roll < 0.83) log.push(deviceEvents.userLoggedOut(device(d), at));
    else if (roll < 0.93)
      log.push(deviceEvents.pushPermissionChanged(device(d), at, rng() < 0.5 ? 'AUTHORIZED' : 'DENIED'));
    else log.push(deviceEvents.appUninstalled(device(d), at));
  }
  return log;
}

/** The log's two partitions (by device) merged in a random order that keeps each partition's own order. */
function interleaving(rng: () => number, log: readonly TokenRegistryInput[]): TokenRegistryInput[] {
  const partitions = [log.filter((e) => partitionOf(e) === 0), log.filter((e) => partitionOf(e) === 1)];
  const at = [0, 0];
  const merged: TokenRegistryInput[] = [];
  while (merged.length < log.length) {
    // Runs of several events, like batches of a partition.
    const p = at[0] === partitions[0].length ? 1 : at[1] === partitions[1].length ? 0 : rng() < 0.5 ? 0 : 1;
    const run = 1 + Math.floor(rng() * 6);
    for (let k = 0; k < run && at[p] < partitions[p].length; k++) merged.push(partitions[p][at[p]++]);
  }
  return merged;
}

/** What a sequence of inputs leaves: every device's state (its token says who holds each token) and what it published. */
function readModelOf(inputs: readonly TokenRegistryInput[]) {
  const registry = new TokenRegistry();
  const published = inputs.flatMap((input) => registry.handle(input));
  const devices = Array.from({ length: DEVICES }, (_, d) => registry.device(refOf(d)));
  return { devices, published };
}

describe('T9 across devices: the read model is a function of the log, not of how its partitions interleave', () => {
  const check = (ties: boolean) => {
    for (let seed = 1; seed <= 300; seed++) {
      const rng = random(seed);
      const log = logOf(rng, 60, ties);
      // The log itself is one interleaving of its partitions (each device's events in the log's order).
      const expected = readModelOf(log);
      for (let k = 0; k < 6; k++) {
        const actual = readModelOf(interleaving(rng, log));
        expect({ seed, devices: actual.devices }).toEqual({ seed, devices: expected.devices });
      }
    }
  };

  it('T2/T9: every interleaving of two partitions leaves the same devices (distinct times)', () => check(false));

  it('T2/T9: …and so do registrations of one token by two devices in the same millisecond (event_id decides)', () =>
    check(true));

  it('T2: D1 X@150, Z@180, D2 X@200 ends with Z on D1 and X on D2 in any order (README)', () => {
    const d1 = device(1);
    const d2 = device(2);
    const log = [
      deviceEvents.tokenRegistered(d1, 150, 'X'),
      deviceEvents.tokenRegistered(d1, 180, 'Z'),
      deviceEvents.tokenRegistered(d2, 200, 'X'),
    ];
    for (const order of [
      [0, 1, 2],
      [0, 2, 1],
      [2, 0, 1],
    ]) {
      const { devices } = readModelOf(order.map((i) => log[i]));
      expect([devices[1].token, devices[2].token]).toEqual(['Z', 'X']);
    }
  });

  it('T2/T9: a token registered on D2 after D1, then let go by D2, does not come back to D1 whose older registration arrives last', () => {
    const d1 = device(1);
    const d2 = device(2);
    const log = [
      deviceEvents.tokenRegistered(d1, 100, 'X', { user_id: 'ann' }),
      deviceEvents.tokenRegistered(d2, 200, 'X', { user_id: 'bob' }),
      deviceEvents.tokenRegistered(d2, 300, 'Y', { user_id: 'bob' }),
    ];
    for (const order of [
      [0, 1, 2],
      [1, 2, 0],
      [1, 0, 2],
    ]) {
      const { devices } = readModelOf(order.map((i) => log[i]));
      expect([devices[1].token, devices[1].tokenStatus, devices[2].token]).toEqual([null, 'removed', 'Y']);
    }
    // Uninstalling D2 lets it go the same way.
    const uninstalled = [log[1], deviceEvents.appUninstalled(d2, 300), log[0]];
    expect(readModelOf(uninstalled).devices[1]).toMatchObject({ token: null, tokenStatus: 'removed' });
  });
});
