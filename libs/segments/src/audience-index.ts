import { reachability, type SegmentSize, type TokenPlatform, type UserView } from './evaluate';
import type { SegmentFilter } from './filter';
import { UserIdTable } from './user-id-table';

/** A set of user ordinals, one bit each; its capacity grows (`resize`) as ordinals are appended. */
export class Bitset {
  words: Uint32Array;

  constructor(public size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  set(i: number): void {
    this.words[i >>> 5] |= 1 << (i & 31);
  }

  clear(i: number): void {
    this.words[i >>> 5] &= ~(1 << (i & 31));
  }

  has(i: number): boolean {
    return (this.words[i >>> 5] & (1 << (i & 31))) !== 0;
  }

  /** Makes room for `size` ordinals (members are kept; new ones are absent). Never shrinks. */
  resize(size: number): void {
    if (size <= this.size) return;
    const needed = Math.ceil(size / 32);
    if (needed > this.words.length) {
      const words = new Uint32Array(needed);
      words.set(this.words);
      this.words = words;
    }
    this.size = size;
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

  /** The bytes its words take. */
  get bytes(): number {
    return this.words.byteLength;
  }

  private combine(other: Bitset, op: (a: number, b: number) => number): Bitset {
    const out = new Bitset(this.size);
    for (let i = 0; i < out.words.length; i++) out.words[i] = op(this.words[i], other.words[i] ?? 0);
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
 * What the index keeps of one user's view: its predicates' truth as bits and the apps it has a foreground-enabled token
 * for (G1) — about 100 bytes, where a view with its tokens takes several hundred. `indexRow(view)` makes one, so that
 * a caller gathering many changed users for one `patch` holds rows, not views.
 */
export interface IndexRow {
  user_id: string;
  flags: number;
  foregroundApps: readonly string[];
}

const F = {
  SUBSCRIBED: 1 << 0,
  OPTED_IN: 1 << 1,
  UNSUBSCRIBED: 1 << 2,
  IOS: 1 << 3,
  ANDROID: 1 << 4,
  WEB: 1 << 5,
  foreground: 1 << 6,
  background: 1 << 7,
  pushEnabled: 1 << 8,
  reachIOS: 1 << 9,
  reachANDROID: 1 << 10,
  reachWEB: 1 << 11,
} as const;
const NO_APPS: readonly string[] = Object.freeze([]);

/** The index's row of a user's view (G1–G6 as bits; see `IndexRow`). */
export function indexRow(user: UserView): IndexRow {
  let flags: number = F[user.subscription];
  let apps: string[] | undefined;
  for (const token of user.tokens) {
    flags |= F[token.platform];
    if (token.background_enabled) flags |= F.background;
    if (token.foreground_enabled) {
      flags |= F.foreground;
      if (!apps) apps = [token.app_id];
      else if (!apps.includes(token.app_id)) apps.push(token.app_id);
    }
  }
  if (user.subscription !== 'UNSUBSCRIBED' && flags & F.foreground) flags |= F.pushEnabled;
  const r = reachability(user);
  if (r.ios_push) flags |= F.reachIOS;
  if (r.android_push) flags |= F.reachANDROID;
  if (r.web_push) flags |= F.reachWEB;
  return { user_id: user.user_id, flags, foregroundApps: apps ?? NO_APPS };
}

/**
 * A columnar index of one workspace's users: one bitset per leaf predicate of §5 (per app for G1), and G6's reachable
 * set per platform, so that a filter's size is a few bitwise operations and popcounts over the users — the same
 * answer as `segmentSize` over the same views (a spec checks it on random users and filters, and after random patches).
 *
 * Built from views (e.g. pages of the read model), then kept current by `patch` with the views of the users that
 * changed: a changed user's bits are cleared and set again from its new view, a new user is appended at the next
 * ordinal, a user no longer known is taken out (its ordinal stays reserved for it, out of every set). `patch` is
 * synchronous, so a reader in the same event loop never sees half of one.
 */
export class AudienceIndex {
  /** The users' ids and ordinals (also of users no longer known: their bits are all clear). */
  private readonly ordinals = new UserIdTable();
  private readonly all: Bitset;
  private readonly pushEnabled: Bitset;
  private readonly foreground: Bitset;
  private readonly background: Bitset;
  private readonly state: Record<UserView['subscription'], Bitset>;
  private readonly platform: Record<TokenPlatform, Bitset>;
  private readonly reachable: Record<TokenPlatform, Bitset>;
  private readonly foregroundForApp = new Map<string, Bitset>();

  constructor(users: readonly UserView[]) {
    const bits = () => new Bitset(users.length);
    this.all = bits();
    this.pushEnabled = bits();
    this.foreground = bits();
    this.background = bits();
    this.state = { SUBSCRIBED: bits(), OPTED_IN: bits(), UNSUBSCRIBED: bits() };
    this.platform = { IOS: bits(), ANDROID: bits(), WEB: bits() };
    this.reachable = { IOS: bits(), ANDROID: bits(), WEB: bits() };
    for (const user of users) {
      if (this.ordinals.get(user.user_id) !== undefined) throw new Error(`user ${user.user_id} is indexed twice`);
      this.put(this.append(user.user_id), indexRow(user));
    }
  }

  /** The number of users indexed now (those taken out by a patch not counted). */
  get users(): number {
    return this.all.count();
  }

  /** `userIds[i]` is the user of ordinal `i` (users no longer known included) — an array made on each call. */
  get userIds(): readonly string[] {
    return Array.from({ length: this.ordinals.size }, (_, i) => this.ordinals.idAt(i));
  }

  /** The user of ordinal `i` (of a `select`'s members). */
  userIdAt(i: number): string {
    return this.ordinals.idAt(i);
  }

  /** The apps that have a foreground-enabled token of some user indexed (G1's sets), in no order. */
  get apps(): string[] {
    return [...this.foregroundForApp.keys()];
  }

  /** The bytes the bitsets take. */
  get bitsetBytes(): number {
    let bytes = 0;
    for (const set of this.sets()) bytes += set.bytes;
    return bytes;
  }

  /** The bytes the index's typed arrays take: the bitsets and the user-id table (about 25 bytes a user + the ids). */
  get byteLength(): number {
    return this.bitsetBytes + this.ordinals.byteLength;
  }

  /**
   * Brings the index to a newer state of the read model: `changed` are the new views (or their `indexRow`s) of users
   * whose view may have changed (new users included), `gone` the ids of users no longer known. Returns the number of
   * users appended.
   */
  patch(changed: Iterable<UserView | IndexRow>, gone: Iterable<string> = []): number {
    let appended = 0;
    for (const id of gone) {
      const i = this.ordinals.get(id);
      if (i !== undefined) this.take(i);
    }
    for (const user of changed) {
      let i = this.ordinals.get(user.user_id);
      if (i === undefined) {
        i = this.append(user.user_id);
        appended += 1;
      } else this.take(i);
      this.put(i, 'flags' in user ? user : indexRow(user));
    }
    return appended;
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
      if (i !== undefined && this.all.has(i)) named.set(i);
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

  private *sets(): Iterable<Bitset> {
    yield this.all;
    yield this.pushEnabled;
    yield this.foreground;
    yield this.background;
    yield* Object.values(this.state);
    yield* Object.values(this.platform);
    yield* Object.values(this.reachable);
    yield* this.foregroundForApp.values();
  }

  /** A new ordinal for the user; every set grows by half when full, so appends cost O(1) amortized. */
  private append(userId: string): number {
    const i = this.ordinals.add(userId);
    if (i >= this.all.size) {
      const capacity = Math.max(i + 1, Math.ceil(this.all.size * 1.5), 64);
      for (const set of this.sets()) set.resize(capacity);
    }
    return i;
  }

  /** Clears ordinal `i` from every set. */
  private take(i: number): void {
    for (const set of this.sets()) set.clear(i);
  }

  private put(i: number, row: IndexRow): void {
    const { flags } = row;
    const mark = (set: Bitset, flag: number) => {
      if (flags & flag) set.set(i);
    };
    this.all.set(i);
    mark(this.state.SUBSCRIBED, F.SUBSCRIBED);
    mark(this.state.OPTED_IN, F.OPTED_IN);
    mark(this.state.UNSUBSCRIBED, F.UNSUBSCRIBED);
    mark(this.platform.IOS, F.IOS);
    mark(this.platform.ANDROID, F.ANDROID);
    mark(this.platform.WEB, F.WEB);
    mark(this.foreground, F.foreground);
    mark(this.background, F.background);
    mark(this.pushEnabled, F.pushEnabled);
    mark(this.reachable.IOS, F.reachIOS);
    mark(this.reachable.ANDROID, F.reachANDROID);
    mark(this.reachable.WEB, F.reachWEB);
    for (const appId of row.foregroundApps) {
      let app = this.foregroundForApp.get(appId);
      if (!app) this.foregroundForApp.set(appId, (app = new Bitset(this.all.size)));
      app.set(i);
    }
  }
}
