import type { SegmentFilter, SegmentSize } from '@push/segments';
import type { EntityManager } from 'typeorm';

const PLATFORM = { ios: 'IOS', android: 'ANDROID', web: 'WEB' } as const;

/**
 * `POST /segments/size` computed exactly by Postgres over the read model — the straightforward SQL (the correct
 * reference; the fast index of issue 13 is still to come). The same semantics as `@push/segments`' evaluator over
 * `loadUserViews`: the users of the workspace (subscription-state's, and those token-registry assigned a device,
 * SUBSCRIBED by S1), their tokens the sendable tokens of their devices (T4: anonymous devices are no one's).
 */
export async function segmentSizeSql(
  db: Pick<EntityManager, 'query'>,
  workspaceId: string,
  filter: SegmentFilter,
): Promise<SegmentSize> {
  const params: unknown[] = [workspaceId];
  const where = compile(filter, params);
  const reachable = (platform: string) =>
    `count(*) filter (where u.state <> 'UNSUBSCRIBED' and exists (select 1 from t where t.user_id = u.user_id
       and t.platform = '${platform}' and t.foreground_enabled and not t.suppressed))::int`;
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
     )
     select count(*)::int as total, ${reachable('IOS')} as ios_push, ${reachable('ANDROID')} as android_push,
            ${reachable('WEB')} as web_push
     from u where ${where}`,
    params,
  );
  return {
    total: row.total,
    reachable: { ios_push: row.ios_push, android_push: row.android_push, web_push: row.web_push },
  };
}

const hasToken = (condition: string) => `exists (select 1 from t where t.user_id = u.user_id and ${condition})`;

function compile(filter: SegmentFilter, params: unknown[]): string {
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if ('and' in filter) return `(${filter.and.map((f) => compile(f, params)).join(' and ')})`;
  if ('or' in filter) return `(${filter.or.map((f) => compile(f, params)).join(' or ')})`;
  if ('not' in filter) return `(not ${compile(filter.not, params)})`;
  if ('push_enabled' in filter)
    return `((u.state <> 'UNSUBSCRIBED' and ${hasToken('t.foreground_enabled')}) = ${param(filter.push_enabled)})`;
  if ('push_enabled_for_app' in filter)
    return hasToken(`t.app_id = ${param(filter.push_enabled_for_app)} and t.foreground_enabled`);
  if ('foreground_push_enabled' in filter)
    return `(${hasToken('t.foreground_enabled')} = ${param(filter.foreground_push_enabled)})`;
  if ('background_push_enabled' in filter)
    return `(${hasToken('t.background_enabled')} = ${param(filter.background_push_enabled)})`;
  if ('push_subscription' in filter) return `(u.state = ${param(filter.push_subscription.toUpperCase())})`;
  if ('platform' in filter) return hasToken(`t.platform = ${param(PLATFORM[filter.platform])}`);
  return `(u.user_id = any(${param(filter.user_ids)}::text[]))`;
}
