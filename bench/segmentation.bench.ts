// segmentation benchmark (issue 13): U users and 1.5·U devices over 3 apps of one workspace, plus a second workspace
// of 0.2·U users (the same user ids) that must never leak into the first one's counts, loaded through the topics — the
// owners' records published onto token-registry.device-tokens.v1, subscription-state.user-subscriptions.v1 and
// bounce-processor.device-delivery.v1, consumed by the built service (dist/services/segmentation/src/main.js) as its own
// process with its defaults. Then, in the same run:
//   - the index's start-up: the service restarted, time until every workspace's index is built; its memory;
//   - POST /segments/size (medians of --runs queries): push_enabled, a four-predicate filter under and/or/not, the
//     per-platform reachable counts of everyone — each checked against the straightforward SQL (a COUNT over a join of
//     users and devices, timed too: the ratio);
//   - POST /users/export/ids of 50 users (median);
//   - POST /users/export/segment of every user as NDJSON and as CSV: users/s and the server's peak RSS meanwhile;
//   - freshness: an upstream record published → the size changed, p50/p99.
//   npm run bench:segmentation -- [--users 1000000] [--runs 30] [--sql-runs 5] [--export-runs 1]  (swc-compiled to dist/)
// Prints the figures, writes bench/results/segmentation-latest.json; drops its database and deletes its topics and
// consumer groups even when it fails.
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Client } from 'pg';
import {
  MessageKeys,
  Platform,
  PushPermission,
  SubscriptionState,
  Topics,
  encodeEvent,
  type DeviceDeliveryEvent,
  type DeviceTokenEvent,
  type UserSubscriptionEvent,
} from '@push/contracts';
import { EventProducer, RawMessage, createKafka, provisionTopics } from '@push/event-bus';
import type { SegmentFilter, SegmentSize } from '@push/segments';
import {
  deliveryEvents,
  deviceTokenEvents,
  dropDatabase,
  subscriptionEvents,
  testBrokers,
  uniqueDatabaseUrl,
} from '@push/testing';
import { segmentSizeSql } from '../services/segmentation/src/projections/audience/segment-size-sql';
import { argValue, median, scrapeBusMetrics, serviceNodeArgs, writeResults } from './support';

const USERS = Number(argValue('--users', '1000000'));
const RUNS = Number(argValue('--runs', '30'));
const SQL_RUNS = Number(argValue('--sql-runs', '5'));
const EXPORT_RUNS = Number(argValue('--export-runs', '1'));
const PORT = Number(argValue('--port', '39106'));
const SERVICE_NODE_ARGS = serviceNodeArgs();
const PARTITIONS = 6;
const GROUP = 'segmentation.audience';

const WORKSPACE = 'ws-bench';
const OTHER_WORKSPACE = 'ws-bench-other';
const DEVICES = Math.round(USERS * 1.5);
const OTHER_USERS = Math.round(USERS * 0.2);
const OTHER_DEVICES = Math.round(OTHER_USERS * 1.5);
const KEYS = { [WORKSPACE]: 'bench', [OTHER_WORKSPACE]: 'bench-other' } as const;
const START = Date.UTC(2026, 10, 1);

const mix = (i: number) => Math.imul(i ^ (i >>> 15), 2654435761) >>> 0;
const userId = (u: number) => `user-${String(u).padStart(7, '0')}`;

/** The filters measured (the four-predicate one: G1 and (platform or G5) and not G3-false). */
const FILTERS: Record<string, SegmentFilter> = {
  push_enabled: { push_enabled: true },
  four_predicate: {
    and: [
      { push_enabled_for_app: 'ios-app' },
      { or: [{ platform: 'android' }, { push_subscription: 'opted_in' }] },
      { not: { background_push_enabled: false } },
    ],
  },
  reachable_per_platform: { not: { user_ids: [] } },
};

// ---- the owners' records -------------------------------------------------------------------------------------------

type Outgoing = { topic: string; key: string; value: Buffer };

/** Subscription-state's record of user u: 70 % SUBSCRIBED, 18 % OPTED_IN, 12 % UNSUBSCRIBED. */
function userRecord(prefix: string, workspace_id: string, u: number): Outgoing {
  const roll = mix(u * 3 + 1) % 100;
  const state: SubscriptionState = roll < 70 ? 'SUBSCRIBED' : roll < 88 ? 'OPTED_IN' : 'UNSUBSCRIBED';
  const event: UserSubscriptionEvent = subscriptionEvents.stateChanged(
    { workspace_id, user_id: userId(u) },
    START + u,
    state,
  );
  return {
    topic: prefix + Topics.UserSubscriptions,
    key: MessageKeys.user(workspace_id, userId(u)),
    value: encodeEvent(Topics.UserSubscriptions, event),
  };
}

/**
 * Token-registry's records of device d (its capability, then its token) and, for 3 % of devices, bounce-processor's
 * SUPPRESSED. Devices 0…users-1 are one per user, the rest go to random users; 4 % are anonymous (T4). 45 % iOS, 45 %
 * Android, 10 % web (one app each); 72 % authorized, 8 % provisional (iOS), 15 % denied, 5 % not determined.
 */
function deviceRecords(prefix: string, workspace_id: string, users: number, d: number): Outgoing[] {
  const kind = d % 20;
  const platform: Platform = kind < 9 ? 'IOS' : kind < 18 ? 'ANDROID' : 'WEB';
  const app_id = platform === 'IOS' ? 'ios-app' : platform === 'ANDROID' ? 'android-app' : 'web-app';
  const device = { workspace_id, app_id, device_id: `device-${d}` };
  const user_id = mix(d * 5 + 2) % 100 < 4 ? null : userId(d < users ? d : mix(d) % users);
  const roll = mix(d + 7) % 100;
  const permission: PushPermission =
    roll < 72
      ? 'AUTHORIZED'
      : roll < 80
        ? platform === 'IOS'
          ? 'PROVISIONAL'
          : 'AUTHORIZED'
        : roll < 95
          ? 'DENIED'
          : 'NOT_DETERMINED';
  const os_version = platform === 'IOS' ? '17.4' : platform === 'ANDROID' ? '14' : null;
  const token =
    platform === 'IOS'
      ? d.toString(16).padStart(64, '0')
      : platform === 'ANDROID'
        ? `fcm-${d.toString(36)}:APA91b${'x'.repeat(130)}`
        : JSON.stringify({
            endpoint: `https://fcm.googleapis.com/fcm/send/${d.toString(36)}`,
            keys: { p256dh: 'B'.repeat(87), auth: 'a'.repeat(22) },
          });
  const at = START + d;
  const key = MessageKeys.device(workspace_id, app_id, device.device_id);
  const tokens = (event: DeviceTokenEvent): Outgoing => ({
    topic: prefix + Topics.DeviceTokens,
    key,
    value: encodeEvent(Topics.DeviceTokens, event),
  });
  const records = [
    tokens(deviceTokenEvents.pushCapabilityChanged(device, at, { user_id, platform, permission, os_version })),
    tokens(deviceTokenEvents.tokenAssigned(device, at, token, { user_id, platform })),
  ];
  if (mix(d * 11 + 5) % 100 < 3) {
    const suppressed: DeviceDeliveryEvent = deliveryEvents.deliveryStatusChanged(
      device,
      at + 1,
      'SUPPRESSED',
      'BOUNCED',
      {
        platform,
        user_id,
      },
    );
    records.push({ topic: prefix + Topics.DeviceDelivery, key, value: encodeEvent(Topics.DeviceDelivery, suppressed) });
  }
  return records;
}

/** A token of a new device of a user never seen (token-registry's record names the user: one more user). */
function freshDevice(prefix: string, i: number): Outgoing {
  const device = { workspace_id: WORKSPACE, app_id: 'ios-app', device_id: `fresh-device-${i}` };
  const event = deviceTokenEvents.tokenAssigned(device, Date.now(), i.toString(16).padStart(64, 'f'), {
    user_id: `fresh-user-${i}`,
    platform: 'IOS',
  });
  return {
    topic: prefix + Topics.DeviceTokens,
    key: MessageKeys.device(WORKSPACE, device.app_id, device.device_id),
    value: encodeEvent(Topics.DeviceTokens, event),
  };
}

/** Publishes every record of both workspaces; returns how many. */
async function preload(prefix: string): Promise<number> {
  const brokers = testBrokers();
  await provisionTopics({
    brokers,
    partitions: PARTITIONS,
    topics: [Topics.DeviceTokens, Topics.UserSubscriptions, Topics.DeviceDelivery].map((t) => prefix + t),
  });
  const producer = new EventProducer({ brokers, clientId: 'bench-preload' });
  const bar = new SingleBar({ format: 'preload   [{bar}] {value}/{total} users and devices' });
  const shapes = [
    { workspace: WORKSPACE, users: USERS, devices: DEVICES },
    { workspace: OTHER_WORKSPACE, users: OTHER_USERS, devices: OTHER_DEVICES },
  ];
  bar.start(
    shapes.reduce((n, s) => n + s.users + s.devices, 0),
    0,
  );
  let published = 0;
  let done = 0;
  try {
    for (const { workspace, users, devices } of shapes) {
      for (let from = 0; from < users + devices; from += 10_000) {
        const batch: RawMessage[] = [];
        for (let i = from; i < Math.min(users + devices, from + 10_000); i++) {
          if (i < users) batch.push(userRecord(prefix, workspace, i));
          else batch.push(...deviceRecords(prefix, workspace, users, i - users));
        }
        await producer.sendRaw(batch);
        published += batch.length;
        done += Math.min(users + devices, from + 10_000) - from;
        bar.update(done);
      }
    }
  } finally {
    bar.stop();
    await producer.disconnect();
  }
  return published;
}

// ---- the service ---------------------------------------------------------------------------------------------------

function startService(databaseUrl: string, prefix: string): ChildProcess {
  return spawn(process.execPath, [...SERVICE_NODE_ARGS, resolve('dist/services/segmentation/src/main.js')], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
      PORT: String(PORT),
      LOG_LEVEL: 'warn',
      API_KEYS: Object.entries(KEYS)
        .map(([workspace, key]) => `${key}=${workspace}`)
        .join(','),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((r) => (child.once('exit', () => r()), child.kill('SIGTERM')));
}

const statusKb = (pid: number, field: 'VmRSS' | 'VmHWM') =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const rssMb = (pid: number) => statusKb(pid, 'VmRSS') / 1024;

/** Samples the child's RSS every 50 ms while `work` runs; its peak in MB. */
async function peakRssDuring<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
  try {
    const result = await work();
    return { result, peakMb: Math.max(peak, rssMb(pid)) };
  } finally {
    clearInterval(timer);
  }
}

async function metricsText(): Promise<string | null> {
  try {
    return await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
  } catch {
    return null;
  }
}

const metricValue = (text: string, pattern: string) =>
  [...text.matchAll(new RegExp(`^${pattern}(?:[,{][^}]*\\})? (\\S+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);

/** The gauge of one workspace (labels: workspace_id and the registry's service label). */
function gaugeOf(text: string, name: string, workspace: string): number | undefined {
  const m = new RegExp(`^${name}\\{[^}]*workspace_id="${workspace}"[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

async function post(
  path: string,
  body: unknown,
  workspace: keyof typeof KEYS = WORKSPACE,
): Promise<{ ms: number; status: number; body: unknown }> {
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${PORT}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS[workspace]}` },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  return { ms: performance.now() - started, status: response.status, body: json };
}

async function size(filter: SegmentFilter, workspace: keyof typeof KEYS = WORKSPACE) {
  const answer = await post('/segments/size', { filter }, workspace);
  if (answer.status !== 200)
    throw new Error(`/segments/size answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return { ms: answer.ms, size: answer.body as SegmentSize };
}

/** Streams a whole export, counting its lines (LF bytes) without keeping it; users/s. */
async function exportAll(format: 'ndjson' | 'csv'): Promise<{ users: number; seconds: number }> {
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${PORT}/users/export/segment`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${KEYS[WORKSPACE]}`,
      accept: format === 'csv' ? 'text/csv' : 'application/x-ndjson',
    },
    body: JSON.stringify({ filter: FILTERS.reachable_per_platform }),
  });
  if (response.status !== 200 || !response.body) throw new Error(`export/segment answered ${response.status}`);
  let lines = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines += 1;
  }
  return { users: format === 'csv' ? lines - 1 : lines, seconds: (performance.now() - started) / 1000 };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const round = (n: number, digits = 1) => Number(n.toFixed(digits));

// ---- the run -------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const prefix = `bench.segmentation.${Date.now()}.`;
  const url = uniqueDatabaseUrl('bench_segmentation');
  console.log(
    `segmentation benchmark: ${USERS} users and ${DEVICES} devices in ${WORKSPACE}, ${OTHER_USERS} users and ${OTHER_DEVICES} devices in ${OTHER_WORKSPACE}, ${PARTITIONS} partitions, ${RUNS} queries per figure, node ${process.version}`,
  );
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  const db = new Client({ connectionString: url });
  let dbOpen = false;
  try {
    const publishStarted = performance.now();
    const records = await preload(prefix);
    const publishSeconds = (performance.now() - publishStarted) / 1000;

    // Load: the service consumes every record into its read model (and keeps its indexes current meanwhile).
    child = startService(url, prefix);
    const bar = new SingleBar({ format: 'load      [{bar}] {value}/{total} records applied' });
    bar.start(records, 0);
    let loadStarted: number | undefined;
    let progress = { at: performance.now(), applied: -1 };
    for (;;) {
      if (child.exitCode !== null) throw new Error(`segmentation exited with code ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 500));
      const sample = await scrapeBusMetrics(PORT, GROUP);
      if (!sample) continue;
      const now = performance.now();
      if (sample.applied !== progress.applied) progress = { at: now, applied: sample.applied };
      if (now - progress.at > 120_000) throw new Error(`no progress for 2 minutes (${progress.applied} applied)`);
      if (loadStarted === undefined && sample.applied > 0) loadStarted = now;
      bar.update(sample.applied);
      if (sample.applied >= records) break;
    }
    bar.stop();
    const loadSeconds = (performance.now() - loadStarted!) / 1000;
    const loadPeakRssMb = statusKb(child.pid!, 'VmHWM') / 1024;
    await stopService(child);

    // Start-up: a fresh process builds every workspace's index from the read model.
    const spawned = performance.now();
    child = startService(url, prefix);
    let startup: { ms: number; text: string } | undefined;
    while (!startup) {
      if (child.exitCode !== null) throw new Error(`segmentation exited with code ${child.exitCode}`);
      if (performance.now() - spawned > 300_000) throw new Error('indexes not built in 5 minutes');
      await new Promise((r) => setTimeout(r, 100));
      const text = await metricsText();
      if (
        text &&
        gaugeOf(text, 'segmentation_index_users', WORKSPACE) === USERS &&
        gaugeOf(text, 'segmentation_index_users', OTHER_WORKSPACE) === OTHER_USERS
      )
        startup = { ms: performance.now() - spawned, text };
    }
    const index = {
      startup_until_built_ms: Math.round(startup.ms),
      build_seconds_sum: round(metricValue(startup.text, 'segmentation_index_build_seconds_sum'), 2),
      builds: metricValue(startup.text, 'segmentation_index_build_seconds_count'),
      typed_array_mb: round((gaugeOf(startup.text, 'segmentation_index_bytes', WORKSPACE) ?? 0) / 2 ** 20),
      other_workspace_typed_array_mb: round(
        (gaugeOf(startup.text, 'segmentation_index_bytes', OTHER_WORKSPACE) ?? 0) / 2 ** 20,
      ),
      service_rss_after_build_mb: Math.round(rssMb(child.pid!)),
      service_heap_used_after_build_mb: Math.round(metricValue(startup.text, 'nodejs_heap_size_used_bytes') / 2 ** 20),
    };
    console.log(`index: ${JSON.stringify(index)}`);

    // Sizes: the index through HTTP, each answer checked against the straightforward SQL over the same read model.
    await db.connect();
    dbOpen = true;
    // segmentSizeSql takes anything with TypeORM's query(sql, params) → rows; a pg client's rows are the same.
    const sqlDb = {
      query: async (sql: string, params?: unknown[]) => (await db.query(sql, params)).rows,
    } as unknown as Parameters<typeof segmentSizeSql>[0];
    const servedBefore = metricValue((await metricsText())!, 'segmentation_sizes_served_total\\{source="index"');
    const sizes: Record<string, unknown> = {};
    let sizeQueries = 0;
    for (const [name, filter] of Object.entries(FILTERS)) {
      const sqlTimes: number[] = [];
      let expected: SegmentSize | undefined;
      for (let i = 0; i < SQL_RUNS; i++) {
        const started = performance.now();
        expected = await segmentSizeSql(sqlDb, WORKSPACE, filter);
        sqlTimes.push(performance.now() - started);
      }
      for (let i = 0; i < 3; i++) await size(filter); // warm-up
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const answer = await size(filter);
        times.push(answer.ms);
        if (JSON.stringify(answer.size) !== JSON.stringify(expected))
          throw new Error(
            `${name}: the service answered ${JSON.stringify(answer.size)}, the SQL ${JSON.stringify(expected)}`,
          );
      }
      sizeQueries += RUNS + 3;
      sizes[name] = {
        filter,
        size: expected,
        index_http_ms: { median: round(median(times), 2), p99: round(percentile(times, 99), 2) },
        sql_ms: { median: round(median(sqlTimes)), runs: sqlTimes.map((t) => round(t)) },
        ratio_sql_over_index: round(median(sqlTimes) / median(times)),
      };
      console.log(`${name}: ${JSON.stringify(sizes[name])}`);
    }
    const servedByIndex =
      metricValue((await metricsText())!, 'segmentation_sizes_served_total\\{source="index"') - servedBefore;

    // Workspaces apart: the other workspace has the same user ids; neither's counts include the other's.
    const everyone = FILTERS.reachable_per_platform;
    const totals = {
      first: (await size(everyone)).size.total,
      other: (await size(everyone, OTHER_WORKSPACE)).size.total,
      first_of_shared_ids: (await size({ user_ids: Array.from({ length: 100 }, (_, u) => userId(u)) })).size.total,
    };
    const noLeak = totals.first === USERS && totals.other === OTHER_USERS && totals.first_of_shared_ids === 100;
    if (!noLeak) throw new Error(`workspaces leak into each other: ${JSON.stringify(totals)}`);

    // export/ids of 50 users.
    const idsTimes: number[] = [];
    for (let i = 0; i < RUNS + 3; i++) {
      const ids = Array.from({ length: 50 }, (_, k) => userId(mix(i * 50 + k) % USERS));
      const answer = await post('/users/export/ids', { external_ids: ids });
      const users = (answer.body as { users: unknown[] }).users;
      if (answer.status !== 200 || users.length !== new Set(ids).size)
        throw new Error(`export/ids answered ${answer.status}`);
      if (i >= 3) idsTimes.push(answer.ms);
    }

    // export/segment of every user, NDJSON and CSV.
    const exports: Record<string, unknown> = {};
    for (const format of ['ndjson', 'csv'] as const) {
      const runs: { users_per_s: number; seconds: number; peak_rss_mb: number }[] = [];
      for (let run = 0; run < EXPORT_RUNS; run++) {
        const { result, peakMb } = await peakRssDuring(child.pid!, () => exportAll(format));
        if (result.users !== USERS)
          throw new Error(`export/segment (${format}) gave ${result.users} users of ${USERS}`);
        runs.push({
          users_per_s: Math.round(USERS / result.seconds),
          seconds: round(result.seconds),
          peak_rss_mb: Math.round(peakMb),
        });
      }
      exports[format] = {
        users_per_s: Math.round(median(runs.map((r) => r.users_per_s))),
        peak_rss_mb: Math.max(...runs.map((r) => r.peak_rss_mb)),
        runs,
      };
      console.log(`export/segment ${format}: ${JSON.stringify(exports[format])}`);
    }

    // Freshness: one upstream record (a new user's state, or a new user's device), then the size until it counts it.
    const producer = new EventProducer({ brokers: testBrokers(), clientId: 'bench-freshness' });
    const freshness: number[] = [];
    try {
      let total = (await size(everyone)).size.total;
      for (let i = 0; i < RUNS; i++) {
        const published = i % 2 === 0 ? userRecord(prefix, WORKSPACE, USERS + OTHER_USERS + i) : freshDevice(prefix, i);
        const started = performance.now();
        await producer.sendRaw([published]);
        for (;;) {
          const now = (await size(everyone)).size.total;
          if (now === total + 1) break;
          if (performance.now() - started > 30_000) throw new Error(`freshness sample ${i}: no change in 30 s`);
          await new Promise((r) => setTimeout(r, 2));
        }
        freshness.push(performance.now() - started);
        total += 1;
      }
    } finally {
      await producer.disconnect();
    }

    const servicePeakRssMb = Math.round(statusKb(child.pid!, 'VmHWM') / 1024);
    await stopService(child);

    const medians = sizes as Record<string, { index_http_ms: { median: number } }>;
    const exportsOf = exports as Record<string, { users_per_s: number; peak_rss_mb: number }>;
    const floors = {
      push_enabled_ms: { floor: 150, measured: medians.push_enabled.index_http_ms.median },
      four_predicate_ms: { floor: 400, measured: medians.four_predicate.index_http_ms.median },
      export_ids_ms: { floor: 50, measured: round(median(idsTimes), 2) },
      export_segment_ndjson_users_per_s: { floor: 50_000, measured: exportsOf.ndjson.users_per_s },
      export_segment_csv_users_per_s: { floor: 50_000, measured: exportsOf.csv.users_per_s },
      export_segment_peak_rss_mb: {
        floor: 300,
        measured: Math.max(exportsOf.ndjson.peak_rss_mb, exportsOf.csv.peak_rss_mb),
      },
      freshness_p99_ms: { floor: 1000, measured: round(percentile(freshness, 99)) },
    };
    const met = (name: string, f: { floor: number; measured: number }) =>
      name.includes('users_per_s') ? f.measured >= f.floor : f.measured <= f.floor;
    const result = {
      benchmark: 'segmentation',
      at: new Date().toISOString(),
      node: process.version,
      users: USERS,
      devices: DEVICES,
      other_workspace: { users: OTHER_USERS, devices: OTHER_DEVICES },
      partitions: PARTITIONS,
      queries_per_figure: RUNS,
      sql_runs: SQL_RUNS,
      load: {
        records,
        publish_s: round(publishSeconds),
        applied_records_per_s: Math.round(records / loadSeconds),
        service_peak_rss_mb: Math.round(loadPeakRssMb),
      },
      index,
      sizes,
      sizes_answered_by_index: `${servedByIndex} of ${sizeQueries}`,
      workspaces_apart: { ...totals, ok: noLeak },
      export_ids_50_ms: { median: round(median(idsTimes), 2), p99: round(percentile(idsTimes, 99), 2) },
      export_segment: exports,
      freshness_ms: { p50: round(percentile(freshness, 50)), p99: round(percentile(freshness, 99)), samples: RUNS },
      service_peak_rss_mb: servicePeakRssMb,
      service_node_args: SERVICE_NODE_ARGS.join(' '),
      floors: Object.fromEntries(Object.entries(floors).map(([name, f]) => [name, { ...f, met: met(name, f) }])),
    };
    console.log(JSON.stringify(result, null, 2));
    writeResults('segmentation', result);
  } finally {
    process.removeListener('exit', killOnExit);
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (dbOpen) await db.end().catch(() => undefined);
    await dropDatabase(url).catch((error) => console.error(`database ${url} not dropped: ${error}`));
    const admin = createKafka('bench-cleanup', testBrokers()).admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
      if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  }
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
