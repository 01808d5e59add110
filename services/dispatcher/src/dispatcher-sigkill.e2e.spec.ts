import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  type DeviceTokenEvent,
  type DispatchOutcomeEvent,
  MessageKeys,
  type TopicName,
  Topics,
  decodeEvent,
} from '@push/contracts';
import { EventProducer } from '@push/event-bus';
import {
  type DeviceRef,
  createTestTopics,
  deleteTestTopics,
  deviceTokenEvents,
  dispatchEvents,
  dropDatabase,
  eventually,
  messageCount,
  readMessages,
  testBrokers,
  uniqueDatabaseUrl,
  uniqueTopicPrefix,
} from '@push/testing';
import {
  type FakeProviderApps,
  apnsToken,
  fcmToken,
  startFakeProviderApps,
} from './providers/testing/fake-provider-apps';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '../../..');
const WS = 'ws-sigkill';
const PARTITIONS = 2;
const PER_APP = 30;
const TOPICS: TopicName[] = [
  Topics.DispatchRequests,
  Topics.DispatchOutcomes,
  Topics.DeviceTokens,
  Topics.UserSubscriptions,
  Topics.DeviceDelivery,
];

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/**
 * D5 for real: the dispatcher started from its main.ts as its own process (as in production: the provider adapters,
 * the apps file, NODE_EXTRA_CA_CERTS) against the three fake providers answering slowly, killed with SIGKILL in the
 * middle of a dispatch, started again, and the request delivered again. Counted at the fakes: no device is sent twice;
 * on the outcomes topic: every device has exactly one outcome.
 */
describe('dispatcher killed -9 mid-dispatch (its own process, fake providers, real Kafka and Postgres)', () => {
  const prefix = uniqueTopicPrefix('dispatcher-sigkill');
  const databaseUrl = uniqueDatabaseUrl('dispatcher_sigkill');
  const producer = new EventProducer({ brokers: testBrokers(), clientId: 'sigkill-spec', topicPrefix: prefix });
  let providers: FakeProviderApps;
  let caFile: string;
  let port: number;
  let dispatcher: ChildProcess | undefined;
  /** The device token of each device key, as the fakes count it (APNs/FCM: the token; Web Push: the endpoint id). */
  const fakeTokenOf = new Map<string, string>();

  const start = () => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'services/dispatcher/src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_OPTIONS: '',
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
        KAFKA_BROKERS: testBrokers().join(','),
        API_KEYS: `key=${WS}`,
        APPS_CONFIG: providers.appsFile,
        NODE_EXTRA_CA_CERTS: caFile,
        // Small batches, few at once: the dispatch takes seconds against the slow fakes, so the kill lands inside it.
        DISPATCH_BATCH_SIZE: '5',
        DISPATCH_CONCURRENCY: '2',
        DISPATCH_RECOVERY_MS: '500',
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    dispatcher = child;
    return child;
  };
  const healthy = () =>
    eventually(
      async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.status === 200,
      60_000,
      'the dispatcher healthy',
    );
  const progress = async () =>
    (await (
      await fetch(`http://127.0.0.1:${port}/dispatches/sigkill-1`, { headers: { Authorization: 'Bearer key' } })
    ).json()) as { status?: string; targeted?: number; sent?: number; failed?: number };
  const sentAtFakes = () =>
    providers.fakes.apns.counters.received +
    providers.fakes.fcm.counters.received +
    providers.fakes.webPush.counters.received;

  beforeAll(async () => {
    providers = await startFakeProviderApps({ latency: { fixedMs: 250 } }, WS);
    caFile = join(providers.dir, 'ca.pem');
    providers.fakes.writeCa(caFile);
    port = await freePort();
    await createTestTopics(prefix, TOPICS, PARTITIONS);
    const facts: DeviceTokenEvent[] = [];
    const apps = [
      ['ios-app', 'IOS'],
      ['android-app', 'ANDROID'],
      ['web-app', 'WEB'],
    ] as const;
    for (const [app_id, platform] of apps)
      for (let i = 0; i < PER_APP; i++) {
        const ref: DeviceRef = { workspace_id: WS, app_id, device_id: `${platform.toLowerCase()}-${i}` };
        const user_id = `user-${i}`;
        let token: string;
        if (platform === 'IOS') token = apnsToken(`sigkill-${i}`);
        else if (platform === 'ANDROID') token = fcmToken(`sigkill-${i}`);
        else token = JSON.stringify(providers.fakes.webPush.subscription(providers.vapidPublicKey));
        fakeTokenOf.set(
          `${app_id}/${ref.device_id}`,
          platform === 'WEB' ? JSON.parse(token).endpoint.split('/').pop() : token,
        );
        facts.push(
          deviceTokenEvents.pushCapabilityChanged(ref, 1000, {
            user_id,
            platform,
            os_version: platform === 'WEB' ? null : '17.4',
          }),
          deviceTokenEvents.tokenAssigned(ref, 1001, token, { user_id, platform }),
        );
      }
    await producer.publish(
      Topics.DeviceTokens,
      facts.map((event) => ({
        key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
        event,
      })),
    );
    start();
    await healthy();
    // Every fact applied before the request, so that the audience is all 90 devices.
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      await eventually(
        async () =>
          (
            await db.query(
              "select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = 'dispatcher.eligibility' and topic = $1",
              [Topics.DeviceTokens],
            )
          ).rows[0].n >= facts.length,
        60_000,
        'the eligibility facts applied',
      );
    } finally {
      await db.end();
    }
  });

  afterAll(async () => {
    if (dispatcher && dispatcher.exitCode === null && dispatcher.signalCode === null) {
      const exited = once(dispatcher, 'exit');
      dispatcher.kill('SIGTERM');
      await exited;
    }
    await producer.disconnect();
    await providers?.close();
    await deleteTestTopics(prefix);
    await dropDatabase(databaseUrl);
  });

  it('D5: killed -9 mid-dispatch, restarted, the request redelivered: no device sent twice, one outcome each', async () => {
    const request = dispatchEvents.dispatchRequested('sigkill-1', WS, {
      filter_json: JSON.stringify({ user_ids: Array.from({ length: PER_APP }, (_, i) => `user-${i}`) }),
    });
    const publishRequest = () =>
      producer.publish(Topics.DispatchRequests, [{ key: MessageKeys.dispatch('sigkill-1'), event: request }]);
    await publishRequest();
    await eventually(async () => sentAtFakes() >= 15, 60_000, 'the fakes received the first pushes');
    const killed = once(dispatcher!, 'exit');
    dispatcher!.kill('SIGKILL');
    await killed;
    const receivedAtKill = sentAtFakes();
    expect(receivedAtKill).toBeLessThan(3 * PER_APP); // the kill landed mid-dispatch

    start();
    await healthy();
    await publishRequest(); // the campaign service delivers it again
    await eventually(async () => (await progress()).status === 'completed', 90_000, 'the dispatch completed');

    // At the fakes: every device received at most once.
    const counts = [providers.fakes.apns, providers.fakes.fcm, providers.fakes.webPush].flatMap((fake) => [
      ...fake.counters.perToken.values(),
    ]);
    expect(Math.max(...counts)).toBe(1);
    expect(sentAtFakes()).toBe(counts.length);

    // On the topic: one outcome per device (by event id: an outbox re-drain repeats the same event), one completion.
    const total = await messageCount(prefix + Topics.DispatchOutcomes);
    const records = (await readMessages(prefix + Topics.DispatchOutcomes, total)).map(
      (m) => decodeEvent(Topics.DispatchOutcomes, m.value!) as DispatchOutcomeEvent,
    );
    const byId = new Map<string, DispatchOutcomeEvent>();
    for (const record of records) if (record.type !== 'DispatchCompleted') byId.set(record.data.event_id, record);
    const perDevice = new Map<string, DispatchOutcomeEvent[]>();
    for (const record of byId.values()) {
      if (record.type === 'DispatchCompleted') continue;
      const key = `${record.data.app_id}/${record.data.device_id}`;
      perDevice.set(key, [...(perDevice.get(key) ?? []), record]);
    }
    expect(perDevice.size).toBe(3 * PER_APP);
    expect([...perDevice.values()].every((list) => list.length === 1)).toBe(true);

    // Each outcome is honest: a device sent is one the fakes received; one the fakes never received was not sent;
    // what was in flight at the kill is reported with an unknown outcome.
    const received = new Set(
      [providers.fakes.apns, providers.fakes.fcm, providers.fakes.webPush].flatMap((fake) => [
        ...fake.counters.perToken.keys(),
      ]),
    );
    for (const [device, [record]] of perDevice) {
      const reachedFake = received.has(fakeTokenOf.get(device)!);
      if (record.type === 'PushSent') expect(reachedFake).toBe(true);
      else {
        expect(record).toMatchObject({
          type: 'PushFailed',
          data: { reason: expect.stringMatching(/^OUTCOME_UNKNOWN/) },
        });
      }
      if (!reachedFake) expect(record.type).toBe('PushFailed');
    }
    const unknown = [...perDevice.values()].filter(([r]) => r.type === 'PushFailed').length;
    // The kill came while the fakes held requests (they answer after 250 ms): those devices' outcomes are unknown.
    expect(unknown).toBeGreaterThan(0);
    const completions = records.filter((r) => r.type === 'DispatchCompleted');
    expect(new Set(completions.map((c) => JSON.stringify({ ...c.data, occurred_at: 0 }))).size).toBe(1);
    expect(completions[0].data).toMatchObject({
      dispatch_id: 'sigkill-1',
      targeted: 3 * PER_APP,
      sent: 3 * PER_APP - unknown,
      failed: unknown,
      bounced: 0,
    });
    expect(await progress()).toMatchObject({ status: 'completed', targeted: 3 * PER_APP, failed: unknown });
  });
});
