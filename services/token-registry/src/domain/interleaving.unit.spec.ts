import { deviceEvents, seededRandom } from '@push/testing';
import { DEVICES, device, interleaving, logOf, refOf } from '../testing/interleaved-logs';
import { TokenRegistry, TokenRegistryInput } from './token-registry';

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
      const rng = seededRandom(seed);
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
