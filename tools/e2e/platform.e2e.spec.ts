// The platform end to end (issue 15): the five services built and started as processes from their main.js, the fake
// providers as their own process with an apps file sending to them, on a topic prefix and databases of this file's
// own (so it shares the broker and Postgres with everything else). It publishes what the platform's users publish —
// SDK events as the ingestion gateway does, DispatchRequested as a campaign service does — and checks only what they
// see: the output topics and the services' HTTP APIs. One user's story, step by step; each step waits for the
// platform to follow (sizes, exports, delivery status, outcomes) and then checks all of it.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_EVENT_TOPICS, DispatchOutcomeEvent, MessageKeys, SdkDeviceEvent, Topics } from '@push/contracts';
import { EventProducer } from '@push/event-bus';
import {
  DeviceRef,
  createTestTopics,
  deleteTestTopics,
  deviceEvents,
  dispatchEvents,
  dropDatabase,
  testBrokers,
  uniqueDatabaseUrl,
  uniqueTopicPrefix,
} from '@push/testing';
import {
  FakeProvidersProcess,
  PLATFORM_SERVICES,
  PlatformProcesses,
  REPO_ROOT,
  TopicTail,
  buildPlatform,
  callJson,
  startFakeProvidersProcess,
  writeAppsFile,
} from './platform';

jest.setTimeout(60_000);

const WS = 'e2e-acme';
const KEY = 'e2e-key';
const OTHER_WS = 'e2e-other';
const OTHER_KEY = 'e2e-other-key';
/**
 * One partition: bounce-processor keeps B4's burst windows per partition of dispatch.outcomes.v1, and a burst-sensitive
 * bounce (BadDeviceToken) is decided by a later outcome of its partition; with one, any later send decides it.
 */
const PARTITIONS = 1;
const STEP_MS = 45_000;

const scratch = join(REPO_ROOT, '.data', `e2e-${randomUUID().slice(0, 8)}`);
const build = join(scratch, 'build');
const topicPrefix = uniqueTopicPrefix('e2e');
const databases = Object.fromEntries(
  PLATFORM_SERVICES.map((s) => [s, uniqueDatabaseUrl(`e2e_${s.replace(/-/g, '_')}`)]),
) as Record<(typeof PLATFORM_SERVICES)[number], string>;

const phone: DeviceRef = { workspace_id: WS, app_id: 'ios-app', device_id: 'kims-phone' };
const tablet: DeviceRef = { workspace_id: WS, app_id: 'android-app', device_id: 'kims-tablet' };
const apnsToken = () => randomBytes(32).toString('hex');
const firstPhoneToken = apnsToken();
const secondPhoneToken = apnsToken();
const tabletToken = `${randomBytes(11).toString('hex')}:APA91b${randomBytes(60).toString('base64url')}`;
const masked = (token: string) => expect.stringMatching(new RegExp(`^\\*+${token.slice(-6)}$`));

let fakes: FakeProvidersProcess;
let platform: PlatformProcesses;
let producer: EventProducer;
let outcomes: TopicTail<typeof Topics.DispatchOutcomes>;
let subscriptions: TopicTail<typeof Topics.UserSubscriptions>;
let delivery: TopicTail<typeof Topics.DeviceDelivery>;

const http = <T = Record<string, unknown>>(
  service: (typeof PLATFORM_SERVICES)[number],
  path: string,
  body?: unknown,
  key = KEY,
) => callJson<T>(`${platform.url(service)}${path}`, key, body === undefined ? 'GET' : 'POST', body);

interface Size {
  total: number;
  reachable: { ios_push: number; android_push: number; web_push: number };
}
const size = async (filter: unknown, key = KEY) => {
  const answer = await http<Size>('segmentation', '/segments/size', { filter }, key);
  expect(answer.status).toBe(200);
  return answer.body;
};

interface ExportedUser {
  external_id: string;
  push_subscribe: string;
  push_opted_in_at: string | null;
  push_tokens: { app: string; platform: string; token: string; device_id: string; notifications_enabled: boolean }[];
}
const exported = async (...ids: string[]) => {
  const answer = await http<{ users: ExportedUser[]; invalid_user_ids?: string[] }>(
    'segmentation',
    '/users/export/ids',
    {
      external_ids: ids,
    },
  );
  expect(answer.status).toBe(200);
  return Object.fromEntries(answer.body.users.map((u) => [u.external_id, u])) as Record<string, ExportedUser>;
};

const deviceOf = async (d: DeviceRef) => (await http('token-registry', `/devices/${d.app_id}/${d.device_id}`)).body;
const deliveryOf = async (d: DeviceRef) =>
  (await http('bounce-processor', `/devices/${d.app_id}/${d.device_id}/delivery`)).body;

/** Polls until `probe` stops throwing (its expectations hold), then returns its value; the last failure otherwise. */
async function settled<T>(what: string, probe: () => Promise<T>, timeoutMs = STEP_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    platform.check();
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > deadline) {
        (error as Error).message = `${what}, still not so after ${timeoutMs / 1000} s:\n${(error as Error).message}`;
        throw error;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const publishDevice = (...events: SdkDeviceEvent[]) =>
  producer.publish(
    Topics.DeviceEvents,
    events.map((event) => ({
      key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
      event,
    })),
  );

const requestDispatch = (dispatchId: string, userIds: string[]) =>
  producer.publish(Topics.DispatchRequests, [
    {
      key: MessageKeys.dispatch(dispatchId),
      event: dispatchEvents.dispatchRequested(dispatchId, WS, { user_ids: userIds }),
    },
  ]);

const outcomesOf = (dispatchId: string) =>
  outcomes.events().filter((e) => e.type !== 'DispatchCompleted' && e.data.dispatch_id === dispatchId) as Exclude<
    DispatchOutcomeEvent,
    { type: 'DispatchCompleted' }
  >[];
const completionOf = (dispatchId: string) => {
  const completed = outcomes
    .events()
    .filter((e) => e.type === 'DispatchCompleted' && e.data.dispatch_id === dispatchId);
  expect(completed).toHaveLength(1);
  return completed[0].data;
};

beforeAll(async () => {
  mkdirSync(scratch, { recursive: true });
  buildPlatform(build);
  await createTestTopics(topicPrefix, ALL_EVENT_TOPICS, PARTITIONS);
  fakes = await startFakeProvidersProcess({ build, dir: join(scratch, 'fakes'), logFile: join(scratch, 'fakes.log') });
  const appsFile = writeAppsFile(join(scratch, 'apps.json'), [WS, OTHER_WS], fakes.settings);
  platform = new PlatformProcesses({
    build,
    brokers: testBrokers(),
    databaseUrlOf: (service) => databases[service],
    topicPrefix,
    partitions: PARTITIONS,
    apiKeys: `${KEY}=${WS},${OTHER_KEY}=${OTHER_WS}`,
    appsFile,
    caFile: fakes.caFile,
    logDir: join(scratch, 'logs'),
    // B4's windows short, so that a single BadDeviceToken is decided (as B3) a second after it, not a minute.
    env: { B4_WINDOW_MS: '1000', B4_BUCKET_MS: '1000', B4_SETTLE_MS: '1000', DISPATCH_POLL_MS: '200' },
  });
  producer = new EventProducer({ brokers: testBrokers(), clientId: 'e2e-gateway', topicPrefix });
  outcomes = new TopicTail(testBrokers(), topicPrefix, Topics.DispatchOutcomes);
  subscriptions = new TopicTail(testBrokers(), topicPrefix, Topics.UserSubscriptions);
  delivery = new TopicTail(testBrokers(), topicPrefix, Topics.DeviceDelivery);
  await Promise.all([platform.startAll(100_000), outcomes.start(), subscriptions.start(), delivery.start()]);
}, 150_000);

afterAll(async () => {
  await Promise.allSettled([outcomes?.stop(), subscriptions?.stop(), delivery?.stop(), producer?.disconnect()]);
  await platform?.stopAll();
  await fakes?.stop();
  await Promise.allSettled(Object.values(databases).map((url) => dropDatabase(url)));
  await deleteTestTopics(topicPrefix);
  // E2E_KEEP=1 keeps the services' and the fakes' logs (and the build) for a look after a failure.
  if (process.env.E2E_KEEP) console.log(`e2e: logs kept in ${scratch}`);
  else rmSync(scratch, { recursive: true, force: true });
}, 60_000);

describe('the platform end to end (five services and the fake providers as processes, real Kafka and Postgres)', () => {
  it('T1/T5/S1/S3/G1/G2/G6/G7/B1: kim registers on iOS and Android — sizes, export, device and delivery follow', async () => {
    const at = Date.now();
    await publishDevice(
      deviceEvents.tokenRegistered(phone, at, firstPhoneToken, { user_id: 'kim', platform: 'IOS', os_version: '17.4' }),
      deviceEvents.tokenRegistered(tablet, at, tabletToken, { user_id: 'kim', platform: 'ANDROID', os_version: '14' }),
    );

    await settled('kim counted on iOS and Android', async () =>
      expect(await size({ push_enabled: true })).toEqual({
        total: 1,
        reachable: { ios_push: 1, android_push: 1, web_push: 0 },
      }),
    );
    const { kim } = await settled('kim exported with both tokens', async () => {
      const users = await exported('kim');
      expect(users.kim?.push_tokens).toHaveLength(2);
      return users;
    });
    // S1 then S3: first seen SUBSCRIBED, opted in by the iOS authorization (Android 14 AUTHORIZED qualifies too).
    await settled('kim opted in', async () =>
      expect((await exported('kim')).kim).toMatchObject({
        push_subscribe: 'opted_in',
        push_opted_in_at: expect.any(String),
      }),
    );
    expect(kim.push_tokens).toEqual(
      expect.arrayContaining([
        {
          app: 'ios-app',
          platform: 'ios',
          token: firstPhoneToken,
          device_id: 'kims-phone',
          notifications_enabled: true,
        },
        {
          app: 'android-app',
          platform: 'android',
          token: tabletToken,
          device_id: 'kims-tablet',
          notifications_enabled: true,
        },
      ]),
    );
    expect(await size({ platform: 'web' })).toMatchObject({ total: 0 });
    expect(await deviceOf(phone)).toMatchObject({
      user_id: 'kim',
      platform: 'ios',
      token_status: 'active',
      token: masked(firstPhoneToken),
      foreground_enabled: true,
      background_enabled: true,
    });
    expect(await deviceOf(tablet)).toMatchObject({ user_id: 'kim', platform: 'android', token_status: 'active' });
    await settled('both devices known to bounce-processor, unused', async () => {
      expect(await deliveryOf(phone)).toMatchObject({ last_status: 'unused' });
      expect(await deliveryOf(tablet)).toMatchObject({ last_status: 'unused' });
    });
    // S1: subscription-state published kim's first sighting.
    await settled('kim first seen by subscription-state', async () =>
      expect(subscriptions.events().some((e) => e.data.user_id === 'kim')).toBe(true),
    );
    // Another workspace's key sees none of it.
    expect(await size({ push_enabled: true }, OTHER_KEY)).toMatchObject({ total: 0 });
    expect((await http('token-registry', `/devices/ios-app/kims-phone`, undefined, OTHER_KEY)).status).toBe(404);
  });

  it('T3/G1/G7: the phone is shared — ChangeUser moves its token to lee, kim keeps the tablet', async () => {
    await publishDevice(deviceEvents.changeUser(phone, Date.now(), 'lee', 'kim'));

    await settled('the phone counted as lee’s', async () => {
      expect(await size({ push_enabled: true })).toEqual({
        total: 2,
        reachable: { ios_push: 1, android_push: 1, web_push: 0 },
      });
      expect(await size({ and: [{ user_ids: ['kim'] }, { platform: 'ios' }] })).toMatchObject({ total: 0 });
    });
    const users = await exported('kim', 'lee');
    expect(users.kim.push_tokens).toEqual([expect.objectContaining({ app: 'android-app', token: tabletToken })]);
    expect(users.lee.push_tokens).toEqual([
      expect.objectContaining({ app: 'ios-app', token: firstPhoneToken, device_id: 'kims-phone' }),
    ]);
    expect(await deviceOf(phone)).toMatchObject({ user_id: 'lee', token_status: 'active' });
    // The changelog is read back from token-registry's own published topic: it trails the device by one consume.
    await settled('the move of kims-phone to lee in the token changelog', async () => {
      const changelog = await http<{ entries: Record<string, unknown>[] }>(
        'token-registry',
        '/users/lee/token-changelog',
      );
      expect(changelog.body.entries).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            device_id: 'kims-phone',
            from_user_id: 'kim',
            to_user_id: 'lee',
            token: masked(firstPhoneToken),
          }),
        ]),
      );
    });
  });

  it('S2/G2/G5/G6: lee unsubscribes through /users/track — lee leaves Push Enabled and the iOS reach', async () => {
    const track = await callJson(`${platform.url('subscription-state')}/users/track`, KEY, 'POST', {
      attributes: [{ external_id: 'lee', push_subscribe: 'unsubscribed' }],
    });
    expect(track).toEqual({ status: 201, body: { message: 'success', attributes_processed: 1 } });

    await settled('lee unsubscribed everywhere', async () => {
      expect((await exported('lee')).lee.push_subscribe).toBe('unsubscribed');
      expect(await size({ push_enabled: true })).toEqual({
        total: 1,
        reachable: { ios_push: 0, android_push: 1, web_push: 0 },
      });
    });
    expect(await size({ push_subscription: 'unsubscribed' })).toMatchObject({ total: 1 });
    // G4 ignores the subscription: lee still has a foreground-enabled token.
    expect(await size({ foreground_push_enabled: true })).toMatchObject({ total: 2 });
    const lee = subscriptions.events().filter((e) => e.data.user_id === 'lee');
    expect(lee.at(-1)).toMatchObject({ data: { state: 'UNSUBSCRIBED' } });
  });

  it('D1/D5/D6/B1: a dispatch to kim and lee sends to kim’s tablet only, once, and the outcomes follow', async () => {
    await requestDispatch('d-1', ['kim', 'lee']);

    const completed = await settled('d-1 completed', async () => completionOf('d-1'));
    expect(completed).toMatchObject({ targeted: 2, sent: 1, bounced: 0, failed: 0, skipped_unsubscribed: 1 });
    expect(outcomesOf('d-1')).toEqual([
      expect.objectContaining({
        type: 'PushSent',
        data: expect.objectContaining({ app_id: 'android-app', device_id: 'kims-tablet', user_id: 'kim' }),
      }),
    ]);
    expect((await http('dispatcher', '/dispatches/d-1')).body).toMatchObject({
      dispatch_id: 'd-1',
      status: 'completed',
      targeted: 2,
      sent: 1,
      skipped: { unsubscribed: 1 },
    });
    await settled('the tablet sent to', async () =>
      expect(await deliveryOf(tablet)).toMatchObject({ last_status: 'sent' }),
    );
    expect((await fakes.counters()).fcm.received).toBe(1);

    // D5: the same request again (a redelivery) sends nothing more.
    await requestDispatch('d-1', ['kim', 'lee']);
    await new Promise((r) => setTimeout(r, 3000));
    expect(outcomesOf('d-1')).toHaveLength(1);
    expect((await fakes.counters()).fcm.received).toBe(1);
    expect(await size({ push_enabled: true })).toMatchObject({ total: 1 });
  });

  it('B1/B2/B3/B5/T8/G6: the phone bounces twice (APNs Unregistered, then BadDeviceToken after a new token)', async () => {
    // lee subscribes again, so the next dispatch sends to the phone.
    const track = await callJson(`${platform.url('subscription-state')}/users/track`, KEY, 'POST', {
      attributes: [{ external_id: 'lee', push_subscribe: 'subscribed' }],
    });
    expect(track.status).toBe(201);
    await settled('lee back in Push Enabled', async () =>
      expect(await size({ push_enabled: true })).toMatchObject({ total: 2, reachable: { ios_push: 1 } }),
    );
    await fakes.setAnswers('apns', {
      byToken: {
        [firstPhoneToken]: { status: 410, reason: 'Unregistered' },
        [secondPhoneToken]: { status: 400, reason: 'BadDeviceToken' },
      },
    });

    // First bounce: Unregistered — a permanent reason (B3: the token invalidated, T8 on token-registry; B5 uninstall).
    await requestDispatch('d-2', ['lee']);
    expect(await settled('d-2 completed', async () => completionOf('d-2'))).toMatchObject({
      targeted: 1,
      sent: 0,
      bounced: 1,
    });
    expect(outcomesOf('d-2')).toEqual([
      expect.objectContaining({
        type: 'PushBounced',
        data: expect.objectContaining({
          device_id: 'kims-phone',
          provider_reason: 'Unregistered',
          token: firstPhoneToken,
        }),
      }),
    ]);
    await settled('the first token invalidated', async () => {
      expect(await deviceOf(phone)).toMatchObject({ token_status: 'invalidated' });
      expect(await deliveryOf(phone)).toMatchObject({ last_status: 'bounced', consecutive_bounces: 1 });
      expect(await size({ push_enabled: true })).toEqual({
        total: 1,
        reachable: { ios_push: 0, android_push: 1, web_push: 0 },
      });
      expect((await exported('lee')).lee.push_tokens).toEqual([]);
    });
    expect((await http('dispatcher', '/dispatches/d-2')).body).toMatchObject({ status: 'completed', bounced: 1 });

    // The app gets a new token (B2: the status back to unused).
    await publishDevice(deviceEvents.tokenRegistered(phone, Date.now(), secondPhoneToken, { user_id: 'lee' }));
    await settled('the new token sendable', async () => {
      expect(await deviceOf(phone)).toMatchObject({ token_status: 'active', token: masked(secondPhoneToken) });
      expect(await deliveryOf(phone)).toMatchObject({ last_status: 'unused' });
      expect(await size({ push_enabled: true })).toMatchObject({ total: 2, reachable: { ios_push: 1 } });
    });

    // Second bounce: BadDeviceToken — burst-sensitive (B4), so it waits B4_SETTLE_MS of its partition's event time;
    // kim's send of a later dispatch moves that time on and it is decided as a single one (B3).
    await requestDispatch('d-3', ['lee', 'kim']);
    expect(await settled('d-3 completed', async () => completionOf('d-3'))).toMatchObject({
      targeted: 2,
      sent: 1,
      bounced: 1,
    });
    expect(outcomesOf('d-3').map((e) => [e.type, e.data.device_id])).toEqual(
      expect.arrayContaining([
        ['PushBounced', 'kims-phone'],
        ['PushSent', 'kims-tablet'],
      ]),
    );
    await new Promise((r) => setTimeout(r, 1500));
    await requestDispatch('d-4', ['kim']);
    await settled('d-4 completed', async () => expect(completionOf('d-4')).toMatchObject({ sent: 1 }));
    await settled('the second token invalidated', async () => {
      expect(await deviceOf(phone)).toMatchObject({ token_status: 'invalidated', token: masked(secondPhoneToken) });
      expect(await deliveryOf(phone)).toMatchObject({ last_status: 'bounced', consecutive_bounces: 1 });
      expect(await size({ push_enabled: true })).toEqual({
        total: 1,
        reachable: { ios_push: 0, android_push: 1, web_push: 0 },
      });
    });
    // The device's history (newest first): both bounces with their dispatches, the new token's registration between.
    const { history } = (await deliveryOf(phone)) as {
      history: { outcome: string; reason: string | null; dispatch_id: string | null }[];
    };
    expect(history.filter((h) => h.outcome === 'bounced')).toEqual([
      expect.objectContaining({ reason: 'BadDeviceToken', dispatch_id: 'd-3' }),
      expect.objectContaining({ reason: 'Unregistered', dispatch_id: 'd-2' }),
    ]);

    // bounce-processor's decisions on its topic: both tokens invalidated (B3), the Unregistered one an uninstall (B5).
    const phoneDecisions = delivery.events().filter((e) => e.data.device_id === 'kims-phone');
    expect(
      phoneDecisions.filter((e) => e.type === 'TokenInvalidated').map((e) => (e.data as { token: string }).token),
    ).toEqual([firstPhoneToken, secondPhoneToken]);
    expect(phoneDecisions.filter((e) => e.type === 'UninstallDetected')).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ provider_reason: 'Unregistered' }) }),
    ]);

    // Every push went through the fakes exactly once: APNs d-2 and d-3, FCM d-1, d-3 and d-4.
    const counters = await fakes.counters();
    expect(counters.apns.received).toBe(2);
    expect(counters.apns.perAnswer).toMatchObject({ '410 Unregistered': 1, '400 BadDeviceToken': 1 });
    expect(counters.fcm.received).toBe(3);
    // D5 over the whole run: no device got two outcomes of one dispatch.
    const pairs = outcomes
      .events()
      .filter((e) => e.type !== 'DispatchCompleted')
      .map((e) => `${(e.data as { dispatch_id: string }).dispatch_id}/${e.data.device_id}`);
    expect(new Set(pairs).size).toBe(pairs.length);
  });
});
