import type { INestApplication } from '@nestjs/common';
import type { Admin, KafkaMessage } from 'kafkajs';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { EventOf, TopicName, decodeEvent } from '@push/contracts';
import { EventProducer, KeyedEvent, createKafka } from '@push/event-bus';
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
  /** Each projection's consumer group and the topics it consumes (of those created for the test). */
  projections: Map<string, TopicName[]>;
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
  /** Reads the topics' ends for `waitUntilApplied`; connected on first use. */
  private admin?: Promise<Admin>;
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
      const { projectionTopicsOf } = await import('./projection-topics');
      const created = new Set<TopicName>(this.options.topics);
      const projections = new Map(
        [...projectionTopicsOf(app)].map(([group, topics]) => [group, topics.filter((t) => created.has(t))]),
      );
      this.running = { app, dataSource, projections };
      await app.init();
    } catch (error) {
      if (!this.running && dataSource.isInitialized) await dataSource.destroy();
      throw error;
    }
    return this;
  }

  /** Stops what `start` started, also after a failed start, and drops the database and the topics. */
  async stop(): Promise<void> {
    const { producer, running, admin } = this;
    this.producer = undefined;
    this.running = undefined;
    this.admin = undefined;
    try {
      await producer?.disconnect();
      await (await admin?.catch(() => undefined))?.disconnect();
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
   * Waits until the service has applied what the test gave it and what it published itself:
   * 1. the projection `groupId` has applied (or dead-lettered) every message this harness wrote to its topics — its
   *    stored offsets, summed per topic, reach what was written there (a group the service does not declare, whose
   *    offsets a test writes itself, is checked against every topic written);
   * 2. the outbox is empty: the outputs of what was applied are published (before, a spec reading the service's output
   *    topic right after could find it still empty: a flake seen in CI under load);
   * 3. every projection of the service has applied each of its topics to the end it has then — a projection of the
   *    service's own output topic (token-registry's changelog, subscription-state's history) has read back those
   *    outputs, and what the service wrote to its own input (`/users/track`) is applied too;
   * 4. the outbox is empty again (dead letters of step 3).
   */
  async waitUntilApplied(groupId: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const consumed = this.started().projections.get(groupId);
    const wanted = [...this.written].filter(([topic]) => !consumed || consumed.includes(topic));
    await eventually(
      async () => {
        const rows: { topic: string; next: number }[] = await this.dataSource.query(
          'select topic, coalesce(sum(next_offset), 0)::int as next from consumer_offsets where group_id = $1 group by topic',
          [groupId],
        );
        const applied = new Map(rows.map((r) => [r.topic, r.next]));
        return wanted.every(([topic, count]) => (applied.get(topic) ?? 0) >= count);
      },
      timeoutMs,
      `${groupId} applying ${wanted.map(([topic, count]) => `${count} messages of ${topic}`).join(', ')}`,
    );
    let waitingFor: string[] = [];
    await eventually(
      async () => {
        if (!(await this.outboxIsEmpty())) waitingFor = ['the outbox to be published'];
        else waitingFor = await this.projectionsBehind();
        return waitingFor.length === 0 && (await this.outboxIsEmpty());
      },
      Math.max(0, deadline - Date.now()),
      `every projection of ${this.definition.name} at the end of its topics`,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; still waiting for ${waitingFor.join(', ')}`);
    });
  }

  private async outboxIsEmpty(): Promise<boolean> {
    const [{ pending }] = await this.dataSource.query('select count(*)::int as pending from event_outbox');
    return pending === 0;
  }

  /**
   * Waits until the projection `groupId` alone has applied every message now on its topics, whoever wrote them (the
   * service's own outputs too), without waiting for the outbox or the other projections as `waitUntilApplied` does:
   * for a spec whose service keeps publishing meanwhile (the dispatcher sending while its requests are applied).
   */
  async waitUntilAtEnd(groupId: string, timeoutMs = 30_000): Promise<void> {
    let behind: string[] = [];
    await eventually(
      async () => (behind = await this.projectionsBehind(groupId)).length === 0,
      timeoutMs,
      `${groupId} at the end of its topics`,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; still ${behind.join(', ')}`);
    });
  }

  /**
   * `<group> <topic>:<partition> <n> behind` for every partition whose end a projection's stored offset is short of
   * (only `onlyGroup`'s when given).
   */
  private async projectionsBehind(onlyGroup?: string): Promise<string[]> {
    const rows: { group_id: string; topic: string; partition: number; next_offset: string }[] =
      await this.dataSource.query('select group_id, topic, partition, next_offset from consumer_offsets');
    const stored = new Map(rows.map((r) => [`${r.group_id} ${r.topic}:${r.partition}`, Number(r.next_offset)]));
    const admin = await this.adminOf();
    const ends = new Map<TopicName, { partition: number; high: string }[]>();
    const behind: string[] = [];
    for (const [group, topics] of this.started().projections) {
      if (onlyGroup !== undefined && group !== onlyGroup) continue;
      for (const topic of topics) {
        if (!ends.has(topic)) ends.set(topic, await admin.fetchTopicOffsets(this.topicPrefix + topic));
        for (const { partition, high } of ends.get(topic) ?? []) {
          const missing = Number(high) - (stored.get(`${group} ${topic}:${partition}`) ?? 0);
          if (missing > 0) behind.push(`${group} ${topic}:${partition} ${missing} behind`);
        }
      }
    }
    if (onlyGroup !== undefined && !this.started().projections.has(onlyGroup))
      throw new Error(`${this.definition.name} has no projection ${onlyGroup}`);
    return behind;
  }

  private adminOf(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = createKafka(`${this.definition.name}-spec-admin`, testBrokers()).admin();
      await admin.connect();
      return admin;
    })().catch((error: unknown) => {
      this.admin = undefined; // the next probe tries again
      throw error;
    });
    return this.admin;
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
