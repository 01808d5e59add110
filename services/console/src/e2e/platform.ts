import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_EVENT_TOPICS, TopicName } from '@push/contracts';
import { EventProducer, KeyedEvent } from '@push/event-bus';
import {
  createTestTopics,
  deleteTestTopics,
  dropDatabase,
  eventually,
  testBrokers,
  uniqueDatabaseUrl,
  uniqueTopicPrefix,
} from '@push/testing';
import { repositoryRoot } from '../web-build/paths';

export type PlatformService =
  'token-registry' | 'subscription-state' | 'segmentation' | 'dispatcher' | 'bounce-processor';

export interface PlatformOptions {
  /** The services to run beside the console (each its own process, database and port). */
  services: PlatformService[];
  /** `key=workspace` pairs, as API_KEYS. */
  apiKeys: string;
  /** The apps file's JSON (DESIGN §6), written to a temporary file. */
  apps: { apps: unknown[] };
  /** The console's built front end (buildWeb's outDir). */
  staticDir: string;
  /** Extra environment of the services (e.g. NODE_EXTRA_CA_CERTS for the fake providers). */
  env?: Record<string, string>;
  /** Run the built services from dist/ (benchmarks) instead of their sources through swc (tests). */
  fromDist?: boolean;
  /** Partitions of each topic; default 2. */
  partitions?: number;
  /** Node flags of each service process, e.g. its heap budget. */
  nodeArgs?: string[];
  /**
   * Where each process's output goes (`<name>.log`), default `CONSOLE_E2E_LOG_DIR`; unset, stderr goes to the test's
   * and stdout (the JSON logs) is dropped. Set LOG_LEVEL in `env` to see more than errors.
   */
  logDir?: string;
}

export interface Platform {
  consoleUrl: string;
  serviceUrls: Record<PlatformService, string>;
  topicPrefix: string;
  publish<T extends TopicName>(topic: T, events: readonly KeyedEvent<T>[]): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/**
 * The console and the services it needs, each a process started from its main as in production, on their own
 * throwaway databases and topics (a unique prefix on the real broker), for end-to-end tests and the benchmark.
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const root = repositoryRoot();
  const topicPrefix = uniqueTopicPrefix('console');
  const partitions = options.partitions ?? 2;
  const scratch = mkdtempSync(join(tmpdir(), 'console-e2e-'));
  const appsFile = join(scratch, 'apps.json');
  writeFileSync(appsFile, JSON.stringify(options.apps));
  await createTestTopics(topicPrefix, ALL_EVENT_TOPICS, partitions);

  const children: ChildProcess[] = [];
  const databases: string[] = [];
  const serviceUrls = {} as Record<PlatformService, string>;
  const common = {
    PATH: process.env.PATH ?? '',
    NODE_OPTIONS: '',
    KAFKA_BROKERS: testBrokers().join(','),
    KAFKA_TOPIC_PREFIX: topicPrefix,
    KAFKA_TOPIC_PARTITIONS: String(partitions),
    API_KEYS: options.apiKeys,
    APPS_CONFIG: appsFile,
    LOG_LEVEL: 'error',
  };
  const start = (name: string, main: string, env: Record<string, string>) => {
    const args = options.fromDist
      ? [...(options.nodeArgs ?? []), join(root, 'dist', main.replace(/\.ts$/, '.js'))]
      : [...(options.nodeArgs ?? []), '-r', '@swc-node/register', main];
    const logDir = options.logDir ?? process.env.CONSOLE_E2E_LOG_DIR;
    const log = logDir ? openSync(join(logDir, `${name}.log`), 'a') : null;
    const child = spawn(process.execPath, args, {
      cwd: root,
      env,
      stdio: log === null ? ['ignore', 'ignore', 'inherit'] : ['ignore', log, log],
    });
    if (log !== null) closeSync(log);
    children.push(child);
    return child;
  };
  const healthy = async (name: string, url: string, child: ChildProcess) =>
    eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
        return (await fetch(`${url}/health`).catch(() => null))?.status === 200;
      },
      120_000,
      `${name} healthy`,
    );

  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await producer.disconnect();
    await Promise.all(databases.map((url) => dropDatabase(url)));
    await deleteTestTopics(topicPrefix);
    rmSync(scratch, { recursive: true, force: true });
  };

  const producer = new EventProducer({ brokers: testBrokers(), clientId: 'console-e2e', topicPrefix });
  try {
    const waits: Promise<void>[] = [];
    for (const service of options.services) {
      const port = await freePort();
      const database = uniqueDatabaseUrl(`console_${service}`);
      databases.push(database);
      serviceUrls[service] = `http://127.0.0.1:${port}`;
      const child = start(service, `services/${service}/src/main.ts`, {
        ...common,
        ...options.env,
        PORT: String(port),
        DATABASE_URL: database,
      });
      waits.push(healthy(service, serviceUrls[service], child));
    }
    const consolePort = await freePort();
    const consoleUrl = `http://127.0.0.1:${consolePort}`;
    const consoleEnv: Record<string, string> = {
      ...common,
      PORT: String(consolePort),
      HOST: '127.0.0.1',
      CONSOLE_STATIC_DIR: options.staticDir,
    };
    for (const service of [
      'token-registry',
      'subscription-state',
      'segmentation',
      'dispatcher',
      'bounce-processor',
    ] as const)
      // A service not started points at a port where nothing answers: its calls fail as they would in production.
      consoleEnv[`${service.toUpperCase().replace(/-/g, '_')}_URL`] =
        serviceUrls[service] ?? `http://127.0.0.1:${await freePort()}`;
    const consoleProcess = start('console', 'services/console/src/main.ts', consoleEnv);
    waits.push(healthy('console', consoleUrl, consoleProcess));
    await Promise.all(waits);
    return {
      consoleUrl,
      serviceUrls,
      topicPrefix,
      publish: async (topic, events) => {
        await producer.publish(topic, events);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
