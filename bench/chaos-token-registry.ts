// token-registry kill -9 campaign (issue 17): the built service, R replicas in one consumer group on a fresh database and
// topic prefix, a consistent per-device SDK stream published at a steady rate, and K times: one replica killed with
// SIGKILL at a random moment and restarted at once. Measured per restart: process start → first HTTP answer on /health
// (any status) and → /health 200; per kill: → every partition applying again, and → the backlog of the kill applied.
// Then, once every event is applied, exactly once is checked against an in-memory run of the service's pure domain.
//   npm run chaos:token-registry -- [--events 200000] [--devices 20000] [--kills 6] [--runs 1] [--replicas 2] [--rate 2000]
//     [--seed n] [--restart-delay-ms 0] [--shared-broker] [--service-node-args "…"]
// Prints every kill, medians and maxima, the checks; writes
// bench/results/chaos-token-registry-latest.json. Method and definitions: bench/README.md ("token-registry under kill -9").
import 'reflect-metadata';
import { ChildProcess, execSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Admin, AssignerProtocol } from 'kafkajs';
import { Client } from 'pg';
import { ALL_EVENT_TOPICS, DeviceTokenEvent, Topics, decodeEvent } from '@push/contracts';
import { EventProducer, createKafka, provisionTopics } from '@push/event-bus';
import {
  createDatabase,
  deleteTestTopics,
  dropDatabase,
  messageCount,
  seededRandom,
  testBrokers,
  testServerUrl,
  uniqueDatabaseUrl,
} from '@push/testing';
import { DeviceState, pushCapability, sendableToken } from '../services/token-registry/src/domain/device-state';
import { TokenRegistry } from '../services/token-registry/src/domain/token-registry';
import {
  STORED_DEVICE_COLUMNS,
  StoredDevice,
  stateOf,
} from '../services/token-registry/src/projections/devices/devices-table';
import { cleanup, cleanupSince, cleanups, sleep, startPrivateBroker, track } from './processes';
import {
  argValue,
  deviceEventStream,
  median,
  publishDeviceEvents,
  readTopic,
  serviceNodeArgs,
  startTokenRegistry,
  writeResults,
} from './support';

const EVENTS = Number(argValue('--events', '200000'));
const DEVICES = Number(argValue('--devices', '20000'));
const USERS = Number(argValue('--users', String(Math.round(DEVICES * 0.75))));
const KILLS = Number(argValue('--kills', '6'));
const RUNS = Number(argValue('--runs', '1'));
const REPLICAS = Number(argValue('--replicas', '2'));
/** Input events per second the SDK side publishes (a steady load well under what the replicas apply). */
const RATE = Number(argValue('--rate', '2000'));
/** HTTP port of replica 0; replica j listens on PORT + j (a restart keeps its replica's port). */
const PORT = Number(argValue('--port', '39201'));
const SEED = Number(argValue('--seed', String(Date.now() % 2_147_483_647)));
/** Between a replica's death and its restart (a supervisor restarting at once: 0). */
const RESTART_DELAY_MS = Number(argValue('--restart-delay-ms', '0'));
/** A kill whose restart or partitions have not recovered after this long fails the run. */
const CYCLE_TIMEOUT_MS = Number(argValue('--cycle-timeout-s', '180')) * 1000;
/**
 * By default the run has a throwaway broker of its own (`startPrivateBroker` of bench/processes.ts: free ports, data
 * removed at the end): on the shared broker, every token-registry others start (their tests, their benchmarks) joins
 * this run's consumer group and can hold its partitions (see GroupWatch). `--shared-broker` uses KAFKA_BROKERS /
 * 127.0.0.1:9092 instead.
 */
const PRIVATE_BROKER = !process.argv.includes('--shared-broker');
const SERVICE_NODE_ARGS = serviceNodeArgs();
const PARTITIONS = 6;
const GROUP = 'token-registry.devices';
const OFFSETS_POLL_MS = 100;
const HEALTH_POLL_MS = 50;
/** After the killed process is gone, a COMMIT it had already sent may still land: offsets are snapshotted after this. */
const KILL_SETTLE_MS = 250;
/** Every database, topic prefix and child process of this tool carries this process's id, so that a later run can tell abandoned ones. */
const OWNER_ENV = 'CHAOS_TOKEN_REGISTRY_OWNER';
const DB_PREFIX = 'chaos_token_registry_p';
const TOPIC_PREFIX = 'chaos.token-registry.p';
/** `<tmp>/<this><pid>.json`: the private broker a run started ({ pid, dataDir }), so that a later run can stop it if this one was SIGKILLed. */
const BROKER_MARKER_PREFIX = 'chaos-token-registry-broker-p';

const stream = deviceEventStream({ events: EVENTS, devices: DEVICES, users: USERS });
const now = () => performance.now();
const seconds = (ms: number) => Number((ms / 1000).toFixed(2));

// ---------------------------------------------------------------------------------------------------------------------
// Clean-up: whatever happens (failure, SIGINT, SIGTERM), every replica is killed, the database dropped, the topics
// deleted and the private broker stopped — bench/processes.ts runs the steps registered in `cleanups`, newest first, on
// failure and on those signals, and SIGKILLs every tracked child on exit. A database left behind by an aborted run has
// skewed benchmarks on this machine before.

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

async function killChildren(which: Iterable<ChildProcess>): Promise<void> {
  const list = [...which];
  for (const child of list) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.race([Promise.all(list.map(exited)), sleep(5000)]);
}

/** Registers a clean-up step that reports its failure instead of hiding it. */
function onCleanup(what: string, step: () => Promise<unknown>): void {
  cleanups.push(async () => {
    await step().catch((error: unknown) =>
      console.error(`could not ${what}: ${error instanceof Error ? error.message : String(error)}`),
    );
  });
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};
const isLocal = (host: string) => ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);

/**
 * What a run killed with SIGKILL itself (no clean-up possible) left: its replicas (found by the owner variable in their
 * environment), its databases and its topics, all named after a process that no longer exists. Only on a local server
 * and broker, where a process id means this machine's process.
 */
async function sweepAbandoned(): Promise<void> {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
    } catch {
      continue;
    }
    const owner = environ.split('\0').find((v) => v.startsWith(`${OWNER_ENV}=`));
    const ownerPid = owner ? Number(owner.slice(OWNER_ENV.length + 1)) : NaN;
    if (Number.isInteger(ownerPid) && ownerPid !== process.pid && !isAlive(ownerPid)) {
      console.log(`abandoned replica of chaos run ${ownerPid}: pid ${entry}, killed`);
      process.kill(Number(entry), 'SIGKILL');
    }
  }
  const abandoned = (name: string, prefix: string) => {
    const pid = Number(/^(\d+)/.exec(name.slice(prefix.length))?.[1]);
    return Number.isInteger(pid) && pid !== process.pid && !isAlive(pid);
  };
  for (const entry of readdirSync(tmpdir()).filter(
    (e) => e.startsWith(BROKER_MARKER_PREFIX) && abandoned(e, BROKER_MARKER_PREFIX),
  )) {
    const marker = join(tmpdir(), entry);
    const { pid, cmdline } = JSON.parse(readFileSync(marker, 'utf8')) as { pid: number; cmdline: string };
    let running: string | undefined;
    try {
      running = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      // gone
    }
    // The same process (not a reused pid): the broker that run started.
    if (running === cmdline) {
      process.kill(pid, 'SIGKILL');
      console.log(`abandoned private broker of an earlier chaos run: pid ${pid}, killed`);
    }
    const config = cmdline.split('\0').find((arg) => arg.endsWith('/server.properties'));
    if (config && dirname(config).startsWith(tmpdir())) rmSync(dirname(config), { recursive: true, force: true });
    rmSync(marker, { force: true });
  }
  if (isLocal(new URL(testServerUrl()).hostname)) {
    const db = new Client({ connectionString: testServerUrl() });
    await db.connect();
    const { rows } = await db.query<{ datname: string }>(`select datname from pg_database where datname like $1`, [
      `${DB_PREFIX}%`,
    ]);
    await db.end();
    for (const { datname } of rows.filter((r) => abandoned(r.datname, DB_PREFIX))) {
      console.log(`abandoned database of an earlier chaos run: ${datname}, dropped`);
      await dropDatabase(testServerUrl(datname));
    }
  }
  if (testBrokers().every((b) => isLocal(b.slice(0, b.lastIndexOf(':'))))) {
    const admin = createKafka('chaos-sweep', testBrokers()).admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(TOPIC_PREFIX) && abandoned(t, TOPIC_PREFIX));
    if (topics.length) {
      console.log(`abandoned topics of earlier chaos runs: ${topics.length}, deleted`);
      await admin.deleteTopics({ topics });
    }
    await admin.disconnect();
  }
}

/**
 * Starts the private broker and points this process — and so the replicas, which inherit its environment — at it. A
 * marker names the broker process, for the sweep of a later run should this one be SIGKILLed (its children survive it).
 */
async function usePrivateBroker(): Promise<void> {
  const marker = join(tmpdir(), `${BROKER_MARKER_PREFIX}${process.pid}.json`);
  // Registered first, so run last: after the broker is stopped.
  cleanups.push(async () => rmSync(marker, { force: true }));
  const broker = await startPrivateBroker();
  writeFileSync(
    marker,
    JSON.stringify({ pid: broker.pid, cmdline: readFileSync(`/proc/${broker.pid}/cmdline`, 'utf8') }),
  );
  process.env.KAFKA_BROKERS = broker.brokers.join(',');
}

// ---------------------------------------------------------------------------------------------------------------------
// The replicas.

interface Replica {
  index: number;
  port: number;
  child: ChildProcess;
  /** performance.now() just before spawn. */
  startedAt: number;
  killedByUs: boolean;
}

interface StartTimes {
  /** Process start → first HTTP answer of /health, whatever its status. */
  firstAnswerMs: number;
  /** Process start → first /health 200. */
  healthyMs: number;
}

class ReplicaSet {
  readonly replicas: Replica[] = [];
  /** Set when a replica exits without being killed by the campaign: the run fails. */
  unexpectedExit: string | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly topicPrefix: string,
    private readonly logFd: number,
  ) {}

  start(index: number): Replica {
    const port = PORT + index;
    const startedAt = now();
    const child = startTokenRegistry({
      port,
      databaseUrl: this.databaseUrl,
      topicPrefix: this.topicPrefix,
      partitions: PARTITIONS,
      nodeArgs: SERVICE_NODE_ARGS,
      env: { [OWNER_ENV]: String(process.pid) },
      stdio: ['ignore', this.logFd, this.logFd],
    });
    track(child);
    const replica: Replica = { index, port, child, startedAt, killedByUs: false };
    writeSync(
      this.logFd,
      `\n=== ${new Date().toISOString()} replica ${index} started, pid ${child.pid}, port ${port}\n`,
    );
    child.once('exit', (code, signal) => {
      if (!replica.killedByUs)
        this.unexpectedExit ??= `replica ${index} (pid ${child.pid}) exited by itself (code ${code}, signal ${signal})`;
    });
    this.replicas[index] = replica;
    return replica;
  }

  check(): void {
    if (this.unexpectedExit) throw new Error(this.unexpectedExit);
  }

  async kill(replica: Replica): Promise<void> {
    replica.killedByUs = true;
    replica.child.kill('SIGKILL');
    await exited(replica.child);
  }

  /** Polls /health from the moment of spawn: the first answer (any status) and the first 200. */
  async watchStart(replica: Replica, timeoutMs: number): Promise<StartTimes> {
    let firstAnswerMs: number | undefined;
    for (;;) {
      this.check();
      if (now() - replica.startedAt > timeoutMs)
        throw new Error(`replica ${replica.index} not healthy ${timeoutMs / 1000} s after its start`);
      try {
        const response = await fetch(`http://127.0.0.1:${replica.port}/health`, { signal: AbortSignal.timeout(2000) });
        await response.arrayBuffer();
        const at = now() - replica.startedAt;
        firstAnswerMs ??= at;
        if (response.status === 200) return { firstAnswerMs, healthyMs: at };
      } catch {
        // not listening yet
      }
      await sleep(HEALTH_POLL_MS);
    }
  }

  async stopAll(): Promise<void> {
    const running = this.replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
    for (const r of running) {
      r.killedByUs = true;
      r.child.kill('SIGTERM');
    }
    await Promise.race([Promise.all(running.map((r) => exited(r.child))), sleep(30_000)]);
    await killChildren(running.map((r) => r.child));
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The offsets the read model stored (consumer_offsets, written in the transaction of each applied batch): the truth of
// what is applied, whichever replica applied it and whatever a killed process last reported.

class StoredOffsets {
  /** Next offset to apply per partition of sdk.device-events.v1 (absent: nothing applied on it yet). */
  latest = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private waiters: (() => void)[] = [];

  constructor(private readonly db: Client) {}

  get applied(): number {
    return [...this.latest.values()].reduce((sum, n) => sum + n, 0);
  }

  poll(): Promise<void> {
    return (this.polling ??= this.db
      .query<{ partition: number; next_offset: string }>(
        'select partition, next_offset from consumer_offsets where group_id = $1 and topic = $2',
        [GROUP, Topics.DeviceEvents],
      )
      .then(({ rows }) => {
        for (const r of rows) this.latest.set(r.partition, Number(r.next_offset));
        for (const wake of this.waiters.splice(0)) wake();
      })
      .finally(() => (this.polling = undefined)));
  }

  start(): void {
    this.timer = setInterval(() => void this.poll().catch(() => undefined), OFFSETS_POLL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Resolves after the next poll. */
  private next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * For every partition, the time from `since` to the first poll at which its stored offset passed `target(p)`;
   * resolves when all partitions did. `check` is called at every poll (it throws to abort).
   */
  async waitAll(
    target: (partition: number) => number,
    since: number,
    timeoutMs: number,
    what: string,
    check: () => void,
  ): Promise<number[]> {
    const reached: (number | undefined)[] = Array.from({ length: PARTITIONS }, () => undefined);
    for (;;) {
      for (let p = 0; p < PARTITIONS; p++)
        if (reached[p] === undefined && (this.latest.get(p) ?? -1) >= target(p)) reached[p] = now() - since;
      if (reached.every((t) => t !== undefined)) return reached as number[];
      check();
      if (now() - since > timeoutMs) {
        const late = reached.flatMap((t, p) =>
          t === undefined ? [`${p} (stored ${this.latest.get(p) ?? 'none'}, needs ${target(p)})`] : [],
        );
        throw new Error(`${what}: partitions ${late.join(', ')} not there ${timeoutMs / 1000} s after the kill`);
      }
      await this.next();
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The SDK side: events 0…EVENTS-1 of the stream at RATE per second, never beyond `allowed` (the campaign hands out each
// kill's share of the stream, so that every kill happens while events arrive and the stream lasts for every kill).

class Publisher {
  published = 0;
  allowed = 0;
  error: unknown;
  private stopped = false;
  private readonly producer = new EventProducer({ brokers: testBrokers(), clientId: 'chaos-sdk' });
  private done: Promise<void> | undefined;

  constructor(private readonly topic: string) {}

  start(): void {
    this.done = this.loop().catch((error) => {
      this.error = error;
    });
  }

  check(): void {
    if (this.error) throw new Error(`publishing failed: ${this.error}`);
  }

  private async loop(): Promise<void> {
    const tick = 100;
    const perTick = Math.max(1, Math.round((RATE * tick) / 1000));
    let next = now();
    while (!this.stopped && this.published < EVENTS) {
      const n = Math.min(perTick, this.allowed - this.published);
      if (n > 0) {
        await publishDeviceEvents(this.producer, this.topic, this.published, this.published + n, stream.eventAt);
        this.published += n;
      }
      next += tick;
      await sleep(Math.max(0, next - now()));
      if (n === 0) next = now();
    }
  }

  async untilPublished(count: number, check: () => void): Promise<void> {
    while (this.published < count) {
      this.check();
      check();
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    await this.producer.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Who is in the run's consumer group (the projection's group id behind KAFKA_TOPIC_PREFIX). Since the event bus prefixes
// the group, another deployment on this broker cannot join it; sampled anyway, so that a run disturbed by a foreign
// member would be flagged instead of silently skewing the figures.

async function groupMembers(admin: Admin, group: string): Promise<{ memberId: string; topics: string[] }[]> {
  const { groups } = await admin.describeGroups([group]);
  return (groups[0]?.members ?? []).map((m) => ({
    memberId: m.memberId,
    topics: m.memberMetadata.length ? (AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics ?? []) : [],
  }));
}

class GroupWatch {
  maxMembers = 0;
  foreignMembers = 0;
  readonly foreignTopics = new Set<string>();
  /** performance.now() of every sample that saw a member of another deployment. */
  readonly foreignSeenAt: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly admin: Admin,
    private readonly topicPrefix: string,
  ) {}

  start(): void {
    void this.sample().catch(() => undefined);
    this.timer = setInterval(() => void this.sample().catch(() => undefined), 1000);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Whether a member of another deployment was seen between `from` and `to` (performance.now()). */
  disturbed(from: number, to: number): boolean {
    return this.foreignSeenAt.some((t) => t >= from - 1000 && t <= to + 1000);
  }

  describe(): string {
    return this.foreignTopics.size
      ? `members of other deployments joined group ${this.topicPrefix + GROUP} (topics ${[...this.foreignTopics].join(', ')})`
      : `no member of another deployment seen in group ${this.topicPrefix + GROUP}`;
  }

  async sample(): Promise<void> {
    const members = await groupMembers(this.admin, this.topicPrefix + GROUP);
    this.maxMembers = Math.max(this.maxMembers, members.length);
    let foreign = 0;
    for (const m of members) {
      const others = m.topics.filter((t) => !t.startsWith(this.topicPrefix));
      if (others.length) foreign++;
      for (const t of others) this.foreignTopics.add(t);
    }
    if (foreign) this.foreignSeenAt.push(now());
    this.foreignMembers = Math.max(this.foreignMembers, foreign);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// One run: fresh database and topics, R replicas, K kills, then the checks.

interface KillRecord {
  kill: number;
  replica: number;
  pid: number;
  /** Since the first event was published. */
  at_s: number;
  published_at_kill: number;
  /** Events published before the kill and not yet applied when the killed process was gone. */
  backlog_at_kill: number;
  restart_first_answer_s: number;
  restart_health_200_s: number;
  /** Kill → every partition's stored offset past its value once the killed process was gone. */
  partitions_applied_again_s: number;
  /** The same, per partition: the killed replica's partitions are the slow ones. */
  partition_applied_again_s: number[];
  /** Kill → every partition's stored offset at the high watermark it had at the kill. */
  backlog_applied_s: number;
  /** A member of another deployment was in the consumer group meanwhile (see GroupWatch): this kill's figures are skewed. */
  disturbed_by_other_deployment: boolean;
}

interface RunResult {
  run: number;
  database: string;
  topic_prefix: string;
  seed: number;
  cold_starts: {
    replica: number;
    first_answer_s: number;
    health_200_s: number;
    disturbed_by_other_deployment: boolean;
  }[];
  kills: KillRecord[];
  /** First event published → last (the publisher waits between kills' shares). */
  publishing_s: number;
  duration_s: number;
  consumer_group: { max_members: number; foreign_members: number; foreign_topics: string[] };
  checks: Checks;
  log: string;
}

async function run(runNumber: number, seed: number): Promise<RunResult> {
  const random = seededRandom(seed);
  const databaseUrl = uniqueDatabaseUrl(`${DB_PREFIX}${process.pid}`);
  const topicPrefix = `${TOPIC_PREFIX}${process.pid}.${randomUUID().slice(0, 8)}.`;
  const input = topicPrefix + Topics.DeviceEvents;
  const logPath = join(tmpdir(), `chaos-token-registry-${process.pid}-run${runNumber}.log`);
  const logFd = openSync(logPath, 'a');
  console.log(
    `run ${runNumber}: database ${new URL(databaseUrl).pathname.slice(1)}, topics ${topicPrefix}*, seed ${seed}, replica logs in ${logPath}`,
  );

  // This run's clean-up steps, run newest first: the replicas killed, the topics deleted, the database dropped.
  const mark = cleanups.length;
  const database = new URL(databaseUrl).pathname.slice(1);
  onCleanup(`drop the database ${database}`, () => dropDatabase(databaseUrl));
  onCleanup(`delete the topics ${topicPrefix}*`, () => deleteTestTopics(topicPrefix));
  await createDatabase(databaseUrl);
  await provisionTopics({
    brokers: testBrokers(),
    partitions: PARTITIONS,
    topics: ALL_EVENT_TOPICS.map((t) => topicPrefix + t),
  });

  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  const admin = createKafka('chaos-admin', testBrokers()).admin();
  await admin.connect();
  const replicas = new ReplicaSet(databaseUrl, topicPrefix, logFd);
  onCleanup('kill the replicas', () => killChildren(replicas.replicas.map((r) => r.child)));
  const offsets = new StoredOffsets(db);
  const publisher = new Publisher(input);
  const group = new GroupWatch(admin, topicPrefix);
  await group.sample();
  if (group.foreignTopics.size)
    console.log(`  WARNING before the start: ${group.describe()}; they take part in this run's rebalances`);
  group.start();
  try {
    // Cold starts: replica 0 alone first (it runs the migrations), then the others together.
    const coldStarts: RunResult['cold_starts'] = [];
    const coldStart = async (replica: Replica) => {
      const times = await replicas.watchStart(replica, CYCLE_TIMEOUT_MS);
      const disturbed = group.disturbed(replica.startedAt, now());
      coldStarts.push({
        replica: replica.index,
        first_answer_s: seconds(times.firstAnswerMs),
        health_200_s: seconds(times.healthyMs),
        disturbed_by_other_deployment: disturbed,
      });
      console.log(
        `  replica ${replica.index} up (cold start): first answer ${seconds(times.firstAnswerMs)} s, /health 200 ${seconds(times.healthyMs)} s` +
          (disturbed ? ` — DISTURBED: ${group.describe()}` : ''),
      );
    };
    await coldStart(replicas.start(0));
    await Promise.all(Array.from({ length: REPLICAS - 1 }, (_, j) => coldStart(replicas.start(j + 1))));
    offsets.start();
    const checkAll = () => {
      replicas.check();
      publisher.check();
    };

    const share = (k: number) => Math.round((EVENTS * k) / (KILLS + 1));
    const t0 = now();
    publisher.allowed = share(1);
    publisher.start();
    const kills: KillRecord[] = [];
    for (let k = 1; k <= KILLS; k++) {
      // A random moment in this kill's share of the stream, while events keep arriving after it.
      const trigger = Math.round(share(k - 1) + (0.25 + 0.35 * random()) * (share(k) - share(k - 1)));
      await publisher.untilPublished(trigger, checkAll);
      const victim = replicas.replicas[Math.floor(random() * REPLICAS)];
      const publishedAtKill = publisher.published;
      const killAt = now();
      await replicas.kill(victim);
      // Restarted at once, as a supervisor would; what the killed process had applied is read meanwhile (a new
      // process applies nothing within the settle time: it has to start, connect and join the group first).
      const restarted = sleep(RESTART_DELAY_MS).then(() => replicas.start(victim.index));
      const highAtKill = new Map((await admin.fetchTopicOffsets(input)).map((p) => [p.partition, Number(p.high)]));
      await sleep(Math.max(0, killAt + KILL_SETTLE_MS - now()));
      await offsets.poll();
      const afterKill = new Map(offsets.latest);
      const backlog = [...highAtKill].reduce((sum, [p, high]) => sum + Math.max(0, high - (afterKill.get(p) ?? 0)), 0);
      const replacement = await restarted;
      const [start, appliedAgain, backlogApplied] = await Promise.all([
        replicas.watchStart(replacement, CYCLE_TIMEOUT_MS),
        offsets.waitAll(
          (p) => (afterKill.get(p) ?? -1) + 1,
          killAt,
          CYCLE_TIMEOUT_MS,
          'partitions applied again',
          checkAll,
        ),
        offsets.waitAll((p) => highAtKill.get(p) ?? 0, killAt, CYCLE_TIMEOUT_MS, 'backlog applied', checkAll),
      ]);
      const record: KillRecord = {
        kill: k,
        replica: victim.index,
        pid: victim.child.pid!,
        at_s: seconds(killAt - t0),
        published_at_kill: publishedAtKill,
        backlog_at_kill: backlog,
        restart_first_answer_s: seconds(start.firstAnswerMs),
        restart_health_200_s: seconds(start.healthyMs),
        partitions_applied_again_s: seconds(Math.max(...appliedAgain)),
        partition_applied_again_s: appliedAgain.map(seconds),
        backlog_applied_s: seconds(Math.max(...backlogApplied)),
        disturbed_by_other_deployment: group.disturbed(killAt, now()),
      };
      kills.push(record);
      console.log(
        `  kill ${k}/${KILLS} at ${record.at_s} s: replica ${victim.index} (pid ${record.pid}), backlog ${backlog}; restart: first answer ${record.restart_first_answer_s} s, ` +
          `/health 200 ${record.restart_health_200_s} s; partitions applied again ${record.partitions_applied_again_s} s ` +
          `[${record.partition_applied_again_s.join(' ')}], backlog applied ${record.backlog_applied_s} s` +
          (record.disturbed_by_other_deployment ? ` — DISTURBED: ${group.describe()}` : ''),
      );
      publisher.allowed = share(k + 1);
    }
    publisher.allowed = EVENTS;
    await publisher.untilPublished(EVENTS, checkAll);
    const publishSeconds = (now() - t0) / 1000;
    await publisher.stop();

    // Everything applied and published: every offset stored, the outbox empty.
    let progress = { at: now(), applied: -1, outbox: -1 };
    for (;;) {
      checkAll();
      await offsets.poll();
      const {
        rows: [{ outbox }],
      } = await db.query<{ outbox: number }>('select count(*)::int as outbox from event_outbox');
      if (offsets.applied >= EVENTS && outbox === 0) break;
      if (offsets.applied !== progress.applied || outbox !== progress.outbox)
        progress = { at: now(), applied: offsets.applied, outbox };
      if (now() - progress.at > 120_000)
        throw new Error(`no progress for 2 minutes: ${offsets.applied} of ${EVENTS} applied, ${outbox} outbox rows`);
      await sleep(250);
    }
    const duration = (now() - t0) / 1000;
    offsets.stop();
    group.stop();
    await replicas.stopAll();
    console.log(
      `  all ${EVENTS} events applied and published ${seconds(now() - t0)} s after the first was published; checking`,
    );

    const checks = await checkExactlyOnce(db, topicPrefix);
    return {
      run: runNumber,
      database,
      topic_prefix: topicPrefix,
      seed,
      cold_starts: coldStarts,
      kills,
      publishing_s: Number(publishSeconds.toFixed(2)),
      duration_s: Number(duration.toFixed(2)),
      consumer_group: {
        max_members: group.maxMembers,
        foreign_members: group.foreignMembers,
        foreign_topics: [...group.foreignTopics],
      },
      checks,
      log: logPath,
    };
  } catch (error) {
    if (group.foreignTopics.size && error instanceof Error) error.message += ` — meanwhile ${group.describe()}`;
    throw error;
  } finally {
    offsets.stop();
    group.stop();
    await killChildren(replicas.replicas.map((r) => r.child));
    await publisher.stop().catch(() => undefined);
    await db.end().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    closeSync(logFd);
    await cleanupSince(mark);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Exactly once, checked against an in-memory run of the service's pure domain over the same events.

interface Checks {
  passed: boolean;
  /** Sum of stored next offsets = events published; the outbox empty. */
  offsets: { applied: number; expected: number; outbox_rows: number; ok: boolean };
  /** Every device row equals the domain's state after the same events: every stored DeviceState column and the flags derived from it. */
  final_state: {
    devices: number;
    expected_devices: number;
    mismatched_devices: number;
    /** Of them, devices a T2 move touches (their result must not depend on which of two partitions applied first). */
    mismatched_t2_devices: number;
    t2_devices: number;
    by_field: Record<string, number>;
    examples: unknown[];
    ok: boolean;
  };
  /** No event_id twice on token-registry.device-tokens.v1. */
  duplicates: {
    messages: number;
    distinct_event_ids: number;
    duplicate_messages: number;
    identical_copies: number;
    differing_copies: number;
    examples: unknown[];
    ok: boolean;
  };
  /** Per device, outputs caused by its own input events, first occurrences in log order: cause position and occurred_at never go back. */
  order: {
    checked_events: number;
    violations: number;
    examples: unknown[];
    /** Own-caused records stamped with another time (T2 "moved on"): held to the cause order only. */
    stamped_by_another_time: number;
    /** Records caused by another device's event (T2 takeovers), not held to this device's order; how many step back in time. */
    cross_device_events: number;
    cross_device_regressions: number;
    /** Steps back in occurred_at in the raw log: repeats (re-published outbox batches) and the T2 records above included. */
    raw_log_regressions: number;
    ok: boolean;
  };
  /** Outputs of devices no T2 move touches (all but UserFirstSeen) are exactly those of the in-memory run: none lost, none extra. */
  outputs: {
    replay_outputs: number;
    compared: number;
    missing: number;
    unexpected: number;
    examples: unknown[];
    ok: boolean;
  };
  /** S1: one UserFirstSeen per user, for exactly the users the stream names. */
  users_first_seen: { users: number; expected_users: number; users_seen_twice: number; ok: boolean };
  dead_letters: { messages: number; ok: boolean };
}

/** Every device row as the service's store reads it back into a DeviceState, plus the flags the API derives. */
const DEVICE_ROWS = `select ${STORED_DEVICE_COLUMNS}, foreground_enabled, background_enabled, provisional from devices`;

const deviceNumber = (deviceId: string) => Number(deviceId.slice('device-'.length));

async function checkExactlyOnce(db: Client, topicPrefix: string): Promise<Checks> {
  // The in-memory run: every event in publishing order through the service's pure domain.
  const registry = new TokenRegistry();
  const refs = new Map<string, { workspaceId: string; appId: string; deviceId: string }>();
  const t2 = new Set<number>();
  for (let i = 0; i < EVENTS; i++) {
    const donor = stream.tokenDonorOf(i);
    if (donor !== null) t2.add(stream.deviceOf(i)).add(donor);
  }
  const expectedOutputs = new Set<string>();
  const expectedUsers = new Set<string>();
  let replayOutputs = 0;
  for (let i = 0; i < EVENTS; i++) {
    const event = stream.eventAt(i);
    const { workspace_id, app_id, device_id } = event.data;
    if (!refs.has(device_id)) refs.set(device_id, { workspaceId: workspace_id, appId: app_id, deviceId: device_id });
    for (const out of registry.handle(event)) {
      replayOutputs++;
      if (out.type === 'UserFirstSeen') expectedUsers.add(`${out.data.workspace_id}:${out.data.user_id}`);
      else if (!t2.has(deviceNumber(out.data.device_id))) expectedOutputs.add(out.data.event_id);
    }
  }

  // Offsets and outbox.
  const {
    rows: [{ applied }],
  } = await db.query<{ applied: number }>(
    'select coalesce(sum(next_offset), 0)::float8 as applied from consumer_offsets where group_id = $1 and topic = $2',
    [GROUP, Topics.DeviceEvents],
  );
  const {
    rows: [{ outbox }],
  } = await db.query<{ outbox: number }>('select count(*)::int as outbox from event_outbox');

  // Final state.
  const { rows } = await db.query(DEVICE_ROWS);
  const byField: Record<string, number> = {};
  const stateExamples: unknown[] = [];
  let mismatchedT2 = 0;
  let mismatched = 0;
  for (const row of rows) {
    const ref = refs.get(row.device_id);
    const expected: DeviceState | undefined = ref && registry.knowsDevice(ref) ? registry.device(ref) : undefined;
    const actual = stateOf(row as StoredDevice);
    const fields: string[] = [];
    if (!expected) fields.push('unknown device');
    else {
      for (const key of Object.keys(actual) as (keyof DeviceState)[])
        if (JSON.stringify(expected[key]) !== JSON.stringify(actual[key])) fields.push(key);
      const capability = pushCapability(expected.platform, expected.osVersion, expected.permission);
      const sendable = sendableToken(expected) !== null;
      if (row.foreground_enabled !== (sendable && capability.foregroundEnabled)) fields.push('foreground_enabled');
      if (row.background_enabled !== (sendable && capability.backgroundEnabled)) fields.push('background_enabled');
      if (row.provisional !== capability.provisional) fields.push('provisional');
    }
    if (row.workspace_id !== ref?.workspaceId || row.app_id !== ref?.appId) fields.push('device key');
    if (fields.length) {
      mismatched++;
      if (t2.has(deviceNumber(row.device_id))) mismatchedT2++;
      for (const f of fields) byField[f] = (byField[f] ?? 0) + 1;
      if (stateExamples.length < 5)
        stateExamples.push({
          device_id: row.device_id,
          t2: t2.has(deviceNumber(row.device_id)),
          fields,
          expected,
          actual,
        });
    }
  }
  const expectedDevices = [...refs.values()].filter((ref) => registry.knowsDevice(ref)).length;

  // The output topic, read back from the beginning.
  const outputTopic = topicPrefix + Topics.DeviceTokens;
  const count = await messageCount(outputTopic);
  const copies = new Map<string, string>();
  let duplicateMessages = 0;
  let identical = 0;
  let differing = 0;
  const duplicateExamples: unknown[] = [];
  const lastOwn = new Map<string, { cause: number; at: number; offset: string }>();
  const latestAt = new Map<string, number>();
  const lastRaw = new Map<string, number>();
  const causeAt = new Map<number, number>();
  const occurredAtOf = (i: number) => causeAt.get(i) ?? causeAt.set(i, stream.eventAt(i).data.occurred_at).get(i)!;
  let ownChecked = 0;
  let violations = 0;
  const orderExamples: unknown[] = [];
  let crossDevice = 0;
  let crossRegressions = 0;
  let stampedOtherwise = 0;
  let rawRegressions = 0;
  let compared = 0;
  const seenExpected = new Set<string>();
  let unexpected = 0;
  const outputExamples: unknown[] = [];
  const firstSeen = new Map<string, number>();
  await readTopic(testBrokers(), outputTopic, count, (partition, message) => {
    const value = message.value as Buffer;
    const event: DeviceTokenEvent = decodeEvent(Topics.DeviceTokens, value);
    const { event_id, device_id, occurred_at, cause_event_id } = event.data;
    const digest = createHash('sha1').update(value).digest('hex');
    const device = `${event.data.workspace_id}:${event.data.app_id}:${device_id}`;
    // The raw log, repeats included: a re-published outbox batch shows as a step back here (information only).
    if ((lastRaw.get(device) ?? -Infinity) > occurred_at) rawRegressions++;
    lastRaw.set(device, occurred_at);

    const earlier = copies.get(event_id);
    if (earlier !== undefined) {
      duplicateMessages++;
      if (earlier === digest) identical++;
      else differing++;
      if (duplicateExamples.length < 5)
        duplicateExamples.push({
          event_id,
          type: event.type,
          device_id,
          partition,
          offset: message.offset,
          identical: earlier === digest,
        });
      return;
    }
    copies.set(event_id, digest);

    if (event.type === 'UserFirstSeen') {
      const user = `${event.data.workspace_id}:${event.data.user_id}`;
      firstSeen.set(user, (firstSeen.get(user) ?? 0) + 1);
    } else if (!t2.has(deviceNumber(device_id))) {
      compared++;
      if (expectedOutputs.has(event_id)) seenExpected.add(event_id);
      else {
        unexpected++;
        if (outputExamples.length < 5)
          outputExamples.push({ unexpected: event_id, type: event.type, device_id, cause_event_id });
      }
    }

    // Order: a device's outputs caused by its own input events follow those inputs' order.
    const cause = stream.indexOfEventId(cause_event_id);
    if (cause !== null && `device-${stream.deviceOf(cause)}` === device_id) {
      ownChecked++;
      const last = lastOwn.get(device);
      // T2 "moved on" (a late registration of a token another device took since) is stamped with the time the token
      // moved, not its cause's: it is held to the cause order only.
      const stampedByCause = occurred_at === occurredAtOf(cause);
      if (!stampedByCause) stampedOtherwise++;
      if (last && (cause < last.cause || (stampedByCause && occurred_at < last.at))) {
        violations++;
        if (orderExamples.length < 5)
          orderExamples.push({
            device_id,
            partition,
            offset: message.offset,
            event_id,
            type: event.type,
            cause,
            occurred_at,
            previous: last,
          });
      }
      lastOwn.set(device, {
        cause,
        at: stampedByCause ? occurred_at : (last?.at ?? -Infinity),
        offset: message.offset,
      });
    } else {
      // Caused by another device's event (T2: it took this device's token), applied on that device's partition.
      crossDevice++;
      if ((latestAt.get(device) ?? -Infinity) > occurred_at) crossRegressions++;
    }
    latestAt.set(device, Math.max(latestAt.get(device) ?? -Infinity, occurred_at));
  });
  const missing = [...expectedOutputs].filter((id) => !seenExpected.has(id));
  for (const id of missing.slice(0, Math.max(0, 5 - outputExamples.length))) outputExamples.push({ missing: id });

  const dlqTopics = (await listTopics()).filter((t) => t.startsWith(topicPrefix) && t.endsWith('.dlq'));
  let deadLetters = 0;
  for (const t of dlqTopics) deadLetters += await messageCount(t);

  const usersSeenTwice = [...firstSeen.values()].filter((n) => n > 1).length;
  const checks: Omit<Checks, 'passed'> = {
    offsets: { applied, expected: EVENTS, outbox_rows: outbox, ok: applied === EVENTS && outbox === 0 },
    final_state: {
      devices: rows.length,
      expected_devices: expectedDevices,
      mismatched_devices: mismatched,
      mismatched_t2_devices: mismatchedT2,
      t2_devices: [...t2].filter((d) => refs.has(`device-${d}`)).length,
      by_field: byField,
      examples: stateExamples,
      ok: mismatched === 0 && rows.length === expectedDevices,
    },
    duplicates: {
      messages: count,
      distinct_event_ids: copies.size,
      duplicate_messages: duplicateMessages,
      identical_copies: identical,
      differing_copies: differing,
      examples: duplicateExamples,
      // Identical copies are the outbox's documented at-least-once (a kill between Kafka's acknowledgement and the
      // delete of the rows): consumers drop them by event_id. One id with two contents would be a real defect.
      ok: differing === 0,
    },
    order: {
      checked_events: ownChecked,
      violations,
      examples: orderExamples,
      stamped_by_another_time: stampedOtherwise,
      cross_device_events: crossDevice,
      cross_device_regressions: crossRegressions,
      raw_log_regressions: rawRegressions,
      ok: violations === 0,
    },
    outputs: {
      replay_outputs: replayOutputs,
      compared,
      missing: missing.length,
      unexpected,
      examples: outputExamples,
      ok: missing.length === 0 && unexpected === 0,
    },
    users_first_seen: {
      users: firstSeen.size,
      expected_users: expectedUsers.size,
      users_seen_twice: usersSeenTwice,
      ok:
        usersSeenTwice === 0 &&
        firstSeen.size === expectedUsers.size &&
        [...expectedUsers].every((u) => firstSeen.has(u)),
    },
    dead_letters: { messages: deadLetters, ok: deadLetters === 0 },
  };
  return { passed: Object.values(checks).every((c) => c.ok), ...checks };
}

async function listTopics(): Promise<string[]> {
  const admin = createKafka('chaos-list', testBrokers()).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------------------

/** The commit the measured service was built from, and whether libs/ or services/ differed from it. */
function sourceVersion(): { commit: string | null; uncommitted_changes_in_libs_or_services: boolean | null } {
  try {
    const commit = execSync('git rev-parse HEAD', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty =
      execSync('git status --porcelain -- libs services', {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() !== '';
    return { commit, uncommitted_changes_in_libs_or_services: dirty };
  } catch {
    return { commit: null, uncommitted_changes_in_libs_or_services: null };
  }
}

const stats = (values: number[]) => ({
  median: values.length ? Number(median(values).toFixed(2)) : null,
  max: values.length ? Math.max(...values) : null,
});

async function main(): Promise<void> {
  if (!(EVENTS > 0 && DEVICES > 0 && USERS > 0 && KILLS >= 0 && RUNS >= 1 && REPLICAS >= 1 && RATE > 0))
    throw new Error('--events, --devices, --users, --rate, --runs and --replicas must be positive, --kills ≥ 0');
  if (EVENTS / (KILLS + 1) < 1000)
    throw new Error(
      `--events ${EVENTS} gives each of ${KILLS} kills fewer than 1,000 events: too few to see every partition apply again`,
    );
  console.log(
    `token-registry chaos: ${EVENTS} events, ${DEVICES} devices, ${USERS} users, ${PARTITIONS} partitions, ${REPLICAS} replicas, ${KILLS} kills per run, ` +
      `${RUNS} run(s), ${RATE} events/s, seed ${SEED}, node ${process.version}, service flags "${SERVICE_NODE_ARGS.join(' ')}"` +
      (PRIVATE_BROKER ? ', on a private broker' : ''),
  );
  await sweepAbandoned();
  if (PRIVATE_BROKER) await usePrivateBroker();

  const runs: RunResult[] = [];
  for (let r = 1; r <= RUNS; r++) {
    const result = await run(r, SEED + r - 1);
    runs.push(result);
    const c = result.checks;
    console.log(
      `run ${r}: checks ${c.passed ? 'PASSED' : 'FAILED'} — offsets ${c.offsets.applied}/${c.offsets.expected}, outbox ${c.offsets.outbox_rows}; ` +
        `final state ${c.final_state.mismatched_devices} of ${c.final_state.devices} devices differ (expected ${c.final_state.expected_devices}; ` +
        `${c.final_state.mismatched_t2_devices} of them among the ${c.final_state.t2_devices} T2 devices) ${JSON.stringify(c.final_state.by_field)}; ` +
        `${c.duplicates.duplicate_messages} duplicate event_ids (${c.duplicates.identical_copies} identical copies) in ${c.duplicates.messages} outputs; ` +
        `${c.order.violations} order violations in ${c.order.checked_events}; outputs missing ${c.outputs.missing}, unexpected ${c.outputs.unexpected} of ${c.outputs.compared}; ` +
        `UserFirstSeen ${c.users_first_seen.users}/${c.users_first_seen.expected_users} users, ${c.users_first_seen.users_seen_twice} twice; dead letters ${c.dead_letters.messages}`,
    );
    if (result.consumer_group.foreign_members > 0) {
      console.log(
        `run ${r}: WARNING: ${result.consumer_group.foreign_members} member(s) of other deployments were in group ${GROUP} (topics ${result.consumer_group.foreign_topics.join(', ')}): figures skewed`,
      );
    }
    if (!c.passed) console.log(JSON.stringify(c, null, 2));
  }

  const kills = runs.flatMap((r) => r.kills);
  const summary = {
    restart_first_answer_s: stats(kills.map((k) => k.restart_first_answer_s)),
    restart_health_200_s: stats(kills.map((k) => k.restart_health_200_s)),
    partitions_applied_again_s: stats(kills.map((k) => k.partitions_applied_again_s)),
    backlog_applied_s: stats(kills.map((k) => k.backlog_applied_s)),
    cold_start_first_answer_s: stats(runs.flatMap((r) => r.cold_starts.map((c) => c.first_answer_s))),
    cold_start_health_200_s: stats(runs.flatMap((r) => r.cold_starts.map((c) => c.health_200_s))),
    kills_disturbed_by_other_deployments: kills.filter((k) => k.disturbed_by_other_deployment).length,
  };
  const targets = {
    restart_first_answer_median_s: {
      target: 3,
      measured: summary.restart_first_answer_s.median,
      met: summary.restart_first_answer_s.median !== null && summary.restart_first_answer_s.median <= 3,
    },
    partitions_applied_again_median_s: {
      target: 10,
      measured: summary.partitions_applied_again_s.median,
      met: summary.partitions_applied_again_s.median !== null && summary.partitions_applied_again_s.median <= 10,
    },
  };
  const result = {
    benchmark: 'chaos-token-registry',
    at: new Date().toISOString(),
    node: process.version,
    source: sourceVersion(),
    events: EVENTS,
    devices: DEVICES,
    users: USERS,
    partitions: PARTITIONS,
    replicas: REPLICAS,
    kills_per_run: KILLS,
    runs_count: RUNS,
    rate_per_s: RATE,
    seed: SEED,
    restart_delay_ms: RESTART_DELAY_MS,
    private_broker: PRIVATE_BROKER,
    service_node_args: SERVICE_NODE_ARGS.join(' '),
    service_consumer_env: Object.fromEntries(
      Object.entries(process.env).filter(([name]) => name.startsWith('CONSUMER_')),
    ),
    summary,
    targets,
    checks_passed: runs.every((r) => r.checks.passed),
    runs,
  };
  console.log(`\nover ${kills.length} kills (${RUNS} run(s)), median / max:`);
  console.log(
    `  restart → first HTTP answer   ${summary.restart_first_answer_s.median} s / ${summary.restart_first_answer_s.max} s   (target: median ≤ 3 s — ${targets.restart_first_answer_median_s.met ? 'met' : 'NOT met'})`,
  );
  console.log(
    `  restart → /health 200         ${summary.restart_health_200_s.median} s / ${summary.restart_health_200_s.max} s`,
  );
  console.log(
    `  kill → partitions apply again ${summary.partitions_applied_again_s.median} s / ${summary.partitions_applied_again_s.max} s   (target: median ≤ 10 s — ${targets.partitions_applied_again_median_s.met ? 'met' : 'NOT met'})`,
  );
  console.log(
    `  kill → backlog applied        ${summary.backlog_applied_s.median} s / ${summary.backlog_applied_s.max} s`,
  );
  console.log(
    `  cold start → first answer     ${summary.cold_start_first_answer_s.median} s / ${summary.cold_start_first_answer_s.max} s; → /health 200 ${summary.cold_start_health_200_s.median} s / ${summary.cold_start_health_200_s.max} s`,
  );
  if (summary.kills_disturbed_by_other_deployments) {
    console.log(
      `  WARNING: ${summary.kills_disturbed_by_other_deployments} kill(s) happened while members of other deployments were in group ${GROUP}: their figures are skewed`,
    );
  }
  console.log(`  exactly-once checks: ${result.checks_passed ? 'all passed' : 'FAILED'}`);
  writeResults('chaos-token-registry', result);
  await cleanup();
  process.exit(result.checks_passed ? 0 : 1);
}

main().catch(async (error) => {
  console.error(error);
  await cleanup();
  process.exit(1);
});
