import type { SubscriptionStatus, TokenPlatform, UserView } from '@push/segments';
import type { EntityManager } from 'typeorm';

/**
 * The evaluator's per-user views (`@push/segments`) of the named users of a workspace, from the read model. A user is
 * known when subscription-state published its state or token-registry assigned it a device; one not yet published by
 * subscription-state is SUBSCRIBED (S1). Its tokens are its devices' sendable tokens (anonymous devices are no one's,
 * T4); `suppressed` is bounce-processor's status. Users not known are absent from the map.
 */
export async function loadUserViews(
  db: Pick<EntityManager, 'query'>,
  workspaceId: string,
  userIds: readonly string[],
): Promise<Map<string, UserView>> {
  const users: { user_id: string; state: SubscriptionStatus | null; opted_in_at_ms: string | null }[] = await db.query(
    `select ids.user_id, u.state, u.opted_in_at_ms
     from unnest($2::text[]) as ids(user_id)
     left join audience_users u on u.workspace_id = $1 and u.user_id = ids.user_id
     where u.user_id is not null
        or exists (select 1 from audience_devices d where d.workspace_id = $1 and d.user_id = ids.user_id)`,
    [workspaceId, userIds],
  );
  const views = new Map<string, UserView>();
  for (const u of users) {
    views.set(u.user_id, {
      user_id: u.user_id,
      subscription: u.state ?? 'SUBSCRIBED',
      push_opted_in_at: u.opted_in_at_ms === null ? null : Number(u.opted_in_at_ms),
      tokens: [],
    });
  }
  const devices: {
    user_id: string;
    app_id: string;
    device_id: string;
    platform: TokenPlatform;
    token: string;
    foreground_enabled: boolean;
    background_enabled: boolean;
    delivery_status: string;
  }[] = await db.query(
    `select user_id, app_id, device_id, platform, token, foreground_enabled, background_enabled, delivery_status
     from audience_devices
     where workspace_id = $1 and user_id = any($2::text[]) and token is not null and platform is not null
     order by user_id, app_id, device_id`,
    [workspaceId, userIds],
  );
  for (const d of devices) {
    (views.get(d.user_id)!.tokens as UserView['tokens'][number][]).push({
      app_id: d.app_id,
      device_id: d.device_id,
      token: d.token,
      platform: d.platform,
      foreground_enabled: d.foreground_enabled,
      background_enabled: d.background_enabled,
      suppressed: d.delivery_status === 'SUPPRESSED',
    });
  }
  return views;
}

/**
 * Every user id of a workspace in user-id order, a page at a time (keyset pagination: each page a short indexed
 * query), for exports of any size with a page in memory at once. Run it inside one `REPEATABLE READ` transaction to
 * read one committed snapshot.
 */
export async function* userIdPages(
  db: Pick<EntityManager, 'query'>,
  workspaceId: string,
  pageSize = 1000,
): AsyncGenerator<string[]> {
  let after = '';
  for (;;) {
    const rows: { user_id: string }[] = await db.query(
      `select user_id from (
         (select user_id from audience_users where workspace_id = $1 and user_id > $2 order by user_id limit $3)
         union
         (select distinct user_id from audience_devices where workspace_id = $1 and user_id is not null and user_id > $2
          order by user_id limit $3)
       ) ids order by user_id limit $3`,
      [workspaceId, after, pageSize],
    );
    if (rows.length === 0) return;
    yield rows.map((r) => r.user_id);
    after = rows[rows.length - 1].user_id;
    if (rows.length < pageSize) return;
  }
}

type DeviceOfView = UserView['tokens'][number] & { user_id: string };

/**
 * The views of every user of a workspace in user-id order, a page at a time: each page is the next `pageSize` user
 * ids (as `userIdPages`) and the rows of the users and devices in that id range — three short indexed range scans
 * instead of lookups by id, for a full index build and `export/segment`. The next page's queries are sent while the
 * caller works on the current one (the database and the process work at once; two pages in memory at most). Run it
 * inside one `REPEATABLE READ` transaction to read one committed snapshot. The same views as `loadUserViews` of the
 * page's ids.
 */
export async function* userViewPages(
  db: Pick<EntityManager, 'query'>,
  workspaceId: string,
  pageSize = 2000,
): AsyncGenerator<UserView[]> {
  const ahead = (after: string) => {
    const page = viewPage(db, workspaceId, after, pageSize);
    page.catch(() => undefined); // handled: its error is thrown where it is awaited, not as an unhandled rejection
    return page;
  };
  let next: Promise<ViewPage> | undefined = ahead('');
  while (next) {
    const page: ViewPage = await next;
    next = page.views.length === pageSize ? ahead(page.last) : undefined;
    if (page.views.length === 0) return;
    try {
      yield page.views;
    } finally {
      // Also when the caller stops early: the query sent ahead ends before the connection is given back.
      await next?.catch(() => undefined);
    }
  }
}

interface ViewPage {
  views: UserView[];
  last: string;
}

async function viewPage(
  db: Pick<EntityManager, 'query'>,
  workspaceId: string,
  after: string,
  pageSize: number,
): Promise<ViewPage> {
  const ids: { user_id: string }[] = await db.query(
    `select user_id from (
       (select user_id from audience_users where workspace_id = $1 and user_id > $2 order by user_id limit $3)
       union
       (select distinct user_id from audience_devices where workspace_id = $1 and user_id is not null and user_id > $2
        order by user_id limit $3)
     ) ids order by user_id limit $3`,
    [workspaceId, after, pageSize],
  );
  if (ids.length === 0) return { views: [], last: after };
  const last = ids[ids.length - 1].user_id;
  const [users, devices]: [
    { user_id: string; state: SubscriptionStatus; opted_in_at_ms: string | null }[],
    (Omit<DeviceOfView, 'suppressed'> & { delivery_status: string })[],
  ] = await Promise.all([
    db.query(
      `select user_id, state, opted_in_at_ms from audience_users
       where workspace_id = $1 and user_id > $2 and user_id <= $3`,
      [workspaceId, after, last],
    ),
    db.query(
      `select user_id, app_id, device_id, platform, token, foreground_enabled, background_enabled, delivery_status
       from audience_devices
       where workspace_id = $1 and user_id > $2 and user_id <= $3 and token is not null and platform is not null
       order by user_id, app_id, device_id`,
      [workspaceId, after, last],
    ),
  ]);
  const stateOf = new Map(users.map((u) => [u.user_id, u]));
  const tokensOf = new Map<string, UserView['tokens'][number][]>();
  for (const d of devices) {
    let tokens = tokensOf.get(d.user_id);
    if (!tokens) tokensOf.set(d.user_id, (tokens = []));
    tokens.push({
      app_id: d.app_id,
      device_id: d.device_id,
      token: d.token,
      platform: d.platform,
      foreground_enabled: d.foreground_enabled,
      background_enabled: d.background_enabled,
      suppressed: d.delivery_status === 'SUPPRESSED',
    });
  }
  const views = ids.map(({ user_id }): UserView => {
    const user = stateOf.get(user_id);
    return {
      user_id,
      subscription: user?.state ?? 'SUBSCRIBED',
      push_opted_in_at: user?.opted_in_at_ms == null ? null : Number(user.opted_in_at_ms),
      tokens: tokensOf.get(user_id) ?? [],
    };
  });
  return { views, last };
}
