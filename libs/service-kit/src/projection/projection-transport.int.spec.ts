import { INestApplication, Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AssignerProtocol, Consumer, KafkaMessage } from 'kafkajs';
import request from 'supertest';
import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { MessageKeys, SdkDeviceEvent, SdkUserEvent, Topics, decodeEvent, dlqTopicOf } from '@push/contracts';
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
import { createServiceApp } from '../bootstrap/run-service';
import { loadConfig } from '../config/load-config';
import { openDatabase } from '../database/database';
import { DeviceCounts1764300000000, DeviceCountsModule, REFUSED_DEVICE } from './example/device-counts.service';
import { ProjectionContext, ProjectionController, ProjectionHandler } from './projection.decorators';

jest.setTimeout(60_000);

const EXAMPLE_GROUP = 'example.device-counts';
const TWO_TOPICS_GROUP = 'kit-transport-spec.two-topics';
const STORING_GROUP = 'kit-transport-spec.storing';

class SpecTables1764300000001 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('create table two_topics_applied (topic text not null, id text not null)');
    await queryRunner.query('create table stored_devices (device_id text not null)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('drop table two_topics_applied');
    await queryRunner.query('drop table stored_devices');
  }
}

/** One group, two topics: a handler per topic, each recording what it applied in the batch's transaction. */
@ProjectionController(TWO_TOPICS_GROUP)
class TwoTopicsProjection {
  @ProjectionHandler(Topics.DeviceEvents)
  async devices(events: ConsumedEvent<typeof Topics.DeviceEvents>[], { tx }: ProjectionContext): Promise<void> {
    for (const { topic, event } of events)
      await tx.query('insert into two_topics_applied (topic, id) values ($1, $2)', [topic, event.data.device_id]);
  }

  @ProjectionHandler(Topics.UserEvents)
  async users(events: ConsumedEvent<typeof Topics.UserEvents>[], { tx }: ProjectionContext): Promise<void> {
    for (const { topic, event } of events)
      await tx.query('insert into two_topics_applied (topic, id) values ($1, $2)', [topic, event.data.user_id]);
  }
}

/** Stores device ids; a device named `huge…` makes Postgres fail with a data exception (22003: smallint overflow). */
@ProjectionController(STORING_GROUP)
class StoringProjection {
  @ProjectionHandler(Topics.DeviceEvents)
  async store(events: ConsumedEvent<typeof Topics.DeviceEvents>[], { tx }: ProjectionContext): Promise<void> {
    for (const { event } of events) {
      if (event.data.device_id.startsWith('huge')) await tx.query('select $1::smallint', [70_000]);
      await tx.query('insert into stored_devices (device_id) values ($1)', [event.data.device_id]);
    }
  }
}

@Module({ imports: [DeviceCountsModule], controllers: [TwoTopicsProjection, StoringProjection] })
class SpecModule {}

/**
 * Projections declared with the kit's decorators, built by Nest, run by the exactly-once runner through the
 * microservice transport: the example service's projection (an injected dependency, a validator, outputs, a
 * `RejectedEventError`), a group of two topics, and a handler whose data fails Postgres.
 */
describe('projections as Nest-built handlers (real Kafka, real Postgres)', () => {
  const prefix = uniqueTopicPrefix('kit-transport');
  const url = uniqueDatabaseUrl('kit_transport_spec');
  const logs = new LogCapture();
  const deadLetters: KafkaMessage[] = [];
  const outputs: SdkUserEvent[] = [];
  let dataSource: DataSource;
  let app: INestApplication;
  let collector: Consumer;
  let producer: EventProducer;
  /** Device events published so far (every group consumes them all). */
  let published = 0;

  beforeAll(async () => {
    await createTestTopics(prefix, [Topics.DeviceEvents, Topics.UserEvents], 2);
    // Everything the service writes to Kafka: dead letters of device events, outputs on the user topic.
    collector = createKafka('kit-transport-spec', testBrokers()).consumer({
      groupId: `kit-transport-spec-${randomUUID()}`,
      maxWaitTimeInMs: 100,
    });
    await collector.connect();
    await collector.subscribe({
      topics: [dlqTopicOf(prefix + Topics.DeviceEvents), prefix + Topics.UserEvents],
      fromBeginning: true,
    });
    await collector.run({
      eachMessage: async ({ topic, message }) => {
        if (topic === prefix + Topics.UserEvents) outputs.push(decodeEvent(Topics.UserEvents, message.value!));
        else deadLetters.push(message);
      },
    });
    producer = new EventProducer({ brokers: testBrokers(), clientId: 'kit-transport-spec', topicPrefix: prefix });

    dataSource = await openDatabase({
      url,
      migrations: [...EVENT_BUS_MIGRATIONS, DeviceCounts1764300000000, SpecTables1764300000001],
    });
    const config = loadConfig('token-registry', undefined, {
      DATABASE_URL: url,
      KAFKA_TOPIC_PREFIX: prefix,
      // The HTTP API's keys: the global guard must not stand between a projection and its batches.
      API_KEYS: 'spec-key=ws',
      LOG_LEVEL: 'warn',
    });
    app = await createServiceApp(
      { name: 'token-registry', description: 'spec', imports: [SpecModule] },
      config,
      dataSource,
      logs,
    );
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await collector?.disconnect();
    await producer?.disconnect();
    await deleteTestTopics(prefix);
    await dropDatabase(url);
  });

  /** Publishes device events; with a `key`, all on that key's partition (so in order, usually in one batch). */
  async function publishDeviceEvents(events: SdkDeviceEvent[], key?: string): Promise<void> {
    await producer.publish(
      Topics.DeviceEvents,
      events.map((event) => ({
        key: key ?? MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
        event,
      })),
    );
    published += events.length;
  }

  const device = (device_id: string, app_id = 'app') => ({ workspace_id: 'ws', app_id, device_id });
  const deadLetterOf = (deviceId: string) =>
    deadLetters.find((m) => decodeEvent(Topics.DeviceEvents, m.value!).data.device_id === deviceId);
  const header = (message: KafkaMessage | undefined, name: string) => message?.headers?.[name]?.toString();

  async function deviceCounts(...deviceIds: string[]): Promise<Record<string, number>> {
    const keys = deviceIds.map((id) => MessageKeys.device('ws', 'app', id));
    const rows: { device_key: string; events: number }[] = await dataSource.query(
      'select device_key, events from device_counts where device_key = any($1)',
      [keys],
    );
    return Object.fromEntries(rows.map((r) => [r.device_key.split(':')[2], r.events]));
  }

  async function storedOffsetsSum(groupId: string): Promise<number> {
    const [{ next }] = await dataSource.query(
      'select coalesce(sum(next_offset), 0)::int as next from consumer_offsets where group_id = $1 and topic = $2',
      [groupId, Topics.DeviceEvents],
    );
    return next;
  }

  it('builds a @ProjectionController with its injected dependencies and applies each event once: read model, offsets, outputs', async () => {
    const changeUser = deviceEvents.changeUser(device('once-a'), 2, 'u-once');
    await publishDeviceEvents([
      deviceEvents.tokenRegistered(device('once-a'), 1, 'token-a'),
      changeUser,
      deviceEvents.sessionStarted(device('once-b'), 3),
    ]);

    await eventually(async () => (await storedOffsetsSum(EXAMPLE_GROUP)) === published, 20_000, 'events applied');
    const output = `subscribed-${changeUser.data.event_id}`;
    await eventually(() => outputs.some((e) => e.data.event_id === output), 10_000, 'output published');
    const health = await request(app.getHttpServer()).get('/health');

    expect(await deviceCounts('once-a', 'once-b')).toEqual({ 'once-a': 2, 'once-b': 1 });
    expect(outputs.filter((e) => e.data.event_id === output)).toEqual([
      expect.objectContaining({ type: 'PushSubscriptionSet', data: expect.objectContaining({ user_id: 'u-once' }) }),
    ]);
    expect(health.status).toBe(200);
    expect(health.body.details[`kafka:${EXAMPLE_GROUP}`]).toMatchObject({ status: 'up', state: 'consuming' });
  });

  it('dead-letters what the @ProjectionValidator rejects (with its injected served apps) before the handler sees it', async () => {
    await publishDeviceEvents(
      [
        deviceEvents.sessionStarted(device('validated-1'), 1),
        deviceEvents.sessionStarted(device('unserved', 'other-app'), 2),
        deviceEvents.sessionStarted(device(''), 3),
        deviceEvents.sessionStarted(device('validated-2'), 4),
      ],
      'ws:app:validated',
    );

    await eventually(() => !!deadLetterOf('unserved') && !!deadLetterOf(''), 20_000, 'dead letters');
    await eventually(async () => (await storedOffsetsSum(EXAMPLE_GROUP)) === published, 20_000, 'events applied');

    expect(header(deadLetterOf('unserved'), 'dlq-error-code')).toBe('CONTRACT_VIOLATION');
    expect(header(deadLetterOf('unserved'), 'dlq-error')).toBe('app other-app is not served here');
    expect(header(deadLetterOf(''), 'dlq-error')).toBe('device_id is empty');
    expect(await deviceCounts('validated-1', 'validated-2', '')).toEqual({ 'validated-1': 1, 'validated-2': 1 });
    const [{ unserved }] = await dataSource.query(
      "select count(*)::int as unserved from device_counts where device_key = 'ws:other-app:unserved'",
    );
    expect(unserved).toBe(0);
  });

  it('dead-letters a RejectedEventError thrown by a Nest-built handler (the error itself reaches the runner) and applies the rest of its batch once', async () => {
    await publishDeviceEvents(
      [
        deviceEvents.sessionStarted(device('before-refused'), 1),
        deviceEvents.sessionStarted(device(REFUSED_DEVICE), 2),
        deviceEvents.sessionStarted(device('after-refused'), 3),
      ],
      'ws:app:refused',
    );

    await eventually(() => !!deadLetterOf(REFUSED_DEVICE), 20_000, 'dead letter');
    await eventually(async () => (await storedOffsetsSum(EXAMPLE_GROUP)) === published, 20_000, 'events applied');

    // Nest's replacement ({ status: 'error', message: 'Internal server error' }) would have been retried, then
    // isolated as UNPROCESSABLE, instead of dead-lettered at once as a contract violation.
    expect(header(deadLetterOf(REFUSED_DEVICE), 'dlq-error-code')).toBe('CONTRACT_VIOLATION');
    expect(header(deadLetterOf(REFUSED_DEVICE), 'dlq-error')).toBe(`device ${REFUSED_DEVICE} is refused`);
    expect(await deviceCounts('before-refused', REFUSED_DEVICE, 'after-refused')).toEqual({
      'before-refused': 1,
      'after-refused': 1,
    });
    expect(logs.text()).not.toMatch(/Internal server error|RpcExceptionsHandler/);
  });

  it('isolates an event whose data fails Postgres in a Nest-built handler (UNPROCESSABLE, with the SQL error) and applies its neighbours', async () => {
    await publishDeviceEvents(
      [
        deviceEvents.sessionStarted(device('stored-1'), 1),
        deviceEvents.sessionStarted(device('huge'), 2),
        deviceEvents.sessionStarted(device('stored-2'), 3),
      ],
      'ws:app:storing',
    );

    await eventually(() => !!deadLetterOf('huge'), 20_000, 'dead letter');
    await eventually(async () => (await storedOffsetsSum(STORING_GROUP)) === published, 20_000, 'events applied');
    const stored: { device_id: string }[] = await dataSource.query(
      "select device_id from stored_devices where device_id in ('stored-1', 'huge', 'stored-2') order by device_id",
    );

    expect(header(deadLetterOf('huge'), 'dlq-error-code')).toBe('UNPROCESSABLE');
    expect(header(deadLetterOf('huge'), 'dlq-error')).toMatch(
      /QueryFailedError: value "70000" is out of range for type smallint/,
    );
    expect(stored.map((r) => r.device_id)).toEqual(['stored-1', 'stored-2']);
  });

  it('runs the two handlers of one group (two topics) in one runner: one group member, one health entry, offsets of both topics', async () => {
    await publishDeviceEvents([deviceEvents.sessionStarted(device('two-topics-device'), 1)]);
    const userEvent: SdkUserEvent = {
      type: 'PushSubscriptionSet',
      data: {
        event_id: randomUUID(),
        workspace_id: 'ws',
        user_id: 'two-topics-user',
        occurred_at: 1,
        state: 'OPTED_IN',
        source: 'REST',
      },
    };
    await producer.publish(Topics.UserEvents, [{ key: MessageKeys.user('ws', 'two-topics-user'), event: userEvent }]);

    const applied = async () =>
      (await dataSource.query(
        "select topic, id from two_topics_applied where id in ('two-topics-device', 'two-topics-user') order by topic",
      )) as { topic: string; id: string }[];
    await eventually(async () => (await applied()).length === 2, 20_000, 'both topics applied');
    const topics: { topic: string }[] = await dataSource.query(
      'select distinct topic from consumer_offsets where group_id = $1 order by topic',
      [TWO_TOPICS_GROUP],
    );
    const health = await request(app.getHttpServer()).get('/health');
    const admin = createKafka('kit-transport-spec-admin', testBrokers()).admin();
    await admin.connect();
    const {
      groups: [group],
    } = await admin.describeGroups([prefix + TWO_TOPICS_GROUP]).finally(() => admin.disconnect());

    expect(await applied()).toEqual([
      { topic: Topics.DeviceEvents, id: 'two-topics-device' },
      { topic: Topics.UserEvents, id: 'two-topics-user' },
    ]);
    expect(topics.map((t) => t.topic)).toEqual([Topics.DeviceEvents, Topics.UserEvents]);
    expect(Object.keys(health.body.details).filter((name) => name.startsWith('kafka:'))).toEqual(
      expect.arrayContaining([`kafka:${EXAMPLE_GROUP}`, `kafka:${TWO_TOPICS_GROUP}`, `kafka:${STORING_GROUP}`]),
    );
    expect(Object.keys(health.body.details).filter((name) => name.startsWith('kafka:'))).toHaveLength(3);
    expect(group.members).toHaveLength(1);
    const assignment = AssignerProtocol.MemberAssignment.decode(group.members[0].memberAssignment)?.assignment ?? {};
    expect(Object.keys(assignment).sort()).toEqual([prefix + Topics.DeviceEvents, prefix + Topics.UserEvents]);
  });
});
