import pino from 'pino';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { MessageKeys, SdkDeviceEvent, Topics } from '@push/contracts';
import {
  createDatabase,
  deviceEvents,
  dropDatabase,
  eventually,
  startScratchBroker,
  testBrokers,
  uniqueDatabaseUrl,
  uniqueTopicPrefix,
} from '@push/testing';
import { createKafka } from '../kafka';
import { acceptLogFromStart } from '../admin/stored-offsets';
import { provisionTopics } from '../admin/provision-topics';
import { EVENT_BUS_MIGRATIONS } from '../migrations/event-bus-tables';
import { EventProducer } from '../producer';
import { ProjectionRunner } from './projection-runner';
import { DeviceCounts1763856000001, countingProjection } from './fixtures/counting-projection';

jest.setTimeout(180_000);

const silent = pino({ level: 'silent' });

function sessions(devices: number, idPrefix: string): SdkDeviceEvent[] {
  return Array.from({ length: devices }, (_, d) =>
    deviceEvents.sessionStarted(
      { workspace_id: 'ws', app_id: 'app', device_id: `${idPrefix}${d}` },
      1_700_000_000_000 + d,
    ),
  );
}

async function publish(brokers: string[], prefix: string, events: SdkDeviceEvent[]): Promise<void> {
  const producer = new EventProducer({ brokers, clientId: 'spec-log-identity', topicPrefix: prefix });
  await producer.publish(
    Topics.DeviceEvents,
    events.map((event) => ({
      key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
      event,
    })),
  );
  await producer.disconnect();
}

async function counts(dataSource: DataSource): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const r of await dataSource.query('select device_key, events from device_counts'))
    result[r.device_key] = r.events;
  return result;
}

const once = (events: SdkDeviceEvent[]) =>
  Object.fromEntries(events.map((e) => [MessageKeys.device(e.data.workspace_id, e.data.app_id, e.data.device_id), 1]));

describe('a log the read model was not built from (real Kafka, real Postgres)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
  });

  async function database(name: string) {
    const url = uniqueDatabaseUrl(`bus_${name}`);
    await createDatabase(url);
    const dataSource = await new DataSource({
      type: 'postgres',
      url,
      migrations: [...EVENT_BUS_MIGRATIONS, DeviceCounts1763856000001],
      migrationsRun: true,
    }).initialize();
    cleanups.push(
      () => dropDatabase(url),
      () => dataSource.destroy(),
    );
    return dataSource;
  }

  function runner(brokers: string[], dataSource: DataSource, prefix: string, group: string, metrics = new Registry()) {
    const r = new ProjectionRunner({
      projection: countingProjection({ groupId: group }),
      brokers,
      dataSource,
      logger: silent,
      metrics,
      topicPrefix: prefix,
      sessionTimeoutMs: 6000,
    });
    cleanups.push(() => r.stop());
    return r;
  }

  it('refuses a reset broker whose new log has grown past the stored offsets, applies nothing, and after the operator accepts the new log applies every event of it once', async () => {
    const prefix = uniqueTopicPrefix('replaced');
    const group = `replaced-${prefix}`;
    const topics = [Topics.DeviceEvents, Topics.UserEvents].map((t) => prefix + t);
    const dataSource = await database('replaced');

    const old = testBrokers();
    await provisionTopics({ brokers: old, partitions: 2, topics });
    cleanups.push(async () => {
      const admin = createKafka('spec-cleanup', old).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: topics.flatMap((t) => [t, `${t}.dlq`]) }).catch(() => undefined);
      await admin.disconnect();
    });
    const before = sessions(10, 'old-');
    await publish(old, prefix, before);
    const first = runner(old, dataSource, prefix, group);
    await first.start();
    await eventually(
      async () => Object.keys(await counts(dataSource)).length === before.length,
      30_000,
      'old log applied',
    );
    await first.stop();
    const builtFromOldLog = await counts(dataSource);

    // The same cluster id, the same topic names, a longer log: only the messages tell it is another log.
    const fresh = await startScratchBroker({ port: 19192, controllerPort: 19193 });
    cleanups.push(() => fresh.stop());
    await provisionTopics({ brokers: fresh.brokers, partitions: 2, topics });
    const after = sessions(30, 'new-');
    await publish(fresh.brokers, prefix, after);

    const metrics = new Registry();
    const second = runner(fresh.brokers, dataSource, prefix, group, metrics);
    await second.start();
    await eventually(
      () => (second.health().details.refusedPartitions?.length ?? 0) === 2,
      30_000,
      'both partitions refused',
    );
    const health = second.health();
    expect(health.up).toBe(false);
    expect(health.details.state).toBe('refusing');
    for (const refused of health.details.refusedPartitions ?? []) {
      expect(refused).toMatchObject({ topic: prefix + Topics.DeviceEvents, reason: 'LAST_APPLIED_MESSAGE_DIFFERS' });
      expect(Number(refused.storedOffset)).toBeGreaterThan(0);
    }
    const gauge = await metrics.getSingleMetric('event_bus_partitions_refused')?.get();
    expect(gauge?.values.filter((v) => v.value === 1)).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await counts(dataSource)).toEqual(builtFromOldLog);

    // The operator accepts the new log from its start; the running service notices within seconds.
    expect(await acceptLogFromStart(dataSource, group)).toBe(2);
    await eventually(
      async () => Object.keys(await counts(dataSource)).length === before.length + after.length,
      30_000,
      'new log applied',
    );
    await eventually(() => second.isHealthy(), 10_000, 'healthy again');
    await second.stop();
    expect(await counts(dataSource)).toEqual({ ...builtFromOldLog, ...once(after) });
  });

  it('refuses a log whose start moved past the stored offsets (deleted records), and a rebuilt read model applies what the log still holds once', async () => {
    const prefix = uniqueTopicPrefix('deleted');
    const group = `deleted-${prefix}`;
    const brokers = testBrokers();
    const topics = [Topics.DeviceEvents, Topics.UserEvents].map((t) => prefix + t);
    await provisionTopics({ brokers, partitions: 1, topics });
    const admin = createKafka('spec-delete-records', brokers).admin();
    await admin.connect();
    cleanups.push(async () => {
      await admin.deleteTopics({ topics: topics.flatMap((t) => [t, `${t}.dlq`]) }).catch(() => undefined);
      await admin.disconnect();
    });
    const dataSource = await database('deleted');
    const applied = sessions(5, 'applied-');
    await publish(brokers, prefix, applied);
    const first = runner(brokers, dataSource, prefix, group);
    await first.start();
    await eventually(
      async () => Object.keys(await counts(dataSource)).length === applied.length,
      30_000,
      'first events applied',
    );
    await first.stop();

    await publish(brokers, prefix, sessions(4, 'never-applied-'));
    const [{ high }] = await admin.fetchTopicOffsets(prefix + Topics.DeviceEvents);
    await admin.deleteTopicRecords({
      topic: prefix + Topics.DeviceEvents,
      partitions: [{ partition: 0, offset: high }],
    });
    const kept = sessions(3, 'kept-');
    await publish(brokers, prefix, kept);

    const second = runner(brokers, dataSource, prefix, group);
    await second.start();
    await eventually(() => (second.health().details.refusedPartitions?.length ?? 0) === 1, 30_000, 'partition refused');
    expect(second.health().details.refusedPartitions?.[0]).toMatchObject({
      reason: 'STORED_OFFSET_BEFORE_LOG_START',
      storedOffset: String(applied.length),
      logStartOffset: high,
    });
    await second.stop();
    expect(await counts(dataSource)).toEqual(once(applied));

    // Rebuild: a fresh read model, built from what the log holds now.
    const rebuilt = await database('deleted_rebuilt');
    const third = runner(brokers, rebuilt, prefix, group);
    await third.start();
    await eventually(
      async () => Object.keys(await counts(rebuilt)).length === kept.length,
      30_000,
      'log applied to the rebuilt read model',
    );
    await eventually(() => third.isHealthy(), 10_000, 'healthy');
    await third.stop();
    expect(await counts(rebuilt)).toEqual(once(kept));
  });
});
