import { Type } from 'avsc';
import type { IHeaders } from 'kafkajs';
import { DataSource, EntityManager } from 'typeorm';
import type { EventProducer, RawMessage } from '../producer';

/** Serialises drains across replicas sharing a database, so that the outbox is published in the order it was written. */
const DRAIN_LOCK = 0x6576656e74;
/** Messages a table drain reads and publishes per transaction, about (whole rows: at least one). */
const DRAIN_MESSAGES_PER_CHUNK = 10_000;

/**
 * An outbox row holds all the messages one transaction produced, Avro-encoded in `batch`: one row to insert and one to
 * delete per transaction, instead of one per message (which cost Postgres more than the read model's own writes).
 * Header values are bytes (Kafka allows any) and may repeat per name.
 */
const batchType = Type.forSchema({
  type: 'array',
  items: {
    type: 'record',
    name: 'OutboxMessage',
    namespace: 'push.event_bus',
    fields: [
      { name: 'topic', type: 'string' },
      { name: 'key', type: ['null', 'bytes'] },
      { name: 'value', type: ['null', 'bytes'] },
      { name: 'headers', type: { type: 'map', values: { type: 'array', items: 'bytes' } } },
    ],
  },
});

interface StoredMessage {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer[]>;
}

/** What a transaction wrote to the outbox: what `publishCommitted` needs once it committed. */
export interface OutboxWrite {
  id: string;
  messages: readonly RawMessage[];
}

/**
 * Writes messages to the outbox inside the caller's transaction (one row): they exist exactly when the batch
 * committed. Returns the row's id, so that the caller can publish what it still holds in memory without reading it back.
 */
export async function writeOutbox(tx: EntityManager, messages: readonly RawMessage[]): Promise<OutboxWrite> {
  const batch = batchType.toBuffer(messages.map(toStored));
  const [{ id }]: { id: string }[] = await tx.query(
    'insert into event_outbox (batch, messages) values ($1, $2) returning id',
    [batch, messages.length],
  );
  return { id, messages };
}

/**
 * Publishes committed outbox writes from memory, in the order given: the common path, with no read back of what the
 * caller just wrote. Under the drain lock it first deletes their rows and sends only the writes whose rows were still
 * there, so a row that another replica's table drain already published is not sent again; the delete commits after
 * Kafka's acknowledgement, so a crash in between leaves the rows for `drainOutbox` (sent twice, never lost). Throws when
 * Kafka or Postgres fails; the rows stay.
 */
export async function publishCommitted(
  dataSource: DataSource,
  producer: EventProducer,
  writes: readonly OutboxWrite[],
): Promise<number> {
  return dataSource.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [DRAIN_LOCK]);
    // As a SELECT: TypeORM answers a bare DELETE … RETURNING with [rows, count] instead of the rows.
    const deleted: { id: string }[] = await tx.query(
      'with gone as (delete from event_outbox where id = any($1::bigint[]) returning id) select id::text as id from gone',
      [writes.map((w) => w.id)],
    );
    const present = new Set(deleted.map((row) => row.id));
    const messages = writes.filter((w) => present.has(w.id)).flatMap((w) => w.messages);
    if (messages.length > 0) await producer.sendRaw(messages);
    return messages.length;
  });
}

/**
 * Publishes outbox rows in the order they were written, then deletes them: the delete commits only after Kafka
 * acknowledged, so a crash in between sends them again (consumers dedupe by event_id) and never loses one. The path
 * after a restart or a failed publish. Returns how many messages were published.
 */
export async function drainOutbox(dataSource: DataSource, producer: EventProducer): Promise<number> {
  let total = 0;
  for (;;) {
    const sent = await dataSource.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [DRAIN_LOCK]);
      const sizes: { id: string; messages: number }[] = await tx.query(
        'select id, messages from event_outbox order by id limit 1000',
      );
      const ids: string[] = [];
      for (
        let count = 0, i = 0;
        i < sizes.length && (i === 0 || count + sizes[i].messages <= DRAIN_MESSAGES_PER_CHUNK);
        i++
      ) {
        ids.push(sizes[i].id);
        count += sizes[i].messages;
      }
      if (ids.length === 0) return 0;
      const rows: { batch: Buffer }[] = await tx.query(
        'select batch from event_outbox where id = any($1::bigint[]) order by id',
        [ids],
      );
      const messages = rows.flatMap((row) => messagesOf(row.batch));
      await producer.sendRaw(messages);
      await tx.query('delete from event_outbox where id = any($1::bigint[])', [ids]);
      return messages.length;
    });
    total += sent;
    if (sent === 0) return total;
  }
}

/** Messages waiting in the outbox. */
export async function outboxSize(dataSource: DataSource): Promise<number> {
  const [{ count }] = await dataSource.query('select coalesce(sum(messages), 0)::int as count from event_outbox');
  return count;
}

function toStored(m: RawMessage): StoredMessage {
  const headers: Record<string, Buffer[]> = {};
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    if (value === undefined) continue;
    headers[name] = (Array.isArray(value) ? value : [value]).map((v) => Buffer.from(v));
  }
  return {
    topic: m.topic,
    key: typeof m.key === 'string' ? Buffer.from(m.key, 'utf8') : m.key,
    value: m.value,
    headers,
  };
}

function messagesOf(batch: Buffer): RawMessage[] {
  return (batchType.fromBuffer(batch) as StoredMessage[]).map(({ topic, key, value, headers }) => ({
    topic,
    key,
    value,
    headers: loadHeaders(headers),
  }));
}

function loadHeaders(stored: Record<string, Buffer[]>): IHeaders {
  const headers: IHeaders = {};
  for (const [name, values] of Object.entries(stored)) headers[name] = values.length === 1 ? values[0] : values;
  return headers;
}
