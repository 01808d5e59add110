import { z } from 'zod';

/** DESIGN §5: a segment filter. Leaves are the rules of DESIGN §4 G1–G5 plus `platform` and `user_ids`. */
export type SegmentFilter =
  | { and: SegmentFilter[] }
  | { or: SegmentFilter[] }
  | { not: SegmentFilter }
  | { push_enabled: boolean }
  | { push_enabled_for_app: string }
  | { foreground_push_enabled: boolean }
  | { background_push_enabled: boolean }
  | { push_subscription: 'subscribed' | 'opted_in' | 'unsubscribed' }
  | { platform: 'ios' | 'android' | 'web' }
  | { user_ids: string[] };

/** The deepest a filter may nest: the root filter is at depth 1, each `and`/`or`/`not` adds one. */
export const MAX_FILTER_DEPTH = 16;
/** The most user ids one `user_ids` leaf may name. */
export const MAX_FILTER_USER_IDS = 10_000;

export interface FilterIssue {
  /** JSON path of the problem from the filter's root: `['and', 0, 'platform']`. */
  path: (string | number)[];
  message: string;
}

export type FilterParse = { ok: true; filter: SegmentFilter } | { ok: false; issues: FilterIssue[] };

export interface ParseOptions {
  /** The workspace's apps: a `push_enabled_for_app` naming another is an issue. Absent: any app id is accepted. */
  knownApps?: ReadonlySet<string>;
}

const userId = z.string().min(1, 'must be a non-empty string');
const leaves = {
  push_enabled: z.boolean(),
  push_enabled_for_app: z.string().min(1, 'must be a non-empty app id'),
  foreground_push_enabled: z.boolean(),
  background_push_enabled: z.boolean(),
  push_subscription: z.enum(['subscribed', 'opted_in', 'unsubscribed']),
  platform: z.enum(['ios', 'android', 'web']),
  user_ids: z.array(userId).max(MAX_FILTER_USER_IDS, `must name at most ${MAX_FILTER_USER_IDS} user ids`),
} as const;
const combinators = ['and', 'or', 'not'] as const;
const keys = [...combinators, ...Object.keys(leaves)];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates a §5 filter. Every problem is reported with its JSON path: not an object, no key or more than one, an
 * unknown key, a value of the wrong type, an empty `and`/`or`, nesting deeper than {@link MAX_FILTER_DEPTH}, more than
 * {@link MAX_FILTER_USER_IDS} user ids, an app not in `knownApps`.
 */
export function parseFilter(value: unknown, options: ParseOptions = {}): FilterParse {
  const issues: FilterIssue[] = [];
  const filter = walk(value, [], 1, options, issues);
  return issues.length === 0 && filter !== undefined ? { ok: true, filter } : { ok: false, issues };
}

function walk(
  value: unknown,
  path: (string | number)[],
  depth: number,
  options: ParseOptions,
  issues: FilterIssue[],
): SegmentFilter | undefined {
  if (depth > MAX_FILTER_DEPTH) {
    issues.push({ path, message: `filters nest at most ${MAX_FILTER_DEPTH} deep` });
    return undefined;
  }
  if (!isObject(value)) {
    issues.push({ path, message: 'must be a filter object with exactly one key' });
    return undefined;
  }
  const present = Object.keys(value);
  const unknown = present.filter((key) => !keys.includes(key));
  for (const key of unknown) {
    issues.push({ path: [...path, key], message: `unknown filter key; expected one of ${keys.join(', ')}` });
  }
  if (unknown.length > 0) return undefined;
  if (present.length !== 1) {
    issues.push({
      path,
      message:
        present.length === 0
          ? 'a filter must have exactly one key'
          : `a filter has exactly one key, not ${present.join(' and ')}`,
    });
    return undefined;
  }
  const key = present[0];
  const inner = value[key];
  const here = [...path, key];
  if (key === 'and' || key === 'or') {
    if (!Array.isArray(inner)) {
      issues.push({ path: here, message: 'must be an array of filters' });
      return undefined;
    }
    if (inner.length === 0) {
      issues.push({ path: here, message: `must hold at least one filter` });
      return undefined;
    }
    const parts = inner.map((part, i) => walk(part, [...here, i], depth + 1, options, issues));
    if (parts.some((part) => part === undefined)) return undefined;
    return key === 'and' ? { and: parts as SegmentFilter[] } : { or: parts as SegmentFilter[] };
  }
  if (key === 'not') {
    const part = walk(inner, here, depth + 1, options, issues);
    return part === undefined ? undefined : { not: part };
  }
  const result = leaves[key as keyof typeof leaves].safeParse(inner);
  if (!result.success) {
    for (const issue of result.error.issues) {
      issues.push({
        path: [...here, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))],
        message: issue.message,
      });
    }
    return undefined;
  }
  if (key === 'push_enabled_for_app' && options.knownApps && !options.knownApps.has(result.data as string)) {
    issues.push({ path: here, message: `unknown app ${JSON.stringify(result.data)}` });
    return undefined;
  }
  return { [key]: result.data } as SegmentFilter;
}

/** A zod schema of a §5 filter, for request bodies: its issues carry the JSON path below the field it validates. */
export function segmentFilterSchema(options: ParseOptions = {}): z.ZodType<SegmentFilter, unknown> {
  return z.unknown().transform((value, ctx) => {
    const parsed = parseFilter(value, options);
    if (parsed.ok) return parsed.filter;
    for (const issue of parsed.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  });
}

/** A JSON path as text: `filter.and[0].platform`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${part}` : part),
    '',
  );
}
