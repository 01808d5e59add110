import type { SegmentFilter } from './filter';

export interface RandomFilterOptions {
  /** The apps `push_enabled_for_app` may name (add one no device has to cover the unknown app). */
  appIds: readonly string[];
  /** The ids `user_ids` may list: a few, some of them nobody's. */
  userIds: (rnd: () => number) => string[];
  /** Deepest nesting of `and` / `or` / `not` (1: a leaf only). */
  maxDepth?: number;
}

/**
 * A random filter of the DESIGN §5 language, for property tests that compare two ways of evaluating one (the index
 * and the evaluator, the index and SQL, a paged and a whole plan): every leaf kind, nested `and` / `or` / `not` up to
 * `maxDepth`. `rnd` is the caller's seeded generator, so a failing case can be replayed.
 */
export function randomSegmentFilter(rnd: () => number, options: RandomFilterOptions, depth = 1): SegmentFilter {
  const maxDepth = options.maxDepth ?? 4;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const r = rnd();
  if (depth < maxDepth && r < 0.3) {
    const parts = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => randomSegmentFilter(rnd, options, depth + 1));
    return rnd() < 0.5 ? { and: parts } : { or: parts };
  }
  if (depth < maxDepth && r < 0.4) return { not: randomSegmentFilter(rnd, options, depth + 1) };
  return pick<() => SegmentFilter>([
    () => ({ push_enabled: rnd() < 0.5 }),
    () => ({ push_enabled_for_app: pick(options.appIds) }),
    () => ({ foreground_push_enabled: rnd() < 0.5 }),
    () => ({ background_push_enabled: rnd() < 0.5 }),
    () => ({ push_subscription: pick(['subscribed', 'opted_in', 'unsubscribed'] as const) }),
    () => ({ platform: pick(['ios', 'android', 'web'] as const) }),
    () => ({ user_ids: options.userIds(rnd) }),
  ])();
}
