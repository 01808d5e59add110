import type { IHeaders } from 'kafkajs';
import { DataSource, EntityManager } from 'typeorm';
import type { EventProducer, RawMessage } from '../producer';

const ROWS_PER_INSERT = 2000;
/** Serialises drains across replicas sharing a database, so that the outbox is published in the order it was written. */
const DRAIN_LOCK = 0x6576656e74;

interface OutboxRow {
  id: string;
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: StoredHeaders;
}

/** Header values as base64 (a header may be any bytes), a list per name (Kafka allows repeats). */
type StoredHeaders = Record<string, string[]>;

/** Writes messages to the outbox inside the caller's transaction: they exist exactly when the batch committed. */
export async function writeOutbox(tx: EntityManager, messages: readonly RawMessage[]): Promise<void> {
  for (let start = 0; start < messages.length; start += ROWS_PER_INSERT) {
    const chunk = messages.slice(start, start + ROWS_PER_INSERT);
    const params: unknown[] = [];
    const rows = chunk.map((m) => {
      params.push(m.topic, typeof m.key === 'string' ? Buffer.from(m.key, 'utf8') : m.key, m.value, JSON.stringify(storeHeaders(m.headers)));
      const n = params.length;
      return `($${n - 3}, $${n - 2}, $${n - 1}, $${n}::jsonb)`;
    });
    await tx.query(`insert into event_outbox (topic, key, value, headers) values ${rows.join(', ')}`, params);
  }
}

/**
 * Publishes outbox rows in the order they were written, then deletes them: the delete commits only after Kafka
 * acknowledged, so a crash in between sends them again (consumers dedupe by event_id) and never loses one.
 * Returns how many were published.
 */
export async function drainOutbox(dataSource: DataSource, producer: EventProducer, chunkSize = 1000): Promise<number> {
  let total = 0;
  for (;;) {
    const sent = await dataSource.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [DRAIN_LOCK]);
      const rows: OutboxRow[] = await tx.query('select id, topic, key, value, headers from event_outbox order by id limit $1', [chunkSize]);
      if (rows.length === 0) return 0;
      await producer.sendRaw(rows.map((r) => ({ topic: r.topic, key: r.key, value: r.value, headers: loadHeaders(r.headers) })));
      await tx.query('delete from event_outbox where id = any($1::bigint[])', [rows.map((r) => r.id)]);
      return rows.length;
    });
    total += sent;
    if (sent < chunkSize) return total;
  }
}

export async function outboxSize(dataSource: DataSource): Promise<number> {
  const [{ count }] = await dataSource.query('select count(*)::int as count from event_outbox');
  return count;
}

function storeHeaders(headers: IHeaders | undefined): StoredHeaders {
  const stored: StoredHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    stored[name] = (Array.isArray(value) ? value : [value]).map((v) => Buffer.from(v).toString('base64'));
  }
  return stored;
}

function loadHeaders(stored: StoredHeaders): IHeaders {
  const headers: IHeaders = {};
  for (const [name, values] of Object.entries(stored)) {
    const buffers = values.map((v) => Buffer.from(v, 'base64'));
    headers[name] = buffers.length === 1 ? buffers[0] : buffers;
  }
  return headers;
}
