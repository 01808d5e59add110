// The whole platform as processes, for the end-to-end suite (tools/e2e/*.e2e.spec.ts), the chaos run
// (bench/chaos-platform.ts) and the freshness benchmark (bench/e2e-freshness.bench.ts): the five services built with swc
// and started from their built main.js as operators run them, each on its own database and port, on one topic prefix,
// and the fake providers as their own process (the runnable tool of tools/fake-providers) with an apps file that sends
// to them. Nothing here reads a service's database: the suite checks through topics and HTTP only.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { EventOf, TopicName, decodeEvent } from '@push/contracts';
import { createKafka } from '@push/event-bus';

/**
 * The repository root (builds, `deploy/service-node-options` and relative paths start there): the folder with nx.json
 * above this file — `tools/e2e/` in the sources, `dist/tools/e2e/` when a benchmark runs the built copy.
 */
export const REPO_ROOT = (() => {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, 'nx.json'))) return dir;
  return resolve(__dirname, '../..');
})();

export const PLATFORM_SERVICES = [
  'token-registry',
  'subscription-state',
  'segmentation',
  'dispatcher',
  'bounce-processor',
] as const;
export type PlatformService = (typeof PLATFORM_SERVICES)[number];

/** The services whose read models the replay CLI can verify (it refuses the dispatcher, which sends from its own). */
export const VERIFIABLE_SERVICES = [
  'token-registry',
  'subscription-state',
  'segmentation',
  'bounce-processor',
] as const satisfies readonly PlatformService[];

/**
 * Builds services, libs and tools as `npm run build` does (swc, no specs) into `outDir` — a folder of the caller's
 * own, since other people rebuild `dist/` at any moment. About half a second.
 */
export function buildPlatform(outDir: string): void {
  execFileSync(
    join(REPO_ROOT, 'node_modules/.bin/swc'),
    ['services', 'libs', 'tools', '-d', outDir, '--config-file', '.swcrc', '--ignore', '**/*.spec.ts', '--quiet'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The service heap budget of production (deploy/service-node-options). */
export function serviceNodeOptions(): string[] {
  return readFileSync(join(REPO_ROOT, 'deploy/service-node-options'), 'utf8').split(/\s+/).filter(Boolean);
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined);

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------------------------------
// The fake providers, as the process `npm run fake-providers` runs.

/** The apps file blocks the fake providers' tool prints (and writes to apps-settings.json). */
export interface FakeProviderSettings {
  apns: Record<string, unknown>;
  fcm: Record<string, unknown>;
  webpush: { vapid_public_key: string; vapid_private_key: string; subject: string };
}

export type FakeProviderName = 'apns' | 'fcm' | 'webPush';

export interface FakeProvidersProcess {
  child: ChildProcess;
  /** The admin endpoint (plain HTTP): counters, answers, latency, web subscriptions. */
  admin: string;
  /** The fakes' CA, for the services' NODE_EXTRA_CA_CERTS. */
  caFile: string;
  settings: FakeProviderSettings;
  /** Replaces one fake's answers (AnswerSettings of @push/fake-providers: `byToken`, `byPrefix`, `rates`, `next`). */
  setAnswers(provider: FakeProviderName, answers: unknown): Promise<void>;
  counters(): Promise<Record<FakeProviderName, { received: number; perAnswer: Record<string, number> }>>;
  /** PushSubscription JSONs of the fake browser for the apps file's VAPID key (web tokens the fake accepts). */
  webSubscriptions(count: number): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts the fake providers' tool (`<build>/tools/fake-providers/main.js`) on free ports, its files in `dir`, and
 * waits for its ready line.
 */
export async function startFakeProvidersProcess(options: {
  build: string;
  dir: string;
  latencyMs?: number;
  jitterMs?: number;
  /** Decrypt one web push in n (the benchmark's load); default all. */
  webPushDecryptEvery?: number;
  logFile?: string;
}): Promise<FakeProvidersProcess> {
  mkdirSync(options.dir, { recursive: true });
  const args = [
    join(options.build, 'tools/fake-providers/main.js'),
    '--dir',
    options.dir,
    '--apns-port',
    '0',
    '--fcm-port',
    '0',
    '--web-push-port',
    '0',
    '--admin-port',
    '0',
    '--latency-ms',
    String(options.latencyMs ?? 0),
    '--jitter-ms',
    String(options.jitterMs ?? 0),
    '--web-push-decrypt-every',
    String(options.webPushDecryptEvery ?? 1),
  ];
  const stderr = options.logFile ? openSync(options.logFile, 'a') : 'inherit';
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', stderr],
  });
  if (typeof stderr === 'number') closeSync(stderr);
  const ready = await new Promise<{ admin: string; caFile: string; appsSettings: string }>((resolveReady, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(
      () => reject(new Error('the fake providers did not print their ready line in 30 s')),
      30_000,
    );
    child.once('exit', (code) => reject(new Error(`the fake providers exited with ${code} before they were ready`)));
    lines.on('line', (line) => {
      if (!line.startsWith('{"ready":true')) return;
      clearTimeout(timer);
      resolveReady(JSON.parse(line));
    });
  });
  // Keep reading stdout so that the tool never blocks on a full pipe.
  child.stdout!.resume();
  const settings = JSON.parse(readFileSync(ready.appsSettings, 'utf8')) as FakeProviderSettings;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${ready.admin}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`fake providers ${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as unknown;
  };
  return {
    child,
    admin: ready.admin,
    caFile: ready.caFile,
    settings,
    setAnswers: async (provider, answers) => void (await call('PUT', `/answers/${provider}`, answers)),
    counters: async () =>
      (await call('GET', '/counters')) as Record<
        FakeProviderName,
        { received: number; perAnswer: Record<string, number> }
      >,
    webSubscriptions: async (count) =>
      (
        (await call('POST', '/subscriptions', { count, applicationServerKey: settings.webpush.vapid_public_key })) as
          string[] | Record<string, unknown>[]
      ).map((s) => (typeof s === 'string' ? s : JSON.stringify(s))),
    stop: () => stopChild(child, 5000),
  };
}

/**
 * An apps file (DESIGN §6) for `workspaces`: `ios-app`, `android-app` and `web-app` of each, sending to the fakes.
 * Written to `path` (mode 600: it names the keys' files and holds the VAPID private key).
 */
export function writeAppsFile(path: string, workspaces: readonly string[], settings: FakeProviderSettings): string {
  const apps = workspaces.flatMap((workspace_id) => [
    { workspace_id, app_id: 'ios-app', name: 'iOS app', platform: 'ios', apns: settings.apns },
    { workspace_id, app_id: 'android-app', name: 'Android app', platform: 'android', fcm: settings.fcm },
    { workspace_id, app_id: 'web-app', name: 'Web app', platform: 'web', webpush: settings.webpush },
  ]);
  writeFileSync(path, JSON.stringify({ apps }, null, 2), { mode: 0o600 });
  return path;
}

// ---------------------------------------------------------------------------------------------------------------------
// The five services.

export interface PlatformProcessesOptions {
  /** Where `buildPlatform` built them. */
  build: string;
  brokers: string[];
  /** The database of each service (created and migrated by the service at start). */
  databaseUrlOf: (service: PlatformService) => string;
  topicPrefix: string;
  partitions: number;
  /** `key=workspace` pairs. */
  apiKeys: string;
  appsFile: string;
  /** The fakes' CA (NODE_EXTRA_CA_CERTS of every service; only the dispatcher sends). */
  caFile: string;
  /** One log file per service (appended across restarts). */
  logDir: string;
  /** Extra environment of every service (e.g. B4_* for bounce-processor, CONSUMER_*). */
  env?: Record<string, string>;
  /** Node flags of each service; default its production heap budget. */
  nodeArgs?: string[];
  logLevel?: string;
  /**
   * Restart a service that exits by itself (after 1 s), as a supervisor would: the chaos run's broker and Postgres
   * restarts may make a service give up. Such exits are still recorded in `unexpectedExits`.
   */
  restartOnExit?: boolean;
}

interface Running {
  child: ChildProcess;
  startedAt: number;
  /** Killed or stopped by the harness: its exit is expected. */
  stopping: boolean;
}

/**
 * The five services as processes, each on a free port and its own database. `start`/`kill`/`restart` one at a time
 * (the chaos run kills them with SIGKILL); an exit the harness did not cause is recorded in `unexpectedExits`.
 */
export class PlatformProcesses {
  readonly ports = {} as Record<PlatformService, number>;
  readonly unexpectedExits: string[] = [];
  private readonly running = new Map<PlatformService, Running>();
  private stoppingAll = false;

  constructor(readonly options: PlatformProcessesOptions) {
    mkdirSync(options.logDir, { recursive: true });
  }

  url(service: PlatformService): string {
    return `http://127.0.0.1:${this.ports[service]}`;
  }

  logFile(service: PlatformService): string {
    return join(this.options.logDir, `${service}.log`);
  }

  pid(service: PlatformService): number | undefined {
    return this.running.get(service)?.child.pid;
  }

  /** The environment a service runs with (also the replay CLI's, which reads DATABASE_URL and the topic prefix). */
  envOf(service: PlatformService): Record<string, string> {
    const o = this.options;
    return {
      PATH: process.env.PATH ?? '',
      NODE_OPTIONS: '',
      KAFKA_BROKERS: o.brokers.join(','),
      KAFKA_TOPIC_PREFIX: o.topicPrefix,
      KAFKA_TOPIC_PARTITIONS: String(o.partitions),
      DATABASE_URL: o.databaseUrlOf(service),
      API_KEYS: o.apiKeys,
      APPS_CONFIG: o.appsFile,
      NODE_EXTRA_CA_CERTS: o.caFile,
      LOG_LEVEL: o.logLevel ?? 'warn',
      HOST: '127.0.0.1',
      PORT: String(this.ports[service]),
      ...o.env,
    };
  }

  mainOf(service: PlatformService): string {
    return join(this.options.build, 'services', service, 'src/main.js');
  }

  async start(service: PlatformService): Promise<ChildProcess> {
    this.ports[service] ??= await freePort();
    const log = openSync(this.logFile(service), 'a');
    writeSync(log, `\n=== ${new Date().toISOString()} ${service} starting on port ${this.ports[service]}\n`);
    const child = spawn(process.execPath, [...(this.options.nodeArgs ?? serviceNodeOptions()), this.mainOf(service)], {
      cwd: REPO_ROOT,
      env: this.envOf(service),
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    const entry: Running = { child, startedAt: performance.now(), stopping: false };
    this.running.set(service, entry);
    child.once('exit', (code, signal) => {
      if (entry.stopping) return;
      this.unexpectedExits.push(`${service} (pid ${child.pid}) exited: code ${code}, signal ${signal}`);
      if (this.options.restartOnExit && !this.stoppingAll)
        setTimeout(() => {
          if (!this.stoppingAll && this.running.get(service) === entry) void this.start(service);
        }, 1000);
    });
    return child;
  }

  /** Starts every service not running and waits until each answers /health 200. */
  async startAll(timeoutMs = 120_000): Promise<void> {
    for (const service of PLATFORM_SERVICES) if (!this.running.has(service)) await this.start(service);
    await Promise.all(PLATFORM_SERVICES.map((s) => this.waitHealthy(s, timeoutMs)));
  }

  async waitHealthy(service: PlatformService, timeoutMs = 120_000): Promise<number> {
    const entry = this.running.get(service);
    if (!entry) throw new Error(`${service} is not started`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (entry.child.exitCode !== null || entry.child.signalCode !== null)
        throw new Error(`${service} exited during its start; see ${this.logFile(service)}`);
      try {
        const response = await fetch(`${this.url(service)}/health`, { signal: AbortSignal.timeout(2000) });
        await response.arrayBuffer();
        if (response.status === 200) return performance.now() - entry.startedAt;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`${service} not healthy ${timeoutMs / 1000} s after its start; see ${this.logFile(service)}`);
      await sleep(100);
    }
  }

  /** kill -9 (or another signal) and wait for the exit. */
  async kill(service: PlatformService, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const entry = this.running.get(service);
    if (!entry) return;
    entry.stopping = true;
    entry.child.kill(signal);
    await exited(entry.child);
    this.running.delete(service);
  }

  async stop(service: PlatformService): Promise<void> {
    const entry = this.running.get(service);
    if (!entry) return;
    entry.stopping = true;
    await stopChild(entry.child);
    this.running.delete(service);
  }

  async stopAll(): Promise<void> {
    this.stoppingAll = true;
    await Promise.all([...this.running.keys()].map((s) => this.stop(s)));
  }

  /** Fails when a service exited by itself (unless it is supervised: `restartOnExit`). */
  check(): void {
    if (this.unexpectedExits.length && !this.options.restartOnExit) throw new Error(this.unexpectedExits.join('; '));
  }

  isRunning(service: PlatformService): boolean {
    const entry = this.running.get(service);
    return !!entry && entry.child.exitCode === null && entry.child.signalCode === null;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// HTTP, as the platform's callers use it.

export interface HttpAnswer<T = unknown> {
  status: number;
  body: T;
}

/** A JSON call with the workspace's API key; the body parsed (text when it is not JSON). */
export async function callJson<T = unknown>(
  url: string,
  key: string,
  method = 'GET',
  body?: unknown,
): Promise<HttpAnswer<T>> {
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, body: parsed as T };
}

// ---------------------------------------------------------------------------------------------------------------------
// Topics, as the campaign service reads them.

/** A decoded message of a tailed topic, with where it was. */
export interface Tailed<T extends TopicName> {
  partition: number;
  offset: string;
  key: string | null;
  event: EventOf<T>;
}

/**
 * Reads a topic from its beginning for as long as it runs (a consumer group of its own, nothing committed), decoding
 * each message with the contract's schemas: what a consumer of the platform's outputs sees.
 */
export class TopicTail<T extends TopicName> {
  readonly messages: Tailed<T>[] = [];
  private consumer?: Consumer;

  constructor(
    private readonly brokers: string[],
    private readonly prefix: string,
    readonly topic: T,
  ) {}

  async start(): Promise<this> {
    const consumer = createKafka('e2e-tail', this.brokers).consumer({
      groupId: `e2e-tail-${randomUUID()}`,
      maxWaitTimeInMs: 50,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.prefix + this.topic, fromBeginning: true });
    let joined!: () => void;
    const ready = new Promise<void>((r) => (joined = r));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        this.messages.push({
          partition,
          offset: message.offset,
          key: message.key?.toString('utf8') ?? null,
          event: decodeEvent(this.topic, message.value as Buffer),
        });
      },
    });
    await ready;
    return this;
  }

  events(): EventOf<T>[] {
    return this.messages.map((m) => m.event);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
