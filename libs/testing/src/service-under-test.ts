import type { INestApplication } from '@nestjs/common';
import type { KafkaMessage } from 'kafkajs';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { EventOf, TopicName, decodeEvent } from '@push/contracts';
import { EventProducer, KeyedEvent } from '@push/event-bus';
import type { ServiceDefinition } from '@push/service-kit';
import {
  createTestTopics,
  deleteTestTopics,
  eventually,
  messageCount,
  readMessages,
  testBrokers,
  uniqueTopicPrefix,
} from './kafka';
import { LogCapture } from './log-capture';
import { dropDatabase, uniqueDatabaseUrl } from './postgres';

export interface ServiceUnderTestOptions {
  /** The contract topics the service consumes and publishes, created under the test's own prefix (with their DLQs). */
  topics: readonly TopicName[];
  /** Partitions of each topic; default 2. */
  partitions?: number;
  /**
   * The service's environment besides its database, topic prefix and brokers (which the harness sets), e.g.
   * `{ API_KEYS: 'key-a=ws-a' }`. `LOG_LEVEL` is `warn` unless given.
   */
  env?: Record<string, string>;
  /** Runs on the migrated database before the service starts: rows a test then reads through the service. */
  seed?: (dataSource: DataSource) => Promise<unknown>;
}

interface Running {
  app: INestApplication;
  dataSource: DataSource;
}

/**
 * A service running for one test file as it runs in production, in isolation: its own throwaway database (migrated),
 * its topics under a unique prefix on the real broker, the Nest application (`createServiceApp` + `app.init()`: HTTP
 * without listening, projections consuming), a producer for the test's input and a reader of its output. nestjs-pino
 * keeps one HTTP logger per process, so one per test file; `serviceUnderTest` wires it to `beforeAll`/`afterAll`.
 */
export class ServiceUnderTest {
  readonly topicPrefix: string;
  readonly databaseUrl: string;
  /** Everything the service logged. */
  readonly logs = new LogCapture();
  private running?: Running;
  private producer?: EventProducer;
  /** The messages this harness wrote to each topic: what `waitUntilApplied` waits for. */
  private readonly written = new Map<TopicName, number>();

  constructor(
    readonly definition: ServiceDefinition,
    private readonly options: ServiceUnderTestOptions,
  ) {
    this.topicPrefix = uniqueTopicPrefix(definition.name);
    this.databaseUrl = uniqueDatabaseUrl(definition.name);
  }

  get app(): INestApplication {
    return this.started().app;
  }

  get dataSource(): DataSource {
    return this.started().dataSource;
  }

  async start(): Promise<this> {
    await createTestTopics(this.topicPrefix, this.options.topics, this.options.partitions ?? 2);
    // Loaded here, not at the top: every unit test imports @push/testing for its event builders, and should not load
    // Nest, TypeORM and the rest of the service kit for nothing.
    const { createServiceApp, loadConfig, openDatabase } = await import('@push/service-kit');
    const config = loadConfig(this.definition.name, undefined, {
      LOG_LEVEL: 'warn',
      ...this.options.env,
      DATABASE_URL: this.databaseUrl,
      KAFKA_TOPIC_PREFIX: this.topicPrefix,
      KAFKA_BROKERS: testBrokers().join(','),
    });
    const dataSource = await openDatabase({
      url: this.databaseUrl,
      entities: this.definition.entities,
      migrations: this.definition.migrations,
    });
    try {
      await this.options.seed?.(dataSource);
      const app = await createServiceApp(this.definition, config, dataSource, this.logs);
      this.running = { app, dataSource };
      await app.init();
    } catch (error) {
      if (!this.running && dataSource.isInitialized) await dataSource.destroy();
      throw error;
    }
    return this;
  }

  /** Stops what `start` started, also after a failed start, and drops the database and the topics. */
  async stop(): Promise<void> {
    const { producer, running } = this;
    this.producer = undefined;
    this.running = undefined;
    try {
      await producer?.disconnect();
      await running?.app.close();
    } finally {
      if (running?.dataSource.isInitialized) await running.dataSource.destroy();
      await deleteTestTopics(this.topicPrefix);
      await dropDatabase(this.databaseUrl);
    }
  }

  /** HTTP requests to the service: `await service.http().get('/health')`. */
  http() {
    return request(this.app.getHttpServer());
  }

  /** Publishes events to one of the service's topics, as the platform's other producers do. */
  async publish<T extends TopicName>(topic: T, events: readonly KeyedEvent<T>[]): Promise<void> {
    await this.producerOf().publish(topic, events);
    this.count(topic, events.length);
  }

  /** Writes already-encoded messages (e.g. poison the contract's types cannot express) to one of its topics. */
  async publishRaw(topic: TopicName, messages: readonly { key: string | null; value: Buffer | null }[]): Promise<void> {
    await this.producerOf().sendRaw(messages.map((m) => ({ topic: this.topicPrefix + topic, ...m })));
    this.count(topic, messages.length);
  }

  /**
   * Waits until the projection `groupId` has applied (or dead-lettered) every message this harness wrote — its stored
   * offsets, summed per topic, reach what was written there (only for topics that group consumes) — and the outputs of
   * what it applied are published: the outbox, drained after each commit, is empty. (Before, a spec reading the
   * service's output topic right after could find it still empty: a flake seen in CI under load.)
   */
  async waitUntilApplied(groupId: string, timeoutMs = 30_000): Promise<void> {
    const wanted = [...this.written];
    await eventually(
      async () => {
        const rows: { topic: string; next: number }[] = await this.dataSource.query(
          'select topic, coalesce(sum(next_offset), 0)::int as next from consumer_offsets where group_id = $1 group by topic',
          [groupId],
        );
        const applied = new Map(rows.map((r) => [r.topic, r.next]));
        if (!wanted.every(([topic, count]) => (applied.get(topic) ?? 0) >= count)) return false;
        const [{ pending }] = await this.dataSource.query('select count(*)::int as pending from event_outbox');
        return pending === 0;
      },
      timeoutMs,
      `${groupId} applying ${wanted.map(([topic, count]) => `${count} messages of ${topic}`).join(', ')}`,
    );
  }

  /** Every event on one of the service's topics so far, decoded, in each partition's order. */
  async published<T extends TopicName>(topic: T): Promise<EventOf<T>[]> {
    const count = await messageCount(this.topicPrefix + topic);
    if (count === 0) return [];
    const messages = await readMessages(this.topicPrefix + topic, count);
    return messages.map((m) => decodeEvent(topic, m.value!));
  }

  /** The first `count` messages of a topic under the prefix (a contract topic or a `dlqTopicOf` one), undecoded. */
  messages(topic: string, count: number): Promise<KafkaMessage[]> {
    return readMessages(this.topicPrefix + topic, count);
  }

  private started(): Running {
    if (!this.running) throw new Error(`${this.definition.name} is not started: call start() (beforeAll) first`);
    return this.running;
  }

  private producerOf(): EventProducer {
    this.producer ??= new EventProducer({
      brokers: testBrokers(),
      clientId: `${this.definition.name}-spec`,
      topicPrefix: this.topicPrefix,
    });
    return this.producer;
  }

  private count(topic: TopicName, messages: number): void {
    this.written.set(topic, (this.written.get(topic) ?? 0) + messages);
  }
}

/**
 * The service under test of a jest file: started before its tests (`beforeAll`), stopped and cleaned up after them.
 *
 * ```ts
 * const service = serviceUnderTest(tokenRegistryService, { topics: [Topics.DeviceEvents, Topics.DeviceTokens] });
 * it('…', async () => {
 *   await service.publish(Topics.DeviceEvents, [{ key, event }]);
 *   await service.waitUntilApplied('token-registry.devices');
 *   expect((await service.http().get('/devices/ios-app/phone').set(auth)).body).toMatchObject({ … });
 * });
 * ```
 */
export function serviceUnderTest(
  definition: ServiceDefinition,
  options: ServiceUnderTestOptions,
  hookTimeoutMs = 60_000,
): ServiceUnderTest {
  const service = new ServiceUnderTest(definition, options);
  beforeAll(() => service.start(), hookTimeoutMs);
  afterAll(() => service.stop(), hookTimeoutMs);
  return service;
}
