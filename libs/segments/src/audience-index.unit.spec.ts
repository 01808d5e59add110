import { AudienceIndex, Bitset, indexRow } from './audience-index';
import { segmentSize, type TokenPlatform, type UserView } from './evaluate';
import type { SegmentFilter } from './filter';
import { randomSegmentFilter } from './random-filter';
import { seededRandom } from '@push/testing';

const APPS = ['app-1', 'app-2', 'app-3'];
const PLATFORMS: TokenPlatform[] = ['IOS', 'ANDROID', 'WEB'];
const STATES = ['SUBSCRIBED', 'OPTED_IN', 'UNSUBSCRIBED'] as const;

function randomUsers(rnd: () => number, n: number): UserView[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  return Array.from({ length: n }, (_, i) => ({
    user_id: `u${i}`,
    subscription: pick(STATES),
    push_opted_in_at: null,
    tokens: Array.from({ length: Math.floor(rnd() * 4) }, (_, d) => ({
      app_id: pick(APPS),
      device_id: `d${i}-${d}`,
      token: `t${i}-${d}`,
      platform: pick(PLATFORMS),
      foreground_enabled: rnd() < 0.6,
      background_enabled: rnd() < 0.7,
      suppressed: rnd() < 0.2,
    })),
  }));
}

const randomFilter = (rnd: () => number): SegmentFilter =>
  randomSegmentFilter(rnd, {
    appIds: [...APPS, 'app-none'],
    userIds: (r) => ['u1', 'u7', 'u100', 'nobody'].filter(() => r() < 0.7),
  });

describe('AudienceIndex (bitsets per predicate)', () => {
  it('Bitset: set, has and popcount across word boundaries', () => {
    const set = new Bitset(100);
    for (const i of [0, 31, 32, 63, 64, 99]) set.set(i);
    expect(set.count()).toBe(6);
    expect(set.has(31) && set.has(32) && !set.has(33)).toBe(true);
    const other = new Bitset(100);
    other.set(31);
    other.set(50);
    expect(set.and(other).count()).toBe(1);
    expect(set.or(other).count()).toBe(7);
    expect(set.andNot(other).count()).toBe(5);
  });

  it('G1–G6: the index answers every random filter exactly as segmentSize over the same views', () => {
    const rnd = seededRandom(13);
    const users = randomUsers(rnd, 300);
    const index = new AudienceIndex(users);
    for (let i = 0; i < 500; i++) {
      const filter = randomFilter(rnd);
      expect({ filter, size: index.size(filter) }).toEqual({ filter, size: segmentSize(filter, users) });
    }
  });

  it('G6 seed: a user Subscribed with no token is in the segment but not reachable', () => {
    const index = new AudienceIndex([{ user_id: 'u', subscription: 'SUBSCRIBED', push_opted_in_at: null, tokens: [] }]);
    expect(index.size({ push_subscription: 'subscribed' })).toEqual({
      total: 1,
      reachable: { ios_push: 0, android_push: 0, web_push: 0 },
    });
  });

  it('an empty workspace and a user indexed twice', () => {
    expect(new AudienceIndex([]).size({ not: { user_ids: [] } }).total).toBe(0);
    const u: UserView = { user_id: 'u', subscription: 'SUBSCRIBED', push_opted_in_at: null, tokens: [] };
    expect(() => new AudienceIndex([u, u])).toThrow('indexed twice');
  });

  it('Bitset: grows keeping its members; clear takes one out', () => {
    const set = new Bitset(10);
    set.set(3);
    set.resize(1000);
    set.set(999);
    expect([set.size, set.count(), set.has(3), set.has(999)]).toEqual([1000, 2, true, true]);
    set.clear(3);
    expect([set.count(), set.has(3)]).toEqual([1, false]);
  });

  it('G1–G6 incremental: after random patches (changed, new and gone users) it answers as a fresh index would', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rnd = seededRandom(seed);
      let users = randomUsers(rnd, 150).filter(() => rnd() < 0.5);
      const index = new AudienceIndex(users);
      for (let round = 0; round < 20; round++) {
        // Some users change, some are new (from the rest of the 300), some are no longer known.
        const fresh = randomUsers(rnd, 300);
        const known = new Map(users.map((u) => [u.user_id, u]));
        const changed: UserView[] = [];
        const gone: string[] = [];
        for (const user of fresh) {
          const r = rnd();
          if (r < 0.1) {
            changed.push(user);
            known.set(user.user_id, user);
          } else if (r < 0.13 && known.has(user.user_id)) {
            gone.push(user.user_id);
            known.delete(user.user_id);
          }
        }
        // Odd rounds patch with the compact rows a caller gathering many changes holds instead of views.
        index.patch(round % 2 ? changed.map(indexRow) : changed, gone);
        users = [...known.values()];
        const rebuilt = new AudienceIndex(users);
        expect(index.users).toBe(users.length);
        for (let i = 0; i < 40; i++) {
          const filter = randomFilter(rnd);
          const expected = segmentSize(filter, users);
          expect({ seed, round, filter, size: index.size(filter) }).toEqual({ seed, round, filter, size: expected });
          expect(rebuilt.size(filter)).toEqual(expected);
        }
      }
    }
  });

  it('a user taken out and back keeps one ordinal; user_ids never names a user no longer known', () => {
    const u = (user_id: string): UserView => ({
      user_id,
      subscription: 'SUBSCRIBED',
      push_opted_in_at: null,
      tokens: [],
    });
    const index = new AudienceIndex([u('a'), u('b')]);
    index.patch([], ['a']);
    expect(index.size({ user_ids: ['a', 'b'] }).total).toBe(1);
    expect(index.size({ not: { user_ids: [] } }).total).toBe(1);
    expect(index.patch([u('a')])).toBe(0);
    expect(index.userIds).toEqual(['a', 'b']);
    expect(index.size({ user_ids: ['a', 'b'] }).total).toBe(2);
  });
});
