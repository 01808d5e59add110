// End-to-end freshness (issue 15): how long after the ingestion gateway publishes a TokenRegistered the user's export
// (`POST /users/export/ids` on segmentation) lists the token, while the platform takes a sustained SDK load.
//   npm run bench:freshness -- [--rate 2000] [--duration-s 120] [--warmup-s 20] [--probes-per-s 5] [--devices 20000]
//                              [--users 15000] [--partitions 6]
// The five services built into a folder of the run's own and started from their main.js with their production heap
// budget (deploy/service-node-options), the fake providers as a process and an apps file for them, on a unique topic
// prefix of the broker of `with-stack.sh` and throwaway databases of the local Postgres. The load is the benchmarks'
// realistic SDK stream (bench/support.ts deviceEventStream) at --rate events/s; among it, --probes-per-s times a
// second, a TokenRegistered of a new device of a new user (workspace ws-bench, iOS, AUTHORIZED). From just before the
// probe is handed to the producer until an export of the probe's user lists its token (every outstanding probe's user
// asked in one export call every 20 ms): the freshness. Warm-up probes are not counted. p50, p95, p99, max; the floor
// is p99 ≤ 1 s. Also: the rate achieved, probes never seen (30 s), and how far behind token-registry and segmentation
// were at the end (their stored offsets against the log end).
// Writes bench/results/e2e-freshness-latest.json; stops everything and drops the databases and topics, also on failure.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { ALL_EVENT_TOPICS, MessageKeys, Topics } from '@push/contracts';
import { EventProducer } from '@push/event-bus';
import {
  createTestTopics,
  deleteTestTopics,
  deviceEvents,
  dropDatabase,
  messageCount,
  testBrokers,
  uniqueDatabaseUrl,
  uniqueTopicPrefix,
} from '@push/testing';
import {
  PLATFORM_SERVICES,
  PlatformProcesses,
  PlatformService,
  REPO_ROOT,
  buildPlatform,
  callJson,
  startFakeProvidersProcess,
  writeAppsFile,
} from '../tools/e2e/platform';
import { cleanup, cleanups, sleep } from './processes';
import { STREAM_WORKSPACE, argValue, deviceEventStream, publishDeviceEvents, writeResults } from './support';

const RATE = Number(argValue('--rate', '2000'));
const DURATION_S = Number(argValue('--duration-s', '120'));
const WARMUP_S = Number(argValue('--warmup-s', '20'));
const PROBES_PER_S = Number(argValue('--probes-per-s', '5'));
const DEVICES = Number(argValue('--devices', '20000'));
const USERS = Number(argValue('--users', String(Math.round(DEVICES * 0.75))));
const PARTITIONS = Number(argValue('--partitions', '6'));
const PROBE_TIMEOUT_MS = 30_000;
const POLL_MS = 20;
const KEY = 'bench';
const FLOOR_P99_MS = 1000;

const now = () => performance.now();

interface Probe {
  user: string;
  token: string;
  sentAt: number;
  warmup: boolean;
  seenMs?: number;
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function storedBehind(databaseUrl: string, topicPrefix: string, topics: string[]): Promise<number | null> {
  const client = new Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    let behind = 0;
    for (const topic of topics) {
      const { rows } = await client.query<{ next: string }>(
        'select coalesce(sum(next_offset), 0)::text as next from consumer_offsets where topic = $1',
        [topic],
      );
      behind += (await messageCount(topicPrefix + topic)) - Number(rows[0].next);
    }
    return behind;
  } catch {
    return null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  if (!(RATE > 0 && DURATION_S > 0 && WARMUP_S >= 0 && PROBES_PER_S > 0 && DEVICES > 0 && USERS > 0))
    throw new Error('--rate, --duration-s, --probes-per-s, --devices, --users positive; --warmup-s ≥ 0');
  const run = join(REPO_ROOT, '.data', `e2e-freshness-${randomUUID().slice(0, 8)}`);
  mkdirSync(run, { recursive: true });
  cleanups.push(async () => rmSync(run, { recursive: true, force: true }));
  const build = join(run, 'build');
  buildPlatform(build);

  const topicPrefix = uniqueTopicPrefix('freshness');
  cleanups.push(() => deleteTestTopics(topicPrefix));
  await createTestTopics(topicPrefix, ALL_EVENT_TOPICS, PARTITIONS);
  const databases = Object.fromEntries(
    PLATFORM_SERVICES.map((s) => [s, uniqueDatabaseUrl(`freshness_${s.replace(/-/g, '_')}`)]),
  ) as Record<PlatformService, string>;
  cleanups.push(async () => {
    await Promise.allSettled(Object.values(databases).map((url) => dropDatabase(url)));
  });

  const fakes = await startFakeProvidersProcess({ build, dir: join(run, 'fakes'), logFile: join(run, 'fakes.log') });
  cleanups.push(() => fakes.stop());
  const platform = new PlatformProcesses({
    build,
    brokers: testBrokers(),
    databaseUrlOf: (s) => databases[s],
    topicPrefix,
    partitions: PARTITIONS,
    apiKeys: `${KEY}=${STREAM_WORKSPACE}`,
    appsFile: writeAppsFile(join(run, 'apps.json'), [STREAM_WORKSPACE], fakes.settings),
    caFile: fakes.caFile,
    logDir: join(run, 'logs'),
  });
  cleanups.push(() => platform.stopAll());
  await platform.startAll(180_000);
  console.log(
    `e2e freshness: ${RATE} SDK events/s for ${WARMUP_S} s warm-up + ${DURATION_S} s, ${PROBES_PER_S} probes/s, ` +
      `${DEVICES} devices, ${USERS} users, ${PARTITIONS} partitions, node ${process.version}`,
  );

  const stream = deviceEventStream({
    events: Math.ceil(RATE * (WARMUP_S + DURATION_S)) + 1,
    devices: DEVICES,
    users: USERS,
  });
  const producer = new EventProducer({ brokers: testBrokers(), clientId: 'freshness-load', topicPrefix });
  const probeProducer = new EventProducer({ brokers: testBrokers(), clientId: 'freshness-probes', topicPrefix });
  cleanups.push(async () => {
    await Promise.allSettled([producer.disconnect(), probeProducer.disconnect()]);
  });
  await Promise.all([producer.connect(), probeProducer.connect()]);

  const totalMs = (WARMUP_S + DURATION_S) * 1000;
  const started = now();
  let published = 0;
  let stopping = false;

  // The load: every 50 ms what is due at RATE, in one send.
  const load = (async () => {
    while (!stopping) {
      const due = Math.floor(((now() - started) / 1000) * RATE);
      if (due > published) {
        const to = Math.min(due, published + RATE);
        await publishDeviceEvents(producer, topicPrefix + Topics.DeviceEvents, published, to, stream.eventAt);
        published = to;
      }
      await sleep(50);
    }
  })();

  // The probes, on a producer of their own so that they do not wait behind a load batch.
  const probes: Probe[] = [];
  const probing = (async () => {
    for (let n = 0; !stopping; n++) {
      const at = started + (n * 1000) / PROBES_PER_S;
      if (at > now()) await sleep(at - now());
      if (stopping) break;
      const user = `probe-user-${n}`;
      const token = randomBytes(32).toString('hex');
      const device = { workspace_id: STREAM_WORKSPACE, app_id: 'ios-app', device_id: `probe-device-${n}` };
      const probe: Probe = { user, token, sentAt: now(), warmup: now() - started < WARMUP_S * 1000 };
      probes.push(probe);
      void probeProducer.publish(Topics.DeviceEvents, [
        {
          key: MessageKeys.device(device.workspace_id, device.app_id, device.device_id),
          event: deviceEvents.tokenRegistered(device, Date.now(), token, { user_id: user }),
        },
      ]);
    }
  })();

  // The poller: every outstanding probe's user in one export call.
  const exportUrl = `${platform.url('segmentation')}/users/export/ids`;
  const polling = (async () => {
    while (!stopping || probes.some((p) => p.seenMs === undefined && now() - p.sentAt < PROBE_TIMEOUT_MS)) {
      const open = probes.filter((p) => p.seenMs === undefined && now() - p.sentAt < PROBE_TIMEOUT_MS);
      if (open.length) {
        const answer = await callJson<{ users: { external_id: string; push_tokens: { token: string }[] }[] }>(
          exportUrl,
          KEY,
          'POST',
          { external_ids: open.map((p) => p.user), fields_to_export: ['external_id', 'push_tokens'] },
        ).catch(() => null);
        const at = now();
        const byUser = new Map(answer?.body?.users?.map((u) => [u.external_id, u]) ?? []);
        for (const p of open)
          if (byUser.get(p.user)?.push_tokens?.some((t) => t.token === p.token)) p.seenMs = at - p.sentAt;
      }
      await sleep(POLL_MS);
    }
  })();

  let lastReport = now();
  while (now() - started < totalMs) {
    platform.check();
    await sleep(1000);
    if (now() - lastReport >= 10_000) {
      lastReport = now();
      const seen = probes.filter((p) => p.seenMs !== undefined && !p.warmup).map((p) => p.seenMs!);
      seen.sort((a, b) => a - b);
      console.log(
        `${Math.round((now() - started) / 1000)} s: ${published} events (${Math.round(published / ((now() - started) / 1000))}/s), ` +
          `probes seen ${seen.length}, p50 ${percentile(seen, 50)?.toFixed(0)} ms, p99 ${percentile(seen, 99)?.toFixed(0)} ms`,
      );
    }
  }
  const elapsedS = (now() - started) / 1000;
  stopping = true;
  await Promise.all([load, probing]);
  const publishedAtEnd = published;
  const behind = {
    token_registry: await storedBehind(databases['token-registry'], topicPrefix, [Topics.DeviceEvents]),
    segmentation: await storedBehind(databases.segmentation, topicPrefix, [Topics.DeviceTokens]),
  };
  await polling;

  const measured = probes.filter((p) => !p.warmup);
  const seen = measured.filter((p) => p.seenMs !== undefined).map((p) => p.seenMs!);
  seen.sort((a, b) => a - b);
  const round = (v: number | null) => (v === null ? null : Math.round(v));
  const p99 = round(percentile(seen, 99));
  const missing = measured.length - seen.length;
  const result = {
    benchmark: 'e2e-freshness',
    at: new Date().toISOString(),
    node: process.version,
    rate_per_s: RATE,
    achieved_rate_per_s: Math.round(publishedAtEnd / elapsedS),
    duration_s: DURATION_S,
    warmup_s: WARMUP_S,
    devices: DEVICES,
    users: USERS,
    partitions: PARTITIONS,
    probes_per_s: PROBES_PER_S,
    probes: measured.length,
    probes_never_seen: missing,
    freshness_ms: {
      p50: round(percentile(seen, 50)),
      p95: round(percentile(seen, 95)),
      p99,
      max: round(seen.at(-1) ?? null),
    },
    messages_behind_at_end: behind,
    services_exited_by_themselves: platform.unexpectedExits,
    floors: { p99_ms: FLOOR_P99_MS, met: p99 !== null && p99 <= FLOOR_P99_MS && missing === 0 },
  };
  console.log(
    `\nfreshness over ${seen.length} probes at ${result.achieved_rate_per_s} events/s: p50 ${result.freshness_ms.p50} ms, ` +
      `p95 ${result.freshness_ms.p95} ms, p99 ${p99} ms, max ${result.freshness_ms.max} ms; ${missing} never seen; ` +
      `behind at the end: token-registry ${behind.token_registry}, segmentation ${behind.segmentation} messages ` +
      `(floor p99 ≤ ${FLOOR_P99_MS} ms — ${result.floors.met ? 'met' : 'NOT met'})`,
  );
  writeResults('e2e-freshness', result);
  await cleanup();
  process.exit(0);
}

main().catch(async (error) => {
  console.error(error);
  await cleanup();
  process.exit(1);
});
