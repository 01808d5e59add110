// What the process-level benchmarks (idle CPU, restarts) share: every process they start is tracked and stopped at the
// end — also when the benchmark fails or is interrupted (SIGINT/SIGTERM), and SIGKILLed on exit as a last resort —
// and a private Kafka broker: the same jars, JVM flags and server.properties as deploy/local/kafka.sh, on free ports
// with a throwaway data directory, so that other people's tests on the shared broker neither disturb nor see the run.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createKafka } from '@push/event-bus';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Everything this run started, stopped in reverse order by `cleanup` (and SIGKILLed on exit as a last resort). */
const children = new Set<ChildProcess>();
export const cleanups: (() => Promise<void>)[] = [];

process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping what the benchmark started…`);
    void cleanup().finally(() => process.exit(130));
  });
}

let cleaning: Promise<void> | undefined;
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const step = cleanups.pop()!;
      await step().catch((error: unknown) =>
        console.error(`cleanup: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
  })();
  return cleaning;
}

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export const answers = (port: number) =>
  new Promise<boolean>((r) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), r(true)));
    socket.once('error', () => r(false));
  });

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after "pid (comm) ": state is field 3, utime 14 and stime 15 of the full line
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

export interface Broker {
  brokers: string[];
  pid: number;
  private: boolean;
}

/** The same broker kafka.sh runs (jars, JVM flags, server.properties), on free ports with a throwaway data dir. */
export async function startPrivateBroker(): Promise<Broker> {
  const root = resolve('.');
  const libs = join(root, '.cache/kafka-libs');
  if (!existsSync(join(libs, '.complete'))) {
    console.log('resolving the Apache Kafka jars (once), as kafka.sh does');
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        '-Dstyle.color=never',
        '-f',
        'deploy/local/pom.xml',
        'dependency:copy-dependencies',
        `-DoutputDirectory=${libs}`,
        '-DincludeScope=runtime',
      ],
      {
        stdio: 'inherit',
      },
    );
    writeFileSync(join(libs, '.complete'), '');
  }
  const dir = mkdtempSync(join(tmpdir(), 'idle-bench-kafka-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const [port, controller] = [await freePort(), await freePort()];
  const properties = readFileSync('deploy/local/server.properties', 'utf8')
    .replaceAll('127.0.0.1:9092', `127.0.0.1:${port}`)
    .replaceAll('127.0.0.1:9093', `127.0.0.1:${controller}`);
  writeFileSync(join(dir, 'server.properties'), `${properties}\nlog.dirs=${dir}/logs-kraft\n`);
  const javaOpts = [
    '-Xms256m',
    '-Xmx768m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${root}/deploy/local/log4j.properties`,
    `-Dkafka.logs.dir=${dir}/logs`,
  ];
  const classpath = `${libs}/*`;
  execFileSync(
    'java',
    [
      ...javaOpts,
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      '--ignore-formatted',
      '-t',
      'cHVzaFJlYWNoTG9jYWwxMQ',
      '-c',
      join(dir, 'server.properties'),
    ],
    {
      stdio: 'ignore',
    },
  );
  const log = openSync(join(dir, 'kafka.log'), 'a');
  const child = track(
    spawn('java', [...javaOpts, '-cp', classpath, 'kafka.Kafka', join(dir, 'server.properties')], {
      stdio: ['ignore', log, log],
    }),
  );
  closeSync(log);
  cleanups.push(() => stopProcess(child, 30_000));
  const brokers = [`127.0.0.1:${port}`];
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the private broker exited; see ${dir}/kafka.log`);
    if (await answers(port)) break;
    if (i > 240) throw new Error(`the private broker did not answer within 60 s; see ${dir}/kafka.log`);
    await sleep(250);
  }
  const admin = createKafka('idle-bench-ready', brokers).admin();
  await admin.connect();
  await admin.listTopics();
  await admin.disconnect();
  console.log(`private broker: pid ${child.pid}, ${brokers[0]}, data in ${dir}`);
  return { brokers, pid: child.pid!, private: true };
}

/** Runs the cleanup steps registered since `mark` (a `cleanups.length` taken earlier), newest first. */
export async function cleanupSince(mark: number): Promise<void> {
  while (cleanups.length > mark)
    await cleanups.pop()!().catch((error: unknown) => console.error(`cleanup: ${String(error)}`));
}

/** The local broker of `npm run stack:start` (its pid from .data/kafka/kafka.pid): its CPU includes everyone's tests. */
export function sharedBroker(brokers: string[]): Broker {
  const pidfile = resolve('.data/kafka/kafka.pid');
  const pid = existsSync(pidfile) ? Number(readFileSync(pidfile, 'utf8').trim()) : NaN;
  if (!Number.isInteger(pid) || !existsSync(`/proc/${pid}`))
    throw new Error(
      '--shared-broker: no local broker pid in .data/kafka/kafka.pid (start it with npm run stack:start)',
    );
  return { brokers, pid, private: false };
}
