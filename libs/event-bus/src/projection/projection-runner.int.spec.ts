import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Type } from 'avsc';
import pino from 'pino';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { MessageKeys, SCHEMA_VERSIONS, SdkDeviceEvent, Topics, dlqTopicOf, encodeEvent } from '@push/contracts';
import {
  createTestTopics,
  deleteTestTopics,
  deviceEvents,
  dropDatabase,
  eventually,
  readMessages,
  testBrokers,
  uniqueDatabaseUrl,
  uniqueTopicPrefix,
} from '@push/testing';
import { createKafka } from '../kafka';
import { EVENT_BUS_MIGRATIONS } from '../migrations/event-bus-tables';
import { outboxSize } from '../outbox/outbox';
import { EventProducer, RawMessage } from '../producer';
import { ProjectionRunner } from './projection-runner';
import { DeviceCounts1763856000001, countingProjection } from './fixtures/counting-projection';

jest.setTimeout(60_000);

const brokers = testBrokers();
const silent = pino({ level: 'silent' });
const repoRoot = join(__dirname, '../../../..');

/** A realistic little stream: devices registering, starting sessions, and now and then changing user. */
function eventStream(devices: number, perDevice: number): SdkDeviceEvent[] {
  const events: SdkDeviceEvent[] = [];
  for (let i = 0; i < perDevice; i++) {
    for (let d = 0; d < devices; d++) {
      const device = { workspace_id: 'ws', app_id: 'app', device_id: `d${d}` };
      const at = 1_700_000_000_000 + i * 1000;
      if (i === 0) events.push(deviceEvents.tokenRegistered(device, at, `token-${d}`));
      else if (i % 4 === 0) events.push(deviceEvents.changeUser(device, at, `u${d}-${i}`));
      else events.push(deviceEvents.sessionStarted(device, at));
    }
  }
  return events;
}

function expectedCounts(events: SdkDeviceEvent[]): Record<string, { events: number; last_type: string }> {
  const rows: Record<string, { events: number; last_type: string }> = {};
  for (const e of events) {
    const key = MessageKeys.device(e.data.workspace_id, e.data.app_id, e.data.device_id);
    rows[key] = { events: (rows[key]?.events ?? 0) + 1, last_type: e.type };
  }
  return rows;
}

async function openTestDatabase(url: string): Promise<DataSource> {
  const { ensureDatabase } = await import('@push/service-kit');
  await ensureDatabase(url);
  return new DataSource({ type: 'postgres', url, migrations: [...EVENT_BUS_MIGRATIONS, DeviceCounts1763856000001], migrationsRun: true }).initialize();
}

async function rows(dataSource: DataSource): Promise<Record<string, { events: number; last_type: string }>> {
  const result: Record<string, { events: number; last_type: string }> = {};
  for (const r of await dataSource.query('select device_key, events, last_type from device_counts')) result[r.device_key] = { events: r.events, last_type: r.last_type };
  return result;
}

async function total(dataSource: DataSource): Promise<number> {
  const [{ sum }] = await dataSource.query('select coalesce(sum(events), 0)::int as sum from device_counts');
  return sum;
}

async function publish(prefix: string, events: SdkDeviceEvent[]): Promise<void> {
  const producer = new EventProducer({ brokers, clientId: 'spec-producer', topicPrefix: prefix });
  await producer.publish(events.map((event) => ({ topic: Topics.DeviceEvents, key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id), event })));
  await producer.disconnect();
}

describe('projection runner (real Kafka, real Postgres)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  async function setup(name: string) {
    const prefix = uniqueTopicPrefix(name);
    const url = uniqueDatabaseUrl(`bus_${name}`);
    await createTestTopics(prefix, [Topics.DeviceEvents, Topics.UserEvents], 2);
    const dataSource = await openTestDatabase(url);
    cleanups.push(() => deleteTestTopics(prefix), () => dropDatabase(url), () => dataSource.destroy());
    const runner = (groupId: string, extra: Partial<ConstructorParameters<typeof ProjectionRunner>[0]> = {}) => {
      const r = new ProjectionRunner({ projection: countingProjection({ groupId }), brokers, dataSource, logger: silent, metrics: new Registry(), topicPrefix: prefix, ...extra });
      cleanups.push(() => r.stop());
      return r;
    };
    return { prefix, url, dataSource, runner, group: `${name}-${prefix}` };
  }

  it('applies every event once, and a redelivery from Kafka offsets reset to the start changes nothing', async () => {
    const { prefix, dataSource, runner, group } = await setup('redelivery');
    const first = eventStream(20, 10);
    await publish(prefix, first);

    const clean = runner(group);
    await clean.start();
    await eventually(async () => (await total(dataSource)) === first.length, 20_000, 'all events applied');
    await clean.stop();
    expect(await rows(dataSource)).toEqual(expectedCounts(first));

    const admin = createKafka('spec-admin', brokers).admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: group, topic: prefix + Topics.DeviceEvents, earliest: true });
    await admin.disconnect();

    const again = runner(group);
    await again.start();
    const more = eventStream(5, 2).map((e) => ({ ...e, data: { ...e.data, event_id: `more-${e.data.event_id}` } })) as SdkDeviceEvent[];
    await publish(prefix, more);
    await eventually(async () => (await total(dataSource)) === first.length + more.length, 20_000, 'new events applied');
    await again.stop();

    expect(await rows(dataSource)).toEqual(expectedCounts([...first, ...more]));
  });

  it('ends with the same rows as a clean run after being killed in the middle of a transaction', async () => {
    const { prefix, url, dataSource, runner, group } = await setup('crash');
    const events = eventStream(20, 20);
    await publish(prefix, events);

    const child = spawn(process.execPath, ['-r', '@swc-node/register', join(__dirname, 'fixtures/crash-child.ts'), url, prefix, group, '120'], {
      cwd: repoRoot,
      stdio: 'ignore',
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, s) => resolve(s)));
    expect(signal).toBe('SIGKILL');
    const partial = await total(dataSource);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(events.length);

    // The broker's minimum session timeout: the killed member's partitions move within seconds.
    const restarted = runner(group, { sessionTimeoutMs: 6000 });
    await restarted.start();
    await eventually(async () => (await total(dataSource)) >= events.length, 30_000, 'all events applied after restart');
    await restarted.stop();

    expect(await rows(dataSource)).toEqual(expectedCounts(events));
  });

  it('sends poison to the dead-letter topic with its headers and applies the valid messages around it', async () => {
    const { prefix, dataSource, runner, group } = await setup('poison');
    const device = (id: string) => ({ workspace_id: 'ws', app_id: 'app', device_id: id });
    const key = 'ws:app:same-partition';
    const valid1 = encodeEvent(Topics.DeviceEvents, deviceEvents.sessionStarted(device('before'), 1));
    const valid2 = encodeEvent(Topics.DeviceEvents, deviceEvents.sessionStarted(device('after'), 2));
    const unknown = Buffer.from(valid1);
    unknown.writeBigUInt64LE(7n, 2);
    const contract = SCHEMA_VERSIONS.find((v) => v.record === 'PushPermissionChanged')!.schema;
    const forged = Type.forSchema(JSON.parse(JSON.stringify(contract).replace('"NOT_DETERMINED"]', '"NOT_DETERMINED","BANANA"]')));
    const permission = deviceEvents.pushPermissionChanged(device('x'), 3, 'DENIED');
    const wrongEnum = Buffer.concat([encodeEvent(Topics.DeviceEvents, permission).subarray(0, 10), forged.toBuffer({ ...permission.data, push_permission: 'BANANA' })]);
    const emptyDevice = encodeEvent(Topics.DeviceEvents, deviceEvents.appUninstalled(device(''), 4));
    const poison: [Buffer, string][] = [
      [Buffer.from('{"not":"avro"}'), 'BAD_MAGIC'],
      [unknown, 'UNKNOWN_FINGERPRINT'],
      [valid1.subarray(0, 15), 'TRUNCATED'],
      [wrongEnum, 'INVALID_BODY'],
      [emptyDevice, 'CONTRACT_VIOLATION'],
    ];
    const producer = new EventProducer({ brokers, clientId: 'spec-poison' });
    const messages: RawMessage[] = [valid1, ...poison.map(([value]) => value), valid2].map((value) => ({
      topic: prefix + Topics.DeviceEvents,
      key,
      value,
      headers: { 'trace-id': 'abc' },
    }));
    await producer.sendRaw(messages);
    await producer.disconnect();

    const metrics = new Registry();
    const consumer = runner(group, { metrics });
    await consumer.start();
    const dead = await readMessages(dlqTopicOf(prefix + Topics.DeviceEvents), poison.length);
    await eventually(async () => (await total(dataSource)) === 2, 10_000, 'valid messages applied');

    expect(Object.keys(await rows(dataSource)).sort()).toEqual(['ws:app:after', 'ws:app:before']);
    const sourcePartition = dead[0].headers?.['dlq-source-partition']?.toString();
    expect(dead.map((m) => m.headers?.['dlq-error-code']?.toString())).toEqual(poison.map(([, code]) => code));
    dead.forEach((m, i) => {
      expect(m.value).toEqual(poison[i][0]);
      expect(m.key?.toString()).toBe(key);
      expect(m.headers?.['trace-id']?.toString()).toBe('abc');
      expect(m.headers?.['dlq-source-topic']?.toString()).toBe(prefix + Topics.DeviceEvents);
      expect(m.headers?.['dlq-source-partition']?.toString()).toBe(sourcePartition);
      expect(m.headers?.['dlq-source-offset']?.toString()).toBe(String(i + 1));
      expect(m.headers?.['dlq-error']?.toString().length).toBeGreaterThan(0);
    });
    expect(await metrics.getSingleMetricAsString('event_bus_dead_letters_total')).toMatch(/code="BAD_MAGIC"} 1/);
  });

  it('publishes outbox events exactly once when Kafka was unreachable between the database commit and the send', async () => {
    const { prefix, dataSource, runner, group } = await setup('outbox');
    const events = eventStream(4, 5);
    const changes = events.filter((e) => e.type === 'ChangeUser');
    await publish(prefix, events);

    class UnreachableKafka extends EventProducer {
      override async sendRaw(): Promise<void> {
        throw new Error('broker unreachable');
      }
    }
    const unreachable = new UnreachableKafka({ brokers, clientId: 'spec-broken' });
    const broken = runner(group, { producer: unreachable });
    await broken.start();
    await eventually(async () => (await total(dataSource)) === events.length, 20_000, 'events applied');
    await broken.stop();
    await unreachable.disconnect();
    expect(await outboxSize(dataSource)).toBe(changes.length);

    const healthy = runner(group);
    await healthy.start();
    const published = await readMessages(prefix + Topics.UserEvents, changes.length);
    await healthy.stop();

    const admin = createKafka('spec-admin', brokers).admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(prefix + Topics.UserEvents);
    await admin.disconnect();
    expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(changes.length);
    expect(new Set(published.map((m) => m.key?.toString())).size).toBe(changes.length);
    expect(await outboxSize(dataSource)).toBe(0);
  });
});
