import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { MessageKeys, SdkDeviceEvent, Topics } from '@push/contracts';
import {
  createDatabase,
  createTestTopics,
  deleteTestTopics,
  deviceEvents,
  dropDatabase,
  eventually,
  messageCount,
  testBrokers,
  uniqueDatabaseUrl,
  uniqueTopicPrefix,
} from '@push/testing';
import { EVENT_BUS_MIGRATIONS } from '../migrations/event-bus-tables';
import { outboxSize } from '../outbox/outbox';
import { EventProducer } from '../producer';
import { ProjectionRunner } from './projection-runner';
import { readReplayBound, writeReplayBound } from './replay';
import { DeviceCounts1763856000001, countingProjection } from './fixtures/counting-projection';

jest.setTimeout(60_000);

const prefix = uniqueTopicPrefix('replay');
const groupId = 'replay.device-counts';
const url = uniqueDatabaseUrl('replay');
let dataSource: DataSource;
let dir: string;
let boundFile: string;
let producer: EventProducer;

/** Partition 0 only (a one-partition topic): offsets are the index of the event. Every 3rd is a ChangeUser (an output). */
const events: SdkDeviceEvent[] = Array.from({ length: 30 }, (_, i) => {
  const device = { workspace_id: 'ws', app_id: 'app', device_id: `d${i % 5}` };
  return i % 3 === 0
    ? deviceEvents.changeUser(device, 1_700_000_000_000 + i, `u${i}`)
    : deviceEvents.sessionStarted(device, 1_700_000_000_000 + i);
});

async function storedNext(): Promise<string | undefined> {
  const rows: { next_offset: string }[] = await dataSource.query(
    'select next_offset from consumer_offsets where group_id = $1 and topic = $2 and partition = 0',
    [groupId, Topics.DeviceEvents],
  );
  return rows[0]?.next_offset;
}

const counted = async (): Promise<number> =>
  (await dataSource.query('select coalesce(sum(events), 0)::int as n from device_counts'))[0].n;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'replay-'));
  boundFile = join(dir, 'bound.json');
  await createTestTopics(prefix, [Topics.DeviceEvents, Topics.UserEvents], 1);
  await createDatabase(url);
  dataSource = await new DataSource({
    type: 'postgres',
    url,
    migrations: [...EVENT_BUS_MIGRATIONS, DeviceCounts1763856000001],
    migrationsRun: true,
  }).initialize();
  producer = new EventProducer({ brokers: testBrokers(), clientId: 'replay-test', topicPrefix: prefix });
  await producer.publish(
    Topics.DeviceEvents,
    events.map((event) => ({ key: MessageKeys.device('ws', 'app', event.data.device_id), event })),
  );
});

afterAll(async () => {
  await producer?.disconnect();
  await dataSource?.destroy();
  await dropDatabase(url);
  await deleteTestTopics(prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('replay mode of the projection runner', () => {
  it('reads the bound file of its group; a group the file does not name has nothing to apply; a bad offset is refused', async () => {
    await writeReplayBound(boundFile, { groups: { [groupId]: { [`${Topics.DeviceEvents}:0`]: '12' }, other: {} } });
    expect(await readReplayBound(boundFile, groupId)).toEqual(new Map([[`${Topics.DeviceEvents}:0`, '12']]));
    expect(await readReplayBound(boundFile, 'unknown')).toEqual(new Map());
    await writeReplayBound(boundFile, { groups: { [groupId]: { [`${Topics.DeviceEvents}:0`]: '-1' } } });
    await expect(readReplayBound(boundFile, groupId)).rejects.toThrow('is not an offset: -1');
  });

  it('applies exactly up to the bound, publishes nothing (no outbox row, no message), and goes on when the bound moves', async () => {
    await writeReplayBound(boundFile, { groups: { [groupId]: { [`${Topics.DeviceEvents}:0`]: '12' } } });
    const runner = new ProjectionRunner({
      projection: countingProjection({ groupId }),
      brokers: testBrokers(),
      dataSource,
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
      topicPrefix: prefix,
      maxWaitTimeInMs: 50,
      replay: {
        consumerGroup: `${groupId}.replay-test`,
        bound: () => readReplayBound(boundFile, groupId),
        refreshMs: 100,
      },
    });
    await runner.start();
    try {
      await eventually(async () => (await storedNext()) === '12', 30_000, 'the rebuild at the bound');
      // It stays there: nothing beyond the bound, though 30 events are in the log.
      await new Promise((r) => setTimeout(r, 1000));
      expect(await storedNext()).toBe('12');
      expect(await counted()).toBe(12);

      await writeReplayBound(boundFile, { groups: { [groupId]: { [`${Topics.DeviceEvents}:0`]: '25' } } });
      await eventually(async () => (await storedNext()) === '25', 30_000, 'the rebuild at the new bound');
      await new Promise((r) => setTimeout(r, 500));
      expect(await storedNext()).toBe('25');
      // Each event applied once: the counts are those of the first 25 events, none skipped at the pause.
      expect(await counted()).toBe(25);
      const perDevice: { device_key: string; events: number }[] = await dataSource.query(
        'select device_key, events from device_counts order by device_key',
      );
      expect(perDevice.map((r) => r.events)).toEqual([5, 5, 5, 5, 5]);
      // ChangeUser outputs are the live service's to publish: none written, none sent.
      expect(await outboxSize(dataSource)).toBe(0);
      expect(await messageCount(prefix + Topics.UserEvents)).toBe(0);
    } finally {
      await runner.stop();
    }
  });
});
