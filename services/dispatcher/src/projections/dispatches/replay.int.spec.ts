import { MessageKeys, type TopicName, Topics } from '@push/contracts';
import {
  ServiceUnderTest,
  createTestTopics,
  deliveryEvents,
  deviceTokenEvents,
  dispatchEvents,
  eventually,
  messageCount,
  readMessages,
  subscriptionEvents,
} from '@push/testing';
import { dispatcherServiceSendingThrough } from '../../service';
import { writeAppsFile } from '../../test-support/apps-file';
import { RecordingProviderModule, recordingProvider } from '../../test-support/recording-push-provider';
import { ELIGIBILITY_GROUP } from '../eligibility/eligibility.projection';
import { OUTCOMES_GROUP } from './logged-outcomes.projection';
import { REQUESTS_GROUP } from './dispatch-requests.projection';

jest.setTimeout(120_000);
process.env.DISPATCH_POLL_MS = '200';

const WS = 'acme';
const TOPICS: TopicName[] = [
  Topics.DispatchRequests,
  Topics.DispatchOutcomes,
  Topics.DeviceTokens,
  Topics.UserSubscriptions,
  Topics.DeviceDelivery,
];
const definition = dispatcherServiceSendingThrough(RecordingProviderModule);
const options = { topics: TOPICS, env: { API_KEYS: 'key-acme=acme', APPS_CONFIG: writeAppsFile([WS]) } };
const dev = (device_id: string) => ({ workspace_id: WS, app_id: 'ios-app', device_id });

/** The read model's rows a test compares, without what depends on the wall clock or the worker instance. */
async function rows(service: ServiceUnderTest) {
  const q = (sql: string) => service.dataSource.query(sql);
  return {
    users: await q('select * from eligible_users order by workspace_id, user_id'),
    devices: await q('select * from eligible_devices order by workspace_id, app_id, device_id'),
    dispatches: await q(
      `select dispatch_id, workspace_id, status, targeted, sent, bounced, failed, skipped_unsubscribed,
         skipped_not_push_enabled, skipped_suppressed, remaining from dispatches order by dispatch_id`,
    ),
    outcomes: await q(
      `select dispatch_id, app_id, device_id, user_id, platform, state, reason, failure_category
       from dispatch_targets where state in ('sent', 'bounced', 'failed') order by dispatch_id, app_id, device_id`,
    ),
    skipped: await q(
      `select dispatch_id, app_id, device_id, reason from dispatch_targets where state = 'skipped'
       order by dispatch_id, app_id, device_id`,
    ),
  };
}

const completedAll = (service: ServiceUnderTest) =>
  eventually(
    async () =>
      (
        (await service.dataSource.query("select count(*)::int as n from dispatches where status <> 'completed'")) as {
          n: number;
        }[]
      )[0].n === 0,
    30_000,
    'every dispatch completed',
  );

async function everything(service: ServiceUnderTest) {
  const all = new Map<TopicName, { key: string | null; value: Buffer | null }[]>();
  for (const topic of TOPICS) {
    const count = await messageCount(service.topicPrefix + topic);
    const messages = count === 0 ? [] : await service.messages(topic, count);
    all.set(
      topic,
      messages.map((m) => ({ key: m.key?.toString('utf8') ?? null, value: m.value })),
    );
  }
  return all;
}

/**
 * The read model is rebuilt from the topics: the dispatcher's own first life (A) sends, then a fresh database (B) is
 * built from a copy of every topic A used — the owners' facts, the requests and A's published outcomes — as
 * `npm run bus -- rebuild` would. B has the same rows and outcomes and sends nothing again.
 */
describe('dispatcher projections: redelivery and a rebuild into a fresh database (real Kafka and Postgres)', () => {
  const first = new ServiceUnderTest(definition, options);
  const rebuilt = new ServiceUnderTest(definition, options);
  let before: Awaited<ReturnType<typeof rows>>;
  let copied: Awaited<ReturnType<typeof everything>>;
  let sentByFirst = 0;

  beforeAll(async () => {
    await first.start();
    const facts = [
      deviceTokenEvents.pushCapabilityChanged(dev('kim-phone'), 1000, { user_id: 'kim' }),
      deviceTokenEvents.tokenAssigned(dev('kim-phone'), 1001, 'token-kim', { user_id: 'kim' }),
      deviceTokenEvents.pushCapabilityChanged(dev('ann-phone'), 1000, { user_id: 'ann' }),
      deviceTokenEvents.tokenAssigned(dev('ann-phone'), 1001, 'token-ann', { user_id: 'ann' }),
      deviceTokenEvents.pushCapabilityChanged(dev('lee-phone'), 1000, { user_id: 'lee' }),
      deviceTokenEvents.tokenAssigned(dev('lee-phone'), 1001, 'token-lee', { user_id: 'lee' }),
      deviceTokenEvents.pushCapabilityChanged(dev('bo-phone'), 1000, { user_id: 'bo' }),
      deviceTokenEvents.tokenAssigned(dev('bo-phone'), 1001, 'token-bo', { user_id: 'bo' }),
      deviceTokenEvents.deviceSessionRecorded(dev('bo-phone'), 4000, { user_id: 'bo' }),
    ];
    await first.publish(
      Topics.DeviceTokens,
      facts.map((event) => ({ key: MessageKeys.device(WS, event.data.app_id, event.data.device_id), event })),
    );
    const unsubscribed = subscriptionEvents.stateChanged({ workspace_id: WS, user_id: 'ann' }, 900, 'UNSUBSCRIBED');
    await first.publish(Topics.UserSubscriptions, [{ key: MessageKeys.user(WS, 'ann'), event: unsubscribed }]);
    const suppressed = deliveryEvents.deliveryStatusChanged(dev('lee-phone'), 900, 'SUPPRESSED', 'BOUNCED', {
      platform: 'IOS',
      user_id: 'lee',
    });
    await first.publish(Topics.DeviceDelivery, [
      { key: MessageKeys.device(WS, 'ios-app', 'lee-phone'), event: suppressed },
    ]);
    await first.waitUntilAtEnd(ELIGIBILITY_GROUP);
    recordingProvider.answer = (t) =>
      t.deviceId === 'bo-phone'
        ? { kind: 'bounced', providerReason: 'BadDeviceToken', providerTimestamp: null }
        : { kind: 'sent', providerMessageId: `id-${t.deviceId}` };
    const requests = [
      dispatchEvents.dispatchRequested('replay-1', WS, { user_ids: ['kim', 'ann', 'lee', 'bo'] }),
      dispatchEvents.dispatchRequested('replay-2', WS, { user_ids: ['ann', 'nobody'] }),
    ];
    await first.publish(
      Topics.DispatchRequests,
      requests.map((event) => ({ key: MessageKeys.dispatch(event.data.dispatch_id), event })),
    );
    await first.waitUntilAtEnd(REQUESTS_GROUP);
    await completedAll(first);
    await first.waitUntilAtEnd(OUTCOMES_GROUP);
    before = await rows(first);
    sentByFirst = recordingProvider.sends.length;
  });

  let firstStopped = false;
  afterAll(async () => {
    if (!firstStopped) await first.stop();
    await rebuilt.stop();
  });

  it('D5: a redelivered request changes no row and sends nothing', async () => {
    const again = dispatchEvents.dispatchRequested('replay-1', WS, { user_ids: ['kim'] });
    await first.publish(Topics.DispatchRequests, [{ key: MessageKeys.dispatch('replay-1'), event: again }]);
    await first.waitUntilAtEnd(REQUESTS_GROUP);
    await completedAll(first);
    expect(await rows(first)).toEqual(before);
    expect(recordingProvider.sends.length).toBe(sentByFirst);
    expect(before.dispatches).toEqual([
      expect.objectContaining({ dispatch_id: 'replay-1', status: 'completed', targeted: 4, sent: 1, bounced: 1 }),
      expect.objectContaining({ dispatch_id: 'replay-2', status: 'completed', targeted: 1, skipped_unsubscribed: 1 }),
    ]);
  });

  it('D5: rebuilt into a fresh database from the topics, the same rows and outcomes, nothing sent again', async () => {
    copied = await everything(first);
    const outcomesOfFirst = copied.get(Topics.DispatchOutcomes)!.length;
    await first.stop();
    firstStopped = true;
    // The rebuild reads topics that already hold everything, as a rebuild does.
    await createTestTopics(rebuilt.topicPrefix, TOPICS, 2);
    for (const [topic, messages] of copied) if (messages.length > 0) await rebuilt.publishRaw(topic, messages);
    await rebuilt.start();
    await rebuilt.waitUntilAtEnd(ELIGIBILITY_GROUP);
    await rebuilt.waitUntilAtEnd(REQUESTS_GROUP);
    await rebuilt.waitUntilAtEnd(OUTCOMES_GROUP);
    await completedAll(rebuilt);
    const after = await rows(rebuilt);
    expect(after.users).toEqual(before.users);
    expect(after.devices).toEqual(before.devices);
    expect(after.dispatches).toEqual(before.dispatches);
    expect(after.outcomes).toEqual(before.outcomes);
    // Nothing sent, nothing published: the rebuilt read model took every outcome from the topic.
    expect(recordingProvider.sends.length).toBe(sentByFirst);
    expect(await messageCount(rebuilt.topicPrefix + Topics.DispatchOutcomes)).toBe(outcomesOfFirst);
    // Skipped devices are those the rebuilt resolution found (the same here, the facts being the same).
    expect(
      after.skipped.every((s: object) => before.skipped.some((b: object) => JSON.stringify(b) === JSON.stringify(s))),
    ).toBe(true);
    const messages = await readMessages(rebuilt.topicPrefix + Topics.DispatchOutcomes, outcomesOfFirst);
    expect(messages).toHaveLength(outcomesOfFirst);
  });
});
