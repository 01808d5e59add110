import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { MessageKeys, SdkDeviceEvent, SdkUserEvent, Topics, encodeEvent } from '@push/contracts';
import { createKafka } from '@push/event-bus';
import {
  createTestTopics,
  deleteTestTopics,
  deviceEvents,
  eventually,
  outcomeEvents,
  testBrokers,
  uniqueTopicPrefix,
  userEvents,
} from '@push/testing';
import { REPO_ROOT, collect, runCli, spawnCli } from '../testing/run-cli';

jest.setTimeout(90_000);

const prefix = uniqueTopicPrefix('eventlog-export');
const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const ios = { workspace_id: 'acme', app_id: 'ios-app', device_id: 'phone' };
const android = { workspace_id: 'acme', app_id: 'android-app', device_id: 'tablet' };
const other = { workspace_id: 'globex', app_id: 'ios-app', device_id: 'phone' };

/** What was published where: partition 0 of the device topic gets the first five (offsets 0–4), in this order. */
const onPartition0: { event: SdkDeviceEvent; timestamp: number }[] = [
  { event: deviceEvents.tokenRegistered(ios, T0, 'a'.repeat(64), { user_id: 'kim' }), timestamp: T0 },
  { event: deviceEvents.sessionStarted(ios, T0 + 1000, { user_id: 'kim' }), timestamp: T0 + 1000 },
  { event: deviceEvents.changeUser(android, T0 + 2000, 'lee'), timestamp: T0 + 2000 },
  { event: deviceEvents.tokenRegistered(other, T0 + 3000, 'b'.repeat(64), { user_id: 'kim' }), timestamp: T0 + 3000 },
  { event: deviceEvents.appUninstalled(ios, T0 + 4000), timestamp: T0 + 4000 },
];
const onPartition1: { event: SdkDeviceEvent; timestamp: number }[] = [
  {
    event: deviceEvents.tokenRegistered(android, T0 + 500, 'c'.repeat(160), { platform: 'ANDROID' }),
    timestamp: T0 + 500,
  },
];
const userEvent: SdkUserEvent = userEvents.pushSubscriptionSet(
  { workspace_id: 'acme', user_id: 'kim' },
  T0 + 2500,
  'UNSUBSCRIBED',
  'REST',
);

let producer: Producer;
let dir: string;

const deviceKey = (e: SdkDeviceEvent) => MessageKeys.device(e.data.workspace_id, e.data.app_id, e.data.device_id);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eventlog-export-'));
  await createTestTopics(prefix, [Topics.DeviceEvents, Topics.UserEvents, Topics.DispatchOutcomes], 2);
  producer = createKafka('eventlog-export-test', testBrokers()).producer();
  await producer.connect();
  const send = (partition: number, items: { event: SdkDeviceEvent; timestamp: number }[]) =>
    producer.send({
      topic: prefix + Topics.DeviceEvents,
      messages: items.map(({ event, timestamp }) => ({
        partition,
        key: deviceKey(event),
        value: encodeEvent(Topics.DeviceEvents, event),
        timestamp: String(timestamp),
      })),
    });
  await send(0, onPartition0);
  await send(1, onPartition1);
  // Poison at partition 1 offset 1: not Avro single-object encoding.
  await producer.send({
    topic: prefix + Topics.DeviceEvents,
    messages: [
      { partition: 1, key: 'acme:ios-app:broken', value: Buffer.from('not avro'), timestamp: String(T0 + 600) },
    ],
  });
  await producer.send({
    topic: prefix + Topics.UserEvents,
    messages: [
      {
        partition: 0,
        key: MessageKeys.user('acme', 'kim'),
        value: encodeEvent(Topics.UserEvents, userEvent),
        timestamp: String(T0 + 2500),
      },
    ],
  });
});

afterAll(async () => {
  await producer?.disconnect();
  await deleteTestTopics(prefix);
  rmSync(dir, { recursive: true, force: true });
});

const lines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown> & { event?: Record<string, unknown> });

const exportArgs = (...args: string[]) => ['export', '--topic-prefix', prefix, ...args];

describe('eventlog export against the broker', () => {
  it('exports every message of the chosen topics with topic, partition, offset, key, timestamp and the decoded event; the undecodable one is reported, not dropped', async () => {
    const run = await runCli(exportArgs('--topic', Topics.DeviceEvents));
    expect(run.code).toBe(3);
    const rows = lines(run.stdout);
    expect(rows).toHaveLength(7);
    const ok = rows.filter((r) => r.event);
    expect(ok.map((r) => [r.partition, r.offset, r.event?.event_id])).toEqual(
      expect.arrayContaining([
        ...onPartition0.map((p, i) => [0, i, p.event.data.event_id]),
        [1, 0, onPartition1[0].event.data.event_id],
      ]),
    );
    const first = rows.find((r) => r.partition === 0 && r.offset === 0);
    expect(first).toMatchObject({
      topic: Topics.DeviceEvents,
      key: 'acme:ios-app:phone',
      timestamp: new Date(T0).toISOString(),
      type: 'TokenRegistered',
      event: { user_id: 'kim', token: 'a'.repeat(64), platform: 'IOS', occurred_at: T0 },
    });
    const poison = rows.find((r) => r.partition === 1 && r.offset === 1);
    expect(poison).toMatchObject({ key: 'acme:ios-app:broken', error: { code: 'BAD_MAGIC' } });
    expect(Buffer.from(poison?.value_base64 as string, 'base64').toString()).toBe('not avro');
    expect(run.stderr).toContain('1 message(s) could not be decoded');
    expect(run.stderr).toContain('partition 1 offset 1: BAD_MAGIC');
  });

  it('defaults to every contract topic (a topic missing under the prefix is an error naming it)', async () => {
    const run = await runCli(exportArgs());
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no such topic on the broker: ${prefix}${Topics.DispatchRequests}`);
  });

  it('filters by user, by device, by event type and by workspace', async () => {
    const topics = ['--topic', Topics.DeviceEvents, Topics.UserEvents];
    const byUser = lines((await runCli(exportArgs(...topics, '--user', 'kim', '--workspace', 'acme'))).stdout);
    expect(byUser.filter((r) => r.event).map((r) => r.event?.event_id)).toEqual(
      expect.arrayContaining([
        onPartition0[0].event.data.event_id,
        onPartition0[1].event.data.event_id,
        userEvent.data.event_id,
      ]),
    );
    expect(byUser.filter((r) => r.event)).toHaveLength(3);

    const byDevice = lines((await runCli(exportArgs(...topics, '--device', 'android-app:tablet'))).stdout);
    expect(
      byDevice
        .filter((r) => r.event)
        .map((r) => r.type)
        .sort(),
    ).toEqual(['ChangeUser', 'TokenRegistered']);

    const anyApp = lines((await runCli(exportArgs(...topics, '--device', 'phone'))).stdout);
    expect(anyApp.filter((r) => r.event)).toHaveLength(4);

    const byType = lines((await runCli(exportArgs(...topics, '--type', 'TokenRegistered'))).stdout);
    expect(byType.filter((r) => r.event).map((r) => r.type)).toEqual([
      'TokenRegistered',
      'TokenRegistered',
      'TokenRegistered',
    ]);

    const byWorkspace = lines((await runCli(exportArgs(...topics, '--workspace', 'globex'))).stdout);
    expect(byWorkspace.filter((r) => r.event).map((r) => r.key)).toEqual(['globex:ios-app:phone']);
    // Undecodable messages have no fields to filter on: they are reported whatever the filter.
    expect(byWorkspace.filter((r) => r.error)).toHaveLength(1);

    const unknownType = await runCli(exportArgs(...topics, '--type', 'PushBounced'));
    expect(unknownType.code).toBe(2);
    expect(unknownType.stderr).toContain('--type: PushBounced is not a record of');
  });

  it('reads a time range (Kafka timestamps, inclusive) and an offset range', async () => {
    const byTime = lines(
      (
        await runCli(
          exportArgs(
            '--topic',
            Topics.DeviceEvents,
            '--from',
            new Date(T0 + 1000).toISOString(),
            '--to',
            String(T0 + 3000),
          ),
        )
      ).stdout,
    );
    expect(byTime.map((r) => r.timestamp)).toEqual(
      [T0 + 1000, T0 + 2000, T0 + 3000].map((t) => new Date(t).toISOString()),
    );

    const byOffset = lines(
      (
        await runCli(
          exportArgs('--topic', Topics.DeviceEvents, '--partition', '0', '--from-offset', '1', '--to-offset', '3'),
        )
      ).stdout,
    );
    expect(byOffset.map((r) => [r.partition, r.offset])).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
    ]);

    const bad = await runCli(exportArgs('--from', 'last tuesday'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from: expected an ISO-8601 time');
  });

  it('writes CSV to a file, quoted per RFC 4180, with no progress bar when stderr is piped', async () => {
    const out = join(dir, 'events.csv');
    const run = await runCli(exportArgs('--topic', Topics.UserEvents, '--format', 'csv', '--out', out));
    expect(run.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    const [header, row, ...rest] = text.split('\n');
    expect(header).toBe('topic,partition,offset,key,timestamp,type,workspace_id,event_id,occurred_at,event,error');
    expect(rest.filter(Boolean)).toHaveLength(0);
    expect(
      row.startsWith(
        `${Topics.UserEvents},0,0,acme:kim,${new Date(T0 + 2500).toISOString()},PushSubscriptionSet,acme,`,
      ),
    ).toBe(true);
    // The event's JSON holds quotes and commas: one quoted cell with its quotes doubled.
    expect(row).toContain(`"{""event_id"":""${userEvent.data.event_id}""`);
    expect(run.stderr).toBe(`eventlog: 1 events written to ${out} (1 messages read)\n`);
    expect(run.stderr).not.toMatch(/\[|%|ETA/);
  });

  it('shows a progress bar when stderr is a terminal (a pseudo-terminal from script(1))', async () => {
    const out = join(dir, 'tty.ndjson');
    const command = [
      process.execPath,
      '-r',
      '@swc-node/register',
      'tools/eventlog/main.ts',
      ...exportArgs('--topic', Topics.UserEvents, '--out', out),
    ]
      .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
      .join(' ');
    const terminal = execFileSync('script', ['-qfec', command, '/dev/null'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(terminal).toMatch(/export \[=+\] 100% 1\/1 messages, 1 written/);
    expect(readFileSync(out, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('ends a range whose last offset is a transaction marker (another team’s transactional producer)', async () => {
    const transactional = createKafka('eventlog-export-tx', testBrokers()).producer({
      transactionalId: `eventlog-export-${prefix}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await transactional.connect();
    const sent = outcomeEvents.pushSent(ios, T0 + 7000, { user_id: 'kim' });
    const transaction = await transactional.transaction();
    await transaction.send({
      topic: prefix + Topics.DispatchOutcomes,
      messages: [{ partition: 0, key: 'acme:ios-app:phone', value: encodeEvent(Topics.DispatchOutcomes, sent) }],
    });
    await transaction.commit();
    await transactional.disconnect();
    const run = await runCli(exportArgs('--topic', Topics.DispatchOutcomes));
    expect(run.code).toBe(0);
    // The message at offset 0, the commit marker at 1 (never handed to consumers), the log end at 2.
    expect(lines(run.stdout).map((r) => [r.partition, r.offset, r.type])).toEqual([[0, 0, 'PushSent']]);
  });

  it('stops at the log end captured at the start; --follow goes on with new events until interrupted', async () => {
    const child = spawnCli(exportArgs('--topic', Topics.UserEvents, '--follow'));
    const done = collect(child);
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
    await eventually(async () => seen.includes(userEvent.data.event_id), 30_000, 'the existing event');
    const later = userEvents.pushSubscriptionSet(
      { workspace_id: 'acme', user_id: 'kim' },
      T0 + 9000,
      'OPTED_IN',
      'SDK',
    );
    await producer.send({
      topic: prefix + Topics.UserEvents,
      messages: [{ partition: 1, key: 'acme:kim', value: encodeEvent(Topics.UserEvents, later) }],
    });
    await eventually(async () => seen.includes(later.data.event_id), 30_000, 'the event published while following');
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(0);
    expect(lines(run.stdout).map((r) => r.event?.event_id)).toEqual([userEvent.data.event_id, later.data.event_id]);

    // Without --follow the export ends by itself at the log end.
    const bounded = await runCli(exportArgs('--topic', Topics.UserEvents));
    expect(bounded.code).toBe(0);
    expect(lines(bounded.stdout)).toHaveLength(2);
  });
});
