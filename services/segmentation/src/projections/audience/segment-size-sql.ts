import type { SegmentFilter, SegmentSize } from '@push/segments';
import type { EntityManager } from 'typeorm';

const PLATFORM = { ios: 'IOS', android: 'ANDROID', web: 'WEB' } as const;

/**
 * `POST /segments/size` computed exactly by Postgres over the read model — the straightforward SQL: the workspace's
 * users (subscription-state's, and those token-registry assigned a device, SUBSCRIBED by S1) left-joined to their
 * sendable tokens (T4: anonymous devices are no one's), one row per user with each predicate's flag (`bool_or` over
 * its tokens), then a `COUNT` of the rows the filter holds for. The same semantics as `@push/segments`' evaluator over
 * `loadUserViews` (the specs check it); the reference the index is measured against, and the answer while an index
 * is being built.
 */
export async function segmentSizeSql(
  db: Pick<EntityManager, 'query'>,
  workspaceId: string,
  filter: SegmentFilter,
): Promise<SegmentSize> {
  const params: unknown[] = [workspaceId];
  const apps: string[] = [];
  const where = compile(filter, params, apps);
  // G1 per app the filter names: a flag column each (the app ids are parameters).
  const appFlags = apps.map(
    (_, i) => `, bool_or(t.app_id = $${params.length + i + 1} and t.foreground_enabled) as app_${i}`,
  );
  params.push(...apps);
  const reachable = (platform: string) =>
    `bool_or(t.platform = '${platform}' and t.foreground_enabled and not t.suppressed)`;
  const [row] = await db.query(
    `with u as (
       select user_id, state from audience_users where workspace_id = $1
       union all
       select distinct d.user_id, 'SUBSCRIBED' from audience_devices d
       where d.workspace_id = $1 and d.user_id is not null
         and not exists (select 1 from audience_users a where a.workspace_id = $1 and a.user_id = d.user_id)
     ),
     t as (
       select user_id, app_id, platform, foreground_enabled, background_enabled,
              delivery_status = 'SUPPRESSED' as suppressed
       from audience_devices
       where workspace_id = $1 and user_id is not null and token is not null and platform is not null
     ),
     v as (
       select u.user_id, u.state,
              coalesce(bool_or(t.foreground_enabled), false) as foreground,
              coalesce(bool_or(t.background_enabled), false) as background,
              coalesce(bool_or(t.platform = 'IOS'), false) as on_ios,
              coalesce(bool_or(t.platform = 'ANDROID'), false) as on_android,
              coalesce(bool_or(t.platform = 'WEB'), false) as on_web,
              coalesce(${reachable('IOS')}, false) as reach_ios,
              coalesce(${reachable('ANDROID')}, false) as reach_android,
              coalesce(${reachable('WEB')}, false) as reach_web
              ${appFlags.join('')}
       from u left join t on t.user_id = u.user_id
       group by u.user_id, u.state
     )
     select count(*)::int as total,
            count(*) filter (where v.state <> 'UNSUBSCRIBED' and v.reach_ios)::int as ios_push,
            count(*) filter (where v.state <> 'UNSUBSCRIBED' and v.reach_android)::int as android_push,
            count(*) filter (where v.state <> 'UNSUBSCRIBED' and v.reach_web)::int as web_push
     from v where ${where}`,
    params,
  );
  return {
    total: row.total,
    reachable: { ios_push: row.ios_push, android_push: row.android_push, web_push: row.web_push },
  };
}

/** The filter as a condition on `v`'s per-user flags; values are parameters, apps are collected for their columns. */
function compile(filter: SegmentFilter, params: unknown[], apps: string[]): string {
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if ('and' in filter) return `(${filter.and.map((f) => compile(f, params, apps)).join(' and ')})`;
  if ('or' in filter) return `(${filter.or.map((f) => compile(f, params, apps)).join(' or ')})`;
  if ('not' in filter) return `(not ${compile(filter.not, params, apps)})`;
  if ('push_enabled' in filter) return `((v.state <> 'UNSUBSCRIBED' and v.foreground) = ${param(filter.push_enabled)})`;
  if ('push_enabled_for_app' in filter) {
    let i = apps.indexOf(filter.push_enabled_for_app);
    if (i < 0) i = apps.push(filter.push_enabled_for_app) - 1;
    return `coalesce(v.app_${i}, false)`;
  }
  if ('foreground_push_enabled' in filter) return `(v.foreground = ${param(filter.foreground_push_enabled)})`;
  if ('background_push_enabled' in filter) return `(v.background = ${param(filter.background_push_enabled)})`;
  if ('push_subscription' in filter) return `(v.state = ${param(filter.push_subscription.toUpperCase())})`;
  if ('platform' in filter) return `v.on_${PLATFORM[filter.platform].toLowerCase()}`;
  return `(v.user_id = any(${param(filter.user_ids)}::text[]))`;
}
