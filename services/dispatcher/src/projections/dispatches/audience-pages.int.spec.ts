import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import type { DispatchRequested, Platform, Topics } from '@push/contracts';
import type { ConsumedEvent } from '@push/event-bus';
import { type SegmentFilter, randomSegmentFilter } from '@push/segments';
import { openDatabase } from '@push/service-kit';
import {
  type DispatchAudienceSpec,
  dispatchEvents,
  dropDatabase,
  seededRandom,
  uniqueDatabaseUrl,
} from '@push/testing';
import {
  type AudienceFacts,
  type DeviceFacts,
  type SubscriptionStatus,
  type UserFacts,
  audienceOf,
  planDispatch,
} from '../../domain/dispatch-plan';
import { DispatcherMetrics } from '../../dispatcher-metrics';
import { dispatcherServiceSendingThrough } from '../../service';
import { RecordingProviderModule } from '../../test-support/recording-push-provider';
import { forEachAudiencePage } from '../eligibility/audience-facts';
import { DispatchRequestsProjection } from './dispatch-requests.projection';

jest.setTimeout(120_000);

const CASES = 80;
const PAGE_SIZES = [1, 2, 7, Infinity];
const USERS = 8;
const DEVICES = 16;
const APPS: { app_id: string; platform: Platform }[] = [
  { app_id: 'ios-app', platform: 'IOS' },
  { app_id: 'android-app', platform: 'ANDROID' },
  { app_id: 'web-app', platform: 'WEB' },
];
const STATES: SubscriptionStatus[] = ['SUBSCRIBED', 'OPTED_IN', 'UNSUBSCRIBED'];
const DELIVERY = ['UNUSED', 'SENT', 'BOUNCED', 'SUPPRESSED'] as const;

/** One `eligible_devices` row; `platform` null: no record named it yet (unknown to the plan). */
interface DeviceRow {
  app_id: string;
  device_id: string;
  platform: Platform | null;
  user_id: string | null;
  token: string | null;
  foreground_enabled: boolean;
  background_enabled: boolean;
  delivery_status: (typeof DELIVERY)[number];
  last_session_at_ms: number | null;
}

interface LoggedRow {
  app_id: string;
  device_id: string;
  state: 'sent' | 'bounced' | 'failed';
}

/** A workspace's random read model, a request against it, and what `dispatch.outcomes.v1` may already say of it. */
interface Case {
  workspace: string;
  devices: DeviceRow[];
  states: Map<string, SubscriptionStatus>;
  request: (dispatchId: string) => DispatchRequested;
  logged: LoggedRow[];
  completed: boolean;
}

/** A random filter, or everyone (`not` of no user ids) one time in eight. */
const randomFilter = (rnd: () => number): SegmentFilter =>
  rnd() < 0.125
    ? { not: { user_ids: [] } }
    : randomSegmentFilter(rnd, {
        appIds: APPS.map((a) => a.app_id),
        userIds: (r) => Array.from({ length: Math.floor(r() * 4) }, () => `u${Math.floor(r() * (USERS + 2))}`),
        maxDepth: 3,
      });

function randomCase(seed: number): Case {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const workspace = `ws-${seed}`;
  const devices: DeviceRow[] = Array.from({ length: DEVICES }, (_, d) => {
    const app = pick(APPS);
    return {
      app_id: app.app_id,
      device_id: `d${d}`,
      platform: rnd() < 0.1 ? null : app.platform,
      user_id: rnd() < 0.15 ? null : `u${Math.floor(rnd() * USERS)}`,
      token: rnd() < 0.2 ? null : `token-${d}`,
      foreground_enabled: rnd() < 0.6,
      background_enabled: rnd() < 0.7,
      delivery_status: pick(DELIVERY),
      // Few distinct sessions: D4 ties are decided by app and device id.
      last_session_at_ms: rnd() < 0.25 ? null : pick([1000, 2000, 3000]),
    };
  });
  const states = new Map<string, SubscriptionStatus>();
  for (let u = 0; u < USERS; u++) if (rnd() < 0.6) states.set(`u${u}`, pick(STATES));
  const kind = rnd();
  const audience: DispatchAudienceSpec =
    kind < 0.4
      ? { user_ids: Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => `u${Math.floor(rnd() * (USERS + 2))}`) }
      : kind < 0.8
        ? { filter_json: JSON.stringify(randomFilter(rnd)) }
        : { app_id: pick(APPS).app_id, device_id: `d${Math.floor(rnd() * (DEVICES + 2))}` };
  const options = {
    include_unsubscribed: rnd() < 0.3,
    transactional: 'app_id' in audience ? rnd() < 0.9 : rnd() < 0.2,
    last_active_device_only: rnd() < 0.5,
    app_ids: rnd() < 0.7 ? [] : APPS.filter(() => rnd() < 0.5).map((a) => a.app_id),
  };
  const message = rnd() < 0.3 ? { title: null, body: null, silent: true } : {};
  const logged: LoggedRow[] = [];
  if (rnd() < 0.25)
    for (let i = 0; i < 1 + Math.floor(rnd() * 3); i++) {
      const device = pick(devices);
      if (!logged.some((l) => l.app_id === device.app_id && l.device_id === device.device_id))
        logged.push({ app_id: device.app_id, device_id: device.device_id, state: pick(['sent', 'bounced', 'failed']) });
    }
  return {
    workspace,
    devices,
    states,
    request: (dispatchId) =>
      dispatchEvents.dispatchRequested(dispatchId, workspace, audience, { message, options }).data,
    logged,
    completed: logged.length > 0 && rnd() < 0.2,
  };
}

/** The whole audience's facts at once, built from the case itself (not read back): the reference plan's input. */
function wholeAudience(c: Case, request: DispatchRequested): AudienceFacts {
  const known = c.devices.filter((d) => d.platform !== null);
  const factsOf = (d: DeviceRow): DeviceFacts => ({
    app_id: d.app_id,
    device_id: d.device_id,
    platform: d.platform!,
    user_id: d.user_id,
    token: d.token,
    foreground_enabled: d.foreground_enabled,
    background_enabled: d.background_enabled,
    suppressed: d.delivery_status === 'SUPPRESSED',
    last_session_at: d.last_session_at_ms,
  });
  const users = new Map<string, UserFacts & { devices: DeviceFacts[] }>();
  for (const [user_id, subscription] of c.states) users.set(user_id, { user_id, subscription, devices: [] });
  for (const d of known) {
    if (d.user_id === null) continue;
    if (!users.has(d.user_id)) users.set(d.user_id, { user_id: d.user_id, subscription: 'SUBSCRIBED', devices: [] });
    users.get(d.user_id)!.devices.push(factsOf(d));
  }
  const audience = audienceOf(request.audience);
  if (audience.kind !== 'device') return { users, device: null };
  const device = known.find((d) => d.app_id === audience.app_id && d.device_id === audience.device_id);
  if (!device) return { users: new Map(), device: null };
  return {
    users: new Map(),
    device: { device: factsOf(device), user: device.user_id === null ? null : users.get(device.user_id)! },
  };
}

interface TargetOut {
  key: string;
  user_id: string | null;
  platform: string;
  token: string | null;
  state: string;
  reason: string | null;
}
const byKey = (a: TargetOut, b: TargetOut) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** What the dispatch must record: the logged outcomes, then the plan's devices that have none. */
function expected(c: Case, dispatchId: string) {
  const request = c.request(dispatchId);
  const loggedKeys = new Set(c.logged.map((l) => `${l.app_id}/${l.device_id}`));
  const userOf = (l: LoggedRow) => c.devices.find((d) => d.app_id === l.app_id && d.device_id === l.device_id)!.user_id;
  const targets: TargetOut[] = c.logged.map((l) => ({
    key: `${l.app_id}/${l.device_id}`,
    user_id: userOf(l),
    platform: 'IOS',
    token: null,
    state: l.state,
    reason: null,
  }));
  if (!c.completed)
    for (const { device, skip } of planDispatch(request, wholeAudience(c, request)).targets) {
      const key = `${device.app_id}/${device.device_id}`;
      if (loggedKeys.has(key)) continue;
      targets.push({
        key,
        user_id: device.user_id,
        platform: device.platform,
        token: skip === null ? device.token : null,
        state: skip === null ? 'pending' : 'skipped',
        reason: skip,
      });
    }
  const count = (state: string, reason?: string) =>
    targets.filter((t) => t.state === state && (reason === undefined || t.reason === reason)).length;
  const counts = c.completed
    ? COMPLETION
    : {
        targeted: targets.length,
        sent: count('sent'),
        bounced: count('bounced'),
        failed: count('failed'),
        skipped_unsubscribed: count('skipped', 'unsubscribed'),
        skipped_not_push_enabled: count('skipped', 'not_push_enabled'),
        skipped_suppressed: count('skipped', 'suppressed'),
      };
  return {
    targets: targets.sort(byKey),
    dispatch: {
      status: c.completed ? 'completed' : c.logged.length > 0 ? 'running' : 'pending',
      ...counts,
      remaining: c.completed ? 0 : count('pending'),
    },
  };
}

/** A published completion's counts (any numbers: they are taken as they are). */
const COMPLETION = {
  targeted: 9,
  sent: 4,
  bounced: 1,
  failed: 1,
  skipped_unsubscribed: 1,
  skipped_not_push_enabled: 1,
  skipped_suppressed: 1,
};

describe('DispatchRequestsProjection resolves audiences a page of whole users at a time (real Postgres)', () => {
  const url = uniqueDatabaseUrl('dispatcher_audience_pages');
  let db: DataSource;
  const cases = Array.from({ length: CASES }, (_, i) => randomCase(1000 + i));

  beforeAll(async () => {
    db = await openDatabase({ url, migrations: dispatcherServiceSendingThrough(RecordingProviderModule).migrations });
    for (const c of cases) {
      for (const d of c.devices)
        await db.query(
          `insert into eligible_devices (workspace_id, app_id, device_id, platform, user_id, token, foreground_enabled,
             background_enabled, delivery_status, last_session_at_ms) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [
            c.workspace,
            d.app_id,
            d.device_id,
            d.platform,
            d.user_id,
            d.token,
            d.foreground_enabled,
            d.background_enabled,
            d.delivery_status,
            d.last_session_at_ms,
          ],
        );
      for (const [user_id, state] of c.states)
        await db.query('insert into eligible_users (workspace_id, user_id, state) values ($1, $2, $3)', [
          c.workspace,
          user_id,
          state,
        ]);
    }
  });

  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(url);
  });

  /** Applies the case's request as `dispatchId` with pages of `pageDevices`, after its logged outcomes (a rebuild). */
  async function record(c: Case, dispatchId: string, pageDevices: number) {
    for (const l of c.logged) {
      const device = c.devices.find((d) => d.app_id === l.app_id && d.device_id === l.device_id)!;
      await db.query(
        `insert into logged_outcomes (dispatch_id, app_id, device_id, workspace_id, user_id, platform, state,
           outcome_at_ms) values ($1, $2, $3, $4, $5, 'IOS', $6, 1)`,
        [dispatchId, l.app_id, l.device_id, c.workspace, device.user_id, l.state],
      );
    }
    if (c.completed)
      await db.query(
        `insert into logged_completions (dispatch_id, workspace_id, targeted, sent, bounced, failed, skipped_unsubscribed,
           skipped_not_push_enabled, skipped_suppressed, completed_at_ms)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)`,
        [dispatchId, c.workspace, ...Object.values(COMPLETION)],
      );
    const projection = new DispatchRequestsProjection(new DispatcherMetrics(new Registry()));
    projection.audiencePageDevices = pageDevices;
    const consumed = {
      topic: 'dispatch.requests.v1',
      partition: 0,
      offset: '0',
      key: dispatchId,
      timestamp: 0,
      event: { type: 'DispatchRequested', data: c.request(dispatchId) },
    } as ConsumedEvent<typeof Topics.DispatchRequests>;
    await db.transaction((tx) => projection.apply([consumed], { tx }));
    const targets: TargetOut[] = await db.query(
      `select app_id || '/' || device_id as key, user_id, platform, token, state, reason from dispatch_targets
       where dispatch_id = $1`,
      [dispatchId],
    );
    const [dispatch] = await db.query(
      `select status, targeted, sent, bounced, failed, skipped_unsubscribed, skipped_not_push_enabled,
         skipped_suppressed, remaining from dispatches where dispatch_id = $1`,
      [dispatchId],
    );
    return { targets: targets.sort(byKey), dispatch };
  }

  it('D1–D4, D6 counts: pages of 1, 2, 7 devices and the whole audience at once record the same targets and counts', async () => {
    let planned = 0;
    for (const [i, c] of cases.entries())
      for (const size of PAGE_SIZES) {
        const dispatchId = `case-${i}-pages-${size}`;
        const want = expected(c, dispatchId);
        planned += want.targets.length;
        expect({ case: i, size, ...(await record(c, dispatchId, size)) }).toEqual({ case: i, size, ...want });
      }
    // The cases are not vacuous: devices to send to and skipped ones, D4 among several devices of one user.
    expect(planned).toBeGreaterThan(CASES);
  });

  it('pages hold whole users, each user once, and never more than the page size plus one user’s devices', async () => {
    for (const c of cases.slice(0, 20)) {
      const devicesOfUser = new Map<string, number>();
      for (const d of c.devices)
        if (d.user_id !== null && d.platform !== null)
          devicesOfUser.set(d.user_id, (devicesOfUser.get(d.user_id) ?? 0) + 1);
      const mostOfOneUser = Math.max(0, ...devicesOfUser.values());
      for (const size of PAGE_SIZES) {
        const seen: string[] = [];
        await db.transaction((tx) =>
          forEachAudiencePage(
            tx,
            c.workspace,
            { kind: 'segment', filter_json: '{"not":{"user_ids":[]}}' },
            async (facts) => {
              const pageDevices = [...facts.users.values()].reduce((n, u) => n + u.devices.length, 0);
              expect(pageDevices).toBeLessThanOrEqual(size + mostOfOneUser);
              for (const user of facts.users.values()) {
                expect(user.devices).toHaveLength(devicesOfUser.get(user.user_id)!);
                seen.push(user.user_id);
              }
            },
            size,
          ),
        );
        expect(seen.sort()).toEqual([...devicesOfUser.keys()].sort());
      }
    }
  });
});
