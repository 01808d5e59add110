// subscription-state benchmark (issue 11), the method of token-registry's: pre-load N consumed events — token-registry's
// records, made by its own pure domain from the SDK stream of bench/support.ts, interleaved with explicit
// PushSubscriptionSet preferences — into fresh topics, then in the same run measure
//   (a) the raw limit, a consumer that only decodes both topics;
//   (b) the built service, run as its own process with its heap budget and defaults, applying S1–S5, writing its read
//       model and publishing its records on subscription-state.user-subscriptions.v1;
//   (c) POST /users/track with 75 attributes per request from a bounded load generator on loopback (C requests in
//       flight at all times), against the built service started afresh on topics of its own: requests/s, p50/p99.
//   npm run bench:subscription-state -- [--events 1000000] [--devices 200000] [--users 150000] [--runs 3]
//     [--track-seconds 20] [--track-concurrency 16]
// Writes bench/results/subscription-state-latest.json.
import 'reflect-metadata';
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Client } from 'pg';
import {
  ALL_EVENT_TOPICS,
  MessageKeys,
  SdkUserEvent,
  SubscriptionState,
  Topics,
  TopicName,
  decodeEvent,
  encodeEvent,
} from '@push/contracts';
import { EventProducer, RawMessage, createKafka, provisionTopics } from '@push/event-bus';
import { dropDatabase, messageCount, rewindGroup, testBrokers, uniqueDatabaseUrl } from '@push/testing';
import { TokenRegistry } from '../services/token-registry/src/domain/token-registry';
import {
  RAW_LIMIT_FETCH,
  STREAM_WORKSPACE,
  argValue,
  deviceEventStream,
  median,
  scrapeBusMetrics,
  serviceNodeArgs,
  writeResults,
} from './support';

const EVENTS = Number(argValue('--events', '1000000'));
const DEVICES = Number(argValue('--devices', '200000'));
const USERS = Number(argValue('--users', '150000'));
const RUNS = Number(argValue('--runs', '1'));
const PORT = Number(argValue('--port', '39102'));
const TRACK_SECONDS = Number(argValue('--track-seconds', '20'));
const TRACK_CONCURRENCY = Number(argValue('--track-concurrency', '16'));
const ATTRIBUTES_PER_REQUEST = 75;
/** One consumed event in this many is an explicit preference (PushSubscriptionSet); the rest are token-registry's. */
const USER_EVENT_EVERY = 20;
const SERVICE_NODE_ARGS = serviceNodeArgs();
const PARTITIONS = 6;
const GROUP = 'subscription-state.subscriptions';
const CONSUMED: TopicName[] = [Topics.DeviceTokens, Topics.UserEvents];
const FETCH = RAW_LIMIT_FETCH;
const API_KEY = 'bench-key';

const mix = (i: number) => Math.imul(i ^ (i >>> 15), 2654435761) >>> 0;
const STATES: SubscriptionState[] = ['UNSUBSCRIBED', 'UNSUBSCRIBED', 'OPTED_IN', 'SUBSCRIBED', 'OPTED_IN'];

/**
 * Pre-loads `EVENTS` messages: token-registry's records of the SDK stream, in the order token-registry would publish
 * them (each keyed by device), with one PushSubscriptionSet (keyed by user, of a user of the stream, at the stream's
 * time) every `USER_EVENT_EVERY`. Returns the count of each record type.
 */
async function preload(prefix: string): Promise<Record<string, number>> {
  const brokers = testBrokers();
  await provisionTopics({ brokers, partitions: PARTITIONS, topics: CONSUMED.map((t) => prefix + t) });
  const producer = new EventProducer({ brokers, clientId: 'bench-preload' });
  const { eventAt } = deviceEventStream({ events: EVENTS * 2, devices: DEVICES, users: USERS });
  const registry = new TokenRegistry();
  const counts: Record<string, number> = {};
  const bar = new SingleBar({ format: 'preload   [{bar}] {value}/{total} events' });
  bar.start(EVENTS, 0);
  let batch: RawMessage[] = [];
  let written = 0;
  const add = (topic: TopicName, key: string, value: Buffer, type: string) => {
    batch.push({ topic: prefix + topic, key, value });
    counts[type] = (counts[type] ?? 0) + 1;
    written++;
  };
  for (let i = 0; written < EVENTS; i++) {
    const input = eventAt(i);
    for (const out of registry.handle(input)) {
      if (written >= EVENTS) break;
      const { workspace_id, app_id, device_id } = out.data;
      add(
        Topics.DeviceTokens,
        MessageKeys.device(workspace_id, app_id, device_id),
        encodeEvent(Topics.DeviceTokens, out),
        out.type,
      );
      if (written < EVENTS && mix(written) % USER_EVENT_EVERY === 0) {
        const userId = `user-${mix(written + 1) % USERS}`;
        const event: SdkUserEvent = {
          type: 'PushSubscriptionSet',
          data: {
            event_id: randomUUID(),
            workspace_id: STREAM_WORKSPACE,
            user_id: userId,
            occurred_at: input.data.occurred_at,
            state: STATES[mix(written + 2) % STATES.length],
            source: mix(written + 3) % 2 === 0 ? 'SDK' : 'REST',
          },
        };
        add(
          Topics.UserEvents,
          MessageKeys.user(STREAM_WORKSPACE, userId),
          encodeEvent(Topics.UserEvents, event),
          event.type,
        );
      }
    }
    if (batch.length >= 10_000) {
      await producer.sendRaw(batch);
      batch = [];
      bar.update(written);
    }
  }
  await producer.sendRaw(batch);
  bar.update(written);
  bar.stop();
  await producer.disconnect();
  return counts;
}

/** (a) The raw limit: a consumer that fetches and decodes every message of both topics; events/s. */
async function decodeOnly(prefix: string): Promise<number> {
  const consumer = createKafka('bench-decode', testBrokers()).consumer({
    groupId: `bench-decode-${randomUUID()}`,
    ...FETCH,
  });
  await consumer.connect();
  for (const topic of CONSUMED) await consumer.subscribe({ topic: prefix + topic, fromBeginning: true });
  let seen = 0;
  const started = performance.now();
  const bar = new SingleBar({ format: '(a) decode [{bar}] {value}/{total} events' });
  bar.start(EVENTS, 0);
  const ended = await new Promise<number>((done) => {
    void consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatch: async ({ batch }) => {
        const topic = batch.topic.slice(prefix.length) as TopicName;
        for (const message of batch.messages) decodeEvent(topic, message.value as Buffer);
        seen += batch.messages.length;
        bar.update(seen);
        if (seen >= EVENTS) done(performance.now());
      },
    });
  });
  bar.stop();
  await consumer.disconnect();
  return EVENTS / ((ended - started) / 1000);
}

const peakRssMb = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

function startService(databaseUrl: string, prefix: string, appsFile: string): ChildProcess {
  return spawn(process.execPath, [...SERVICE_NODE_ARGS, resolve('dist/services/subscription-state/src/main.js')], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
      PORT: String(PORT),
      LOG_LEVEL: 'warn',
      API_KEYS: `${API_KEY}=${STREAM_WORKSPACE}`,
      APPS_CONFIG: appsFile,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** (b) From the service's first applied event until every event is applied and its outbox is empty. */
async function projectionRun(child: ChildProcess): Promise<number> {
  const bar = new SingleBar({ format: '(b) subscription-state [{bar}] {value}/{total} events, outbox {outbox}' });
  bar.start(EVENTS, 0, { outbox: 0 });
  let started: number | undefined;
  let progress = { at: performance.now(), applied: -1, outbox: -1 };
  for (;;) {
    if (child.exitCode !== null) throw new Error(`subscription-state exited with code ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 500));
    const now = performance.now();
    if (now - progress.at > 120_000) throw new Error(`no progress for 2 minutes (${progress.applied} applied)`);
    const sample = await scrapeBusMetrics(PORT, GROUP);
    if (!sample) continue;
    if (sample.applied !== progress.applied || sample.outbox !== progress.outbox) progress = { at: now, ...sample };
    if (started === undefined && sample.applied > 0) started = now;
    bar.update(sample.applied, { outbox: sample.outbox });
    if (sample.applied >= EVENTS && sample.outbox === 0) {
      bar.stop();
      return EVENTS / ((now - started!) / 1000);
    }
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/**
 * (c) `TRACK_CONCURRENCY` clients on loopback, each sending its next request as soon as the previous one is answered,
 * for `TRACK_SECONDS` after a 2 s warm-up; every answer must be a 201.
 */
async function trackRun(): Promise<{ requestsPerS: number; p50Ms: number; p99Ms: number; requests: number }> {
  let n = 0;
  const body = () =>
    JSON.stringify({
      attributes: Array.from({ length: ATTRIBUTES_PER_REQUEST }, () => {
        const k = n++;
        return {
          external_id: `user-${mix(k) % USERS}`,
          push_subscribe: (['opted_in', 'subscribed', 'unsubscribed'] as const)[mix(k + 1) % 3],
          first_name: 'Bench',
        };
      }),
    });
  const latencies: number[] = [];
  const warmUpEnds = performance.now() + 2000;
  const ends = warmUpEnds + TRACK_SECONDS * 1000;
  let failures = 0;
  const client = async () => {
    while (performance.now() < ends) {
      const payload = body();
      const sent = performance.now();
      const response = await fetch(`http://127.0.0.1:${PORT}/users/track`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
        body: payload,
      });
      await response.arrayBuffer();
      if (response.status !== 201) failures++;
      if (sent >= warmUpEnds) latencies.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: TRACK_CONCURRENCY }, client));
  if (failures > 0) throw new Error(`${failures} /users/track requests were not answered 201`);
  const sorted = [...latencies].sort((x, y) => x - y);
  return {
    requestsPerS: latencies.length / TRACK_SECONDS,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    requests: latencies.length,
  };
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

/** (b) The built service on a fresh database, projecting the pre-loaded topics. */
async function projectionServiceRun(prefix: string, appsFile: string) {
  const url = uniqueDatabaseUrl('bench_subscription_state');
  const outputsBefore = await messageCount(prefix + Topics.UserSubscriptions).catch(() => 0);
  const child = startService(url, prefix, appsFile);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    const rate = await projectionRun(child);
    const rssMb = peakRssMb(child.pid!);
    const outputs = (await messageCount(prefix + Topics.UserSubscriptions)) - outputsBefore;
    const db = new Client({ connectionString: url });
    await db.connect();
    const applied = (
      await db.query('select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1', [
        GROUP,
      ])
    ).rows[0].n;
    const users = (await db.query('select count(*)::int as n from user_subscriptions')).rows[0].n;
    // The partitions interleave differently in every run; the users' states must not depend on it.
    const statesDigest = (
      await db.query(
        `select md5(string_agg(user_id || ':' || state, ',' order by user_id)) || ' '
           || md5(string_agg(user_id || ':' || coalesce(opted_in_at_ms::text, ''), ',' order by user_id)) as d
         from user_subscriptions`,
      )
    ).rows[0].d;
    await db.end();
    if (applied !== EVENTS) throw new Error(`after the run: ${applied} of ${EVENTS} applied`);
    return { rate, rssMb, outputs, users, statesDigest };
  } finally {
    await stop(child);
    process.removeListener('exit', killOnExit);
    await dropDatabase(url).catch(() => undefined);
    // The next run starts the same group over on a fresh database: Kafka's committed offsets must go back too.
    for (const topic of CONSUMED) await rewindGroup(prefix + GROUP, prefix + topic).catch(() => undefined);
  }
}

/**
 * (c) The built service on a fresh database and topics of its own (so that its writes do not grow the pre-loaded
 * topics), projecting what `/users/track` publishes while it is loaded, as in production.
 */
async function trackServiceRun(prefix: string, appsFile: string) {
  const url = uniqueDatabaseUrl('bench_subscription_state_track');
  // Created before the service starts, so that their partitions have leaders when its consumer first asks.
  await provisionTopics({
    brokers: testBrokers(),
    partitions: PARTITIONS,
    topics: ALL_EVENT_TOPICS.map((t) => prefix + t),
  });
  await new Promise((r) => setTimeout(r, 2000));
  const child = startService(url, prefix, appsFile);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    // Healthy once its topics are provisioned and its consumer joined.
    for (let waited = 0; ; waited += 200) {
      if (child.exitCode !== null) throw new Error(`subscription-state exited with code ${child.exitCode}`);
      if (waited > 60_000) throw new Error('subscription-state not healthy within 60 s');
      const status = await fetch(`http://127.0.0.1:${PORT}/health`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const track = await trackRun();
    return { ...track, rssMb: peakRssMb(child.pid!) };
  } finally {
    await stop(child);
    process.removeListener('exit', killOnExit);
    await dropDatabase(url).catch(() => undefined);
  }
}

async function serviceRun(prefix: string, appsFile: string, run: number) {
  const projection = await projectionServiceRun(prefix, appsFile);
  const track = await trackServiceRun(`${prefix}track${run}.`, appsFile);
  return { ...projection, track };
}

async function main(): Promise<void> {
  const prefix = `bench.subscription-state.${Date.now()}.`;
  console.log(
    `subscription-state benchmark: ${EVENTS} events, ${DEVICES} devices, ${USERS} users, ${PARTITIONS} partitions, ${RUNS} run(s), node ${process.version}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'bench-subscription-state-'));
  const appsFile = join(dir, 'apps.json');
  writeFileSync(
    appsFile,
    JSON.stringify({
      apps: [
        {
          workspace_id: STREAM_WORKSPACE,
          app_id: 'ios-app',
          platform: 'ios',
          apns: { team_id: 't', key_id: 'k', key_file: 'k.p8', topic: 'com.bench' },
        },
        { workspace_id: STREAM_WORKSPACE, app_id: 'android-app', platform: 'android', fcm: { project_id: 'bench' } },
        {
          workspace_id: STREAM_WORKSPACE,
          app_id: 'web-app',
          platform: 'web',
          opt_in_when_push_authorized: false,
          webpush: { vapid_public_key: 'pub', vapid_private_key: 'priv', subject: 'mailto:bench@example.com' },
        },
      ],
    }),
  );
  const mixOfTypes = await preload(prefix);
  console.log('consumed events by type:', mixOfTypes);

  const runs = [];
  const decodeRates: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    decodeRates.push(await decodeOnly(prefix));
    const result = await serviceRun(prefix, appsFile, run);
    runs.push(result);
    console.log(
      `run ${run}: (a) decode-only ${Math.round(decodeRates.at(-1)!)} events/s, (b) subscription-state ${Math.round(result.rate)} events/s, peak RSS ${Math.round(result.rssMb)} MB, ${result.outputs} records published, ${result.users} users; (c) /users/track ${Math.round(result.track.requestsPerS)} requests/s, p50 ${result.track.p50Ms.toFixed(1)} ms, p99 ${result.track.p99Ms.toFixed(1)} ms`,
    );
  }

  const digests = new Set(runs.map((r) => r.statesDigest));
  if (digests.size > 1) throw new Error(`the users' states differ between runs: ${[...digests].join(', ')}`);

  const admin = createKafka('bench-cleanup', testBrokers()).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });

  const rounded = (values: number[]) => ({ median: Math.round(median(values)), runs: values.map(Math.round) });
  const a = median(decodeRates);
  const b = median(runs.map((r) => r.rate));
  const result = {
    benchmark: 'subscription-state',
    at: new Date().toISOString(),
    node: process.version,
    events: EVENTS,
    events_by_type: mixOfTypes,
    devices: DEVICES,
    users: USERS,
    partitions: PARTITIONS,
    runs: RUNS,
    decode_only_events_per_s: rounded(decodeRates),
    subscription_state_events_per_s: rounded(runs.map((r) => r.rate)),
    ratio_b_over_a: Number((b / a).toFixed(3)),
    service_peak_rss_mb: rounded(runs.map((r) => r.rssMb)),
    service_peak_rss_under_track_mb: rounded(runs.map((r) => r.track.rssMb)),
    output_records: { median: median(runs.map((r) => r.outputs)), runs: runs.map((r) => r.outputs) },
    user_rows: runs.map((r) => r.users),
    users_states_digest: runs[0].statesDigest,
    users_track: {
      attributes_per_request: ATTRIBUTES_PER_REQUEST,
      concurrency: TRACK_CONCURRENCY,
      seconds: TRACK_SECONDS,
      requests_per_s: rounded(runs.map((r) => r.track.requestsPerS)),
      attribute_updates_per_s: rounded(runs.map((r) => r.track.requestsPerS * ATTRIBUTES_PER_REQUEST)),
      p50_ms: {
        median: Number(median(runs.map((r) => r.track.p50Ms)).toFixed(1)),
        runs: runs.map((r) => Number(r.track.p50Ms.toFixed(1))),
      },
      p99_ms: {
        median: Number(median(runs.map((r) => r.track.p99Ms)).toFixed(1)),
        runs: runs.map((r) => Number(r.track.p99Ms.toFixed(1))),
      },
    },
    service_node_args: SERVICE_NODE_ARGS.join(' '),
    decode_fetch_settings: FETCH,
    floors: {
      subscription_state_events_per_s: 10_000,
      service_peak_rss_mb: 300,
      users_track_requests_per_s: 300,
      users_track_p99_ms: 250,
    },
  };
  console.log(JSON.stringify(result, null, 2));
  writeResults('subscription-state', result);
  process.exit(0);
}

void main();
