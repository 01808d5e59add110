// dispatcher benchmark (issue 14), adapter level: the provider adapters (`RoutingPushProvider`, what the dispatcher's
// worker calls) sending a 100,000-device audience split over APNs (40 %), FCM (40 %) and Web Push (20 %) to the fake
// providers, each answering after ~20 ms. The fakes run in their own process (`tools/fake-providers`, the runnable
// tool), the sender in another with the service's Node flags, trusting the fakes' CA only through NODE_EXTRA_CA_CERTS
// as the service would; both apart from this process, which orchestrates and measures. Per run:
//   (1) each provider alone, then the three at once: pushes/s per provider, the sender's peak RSS, every device
//       answered once at the fake;
//   (2) FCM the other way: firebase-admin's sendEach (500 messages a call, a new HTTP/2 session per call) redirected
//       to the fake, against the adapter's own long-lived sessions (services/dispatcher/src/providers/README.md);
//   (3) the fakes' own maximum rate, latency 0, driven by a minimal raw client from this process: the ratio says how
//       far the sender is from what the fakes can take.
//   (4) the service level: the built dispatcher as its own process (as operators run it, APPS_CONFIG to the fakes,
//       NODE_EXTRA_CA_CERTS), its eligibility read model fed the three owners' facts for every device, then one
//       DispatchRequested for the whole audience: the time to the first push at the fakes and to DispatchCompleted,
//       the service's peak RSS (Kafka and Postgres: the local ones; topics of a fresh prefix and the database are
//       removed afterwards; --service no leaves it out).
//   npm run bench:dispatcher -- [--devices 100000] [--runs 1] [--latency-ms 20] [--raw-seconds 5] [--fcm-compare yes]
//                               [--batch 500] [--batch-concurrency 4] [--web-push-decrypt-every 10] [--service yes]
// Prints the figures and writes bench/results/dispatcher-latest.json. Every process, file, topic and database it made
// is removed, also on failure.
import { ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Registry } from 'prom-client';
import webpush from 'web-push';
import { cert, deleteApp, initializeApp } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import { MessageKeys, type PushMessage, Topics, decodeEvent, encodeEvent } from '@push/contracts';
import { EventProducer, RawMessage, createKafka, provisionTopics } from '@push/event-bus';
import { redirectFirebaseAdmin, redirectingAgent } from '@push/fake-providers';
import { AppsFile } from '@push/service-kit';
import {
  deviceTokenEvents,
  dispatchEvents,
  dropDatabase,
  subscriptionEvents,
  testBrokers,
  uniqueDatabaseUrl,
} from '@push/testing';
import { ELIGIBILITY_GROUP } from '../services/dispatcher/src/projections/eligibility/eligibility.projection';
import { ProviderMetrics } from '../services/dispatcher/src/providers/provider-metrics';
import { providerSettingsFrom } from '../services/dispatcher/src/providers/provider-settings';
import type { PushTarget, SendResult } from '../services/dispatcher/src/providers/push-provider';
import { RoutingPushProvider } from '../services/dispatcher/src/providers/routing-push-provider';
import { RAW_LIMIT_FETCH, argValue, median, scrapeBusMetrics, serviceNodeArgs, writeResults } from './support';

const ROLE = argValue('--role', 'bench');
const DEVICES = Number(argValue('--devices', '100000'));
const RUNS = Number(argValue('--runs', '1'));
const LATENCY_MS = Number(argValue('--latency-ms', '20'));
const RAW_SECONDS = Number(argValue('--raw-seconds', '5'));
const FCM_COMPARE = argValue('--fcm-compare', 'yes') !== 'no';
const BATCH = Number(argValue('--batch', '500'));
const BATCH_CONCURRENCY = Number(argValue('--batch-concurrency', '4'));
/** The fake push service decrypts one push in this many (its ECDH costs what the sender's encryption does). */
const DECRYPT_EVERY = Number(argValue('--web-push-decrypt-every', '10'));
const SERVICE = argValue('--service', 'yes') !== 'no';
const SERVICE_PORT = Number(argValue('--port', '39104'));
const SERVICE_PARTITIONS = 6;
const WORKSPACE = 'ws-bench';
const SHARE = { ios: 0.4, android: 0.4, web: 0.2 } as const;
type Platform = keyof typeof SHARE;
const PLATFORMS = Object.keys(SHARE) as Platform[];
const FLOORS = { apns_per_s: 5_000, fcm_per_s: 5_000, web_push_per_s: 1_500, sender_peak_rss_mb: 400 };

const MESSAGE: PushMessage = {
  title: 'Spring sale',
  body: 'Everything 20 % off until Sunday',
  data: { campaign: 'spring', deeplink: 'app://sale' },
  silent: false,
  ttl_seconds: 86_400,
  collapse_key: 'spring',
  priority: 'HIGH',
};

const apnsToken = (i: number) => (i.toString(16).padStart(16, '0') + 'a'.repeat(48)).slice(0, 64);
const fcmToken = (i: number) => `f${i.toString(36).padStart(10, '0')}:APA91b${'x'.repeat(140)}`;

interface SenderConfig {
  appsFile: string;
  targetsFile: string;
  caFile: string;
  fcmOrigin: string;
  batch: number;
  batchConcurrency: number;
  phases: PhaseName[];
}

const PHASE_PLATFORMS = {
  apns: ['ios'],
  fcm: ['android'],
  web_push: ['web'],
  all_three: ['ios', 'android', 'web'],
} as const satisfies Record<string, readonly Platform[]>;
type PhaseName = keyof typeof PHASE_PLATFORMS | 'fcm_firebase_admin';
/**
 * Each provider alone, the three at once; with --fcm-compare, firebase-admin's sendEach between two runs of the
 * adapter's FCM (the order evens out a machine that gets busier or quieter).
 */
const PHASES: PhaseName[] = [
  'apns',
  'fcm',
  'web_push',
  'all_three',
  ...(FCM_COMPARE ? (['fcm_firebase_admin', 'fcm'] as const) : []),
];

interface Phase {
  phase: string;
  pushes: number;
  seconds: number;
  perS: number;
  /** The sender's CPU time in the phase: pushes per CPU second is its rate on a core of its own. */
  cpuSeconds: number;
  perCpuS: number;
  outcomes: Record<string, number>;
}

const cpuSecondsOf = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;

// ---------------------------------------------------------------------------------------------------------------------
// The sender process: the adapters as the dispatcher runs them.

const peakRssMbOf = (pid: number | 'self') =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

function tally(results: SendResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const key = r.kind === 'failed' ? `failed ${r.category}` : r.kind;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** The worker's way: batches of `batch` devices of one app, `concurrency` of them in flight. */
async function sendAll(
  provider: RoutingPushProvider,
  app: NonNullable<ReturnType<AppsFile['app']>>,
  targets: PushTarget[],
  batch: number,
  concurrency: number,
): Promise<SendResult[]> {
  const results: SendResult[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < targets.length) {
        const from = next;
        next += batch;
        const out = await provider.send(app, MESSAGE, targets.slice(from, from + batch));
        for (let i = 0; i < out.length; i++) results[from + i] = out[i];
      }
    }),
  );
  return results;
}

async function sender(config: SenderConfig): Promise<void> {
  const apps = AppsFile.load(config.appsFile);
  const tokens = JSON.parse(readFileSync(config.targetsFile, 'utf8')) as Record<Platform, string[]>;
  const platformOf = { ios: 'IOS', android: 'ANDROID', web: 'WEB' } as const;
  const targetsOf = (platform: Platform): PushTarget[] =>
    tokens[platform].map((token, i) => ({
      workspaceId: WORKSPACE,
      appId: `${platform}-bench`,
      deviceId: `${platform}-${i}`,
      userId: `user-${i}`,
      platform: platformOf[platform],
      token,
    }));
  const provider = new RoutingPushProvider({
    settings: providerSettingsFrom(process.env),
    metrics: new ProviderMetrics(new Registry()),
    logger: { warn: (details, message) => process.stderr.write(`${message} ${JSON.stringify(details)}\n`) },
  });
  const phases: Phase[] = [];
  const timed = async (phase: string, platforms: readonly Platform[]) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const results = await Promise.all(
      platforms.map((p) =>
        sendAll(provider, apps.app(WORKSPACE, `${p}-bench`)!, targetsOf(p), config.batch, config.batchConcurrency),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = cpuSecondsOf(process.cpuUsage(cpu));
    const all = results.flat();
    const pushes = all.length;
    phases.push({
      phase,
      pushes,
      seconds,
      perS: pushes / seconds,
      cpuSeconds,
      perCpuS: pushes / cpuSeconds,
      outcomes: tally(all),
    });
    process.stderr.write(
      `  ${phase}: ${pushes} pushes in ${seconds.toFixed(2)} s, ${Math.round(pushes / seconds)}/s (${Math.round(pushes / cpuSeconds)} per CPU second)\n`,
    );
  };
  // A small warm-up per app: connections, the OAuth token, the first VAPID signature, the JIT.
  for (const p of PLATFORMS)
    await provider.send(apps.app(WORKSPACE, `${p}-bench`)!, MESSAGE, targetsOf(p).slice(0, 50));

  let firebaseAdmin: {
    send: (tokens: string[]) => Promise<Record<string, number>>;
    close: () => Promise<void>;
  } | null = null;
  /** FCM the other way: firebase-admin's sendEach of 500, redirected to the fake only while its phase runs. */
  const viaFirebaseAdmin = async () => {
    const ca = readFileSync(config.caFile, 'utf8');
    const undo = redirectFirebaseAdmin(config.fcmOrigin, ca);
    try {
      if (!firebaseAdmin) {
        const android = apps.app(WORKSPACE, 'android-bench')!;
        const app = initializeApp(
          {
            credential: cert(android.fcm!.service_account_file!, redirectingAgent(config.fcmOrigin, ca)),
            projectId: android.fcm!.project_id,
          },
          'bench-firebase-admin',
        );
        const messaging = getMessaging(app);
        const message = {
          notification: { title: MESSAGE.title!, body: MESSAGE.body! },
          data: MESSAGE.data,
          android: { ttl: 86_400_000, collapseKey: 'spring', priority: 'high' as const },
        };
        firebaseAdmin = {
          send: async (list) => {
            const outcomes: Record<string, number> = {};
            let next = 0;
            await Promise.all(
              Array.from({ length: config.batchConcurrency }, async () => {
                while (next < list.length) {
                  const from = next;
                  next += 500;
                  const response = await messaging.sendEach(
                    list.slice(from, from + 500).map((token) => ({ ...message, token })),
                  );
                  for (const r of response.responses) {
                    const key = r.success ? 'sent' : (r.error?.code ?? 'error');
                    outcomes[key] = (outcomes[key] ?? 0) + 1;
                  }
                }
              }),
            );
            return outcomes;
          },
          close: () => deleteApp(app),
        };
        await firebaseAdmin.send(tokens.android.slice(0, 50));
      }
      const started = performance.now();
      const outcomes = await firebaseAdmin.send(tokens.android);
      return { seconds: (performance.now() - started) / 1000, outcomes };
    } finally {
      undo();
    }
  };

  let adapterRssMb = 0;
  for (const phase of config.phases) {
    if (phase === 'fcm_firebase_admin') {
      adapterRssMb ||= peakRssMbOf('self');
      const cpu = process.cpuUsage();
      const { seconds, outcomes } = await viaFirebaseAdmin();
      const cpuSeconds = cpuSecondsOf(process.cpuUsage(cpu));
      const pushes = tokens.android.length;
      const perCpuS = pushes / cpuSeconds;
      phases.push({ phase, pushes, seconds, perS: pushes / seconds, cpuSeconds, perCpuS, outcomes });
      process.stderr.write(
        `  ${phase}: ${pushes} pushes in ${seconds.toFixed(2)} s, ${Math.round(pushes / seconds)}/s (${Math.round(perCpuS)} per CPU second)\n`,
      );
    } else await timed(phase, PHASE_PLATFORMS[phase]);
  }
  adapterRssMb ||= peakRssMbOf('self');
  await provider.close();
  if (firebaseAdmin) await (firebaseAdmin as { close: () => Promise<void> }).close();
  process.stdout.write(JSON.stringify({ phases, adapterRssMb, peakRssMb: peakRssMbOf('self') }) + '\n');
}

// ---------------------------------------------------------------------------------------------------------------------
// The orchestrator.

interface Ready {
  caFile: string;
  apns: string;
  fcm: string;
  webPush: string;
  admin: string;
  appsSettings: string;
}

const children = new Set<ChildProcess>();
/** What a signal must undo besides the processes: the service run's topics and database. */
const cleanups = new Set<() => Promise<void>>();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

function start(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** The first stdout line of `child` that `accept` takes, parsed as JSON. */
function lineOf<T>(child: ChildProcess, accept: (line: string) => boolean, what: string): Promise<T> {
  return new Promise((resolveLine, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let at: number;
      while ((at = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 1);
        if (accept(line)) resolveLine(JSON.parse(line) as T);
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (code ${code}) before it was ready`)));
  });
}

async function admin<T = unknown>(ready: Ready, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(ready.admin + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface FakeCounters {
  received: number;
  firstAt: number | null;
  lastAt: number | null;
  tokens: number;
  maxPerToken: number;
  perAnswer: Record<string, number>;
}
type AllCounters = { apns: FakeCounters; fcm: FakeCounters; webPush: FakeCounters & { decrypted: number } };

/** A minimal client at full speed against one fake for `seconds` (latency 0): the fake's own maximum rate. */
/**
 * The fakes' own maximum, latency 0: what they answered per second, the share of a core the fakes' process used, and
 * so what they answer per CPU second (their rate with a core of their own, however busy the machine or the client).
 */
interface RawRate {
  perS: number;
  fakeCpuShare: number;
  perFakeCpuS: number;
}

/** A process's CPU seconds so far (user + system, /proc/<pid>/stat). */
function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}
const CLK_TCK = 100;

async function rawLoad(
  fakePid: number,
  ready: Ready,
  apps: AppsFile,
  tokens: Record<Platform, string[]>,
  platform: Platform,
): Promise<RawRate> {
  const ca = readFileSync(ready.caFile, 'utf8');
  const app = apps.app(WORKSPACE, `${platform}-bench`)!;
  const name = platform === 'ios' ? 'apns' : platform === 'android' ? 'fcm' : 'webPush';
  const before = (await admin<AllCounters>(ready, 'GET', '/counters'))[name].received;
  const cpuBefore = processCpuSeconds(fakePid);
  const started = performance.now();
  const until = started + RAW_SECONDS * 1000;
  const inFlight = 256;
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const jws = (header: object, claims: object, key: string, alg: 'ES256' | 'RS256') => {
    const input = `${b64(header)}.${b64(claims)}`;
    const signature = sign(
      'sha256',
      Buffer.from(input),
      alg === 'ES256' ? { key: createPrivateKey(key), dsaEncoding: 'ieee-p1363' } : createPrivateKey(key),
    );
    return `${input}.${signature.toString('base64url')}`;
  };
  const h2 = (
    origin: string,
    path: (i: number) => string,
    headers: http2.OutgoingHttpHeaders,
    body: (i: number) => string,
  ) =>
    Promise.all(
      Array.from({ length: 4 }, async (_, s) => {
        const session = http2.connect(origin, { ca });
        await Promise.all(
          Array.from({ length: inFlight / 4 }, async (_, w) => {
            for (let i = s * 100_000 + w; performance.now() < until; i += inFlight) {
              await new Promise<void>((done) => {
                const stream = session.request({ ':method': 'POST', ':path': path(i), ...headers });
                stream.on('data', () => undefined);
                stream.on('end', () => done());
                stream.on('error', () => done());
                stream.end(body(i));
              });
            }
          }),
        );
        session.close();
      }),
    );
  if (platform === 'ios') {
    const apns = app.apns!;
    const jwt = jws(
      { alg: 'ES256', kid: apns.key_id },
      { iss: apns.team_id, iat: Math.floor(Date.now() / 1000) },
      readFileSync(apns.key_file, 'utf8'),
      'ES256',
    );
    const body = JSON.stringify({ aps: { alert: { title: MESSAGE.title, body: MESSAGE.body } } });
    const list = tokens.ios;
    await h2(
      ready.apns,
      (i) => `/3/device/${list[i % list.length]}`,
      { authorization: `bearer ${jwt}`, 'apns-topic': apns.topic, 'apns-push-type': 'alert', 'apns-priority': '10' },
      () => body,
    );
  } else if (platform === 'android') {
    const account = JSON.parse(readFileSync(app.fcm!.service_account_file!, 'utf8'));
    const now = Math.floor(Date.now() / 1000);
    const assertion = jws(
      { alg: 'RS256', typ: 'JWT' },
      {
        iss: account.client_email,
        scope: 'https://www.googleapis.com/auth/firebase.messaging',
        aud: 'https://oauth2.googleapis.com/token',
        iat: now,
        exp: now + 3600,
      },
      account.private_key,
      'RS256',
    );
    const grant = await fetchToken(ready.fcm, ca, assertion);
    const list = tokens.android;
    await h2(
      ready.fcm,
      () => `/v1/projects/${app.fcm!.project_id}/messages:send`,
      { authorization: `Bearer ${grant}`, 'content-type': 'application/json' },
      (i) =>
        JSON.stringify({
          message: {
            token: list[i % list.length],
            notification: { title: MESSAGE.title, body: MESSAGE.body },
            data: MESSAGE.data,
          },
        }),
    );
  } else {
    // Encrypted once per subscription (a few hundred), then sent round robin: the client costs next to nothing.
    const vapidDetails = {
      subject: app.webpush!.subject,
      publicKey: app.webpush!.vapid_public_key,
      privateKey: app.webpush!.vapid_private_key,
    };
    const prepared = tokens.web.slice(0, 400).map((t) =>
      webpush.generateRequestDetails(JSON.parse(t), JSON.stringify({ title: MESSAGE.title }), {
        vapidDetails,
        TTL: 60,
      }),
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 64, ca });
    await Promise.all(
      Array.from({ length: 64 }, async (_, w) => {
        for (let i = w; performance.now() < until; i += 64) {
          const details = prepared[i % prepared.length];
          await new Promise<void>((done) => {
            const req = httpsRequest(
              details.endpoint,
              { method: 'POST', headers: details.headers as Record<string, string>, agent },
              (res) => {
                res.resume();
                res.on('end', () => done());
              },
            );
            req.on('error', () => done());
            req.end(details.body);
          });
        }
      }),
    );
    agent.destroy();
  }
  const after = (await admin<AllCounters>(ready, 'GET', '/counters'))[name].received;
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = processCpuSeconds(fakePid) - cpuBefore;
  const received = after - before;
  return { perS: received / seconds, fakeCpuShare: cpuSeconds / seconds, perFakeCpuS: received / cpuSeconds };
}

function fetchToken(origin: string, ca: string, assertion: string): Promise<string> {
  return new Promise((resolveToken, reject) => {
    const body = new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion,
    }).toString();
    const req = httpsRequest(
      `${origin}/token`,
      { method: 'POST', ca, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () =>
          res.statusCode === 200
            ? resolveToken(JSON.parse(text).access_token)
            : reject(new Error(`token: ${res.statusCode} ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// The service level: the built dispatcher as its own process, from DispatchRequested to DispatchCompleted.

interface ServiceResult {
  facts: number;
  eligibilityAppliedS: number;
  requestToFirstPushMs: number;
  requestToCompletedMs: number;
  firstToLastPushPerS: number;
  /** Each provider's pushes over the time from its first to its last at the fake (the service sends app by app). */
  perProviderPerS: { apns: number; fcm: number; web_push: number };
  completed: Record<string, unknown>;
  servicePeakRssMb: number;
  fake: AllCounters;
}

/**
 * Publishes the three owners' facts for every device (token-registry's capability and token, subscription-state's
 * SUBSCRIBED user) on topics of a fresh prefix, starts the built dispatcher (its own Node flags, a fresh database,
 * APPS_CONFIG to the fakes, NODE_EXTRA_CA_CERTS), waits until its eligibility read model applied them, then publishes
 * one DispatchRequested for the whole audience (a segment: every push-enabled user) and times it to the first push
 * at the fakes and to its DispatchCompleted.
 */
async function serviceRun(ready: Ready, appsFile: string, tokens: Record<Platform, string[]>): Promise<ServiceResult> {
  const prefix = `bench.dispatcher.${Date.now()}.`;
  const brokers = testBrokers();
  const topics = [
    Topics.DeviceTokens,
    Topics.UserSubscriptions,
    Topics.DeviceDelivery,
    Topics.DispatchRequests,
    Topics.DispatchOutcomes,
  ];
  const url = uniqueDatabaseUrl('bench_dispatcher');
  const kafkaAdmin = createKafka('bench-dispatcher-admin', brokers).admin();
  await kafkaAdmin.connect();
  let child: ChildProcess | null = null;
  const producer = new EventProducer({ brokers, clientId: 'bench-dispatcher' });
  /** Stops the service and removes its topics and database (also run on SIGINT/SIGTERM). */
  const cleanup = async () => {
    if (child && child.exitCode === null) {
      const running = child;
      const exited = new Promise<void>((r) => running.once('exit', () => r()));
      running.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (running.exitCode === null) running.kill('SIGKILL');
    }
    await producer.disconnect().catch(() => undefined);
    const created = (await kafkaAdmin.listTopics()).filter((t) => t.startsWith(prefix));
    await kafkaAdmin.deleteTopics({ topics: created }).catch(() => undefined);
    await kafkaAdmin.disconnect();
    await dropDatabase(url).catch(() => undefined);
  };
  cleanups.add(cleanup);
  try {
    await provisionTopics({ brokers, partitions: SERVICE_PARTITIONS, topics: topics.map((t) => prefix + t) });
    const platformOf = { ios: 'IOS', android: 'ANDROID', web: 'WEB' } as const;
    let facts = 0;
    for (const p of PLATFORMS) {
      for (let from = 0; from < tokens[p].length; from += 5_000) {
        const batch: RawMessage[] = [];
        for (let i = from; i < Math.min(tokens[p].length, from + 5_000); i++) {
          const ref = { workspace_id: WORKSPACE, app_id: `${p}-bench`, device_id: `${p}-${i}` };
          const user_id = `${p}-user-${i}`;
          const key = MessageKeys.device(ref.workspace_id, ref.app_id, ref.device_id);
          const platform = platformOf[p];
          for (const event of [
            deviceTokenEvents.pushCapabilityChanged(ref, 1000, { user_id, platform, permission: 'AUTHORIZED' }),
            deviceTokenEvents.tokenAssigned(ref, 1001, tokens[p][i], { user_id, platform }),
          ])
            batch.push({ topic: prefix + Topics.DeviceTokens, key, value: encodeEvent(Topics.DeviceTokens, event) });
          batch.push({
            topic: prefix + Topics.UserSubscriptions,
            key: MessageKeys.user(WORKSPACE, user_id),
            value: encodeEvent(
              Topics.UserSubscriptions,
              subscriptionEvents.stateChanged({ workspace_id: WORKSPACE, user_id }, 1000, 'SUBSCRIBED'),
            ),
          });
        }
        await producer.sendRaw(batch);
        facts += batch.length;
      }
    }
    console.log(`service: ${facts} owner facts published on ${prefix}*`);

    const started = performance.now();
    child = start([...serviceNodeArgs(), resolve('dist/services/dispatcher/src/main.js')], {
      DATABASE_URL: url,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_TOPIC_PARTITIONS: String(SERVICE_PARTITIONS),
      PORT: String(SERVICE_PORT),
      LOG_LEVEL: argValue('--service-log-level', 'warn'),
      API_KEYS: `bench=${WORKSPACE}`,
      APPS_CONFIG: appsFile,
      NODE_EXTRA_CA_CERTS: ready.caFile,
    });
    child.stdout!.pipe(process.stdout);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the dispatcher exited with code ${child.exitCode}`);
      const sample = await scrapeBusMetrics(SERVICE_PORT, ELIGIBILITY_GROUP);
      if (sample && sample.applied >= facts) break;
      if (performance.now() - started > 600_000)
        throw new Error('the eligibility read model did not catch up in 10 min');
      await new Promise((r) => setTimeout(r, 250));
    }
    const eligibilityAppliedS = (performance.now() - started) / 1000;
    console.log(`service: eligibility read model applied ${facts} facts in ${eligibilityAppliedS.toFixed(1)} s`);

    await admin(ready, 'PUT', '/latency', { fixedMs: LATENCY_MS, jitterMs: 0 });
    await admin(ready, 'POST', '/reset');
    const dispatchId = `bench-${Date.now()}`;
    const consumer = createKafka('bench-dispatcher-outcomes', brokers).consumer({
      groupId: `bench-outcomes-${dispatchId}`,
      ...RAW_LIMIT_FETCH,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: prefix + Topics.DispatchOutcomes, fromBeginning: true });
    const completedEvent = new Promise<{ at: number; data: Record<string, unknown> }>((resolveDone) => {
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            const event = decodeEvent(Topics.DispatchOutcomes, message.value as Buffer);
            if (event.type === 'DispatchCompleted' && event.data.dispatch_id === dispatchId)
              resolveDone({ at: Date.now(), data: event.data as unknown as Record<string, unknown> });
          }
        },
      });
    });
    const request = dispatchEvents.dispatchRequested(dispatchId, WORKSPACE, {
      filter_json: JSON.stringify({ push_enabled: true }),
    });
    request.data.message = MESSAGE;
    const requestedAt = Date.now();
    await producer.sendRaw([
      {
        topic: prefix + Topics.DispatchRequests,
        key: MessageKeys.dispatch(dispatchId),
        value: encodeEvent(Topics.DispatchRequests, request),
      },
    ]);
    let completed: { at: number; data: Record<string, unknown> } | null = null;
    void completedEvent.then((event) => (completed = event));
    let progress = { at: performance.now(), received: -1 };
    while (completed === null) {
      await new Promise((r) => setTimeout(r, 1000));
      if (child.exitCode !== null) throw new Error(`the dispatcher exited with code ${child.exitCode}`);
      const counters = await admin<AllCounters>(ready, 'GET', '/counters');
      const received = counters.apns.received + counters.fcm.received + counters.webPush.received;
      const status = await fetch(`http://127.0.0.1:${SERVICE_PORT}/dispatches/${dispatchId}`, {
        headers: { authorization: 'Bearer bench' },
      })
        .then((res) => res.json())
        .catch(() => null);
      console.log(`service: ${received} pushes at the fakes; GET /dispatches/${dispatchId} ${JSON.stringify(status)}`);
      if (received !== progress.received) progress = { at: performance.now(), received };
      else if (completed === null && performance.now() - progress.at > 60_000)
        throw new Error(`no progress for a minute (${received} pushes at the fakes)`);
    }
    const done = completed as { at: number; data: Record<string, unknown> };
    await consumer.disconnect();
    const fake = await admin<AllCounters>(ready, 'GET', '/counters');
    const all = [fake.apns, fake.fcm, fake.webPush];
    const firstAt = Math.min(...all.map((c) => c.firstAt ?? Infinity));
    const lastAt = Math.max(...all.map((c) => c.lastAt ?? 0));
    const received = all.reduce((n, c) => n + c.received, 0);
    const servicePeakRssMb = peakRssMbOf(child.pid!);
    const rateOf = (c: AllCounters['apns']) =>
      c.firstAt === null || c.lastAt === null
        ? 0
        : Math.round(c.received / Math.max(0.001, (c.lastAt - c.firstAt) / 1000));
    return {
      facts,
      eligibilityAppliedS,
      requestToFirstPushMs: firstAt - requestedAt,
      requestToCompletedMs: done.at - requestedAt,
      firstToLastPushPerS: received / Math.max(0.001, (lastAt - firstAt) / 1000),
      perProviderPerS: { apns: rateOf(fake.apns), fcm: rateOf(fake.fcm), web_push: rateOf(fake.webPush) },
      completed: done.data,
      servicePeakRssMb,
      fake,
    };
  } finally {
    cleanups.delete(cleanup);
    await cleanup();
  }
}

async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-dispatcher-'));
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      console.error(`\n${signal}: stopping what the benchmark started`);
      void Promise.all([...cleanups].map((c) => c().catch(() => undefined))).finally(() => {
        for (const child of children) child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        process.exit(130);
      });
    });
  const counts: Record<Platform, number> = {
    ios: Math.round(DEVICES * SHARE.ios),
    android: Math.round(DEVICES * SHARE.android),
    web: DEVICES - Math.round(DEVICES * SHARE.ios) - Math.round(DEVICES * SHARE.android),
  };
  console.log(
    `dispatcher benchmark (adapters): ${DEVICES} devices (APNs ${counts.ios}, FCM ${counts.android}, Web Push ${counts.web}), fakes answering after ${LATENCY_MS} ms, ${RUNS} run(s), node ${process.version}`,
  );
  const fakes = start([
    resolve('dist/tools/fake-providers/main.js'),
    '--dir',
    join(dir, 'fakes'),
    '--apns-port',
    '0',
    '--fcm-port',
    '0',
    '--web-push-port',
    '0',
    '--admin-port',
    '0',
    '--latency-ms',
    String(LATENCY_MS),
    '--keep-last',
    '0',
    '--web-push-decrypt-every',
    String(DECRYPT_EVERY),
  ]);
  try {
    const ready = await lineOf<Ready>(fakes, (line) => line.startsWith('{"ready":true'), 'fake-providers');
    const blocks = JSON.parse(readFileSync(ready.appsSettings, 'utf8'));
    const subscriptions = await admin<object[]>(ready, 'POST', '/subscriptions', {
      count: counts.web,
      applicationServerKey: blocks.webpush.vapid_public_key,
    });
    const tokens: Record<Platform, string[]> = {
      ios: Array.from({ length: counts.ios }, (_, i) => apnsToken(i)),
      android: Array.from({ length: counts.android }, (_, i) => fcmToken(i)),
      web: subscriptions.map((s) => JSON.stringify(s)),
    };
    const appsFile = join(dir, 'apps.json');
    writeFileSync(
      appsFile,
      JSON.stringify({
        apps: [
          { workspace_id: WORKSPACE, app_id: 'ios-bench', platform: 'ios', apns: blocks.apns },
          { workspace_id: WORKSPACE, app_id: 'android-bench', platform: 'android', fcm: blocks.fcm },
          { workspace_id: WORKSPACE, app_id: 'web-bench', platform: 'web', webpush: blocks.webpush },
        ],
      }),
    );
    const targetsFile = join(dir, 'targets.json');
    writeFileSync(targetsFile, JSON.stringify(tokens));
    const config: SenderConfig = {
      appsFile,
      targetsFile,
      caFile: ready.caFile,
      fcmOrigin: ready.fcm,
      batch: BATCH,
      batchConcurrency: BATCH_CONCURRENCY,
      phases: PHASES,
    };
    const configFile = join(dir, 'sender.json');
    writeFileSync(configFile, JSON.stringify(config));

    type SenderResult = { phases: Phase[]; adapterRssMb: number; peakRssMb: number };
    const runs: (SenderResult & { fake: AllCounters; raw: Record<Platform, RawRate> })[] = [];
    for (let run = 1; run <= RUNS; run++) {
      await admin(ready, 'PUT', '/latency', { fixedMs: LATENCY_MS, jitterMs: 0 });
      await admin(ready, 'POST', '/reset');
      console.log(`run ${run}: the sender (${serviceNodeArgs().join(' ')}), NODE_EXTRA_CA_CERTS=${ready.caFile}`);
      const child = start(
        [...serviceNodeArgs(), resolve('dist/bench/dispatcher.bench.js'), '--role', 'sender', '--config', configFile],
        {
          NODE_EXTRA_CA_CERTS: ready.caFile,
        },
      );
      const result = await lineOf<SenderResult>(child, (line) => line.startsWith('{"phases"'), 'the sender');
      await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
      const fake = await admin<AllCounters>(ready, 'GET', '/counters');
      // Every push the sender made reached the fake once: the phases and the warm-ups (50 per app and way).
      const made = (platform: Platform) =>
        result.phases.reduce(
          (n, p) =>
            n +
            (p.phase === 'fcm_firebase_admin'
              ? platform === 'android'
                ? counts.android
                : 0
              : (PHASE_PLATFORMS[p.phase as keyof typeof PHASE_PLATFORMS] as readonly Platform[]).includes(platform)
                ? counts[platform]
                : 0),
          50 + (platform === 'android' && PHASES.includes('fcm_firebase_admin') ? 50 : 0),
        );
      const expected = { apns: made('ios'), fcm: made('android'), webPush: made('web') };
      for (const name of ['apns', 'fcm', 'webPush'] as const)
        if (fake[name].received !== expected[name])
          throw new Error(`the fake ${name} received ${fake[name].received} pushes, the sender made ${expected[name]}`);
      await admin(ready, 'PUT', '/latency', { fixedMs: 0, jitterMs: 0 });
      const apps = AppsFile.load(appsFile);
      const raw = {} as Record<Platform, RawRate>;
      for (const p of PLATFORMS) raw[p] = await rawLoad(fakes.pid!, ready, apps, tokens, p);
      runs.push({ ...result, fake, raw });
      const phase = (name: string) =>
        Math.round(median(result.phases.filter((x) => x.phase === name).map((x) => x.perS)));
      console.log(
        `run ${run}: APNs ${phase('apns')}/s (fake max ${Math.round(raw.ios.perS)}/s at ${Math.round(raw.ios.fakeCpuShare * 100)} % of a core), FCM ${phase('fcm')}/s (fake max ${Math.round(raw.android.perS)}/s at ${Math.round(raw.android.fakeCpuShare * 100)} %${FCM_COMPARE ? `; firebase-admin sendEach ${phase('fcm_firebase_admin')}/s` : ''}), Web Push ${phase('web_push')}/s (fake max ${Math.round(raw.web.perS)}/s at ${Math.round(raw.web.fakeCpuShare * 100)} %), all three at once ${phase('all_three')}/s; sender peak RSS ${Math.round(result.adapterRssMb)} MB`,
      );
    }

    let service: ServiceResult | { error: string } | null = null;
    if (SERVICE) {
      try {
        const result = await serviceRun(ready, appsFile, tokens);
        service = result;
        console.log(
          `service: DispatchRequested → first push ${result.requestToFirstPushMs} ms, → DispatchCompleted ${result.requestToCompletedMs} ms; ${Math.round(result.firstToLastPushPerS)} pushes/s from the first push to the last (APNs ${result.perProviderPerS.apns}/s, FCM ${result.perProviderPerS.fcm}/s, Web Push ${result.perProviderPerS.web_push}/s, each from its first push to its last); peak RSS ${Math.round(result.servicePeakRssMb)} MB; ${JSON.stringify(result.completed)}`,
        );
      } catch (error) {
        // The adapter figures stand on their own; the service's failure is reported, not hidden.
        service = { error: (error as Error).message };
        console.error(`service-level run failed: ${(error as Error).message}`);
      }
    }

    /** The median over runs of each run's median of the phase (FCM runs twice with --fcm-compare). */
    const perS = (name: string) =>
      median(runs.map((r) => median(r.phases.filter((p) => p.phase === name).map((p) => p.perS))));
    const perCpuS = (name: string) =>
      median(runs.map((r) => median(r.phases.filter((p) => p.phase === name).map((p) => p.perCpuS))));
    const rawOf = (p: Platform, key: keyof RawRate = 'perS') => median(runs.map((r) => r.raw[p][key]));
    const summary = {
      benchmark: 'dispatcher',
      level: 'adapters (RoutingPushProvider driven directly, as the worker calls it)',
      at: new Date().toISOString(),
      node: process.version,
      devices: DEVICES,
      split: counts,
      fake_latency_ms: LATENCY_MS,
      web_push_decrypt_every: DECRYPT_EVERY,
      batch: BATCH,
      batch_concurrency: BATCH_CONCURRENCY,
      runs: RUNS,
      sender_node_args: serviceNodeArgs().join(' '),
      pushes_per_s: {
        apns: Math.round(perS('apns')),
        fcm: Math.round(perS('fcm')),
        web_push: Math.round(perS('web_push')),
        all_three: Math.round(perS('all_three')),
        fcm_firebase_admin_sendEach: FCM_COMPARE ? Math.round(perS('fcm_firebase_admin')) : null,
      },
      /** What the sender did per second of its own CPU: its rate on a core of its own, however busy the machine. */
      sender_pushes_per_cpu_s: {
        apns: Math.round(perCpuS('apns')),
        fcm: Math.round(perCpuS('fcm')),
        web_push: Math.round(perCpuS('web_push')),
        all_three: Math.round(perCpuS('all_three')),
        fcm_firebase_admin_sendEach: FCM_COMPARE ? Math.round(perCpuS('fcm_firebase_admin')) : null,
      },
      fake_max_per_s: {
        apns: Math.round(rawOf('ios')),
        fcm: Math.round(rawOf('android')),
        web_push: Math.round(rawOf('web')),
      },
      fake_cpu_share_at_max: {
        apns: Number(rawOf('ios', 'fakeCpuShare').toFixed(2)),
        fcm: Number(rawOf('android', 'fakeCpuShare').toFixed(2)),
        web_push: Number(rawOf('web', 'fakeCpuShare').toFixed(2)),
      },
      fake_max_per_cpu_s: {
        apns: Math.round(rawOf('ios', 'perFakeCpuS')),
        fcm: Math.round(rawOf('android', 'perFakeCpuS')),
        web_push: Math.round(rawOf('web', 'perFakeCpuS')),
      },
      /** Sender rate over the fakes' measured maximum (wall clock), and per CPU second of each (the machine's noise out). */
      ratio_sender_over_fake_max: {
        apns: Number((perS('apns') / rawOf('ios')).toFixed(3)),
        fcm: Number((perS('fcm') / rawOf('android')).toFixed(3)),
        web_push: Number((perS('web_push') / rawOf('web')).toFixed(3)),
      },
      ratio_sender_over_fake_per_cpu_s: {
        apns: Number((perCpuS('apns') / rawOf('ios', 'perFakeCpuS')).toFixed(3)),
        fcm: Number((perCpuS('fcm') / rawOf('android', 'perFakeCpuS')).toFixed(3)),
        web_push: Number((perCpuS('web_push') / rawOf('web', 'perFakeCpuS')).toFixed(3)),
      },
      sender_peak_rss_mb: {
        adapters: Math.round(median(runs.map((r) => r.adapterRssMb))),
        with_firebase_admin_phase: Math.round(median(runs.map((r) => r.peakRssMb))),
      },
      outcomes: runs.map((r) => r.phases.map((p) => ({ phase: p.phase, ...p.outcomes }))),
      fake_counters: runs.map((r) => r.fake),
      service_level: service,
      floors: FLOORS,
      raw: runs,
    };
    console.log(JSON.stringify({ ...summary, raw: undefined }, null, 2));
    writeResults('dispatcher', summary);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (ROLE === 'sender')
  void sender(JSON.parse(readFileSync(argValue('--config', ''), 'utf8')) as SenderConfig).then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`sender: ${(error as Error).stack}\n`);
      process.exit(1);
    },
  );
else
  void bench().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
