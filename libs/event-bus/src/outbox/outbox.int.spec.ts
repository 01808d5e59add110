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
import { EVENT_BUS_MIGRATIONS } from '../migrations/event-bus-tables';
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
  it('drains the table in write order, binary keys and repeated headers intact', async () => {
    const db = dataSource(EVENT_BUS_MIGRATIONS);
    await db.initialize();
    await db.runMigrations();
    const first: RawMessage[] = [{ topic, key: 'first-key', value: Buffer.from('first-value'), headers: { n: '1' } }];
    const second: RawMessage[] = [
      {
        topic,
        key: Buffer.from([0xff, 0x00, 0x01]),
        value: Buffer.from('binary-key'),
        headers: { trace: [Buffer.from('a'), Buffer.from('b')], codec: 'avro' },
      },
      { topic, key: 'text-key', value: null },
    ];
    await db.transaction((tx) => writeOutbox(tx, first));
    await db.transaction((tx) => writeOutbox(tx, second));
    expect(await outboxSize(db)).toBe(3);

    expect(await drainOutbox(db, producer)).toBe(3);
    expect(await outboxSize(db)).toBe(0);
    expect(await db.query('select count(*)::int as rows from event_outbox')).toEqual([{ rows: 0 }]);

    const published = await readMessages(topic, 3);
    expect(published.map((m) => [m.key?.toString('hex'), m.value?.toString() ?? null])).toEqual([
      [Buffer.from('first-key').toString('hex'), 'first-value'],
      ['ff0001', 'binary-key'],
      [Buffer.from('text-key').toString('hex'), null],
    ]);
    expect(published[0].headers).toEqual({ n: Buffer.from('1') });
    expect(published[1].headers).toEqual({ trace: [Buffer.from('a'), Buffer.from('b')], codec: Buffer.from('avro') });
    expect(published[2].headers).toEqual({});
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
