import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafka, writeReplayBound } from '@push/event-bus';
import {
  StoredOffsets,
  connectionsTo,
  copyOutbox,
  createEmptyDatabase,
  databaseExists,
  databaseNameOf,
  dropDatabase,
  isMigrated,
  offsetSum,
  renameDatabase,
  sameOffsets,
  storedOffsetsAt,
  withDatabase,
} from './databases';
import {
  ReplayProcess,
  ServiceProcessOptions,
  alive,
  serviceMainOf,
  serviceNodeArgsOf,
  startReplay,
} from './replay-process';

/** Services whose projections have effects outside their read model and outbox: a replay would repeat them. */
export const NOT_REPLAYABLE: Record<string, string> = {
  dispatcher:
    'the dispatcher sends pushes from its read model (a worker sends the devices its projection records as pending), so a replay would send every past dispatch again',
};

export interface ServiceTarget extends ServiceProcessOptions {
  /** The live read model (the service's DATABASE_URL). */
  databaseUrl: string;
  kafkaBrokers: string[];
  topicPrefix: string;
  /** Progress and phases, for a person (stderr). */
  say: (line: string) => void;
  /** Longest wait for a replay to reach its bound, or for the live service to stop. Default 30 minutes. */
  timeoutMs?: number;
}

/** Messages the replay may still be behind when the live service is stopped (applied in the final catch-up). */
const CATCH_UP_SLACK = 5000n;

const stamp = () => new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Scratch files of one replay (the bound file, the replay's log). */
function workDir(): string {
  return mkdtempSync(join(tmpdir(), 'eventlog-replay-'));
}

/**
 * Lets the replay run until its read model has applied exactly what `bound()` says (read again every 300 ms and
 * written to the bound file the replay reads) — or, with a `slack`, is at most that many messages behind (a bound
 * that keeps moving is seldom met exactly) — and the scratch database is migrated. Fails when the replay process
 * exits or the time is up.
 */
export async function replayUntilCaughtUp(
  replay: ReplayProcess,
  boundFile: string,
  scratchUrl: string,
  bound: () => Promise<StoredOffsets>,
  target: Pick<ServiceTarget, 'say' | 'timeoutMs'>,
  what: string,
  slack = 0n,
): Promise<StoredOffsets> {
  const deadline = Date.now() + (target.timeoutMs ?? 30 * 60_000);
  let lastSaid = 0;
  for (;;) {
    const live = await bound();
    await writeReplayBound(boundFile, { groups: live });
    const rebuilt = await storedOffsetsAt(scratchUrl).catch(() => null);
    // A replay never passes its bound, so the difference of the sums is how far behind it is.
    const behind = offsetSum(live) - offsetSum(rebuilt ?? {});
    if (
      rebuilt !== null &&
      (sameOffsets(live, rebuilt) || (slack > 0n && behind <= slack)) &&
      (await isMigrated(scratchUrl))
    )
      return live;
    if (Date.now() - lastSaid > 5000) {
      lastSaid = Date.now();
      target.say(`  ${what}: ${offsetSum(rebuilt ?? {})} of ${offsetSum(live)} messages applied`);
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not caught up within ${target.timeoutMs} ms; see ${replay.logFile}`);
    await Promise.race([sleep(300), replay.exited]);
  }
}

/** Deletes the replay's Kafka consumer groups (their committed offsets are hints nobody reads again). */
export async function deleteReplayGroups(target: ServiceTarget, groups: string[], replayId: string): Promise<void> {
  if (groups.length === 0) return;
  const admin = createKafka('eventlog-cleanup', target.kafkaBrokers).admin();
  try {
    await admin.connect();
    await admin.deleteGroups(groups.map((g) => `${target.topicPrefix}${g}.replay.${replayId}`));
  } catch {
    // A group kafkajs never joined is not there to delete.
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export interface RebuildOptions extends ServiceTarget {
  /** Live processes to stop (SIGTERM) at the switch; without any, the CLI waits for the operator to stop them. */
  pids: number[];
  /** Start the service on the rebuilt database after the switch (detached, its log appended to `logFile`). */
  start: boolean;
  logFile?: string;
  /** Environment of the started service (default: the CLI's). */
  env?: NodeJS.ProcessEnv;
  dropOld: boolean;
}

export interface RebuildSummary {
  service: string;
  database: string;
  /** Where the previous read model went (dropped when `dropOld`). */
  previousDatabase: string | null;
  /** Messages the rebuilt read model applied (summed next offsets). */
  applied: string;
  /** Outputs the live service had committed but not yet published, moved to the rebuilt outbox. */
  outboxCopied: number;
  startedPid: number | null;
}

/**
 * Rebuilds a service's read model from the start of its topics into a fresh database beside the live one, then
 * switches the service to it (README "How rebuild switches safely"):
 * 1. the service's own code runs in replay mode on the scratch database: it publishes nothing and applies nothing
 *    beyond the live read model's stored offsets, which the CLI reads again and again while the live service goes on;
 * 2. once caught up, the live service is stopped (every replica: no connection to its database is left);
 * 3. the replay reaches exactly the live service's final offsets, and stops;
 * 4. what the live outbox still held is copied over, the databases are renamed (live → `<name>_before_rebuild_<time>`,
 *    scratch → `<name>`), and the service is started normally on it: it goes on from exactly the stored offsets, so
 *    events published meanwhile are applied then, none lost, and no output is published twice.
 */
export async function rebuild(options: RebuildOptions): Promise<RebuildSummary> {
  const { service, say } = options;
  if (NOT_REPLAYABLE[service]) throw new Error(`${service} cannot be rebuilt by replay: ${NOT_REPLAYABLE[service]}`);
  serviceMainOf(options);
  const liveName = databaseNameOf(options.databaseUrl);
  if (!(await databaseExists(options.databaseUrl)))
    throw new Error(`the database "${liveName}" of ${service} does not exist`);
  const when = stamp();
  const scratchName = `${liveName}_rebuild_${when}`;
  const scratchUrl = withDatabase(options.databaseUrl, scratchName);
  const dir = workDir();
  const boundFile = join(dir, 'bound.json');
  await writeReplayBound(boundFile, { groups: await storedOffsetsAt(options.databaseUrl) });
  await createEmptyDatabase(scratchUrl);
  say(`rebuilding ${service} into "${scratchName}" (replay log: ${join(dir, 'replay.log')})`);
  const replay = await startReplay({
    ...options,
    databaseUrl: scratchUrl,
    boundFile,
    logFile: join(dir, 'replay.log'),
  });
  let switched = false;
  let liveStopped = false;
  let groups: string[] = [];
  try {
    const live = () => storedOffsetsAt(options.databaseUrl);
    // Close enough to stop the live service for a moment: the rest is applied while it is down.
    groups = Object.keys(
      await replayUntilCaughtUp(replay, boundFile, scratchUrl, live, options, 'replay', CATCH_UP_SLACK),
    );
    say(`caught up with the live read model; stopping ${service}`);

    for (const pid of options.pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
    let asked = false;
    while (options.pids.some(alive) || (await connectionsTo(options.databaseUrl)) > 0) {
      if (!asked && !options.pids.some(alive)) {
        say(`waiting for every replica of ${service} to stop (connections to "${liveName}" are still open)`);
        asked = true;
      }
      if (Date.now() > deadline) throw new Error(`${service} did not stop within ${options.timeoutMs} ms`);
      await sleep(200);
    }
    liveStopped = true;
    const final = await storedOffsetsAt(options.databaseUrl);
    groups = Object.keys(
      await replayUntilCaughtUp(replay, boundFile, scratchUrl, async () => final, options, 'final catch-up'),
    );
    await replay.stop();

    const outboxCopied = await copyOutbox(options.databaseUrl, scratchUrl);
    const previous = `${liveName}_before_rebuild_${when}`;
    await renameDatabase(options.databaseUrl, previous);
    await renameDatabase(scratchUrl, liveName);
    switched = true;
    say(`switched: "${liveName}" is the rebuilt read model; the previous one is "${previous}"`);
    if (options.dropOld) await dropDatabase(withDatabase(options.databaseUrl, previous));

    let startedPid: number | null = null;
    if (options.start) {
      const logFile = options.logFile ?? defaultLogFile(service);
      const log = openSync(logFile, 'a');
      const child = spawn(process.execPath, [...serviceNodeArgsOf(options), serviceMainOf(options)], {
        env: options.env ?? process.env,
        stdio: ['ignore', log, log],
        detached: true,
      });
      child.unref();
      startedPid = child.pid ?? null;
      say(`${service} started on the rebuilt read model (pid ${startedPid}, log ${logFile})`);
    } else say(`start ${service} now: it goes on from the rebuilt read model's offsets`);
    return {
      service,
      database: liveName,
      previousDatabase: options.dropOld ? null : previous,
      applied: offsetSum(final).toString(),
      outboxCopied,
      startedPid,
    };
  } catch (error) {
    if (liveStopped && !switched)
      say(
        `the rebuild failed after ${service} was stopped: its read model "${liveName}" is unchanged; start ${service} again`,
      );
    throw error;
  } finally {
    await replay.stop();
    if (!switched) await dropDatabase(scratchUrl).catch(() => undefined);
    await deleteReplayGroups(options, groups, replay.id);
    // The replay's log stays when something went wrong, for the operator.
    if (switched) rmSync(dir, { recursive: true, force: true });
  }
}

/** Where `npm start` keeps the services' logs (`.data/logs/`). */
function defaultLogFile(service: string): string {
  mkdirSync('.data/logs', { recursive: true });
  return join('.data/logs', `${service}.log`);
}
