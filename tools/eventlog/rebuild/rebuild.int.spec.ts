import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ALL_EVENT_TOPICS, MessageKeys, SdkDeviceEvent, TopicName, Topics, decodeEvent } from '@push/contracts';
import { EventProducer, OutgoingEvent, murmur2 } from '@push/event-bus';
import {
  createTestTopics,
  deleteTestTopics,
  deviceEvents,
  deviceTokenEvents,
  dropDatabase,
  eventually,
  messageCount,
  outcomeEvents,
  readMessages,
  subscriptionEvents,
  testBrokers,
  testServerUrl,
  uniqueDatabaseUrl,
  uniqueTopicPrefix,
  userEvents,
} from '@push/testing';
import { REPO_ROOT, runCli } from '../testing/run-cli';
import { freePort } from './replay-process';

jest.setTimeout(240_000);

/** The services built as `npm run build` builds them, into a folder of this test's own (others may rebuild dist/). */
const build = join(REPO_ROOT, '.data', `eventlog-test-${randomUUID().slice(0, 8)}`);
const logs = mkdtempSync(join(tmpdir(), 'eventlog-rebuild-'));

beforeAll(() => {
  execFileSync(
    join(REPO_ROOT, 'node_modules/.bin/swc'),
    ['services', 'libs', '-d', build, '--config-file', '.swcrc', '--ignore', '**/*.spec.ts', '--quiet'],
    { cwd: REPO_ROOT, stdio: 'inherit' },
  );
});

afterAll(() => {
  rmSync(build, { recursive: true, force: true });
  rmSync(logs, { recursive: true, force: true });
});

interface Deployment {
  service: 'token-registry' | 'subscription-state' | 'bounce-processor' | 'segmentation';
  prefix: string;
  databaseUrl: string;
  env: Record<string, string>;
  producer: EventProducer;
  live?: ChildProcess;
  startedPid?: number;
}

async function deployment(service: Deployment['service']): Promise<Deployment> {
  const prefix = uniqueTopicPrefix(`eventlog-${service}`);
  await createTestTopics(prefix, ALL_EVENT_TOPICS, 3);
  const databaseUrl = uniqueDatabaseUrl(`eventlog_${service}`);
  const env = {
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: testBrokers().join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_TOPIC_PARTITIONS: '3',
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    API_KEYS: 'key=acme',
    LOG_LEVEL: 'warn',
  };
  const producer = new EventProducer({
    brokers: testBrokers(),
    clientId: `eventlog-${service}-test`,
    topicPrefix: prefix,
  });
  return { service, prefix, databaseUrl, env, producer };
}

const mainOf = (service: string) => join(build, 'services', service, 'src/main.js');

function startLive(d: Deployment): ChildProcess {
  const log = openSync(join(logs, `${d.service}-live.log`), 'a');
  const child = spawn(process.execPath, [mainOf(d.service)], {
    env: { ...process.env, ...d.env },
    stdio: ['ignore', log, log],
  });
  d.live = child;
  return child;
}

const cli = (d: Deployment, ...args: string[]) => runCli([...args, '--service-main', mainOf(d.service)], d.env);

async function query<R>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as R[];
  } finally {
    await client.end();
  }
}

/** Messages of `topic` the read model has applied (its stored next offsets summed; the topic holds nothing else). */
async function applied(d: Deployment, topic: TopicName): Promise<number> {
  const rows = await query<{ n: string }>(
    d.databaseUrl,
    'select coalesce(sum(next_offset), 0)::text as n from consumer_offsets where topic = $1',
    [topic],
  ).catch(() => [{ n: '0' }]);
  return Number(rows[0].n);
}

/**
 * Waits until the live read model applied every message of `topics`, in their order: before each topic is counted the
 * outbox is empty, so a topic listed after the inputs — the service's own output, which its history projection reads
 * back — is counted with everything the inputs before it published.
 */
async function waitApplied(d: Deployment, topics: TopicName[]): Promise<void> {
  for (const topic of topics) {
    await eventually(async () => (await outboxSize(d)) === 0, 90_000, `${d.service} publishing its outbox`);
    const count = await messageCount(d.prefix + topic);
    await eventually(
      async () => (await applied(d, topic)) === count,
      90_000,
      `${d.service} applied ${count} of ${topic}`,
    );
  }
}

async function outboxSize(d: Deployment): Promise<number> {
  const rows = await query<{ n: number }>(d.databaseUrl, 'select count(*)::int as n from event_outbox').catch(() => [
    { n: -1 },
  ]);
  return rows[0].n;
}

/** Messages of the topics the read model consumes, as verify sums them: every group's stored next offsets. */
async function messagesOf(d: Deployment, topics: TopicName[]): Promise<number> {
  let sum = 0;
  for (const topic of topics) sum += await messageCount(d.prefix + topic);
  return sum;
}

/** The event ids published on an output topic: a republished output would show as the same id twice. */
async function publishedIds(d: Deployment, topic: TopicName): Promise<string[]> {
  const count = await messageCount(d.prefix + topic);
  const messages = await readMessages(d.prefix + topic, count, 60_000);
  return messages.map((m) => (decodeEvent(topic, m.value as Buffer).data as { event_id: string }).event_id);
}

async function teardown(d: Deployment): Promise<void> {
  d.live?.kill('SIGTERM');
  if (d.startedPid) {
    try {
      process.kill(d.startedPid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    await eventually(
      () => {
        try {
          process.kill(d.startedPid as number, 0);
          return false;
        } catch {
          return true;
        }
      },
      30_000,
      'the started service to stop',
    ).catch(() => undefined);
  }
  await d.producer.disconnect();
  const name = decodeURIComponent(new URL(d.databaseUrl).pathname.slice(1));
  for (const row of await query<{ datname: string }>(
    testServerUrl(),
    'select datname from pg_database where datname like $1',
    [`${name}%`],
  ))
    await dropDatabase(testServerUrl(row.datname));
  await deleteTestTopics(d.prefix);
}

/** Publishes a stream of SDK device events in the background until stopped; resolves with how many it published. */
function keepPublishing(d: Deployment, make: (i: number) => OutgoingEvent[]): { stop: () => Promise<number> } {
  let running = true;
  let published = 0;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const events = make(i);
      for (const e of events) await d.producer.publish(e.topic, [{ key: e.key, event: e.event } as never]);
      published += events.length;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return published;
    },
  };
}

const ws = 'acme';
const T0 = Date.UTC(2026, 10, 1);

/**
 * Device i's life: registers (as user u<i>), starts sessions, changes user (to w<i> and back), logs out, sometimes
 * uninstalls. Each user is only ever on one device, so the read model does not depend on how the partitions
 * interleave (which device names a user first is order-dependent in token-registry: see the README's limits).
 */
function deviceLife(i: number, step: number): SdkDeviceEvent {
  const device = { workspace_id: ws, app_id: i % 2 ? 'ios-app' : 'android-app', device_id: `device-${i}` };
  const platform = i % 2 ? 'IOS' : 'ANDROID';
  const at = T0 + step * 60_000 + i;
  switch (step % 6) {
    case 0:
      return deviceEvents.tokenRegistered(device, at, `token-${i}-${step}-${'x'.repeat(40)}`, {
        platform,
        user_id: `u${i}`,
      });
    case 1:
      return deviceEvents.sessionStarted(device, at, {
        platform,
        user_id: `u${i}`,
        permission: step % 4 ? 'AUTHORIZED' : 'DENIED',
      });
    case 2:
      return deviceEvents.changeUser(device, at, step % 12 === 2 ? `w${i}` : `u${i}`);
    case 3:
      return deviceEvents.pushPermissionChanged(device, at, 'AUTHORIZED', { platform });
    case 4:
      return i % 5 === 0 ? deviceEvents.appUninstalled(device, at) : deviceEvents.userLoggedOut(device, at);
    default:
      return deviceEvents.tokenRegistered(device, at, `token-${i}-${'y'.repeat(40)}`, { platform, user_id: null });
  }
}

const sdk = (event: SdkDeviceEvent): OutgoingEvent => ({
  topic: Topics.DeviceEvents,
  key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
  event,
});

/** The first `count` ids `<stem>-<n>` whose message key lands on `partition` of 3, as every producer places it. */
function idsOnPartition(stem: string, count: number, partition: number, keyOf: (id: string) => string): string[] {
  const ids: string[] = [];
  for (let n = 0; ids.length < count; n++)
    if ((murmur2(Buffer.from(keyOf(`${stem}-${n}`))) & 0x7fffffff) % 3 === partition) ids.push(`${stem}-${n}`);
  return ids;
}

/** Publishes events and waits until the live service applied every message of its input topics. */
async function publishAndApply(d: Deployment, events: OutgoingEvent[], inputs: TopicName[]): Promise<void> {
  await d.producer.sendRaw(events.map((e) => d.producer.encode(e)));
  await waitApplied(d, inputs);
}

/**
 * T2 across partitions: pairs of devices, one on partition 0 and one on partition 1 of sdk.device-events.v1, each pair
 * registering one token. The live service gets each pair's newer registration first and the older one only after that
 * was applied — a late registration, which token-registry reports in other steps and with other event ids than in
 * occurred_at order (its README, "Read model"). Half the pairs have their older registration on partition 0, half on
 * partition 1: a replay applies one partition's batch before the other's, so it meets half the pairs in the other
 * order than the live service did, and publishes (would publish) another history for them.
 */
function tokenMovesAcrossPartitions(): { newer: OutgoingEvent[]; older: OutgoingEvent[] } {
  const keyOf = (id: string) => MessageKeys.device(ws, 'ios-app', id);
  const left = idsOnPartition('t2-left', 10, 0, keyOf);
  const right = idsOnPartition('t2-right', 10, 1, keyOf);
  const newer: OutgoingEvent[] = [];
  const older: OutgoingEvent[] = [];
  for (let k = 0; k < 10; k++) {
    const at = T0 + 3_600_000 + k * 10;
    const register = (device_id: string, when: number) =>
      sdk(
        deviceEvents.tokenRegistered(
          { workspace_id: ws, app_id: 'ios-app', device_id },
          when,
          `t2-token-${k}-${'z'.repeat(40)}`,
          {
            platform: 'IOS',
            user_id: `${device_id}-user`,
          },
        ),
      );
    const olderOnLeft = k % 2 === 0;
    older.push(register(olderOnLeft ? left[k] : right[k], at));
    newer.push(register(olderOnLeft ? right[k] : left[k], at + 1000));
  }
  return { newer, older };
}

describe('eventlog rebuild and verify: token-registry, its real process', () => {
  let d: Deployment;
  beforeAll(async () => {
    d = await deployment('token-registry');
    startLive(d);
    const events: OutgoingEvent[] = [];
    for (let step = 0; step < 6; step++) for (let i = 0; i < 40; i++) events.push(sdk(deviceLife(i, step)));
    await publishAndApply(d, events, [Topics.DeviceEvents]);
    const moves = tokenMovesAcrossPartitions();
    await publishAndApply(d, moves.newer, [Topics.DeviceEvents]);
    // The changelog is projected from the output topic: wait for it to have read back every record too.
    await publishAndApply(d, moves.older, [Topics.DeviceEvents, Topics.DeviceTokens]);
  });
  afterAll(() => teardown(d));

  it('verify rebuilds aside and finds 0 differences table by table, T2 moves across partitions included, then drops its scratch database', async () => {
    const run = await cli(d, 'verify', 'token-registry');
    expect(run.stderr).not.toContain('Error');
    expect(run.stdout).toMatch(/token_changelog: [1-9]\d* live rows, [1-9]\d* rebuilt rows, no differences/);
    expect(run.stdout).toMatch(/devices: \d+ live rows, \d+ rebuilt rows, no differences/);
    expect(run.stdout).toContain('\n0 difference(s)');
    expect(run.code).toBe(0);
    // 260 SDK events and every record read back by the changelog projection.
    const messages = await messagesOf(d, [Topics.DeviceEvents, Topics.DeviceTokens]);
    expect(messages).toBeGreaterThan(520);
    expect(run.stdout).toContain(`verify token-registry: ${messages} messages applied by both read models`);
    // The late registrations are in the history: the older device got its token and lost it again.
    expect(
      await query(d.databaseUrl, "select count(*)::int as n from token_changelog where device_id like 't2-%'"),
    ).toEqual([{ n: 30 }]);
    const name = decodeURIComponent(new URL(d.databaseUrl).pathname.slice(1));
    expect(
      await query(testServerUrl(), 'select 1 from pg_database where datname like $1', [`${name}_verify_%`]),
    ).toEqual([]);
  });

  it('verify reports a difference when the live read model was changed behind the log’s back (exit 4)', async () => {
    await query(d.databaseUrl, "update devices set user_id = 'mallory' where device_id = 'device-3'");
    const run = await cli(d, 'verify', 'token-registry', '--json');
    expect(run.code).toBe(4);
    const report = JSON.parse(run.stdout);
    expect(report.differences).toBe(2);
    expect(report.tables.find((t: { table: string }) => t.table === 'devices')).toMatchObject({
      onlyLive: 1,
      onlyRebuilt: 1,
    });
    expect(run.stdout).toContain('mallory');
    // Tokens never appear whole, even in a difference.
    expect(run.stdout).not.toMatch(/token-3-\d+-x{40}/);
  });

  it('as-of over the records the real token-registry published: a login moves the device to another user', async () => {
    const before = await runCli(
      ['as-of', new Date(T0 + 90_000).toISOString(), '--workspace', ws, '--user', 'u3', '--json'],
      d.env,
    );
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({
      summary: 'u3 is reachable on iOS',
      devices: [{ device_id: 'device-3', platform: 'IOS', token_status: 'sendable', foreground_enabled: true }],
    });
    const after = await runCli(
      ['as-of', new Date(T0 + 150_000).toISOString(), '--workspace', ws, '--user', 'u3'],
      d.env,
    );
    expect(after.stdout).toContain("u3 is not reachable: none of the devices the user had is the user's any more");
    expect(after.stdout).toMatch(
      /device ios-app\/device-3 \(iOS\) is no longer this user's: it belongs to user w3 since/,
    );
    expect(after.stdout).toMatch(/ChangeUser ios-app\/device-3 \(user_id=w3\) \[sdk\.device-events\.v1/);
    expect(after.stdout).toMatch(
      /DeviceUserChanged ios-app\/device-3 \(platform=IOS, .*user_id=w3, previous_user_id=u3.*\[token-registry\.device-tokens\.v1/,
    );
  });

  it('rebuild while events keep arriving: the service switches to the rebuilt read model, loses none and republishes nothing', async () => {
    const outputsBefore = await publishedIds(d, Topics.DeviceTokens);
    expect(new Set(outputsBefore).size).toBe(outputsBefore.length);
    let batch = 0;
    const traffic = keepPublishing(d, () => {
      const step = 6 + (batch++ % 12);
      return Array.from({ length: 10 }, (_, i) => sdk(deviceLife(i + 40 * (batch % 2), step)));
    });
    const run = await cli(
      d,
      'rebuild',
      'token-registry',
      '--pid',
      String(d.live?.pid),
      '--start',
      '--json',
      '--log',
      join(logs, 'started.log'),
    );
    const published = await traffic.stop();
    expect(run.stderr).toContain('caught up with the live read model');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    d.startedPid = summary.startedPid;
    expect(summary).toMatchObject({
      service: 'token-registry',
      previousDatabase: expect.stringContaining('_before_rebuild_'),
    });
    expect(d.live?.exitCode ?? d.live?.signalCode).not.toBeNull();
    expect(published).toBeGreaterThan(0);

    // Every event is applied by the service on the rebuilt read model, those published during the switch included, and
    // the changelog projection goes on reading back the output topic from where the live one had got to.
    await waitApplied(d, [Topics.DeviceEvents, Topics.DeviceTokens]);
    expect(await applied(d, Topics.DeviceEvents)).toBe(260 + published);
    // The hand-made change is gone: the rebuilt read model is the log's.
    expect(await query(d.databaseUrl, "select 1 from devices where user_id = 'mallory'")).toEqual([]);
    // No output twice: the replay published nothing, and the switch lost none of the live service's.
    const outputs = await publishedIds(d, Topics.DeviceTokens);
    expect(new Set(outputs).size).toBe(outputs.length);
    expect(outputs.length).toBeGreaterThan(outputsBefore.length);
    // And it equals a rebuild of its own log.
    const again = await cli(d, 'verify', 'token-registry');
    expect(again.stdout).toContain('0 difference(s)');
    expect(again.code).toBe(0);
  });
});

describe('eventlog rebuild and verify: subscription-state, its real process', () => {
  let d: Deployment;
  const userEvent = (user: number, step: number): OutgoingEvent => {
    const states = ['SUBSCRIBED', 'OPTED_IN', 'UNSUBSCRIBED'] as const;
    return {
      topic: Topics.UserEvents,
      key: MessageKeys.user(ws, `user-${user}`),
      event: userEvents.pushSubscriptionSet(
        { workspace_id: ws, user_id: `user-${user}` },
        T0 + step * 1000 + user,
        states[(user + step) % 3],
        'SDK',
      ),
    };
  };
  /** Users known only from one device of token-registry's records: first seen, then authorized (S1, S3). */
  const deviceRecords = (user: number, at: number): OutgoingEvent[] => {
    const device = { workspace_id: ws, app_id: 'ios-app', device_id: `phone-of-${user}` };
    const key = MessageKeys.device(ws, 'ios-app', device.device_id);
    return [
      { topic: Topics.DeviceTokens, key, event: deviceTokenEvents.userFirstSeen(device, at, `dev-user-${user}`) },
      {
        topic: Topics.DeviceTokens,
        key,
        event: deviceTokenEvents.pushCapabilityChanged(device, at + 1, {
          user_id: `dev-user-${user}`,
          previous_permission: 'NOT_DETERMINED',
        }),
      },
    ];
  };
  /**
   * Users whose inputs come on two partitions: token-registry's first sighting of the user (all on one partition of
   * token-registry.device-tokens.v1) and the user's own preference (all on one partition of sdk.user-events.v1).
   * Whichever is applied first makes the published history — first seen, then unsubscribed; or unsubscribed at once,
   * the sighting changing nothing. The live service gets half the users' sighting first and the other half's preference
   * first: a replay applying one partition's batch first meets half of them in the other order.
   */
  const inputsAcrossPartitions = (): { first: OutgoingEvent[]; second: OutgoingEvent[] } => {
    const users = idsOnPartition('cross', 10, 0, (id) => MessageKeys.user(ws, id));
    const phones = idsOnPartition('cross-phone', 10, 0, (id) => MessageKeys.device(ws, 'ios-app', id));
    const first: OutgoingEvent[] = [];
    const second: OutgoingEvent[] = [];
    users.forEach((user_id, k) => {
      const at = T0 + 3_600_000 + k * 10;
      const phone = { workspace_id: ws, app_id: 'ios-app', device_id: phones[k] };
      const sighting: OutgoingEvent = {
        topic: Topics.DeviceTokens,
        key: MessageKeys.device(ws, 'ios-app', phones[k]),
        event: deviceTokenEvents.userFirstSeen(phone, at, user_id),
      };
      const preference: OutgoingEvent = {
        topic: Topics.UserEvents,
        key: MessageKeys.user(ws, user_id),
        event: userEvents.pushSubscriptionSet({ workspace_id: ws, user_id }, at + 500, 'UNSUBSCRIBED', 'SDK'),
      };
      first.push(k % 2 === 0 ? sighting : preference);
      second.push(k % 2 === 0 ? preference : sighting);
    });
    return { first, second };
  };
  beforeAll(async () => {
    d = await deployment('subscription-state');
    startLive(d);
    const events: OutgoingEvent[] = [];
    for (let step = 0; step < 4; step++) for (let u = 0; u < 30; u++) events.push(userEvent(u, step));
    for (let u = 0; u < 30; u++) events.push(...deviceRecords(u, T0 + u));
    const inputs = [Topics.UserEvents, Topics.DeviceTokens];
    await publishAndApply(d, events, inputs);
    const cross = inputsAcrossPartitions();
    await publishAndApply(d, cross.first, inputs);
    await publishAndApply(d, cross.second, [...inputs, Topics.UserSubscriptions]);
  });
  afterAll(() => teardown(d));

  it('verify finds 0 differences, a user’s inputs on several partitions included', async () => {
    const run = await cli(d, 'verify', 'subscription-state');
    expect(run.stdout).toMatch(/subscription_history: [1-9]\d* live rows, [1-9]\d* rebuilt rows, no differences/);
    expect(run.stdout).toMatch(/user_subscriptions: 70 live rows, 70 rebuilt rows, no differences/);
    expect(run.stdout).toContain('\n0 difference(s)');
    expect(run.code).toBe(0);
    // 200 consumed records and every record read back by the history projection.
    const messages = await messagesOf(d, [Topics.UserEvents, Topics.DeviceTokens, Topics.UserSubscriptions]);
    expect(messages).toBeGreaterThan(200);
    expect(run.stdout).toContain(`verify subscription-state: ${messages} messages applied by both read models`);
    // Both shapes of history are there: first seen then unsubscribed, and unsubscribed at once.
    expect(
      await query(
        d.databaseUrl,
        `select count(*)::int as n, count(*) filter (where from_state is null and to_state = 'UNSUBSCRIBED')::int as direct
         from subscription_history where user_id like 'cross-%'`,
      ),
    ).toEqual([{ n: 15, direct: 5 }]);
  });

  it('rebuild while preferences keep arriving loses none and republishes no subscription record', async () => {
    const outputsBefore = await publishedIds(d, Topics.UserSubscriptions);
    let step = 4;
    const traffic = keepPublishing(d, () => {
      step++;
      return Array.from({ length: 10 }, (_, u) => userEvent(u + (step % 3) * 10, step));
    });
    const run = await cli(
      d,
      'rebuild',
      'subscription-state',
      '--pid',
      String(d.live?.pid),
      '--start',
      '--json',
      '--log',
      join(logs, 'started-ss.log'),
    );
    const published = await traffic.stop();
    expect(run.code).toBe(0);
    d.startedPid = JSON.parse(run.stdout).startedPid;
    await waitApplied(d, [Topics.UserEvents, Topics.UserSubscriptions]);
    expect(await applied(d, Topics.UserEvents)).toBe(130 + published);
    const outputs = await publishedIds(d, Topics.UserSubscriptions);
    expect(new Set(outputs).size).toBe(outputs.length);
    expect(outputs.length).toBeGreaterThan(outputsBefore.length);
    const again = await cli(d, 'verify', 'subscription-state');
    expect(again.stdout).toContain('0 difference(s)');
  });

  it('refuses the dispatcher (it sends pushes from its read model) and an unknown service', async () => {
    const dispatcher = await runCli(['rebuild', 'dispatcher'], d.env);
    expect(dispatcher.code).toBe(1);
    expect(dispatcher.stderr).toContain('dispatcher cannot be rebuilt by replay');
    const unknown = await runCli(['verify', 'billing'], d.env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('<service>: expected one of token-registry');
    expect(readFileSync(join(logs, 'started-ss.log'), 'utf8')).not.toContain('"level":50');
  });
});

describe('eventlog verify: bounce-processor, its real process', () => {
  let d: Deployment;
  beforeAll(async () => {
    d = await deployment('bounce-processor');
    startLive(d);
    // Each device's first registration and first outcomes published together on their two topics, so the live service
    // and the replay (two partitions at a time) apply them from concurrent batches in different interleavings.
    const registrations: OutgoingEvent[] = [];
    const events: OutgoingEvent[] = [];
    for (let i = 0; i < 30; i++) {
      const device = { workspace_id: ws, app_id: 'ios-app', device_id: `phone-${i}` };
      const key = MessageKeys.device(ws, 'ios-app', device.device_id);
      const token = `${i}`.padStart(64, 'a');
      registrations.push({
        topic: Topics.DeviceTokens,
        key,
        event: deviceTokenEvents.tokenAssigned(device, T0 + i, token, { user_id: `u${i}` }),
      });
      events.push({
        topic: Topics.DispatchOutcomes,
        key,
        event: outcomeEvents.pushSent(device, T0 + 1000 + i, { user_id: `u${i}` }),
      });
      if (i % 3 === 0)
        events.push({
          topic: Topics.DispatchOutcomes,
          key,
          event: outcomeEvents.pushBounced(device, T0 + 2000 + i, token, 'Unregistered', { user_id: `u${i}` }),
        });
    }
    await d.producer.sendRaw([...registrations, ...events].map((e) => d.producer.encode(e)));
    await waitApplied(d, [Topics.DeviceTokens, Topics.DispatchOutcomes]);
  });
  afterAll(() => teardown(d));

  it('verify finds 0 differences in the delivery read model', async () => {
    const run = await runCli(['verify', 'bounce-processor', '--service-main', mainOf(d.service)], d.env);
    expect(run.stdout).toContain('verify bounce-processor: 70 messages applied by both read models');
    expect(run.stdout).toMatch(/delivery_devices: 30 live rows, 30 rebuilt rows, no differences/);
    expect(run.stdout).toContain('\n0 difference(s)');
    expect(run.code).toBe(0);
  });
});

describe('eventlog verify: segmentation, its real process', () => {
  let d: Deployment;
  beforeAll(async () => {
    d = await deployment('segmentation');
    startLive(d);
    // 20 users with two devices each (their keys fall on different partitions) and a state each, published together
    // on the three owners' topics, and every fourth device moved to the next user: the live service and the replay
    // apply them in other batches, so they number their batches otherwise (audience_versions, changed_seq).
    const events: OutgoingEvent[] = [];
    for (let u = 0; u < 20; u++) {
      const user = { workspace_id: ws, user_id: `u${u}` };
      events.push({
        topic: Topics.UserSubscriptions,
        key: MessageKeys.user(ws, user.user_id),
        event: subscriptionEvents.stateChanged(user, T0 + u, u % 3 ? 'SUBSCRIBED' : 'OPTED_IN'),
      });
      for (const app of ['ios-app', 'android-app']) {
        const device = { workspace_id: ws, app_id: app, device_id: `device-${u}-${app}` };
        const key = MessageKeys.device(ws, app, device.device_id);
        const platform = app === 'ios-app' ? 'IOS' : 'ANDROID';
        events.push({
          topic: Topics.DeviceTokens,
          key,
          event: deviceTokenEvents.tokenAssigned(device, T0 + 100 + u, `${u}-${app}`.padEnd(64, 'c'), {
            platform,
            user_id: user.user_id,
          }),
        });
        if (u % 4 === 0)
          events.push({
            topic: Topics.DeviceTokens,
            key,
            event: deviceTokenEvents.deviceUserChanged(device, T0 + 200 + u, `u${u + 1}`, {
              previous_user_id: user.user_id,
              platform,
            }),
          });
      }
    }
    await d.producer.sendRaw(events.map((e) => d.producer.encode(e)));
    await waitApplied(d, [Topics.DeviceTokens, Topics.UserSubscriptions]);
  });
  afterAll(() => teardown(d));

  it('verify finds 0 differences, comparing the two per-batch counters’ tables without those counters', async () => {
    const run = await runCli(['verify', 'segmentation', '--service-main', mainOf(d.service)], d.env);
    expect(run.stdout).toContain('verify segmentation: 70 messages applied by both read models');
    expect(run.stdout).toMatch(/audience_devices: 40 live rows, 40 rebuilt rows, no differences/);
    expect(run.stdout).toMatch(
      /audience_versions: 1 live rows, 1 rebuilt rows, no differences \(version not compared: numbered in commit order\)/,
    );
    expect(run.stdout).toMatch(
      /audience_user_changes: 20 live rows, 20 rebuilt rows, no differences \(changed_seq not compared: numbered in commit order\)/,
    );
    expect(run.stdout).toContain('\n0 difference(s)');
    expect(run.code).toBe(0);
  });
});
