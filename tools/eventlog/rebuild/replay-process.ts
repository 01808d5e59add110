import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** How the CLI runs a service: the built entry point and its Node flags (deploy/service-node-options by default). */
export interface ServiceProcessOptions {
  service: string;
  /** Default `dist/services/<service>/src/main.js` (built with `npm run build`). */
  main?: string;
  nodeArgs?: string[];
}

export function serviceMainOf(options: ServiceProcessOptions): string {
  const main = resolve(options.main ?? join('dist/services', options.service, 'src/main.js'));
  if (!existsSync(main)) throw new Error(`${main} does not exist: build the services first (npm run build)`);
  return main;
}

export function serviceNodeArgsOf(options: ServiceProcessOptions): string[] {
  if (options.nodeArgs) return options.nodeArgs;
  const file = resolve('deploy/service-node-options');
  return existsSync(file) ? readFileSync(file, 'utf8').split(/\s+/).filter(Boolean) : [];
}

/** A port nobody listens on now, for the replay process's HTTP (nobody calls it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** A running replay: the service process on the scratch database, in replay mode (publishes nothing, bounded). */
export interface ReplayProcess {
  id: string;
  child: ChildProcess;
  logFile: string;
  /** Rejects when the process exits before `stop()`. */
  exited: Promise<never>;
  stop(): Promise<void>;
}

/**
 * Starts the service on `databaseUrl` in replay mode: the service's own code (its projections, migrations and
 * rules), with `EVENT_BUS_REPLAY_BOUND_FILE` / `EVENT_BUS_REPLAY_ID` so that its runners publish nothing and apply
 * nothing beyond the bound file, a consumer group of its own, HTTP on a free port on 127.0.0.1. Its log goes to
 * `logFile`.
 */
export async function startReplay(
  options: ServiceProcessOptions & { databaseUrl: string; boundFile: string; logFile: string },
): Promise<ReplayProcess> {
  const id = `eventlog-${randomUUID().slice(0, 8)}`;
  const log = openSync(options.logFile, 'a');
  const child = spawn(process.execPath, [...serviceNodeArgsOf(options), serviceMainOf(options)], {
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      EVENT_BUS_REPLAY_BOUND_FILE: options.boundFile,
      EVENT_BUS_REPLAY_ID: id,
      LOG_LEVEL: process.env.EVENTLOG_REPLAY_LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', log, log],
  });
  let stopping = false;
  const exited = new Promise<never>((_, fail) =>
    child.on('exit', (code, signal) => {
      if (!stopping)
        fail(new Error(`the replay process of ${options.service} exited (${signal ?? code}); see ${options.logFile}`));
    }),
  );
  exited.catch(() => undefined);
  return {
    id,
    child,
    logFile: options.logFile,
    exited,
    async stop() {
      stopping = true;
      await stopProcess(child);
    },
  };
}

/** SIGTERM (the services stop gracefully: the batch in flight commits), then waits for the exit. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exit;
  clearTimeout(timer);
}

/** Is a process (not ours) still there? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
