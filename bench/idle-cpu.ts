// Idle CPU benchmark (issue 17): what the platform costs while nothing happens, and how fresh a read model stays.
// Starts a private Kafka broker (same jars, JVM flags and server.properties as deploy/local/kafka.sh, other ports and a
// throwaway data directory, so that other people's tests on the shared broker do not count), then the five built
// services as operators run them (heap budget from deploy/service-node-options, fresh databases, a fresh topic prefix),
// waits until every /health is 200, lets them settle and samples each process's CPU time (utime + stime from
// /proc/<pid>/stat) over windows of 30 s; the figure is the median of three windows, in % of one core. Then it
// measures freshness: an SDK event is produced every ~second and the time until token-registry's read model has the
// device row is taken (polled in Postgres every 2 ms).
//   npm run bench:idle -- [--max-wait 20,100,250,500,1000] [--samples 3] [--window 30] [--settle 10] [--broker-settle 60] [--probes 20]
//                          [--services token-registry,…] [--shared-broker] [--label text]
// `--max-wait` repeats the whole measurement with each CONSUMER_MAX_WAIT_MS (default: one round, the services' default).
// `--shared-broker` measures against KAFKA_BROKERS / the local broker instead (its CPU then includes everyone's tests).
// Every process it starts is stopped at the end, also when it fails or is interrupted; databases and the private
// broker's data are removed. Writes bench/results/idle-cpu-latest.json.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { MessageKeys, Topics } from '@push/contracts';
import { EventProducer, createKafka } from '@push/event-bus';
import { deviceEvents, dropDatabase, testBrokers, testServerUrl } from '@push/testing';
import {
  CLK_TCK,
  Broker,
  cleanup,
  cleanupSince,
  cleanups,
  cpuSeconds,
  freePort,
  sharedBroker,
  sleep,
  startPrivateBroker,
  stopProcess,
  track,
} from './processes';
import { argValue, median, writeResults } from './support';

const ALL_SERVICES = [
  'token-registry',
  'subscription-state',
  'segmentation',
  'dispatcher',
  'bounce-processor',
] as const;
type Service = (typeof ALL_SERVICES)[number];

const SAMPLES = Number(argValue('--samples', '3'));
const WINDOW_S = Number(argValue('--window', '30'));
const SETTLE_S = Number(argValue('--settle', '10'));
/** A freshly started broker keeps busy for a while (JIT, metadata, log maintenance): its idle figure waits longer. */
const BROKER_SETTLE_S = Number(argValue('--broker-settle', '60'));
const PROBES = Number(argValue('--probes', '20'));
const MAX_WAITS = argValue('--max-wait', '')
  .split(',')
  .filter(Boolean)
  .map((v) => Number(v));
const SERVICES = argValue('--services', ALL_SERVICES.join(',')).split(',') as Service[];
const SHARED_BROKER = process.argv.includes('--shared-broker');
const LABEL = argValue('--label', '');
const SERVICE_NODE_ARGS = argValue('--service-node-args', readFileSync('deploy/service-node-options', 'utf8'))
  .split(/\s+/)
  .filter(Boolean);
interface RunningService {
  name: Service;
  child: ChildProcess;
  port: number;
  databaseUrl: string;
  logFile: string;
}

async function startServices(
  broker: Broker,
  prefix: string,
  maxWait: number | undefined,
  logDir: string,
): Promise<RunningService[]> {
  const started: RunningService[] = [];
  for (const name of SERVICES) {
    const port = await freePort();
    const databaseUrl = testServerUrl(`idle_bench_${name.replace(/-/g, '_')}_${randomUUID().slice(0, 8)}`);
    cleanups.push(() => dropDatabase(databaseUrl));
    const logFile = join(logDir, `${name}.log`);
    const log = openSync(logFile, 'a');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_BROKERS: broker.brokers.join(','),
      DATABASE_URL: databaseUrl,
      KAFKA_TOPIC_PREFIX: prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      API_KEYS: 'bench=ws-bench',
    };
    if (maxWait !== undefined) env.CONSUMER_MAX_WAIT_MS = String(maxWait);
    const child = track(
      spawn(process.execPath, [...SERVICE_NODE_ARGS, resolve(`dist/services/${name}/src/main.js`)], {
        env,
        stdio: ['ignore', log, log],
      }),
    );
    closeSync(log);
    cleanups.push(() => stopProcess(child));
    started.push({ name, child, port, databaseUrl, logFile });
  }
  const deadline = Date.now() + 120_000;
  for (const s of started) {
    for (;;) {
      if (s.child.exitCode !== null)
        throw new Error(`${s.name} exited with code ${s.child.exitCode}; see ${s.logFile}`);
      const status = await fetch(`http://127.0.0.1:${s.port}/health`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      if (Date.now() > deadline)
        throw new Error(`${s.name} not healthy within 120 s (last status ${status}); see ${s.logFile}`);
      await sleep(250);
    }
  }
  return started;
}

/** Each process's CPU over `SAMPLES` windows of `WINDOW_S`, in % of one core. */
async function sampleCpu(pids: Record<string, number>): Promise<Record<string, number[]>> {
  const result: Record<string, number[]> = Object.fromEntries(Object.keys(pids).map((name) => [name, []]));
  for (let i = 0; i < SAMPLES; i++) {
    const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
    const t0 = performance.now();
    await sleep(WINDOW_S * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    for (const [name, pid] of Object.entries(pids))
      result[name].push(Number((((cpuSeconds(pid) - before[name]) / elapsed) * 100).toFixed(2)));
    console.log(
      `  window ${i + 1}/${SAMPLES}: ${Object.entries(result)
        .map(([name, values]) => `${name} ${values.at(-1)!.toFixed(2)} %`)
        .join(', ')}`,
    );
  }
  return result;
}

/** ms from producing an SDK event to token-registry's read model holding the device, `PROBES` times, ~1 s apart. */
async function freshness(broker: Broker, prefix: string, tokenRegistry: RunningService): Promise<number[]> {
  const producer = new EventProducer({
    brokers: broker.brokers,
    clientId: 'idle-bench-freshness',
    topicPrefix: prefix,
  });
  const db = new Client({ connectionString: tokenRegistry.databaseUrl });
  await db.connect();
  const times: number[] = [];
  try {
    await producer.connect();
    for (let i = 0; i < PROBES; i++) {
      // a random phase against the consumers' long polls
      await sleep(700 + Math.random() * 600);
      const device = { workspace_id: 'ws-bench', app_id: 'ios-app', device_id: `fresh-${randomUUID()}` };
      const event = deviceEvents.tokenRegistered(device, Date.now(), `apns-${randomUUID().replace(/-/g, '')}`);
      const t0 = performance.now();
      await producer.publish(Topics.DeviceEvents, [
        { key: MessageKeys.device(device.workspace_id, device.app_id, device.device_id), event },
      ]);
      for (;;) {
        const { rowCount } = await db.query(
          'select 1 from devices where workspace_id = $1 and app_id = $2 and device_id = $3',
          [device.workspace_id, device.app_id, device.device_id],
        );
        if (rowCount) break;
        if (performance.now() - t0 > 30_000) throw new Error('an event was not in the read model after 30 s');
        await sleep(2);
      }
      times.push(Number((performance.now() - t0).toFixed(1)));
    }
  } finally {
    await producer.disconnect();
    await db.end();
  }
  return times;
}

const round1 = (ms: number) => Number(ms.toFixed(1));
const pct = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))];

interface Round {
  consumer_max_wait_ms: number | 'service default';
  cpu_percent_of_a_core: Record<string, { median: number; samples: number[] }>;
  freshness_ms: { median: number; p90: number; max: number; samples: number[] } | null;
}

async function round(broker: Broker, maxWait: number | undefined, logDir: string): Promise<Round> {
  const prefix = `bench.idle.${Date.now()}.`;
  console.log(`\nround: CONSUMER_MAX_WAIT_MS ${maxWait ?? '(service default)'}; starting ${SERVICES.join(', ')}`);
  const mark = cleanups.length;
  const services = await startServices(broker, prefix, maxWait, logDir);
  console.log(`  all healthy; settling ${SETTLE_S} s, then ${SAMPLES} × ${WINDOW_S} s`);
  await sleep(SETTLE_S * 1000);
  const cpu = await sampleCpu({
    ...Object.fromEntries(services.map((s) => [s.name, s.child.pid!])),
    broker: broker.pid,
  });
  const tokenRegistry = services.find((s) => s.name === 'token-registry');
  const fresh = tokenRegistry ? await freshness(broker, prefix, tokenRegistry) : null;
  if (fresh)
    console.log(
      `  freshness: median ${round1(median(fresh))} ms, p90 ${pct(fresh, 90)} ms, max ${Math.max(...fresh)} ms`,
    );
  // this round's services and databases go now; the broker stays for the next round
  await cleanupSince(mark);
  const admin = createKafka('idle-bench-cleanup', broker.brokers).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
  return {
    consumer_max_wait_ms: maxWait ?? 'service default',
    cpu_percent_of_a_core: Object.fromEntries(
      Object.entries(cpu).map(([name, samples]) => [name, { median: Number(median(samples).toFixed(2)), samples }]),
    ),
    freshness_ms: fresh && {
      median: round1(median(fresh)),
      p90: pct(fresh, 90),
      max: Math.max(...fresh),
      samples: fresh,
    },
  };
}

async function main(): Promise<void> {
  console.log(
    `idle CPU benchmark: ${SERVICES.join(', ')}; ${SAMPLES} × ${WINDOW_S} s windows; node ${process.version}; CLK_TCK ${CLK_TCK}`,
  );
  const logDir = mkdtempSync(join(tmpdir(), 'idle-bench-logs-'));
  const broker = SHARED_BROKER ? sharedBroker(testBrokers()) : await startPrivateBroker();
  let baseline: Record<string, { median: number; samples: number[] }> | null = null;
  if (broker.private) {
    console.log(`\nbroker alone (no clients): settling ${BROKER_SETTLE_S} s, then ${SAMPLES} × ${WINDOW_S} s`);
    await sleep(BROKER_SETTLE_S * 1000);
    const alone = await sampleCpu({ broker: broker.pid });
    baseline = { broker: { median: Number(median(alone.broker).toFixed(2)), samples: alone.broker } };
  }
  const rounds: Round[] = [];
  for (const maxWait of MAX_WAITS.length ? MAX_WAITS : [undefined]) rounds.push(await round(broker, maxWait, logDir));
  await cleanup();
  rmSync(logDir, { recursive: true, force: true });

  console.log(
    '\n| CONSUMER_MAX_WAIT_MS | ' + [...SERVICES, 'broker'].join(' | ') + ' | freshness median / p90 / max |',
  );
  console.log('|---|' + [...SERVICES, 'broker'].map(() => '---|').join('') + '---|');
  if (baseline)
    console.log(`| broker alone | ${SERVICES.map(() => '').join(' | ')} | ${baseline.broker.median.toFixed(2)} % | |`);
  for (const r of rounds) {
    const cells = [...SERVICES, 'broker'].map((name) => `${r.cpu_percent_of_a_core[name].median.toFixed(2)} %`);
    const fresh = r.freshness_ms ? `${r.freshness_ms.median} / ${r.freshness_ms.p90} / ${r.freshness_ms.max} ms` : '';
    console.log(`| ${r.consumer_max_wait_ms} | ${cells.join(' | ')} | ${fresh} |`);
  }
  const result = {
    benchmark: 'idle-cpu',
    at: new Date().toISOString(),
    label: LABEL || undefined,
    node: process.version,
    git_head: (() => {
      try {
        return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim();
      } catch {
        return undefined;
      }
    })(),
    broker: broker.private
      ? 'private (same jars, flags and server.properties as deploy/local/kafka.sh)'
      : `shared ${broker.brokers.join(',')}`,
    method: `CPU time (utime+stime, /proc/<pid>/stat) over ${SAMPLES} windows of ${WINDOW_S} s after ${SETTLE_S} s settling (the broker alone: ${BROKER_SETTLE_S} s), % of one core, median; freshness: produce → device row visible in token-registry's database, polled every 2 ms`,
    service_node_args: SERVICE_NODE_ARGS.join(' '),
    service_consumer_env: Object.fromEntries(
      Object.entries(process.env).filter(([name]) => name.startsWith('CONSUMER_')),
    ),
    broker_alone: baseline,
    rounds,
  };
  writeResults('idle-cpu', result);
  console.log(`\nwritten to bench/results/idle-cpu-latest.json`);
  process.exit(0);
}

main().catch(async (error: unknown) => {
  console.error(error);
  await cleanup();
  process.exit(1);
});
