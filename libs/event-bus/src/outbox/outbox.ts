import type { IHeaders } from 'kafkajs';
import { DataSource, EntityManager } from 'typeorm';
import type { EventProducer, RawMessage } from '../producer';

const ROWS_PER_INSERT = 2000;

interface OutboxRow {
  id: string;
  topic: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Writes messages to the outbox inside the caller's transaction: they exist exactly when the batch committed. */
export async function writeOutbox(tx: EntityManager, messages: RawMessage[]): Promise<void> {
  for (let start = 0; start < messages.length; start += ROWS_PER_INSERT) {
    const chunk = messages.slice(start, start + ROWS_PER_INSERT);
    const params: unknown[] = [];
    const rows = chunk.map((m) => {
      params.push(m.topic, m.key, m.value, JSON.stringify(headersToJson(m.headers)));
      const n = params.length;
      return `($${n - 3}, $${n - 2}, $${n - 1}, $${n}::jsonb)`;
    });
    await tx.query(`insert into event_outbox (topic, key, value, headers) values ${rows.join(', ')}`, params);
  }
}

/**
 * Publishes outbox rows in the order they were written and deletes them, in one transaction per chunk: the delete
 * commits only after Kafka acknowledged, so a crash in between re-sends (consumers dedupe by event_id) and never
 * loses. SKIP LOCKED lets replicas drain side by side.
 */
export async function drainOutbox(dataSource: DataSource, producer: EventProducer, chunkSize = 1000): Promise<number> {
  let total = 0;
  for (;;) {
    const sent = await dataSource.transaction(async (tx) => {
      const result = await tx.queryRunner!.query(
        `delete from event_outbox where id in (select id from event_outbox order by id limit $1 for update skip locked)
         returning id, topic, key, value, headers`,
        [chunkSize],
        true,
      );
      const rows: OutboxRow[] = result.records;
      // DELETE … RETURNING does not promise an order; publish in the order the rows were written.
      rows.sort((a, b) => Number(a.id) - Number(b.id));
      await producer.sendRaw(rows.map((r) => ({ topic: r.topic, key: r.key, value: r.value, headers: r.headers })));
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

function headersToJson(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    result[name] = Array.isArray(value) ? value.map(String).join(',') : Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return result;
}
