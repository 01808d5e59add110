// token-registry benchmark (issue 4): pre-load N mixed SDK device events over D devices and U users into a fresh topic,
// then in the same run measure (a) the raw limit, a consumer that only decodes, and (b) the token-registry service
// itself (the built service, run as its own process with its defaults) applying T1–T9, writing its read model and
// publishing its output events on token-registry.device-tokens.v1.
//   npm run bench:token-registry -- [--events 1000000] [--devices 200000] [--users 150000] [--runs 3]
// Prints events/s for both, b/a, the service's peak RSS and its output count; writes
// bench/results/token-registry-<time>.json and token-registry-latest.json.
import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Platform, PushPermission, SdkDeviceEvent, Topics } from '@push/contracts';
import { createKafka } from '@push/event-bus';
import { Client } from 'pg';
import { dropDatabase, messageCount, rewindGroup, testBrokers, uniqueDatabaseUrl } from '@push/testing';
import { FetchSettings, argValue, decodeOnly, median, preloadDeviceEvents, writeResults } from './support';

const EVENTS = Number(argValue('--events', '1000000'));
const DEVICES = Number(argValue('--devices', '200000'));
const USERS = Number(argValue('--users', '150000'));
const RUNS = Number(argValue('--runs', '1'));
const PORT = Number(argValue('--port', '39101'));
/** The service's Node flags as operators run it: its heap budget from deploy/service-node-options, unless given. */
const SERVICE_NODE_ARGS = argValue('--service-node-args', readFileSync('deploy/service-node-options', 'utf8')).split(/\s+/).filter(Boolean);
const PARTITIONS = 6;
const GROUP = 'token-registry.devices';
/** The raw limit's fetches, as in the event-bus benchmark; the service runs with its own defaults. */
const FETCH: FetchSettings = { maxBytesPerPartition: 16 * 1024 * 1024, maxBytes: 96 * 1024 * 1024, maxWaitTimeInMs: 100 };
const START = Date.UTC(2026, 10, 1);

const hex = (seed: string, length: number) => createHash('sha256').update(seed).digest('hex').repeat(4).slice(0, length);
const mix = (i: number) => Math.imul(i ^ (i >>> 15), 2654435761) >>> 0;

/** Device d: 45 % iOS, 45 % Android (30 % of them below 13), 10 % web; its user; its permission habit. */
function deviceProfile(d: number) {
  const kind = d % 20;
  const platform: Platform = kind < 9 ? 'IOS' : kind < 18 ? 'ANDROID' : 'WEB';
  const app_id = platform === 'IOS' ? 'ios-app' : platform === 'ANDROID' ? 'android-app' : 'web-app';
  const os_version = platform === 'IOS' ? '17.4' : platform === 'ANDROID' ? (mix(d) % 10 < 3 ? '12' : '14') : null;
  const r = mix(d + 1) % 10;
  const permission: PushPermission = r < 6 ? 'AUTHORIZED' : r < 7 ? (platform === 'IOS' ? 'PROVISIONAL' : 'AUTHORIZED') : r < 9 ? 'DENIED' : 'NOT_DETERMINED';
  return { device: { workspace_id: 'ws-bench', app_id, device_id: `device-${d}` }, platform, os_version, permission, user_id: `user-${d % USERS}` };
}

/** Realistic tokens: APNs 64 hex, FCM ~160 characters, web a JSON PushSubscription. A tenth of devices refresh once. */
function tokenOf(d: number, platform: Platform, i: number): string {
  const version = d % 10 === 0 && i >= EVENTS / 2 ? 1 : 0;
  const seed = `${d}:${version}`;
  if (platform === 'IOS') return hex(seed, 64);
  if (platform === 'ANDROID') return `${hex(seed, 22)}:APA91b${hex(`${seed}f`, 134)}`;
  return JSON.stringify({ endpoint: `https://fcm.googleapis.com/fcm/send/${hex(seed, 22)}:APA91b${hex(`${seed}w`, 60)}`, keys: { p256dh: hex(`${seed}p`, 87), auth: hex(`${seed}a`, 22) } });
}

/** What the `roll` of a visit makes the device do (per mille): the mix of a month of SDK traffic. */
function kindOf(roll: number) {
  if (roll < 430) return 'session' as const;
  if (roll < 730) return 'registration' as const;
  if (roll < 830) return 'login' as const;
  if (roll < 910) return 'permission' as const;
  if (roll < 980) return 'logout' as const;
  return 'uninstall' as const;
}

/**
 * Event i. Device d is visited every DEVICES events (the stride is prime to DEVICES), so its earlier visits are
 * i - DEVICES, i - 2·DEVICES, …: folding their rolls gives the device's user and permission now, and every event
 * reports them as a real SDK would (a session after a logout is anonymous until the next login; a permission changed
 * in the settings stays changed). 1 % of events arrive a minute late (T9); 0.7 % of registrations carry another
 * device's token (T2).
 */
function eventAt(i: number): SdkDeviceEvent {
  const d = (i * 7919) % DEVICES;
  const p = deviceProfile(d);
  let loggedIn = d % 10 !== 3;
  let permission = p.permission;
  for (let visit = i % DEVICES; visit < i; visit += DEVICES) {
    const kind = kindOf(mix(visit) % 1000);
    if (kind === 'login') loggedIn = true;
    else if (kind === 'logout') loggedIn = false;
    else if (kind === 'permission') permission = permission === 'AUTHORIZED' ? 'DENIED' : 'AUTHORIZED';
  }
  const roll = mix(i) % 1000;
  const late = roll % 100 === 7 ? 60_000 : 0;
  const base = { event_id: `b0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`, ...p.device, occurred_at: START + i * 1000 - late };
  const { platform, os_version } = p;
  const user_id = loggedIn ? p.user_id : null;
  switch (kindOf(roll)) {
    case 'session':
      return { type: 'SessionStarted', data: { ...base, platform, os_version, push_permission: permission, user_id } };
    case 'registration': {
      const holder = roll >= 728 ? (d + 20) % DEVICES : d;
      return { type: 'TokenRegistered', data: { ...base, platform, token: tokenOf(holder, platform, i), os_version, push_permission: permission, user_id } };
    }
    case 'login':
      return { type: 'ChangeUser', data: { ...base, user_id: p.user_id, previous_user_id: null } };
    case 'permission':
      return { type: 'PushPermissionChanged', data: { ...base, platform, os_version, push_permission: permission === 'AUTHORIZED' ? 'DENIED' : 'AUTHORIZED', prompted: false } };
    case 'logout':
      return { type: 'UserLoggedOut', data: { ...base, user_id } };
    case 'uninstall':
      return { type: 'AppUninstalled', data: base };
  }
}

/** Peak resident set of a process, from the kernel (VmHWM). */
const peakRssMb = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function scrape(): Promise<{ applied: number; outbox: number } | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
    const value = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
    return {
      applied: value(new RegExp(`^event_bus_events_applied_total\\{group="${GROUP}",[^}]*\\} (\\S+)$`, 'gm')),
      outbox: value(new RegExp(`^event_bus_outbox_size\\{group="${GROUP}"[,}][^ ]* (\\S+)$`, 'gm')),
    };
  } catch {
    return null;
  }
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

/**
 * (b) The built service as operators run it, on a fresh database. Timed from its first applied event until every
 * event is applied and its outbox is empty (every output event acknowledged by Kafka).
 */
async function serviceRun(prefix: string): Promise<{ rate: number; rssMb: number; outputs: number }> {
  const url = uniqueDatabaseUrl('bench_token_registry');
  const outputsBefore = await messageCount(prefix + Topics.DeviceTokens).catch(() => 0);
  const child = spawn(process.execPath, [...SERVICE_NODE_ARGS, resolve('dist/services/token-registry/src/main.js')], {
    env: { ...process.env, DATABASE_URL: url, KAFKA_TOPIC_PREFIX: prefix, KAFKA_TOPIC_PARTITIONS: String(PARTITIONS), PORT: String(PORT), LOG_LEVEL: 'warn', API_KEYS: 'bench=ws-bench' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // A failed run must not leave the service behind (it would hold the port and the consumer group).
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const bar = new SingleBar({ format: '(b) token-registry [{bar}] {value}/{total} events, outbox {outbox}' });
  bar.start(EVENTS, 0, { outbox: 0 });
  let started: number | undefined;
  let ended: number | undefined;
  let progress = { at: performance.now(), applied: -1, outbox: -1 };
  while (ended === undefined) {
    if (child.exitCode !== null) throw new Error(`token-registry exited with code ${child.exitCode}`);
    // Scraped twice a second: each scrape costs the service some CPU (default process metrics read /proc).
    await new Promise((r) => setTimeout(r, 500));
    const now = performance.now();
    if (now - progress.at > 120_000) throw new Error(`token-registry made no progress for 2 minutes (${progress.applied} applied, outbox ${progress.outbox})`);
    const sample = await scrape();
    if (!sample) continue;
    if (sample.applied !== progress.applied || sample.outbox !== progress.outbox) progress = { at: now, ...sample };
    if (started === undefined && sample.applied > 0) started = now;
    bar.update(sample.applied, { outbox: sample.outbox });
    if (sample.applied >= EVENTS && sample.outbox === 0) ended = now;
  }
  bar.stop();
  const rssMb = peakRssMb(child.pid!);
  await stop(child);
  process.removeListener('exit', killOnExit);

  const db = new Client({ connectionString: url });
  await db.connect();
  const {
    rows: [{ applied }],
  } = await db.query('select coalesce(sum(next_offset), 0)::int as applied from consumer_offsets where group_id = $1', [GROUP]);
  const {
    rows: [{ outbox }],
  } = await db.query('select count(*)::int as outbox from event_outbox');
  const {
    rows: [{ devices }],
  } = await db.query('select count(*)::int as devices from devices');
  await db.end();
  await dropDatabase(url);
  if (applied !== EVENTS || outbox !== 0 || devices !== DEVICES) throw new Error(`after the run: ${applied} applied, ${outbox} in the outbox, ${devices} devices`);
  // The next run starts the same group over on a fresh database: Kafka's committed offsets must go back too.
  for (const topic of [Topics.DeviceEvents, Topics.DeviceDelivery]) await rewindGroup(GROUP, prefix + topic);
  return { rate: EVENTS / ((ended - started!) / 1000), rssMb, outputs: (await messageCount(prefix + Topics.DeviceTokens)) - outputsBefore };
}

async function main(): Promise<void> {
  const prefix = `bench.token-registry.${Date.now()}.`;
  const topic = prefix + Topics.DeviceEvents;
  console.log(`token-registry benchmark: ${EVENTS} events, ${DEVICES} devices, ${USERS} users, ${PARTITIONS} partitions, ${RUNS} run(s), node ${process.version}`);
  await preloadDeviceEvents(topic, EVENTS, PARTITIONS, eventAt);

  const decodeRates: number[] = [];
  const serviceRates: number[] = [];
  const rss: number[] = [];
  const outputs: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    decodeRates.push(await decodeOnly(topic, EVENTS, PARTITIONS, FETCH));
    const result = await serviceRun(prefix);
    serviceRates.push(result.rate);
    rss.push(result.rssMb);
    outputs.push(result.outputs);
    console.log(`run ${run}: (a) decode-only ${Math.round(decodeRates.at(-1)!)} events/s, (b) token-registry ${Math.round(result.rate)} events/s, peak RSS ${Math.round(result.rssMb)} MB, ${result.outputs} events published`);
  }

  const admin = createKafka('bench-cleanup', testBrokers()).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();

  const a = median(decodeRates);
  const b = median(serviceRates);
  const result = {
    benchmark: 'token-registry',
    at: new Date().toISOString(),
    node: process.version,
    events: EVENTS,
    devices: DEVICES,
    users: USERS,
    partitions: PARTITIONS,
    runs: RUNS,
    decode_only_events_per_s: { median: Math.round(a), runs: decodeRates.map(Math.round) },
    token_registry_events_per_s: { median: Math.round(b), runs: serviceRates.map(Math.round) },
    ratio_b_over_a: Number((b / a).toFixed(3)),
    service_peak_rss_mb: { median: Math.round(median(rss)), runs: rss.map(Math.round) },
    output_events: { median: median(outputs), runs: outputs },
    service_node_args: SERVICE_NODE_ARGS.join(' '),
    service_consumer_env: Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('CONSUMER_'))),
    decode_fetch_settings: FETCH,
    floors: { token_registry_events_per_s: 10_000, service_peak_rss_mb: 300 },
  };
  console.log(JSON.stringify(result, null, 2));
  writeResults('token-registry', result);
  process.exit(0);
}

void main();
