import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Type } from 'avsc';
import { EachBatchPayload, KafkaJSNonRetriableError, KafkaMessage } from 'kafkajs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import {
  MessageKeys,
  SCHEMA_VERSIONS,
  SchemaRegistry,
  SdkDeviceEvent,
  Topics,
  decodeEvent,
  dlqTopicOf,
  encodeEvent,
  loadSchemaVersions,
} from '@push/contracts';
import {
  createDatabase,
  createTestTopics,
  deleteTestTopics,
  deviceEvents,
  dropDatabase,
  eventually,
  messageCount,
  readMessages,
  rewindGroup,
  testBrokers,
  uniqueDatabaseUrl,
  uniqueTopicPrefix,
} from '@push/testing';
import { createKafka } from '../kafka';
import { EVENT_BUS_MIGRATIONS } from '../migrations/event-bus-tables';
import { outboxSize } from '../outbox/outbox';
import { EventProducer, RawMessage } from '../producer';
import { ConsumedEvent, Projection } from './projection';
import { ProjectionRunner, ProjectionRunnerOptions } from './projection-runner';
import { DeviceCounts1763856000001, REJECTED_DEVICE, countingProjection } from './fixtures/counting-projection';

jest.setTimeout(60_000);

const brokers = testBrokers();
const silent = pino({ level: 'silent' });
const repoRoot = join(__dirname, '../../../..');
type DeviceTopic = typeof Topics.DeviceEvents;
type Rows = Record<string, { events: number; last_type: string }>;

/** A realistic little stream: devices registering, starting sessions, and now and then changing user. */
function eventStream(devices: number, perDevice: number, idPrefix = ''): SdkDeviceEvent[] {
  const events: SdkDeviceEvent[] = [];
  for (let i = 0; i < perDevice; i++) {
    for (let d = 0; d < devices; d++) {
      const device = { workspace_id: 'ws', app_id: 'app', device_id: `${idPrefix}d${d}` };
      const at = 1_700_000_000_000 + i * 1000;
      if (i === 0) events.push(deviceEvents.tokenRegistered(device, at, `token-${d}`));
      else if (i % 4 === 0) events.push(deviceEvents.changeUser(device, at, `u${d}-${i}`));
      else events.push(deviceEvents.sessionStarted(device, at));
    }
  }
  return events;
}

function expectedRows(events: SdkDeviceEvent[]): Rows {
  const rows: Rows = {};
  for (const e of events) {
    const key = MessageKeys.device(e.data.workspace_id, e.data.app_id, e.data.device_id);
    rows[key] = { events: (rows[key]?.events ?? 0) + 1, last_type: e.type };
  }
  return rows;
}

async function rows(dataSource: DataSource): Promise<Rows> {
  const result: Rows = {};
  for (const r of await dataSource.query('select device_key, events, last_type from device_counts'))
    result[r.device_key] = { events: r.events, last_type: r.last_type };
  return result;
}

async function total(dataSource: DataSource): Promise<number> {
  const [{ sum }] = await dataSource.query('select coalesce(sum(events), 0)::int as sum from device_counts');
  return sum;
}

async function publish(prefix: string, events: SdkDeviceEvent[]): Promise<void> {
  const producer = new EventProducer({ brokers, clientId: 'spec-producer', topicPrefix: prefix });
  await producer.publish(
    Topics.DeviceEvents,
    events.map((event) => ({
      key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
      event,
    })),
  );
  await producer.disconnect();
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const matching =
    metric?.values.filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value)) ?? [];
  return matching.reduce((sum, v) => sum + v.value, 0);
}

/** Runs the crash child until it kills itself; returns the signal it died of. */
async function runChildUntilKilled(
  url: string,
  prefix: string,
  group: string,
  ...mode: string[]
): Promise<NodeJS.Signals | null> {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', join(__dirname, 'fixtures/crash-child.ts'), url, prefix, group, ...mode],
    {
      cwd: repoRoot,
      stdio: 'ignore',
    },
  );
  return new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
}

describe('projection runner (real Kafka, real Postgres)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  async function setup(name: string, partitions = 2) {
    const prefix = uniqueTopicPrefix(name);
    const url = uniqueDatabaseUrl(`bus_${name}`);
    await createTestTopics(prefix, [Topics.DeviceEvents, Topics.UserEvents], partitions);
    await createDatabase(url);
    const dataSource = await new DataSource({
      type: 'postgres',
      url,
      migrations: [...EVENT_BUS_MIGRATIONS, DeviceCounts1763856000001],
      migrationsRun: true,
    }).initialize();
    cleanups.push(
      () => deleteTestTopics(prefix),
      () => dropDatabase(url),
      () => dataSource.destroy(),
    );
    const group = `${name}-${prefix}`;
    function runner(options: Partial<ProjectionRunnerOptions<DeviceTopic>> = {}): ProjectionRunner<DeviceTopic> {
      const r = new ProjectionRunner({
        projection: countingProjection({ groupId: group }),
        brokers,
        dataSource,
        logger: silent,
        metrics: new Registry(),
        topicPrefix: prefix,
        ...options,
      });
      cleanups.push(() => r.stop());
      return r;
    }
    return { prefix, url, dataSource, runner, group, source: prefix + Topics.DeviceEvents };
  }

  it('applies every event once, and the same events fed again after Kafka offsets are reset change nothing', async () => {
    const { prefix, dataSource, runner, group, source } = await setup('redelivery');
    const first = eventStream(20, 10);
    await publish(prefix, first);

    const clean = runner();
    await clean.start();
    await eventually(async () => (await total(dataSource)) === first.length, 20_000, 'all events applied');
    await clean.stop();
    const afterCleanRun = await rows(dataSource);
    expect(afterCleanRun).toEqual(expectedRows(first));

    await rewindGroup(prefix + group, source);
    const again = runner();
    await again.start();
    const more = eventStream(5, 2, 'more-');
    await publish(prefix, more);
    await eventually(
      async () => (await total(dataSource)) === first.length + more.length,
      20_000,
      'new events applied',
    );
    await again.stop();

    expect(await rows(dataSource)).toEqual({ ...afterCleanRun, ...expectedRows(more) });
  });

  it('seeks to the stored offsets on assignment: when Kafka is behind, applied events are not even fetched again', async () => {
    const { prefix, dataSource, runner, group, source } = await setup('seek', 3);
    const events = eventStream(30, 4);
    await publish(prefix, events);
    const first = runner();
    await first.start();
    await eventually(async () => (await total(dataSource)) === events.length, 20_000, 'all events applied');
    await first.stop();
    const stored = await dataSource.query(
      'select partition, next_offset from consumer_offsets where group_id = $1 order by partition',
      [group],
    );

    await rewindGroup(prefix + group, source);
    const seen: string[] = [];
    const counting = countingProjection({ groupId: group });
    const recording: Projection<DeviceTopic> = {
      ...counting,
      apply: (batch, tx) => (seen.push(...batch.map((e) => `${e.partition}:${e.offset}`)), counting.apply(batch, tx)),
    };
    const metrics = new Registry();
    const second = runner({ projection: recording, metrics });
    await second.start();
    await eventually(() => second.isHealthy(), 10_000, 'consumer joined');
    const more = eventStream(3, 1, 'late-');
    await publish(prefix, more);
    await eventually(
      async () => (await total(dataSource)) === events.length + more.length,
      20_000,
      'new events applied',
    );
    await second.stop();

    expect(stored).toHaveLength(3);
    expect(seen).toHaveLength(more.length);
    for (const position of seen) {
      const [partition, offset] = position.split(':').map(Number);
      expect(offset).toBeGreaterThanOrEqual(
        Number(stored.find((s: { partition: number }) => s.partition === partition).next_offset),
      );
    }
    expect(await metricValue(metrics, 'event_bus_events_skipped_total')).toBe(0);
    expect(await rows(dataSource)).toEqual(expectedRows([...events, ...more]));
  });

  it('skips fetched messages below the stored offset: events another replica applied meanwhile are not applied twice', async () => {
    const { prefix, dataSource, runner, group } = await setup('skip', 1);
    const metrics = new Registry();
    const consumer = runner({ metrics });
    await consumer.start();
    await eventually(() => consumer.isHealthy(), 10_000, 'consumer joined');
    const appliedElsewhere = eventStream(5, 4);
    await dataSource.transaction(async (tx) => {
      await countingProjection({ groupId: group }).apply(
        appliedElsewhere.map((event, offset) => ({
          topic: Topics.DeviceEvents,
          partition: 0,
          offset: String(offset),
          key: null,
          timestamp: 0,
          event,
        })),
        tx,
      );
      await tx.query('insert into consumer_offsets (group_id, topic, partition, next_offset) values ($1, $2, 0, $3)', [
        group,
        Topics.DeviceEvents,
        appliedElsewhere.length,
      ]);
    });

    const later = eventStream(5, 1, 'later-');
    await publish(prefix, [...appliedElsewhere, ...later]);
    await eventually(
      async () => (await total(dataSource)) === appliedElsewhere.length + later.length,
      20_000,
      'later events applied',
    );
    await consumer.stop();

    expect(await metricValue(metrics, 'event_bus_events_skipped_total')).toBe(appliedElsewhere.length);
    expect(await rows(dataSource)).toEqual(expectedRows([...appliedElsewhere, ...later]));
  });

  it('ends with the same rows as a clean run after being killed (SIGKILL) in the middle of a transaction', async () => {
    const { prefix, url, dataSource, runner, group } = await setup('crash');
    const events = eventStream(20, 20);
    await publish(prefix, events);

    expect(await runChildUntilKilled(url, prefix, group, 'mid-transaction', '120')).toBe('SIGKILL');
    const partial = await total(dataSource);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(events.length);

    // The killed member's partitions move once its session (6 s, the broker's minimum) expires.
    const restarted = runner({ sessionTimeoutMs: 6000 });
    await restarted.start();
    await eventually(
      async () => (await total(dataSource)) >= events.length,
      30_000,
      'all events applied after restart',
    );
    await restarted.stop();

    expect(await rows(dataSource)).toEqual(expectedRows(events));
  });

  it('sends poison and contract violations to the dead-letter topic with their headers, and applies the valid messages around them', async () => {
    const { dataSource, runner, source } = await setup('poison');
    const device = (id: string) => ({ workspace_id: 'ws', app_id: 'app', device_id: id });
    const key = 'ws:app:same-partition';
    const valid1 = encodeEvent(Topics.DeviceEvents, deviceEvents.sessionStarted(device('before'), 1));
    const valid2 = encodeEvent(Topics.DeviceEvents, deviceEvents.sessionStarted(device('between'), 2));
    const valid3 = encodeEvent(Topics.DeviceEvents, deviceEvents.sessionStarted(device('after'), 3));
    const unknownFingerprint = Buffer.from(valid1);
    unknownFingerprint.writeBigUInt64LE(7n, 2);
    const permissionChanged = SCHEMA_VERSIONS.find((v) => v.record === 'PushPermissionChanged')!.schema;
    const forged = Type.forSchema(
      JSON.parse(JSON.stringify(permissionChanged).replace('"NOT_DETERMINED"]', '"NOT_DETERMINED","BANANA"]')),
    );
    const permission = deviceEvents.pushPermissionChanged(device('x'), 4, 'DENIED');
    const wrongEnumSymbol = Buffer.concat([
      encodeEvent(Topics.DeviceEvents, permission).subarray(0, 10),
      forged.toBuffer({ ...permission.data, push_permission: 'BANANA' }),
    ]);
    const wrongTopic = encodeEvent(Topics.UserEvents, {
      type: 'PushSubscriptionSet',
      data: { event_id: 'e', workspace_id: 'ws', user_id: 'u', occurred_at: 5, state: 'SUBSCRIBED', source: 'SDK' },
    });
    const sent: [Buffer, string | null][] = [
      [valid1, null],
      [Buffer.from('{"not":"avro"}'), 'BAD_MAGIC'],
      [unknownFingerprint, 'UNKNOWN_FINGERPRINT'],
      [valid2, null],
      [valid1.subarray(0, 15), 'TRUNCATED'],
      [wrongEnumSymbol, 'INVALID_BODY'],
      [wrongTopic, 'WRONG_TOPIC'],
      [encodeEvent(Topics.DeviceEvents, deviceEvents.appUninstalled(device(''), 6)), 'CONTRACT_VIOLATION'],
      [encodeEvent(Topics.DeviceEvents, deviceEvents.appUninstalled(device(REJECTED_DEVICE), 7)), 'CONTRACT_VIOLATION'],
      [valid3, null],
    ];
    const producer = new EventProducer({ brokers, clientId: 'spec-poison' });
    const binaryHeader = Buffer.from([0xff, 0x00, 0xc3]);
    await producer.sendRaw(
      sent.map(([value]): RawMessage => ({
        topic: source,
        key,
        value,
        headers: { 'trace-id': 'abc', binary: binaryHeader },
      })),
    );
    await producer.disconnect();

    const metrics = new Registry();
    const consumer = runner({ metrics });
    await consumer.start();
    const poison = sent.map(([value, code], offset) => ({ value, code, offset })).filter((m) => m.code !== null);
    const dead = await readMessages(dlqTopicOf(source), poison.length);
    await eventually(async () => (await total(dataSource)) === 3, 10_000, 'valid messages applied');
    await consumer.stop();

    expect(await rows(dataSource)).toEqual({
      'ws:app:before': { events: 1, last_type: 'SessionStarted' },
      'ws:app:between': { events: 1, last_type: 'SessionStarted' },
      'ws:app:after': { events: 1, last_type: 'SessionStarted' },
    });
    expect(dead.map((m) => m.headers?.['dlq-error-code']?.toString())).toEqual(poison.map((p) => p.code));
    const sourcePartition = dead[0].headers?.['dlq-source-partition']?.toString();
    dead.forEach((m, i) => {
      expect(m.value).toEqual(poison[i].value);
      expect(m.key?.toString()).toBe(key);
      expect(m.headers?.['trace-id']?.toString()).toBe('abc');
      expect(m.headers?.binary).toEqual(binaryHeader);
      expect(m.headers?.['dlq-source-topic']?.toString()).toBe(source);
      expect(m.headers?.['dlq-source-partition']?.toString()).toBe(sourcePartition);
      expect(m.headers?.['dlq-source-offset']?.toString()).toBe(String(poison[i].offset));
      expect(m.headers?.['dlq-error']?.toString().length).toBeGreaterThan(0);
    });
    expect(dead.at(-1)?.headers?.['dlq-error']?.toString()).toMatch(/not registered/);
    expect(
      await metricValue(metrics, 'event_bus_dead_letters_total', {
        topic: Topics.DeviceEvents,
        code: 'CONTRACT_VIOLATION',
      }),
    ).toBe(2);
    expect(
      await metricValue(metrics, 'event_bus_dead_letters_total', { topic: Topics.DeviceEvents, code: 'BAD_MAGIC' }),
    ).toBe(1);
    expect(await metricValue(metrics, 'event_bus_dead_letters_total')).toBe(poison.length);
  });

  it('retries a batch that fails with a non-contract error, dead-letters nothing and commits nothing until it succeeds', async () => {
    const { prefix, dataSource, runner, group, source } = await setup('db-error', 1);
    const events = eventStream(3, 2);
    await publish(prefix, events);
    let failuresLeft = 3;
    const counting = countingProjection({ groupId: group });
    const flaky: Projection<DeviceTopic> = {
      ...counting,
      async apply(batch, tx) {
        await counting.apply(batch, tx);
        if (failuresLeft-- > 0) throw new Error('connection to the database lost');
      },
    };
    const metrics = new Registry();
    const consumer = runner({ projection: flaky, metrics, retry: { initialMs: 300, maxMs: 300 } });
    await consumer.start();

    await eventually(
      async () => (await metricValue(metrics, 'event_bus_batch_failures_total')) >= 1,
      10_000,
      'a failed batch',
    );
    expect(consumer.isHealthy()).toBe(false);
    expect(await total(dataSource)).toBe(0);
    expect(await dataSource.query('select * from consumer_offsets')).toEqual([]);
    await eventually(
      async () => (await total(dataSource)) === events.length,
      20_000,
      'events applied after the retries',
    );
    await consumer.stop();

    expect(await metricValue(metrics, 'event_bus_batch_failures_total')).toBe(3);
    expect(await rows(dataSource)).toEqual(expectedRows(events));
    expect(await messageCount(dlqTopicOf(source))).toBe(0);
  });

  it.each([
    ['before-send', 'exactly once'],
    ['after-send', 'again, with the same event_ids'],
  ])('publishes outbox events after a crash %s of the Kafka send: %s', async (moment) => {
    const { prefix, url, dataSource, runner, group } = await setup(`outbox-${moment}`, 1);
    const events = eventStream(4, 5);
    const expectedIds = events.filter((e) => e.type === 'ChangeUser').map((e) => `sub-${e.data.event_id}`);
    await publish(prefix, events);

    expect(await runChildUntilKilled(url, prefix, group, moment)).toBe('SIGKILL');
    const waiting = await outboxSize(dataSource);
    expect(waiting).toBeGreaterThan(0);

    const restarted = runner({ sessionTimeoutMs: 6000 });
    await restarted.start();
    await eventually(async () => (await total(dataSource)) === events.length, 30_000, 'all events applied');
    await eventually(async () => (await outboxSize(dataSource)) === 0, 10_000, 'outbox drained');
    await restarted.stop();

    const published = prefix + Topics.UserEvents;
    const count = await messageCount(published);
    const ids = (await readMessages(published, count)).map(
      (m) => decodeEvent(Topics.UserEvents, m.value as Buffer).data.event_id,
    );
    expect(new Set(ids)).toEqual(new Set(expectedIds));
    if (moment === 'before-send') expect(ids).toHaveLength(expectedIds.length);
    else expect(ids.length).toBeGreaterThan(expectedIds.length);
  });

  it('publishes the outputs of a committed batch at once even when the Kafka offset commit after it fails (no restart needed)', async () => {
    const { prefix, dataSource, runner, group } = await setup('commit-fails', 1);
    const events = eventStream(3, 5);
    const expectedIds = events.filter((e) => e.type === 'ChangeUser').map((e) => `sub-${e.data.event_id}`);
    const consumer = runner();
    // Kafka answers the offset commit with REBALANCE_IN_PROGRESS, as it does during a rebalance.
    const internals = consumer as unknown as { onBatch: (payload: EachBatchPayload) => Promise<void> };
    const onBatch = internals.onBatch.bind(consumer);
    internals.onBatch = (payload) =>
      onBatch({
        ...payload,
        commitOffsetsIfNecessary: () =>
          Promise.reject(Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' })),
      });
    await consumer.start();
    await publish(prefix, events);
    await eventually(async () => (await total(dataSource)) === events.length, 20_000, 'all events applied');
    const published = prefix + Topics.UserEvents;
    await eventually(
      async () => (await messageCount(published)) === expectedIds.length,
      10_000,
      'outputs published while running',
    );
    await consumer.stop();

    const ids = (await readMessages(published, expectedIds.length)).map(
      (m) => decodeEvent(Topics.UserEvents, m.value as Buffer).data.event_id,
    );
    expect(ids).toEqual(expectedIds);
    expect(await outboxSize(dataSource)).toBe(0);
    expect(
      await dataSource.query('select count(*)::int as n from consumer_offsets where group_id = $1', [group]),
    ).toEqual([{ n: 1 }]);
  });

  it('restarts a consumer kafkajs gave up on (a non-retriable error), reporting it as crashed meanwhile', async () => {
    const { prefix, dataSource, runner } = await setup('crash-restart', 1);
    const consumer = runner();
    const internals = consumer as unknown as { onBatch: (payload: EachBatchPayload) => Promise<void> };
    const onBatch = internals.onBatch.bind(consumer);
    let crashes = 1;
    internals.onBatch = async (payload) => {
      // What kafkajs raises for, say, a topic the client may no longer read: it stops the consumer for good.
      if (crashes-- > 0) throw new KafkaJSNonRetriableError('not authorised to read the topic');
      return onBatch(payload);
    };
    const states = new Set<string>();
    const watch = setInterval(() => states.add(consumer.health().details.state), 20);
    await consumer.start();
    const events = eventStream(4, 2);
    await publish(prefix, events);
    await eventually(
      async () => (await total(dataSource)) === events.length,
      30_000,
      'events applied after the restart',
    );
    await eventually(() => consumer.isHealthy(), 10_000, 'healthy again');
    clearInterval(watch);
    expect(states).toContain('crashed');
    expect(consumer.health().details).toMatchObject({
      state: 'consuming',
      lastCrash: 'not authorised to read the topic',
      restartsAfterCrash: 1,
    });
    await consumer.stop();
    expect(await rows(dataSource)).toEqual(expectedRows(events));
  });

  it('passes the gaps a transactional producer leaves (commit markers, aborted records) and applies only committed records', async () => {
    const { dataSource, runner, source } = await setup('transactional', 1);
    const kafka = createKafka('spec-transactional', brokers);
    const producer = kafka.producer({ transactionalId: `spec-${source}`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const device = (id: string) => ({ workspace_id: 'ws', app_id: 'app', device_id: id });
    const message = (id: string, at: number) => ({
      key: 'ws:app:tx',
      value: encodeEvent(Topics.DeviceEvents, deviceEvents.sessionStarted(device(id), at)),
    });
    const consumer = runner();
    await consumer.start();
    // Each round starts where the last commit marker stands: the next batch begins past the stored offset.
    const committed: string[] = [];
    for (let round = 0; round < 3; round++) {
      const aborted = await producer.transaction();
      await aborted.send({ topic: source, messages: [message(`aborted-${round}`, round)] });
      await aborted.abort();
      const kept = await producer.transaction();
      await kept.send({
        topic: source,
        messages: [message(`kept-${round}-a`, round), message(`kept-${round}-b`, round)],
      });
      await kept.commit();
      committed.push(`ws:app:kept-${round}-a`, `ws:app:kept-${round}-b`);
      await eventually(async () => (await total(dataSource)) === committed.length, 20_000, `round ${round} applied`);
    }
    await producer.disconnect();
    const logEnd = await messageCount(source);
    await consumer.stop();

    expect(Object.keys(await rows(dataSource)).sort()).toEqual(committed.sort());
    // Stored: one past the last committed record; only the final commit marker lies beyond it.
    const [{ next_offset }] = await dataSource.query('select next_offset from consumer_offsets');
    expect(Number(next_offset)).toBe(logEnd - 1);
  });

  it('isolates a message whose data fails the store every time (a Postgres data exception) and dead-letters it; its neighbours apply', async () => {
    const { prefix, dataSource, runner, group, source } = await setup('unstorable', 1);
    const counting = countingProjection({ groupId: group });
    const storing: Projection<DeviceTopic> = {
      ...counting,
      async apply(batch, tx) {
        // A column the value does not fit: smallint overflow, SQLSTATE 22003, like an out-of-range date or a NUL.
        for (const { event } of batch)
          if (event.data.device_id.startsWith('huge')) await tx.query('select $1::smallint', [70_000]);
        return counting.apply(batch, tx);
      },
    };
    const events = [
      ...eventStream(6, 2, 'a-'),
      deviceEvents.sessionStarted({ workspace_id: 'ws', app_id: 'app', device_id: 'huge' }, 1),
      ...eventStream(6, 2, 'b-'),
    ];
    await publish(prefix, events);
    const metrics = new Registry();
    const consumer = runner({ projection: storing, metrics, retry: { initialMs: 10, maxMs: 10 } });
    await consumer.start();
    const [dead] = await readMessages(dlqTopicOf(source), 1);
    await eventually(async () => (await total(dataSource)) === events.length - 1, 20_000, 'neighbours applied');
    await consumer.stop();

    expect(dead.headers?.['dlq-error-code']?.toString()).toBe('UNPROCESSABLE');
    expect(dead.headers?.['dlq-error']?.toString()).toMatch(/out of range/);
    expect(dead.key?.toString()).toBe('ws:app:huge');
    expect(await rows(dataSource)).toEqual(expectedRows(events.filter((e) => e.data.device_id !== 'huge')));
    expect(await metricValue(metrics, 'event_bus_dead_letters_total', { code: 'UNPROCESSABLE' })).toBe(1);
  });

  it('blames a message for an unexplained error only when it repeats, and never when every message fails', async () => {
    const { prefix, dataSource, runner, group, source } = await setup('unexplained', 1);
    const counting = countingProjection({ groupId: group });
    let brokenForAll = false;
    const buggy: Projection<DeviceTopic> = {
      ...counting,
      async apply(batch, tx) {
        for (const { event } of batch)
          if (brokenForAll || event.data.device_id === 'cursed')
            throw new Error(`no state for ${brokenForAll ? 'any device' : 'cursed'}`);
        return counting.apply(batch, tx);
      },
    };
    const events = [
      ...eventStream(4, 1, 'a-'),
      deviceEvents.sessionStarted({ workspace_id: 'ws', app_id: 'app', device_id: 'cursed' }, 1),
      ...eventStream(4, 1, 'b-'),
    ];
    await publish(prefix, events);
    const metrics = new Registry();
    const consumer = runner({ projection: buggy, metrics, retry: { initialMs: 10, maxMs: 10 } });
    await consumer.start();
    const [dead] = await readMessages(dlqTopicOf(source), 1);
    await eventually(async () => (await total(dataSource)) === events.length - 1, 20_000, 'neighbours applied');
    expect(dead.headers?.['dlq-error']?.toString()).toMatch(/no state for cursed/);
    expect(await metricValue(metrics, 'event_bus_batch_failures_total')).toBeGreaterThanOrEqual(2);

    // A bug that fails every message is the system's fault: a few are dead-lettered, then the partition waits.
    brokenForAll = true;
    await publish(prefix, eventStream(30, 1, 'c-'));
    await eventually(() => !consumer.isHealthy(), 20_000, 'reported as failing');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await consumer.stop();
    const deadLetters = await metricValue(metrics, 'event_bus_dead_letters_total');
    expect(deadLetters).toBeLessThanOrEqual(1 + 10);
    expect(await total(dataSource)).toBe(events.length - 1);
  });

  it('sends valid Avro that no store can hold (a NUL in an id, a timestamp before 1970) to the dead-letter topic', async () => {
    const { prefix, dataSource, runner, source } = await setup('storable', 1);
    const device = (id: string) => ({ workspace_id: 'ws', app_id: 'app', device_id: id });
    const events = [
      deviceEvents.sessionStarted(device('ok-1'), 1),
      deviceEvents.sessionStarted(device('nul\u0000'), 2),
      deviceEvents.sessionStarted(device('before-1970'), -5),
      deviceEvents.sessionStarted(device('ok-2'), 3),
    ];
    await publish(prefix, events);
    const consumer = runner();
    await consumer.start();
    const dead = await readMessages(dlqTopicOf(source), 2);
    await eventually(async () => (await total(dataSource)) === 2, 20_000, 'valid events applied');
    await consumer.stop();

    expect(dead.map((m) => m.headers?.['dlq-error-code']?.toString())).toEqual([
      'CONTRACT_VIOLATION',
      'CONTRACT_VIOLATION',
    ]);
    expect(dead[0].headers?.['dlq-error']?.toString()).toMatch(/device_id contains a NUL character/);
    expect(dead[1].headers?.['dlq-error']?.toString()).toMatch(/occurred_at is -5/);
    expect(Object.keys(await rows(dataSource)).sort()).toEqual(['ws:app:ok-1', 'ws:app:ok-2']);
  });

  it("serialises two members applying a partition's first batch: one still retrying after revocation, one its new owner", async () => {
    const { prefix, dataSource, runner, group } = await setup('first-batch', 1);
    const events = eventStream(5, 2);
    await publish(prefix, events);
    const fetched = await readMessages(prefix + Topics.DeviceEvents, events.length);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const counting = countingProjection({ groupId: group });
    const slow: Projection<DeviceTopic> = {
      ...counting,
      apply: async (batch, tx) => (entered(), await released, counting.apply(batch, tx)),
    };
    type Internals = {
      applyInTransaction(
        topic: DeviceTopic,
        partition: number,
        messages: KafkaMessage[],
        rejected: Map<string, unknown>,
      ): Promise<unknown>;
    };
    const revoked = runner({ projection: slow }) as unknown as Internals;
    const owner = runner() as unknown as Internals;

    const first = revoked.applyInTransaction(Topics.DeviceEvents, 0, fetched, new Map());
    await inside;
    const second = owner.applyInTransaction(Topics.DeviceEvents, 0, fetched, new Map());
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    const outcomes = await Promise.all([first, second]);

    expect(outcomes).toEqual([
      { applied: events.length, skipped: 0, deadLetters: [], nextOffset: String(events.length) },
      { applied: 0, skipped: events.length, deadLetters: [], nextOffset: String(events.length) },
    ]);
    expect(await rows(dataSource)).toEqual(expectedRows(events));
  });

  it('reads a message written with an older schema version through the runner, into the current version', async () => {
    const { runner, group, source } = await setup('schema-evolution', 1);
    // The published schemas plus a TokenRegistered v2 (adds sdk_version): messages encoded today are the old version.
    const v2 = loadSchemaVersions(join(repoRoot, 'libs/contracts/src/fixtures/compatible'));
    const schemas = new SchemaRegistry([...SCHEMA_VERSIONS, ...v2]);
    const device = { workspace_id: 'ws', app_id: 'app', device_id: 'old-sdk' };
    const written = deviceEvents.tokenRegistered(device, 1, 'token-1', { user_id: 'u1' });
    const newer = deviceEvents.tokenRegistered({ ...device, device_id: 'new-sdk' }, 2, 'token-2');
    const producer = new EventProducer({ brokers, clientId: 'spec-versions' });
    await producer.sendRaw([
      { topic: source, key: 'ws:app:old-sdk', value: encodeEvent(Topics.DeviceEvents, written) },
      {
        topic: source,
        key: 'ws:app:new-sdk',
        value: schemas.encode(Topics.DeviceEvents, {
          type: 'TokenRegistered',
          data: { ...newer.data, sdk_version: '5.1.0' },
        } as never),
      },
    ]);
    await producer.disconnect();
    const received: ConsumedEvent<DeviceTopic>[] = [];
    const counting = countingProjection({ groupId: group });
    const consumer = runner({
      projection: { ...counting, apply: (batch, tx) => (received.push(...batch), counting.apply(batch, tx)) },
      schemas,
    });
    await consumer.start();
    await eventually(() => received.length === 2, 10_000, 'both versions applied');
    await consumer.stop();

    expect(received.map((e) => e.event)).toEqual([
      { type: 'TokenRegistered', data: { ...written.data, sdk_version: null } },
      { type: 'TokenRegistered', data: { ...newer.data, sdk_version: '5.1.0' } },
    ]);
    expect(received[0]).toMatchObject({ topic: Topics.DeviceEvents, partition: 0, offset: '0', key: 'ws:app:old-sdk' });
    expect(received[0].timestamp).toBeGreaterThan(Date.now() - 60_000);
  });
});
