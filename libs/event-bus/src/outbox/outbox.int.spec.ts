import { DataSource } from 'typeorm';
import { Topics } from '@push/contracts';
import {
  createDatabase,
  createTestTopics,
  deleteTestTopics,
  dropDatabase,
  messageCount,
  readMessages,
  testBrokers,
  uniqueDatabaseUrl,
  uniqueTopicPrefix,
} from '@push/testing';
import {
  EVENT_BUS_MIGRATIONS,
  EventBusTables1763856000000,
  EventOutboxBinaryKeysAndHeaders1763870000000,
} from '../migrations/event-bus-tables';
import { EventProducer, RawMessage } from '../producer';
import { drainOutbox, outboxSize, publishCommitted, writeOutbox } from './outbox';

jest.setTimeout(60_000);

const prefix = uniqueTopicPrefix('outbox');
const topic = prefix + Topics.UserEvents;
const url = uniqueDatabaseUrl('outbox_spec');
let producer: EventProducer;

const dataSource = (migrations: DataSource['options']['migrations']) =>
  new DataSource({ type: 'postgres', url, migrations, migrationsRun: false });

beforeAll(async () => {
  await createTestTopics(prefix, [Topics.UserEvents], 1);
  await createDatabase(url);
  producer = new EventProducer({ brokers: testBrokers(), clientId: 'outbox-spec' });
});

afterAll(async () => {
  await producer.disconnect();
  await dropDatabase(url);
  await deleteTestTopics(prefix);
});

describe('the outbox', () => {
  it('publishes rows written before the batch format and batches after it, in write order, keys and headers intact', async () => {
    // A row as the one-message-per-row outbox wrote it, then the migration to batches.
    const before = dataSource([EventBusTables1763856000000, EventOutboxBinaryKeysAndHeaders1763870000000]);
    await before.initialize();
    await before.runMigrations();
    await before.query(`insert into event_outbox (topic, key, value, headers) values ($1, $2, $3, $4::jsonb)`, [
      topic,
      Buffer.from('old-key'),
      Buffer.from('old-value'),
      JSON.stringify({ origin: [Buffer.from('legacy').toString('base64')] }),
    ]);
    await before.destroy();

    const db = dataSource(EVENT_BUS_MIGRATIONS);
    await db.initialize();
    await db.runMigrations();
    const batch: RawMessage[] = [
      {
        topic,
        key: Buffer.from([0xff, 0x00, 0x01]),
        value: Buffer.from('binary-key'),
        headers: { trace: [Buffer.from('a'), Buffer.from('b')], codec: 'avro' },
      },
      { topic, key: 'text-key', value: null },
    ];
    await db.transaction((tx) => writeOutbox(tx, batch));
    expect(await outboxSize(db)).toBe(3);

    expect(await drainOutbox(db, producer)).toBe(3);
    expect(await outboxSize(db)).toBe(0);
    expect(await db.query('select count(*)::int as rows from event_outbox')).toEqual([{ rows: 0 }]);

    const published = await readMessages(topic, 3);
    expect(published.map((m) => [m.key?.toString('hex'), m.value?.toString() ?? null])).toEqual([
      [Buffer.from('old-key').toString('hex'), 'old-value'],
      ['ff0001', 'binary-key'],
      [Buffer.from('text-key').toString('hex'), null],
    ]);
    expect(published[0].headers).toEqual({ origin: Buffer.from('legacy') });
    expect(published[1].headers).toEqual({ trace: [Buffer.from('a'), Buffer.from('b')], codec: Buffer.from('avro') });
    await db.destroy();
  });

  it('publishes a committed write from memory and deletes its row; more than the broker takes in one request is split', async () => {
    const db = dataSource(EVENT_BUS_MIGRATIONS);
    await db.initialize();
    const countBefore = await messageCount(topic);
    // 3 MiB: one produce request of it would exceed the broker's message.max.bytes (1 MiB) on this one partition.
    const messages: RawMessage[] = Array.from({ length: 3072 }, (_, i) => ({
      topic,
      key: `k${i}`,
      value: Buffer.alloc(1024, i % 256),
    }));
    const write = await db.transaction((tx) => writeOutbox(tx, messages));
    expect(await outboxSize(db)).toBe(3072);

    expect(await publishCommitted(db, producer, [write])).toBe(3072);
    expect(await outboxSize(db)).toBe(0);
    expect((await messageCount(topic)) - countBefore).toBe(3072);
    await db.destroy();
  });

  it('publishes a row once when a replica publishes it from memory while another drains the table', async () => {
    const db = dataSource(EVENT_BUS_MIGRATIONS);
    await db.initialize();
    await db.runMigrations();
    const other = dataSource(EVENT_BUS_MIGRATIONS);
    await other.initialize();
    const otherProducer = new EventProducer({ brokers: testBrokers(), clientId: 'outbox-spec-other' });
    const countBefore = await messageCount(topic);
    for (let round = 0; round < 5; round++) {
      const messages: RawMessage[] = Array.from({ length: 200 }, (_, i) => ({
        topic,
        key: `r${round}-${i}`,
        value: Buffer.alloc(64, i),
      }));
      const write = await db.transaction((tx) => writeOutbox(tx, messages));
      await Promise.all([publishCommitted(db, producer, [write]), drainOutbox(other, otherProducer)]);
    }
    await otherProducer.disconnect();

    expect((await messageCount(topic)) - countBefore).toBe(5 * 200);
    expect(await outboxSize(db)).toBe(0);
    await other.destroy();
    await db.destroy();
  });
});
