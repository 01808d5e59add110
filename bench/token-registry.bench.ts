// token-registry benchmark (issue 4): pre-load N mixed SDK device events over D devices and U users into a fresh topic,
// then in the same run measure (a) the raw limit, a consumer that only decodes, and (b) the token-registry service
// itself (the built service, run as its own process with its defaults) applying T1–T9, writing its read model and
// publishing its output events on token-registry.device-tokens.v1.
//   npm run bench:token-registry -- [--events 1000000] [--devices 200000] [--users 150000] [--runs 3]
// Prints events/s for both, b/a, the service's peak RSS and its output count; writes
// bench/results/token-registry-latest.json.
import { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { Topics } from '@push/contracts';
import { createKafka } from '@push/event-bus';
import { Client } from 'pg';
import { dropDatabase, messageCount, rewindGroup, testBrokers, uniqueDatabaseUrl } from '@push/testing';
import {
  RAW_LIMIT_FETCH,
  argValue,
  decodeOnly,
  deviceEventStream,
  median,
  preloadDeviceEvents,
  scrapeBusMetrics,
  serviceNodeArgs,
  startTokenRegistry,
  writeResults,
} from './support';

const EVENTS = Number(argValue('--events', '1000000'));
const DEVICES = Number(argValue('--devices', '200000'));
const USERS = Number(argValue('--users', '150000'));
const RUNS = Number(argValue('--runs', '1'));
const PORT = Number(argValue('--port', '39101'));
/** The service's Node flags as operators run it: its heap budget from deploy/service-node-options, unless given. */
const SERVICE_NODE_ARGS = serviceNodeArgs();
const PARTITIONS = 6;
const GROUP = 'token-registry.devices';
const FETCH = RAW_LIMIT_FETCH;

/** The consistent per-device SDK stream (bench/support.ts): 43 % sessions, 30 % registrations, … */
const { eventAt } = deviceEventStream({ events: EVENTS, devices: DEVICES, users: USERS });

/** Peak resident set of a process, from the kernel (VmHWM). */
const peakRssMb = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const scrape = () => scrapeBusMetrics(PORT, GROUP);

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
  // A failed or interrupted run drops its database too: one left behind has skewed later figures here before.
  const dropOnExit = () => void dropDatabase(url).catch(() => undefined);
  process.once('SIGINT', () => (dropOnExit(), setTimeout(() => process.exit(130), 2000)));
  try {
    return await measuredRun(prefix, url);
  } catch (error) {
    await dropDatabase(url).catch(() => undefined);
    throw error;
  }
}

async function measuredRun(prefix: string, url: string): Promise<{ rate: number; rssMb: number; outputs: number }> {
  const outputsBefore = await messageCount(prefix + Topics.DeviceTokens).catch(() => 0);
  const child = startTokenRegistry({
    port: PORT,
    databaseUrl: url,
    topicPrefix: prefix,
    partitions: PARTITIONS,
    nodeArgs: SERVICE_NODE_ARGS,
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
    if (now - progress.at > 120_000)
      throw new Error(
        `token-registry made no progress for 2 minutes (${progress.applied} applied, outbox ${progress.outbox})`,
      );
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
  } = await db.query('select coalesce(sum(next_offset), 0)::int as applied from consumer_offsets where group_id = $1', [
    GROUP,
  ]);
  const {
    rows: [{ outbox }],
  } = await db.query('select count(*)::int as outbox from event_outbox');
  const {
    rows: [{ devices }],
  } = await db.query('select count(*)::int as devices from devices');
  await db.end();
  await dropDatabase(url);
  if (applied !== EVENTS || outbox !== 0 || devices !== DEVICES)
    throw new Error(`after the run: ${applied} applied, ${outbox} in the outbox, ${devices} devices`);
  // The next run starts the same group over on a fresh database: Kafka's committed offsets must go back too.
  for (const topic of [Topics.DeviceEvents, Topics.DeviceDelivery]) await rewindGroup(prefix + GROUP, prefix + topic);
  return {
    rate: EVENTS / ((ended - started!) / 1000),
    rssMb,
    outputs: (await messageCount(prefix + Topics.DeviceTokens)) - outputsBefore,
  };
}

async function main(): Promise<void> {
  const prefix = `bench.token-registry.${Date.now()}.`;
  const topic = prefix + Topics.DeviceEvents;
  console.log(
    `token-registry benchmark: ${EVENTS} events, ${DEVICES} devices, ${USERS} users, ${PARTITIONS} partitions, ${RUNS} run(s), node ${process.version}`,
  );
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
    console.log(
      `run ${run}: (a) decode-only ${Math.round(decodeRates.at(-1)!)} events/s, (b) token-registry ${Math.round(result.rate)} events/s, peak RSS ${Math.round(result.rssMb)} MB, ${result.outputs} events published`,
    );
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
    service_consumer_env: Object.fromEntries(
      Object.entries(process.env).filter(([name]) => name.startsWith('CONSUMER_')),
    ),
    decode_fetch_settings: FETCH,
    floors: { token_registry_events_per_s: 10_000, service_peak_rss_mb: 300 },
  };
  console.log(JSON.stringify(result, null, 2));
  writeResults('token-registry', result);
  process.exit(0);
}

void main();
