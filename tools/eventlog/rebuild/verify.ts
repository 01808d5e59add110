import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientBase } from 'pg';
import { writeReplayBound } from '@push/event-bus';
import { COMMIT_ORDER_COUNTER, maskToken } from '@push/service-kit';
import { BOOKKEEPING_TABLES, TableDifference, compareSortedRows, differenceCount } from './compare';
import {
  connect,
  createEmptyDatabase,
  databaseExists,
  databaseNameOf,
  dropDatabase,
  offsetSum,
  quoteIdent,
  storedOffsetsOf,
  withDatabase,
} from './databases';
import { NOT_REPLAYABLE, ServiceTarget, deleteReplayGroups, replayUntilCaughtUp } from './rebuild';
import { serviceMainOf, startReplay } from './replay-process';

export interface VerifyOptions extends ServiceTarget {
  /** Tables left out of the comparison besides the event bus's own. */
  ignoreTables: string[];
}

export interface VerifyReport {
  service: string;
  /** Messages both read models had applied (summed next offsets of the live snapshot). */
  applied: string;
  tables: TableDifference[];
  differences: number;
}

async function tablesOf(client: ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ table_name: string }>(
    "select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name",
  );
  return rows.map((r) => r.table_name);
}

/**
 * Column names, and the ones left out of the comparison: those that number rows in the order they were inserted
 * (serial, identity) and those the service marked commit-order counters (`COMMIT_ORDER_COUNTER`: a version per batch).
 */
async function columnsOf(client: ClientBase, table: string): Promise<{ all: string[]; generated: string[] }> {
  const { rows } = await client.query<{ column_name: string; generated: boolean }>(
    `select column_name,
       (coalesce(column_default, '') like 'nextval(%' or is_identity = 'YES'
        or coalesce(col_description(format('public.%I', table_name)::regclass, ordinal_position), '') like $2)
       as generated
     from information_schema.columns where table_schema = 'public' and table_name = $1 order by column_name`,
    [table, `${COMMIT_ORDER_COUNTER}%`],
  );
  return { all: rows.map((r) => r.column_name), generated: rows.filter((r) => r.generated).map((r) => r.column_name) };
}

/** A table's rows as JSON text without the given columns, in byte order, a page at a time (a cursor: in a transaction). */
async function* rowsOf(client: ClientBase, table: string, without: string[]): AsyncGenerator<string> {
  const cursor = quoteIdent(`eventlog_${table}`);
  await client.query(
    `declare ${cursor} no scroll cursor for
     select r from (select (to_jsonb(t) - $1::text[])::text as r from ${quoteIdent(table)} t) s order by r collate "C"`,
    [without],
  );
  try {
    for (;;) {
      const { rows } = await client.query<{ r: string }>(`fetch 2000 from ${cursor}`);
      if (rows.length === 0) return;
      for (const row of rows) yield row.r;
    }
  } finally {
    await client.query(`close ${cursor}`);
  }
}

/**
 * Rebuilds the service's read model aside and compares it with the live one, table by table and row by row: the live
 * read model is read in one REPEATABLE READ snapshot, whose stored offsets bound the replay, so both have applied
 * exactly the same messages however the live service goes on meanwhile. The event bus's tables are left out, and so
 * are serial and identity columns (row numbers in insertion order, which a rebuild applying partitions in another
 * interleaving gives out differently) and the columns a service marked commit-order counters (a version per batch,
 * numbered differently for the same reason); each table's report names the columns it left out. The scratch database is dropped afterwards, whatever happens.
 */
export async function verify(options: VerifyOptions): Promise<VerifyReport> {
  const { service, say } = options;
  if (NOT_REPLAYABLE[service]) throw new Error(`${service} cannot be verified by replay: ${NOT_REPLAYABLE[service]}`);
  serviceMainOf(options);
  const liveName = databaseNameOf(options.databaseUrl);
  if (!(await databaseExists(options.databaseUrl)))
    throw new Error(`the database "${liveName}" of ${service} does not exist`);
  const scratchUrl = withDatabase(options.databaseUrl, `${liveName}_verify_${Date.now().toString(36)}`);
  const dir = mkdtempSync(join(tmpdir(), 'eventlog-verify-'));
  const boundFile = join(dir, 'bound.json');
  const live = await connect(options.databaseUrl);
  let groups: string[] = [];
  let replayId = '';
  let failed = false;
  try {
    await live.query('begin isolation level repeatable read read only');
    const snapshot = await storedOffsetsOf(live);
    groups = Object.keys(snapshot);
    await writeReplayBound(boundFile, { groups: snapshot });
    await createEmptyDatabase(scratchUrl);
    say(`verifying ${service}: replaying ${offsetSum(snapshot)} messages into a scratch database`);
    const replay = await startReplay({
      ...options,
      databaseUrl: scratchUrl,
      boundFile,
      logFile: join(dir, 'replay.log'),
    });
    replayId = replay.id;
    try {
      await replayUntilCaughtUp(replay, boundFile, scratchUrl, async () => snapshot, options, 'replay');
    } finally {
      await replay.stop();
    }

    const rebuilt = await connect(scratchUrl);
    try {
      await rebuilt.query('begin isolation level repeatable read read only');
      const ignored = new Set([...BOOKKEEPING_TABLES, ...options.ignoreTables]);
      const liveTables = (await tablesOf(live)).filter((t) => !ignored.has(t));
      const rebuiltTables = (await tablesOf(rebuilt)).filter((t) => !ignored.has(t));
      const tables: TableDifference[] = [];
      for (const table of [...new Set([...liveTables, ...rebuiltTables])].sort()) {
        const empty = { table, liveRows: 0, rebuiltRows: 0, onlyLive: 0, onlyRebuilt: 0, examples: [] };
        if (!liveTables.includes(table) || !rebuiltTables.includes(table)) {
          tables.push({
            ...empty,
            problem: `only the ${liveTables.includes(table) ? 'live' : 'rebuilt'} read model has this table`,
          });
          continue;
        }
        const [a, b] = [await columnsOf(live, table), await columnsOf(rebuilt, table)];
        if (a.all.join() !== b.all.join()) {
          tables.push({
            ...empty,
            problem: `other columns: live (${a.all.join(', ')}), rebuilt (${b.all.join(', ')})`,
          });
          continue;
        }
        const compared = await compareSortedRows(
          table,
          rowsOf(live, table, a.generated),
          rowsOf(rebuilt, table, a.generated),
        );
        tables.push(a.generated.length > 0 ? { ...compared, leftOut: a.generated } : compared);
      }
      for (const t of tables) t.examples = t.examples.map((e) => ({ ...e, row: maskedRow(e.row) }));
      const differences = tables.reduce((n, t) => n + differenceCount(t), 0);
      return { service, applied: offsetSum(snapshot).toString(), tables, differences };
    } finally {
      await rebuilt.end();
    }
  } catch (error) {
    failed = true;
    say(`the replay's log is kept: ${join(dir, 'replay.log')}`);
    throw error;
  } finally {
    await live.end().catch(() => undefined);
    await dropDatabase(scratchUrl).catch(() => undefined);
    await deleteReplayGroups(options, groups, replayId);
    if (!failed) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Columns that hold a token value: `token` and `*_token` (`previous_token`). Not every name that mentions tokens:
 * `token_status` or `token_as_of_ms` are no secret, and a masked status (`"*emoved"`) reads as garbage.
 */
export const isTokenColumn = (column: string): boolean => column === 'token' || column.endsWith('_token');

/** A row as shown: the value of every token column masked (tokens never appear whole). */
export function maskedRow(row: string): string {
  const fields = JSON.parse(row) as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields))
    if (isTokenColumn(key) && typeof value === 'string') fields[key] = maskToken(value);
  return JSON.stringify(fields);
}

/** The report as lines: each table with its rows and differences, examples of differing rows, the total. */
export function renderVerify(report: VerifyReport): string {
  const lines = [`verify ${report.service}: ${report.applied} messages applied by both read models`];
  for (const t of report.tables) {
    if (t.problem) {
      lines.push(`  ${t.table}: ${t.problem}`);
      continue;
    }
    const n = differenceCount(t);
    const leftOut = t.leftOut?.length ? ` (${t.leftOut.join(', ')} not compared: numbered in commit order)` : '';
    lines.push(
      `  ${t.table}: ${t.liveRows} live rows, ${t.rebuiltRows} rebuilt rows, ${n === 0 ? 'no differences' : `${t.onlyLive} only live, ${t.onlyRebuilt} only rebuilt`}${leftOut}`,
    );
    for (const { side, row } of t.examples)
      lines.push(`    only ${side}: ${row.length > 300 ? `${row.slice(0, 300)}…` : row}`);
  }
  lines.push(`${report.differences} difference(s)`);
  return `${lines.join('\n')}\n`;
}
