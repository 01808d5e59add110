import { Client, ClientBase } from 'pg';
import type { ReplayBoundFile } from '@push/event-bus';

/** Stored offsets of a read model: next offset by group, then by `<contract topic>:<partition>`. */
export type StoredOffsets = ReplayBoundFile['groups'];

export const databaseNameOf = (url: string): string => decodeURIComponent(new URL(url).pathname.slice(1));

/** The same server and credentials, another database. */
export function withDatabase(url: string, name: string): string {
  const other = new URL(url);
  other.pathname = `/${encodeURIComponent(name)}`;
  return other.toString();
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: 'eventlog' });
  await client.connect();
  return client;
}

/** Runs `work` with a connection to the server's maintenance database (creating, renaming, dropping databases). */
export async function onServer<R>(url: string, work: (client: Client) => Promise<R>): Promise<R> {
  const client = await connect(withDatabase(url, 'postgres'));
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function databaseExists(url: string): Promise<boolean> {
  return onServer(
    url,
    async (c) => (await c.query('select 1 from pg_database where datname = $1', [databaseNameOf(url)])).rowCount === 1,
  );
}

export async function createEmptyDatabase(url: string): Promise<void> {
  await onServer(url, (c) => c.query(`create database ${quoteIdent(databaseNameOf(url))}`));
}

export async function dropDatabase(url: string): Promise<void> {
  await onServer(url, (c) => c.query(`drop database if exists ${quoteIdent(databaseNameOf(url))} with (force)`));
}

/** Connections other than this tool's to the database: a running service (any replica) holds some. */
export async function connectionsTo(url: string): Promise<number> {
  return onServer(url, async (c) => {
    const { rows } = await c.query(
      'select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [databaseNameOf(url)],
    );
    return rows[0].n as number;
  });
}

export async function renameDatabase(url: string, to: string): Promise<void> {
  await onServer(url, (c) => c.query(`alter database ${quoteIdent(databaseNameOf(url))} rename to ${quoteIdent(to)}`));
}

/** True once the service migrated the database (the event bus's tables are there). */
export async function isMigrated(url: string): Promise<boolean> {
  const client = await connect(url);
  try {
    return (await client.query("select to_regclass('public.consumer_offsets') is not null as ok")).rows[0]
      .ok as boolean;
  } finally {
    await client.end();
  }
}

/** The read model's stored offsets (none before the service first migrated: an empty database). */
export async function storedOffsetsOf(client: ClientBase): Promise<StoredOffsets> {
  const exists = await client.query("select to_regclass('public.consumer_offsets') is not null as exists");
  if (!exists.rows[0].exists) return {};
  const { rows } = await client.query<{ group_id: string; topic: string; partition: number; next_offset: string }>(
    'select group_id, topic, partition, next_offset from consumer_offsets order by group_id, topic, partition',
  );
  const offsets: StoredOffsets = {};
  for (const r of rows) (offsets[r.group_id] ??= {})[`${r.topic}:${r.partition}`] = String(r.next_offset);
  return offsets;
}

export async function storedOffsetsAt(url: string): Promise<StoredOffsets> {
  const client = await connect(url);
  try {
    return await storedOffsetsOf(client);
  } finally {
    await client.end();
  }
}

/** Messages (summed offsets) of all groups: what a progress line counts. */
export function offsetSum(offsets: StoredOffsets): bigint {
  let sum = 0n;
  for (const group of Object.values(offsets)) for (const offset of Object.values(group)) sum += BigInt(offset);
  return sum;
}

/** True when the rebuilt read model has applied exactly what the live one had: the same next offset everywhere. */
export function sameOffsets(live: StoredOffsets, rebuilt: StoredOffsets): boolean {
  const keys = (o: StoredOffsets) =>
    Object.entries(o).flatMap(([group, partitions]) =>
      Object.entries(partitions).map(([k, v]) => `${group}\0${k}\0${v}`),
    );
  const a = keys(live).sort();
  const b = keys(rebuilt).sort();
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/**
 * The live read model's outbox rows left after its service stopped (outputs it committed but could not publish yet,
 * Kafka being down): copied into the rebuilt database so that the service started on it publishes them. The rebuilt
 * outbox itself is empty (a replay writes none).
 */
export async function copyOutbox(fromUrl: string, toUrl: string): Promise<number> {
  const from = await connect(fromUrl);
  const to = await connect(toUrl);
  try {
    const { rows } = await from.query<{ batch: Buffer; messages: number }>(
      'select batch, messages from event_outbox order by id',
    );
    for (const row of rows)
      await to.query('insert into event_outbox (batch, messages) values ($1, $2)', [row.batch, row.messages]);
    return rows.reduce((n, r) => n + r.messages, 0);
  } finally {
    await from.end();
    await to.end();
  }
}
