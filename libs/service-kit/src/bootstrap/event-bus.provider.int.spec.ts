import { INestApplication, Module } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { MessageKeys, Topics } from '@push/contracts';
import { ConsumedEvent, EVENT_BUS_MIGRATIONS, EventProducer, createKafka } from '@push/event-bus';
import {
  LogCapture,
  createTestTopics,
  deleteTestTopics,
  deviceEvents,
  dropDatabase,
  eventually,
  testBrokers,
  uniqueDatabaseUrl,
  uniqueTopicPrefix,
} from '@push/testing';
import { loadConfig } from '../config/load-config';
import { openDatabase } from '../database/database';
import { ProjectionController, ProjectionHandler } from '../projection/projection.decorators';
import { createServiceApp } from './run-service';

const seen: string[] = [];
const GROUP = `kit-spec-${Date.now()}`;

@ProjectionController(GROUP)
class SeenDevicesProjection {
  @ProjectionHandler(Topics.DeviceEvents)
  async apply(events: ConsumedEvent<typeof Topics.DeviceEvents>[]): Promise<void> {
    for (const { event } of events) seen.push(event.data.device_id);
  }
}

@Module({ controllers: [SeenDevicesProjection] })
class SeenDevicesModule {}

describe('ServiceEventBus', () => {
  const prefix = uniqueTopicPrefix('kit');
  const url = uniqueDatabaseUrl('kit_bus_spec');
  let dataSource: DataSource;
  let app: INestApplication;
  let closed = false;

  beforeAll(async () => {
    await createTestTopics(prefix, [Topics.DeviceEvents], 2);
    // A long session timeout: a member that did not leave on stop would stay in the group for 60 s.
    const config = loadConfig('token-registry', undefined, {
      DATABASE_URL: url,
      KAFKA_TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      CONSUMER_SESSION_TIMEOUT_MS: '60000',
    });
    dataSource = await openDatabase({ url, migrations: EVENT_BUS_MIGRATIONS });
    app = await createServiceApp(
      { name: 'token-registry', description: 'spec', imports: [SeenDevicesModule] },
      config,
      dataSource,
      new LogCapture(),
    );
    await app.init();
  });

  afterAll(async () => {
    if (!closed) await app.close();
    await deleteTestTopics(prefix);
    await dropDatabase(url);
  });

  it('runs the projections Nest built from the service’s modules, reports them on /health, and stops them with the app', async () => {
    const producer = new EventProducer({ brokers: testBrokers(), clientId: 'kit-spec', topicPrefix: prefix });
    const events = ['d1', 'd2', 'd3'].map((id) =>
      deviceEvents.appUninstalled({ workspace_id: 'ws', app_id: 'app', device_id: id }, 1),
    );
    await producer.publish(
      Topics.DeviceEvents,
      events.map((event) => ({ key: MessageKeys.device('ws', 'app', event.data.device_id), event })),
    );
    await producer.disconnect();

    await eventually(() => seen.length === 3, 20_000, 'events projected');
    const health = await request(app.getHttpServer()).get('/health');

    expect(seen.sort()).toEqual(['d1', 'd2', 'd3']);
    expect(health.status).toBe(200);
    expect(health.body.details[`kafka:${GROUP}`]).toMatchObject({
      status: 'up',
      state: 'consuming',
      failingBatches: 0,
    });
    const [{ next }] = await dataSource.query(
      'select sum(next_offset)::int as next from consumer_offsets where group_id = $1',
      [GROUP],
    );
    expect(next).toBe(3);
  });

  it('leaves its consumer group at once when the app closes (SIGTERM), before the database closes', async () => {
    const admin = createKafka('kit-spec-admin', testBrokers()).admin();
    await admin.connect();
    try {
      const before = await admin.describeGroups([prefix + GROUP]);
      await app.close();
      closed = true;
      const after = await admin.describeGroups([prefix + GROUP]);

      expect(before.groups[0]).toMatchObject({ state: 'Stable', members: [expect.anything()] });
      expect(after.groups[0]).toMatchObject({ state: 'Empty', members: [] });
      expect(dataSource.isInitialized).toBe(false);
    } finally {
      await admin.disconnect();
    }
  });
});
