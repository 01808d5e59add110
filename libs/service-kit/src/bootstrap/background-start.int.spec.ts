import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Consumer } from 'kafkajs';
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
import { Public } from '../auth/api-key.guard';
import { loadConfig } from '../config/load-config';
import { openDatabase } from '../database/database';
import { ProjectionController, ProjectionHandler } from '../projection/projection.decorators';
import { createServiceApp } from './run-service';

jest.setTimeout(90_000);

const run = randomUUID().slice(0, 8);
const FREE_GROUP = `kit-start-free-${run}`;
const BLOCKED_GROUP = `kit-start-blocked-${run}`;
/** The blocker's session: how long the blocked group's join waits for it after it stops heartbeating. */
const BLOCKER_SESSION_MS = 12_000;
const seen: Record<string, string[]> = { [FREE_GROUP]: [], [BLOCKED_GROUP]: [] };

@Controller('reads')
class ReadsController {
  @Get()
  @Public()
  read() {
    return { answered: true };
  }
}

@ProjectionController(FREE_GROUP)
class FreeGroupProjection {
  @ProjectionHandler(Topics.DeviceEvents)
  async apply(events: ConsumedEvent<typeof Topics.DeviceEvents>[]): Promise<void> {
    for (const { event } of events) seen[FREE_GROUP].push(event.data.device_id);
  }
}

@ProjectionController(BLOCKED_GROUP)
class BlockedGroupProjection {
  @ProjectionHandler(Topics.DeviceEvents)
  async apply(events: ConsumedEvent<typeof Topics.DeviceEvents>[]): Promise<void> {
    for (const { event } of events) seen[BLOCKED_GROUP].push(event.data.device_id);
  }
}

@Module({ controllers: [ReadsController, FreeGroupProjection, BlockedGroupProjection] })
class TwoProjectionsModule {}

/**
 * Restart availability: the application answers reads and /health at once, whatever its consumers do. One runner's
 * group cannot be joined for a while — a member that crashed mid-batch (it stopped heartbeating without leaving) still
 * holds it until its session times out, exactly what a SIGKILLed replica leaves behind.
 */
describe('a service whose consumer cannot join its group yet', () => {
  const prefix = uniqueTopicPrefix('kit-start');
  const url = uniqueDatabaseUrl('kit_start_spec');
  const logs = new LogCapture();
  let dataSource: DataSource;
  let app: INestApplication | undefined;
  let blocker: Consumer;
  let releaseBlocker!: () => void;

  beforeAll(async () => {
    await createTestTopics(prefix, [Topics.DeviceEvents], 1);
    const producer = new EventProducer({ brokers: testBrokers(), clientId: 'kit-start-spec', topicPrefix: prefix });
    const event = deviceEvents.appUninstalled({ workspace_id: 'ws', app_id: 'app', device_id: 'd1' }, 1);
    await producer.publish(Topics.DeviceEvents, [{ key: MessageKeys.device('ws', 'app', 'd1'), event }]);
    await producer.disconnect();

    // The "crashed" member: joined, got the partition, and hangs in its batch without heartbeating.
    // (the runner's Kafka group is the projection's group id behind the topic prefix)
    blocker = createKafka('kit-start-blocker', testBrokers()).consumer({
      groupId: prefix + BLOCKED_GROUP,
      sessionTimeout: BLOCKER_SESSION_MS,
      rebalanceTimeout: BLOCKER_SESSION_MS,
      heartbeatInterval: 1000,
    });
    const hung = new Promise<void>((resolve) => (releaseBlocker = resolve));
    let inBatch!: () => void;
    const blocked = new Promise<void>((resolve) => (inBatch = resolve));
    await blocker.connect();
    await blocker.subscribe({ topic: prefix + Topics.DeviceEvents, fromBeginning: true });
    await blocker.run({
      eachBatch: async () => {
        inBatch();
        await hung;
      },
    });
    await blocked;

    dataSource = await openDatabase({ url, migrations: EVENT_BUS_MIGRATIONS });
  });

  afterAll(async () => {
    releaseBlocker();
    await app?.close();
    await blocker.disconnect().catch(() => undefined);
    await deleteTestTopics(prefix);
    await dropDatabase(url);
  });

  it('answers reads and /health (503, consumer joining) within seconds, and is healthy once the group lets it in', async () => {
    const config = loadConfig('token-registry', undefined, {
      DATABASE_URL: url,
      KAFKA_TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'info',
    });
    const started = performance.now();
    app = await createServiceApp(
      { name: 'token-registry', description: 'spec', imports: [TwoProjectionsModule] },
      config,
      dataSource,
      logs,
    );
    await app.init();
    const read = await request(app.getHttpServer()).get('/reads');
    const early = await request(app.getHttpServer()).get('/health');
    const answeredWithinMs = performance.now() - started;

    expect(answeredWithinMs).toBeLessThan(5000);
    expect(read.status).toBe(200);
    expect(early.status).toBe(503);
    expect(early.body.details.database).toEqual({ status: 'up' });
    expect(early.body.details[`kafka:${BLOCKED_GROUP}`]).toMatchObject({
      status: 'down',
      state: expect.stringMatching(/^(starting|joining)$/),
      startAttempts: 1,
    });

    // The free group's runner consumes while the other still waits for the blocker's session to time out.
    await eventually(() => seen[FREE_GROUP].length === 1, 20_000, 'the free group consuming');
    const meanwhile = await request(app.getHttpServer()).get('/health');
    expect(meanwhile.status).toBe(503);
    expect(meanwhile.body.details[`kafka:${FREE_GROUP}`]).toMatchObject({ status: 'up', state: 'consuming' });
    expect(meanwhile.body.details[`kafka:${BLOCKED_GROUP}`]).toMatchObject({ status: 'down', state: 'joining' });
    expect(seen[BLOCKED_GROUP]).toEqual([]);

    await eventually(
      async () => (await request(app!.getHttpServer()).get('/health')).status === 200,
      BLOCKER_SESSION_MS + 20_000,
      '/health 200',
    );
    await eventually(() => seen[BLOCKED_GROUP].length === 1, 10_000, 'the blocked group consuming');
    const healthy = await request(app.getHttpServer()).get('/health');
    expect(healthy.body.details[`kafka:${BLOCKED_GROUP}`]).toMatchObject({
      status: 'up',
      state: 'consuming',
      failingBatches: 0,
    });
    expect(logs.text()).toMatch(new RegExp(`"group":"${BLOCKED_GROUP}".*"msg":"projection started"`));
  });
});
