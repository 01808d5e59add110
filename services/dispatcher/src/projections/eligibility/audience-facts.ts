import type { EntityManager } from 'typeorm';
import type { AudienceFacts, AudienceOf, DeviceFacts, SubscriptionStatus, UserFacts } from '../../domain/dispatch-plan';

type Db = Pick<EntityManager, 'query'>;

/**
 * Devices an audience page holds, plus the rest of its last user's: what a resolution keeps in memory at once, whatever
 * the audience's size.
 */
export const AUDIENCE_PAGE_DEVICES = 5_000;

interface DeviceRow {
  app_id: string;
  device_id: string;
  platform: DeviceFacts['platform'];
  user_id: string | null;
  token: string | null;
  foreground_enabled: boolean;
  background_enabled: boolean;
  delivery_status: string;
  last_session_at_ms: string | null;
}

const DEVICE_FIELDS: readonly (keyof DeviceRow)[] = [
  'app_id',
  'device_id',
  'platform',
  'user_id',
  'token',
  'foreground_enabled',
  'background_enabled',
  'delivery_status',
  'last_session_at_ms',
];
const deviceColumns = (alias?: string) => DEVICE_FIELDS.map((f) => (alias ? `${alias}.${f}` : f)).join(', ');

const factsOf = (row: DeviceRow): DeviceFacts => ({
  app_id: row.app_id,
  device_id: row.device_id,
  platform: row.platform,
  user_id: row.user_id,
  token: row.token,
  foreground_enabled: row.foreground_enabled,
  background_enabled: row.background_enabled,
  suppressed: row.delivery_status === 'SUPPRESSED',
  last_session_at: row.last_session_at_ms === null ? null : Number(row.last_session_at_ms),
});

/** Read by `forEachAudiencePage`, one resolution at a time per transaction (requests are applied one after another). */
const CURSOR = 'audience_devices';

/**
 * What the read model knows of an audience, for `planDispatch`, handed to `onPage` a page of **whole users** at a time:
 * each user with all its devices (a device no record has named a platform of yet is unknown: nothing can be sent to
 * it) and subscription-state's state — SUBSCRIBED for a user token-registry names and subscription-state has not
 * published yet (S1). A user's plan depends on that user's facts only, but on all of them (D4 picks among the user's
 * devices, a segment filter looks at all its tokens), so pages never split a user. A UserAudience reads its users'
 * devices, a SegmentAudience every user's device of the workspace (the filter is evaluated by @push/segments in the
 * domain), a DeviceAudience is one page: its device and that device's user. A user without devices is in no page: it
 * would add nothing to any plan.
 *
 * The devices are read through one cursor, in user order, `pageDevices` rows per fetch; a page is what was fetched
 * less the last user's rows, which may go on in the next fetch and are carried over to it. One cursor is one snapshot
 * of the read model for the whole audience: the transaction is READ COMMITTED, so keyset pages (one query each) could
 * see a device that moved between users while the pages were read twice, or not at all. `pageDevices` Infinity reads
 * the whole audience as one page.
 */
export async function forEachAudiencePage(
  db: Db,
  workspaceId: string,
  audience: AudienceOf,
  onPage: (facts: AudienceFacts) => Promise<void>,
  pageDevices: number = AUDIENCE_PAGE_DEVICES,
): Promise<void> {
  if (audience.kind === 'device') return onPage(await deviceAudienceFacts(db, workspaceId, audience));
  if (!(pageDevices === Infinity || (Number.isSafeInteger(pageDevices) && pageDevices > 0)))
    throw new RangeError(`pageDevices must be a positive integer or Infinity, not ${pageDevices}`);
  const named = audience.kind === 'users' ? [...new Set(audience.user_ids)] : null;
  await db.query(
    `declare ${CURSOR} no scroll cursor for
     select ${deviceColumns('d')}, u.state
     from eligible_devices d
     left join eligible_users u on u.workspace_id = d.workspace_id and u.user_id = d.user_id
     where d.workspace_id = $1 and d.user_id is not null and d.platform is not null
       ${named ? 'and d.user_id = any($2::text[])' : ''}
     order by d.user_id`,
    named ? [workspaceId, named] : [workspaceId],
  );
  try {
    let carried: (DeviceRow & { state: SubscriptionStatus | null })[] = [];
    for (;;) {
      const fetched: typeof carried = await db.query(
        `fetch ${pageDevices === Infinity ? 'all' : `forward ${pageDevices}`} from ${CURSOR}`,
      );
      const done = fetched.length < pageDevices;
      const rows = carried.length === 0 ? fetched : carried.concat(fetched);
      let end = rows.length;
      if (!done) {
        const last = rows[rows.length - 1].user_id;
        while (end > 0 && rows[end - 1].user_id === last) end--;
      }
      if (end > 0) await onPage(usersOf(rows.slice(0, end)));
      carried = rows.slice(end);
      if (done) return;
    }
  } finally {
    // After a failed statement the transaction refuses this too; its rollback closes the cursor anyway.
    await db.query(`close ${CURSOR}`).catch(() => undefined);
  }
}

/** A page's rows (whole users, grouped by user) as the users the plan may name. */
function usersOf(rows: readonly (DeviceRow & { state: SubscriptionStatus | null })[]): AudienceFacts {
  const users = new Map<string, UserFacts & { devices: DeviceFacts[] }>();
  for (const row of rows) {
    let user = users.get(row.user_id!);
    if (!user)
      users.set(row.user_id!, (user = { user_id: row.user_id!, subscription: row.state ?? 'SUBSCRIBED', devices: [] }));
    user.devices.push(factsOf(row));
  }
  return { users, device: null };
}

async function deviceAudienceFacts(
  db: Db,
  workspaceId: string,
  audience: Extract<AudienceOf, { kind: 'device' }>,
): Promise<AudienceFacts> {
  const [row]: DeviceRow[] = await db.query(
    `select ${deviceColumns()} from eligible_devices
     where workspace_id = $1 and app_id = $2 and device_id = $3 and platform is not null`,
    [workspaceId, audience.app_id, audience.device_id],
  );
  if (!row) return { users: new Map(), device: null };
  const device = factsOf(row);
  if (device.user_id === null) return { users: new Map(), device: { device, user: null } };
  const [state]: { state: SubscriptionStatus }[] = await db.query(
    'select state from eligible_users where workspace_id = $1 and user_id = $2',
    [workspaceId, device.user_id],
  );
  const user = { user_id: device.user_id, subscription: state?.state ?? 'SUBSCRIBED', devices: [device] };
  return { users: new Map(), device: { device, user } };
}
