// bounce-processor benchmark (issue 12), the method of token-registry's: pre-load N provider outcomes over D devices
// into a fresh dispatch.outcomes.v1 (80 % PushSent, 15 % permanent bounces, 3 % retry failures, 2 % configuration-type
// answers, plus a burst: during a tenth of the stream every outcome of one app is a messaging/mismatched-credential
// bounce), then in the same run measure (a) the raw limit, a consumer that only decodes, and (b) the built service as
// its own process with its defaults, applying B1–B5, writing its read model and publishing its decisions.
//   npm run bench:bounce-processor -- [--events 1000000] [--devices 300000] [--runs 3]   (swc-compiled to dist/)
// Prints outcomes/s for both, b/a, the service's peak RSS, its outputs and what the burst did; writes
// bench/results/bounce-processor-latest.json.
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Client } from 'pg';
import {
  DispatchOutcomeEvent,
  MessageKeys,
  Platform,
  Topics,
  decodeEvent,
  deterministicEventId,
  encodeEvent,
} from '@push/contracts';
import { EventProducer, RawMessage, createKafka, provisionTopics } from '@push/event-bus';
import { dropDatabase, messageCount, rewindGroup, testBrokers, uniqueDatabaseUrl } from '@push/testing';
import { RAW_LIMIT_FETCH, argValue, median, scrapeBusMetrics, serviceNodeArgs, writeResults } from './support';

const EVENTS = Number(argValue('--events', '1000000'));
const DEVICES = Number(argValue('--devices', '300000'));
const RUNS = Number(argValue('--runs', '1'));
const PORT = Number(argValue('--port', '39105'));
const SERVICE_NODE_ARGS = serviceNodeArgs();
const PARTITIONS = 6;
const GROUP = 'bounce-processor.delivery';
const FETCH = RAW_LIMIT_FETCH;

const WORKSPACE = 'ws-bench';
const START = Date.UTC(2026, 10, 1);
/** Event time advances 1 ms per outcome: a million outcomes span about 17 minutes, several B4 windows. */
const STEP_MS = 1;
const APPS: { app_id: string; platform: Platform }[] = [
  ...Array.from({ length: 8 }, (_, i) => ({ app_id: `ios-${i}`, platform: 'IOS' as const })),
  ...Array.from({ length: 8 }, (_, i) => ({ app_id: `android-${i}`, platform: 'ANDROID' as const })),
  ...Array.from({ length: 3 }, (_, i) => ({ app_id: `web-${i}`, platform: 'WEB' as const })),
  { app_id: 'android-burst', platform: 'ANDROID' },
];
const BURST_APP = 'android-burst';
const BURST_FROM = Math.floor(EVENTS * 0.45);
const BURST_TO = Math.floor(EVENTS * 0.55);

const PERMANENT: Record<Platform, string[]> = {
  IOS: ['Unregistered', 'ExpiredToken', 'BadDeviceToken'],
  ANDROID: ['messaging/registration-token-not-registered', 'NotRegistered', 'messaging/invalid-registration-token'],
  WEB: ['410', '404'],
};
const RETRY: Record<Platform, string> = { IOS: 'TooManyRequests', ANDROID: 'messaging/server-unavailable', WEB: '503' };

const mix = (i: number) => Math.imul(i ^ (i >>> 15), 2654435761) >>> 0;

/** The i-th outcome: always the same (ids included), so every run and the decode-only consumer read the same log. */
function outcomeAt(i: number): DispatchOutcomeEvent {
  const d = mix(i + 1) % DEVICES;
  const { app_id, platform } = APPS[d % APPS.length];
  const header = {
    event_id: deterministicEventId('bench-outcome', String(i)),
    dispatch_id: `dispatch-${Math.floor(i / 10_000)}`,
    workspace_id: WORKSPACE,
    app_id,
    device_id: `device-${d}`,
    user_id: `user-${d % 200_000}`,
    platform,
    occurred_at: START + i * STEP_MS,
  };
  const token = `token-${d}`;
  const bounce = (provider_reason: string): DispatchOutcomeEvent => ({
    type: 'PushBounced',
    data: { ...header, token, provider_reason, provider_timestamp: null },
  });
  if (app_id === BURST_APP && i >= BURST_FROM && i < BURST_TO) return bounce('messaging/mismatched-credential');
  const roll = mix(i * 7 + 3) % 1000;
  if (roll < 800) return { type: 'PushSent', data: { ...header, provider_message_id: `m-${i}` } };
  if (roll < 950) return bounce(PERMANENT[platform][roll % PERMANENT[platform].length]);
  if (roll < 980)
    return { type: 'PushFailed', data: { ...header, reason: RETRY[platform], category: 'RETRY_EXHAUSTED' } };
  if (platform === 'WEB') return { type: 'PushFailed', data: { ...header, reason: '403', category: 'CONFIGURATION' } };
  return bounce(platform === 'IOS' ? 'DeviceTokenNotForTopic' : 'messaging/mismatched-credential');
}

async function preload(topic: string): Promise<void> {
  const brokers = testBrokers();
  await provisionTopics({ brokers, partitions: PARTITIONS, topics: [topic] });
  const producer = new EventProducer({ brokers, clientId: 'bench-preload' });
  const bar = new SingleBar({ format: 'preload   [{bar}] {value}/{total} outcomes' });
  bar.start(EVENTS, 0);
  for (let from = 0; from < EVENTS; from += 10_000) {
    const batch: RawMessage[] = [];
    for (let i = from; i < Math.min(EVENTS, from + 10_000); i++) {
      const event = outcomeAt(i) as Extract<DispatchOutcomeEvent, { data: { device_id: string } }>;
      batch.push({
        topic,
        key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
        value: encodeEvent(Topics.DispatchOutcomes, event),
      });
    }
    await producer.sendRaw(batch);
    bar.update(Math.min(EVENTS, from + 10_000));
  }
  bar.stop();
  await producer.disconnect();
}

/** (a) The raw limit: fetch and decode every outcome, nothing else; outcomes/s. */
async function decodeOnly(topic: string): Promise<number> {
  const consumer = createKafka('bench-decode', testBrokers()).consumer({
    groupId: `bench-decode-${randomUUID()}`,
    ...FETCH,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  const started = performance.now();
  const done = new Promise<number>((resolveDone) => {
    void consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) decodeEvent(Topics.DispatchOutcomes, message.value as Buffer);
        seen += batch.messages.length;
        if (seen >= EVENTS) resolveDone(performance.now());
      },
    });
  });
  const ended = await done;
  await consumer.disconnect();
  return EVENTS / ((ended - started) / 1000);
}

const peakRssMb = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** What earlier runs published on the (shared) output topic about the burst app, so that each run counts its own. */
const burstOutputsSoFar = { invalidated: 0, flagged: 0 };

interface RunResult {
  rate: number;
  rssMb: number;
  outputs: number;
  burst: { held: number; invalidated: number; flagged: number };
  devices: number;
}

/** (b) The built service on a fresh database, timed from its first applied outcome until all are applied and published. */
async function serviceRun(prefix: string): Promise<RunResult> {
  const url = uniqueDatabaseUrl('bench_bounce_processor');
  const outputsBefore = await messageCount(prefix + Topics.DeviceDelivery).catch(() => 0);
  const child: ChildProcess = spawn(
    process.execPath,
    [...SERVICE_NODE_ARGS, resolve('dist/services/bounce-processor/src/main.js')],
    {
      env: {
        ...process.env,
        DATABASE_URL: url,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
        PORT: String(PORT),
        LOG_LEVEL: 'warn',
        API_KEYS: `bench=${WORKSPACE}`,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    const bar = new SingleBar({ format: '(b) bounce-processor [{bar}] {value}/{total} outcomes, outbox {outbox}' });
    bar.start(EVENTS, 0, { outbox: 0 });
    let started: number | undefined;
    let ended: number | undefined;
    let progress = { at: performance.now(), applied: -1, outbox: -1 };
    while (ended === undefined) {
      if (child.exitCode !== null) throw new Error(`bounce-processor exited with code ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 500));
      const now = performance.now();
      if (now - progress.at > 120_000) throw new Error(`no progress for 2 minutes (${progress.applied} applied)`);
      const sample = await scrapeBusMetrics(PORT, GROUP);
      if (!sample) continue;
      if (sample.applied !== progress.applied || sample.outbox !== progress.outbox) progress = { at: now, ...sample };
      if (started === undefined && sample.applied > 0) started = now;
      bar.update(sample.applied, { outbox: sample.outbox });
      if (sample.applied >= EVENTS && sample.outbox === 0) ended = now;
    }
    bar.stop();
    const rssMb = peakRssMb(child.pid!);
    await new Promise<void>((r) => (child.once('exit', () => r()), child.kill('SIGTERM')));

    const db = new Client({ connectionString: url });
    await db.connect();
    const one = async (sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows[0].n as number;
    const applied = await one(
      'select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1',
      [GROUP],
    );
    const outbox = await one('select count(*)::int as n from event_outbox');
    const devices = await one('select count(*)::int as n from delivery_devices');
    const held = await one(`select count(*)::int as n from waiting_bounces where app_id = $1 and state = 'held'`, [
      BURST_APP,
    ]);
    await db.end();
    if (applied !== EVENTS || outbox !== 0)
      throw new Error(`after the run: ${applied} applied, ${outbox} in the outbox`);

    let invalidated = 0;
    let flagged = 0;
    let outputs = 0;
    const consumer = createKafka('bench-outputs', testBrokers()).consumer({
      groupId: `bench-outputs-${randomUUID()}`,
      ...FETCH,
    });
    const total = (await messageCount(prefix + Topics.DeviceDelivery)) - outputsBefore;
    await consumer.connect();
    await consumer.subscribe({ topic: prefix + Topics.DeviceDelivery, fromBeginning: true });
    await new Promise<void>((resolveDone) => {
      void consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: PARTITIONS,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            const event = decodeEvent(Topics.DeviceDelivery, message.value as Buffer);
            outputs += 1;
            if (event.data.app_id !== BURST_APP) continue;
            // The burst's own bounces; the app's scattered configuration-type bounces outside it are singles (B3).
            const inBurst =
              event.data.occurred_at >= START + BURST_FROM * STEP_MS &&
              event.data.occurred_at < START + BURST_TO * STEP_MS;
            if (event.type === 'TokenInvalidated' && inBurst) invalidated += 1;
            if (event.type === 'AppProviderFlagged') flagged += 1;
          }
          if (outputs >= total + outputsBefore) resolveDone();
        },
      });
    });
    await consumer.disconnect();
    invalidated -= burstOutputsSoFar.invalidated;
    flagged -= burstOutputsSoFar.flagged;
    burstOutputsSoFar.invalidated += invalidated;
    burstOutputsSoFar.flagged += flagged;
    for (const topic of [Topics.DispatchOutcomes, Topics.DeviceTokens])
      await rewindGroup(prefix + GROUP, prefix + topic);
    return {
      rate: EVENTS / ((ended - started!) / 1000),
      rssMb,
      outputs: total,
      burst: { held, invalidated, flagged },
      devices,
    };
  } finally {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null) child.kill('SIGKILL');
    await dropDatabase(url).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const prefix = `bench.bounce-processor.${Date.now()}.`;
  const topic = prefix + Topics.DispatchOutcomes;
  console.log(
    `bounce-processor benchmark: ${EVENTS} outcomes, ${DEVICES} devices, ${PARTITIONS} partitions, ${RUNS} run(s), node ${process.version}`,
  );
  await preload(topic);
  const decodeRates: number[] = [];
  const runs: RunResult[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      decodeRates.push(await decodeOnly(topic));
      const result = await serviceRun(prefix);
      runs.push(result);
      console.log(
        `run ${run}: (a) decode-only ${Math.round(decodeRates.at(-1)!)} outcomes/s, (b) bounce-processor ${Math.round(result.rate)} outcomes/s, peak RSS ${Math.round(result.rssMb)} MB, ${result.outputs} events published; burst: ${result.burst.held} held, ${result.burst.invalidated} of its bounces invalidated, ${result.burst.flagged} flags`,
      );
    }
  } finally {
    const admin = createKafka('bench-cleanup', testBrokers()).admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  }
  const a = median(decodeRates);
  const b = median(runs.map((r) => r.rate));
  const result = {
    benchmark: 'bounce-processor',
    at: new Date().toISOString(),
    node: process.version,
    outcomes: EVENTS,
    devices: DEVICES,
    partitions: PARTITIONS,
    runs: RUNS,
    mix: {
      sent: 0.8,
      permanent_bounces: 0.15,
      retry_failures: 0.03,
      configuration: 0.02,
      burst: { app: BURST_APP, from: BURST_FROM, to: BURST_TO },
    },
    decode_only_outcomes_per_s: { median: Math.round(a), runs: decodeRates.map(Math.round) },
    bounce_processor_outcomes_per_s: { median: Math.round(b), runs: runs.map((r) => Math.round(r.rate)) },
    ratio_b_over_a: Number((b / a).toFixed(3)),
    service_peak_rss_mb: {
      median: Math.round(median(runs.map((r) => r.rssMb))),
      runs: runs.map((r) => Math.round(r.rssMb)),
    },
    output_events: runs.map((r) => r.outputs),
    devices_in_read_model: runs.map((r) => r.devices),
    burst: runs.map((r) => r.burst),
    service_node_args: SERVICE_NODE_ARGS.join(' '),
    floors: { bounce_processor_outcomes_per_s: 10_000, service_peak_rss_mb: 300 },
  };
  console.log(JSON.stringify(result, null, 2));
  writeResults('bounce-processor', result);
  process.exit(0);
}

void main();
