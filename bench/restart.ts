// Restart benchmark (issue 17): how long a token-registry replica is unavailable after a crash or a restart, and how
// long its partitions go unapplied. On a private broker (see processes.ts), two replicas of the built service share one
// database and topic prefix (6 partitions). Three scenarios, each `--runs` times:
//   kill      SIGKILL replica B; one event per partition is produced at once: time until all six are in the read model
//             (replica A takes over B's partitions once B's session timed out);
//   restart   SIGKILL replica B and start it again at once: time until it answers HTTP, until /health is 200, and until
//             one event per partition produced right after the kill is applied;
//   sigterm   SIGTERM replica B (it leaves its group): time until one event per partition is applied.
// After each scenario B is started again and both replicas are healthy before the next.
//   npm run bench:restart -- [--runs 3] [--label text] [--keep-logs]
// CONSUMER_* variables in the environment reach the replicas (e.g. CONSUMER_SESSION_TIMEOUT_MS=30000 for the old
// behaviour). Writes bench/results/restart-latest.json.
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { MessageKeys, Topics } from '@push/contracts';
import { EventProducer, murmur2 } from '@push/event-bus';
import { deviceEvents, dropDatabase, testServerUrl } from '@push/testing';
import { Broker, cleanup, cleanups, freePort, sleep, startPrivateBroker, stopProcess, track } from './processes';
import { argValue, median, writeResults } from './support';

const RUNS = Number(argValue('--runs', '3'));
const LABEL = argValue('--label', '');
/** The replicas' logs (kafkajs warnings, start-up steps) stay in a temp directory after the run, for a look. */
const KEEP_LOGS = process.argv.includes('--keep-logs');
const PARTITIONS = 6;
const SERVICE_NODE_ARGS = readFileSync('deploy/service-node-options', 'utf8').split(/\s+/).filter(Boolean);

interface Replica {
  name: string;
  port: number;
  child?: ChildProcess;
  startedAt: number;
}

const now = () => performance.now();
const since = (t: number) => Math.round(now() - t);

function spawnReplica(replica: Replica, env: NodeJS.ProcessEnv, logDir: string): void {
  const log = openSync(join(logDir, `${replica.name}.log`), 'a');
  replica.startedAt = now();
  replica.child = track(
    spawn(process.execPath, [...SERVICE_NODE_ARGS, resolve('dist/services/token-registry/src/main.js')], {
      env: { ...env, PORT: String(replica.port) },
      stdio: ['ignore', log, log],
    }),
  );
  closeSync(log);
  const child = replica.child;
  cleanups.push(() => stopProcess(child));
}

async function healthStatus(port: number): Promise<number> {
  return fetch(`http://127.0.0.1:${port}/health`).then(
    (r) => r.status,
    () => 0,
  );
}

/** ms from the replica's spawn until it answers HTTP at all, and until /health is 200. */
async function waitUp(replica: Replica, timeoutMs = 120_000): Promise<{ httpMs: number; healthyMs: number }> {
  let httpMs: number | undefined;
  for (;;) {
    if (replica.child!.exitCode !== null)
      throw new Error(`${replica.name} exited with code ${replica.child!.exitCode}`);
    const status = await healthStatus(replica.port);
    if (status !== 0 && httpMs === undefined) httpMs = since(replica.startedAt);
    if (status === 200) return { httpMs: httpMs!, healthyMs: since(replica.startedAt) };
    if (since(replica.startedAt) > timeoutMs)
      throw new Error(`${replica.name} not healthy within ${timeoutMs} ms (last status ${status})`);
    await sleep(20);
  }
}

/** A device id whose key lands on each partition (Java-compatible murmur2, as the producer partitions). */
function devicePerPartition(run: string): { workspace_id: string; app_id: string; device_id: string }[] {
  const found = new Map<number, string>();
  for (let i = 0; found.size < PARTITIONS; i++) {
    const device_id = `restart-${run}-${i}`;
    const partition =
      (murmur2(Buffer.from(MessageKeys.device('ws-bench', 'ios-app', device_id))) & 0x7fffffff) % PARTITIONS;
    if (!found.has(partition)) found.set(partition, device_id);
  }
  return [...found.values()].map((device_id) => ({ workspace_id: 'ws-bench', app_id: 'ios-app', device_id }));
}

/** Produces one event per partition; resolves with ms from `from` until every one of them is in the read model. */
async function applyEverywhere(
  producer: EventProducer,
  db: Client,
  from: number,
  timeoutMs = 120_000,
): Promise<number> {
  const devices = devicePerPartition(randomUUID().slice(0, 8));
  await producer.publish(
    Topics.DeviceEvents,
    devices.map((d) => ({
      key: MessageKeys.device(d.workspace_id, d.app_id, d.device_id),
      event: deviceEvents.tokenRegistered(d, Date.now(), `apns-${randomUUID().replace(/-/g, '')}`),
    })),
  );
  const ids = devices.map((d) => d.device_id);
  for (;;) {
    const { rows } = await db.query('select count(*)::int as n from devices where device_id = any($1)', [ids]);
    if (rows[0].n === ids.length) return since(from);
    if (since(from) > timeoutMs)
      throw new Error(`only ${rows[0].n} of ${ids.length} events applied after ${timeoutMs} ms`);
    await sleep(10);
  }
}

async function main(): Promise<void> {
  const consumerEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('CONSUMER_')));
  console.log(
    `restart benchmark: 2 token-registry replicas, ${PARTITIONS} partitions, ${RUNS} run(s); consumer env ${JSON.stringify(consumerEnv)}`,
  );
  const logDir = mkdtempSync(join(tmpdir(), 'restart-bench-logs-'));
  const broker: Broker = await startPrivateBroker();
  const databaseUrl = testServerUrl(`restart_bench_${randomUUID().slice(0, 8)}`);
  cleanups.push(() => dropDatabase(databaseUrl));
  const prefix = `bench.restart.${Date.now()}.`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: broker.brokers.join(','),
    DATABASE_URL: databaseUrl,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    API_KEYS: 'bench=ws-bench',
  };
  const a: Replica = { name: 'replica-a', port: await freePort(), startedAt: 0 };
  const b: Replica = { name: 'replica-b', port: await freePort(), startedAt: 0 };
  // A first (it creates the database and the topics), then B.
  spawnReplica(a, env, logDir);
  console.log(`replica A up: ${JSON.stringify(await waitUp(a))}`);
  spawnReplica(b, env, logDir);
  console.log(`replica B up: ${JSON.stringify(await waitUp(b))}`);

  const producer = new EventProducer({ brokers: broker.brokers, clientId: 'restart-bench', topicPrefix: prefix });
  await producer.connect();
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  cleanups.push(async () => {
    await producer.disconnect();
    await db.end();
  });
  console.log(`both healthy: one event per partition applied in ${await applyEverywhere(producer, db, now())} ms`);

  const results: Record<string, Record<string, number>[]> = { kill: [], restart: [], sigterm: [] };
  const bothHealthy = async () => {
    for (;;) {
      if ((await healthStatus(a.port)) === 200 && (await healthStatus(b.port)) === 200) return;
      await sleep(50);
    }
  };
  for (let run = 1; run <= RUNS; run++) {
    // kill: A takes over once B's session timed out
    let t = now();
    b.child!.kill('SIGKILL');
    const killApplied = await applyEverywhere(producer, db, t);
    spawnReplica(b, env, logDir);
    const killRestart = await waitUp(b);
    await bothHealthy();
    results.kill.push({
      all_partitions_applied_ms: killApplied,
      restarted_http_ms: killRestart.httpMs,
      restarted_healthy_ms: killRestart.healthyMs,
    });
    console.log(
      `run ${run} kill:    all partitions applied ${killApplied} ms after SIGKILL (B restarted: HTTP ${killRestart.httpMs} ms, healthy ${killRestart.healthyMs} ms)`,
    );

    // restart: killed and started again at once (the case that took 27–29 s)
    t = now();
    b.child!.kill('SIGKILL');
    await new Promise((r) => b.child!.once('exit', r));
    spawnReplica(b, env, logDir);
    const [up, applied] = await Promise.all([waitUp(b), applyEverywhere(producer, db, t)]);
    await bothHealthy();
    results.restart.push({ http_ms: up.httpMs, healthy_ms: up.healthyMs, all_partitions_applied_ms: applied });
    console.log(
      `run ${run} restart: B answers HTTP ${up.httpMs} ms, /health 200 ${up.healthyMs} ms after its start; all partitions applied ${applied} ms after the SIGKILL`,
    );

    // sigterm: B leaves its group on the way out
    t = now();
    const stopped = stopProcess(b.child!);
    const termApplied = await applyEverywhere(producer, db, t);
    await stopped;
    const stopMs = since(t);
    spawnReplica(b, env, logDir);
    const termRestart = await waitUp(b);
    await bothHealthy();
    results.sigterm.push({
      all_partitions_applied_ms: termApplied,
      stop_ms: stopMs,
      restarted_http_ms: termRestart.httpMs,
      restarted_healthy_ms: termRestart.healthyMs,
    });
    console.log(
      `run ${run} sigterm: all partitions applied ${termApplied} ms after SIGTERM (B exited after ${stopMs} ms; restarted: HTTP ${termRestart.httpMs} ms, healthy ${termRestart.healthyMs} ms)`,
    );
  }
  await cleanup();

  const medians = Object.fromEntries(
    Object.entries(results).map(([scenario, runs]) => [
      scenario,
      Object.fromEntries(Object.keys(runs[0]).map((key) => [key, median(runs.map((r) => r[key]))])),
    ]),
  );
  const result = {
    benchmark: 'restart',
    at: new Date().toISOString(),
    label: LABEL || undefined,
    node: process.version,
    broker: 'private (same jars, flags and server.properties as deploy/local/kafka.sh)',
    replicas: 2,
    partitions: PARTITIONS,
    runs: RUNS,
    service_consumer_env: consumerEnv,
    medians,
    results,
    ...(KEEP_LOGS && { logs: logDir }),
  };
  if (!KEEP_LOGS) rmSync(logDir, { recursive: true, force: true });
  console.log(JSON.stringify(medians, null, 2));
  writeResults('restart', result);
  process.exit(0);
}

main().catch(async (error: unknown) => {
  console.error(error);
  console.error(
    "the replicas' logs are kept for a look: see the restart-bench-logs-* directory under the temp directory",
  );
  await cleanup();
  process.exit(1);
});
