import { z } from 'zod';
import { formatPath, MAX_FILTER_DEPTH, MAX_FILTER_USER_IDS, parseFilter, segmentFilterSchema } from './filter';

function issuesOf(value: unknown, knownApps?: ReadonlySet<string>) {
  const parsed = parseFilter(value, { knownApps });
  if (parsed.ok) throw new Error(`expected issues, parsed ${JSON.stringify(parsed.filter)}`);
  return parsed.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

function nested(depth: number): unknown {
  let filter: unknown = { push_enabled: true };
  for (let i = 1; i < depth; i++) filter = { not: filter };
  return filter;
}

describe('§5 filter language: parse', () => {
  it.each([
    [{ push_enabled: true }],
    [{ push_enabled: false }],
    [{ push_enabled_for_app: 'app-1' }],
    [{ foreground_push_enabled: true }],
    [{ background_push_enabled: false }],
    [{ push_subscription: 'subscribed' }],
    [{ push_subscription: 'opted_in' }],
    [{ push_subscription: 'unsubscribed' }],
    [{ platform: 'ios' }],
    [{ platform: 'android' }],
    [{ platform: 'web' }],
    [{ user_ids: ['u1', 'u2'] }],
    [{ user_ids: [] }],
    [{ and: [{ push_enabled: true }, { or: [{ platform: 'web' }, { not: { user_ids: ['u1'] } }] }] }],
  ])('§5: %j is a filter, parsed as given', (filter) => {
    expect(parseFilter(filter)).toEqual({ ok: true, filter });
  });

  it('§5: an unknown key is named by its path', () => {
    expect(issuesOf({ and: [{ push_enabled: true }, { push_enabeld: true }] })).toEqual([
      { path: 'and[1].push_enabeld', message: expect.stringContaining('unknown filter key') },
    ]);
  });

  it('§5: a filter of two keys, of none, or not an object is refused at its path', () => {
    expect(issuesOf({ push_enabled: true, platform: 'ios' })).toEqual([
      { path: '', message: expect.stringContaining('exactly one key') },
    ]);
    expect(issuesOf({ or: [{}] })).toEqual([{ path: 'or[0]', message: expect.stringContaining('exactly one key') }]);
    expect(issuesOf({ not: [{ push_enabled: true }] })).toEqual([{ path: 'not', message: expect.any(String) }]);
    expect(issuesOf(null)).toEqual([{ path: '', message: expect.any(String) }]);
    expect(issuesOf('push_enabled')).toEqual([{ path: '', message: expect.any(String) }]);
  });

  it.each([
    [{ push_enabled: 'true' }, 'push_enabled'],
    [{ foreground_push_enabled: 1 }, 'foreground_push_enabled'],
    [{ background_push_enabled: null }, 'background_push_enabled'],
    [{ push_enabled_for_app: 7 }, 'push_enabled_for_app'],
    [{ push_enabled_for_app: '' }, 'push_enabled_for_app'],
    [{ push_subscription: 'SUBSCRIBED' }, 'push_subscription'],
    [{ platform: 'windows' }, 'platform'],
    [{ user_ids: 'u1' }, 'user_ids'],
    [{ user_ids: ['u1', 2] }, 'user_ids[1]'],
    [{ user_ids: ['u1', ''] }, 'user_ids[1]'],
    [{ and: { push_enabled: true } }, 'and'],
    [{ not: { or: [{ platform: 3 }] } }, 'not.or[0].platform'],
  ])('§5: a wrong type %j is named by its path %s', (filter, path) => {
    expect(issuesOf(filter)).toEqual([{ path, message: expect.any(String) }]);
  });

  it('§5: an empty and/or is refused at its path', () => {
    expect(issuesOf({ and: [] })).toEqual([{ path: 'and', message: expect.stringContaining('at least one') }]);
    expect(issuesOf({ not: { or: [] } })).toEqual([
      { path: 'not.or', message: expect.stringContaining('at least one') },
    ]);
  });

  it(`§5: nesting is allowed to depth ${MAX_FILTER_DEPTH} and refused deeper, at the filter too deep`, () => {
    expect(parseFilter(nested(MAX_FILTER_DEPTH)).ok).toBe(true);
    const issues = issuesOf(nested(MAX_FILTER_DEPTH + 1));
    expect(issues).toEqual([
      { path: Array(MAX_FILTER_DEPTH).fill('not').join('.'), message: expect.stringContaining('16') },
    ]);
    let deepAnd: unknown = { platform: 'ios' };
    for (let i = 0; i < MAX_FILTER_DEPTH; i++) deepAnd = { and: [deepAnd] };
    expect(issuesOf(deepAnd)[0].path).toBe(Array(MAX_FILTER_DEPTH).fill('and[0]').join('.'));
  });

  it(`§5: a user_ids of ${MAX_FILTER_USER_IDS} is allowed, one more is refused`, () => {
    const ids = Array.from({ length: MAX_FILTER_USER_IDS }, (_, i) => `u${i}`);
    expect(parseFilter({ user_ids: ids }).ok).toBe(true);
    expect(issuesOf({ or: [{ user_ids: [...ids, 'one-more'] }] })).toEqual([
      { path: 'or[0].user_ids', message: expect.stringContaining('10000') },
    ]);
  });

  it('§5: an app the caller does not know is refused at its path; a known one is accepted', () => {
    const apps = new Set(['app-1']);
    expect(parseFilter({ push_enabled_for_app: 'app-1' }, { knownApps: apps }).ok).toBe(true);
    expect(issuesOf({ and: [{ platform: 'ios' }, { push_enabled_for_app: 'app-2' }] }, apps)).toEqual([
      { path: 'and[1].push_enabled_for_app', message: 'unknown app "app-2"' },
    ]);
  });

  it('§5: every problem of a filter is reported, not only the first', () => {
    expect(issuesOf({ or: [{ platform: 'x' }, { bogus: 1 }, { and: [] }] }).map((i) => i.path)).toEqual([
      'or[0].platform',
      'or[1].bogus',
      'or[2].and',
    ]);
  });

  it('§5: as a zod schema of a request body, issues carry the path below the field', () => {
    const body = z.strictObject({ filter: segmentFilterSchema({ knownApps: new Set(['a']) }) });
    expect(body.parse({ filter: { not: { platform: 'ios' } } })).toEqual({ filter: { not: { platform: 'ios' } } });
    const result = body.safeParse({ filter: { and: [{ push_enabled_for_app: 'b' }] } });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path)).toEqual([['filter', 'and', 0, 'push_enabled_for_app']]);
  });
});
