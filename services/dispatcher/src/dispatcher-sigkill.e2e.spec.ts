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
 * middle of a dispatch, started again, and the request delivered again; then two replicas sharing a dispatch, one of
 * them killed. Counted at the fakes: no device is sent twice; on the outcomes topic: every device has exactly one
 * outcome.
 */
describe('dispatcher killed -9 mid-dispatch (its own process, fake providers, real Kafka and Postgres)', () => {
  const prefix = uniqueTopicPrefix('dispatcher-sigkill');
  const databaseUrl = uniqueDatabaseUrl('dispatcher_sigkill');
  const producer = new EventProducer({ brokers: testBrokers(), clientId: 'sigkill-spec', topicPrefix: prefix });
  let providers: FakeProviderApps;
  let caFile: string;
  const children = new Set<ChildProcess>();
  /** The device token of each device key, as the fakes count it (APNs/FCM: the token; Web Push: the endpoint id). */
  const fakeTokenOf = new Map<string, string>();
  let factsPublished = 0;

  const spawnDispatcher = (port: number) => {
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
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };
  const healthy = (port: number) =>
    eventually(
      async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.status === 200,
      60_000,
      `the dispatcher on ${port} healthy`,
    );
  const killed9 = async (child: ChildProcess) => {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  const progress = async (port: number, id: string) =>
    (await (
      await fetch(`http://127.0.0.1:${port}/dispatches/${id}`, { headers: { Authorization: 'Bearer key' } })
    ).json()) as { status?: string; targeted?: number; sent?: number; failed?: number };
  const fakes = () => [providers.fakes.apns, providers.fakes.fcm, providers.fakes.webPush];
  /** Pushes the fakes received for the devices of `tag`. */
  const receivedFor = (tag: string) => {
    const tokens = new Set([...fakeTokenOf].filter(([device]) => device.includes(`-${tag}-`)).map(([, t]) => t));
    return fakes()
      .flatMap((fake) => [...fake.counters.perToken])
      .filter(([token]) => tokens.has(token));
  };

  /** 30 devices per provider, users `<tag>-user-<i>`, published as token-registry's records and applied. */
  async function devices(tag: string): Promise<string[]> {
    const facts: DeviceTokenEvent[] = [];
    const users: string[] = [];
    const apps = [
      ['ios-app', 'IOS'],
      ['android-app', 'ANDROID'],
      ['web-app', 'WEB'],
    ] as const;
    for (let i = 0; i < PER_APP; i++) users.push(`${tag}-user-${i}`);
    for (const [app_id, platform] of apps)
      for (let i = 0; i < PER_APP; i++) {
        const ref: DeviceRef = { workspace_id: WS, app_id, device_id: `${platform.toLowerCase()}-${tag}-${i}` };
        let token: string;
        if (platform === 'IOS') token = apnsToken(`${tag}-${i}`);
        else if (platform === 'ANDROID') token = fcmToken(`${tag}-${i}`);
        else token = JSON.stringify(providers.fakes.webPush.subscription(providers.vapidPublicKey));
        fakeTokenOf.set(
          `${app_id}/${ref.device_id}`,
          platform === 'WEB' ? JSON.parse(token).endpoint.split('/').pop() : token,
        );
        const user_id = users[i];
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
    factsPublished += facts.length;
    // Every fact applied before the request, so that the audience is all 90 devices.
    await eventually(
      async () =>
        (
          (await query(
            "select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = 'dispatcher.eligibility' and topic = $1",
            [Topics.DeviceTokens],
          )) as { n: number }[]
        )[0].n >= factsPublished,
      60_000,
      'the eligibility facts applied',
    );
    return users;
  }

  async function query(sql: string, parameters: unknown[] = []): Promise<unknown[]> {
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      return (await db.query(sql, parameters)).rows;
    } finally {
      await db.end();
    }
  }

  const request = (id: string, users: string[]) =>
    dispatchEvents.dispatchRequested(id, WS, { filter_json: JSON.stringify({ user_ids: users }) });
  const publish = (event: ReturnType<typeof request>) =>
    producer.publish(Topics.DispatchRequests, [{ key: MessageKeys.dispatch(event.data.dispatch_id), event }]);

  /**
   * The outcomes of a dispatch on the topic, checked: one per device (by event id: an outbox re-drain repeats the same
   * event), each honest — sent only if the fakes received it, a device the fakes never received not sent, the others
   * unknown — and one completion with the counts. Returns how many outcomes are unknown.
   */
  async function checkOutcomes(dispatchId: string, tag: string): Promise<number> {
    const total = await messageCount(prefix + Topics.DispatchOutcomes);
    const records = (await readMessages(prefix + Topics.DispatchOutcomes, total))
      .map((m) => decodeEvent(Topics.DispatchOutcomes, m.value!) as DispatchOutcomeEvent)
      .filter((r) => r.data.dispatch_id === dispatchId);
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
    const received = new Set(receivedFor(tag).map(([token]) => token));
    for (const [device, [record]] of perDevice) {
      const reachedFake = received.has(fakeTokenOf.get(device)!);
      if (record.type === 'PushSent') expect(reachedFake).toBe(true);
      else
        expect(record).toMatchObject({
          type: 'PushFailed',
          data: { reason: expect.stringMatching(/^OUTCOME_UNKNOWN/) },
        });
      if (!reachedFake) expect(record.type).toBe('PushFailed');
    }
    const unknown = [...perDevice.values()].filter(([r]) => r.type === 'PushFailed').length;
    const completions = records.filter((r) => r.type === 'DispatchCompleted');
    expect(new Set(completions.map((c) => JSON.stringify({ ...c.data, occurred_at: 0 }))).size).toBe(1);
    expect(completions[0].data).toMatchObject({
      targeted: 3 * PER_APP,
      sent: 3 * PER_APP - unknown,
      failed: unknown,
      bounced: 0,
    });
    return unknown;
  }

  beforeAll(async () => {
    providers = await startFakeProviderApps({ latency: { fixedMs: 250 } }, WS);
    caFile = join(providers.dir, 'ca.pem');
    providers.fakes.writeCa(caFile);
    await createTestTopics(prefix, TOPICS, PARTITIONS);
  });

  afterAll(async () => {
    await Promise.all(
      [...children].map(async (child) => {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }),
    );
    await producer.disconnect();
    await providers?.close();
    await deleteTestTopics(prefix);
    await dropDatabase(databaseUrl);
  });

  it('D5: killed -9 mid-dispatch, restarted, the request redelivered: no device sent twice, one outcome each', async () => {
    const port = await freePort();
    const first = spawnDispatcher(port);
    await healthy(port);
    const event = request('sigkill-1', await devices('a'));
    await publish(event);
    await eventually(async () => receivedFor('a').length >= 15, 60_000, 'the fakes received the first pushes');
    await killed9(first);
    expect(receivedFor('a').length).toBeLessThan(3 * PER_APP); // the kill landed mid-dispatch

    spawnDispatcher(port);
    await healthy(port);
    await publish(event); // the campaign service delivers it again
    await eventually(async () => (await progress(port, 'sigkill-1')).status === 'completed', 90_000, 'completed');

    const counts = receivedFor('a').map(([, count]) => count);
    expect(Math.max(...counts)).toBe(1); // at the fakes: every device received at most once
    const unknown = await checkOutcomes('sigkill-1', 'a');
    // The kill came while the fakes held requests (they answer after 250 ms): those devices' outcomes are unknown.
    expect(unknown).toBeGreaterThan(0);
    expect(await progress(port, 'sigkill-1')).toMatchObject({ status: 'completed', targeted: 90, failed: unknown });
  });

  // Runs after the test above: its restarted process is the first replica.
  it('D5: two replicas share a dispatch; one killed -9, the other finishes it: no device sent twice', async () => {
    expect(children.size).toBe(1);
    const portB = await freePort();
    const replica = spawnDispatcher(portB);
    await healthy(portB);
    const event = request('sigkill-2', await devices('b'));
    await publish(event);
    await eventually(async () => receivedFor('b').length >= 20, 60_000, 'the fakes received the first pushes');
    await eventually(
      async () =>
        (
          (await query(
            "select count(distinct claimed_by)::int as n from dispatch_targets where dispatch_id = 'sigkill-2' and claimed_by is not null",
          )) as { n: number }[]
        )[0].n >= 2,
      30_000,
      'both replicas claimed devices',
    );
    await killed9(replica);
    await eventually(
      async () =>
        ((await query("select status from dispatches where dispatch_id = 'sigkill-2'")) as { status: string }[])[0]
          .status === 'completed',
      90_000,
      'the surviving replica completed the dispatch',
    );
    const counts = receivedFor('b').map(([, count]) => count);
    expect(Math.max(...counts)).toBe(1);
    const unknown = await checkOutcomes('sigkill-2', 'b');
    // The killed replica's pushes in flight: reported unknown by the survivor (their instance lock came free).
    expect(unknown).toBeGreaterThan(0);
  });
});
