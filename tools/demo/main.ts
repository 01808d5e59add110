// The demo (issue 15): fake providers the services send to, and realistic synthetic traffic, so that a newcomer sees
// segment sizes, dispatches and bounces move. Two modes, for `npm start -- --demo` (deploy/local/start.sh):
//   npm run demo -- prepare [--dir .data/demo] [--workspace demo] [--bounce-share 0.03] …
//     the fake APNs, FCM and Web Push (@push/fake-providers) with their admin endpoint; writes the CA, the keys and an
//     apps file under --dir, prints and writes (demo.env) the APPS_CONFIG=… NODE_EXTRA_CA_CERTS=… the services need;
//     keeps running (the fakes live in this process) until SIGINT/SIGTERM.
//   npm run demo -- traffic [--rate 20] [--devices 2000] [--users 1500] [--dispatch-every 30] [--events N] …
//     publishes the benchmarks' SDK stream (bench/support.ts deviceEventStream, see bench-stream.ts) at a gentle rate
//     onto sdk.device-events.v1 as the ingestion gateway would, now and then a subscription change on
//     sdk.user-events.v1, and a DispatchRequested every --dispatch-every seconds as a campaign service would.
// See tools/demo/README.md for the curl calls that show it.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import webpush from 'web-push';
import { MessageKeys, SdkDeviceEvent, SdkUserEvent, Topics } from '@push/contracts';
import { EventProducer, KeyedEvent } from '@push/event-bus';
import { AnswerSettings, FakeProviders, startFakeProviders } from '@push/fake-providers';
import { adminPort, startAdmin } from '../fake-providers/admin';
import { benchDeviceStream } from './bench-stream';

const number =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number ${min}–${max}`);
    return n;
  };
const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (value: string) => {
    const n = number(min, max)(value);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected an integer ${min}–${max}`);
    return n;
  };

/** What `prepare` leaves in --dir for `traffic` (and for people): where the admin endpoint is, the web VAPID key. */
interface DemoState {
  workspace: string;
  admin: string;
  vapidPublicKey: string;
  appsFile: string;
  caFile: string;
}

const STATE_FILE = 'demo.json';
const ENV_FILE = 'demo.env';
const APNS_TOPIC = 'com.example.demo';
const FCM_PROJECT = 'demo-project';

// ---------------------------------------------------------------------------------------------------------------------
// prepare

interface PrepareOptions {
  dir: string;
  workspace: string;
  apnsPort: number;
  fcmPort: number;
  webPushPort: number;
  adminPort: number;
  latencyMs: number;
  jitterMs: number;
  bounceShare: number;
}

/**
 * The fakes' answers: mostly success, a share of each provider's permanent bounces (B3; APNs Unregistered and FCM
 * UNREGISTERED are uninstalls, B5), a little BadDeviceToken (burst-sensitive: decided a minute later, B4) and some
 * retryable 429s, so that the delivery status, the outcomes and the sizes move.
 */
function demoAnswers(share: number): Record<'apns' | 'fcm' | 'webPush', AnswerSettings> {
  return {
    apns: {
      rates: [
        { rate: share * 0.7, answer: { status: 410, reason: 'Unregistered' } },
        { rate: share * 0.3, answer: { status: 400, reason: 'BadDeviceToken' } },
        { rate: 0.01, answer: { status: 429, reason: 'TooManyRequests' } },
      ],
    },
    fcm: {
      rates: [
        { rate: share, answer: { status: 404, reason: 'UNREGISTERED' } },
        { rate: 0.01, answer: { status: 429, reason: 'QUOTA_EXCEEDED', retryAfter: 1 } },
      ],
    },
    webPush: { rates: [{ rate: share, answer: { status: 410 } }] },
  } as Record<'apns' | 'fcm' | 'webPush', AnswerSettings>;
}

async function prepare(options: PrepareOptions): Promise<void> {
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  // Removed first: whoever waits for demo.env (start.sh) must not read the one of an earlier run.
  rmSync(file(ENV_FILE), { force: true });

  const fakes: FakeProviders = await startFakeProviders({
    ports: { apns: options.apnsPort, fcm: options.fcmPort, webPush: options.webPushPort },
    latency: { fixedMs: options.latencyMs, jitterMs: options.jitterMs },
  });
  const apnsKey = fakes.apns.providerKey([APNS_TOPIC]);
  const serviceAccount = fakes.fcm.serviceAccount(FCM_PROJECT);
  const vapid = webpush.generateVAPIDKeys();
  for (const [name, answers] of Object.entries(demoAnswers(options.bounceShare)))
    fakes[name as 'apns' | 'fcm' | 'webPush'].answers.set(answers);

  const caFile = file('ca.pem');
  fakes.writeCa(caFile);
  writeFileSync(file('apns-key.p8'), apnsKey.key, { mode: 0o600 });
  writeFileSync(file('fcm-service-account.json'), JSON.stringify(serviceAccount, null, 2), { mode: 0o600 });
  const blocks = {
    apns: {
      team_id: apnsKey.teamId,
      key_id: apnsKey.keyId,
      key_file: file('apns-key.p8'),
      topic: APNS_TOPIC,
      production: false,
      host: fakes.apns.host,
      port: fakes.apns.port,
    },
    fcm: {
      project_id: FCM_PROJECT,
      service_account_file: file('fcm-service-account.json'),
      endpoint: fakes.fcm.origin,
    },
    webpush: {
      vapid_public_key: vapid.publicKey,
      vapid_private_key: vapid.privateKey,
      subject: 'mailto:demo@example.com',
    },
  };
  const ws = options.workspace;
  const appsFile = file('apps.json');
  writeFileSync(
    appsFile,
    JSON.stringify(
      {
        apps: [
          { workspace_id: ws, app_id: 'ios-app', name: 'Demo iOS', platform: 'ios', apns: blocks.apns },
          { workspace_id: ws, app_id: 'android-app', name: 'Demo Android', platform: 'android', fcm: blocks.fcm },
          { workspace_id: ws, app_id: 'web-app', name: 'Demo Web', platform: 'web', webpush: blocks.webpush },
        ],
      },
      null,
      2,
    ),
    // It holds the VAPID private key.
    { mode: 0o600 },
  );

  const admin = await startAdmin(fakes, blocks, options.adminPort);
  const state: DemoState = {
    workspace: ws,
    admin: `http://127.0.0.1:${adminPort(admin)}`,
    vapidPublicKey: vapid.publicKey,
    appsFile,
    caFile,
  };
  writeFileSync(file(STATE_FILE), JSON.stringify(state, null, 2));
  const env = `APPS_CONFIG=${appsFile} NODE_EXTRA_CA_CERTS=${caFile}`;
  writeFileSync(file(ENV_FILE), `APPS_CONFIG=${appsFile}\nNODE_EXTRA_CA_CERTS=${caFile}\n`);
  process.stdout.write(
    [
      `demo fake providers listening (workspace ${ws}; answers: ${(options.bounceShare * 100).toFixed(1)} % permanent bounces per provider):`,
      `  APNs      ${fakes.apns.origin}`,
      `  FCM       ${fakes.fcm.origin}`,
      `  Web Push  ${fakes.webPush.origin}`,
      `  admin     ${state.admin}   (GET /counters, PUT /answers/<apns|fcm|webPush>, PUT /latency, POST /reset)`,
      '',
      'Start the services with:',
      env,
      `(also in ${file(ENV_FILE)}), then: npm run demo -- traffic`,
      '',
    ].join('\n'),
  );

  const stop = async () => {
    admin.close();
    await fakes.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

// ---------------------------------------------------------------------------------------------------------------------
// traffic

interface TrafficOptions {
  dir: string;
  rate: number;
  devices: number;
  users: number;
  dispatchEvery: number;
  events: number;
  subscriptionShare: number;
  brokers: string;
  topicPrefix: string;
}

function readState(dir: string): DemoState {
  const path = join(resolve(dir), STATE_FILE);
  if (!existsSync(path)) throw new Error(`no ${path}: run \`npm run demo -- prepare\` first (and keep it running)`);
  return JSON.parse(readFileSync(path, 'utf8')) as DemoState;
}

async function admin<T>(state: DemoState, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${state.admin}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch((error: Error) => {
    throw new Error(
      `the demo's fake providers (${state.admin}) do not answer — is \`prepare\` running? ${error.message}`,
    );
  });
  if (response.status !== 200)
    throw new Error(`fake providers ${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * Web tokens of the stream name fcm.googleapis.com endpoints: the demo must never send there. Each distinct web token
 * gets a subscription of the fake browser instead (the same token always the same one, so T2 moves stay moves).
 */
class WebTokens {
  private readonly byToken = new Map<string, string>();
  private pool: string[] = [];

  constructor(private readonly state: DemoState) {}

  async fill(count: number): Promise<void> {
    const made = await admin<unknown[]>(this.state, 'POST', '/subscriptions', {
      count,
      applicationServerKey: this.state.vapidPublicKey,
    });
    this.pool.push(...made.map((s) => (typeof s === 'string' ? s : JSON.stringify(s))));
  }

  async of(token: string): Promise<string> {
    const known = this.byToken.get(token);
    if (known) return known;
    if (this.pool.length === 0) await this.fill(100);
    const subscription = this.pool.pop()!;
    this.byToken.set(token, subscription);
    return subscription;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function traffic(options: TrafficOptions): Promise<void> {
  const state = readState(options.dir);
  const ws = state.workspace;
  // A cycle long enough that the stream's token refreshes (in its second half) and T2 moves happen while one watches.
  const cycle = Math.max(options.devices * 50, 10_000);
  const { stream } = benchDeviceStream({ events: cycle, devices: options.devices, users: options.users });
  const webTokens = new WebTokens(state);
  await webTokens.fill(Math.min(100_000, Math.ceil(options.devices / 10) + 10));
  const producer = new EventProducer({
    brokers: options.brokers.split(','),
    clientId: 'demo-traffic',
    topicPrefix: options.topicPrefix,
  });
  await producer.connect();

  let stopping = false;
  process.once('SIGINT', () => (stopping = true));
  process.once('SIGTERM', () => (stopping = true));

  /** The stream's event i as the demo's: its workspace, a fresh id (a second run is not a redelivery), stamped now. */
  const demoEvent = async (i: number): Promise<SdkDeviceEvent> => {
    const original = stream.eventAt(i % cycle);
    // The stream stamps event i at start + i s, a late one (T9) a minute earlier: keep the lateness, not the date.
    const lateness = Date.UTC(2026, 10, 1) + (i % cycle) * 1000 - original.data.occurred_at;
    const data = { ...original.data, workspace_id: ws, event_id: randomUUID(), occurred_at: Date.now() - lateness };
    if (original.type === 'TokenRegistered' && original.data.platform === 'WEB')
      (data as typeof original.data).token = await webTokens.of(original.data.token);
    return { ...original, data } as SdkDeviceEvent;
  };
  const users = (n: number) =>
    Array.from({ length: n }, () => `user-${Math.floor(Math.random() * options.users)}`).filter(
      (u, k, all) => all.indexOf(u) === k,
    );

  let published = 0;
  let subscriptionChanges = 0;
  let dispatches = 0;
  const started = Date.now();
  let nextDispatch = started + options.dispatchEvery * 1000;
  let nextReport = started + 10_000;
  const tickMs = 250;
  console.log(
    `demo traffic: ${options.rate} SDK events/s over ${options.devices} devices and ${options.users} users of workspace ${ws}, ` +
      `a dispatch every ${options.dispatchEvery} s${options.events ? `, ${options.events} events` : ''}; Ctrl-C stops`,
  );
  while (!stopping && (!options.events || published < options.events)) {
    const tickStart = Date.now();
    const due = Math.round(((tickStart - started) / 1000) * options.rate) - published;
    const count = Math.max(0, options.events ? Math.min(due, options.events - published) : due);
    const batch: KeyedEvent<typeof Topics.DeviceEvents>[] = [];
    for (let k = 0; k < count; k++) {
      const event = await demoEvent(published + k);
      batch.push({ key: MessageKeys.device(ws, event.data.app_id, event.data.device_id), event });
    }
    if (batch.length) await producer.publish(Topics.DeviceEvents, batch);
    published += batch.length;

    // Now and then a user changes their preference in the app (S2): sizes move both ways.
    const changes: KeyedEvent<typeof Topics.UserEvents>[] = [];
    for (let k = 0; k < count; k++) {
      if (Math.random() >= options.subscriptionShare) continue;
      const [user_id] = users(1);
      const event: SdkUserEvent = {
        type: 'PushSubscriptionSet',
        data: {
          event_id: randomUUID(),
          workspace_id: ws,
          user_id,
          occurred_at: Date.now(),
          state: Math.random() < 0.4 ? 'UNSUBSCRIBED' : Math.random() < 0.5 ? 'OPTED_IN' : 'SUBSCRIBED',
          source: 'SDK',
        },
      };
      changes.push({ key: MessageKeys.user(ws, user_id), event });
    }
    if (changes.length) await producer.publish(Topics.UserEvents, changes);
    subscriptionChanges += changes.length;

    if (Date.now() >= nextDispatch) {
      nextDispatch += options.dispatchEvery * 1000;
      dispatches++;
      const dispatch_id = `demo-${new Date().toISOString().replace(/[-:.]/g, '')}-${dispatches}`;
      // Every other one a segment (Push Enabled on iOS), else a campaign to a few users.
      const audience =
        dispatches % 2 === 0
          ? { 'push.dispatch.SegmentAudience': { filter_json: '{"and":[{"push_enabled":true},{"platform":"ios"}]}' } }
          : { 'push.dispatch.UserAudience': { user_ids: users(25) } };
      await producer.publish(Topics.DispatchRequests, [
        {
          key: MessageKeys.dispatch(dispatch_id),
          event: {
            type: 'DispatchRequested',
            data: {
              dispatch_id,
              workspace_id: ws,
              campaign_id: 'demo',
              occurred_at: Date.now(),
              audience,
              message: {
                title: 'Hello from the demo',
                body: `dispatch ${dispatches}`,
                data: { demo: 'true' },
                silent: false,
                ttl_seconds: 3600,
                collapse_key: null,
                priority: 'HIGH',
              },
              options: {
                include_unsubscribed: false,
                transactional: false,
                last_active_device_only: false,
                app_ids: [],
              },
            },
          },
        },
      ]);
      console.log(
        `dispatch ${dispatch_id} requested (${'push.dispatch.SegmentAudience' in audience ? 'segment: Push Enabled on iOS' : '25 users'}) — curl it: see tools/demo/README.md`,
      );
    }

    if (Date.now() >= nextReport) {
      nextReport += 10_000;
      const counters = await admin<Record<string, { received: number; perAnswer: Record<string, number> }>>(
        state,
        'GET',
        '/counters',
      ).catch(() => null);
      const sent = counters
        ? Object.entries(counters)
            .map(
              ([name, c]) =>
                `${name} ${c.received} (${Object.entries(c.perAnswer)
                  .map(([a, n]) => `${a}: ${n}`)
                  .join(', ')})`,
            )
            .join('; ')
        : 'fake providers not answering';
      console.log(
        `${published} SDK events, ${subscriptionChanges} subscription changes, ${dispatches} dispatches; pushes: ${sent}`,
      );
    }
    await sleep(Math.max(0, tickMs - (Date.now() - tickStart)));
  }
  await producer.disconnect();
  console.log(
    `demo traffic stopped: ${published} SDK events, ${subscriptionChanges} subscription changes, ${dispatches} dispatches`,
  );
}

// ---------------------------------------------------------------------------------------------------------------------

const program = new Command('demo')
  .description(
    'The platform demo: fake push providers the services send to (prepare) and realistic synthetic SDK traffic with dispatches (traffic).',
  )
  .showHelpAfterError();

program
  .command('prepare')
  .description(
    'start the fake APNs, FCM and Web Push, write the CA, keys and apps file under --dir, print the APPS_CONFIG=… NODE_EXTRA_CA_CERTS=… the services need; keeps running',
  )
  .option('--dir <path>', 'where the files are written', '.data/demo')
  .option('--workspace <id>', 'the workspace of the apps (deploy/local/start.sh: API_KEYS demo-key=demo)', 'demo')
  .option('--apns-port <port>', 'fake APNs (0: a free port)', integer(0, 65535), 0)
  .option('--fcm-port <port>', 'fake FCM (0: a free port)', integer(0, 65535), 0)
  .option('--web-push-port <port>', 'fake Web Push (0: a free port)', integer(0, 65535), 0)
  .option('--admin-port <port>', 'the fakes’ admin endpoint', integer(0, 65535), 8440)
  .option('--latency-ms <ms>', 'latency of every answer', number(0), 20)
  .option('--jitter-ms <ms>', 'random extra latency, 0…ms', number(0), 10)
  .option('--bounce-share <share>', 'share of pushes each provider answers with a permanent bounce', number(0, 1), 0.03)
  .action((options: PrepareOptions) => prepare(options));

program
  .command('traffic')
  .description(
    'publish the benchmarks’ SDK stream at a gentle rate, some subscription changes, and a dispatch every --dispatch-every seconds (needs prepare running)',
  )
  .option('--dir <path>', 'where prepare wrote its files', '.data/demo')
  .option('--rate <n>', 'SDK events per second', number(0.1, 5000), 20)
  .option('--devices <n>', 'devices of the stream', integer(20), 2000)
  .option('--users <n>', 'users of the stream', integer(1), 1500)
  .option('--dispatch-every <s>', 'seconds between dispatches', number(1), 30)
  .option('--subscription-share <share>', 'share of events followed by a subscription change', number(0, 1), 0.01)
  .option('--events <n>', 'stop after n SDK events (default: until Ctrl-C)', integer(0), 0)
  .option('--brokers <list>', 'Kafka brokers', process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
  .option('--topic-prefix <prefix>', 'topic prefix of the deployment', process.env.KAFKA_TOPIC_PREFIX ?? '')
  .action((options: TrafficOptions) => traffic(options));

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
