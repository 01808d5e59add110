import { reachability, type SegmentSize, type TokenPlatform, type UserView } from './evaluate';
import type { SegmentFilter } from './filter';

/** A fixed-size set of user ordinals, one bit each. */
export class Bitset {
  readonly words: Uint32Array;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  set(i: number): void {
    this.words[i >>> 5] |= 1 << (i & 31);
  }

  has(i: number): boolean {
    return (this.words[i >>> 5] & (1 << (i & 31))) !== 0;
  }

  /** The number of members (popcount). */
  count(): number {
    let n = 0;
    for (let w of this.words) {
      w -= (w >>> 1) & 0x55555555;
      w = (w & 0x33333333) + ((w >>> 2) & 0x33333333);
      n += (((w + (w >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
    }
    return n;
  }

  private combine(other: Bitset, op: (a: number, b: number) => number): Bitset {
    const out = new Bitset(this.size);
    for (let i = 0; i < this.words.length; i++) out.words[i] = op(this.words[i], other.words[i]);
    return out;
  }

  and(other: Bitset): Bitset {
    return this.combine(other, (a, b) => a & b);
  }

  or(other: Bitset): Bitset {
    return this.combine(other, (a, b) => a | b);
  }

  andNot(other: Bitset): Bitset {
    return this.combine(other, (a, b) => a & ~b);
  }
}

const PLATFORM = { ios: 'IOS', android: 'ANDROID', web: 'WEB' } as const;

/**
 * A columnar index of one workspace's users: one bitset per leaf predicate of §5 (per app for G1), and G6's reachable
 * set per platform, so that a filter's size is a few bitwise operations and popcounts over the users — the same
 * answer as `segmentSize` over the same views (a spec checks it on random users and filters). Pure and immutable:
 * built from views (e.g. `loadUserViews` pages of the read model), never updated in place.
 */
export class AudienceIndex {
  readonly userIds: readonly string[];
  private readonly ordinals = new Map<string, number>();
  private readonly all: Bitset;
  private readonly pushEnabled: Bitset;
  private readonly foreground: Bitset;
  private readonly background: Bitset;
  private readonly state: Record<UserView['subscription'], Bitset>;
  private readonly platform: Record<TokenPlatform, Bitset>;
  private readonly reachable: Record<TokenPlatform, Bitset>;
  private readonly foregroundForApp = new Map<string, Bitset>();

  constructor(users: readonly UserView[]) {
    const n = users.length;
    const bits = () => new Bitset(n);
    this.userIds = users.map((u) => u.user_id);
    this.all = bits();
    this.pushEnabled = bits();
    this.foreground = bits();
    this.background = bits();
    this.state = { SUBSCRIBED: bits(), OPTED_IN: bits(), UNSUBSCRIBED: bits() };
    this.platform = { IOS: bits(), ANDROID: bits(), WEB: bits() };
    this.reachable = { IOS: bits(), ANDROID: bits(), WEB: bits() };
    users.forEach((user, i) => {
      if (this.ordinals.has(user.user_id)) throw new Error(`user ${user.user_id} is indexed twice`);
      this.ordinals.set(user.user_id, i);
      this.all.set(i);
      this.state[user.subscription].set(i);
      for (const token of user.tokens) {
        this.platform[token.platform].set(i);
        if (token.background_enabled) this.background.set(i);
        if (token.foreground_enabled) {
          this.foreground.set(i);
          let app = this.foregroundForApp.get(token.app_id);
          if (!app) this.foregroundForApp.set(token.app_id, (app = bits()));
          app.set(i);
        }
      }
      if (user.subscription !== 'UNSUBSCRIBED' && this.foreground.has(i)) this.pushEnabled.set(i);
      const r = reachability(user);
      if (r.ios_push) this.reachable.IOS.set(i);
      if (r.android_push) this.reachable.ANDROID.set(i);
      if (r.web_push) this.reachable.WEB.set(i);
    });
  }

  /** The users matching the filter, as a bitset of ordinals (`userIds[i]`). */
  select(filter: SegmentFilter): Bitset {
    const holds = (set: Bitset, value: boolean) => (value ? set : this.all.andNot(set));
    if ('and' in filter) return filter.and.map((f) => this.select(f)).reduce((a, b) => a.and(b));
    if ('or' in filter) return filter.or.map((f) => this.select(f)).reduce((a, b) => a.or(b));
    if ('not' in filter) return this.all.andNot(this.select(filter.not));
    if ('push_enabled' in filter) return holds(this.pushEnabled, filter.push_enabled);
    if ('push_enabled_for_app' in filter)
      return this.foregroundForApp.get(filter.push_enabled_for_app) ?? new Bitset(this.all.size);
    if ('foreground_push_enabled' in filter) return holds(this.foreground, filter.foreground_push_enabled);
    if ('background_push_enabled' in filter) return holds(this.background, filter.background_push_enabled);
    if ('push_subscription' in filter)
      return this.state[filter.push_subscription.toUpperCase() as UserView['subscription']];
    if ('platform' in filter) return this.platform[PLATFORM[filter.platform]];
    const named = new Bitset(this.all.size);
    for (const id of filter.user_ids) {
      const i = this.ordinals.get(id);
      if (i !== undefined) named.set(i);
    }
    return named;
  }

  /** `POST /segments/size` from the index: G6's reachable counts are the selection intersected per platform. */
  size(filter: SegmentFilter): SegmentSize {
    const selected = this.select(filter);
    return {
      total: selected.count(),
      reachable: {
        ios_push: selected.and(this.reachable.IOS).count(),
        android_push: selected.and(this.reachable.ANDROID).count(),
        web_push: selected.and(this.reachable.WEB).count(),
      },
    };
  }
}
