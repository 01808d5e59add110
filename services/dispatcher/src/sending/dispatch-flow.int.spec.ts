import {
  type DeviceDeliveryEvent,
  type DeviceTokenEvent,
  type DispatchOutcomeEvent,
  MessageKeys,
  Topics,
  type UserSubscriptionEvent,
  dlqTopicOf,
} from '@push/contracts';
import {
  type DeviceRef,
  deliveryEvents,
  deviceTokenEvents,
  dispatchEvents,
  eventually,
  serviceUnderTest,
  subscriptionEvents,
} from '@push/testing';
import { ELIGIBILITY_GROUP } from '../projections/eligibility/eligibility.projection';
import { REQUESTS_GROUP } from '../projections/dispatches/dispatch-requests.projection';
import { dispatcherServiceSendingThrough } from '../service';
import { writeAppsFile } from '../test-support/apps-file';
import { RecordingProviderModule, recordingProvider } from '../test-support/recording-push-provider';

jest.setTimeout(90_000);

// Read by the worker's settings when the service starts: recovery looks for dead instances often here.
process.env.DISPATCH_RECOVERY_MS = '300';
process.env.DISPATCH_POLL_MS = '200';

const WS = 'acme';
const acme = { Authorization: 'Bearer key-acme' };

const service = serviceUnderTest(dispatcherServiceSendingThrough(RecordingProviderModule), {
  topics: [
    Topics.DispatchRequests,
    Topics.DispatchOutcomes,
    Topics.DeviceTokens,
    Topics.UserSubscriptions,
    Topics.DeviceDelivery,
  ],
  env: { API_KEYS: 'key-acme=acme', APPS_CONFIG: writeAppsFile([WS]) },
});

const dev = (device_id: string, app_id = 'ios-app'): DeviceRef => ({ workspace_id: WS, app_id, device_id });

/** A device token-registry published: its capability, its token and, optionally, a session. */
function registered(
  ref: DeviceRef,
  user_id: string | null,
  options: { platform?: 'IOS' | 'ANDROID' | 'WEB'; foreground?: boolean; session?: number } = {},
): DeviceTokenEvent[] {
  const platform = options.platform ?? 'IOS';
  const capability = deviceTokenEvents.pushCapabilityChanged(ref, 1000, {
    user_id,
    platform,
    permission: options.foreground === false ? 'DENIED' : 'AUTHORIZED',
  });
  const events: DeviceTokenEvent[] = [
    capability,
    deviceTokenEvents.tokenAssigned(ref, 1001, `token-${ref.device_id}`, { user_id, platform }),
  ];
  if (options.session !== undefined)
    events.push(deviceTokenEvents.deviceSessionRecorded(ref, options.session, { user_id, platform }));
  return events;
}

async function publishFacts(
  ...events: (DeviceTokenEvent | UserSubscriptionEvent | DeviceDeliveryEvent)[]
): Promise<void> {
  const tokens = events.filter(
    (e): e is DeviceTokenEvent => e.type !== 'SubscriptionStateChanged' && e.type !== 'DeliveryStatusChanged',
  );
  const states = events.filter((e): e is UserSubscriptionEvent => e.type === 'SubscriptionStateChanged');
  const delivery = events.filter((e): e is DeviceDeliveryEvent => e.type === 'DeliveryStatusChanged');
  const deviceKey = (e: { data: { workspace_id: string; app_id: string; device_id: string } }) =>
    MessageKeys.device(e.data.workspace_id, e.data.app_id, e.data.device_id);
  if (tokens.length > 0)
    await service.publish(
      Topics.DeviceTokens,
      tokens.map((event) => ({ key: deviceKey(event), event })),
    );
  if (states.length > 0)
    await service.publish(
      Topics.UserSubscriptions,
      states.map((event) => ({ key: MessageKeys.user(event.data.workspace_id, event.data.user_id), event })),
    );
  if (delivery.length > 0)
    await service.publish(
      Topics.DeviceDelivery,
      delivery.map((event) => ({ key: deviceKey(event), event })),
    );
  await service.waitUntilAtEnd(ELIGIBILITY_GROUP);
}

const request = (...args: Parameters<typeof dispatchEvents.dispatchRequested>) =>
  service.publish(Topics.DispatchRequests, [
    { key: MessageKeys.dispatch(args[0]), event: dispatchEvents.dispatchRequested(...args) },
  ]);

const progress = async (id: string) => (await service.http().get(`/dispatches/${id}`).set(acme)).body;
const completed = (id: string) =>
  eventually(async () => (await progress(id)).status === 'completed', 30_000, `dispatch ${id} completed`);

/** The outcome records of one dispatch on dispatch.outcomes.v1. */
async function outcomesOf(dispatchId: string): Promise<DispatchOutcomeEvent[]> {
  return (await service.published(Topics.DispatchOutcomes)).filter((e) => e.data.dispatch_id === dispatchId);
}

async function outcomesSettled(dispatchId: string, count: number): Promise<DispatchOutcomeEvent[]> {
  let found: DispatchOutcomeEvent[] = [];
  await eventually(
    async () => (found = await outcomesOf(dispatchId)).length >= count,
    30_000,
    `${count} outcome records of ${dispatchId}`,
  );
  return found;
}

beforeAll(async () => {
  await publishFacts(
    ...registered(dev('kim-phone'), 'kim'),
    ...registered(dev('kim-tablet'), 'kim', { foreground: false }),
    ...registered(dev('ann-phone'), 'ann'),
    subscriptionEvents.stateChanged({ workspace_id: WS, user_id: 'ann' }, 1000, 'UNSUBSCRIBED', 'SUBSCRIBED'),
    ...registered(dev('lee-phone'), 'lee'),
    deliveryEvents.deliveryStatusChanged(dev('lee-phone'), 2000, 'SUPPRESSED', 'BOUNCED', {
      platform: 'IOS',
      user_id: 'lee',
    }),
  );
});

describe('sending (real Kafka and Postgres, the provider seam doubled)', () => {
  it('D1/D6: each eligible device is sent once; PushSent per device, DispatchCompleted with the skips by reason', async () => {
    await request('flow-1', WS, { user_ids: ['kim', 'ann', 'lee'] });
    await completed('flow-1');
    expect(await progress('flow-1')).toEqual({
      dispatch_id: 'flow-1',
      status: 'completed',
      targeted: 4,
      sent: 1,
      bounced: 0,
      failed: 0,
      skipped: { unsubscribed: 1, not_push_enabled: 1, suppressed: 1 },
    });
    const outcomes = await outcomesSettled('flow-1', 2);
    expect(outcomes.filter((e) => e.type === 'PushSent')).toEqual([
      {
        type: 'PushSent',
        data: expect.objectContaining({
          dispatch_id: 'flow-1',
          workspace_id: WS,
          app_id: 'ios-app',
          device_id: 'kim-phone',
          user_id: 'kim',
          platform: 'IOS',
        }),
      },
    ]);
    expect(outcomes.find((e) => e.type === 'DispatchCompleted')!.data).toMatchObject({
      targeted: 4,
      sent: 1,
      bounced: 0,
      failed: 0,
      skipped_unsubscribed: 1,
      skipped_not_push_enabled: 1,
      skipped_suppressed: 1,
    });
    const sends = recordingProvider.sends.filter((s) => s.targets.some((t) => t.deviceId === 'kim-phone'));
    expect(sends).toHaveLength(1);
    expect(sends[0].app).toMatchObject({ workspace_id: WS, app_id: 'ios-app', platform: 'ios' });
    expect(sends[0].message).toMatchObject({ title: 'Hello', body: 'World' });
    expect(sends[0].targets).toEqual([
      {
        workspaceId: WS,
        appId: 'ios-app',
        deviceId: 'kim-phone',
        userId: 'kim',
        platform: 'IOS',
        token: 'token-kim-phone',
      },
    ]);
    const devices = (await service.http().get('/dispatches/flow-1/devices').set(acme)).body;
    expect(devices).toEqual({
      dispatch_id: 'flow-1',
      devices: [
        {
          app_id: 'ios-app',
          device_id: 'ann-phone',
          user_id: 'ann',
          platform: 'ios',
          outcome: 'skipped',
          reason: 'unsubscribed',
          at: expect.any(String),
        },
        {
          app_id: 'ios-app',
          device_id: 'kim-phone',
          user_id: 'kim',
          platform: 'ios',
          outcome: 'sent',
          reason: null,
          at: expect.any(String),
        },
        {
          app_id: 'ios-app',
          device_id: 'kim-tablet',
          user_id: 'kim',
          platform: 'ios',
          outcome: 'skipped',
          reason: 'not_push_enabled',
          at: expect.any(String),
        },
        {
          app_id: 'ios-app',
          device_id: 'lee-phone',
          user_id: 'lee',
          platform: 'ios',
          outcome: 'skipped',
          reason: 'suppressed',
          at: expect.any(String),
        },
      ],
      next: null,
    });
  });

  it('D5: a redelivered request (same dispatch_id) sends nothing again and publishes nothing again', async () => {
    const before = recordingProvider.devicesSent().length;
    const outcomesBefore = (await outcomesOf('flow-1')).length;
    await request('flow-1', WS, { user_ids: ['kim', 'ann', 'lee'] });
    await request('flow-1', WS, { user_ids: ['kim'] }, { options: { include_unsubscribed: true } });
    await service.waitUntilAtEnd(REQUESTS_GROUP);
    // A later dispatch to the same device completes: the worker has looked for work since the redeliveries.
    await request('flow-1-after', WS, { user_ids: ['kim'] });
    await completed('flow-1-after');
    expect(recordingProvider.devicesSent().length).toBe(before + 1);
    expect((await outcomesOf('flow-1')).length).toBe(outcomesBefore);
  });

  it('D6: bounced and failed answers become PushBounced (token, reason, timestamp) and PushFailed (category)', async () => {
    await publishFacts(...registered(dev('bounce-phone'), 'bo'), ...registered(dev('fail-phone'), 'bo'));
    recordingProvider.answer = (target) =>
      target.deviceId === 'bounce-phone'
        ? { kind: 'bounced', providerReason: 'Unregistered', providerTimestamp: 1234 }
        : target.deviceId === 'fail-phone'
          ? { kind: 'failed', category: 'PAYLOAD', reason: 'PayloadTooLarge' }
          : { kind: 'sent', providerMessageId: 'apns-id' };
    try {
      await request('flow-d6', WS, { user_ids: ['bo'] });
      await completed('flow-d6');
    } finally {
      recordingProvider.answer = () => ({ kind: 'sent', providerMessageId: null });
    }
    const outcomes = await outcomesSettled('flow-d6', 3);
    expect(outcomes.find((e) => e.type === 'PushBounced')!.data).toMatchObject({
      device_id: 'bounce-phone',
      token: 'token-bounce-phone',
      provider_reason: 'Unregistered',
      provider_timestamp: 1234,
    });
    expect(outcomes.find((e) => e.type === 'PushFailed')!.data).toMatchObject({
      device_id: 'fail-phone',
      category: 'PAYLOAD',
      reason: 'PayloadTooLarge',
    });
    expect(await progress('flow-d6')).toMatchObject({ targeted: 2, sent: 0, bounced: 1, failed: 1 });
  });

  it('per-app batches: a user’s iOS and Android devices go to send in one batch per app', async () => {
    await publishFacts(
      ...registered(dev('multi-phone'), 'multi'),
      ...registered(dev('multi-pixel', 'android-app'), 'multi', { platform: 'ANDROID' }),
    );
    await request('flow-apps', WS, { user_ids: ['multi'] });
    await completed('flow-apps');
    const sends = recordingProvider.sends.filter((s) => s.targets.some((t) => t.userId === 'multi'));
    expect(sends.map((s) => [s.app.app_id, s.targets.map((t) => t.deviceId)]).sort()).toEqual([
      ['android-app', ['multi-pixel']],
      ['ios-app', ['multi-phone']],
    ]);
  });

  it('D2: a transactional DeviceAudience reaches an anonymous device', async () => {
    await publishFacts(...registered(dev('anonymous-phone'), null));
    await request(
      'flow-anon',
      WS,
      { app_id: 'ios-app', device_id: 'anonymous-phone' },
      { options: { transactional: true } },
    );
    await completed('flow-anon');
    expect(await progress('flow-anon')).toMatchObject({ targeted: 1, sent: 1 });
    expect((await outcomesSettled('flow-anon', 2)).find((e) => e.type === 'PushSent')!.data).toMatchObject({
      device_id: 'anonymous-phone',
      user_id: null,
    });
  });

  it('D2: include_unsubscribed reaches an unsubscribed user through the broker', async () => {
    await request('flow-unsub', WS, { user_ids: ['ann'] }, { options: { include_unsubscribed: true } });
    await completed('flow-unsub');
    expect(await progress('flow-unsub')).toMatchObject({ targeted: 1, sent: 1, skipped: { unsubscribed: 0 } });
  });

  it('D4: last_active_device_only sends to the device of the latest DeviceSessionRecorded', async () => {
    await publishFacts(
      ...registered(dev('d4-old'), 'dee', { session: 5000 }),
      ...registered(dev('d4-new'), 'dee', { session: 9000 }),
    );
    await request('flow-d4', WS, { user_ids: ['dee'] }, { options: { last_active_device_only: true } });
    await completed('flow-d4');
    const sends = recordingProvider.sends.filter((s) => s.targets.some((t) => t.userId === 'dee'));
    expect(sends.flatMap((s) => s.targets.map((t) => t.deviceId))).toEqual(['d4-new']);
  });

  it('D1: the owners’ latest facts decide — a token moved to another device (T2), a suppression lifted (B2)', async () => {
    await publishFacts(
      ...registered(dev('old-phone'), 'mover'),
      deviceTokenEvents.tokenRemoved(dev('old-phone'), 2000, 'token-old-phone', {
        user_id: 'mover',
        reason: 'MOVED_TO_ANOTHER_DEVICE',
      }),
      deviceTokenEvents.pushCapabilityChanged(dev('new-phone'), 2000, { user_id: 'mover' }),
      deviceTokenEvents.tokenAssigned(dev('new-phone'), 2001, 'token-old-phone', { user_id: 'mover' }),
      ...registered(dev('lifted-phone'), 'lifted'),
      deliveryEvents.deliveryStatusChanged(dev('lifted-phone'), 2000, 'SUPPRESSED', 'BOUNCED', { platform: 'IOS' }),
      deliveryEvents.deliveryStatusChanged(dev('lifted-phone'), 3000, 'UNUSED', 'SUPPRESSED', { platform: 'IOS' }),
    );
    await request('flow-owners', WS, { user_ids: ['mover', 'lifted'] });
    await completed('flow-owners');
    const devices = (await service.http().get('/dispatches/flow-owners/devices').set(acme)).body.devices;
    expect(
      devices.map((d: { device_id: string; outcome: string; reason: string | null }) => [
        d.device_id,
        d.outcome,
        d.reason,
      ]),
    ).toEqual([
      ['lifted-phone', 'sent', null],
      ['new-phone', 'sent', null],
      ['old-phone', 'skipped', 'not_push_enabled'],
    ]);
    const sent = recordingProvider.sends.flatMap((s) => s.targets).filter((t) => t.userId === 'mover');
    expect(sent).toEqual([expect.objectContaining({ deviceId: 'new-phone', token: 'token-old-phone' })]);
  });

  it('an app the apps file does not list: PushFailed CONFIGURATION, the provider never called', async () => {
    await publishFacts(...registered(dev('stray-phone', 'unlisted-app'), 'stray'));
    await request('flow-stray', WS, { user_ids: ['stray'] });
    await completed('flow-stray');
    expect((await outcomesSettled('flow-stray', 2)).find((e) => e.type === 'PushFailed')!.data).toMatchObject({
      category: 'CONFIGURATION',
      reason: expect.stringMatching(/^APP_NOT_CONFIGURED/),
    });
    expect(recordingProvider.sends.some((s) => s.app.app_id === 'unlisted-app')).toBe(false);
  });

  it('D5: attempts a dead worker left in flight are reported OUTCOME_UNKNOWN once and never sent', async () => {
    // What a SIGKILL between the committed attempt and the recorded answer leaves (the e2e test does it for real).
    await service.dataSource.query(
      `insert into dispatches (dispatch_id, workspace_id, requested_at_ms, recorded_at_ms, message, status, targeted,
         skipped_unsubscribed, skipped_not_push_enabled, skipped_suppressed, remaining)
       values ('flow-dead', $1, 1, 1, '{"title":"x","body":null,"data":{},"silent":false,"ttl_seconds":null,"collapse_key":null,"priority":"HIGH"}', 'running', 1, 0, 0, 0, 1)`,
      [WS],
    );
    await service.dataSource.query(
      `insert into dispatch_targets (dispatch_id, app_id, device_id, workspace_id, user_id, platform, token, state,
         claimed_by, attempt_at_ms)
       values ('flow-dead', 'ios-app', 'kim-phone', $1, 'kim', 'IOS', 'token-kim-phone', 'in_flight', 7, 1)`,
      [WS],
    );
    await completed('flow-dead');
    const outcomes = await outcomesSettled('flow-dead', 2);
    expect(outcomes.filter((e) => e.type !== 'DispatchCompleted')).toEqual([
      {
        type: 'PushFailed',
        data: expect.objectContaining({
          device_id: 'kim-phone',
          category: 'RETRY_EXHAUSTED',
          reason: expect.stringMatching(/^OUTCOME_UNKNOWN/),
        }),
      },
    ]);
    expect(
      recordingProvider.sends.some((s) => s.targets.some((t) => t.deviceId === 'kim-phone' && s.message.title === 'x')),
    ).toBe(false);
    expect((await service.http().get('/dispatches/flow-dead/devices').set(acme)).body.devices).toMatchObject([
      { device_id: 'kim-phone', outcome: 'failed', reason: expect.stringMatching(/^OUTCOME_UNKNOWN/) },
    ]);
  });

  it('D5: an adapter that fails instead of answering: its devices are reported OUTCOME_UNKNOWN, never retried', async () => {
    await publishFacts(...registered(dev('crash-phone'), 'crash'));
    recordingProvider.failWith = new Error('adapter bug');
    try {
      await request('flow-crash', WS, { user_ids: ['crash'] });
      await completed('flow-crash');
    } finally {
      recordingProvider.failWith = null;
    }
    expect((await outcomesSettled('flow-crash', 2)).find((e) => e.type === 'PushFailed')!.data).toMatchObject({
      device_id: 'crash-phone',
      category: 'RETRY_EXHAUSTED',
      reason: expect.stringMatching(/^OUTCOME_UNKNOWN: the provider adapter failed \(adapter bug\)/),
    });
    expect(recordingProvider.sends.filter((s) => s.targets.some((t) => t.deviceId === 'crash-phone'))).toHaveLength(1);
  });

  it('a DeviceAudience without transactional, or another workspace’s dispatch_id, is dead-lettered', async () => {
    await request('flow-dlq', WS, { app_id: 'ios-app', device_id: 'kim-phone' });
    await request('flow-1', 'globex', { user_ids: ['kim'] });
    await service.waitUntilAtEnd(REQUESTS_GROUP);
    const dead = await service.messages(dlqTopicOf(Topics.DispatchRequests), 2);
    expect(dead.map((m) => String(m.headers!['dlq-error']))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/transactional dispatches only/),
        expect.stringMatching(/another workspace's dispatch/),
      ]),
    );
    expect((await service.http().get('/dispatches/flow-dlq').set(acme)).status).toBe(404);
  });

  it('metrics: dispatches, pushes by outcome, skips by reason', async () => {
    const text = (await service.http().get('/metrics')).text;
    expect(text).toMatch(/dispatcher_pushes_total\{outcome="sent",service="dispatcher"\} [1-9]/);
    expect(text).toMatch(/dispatcher_skipped_total\{reason="suppressed",service="dispatcher"\} [1-9]/);
    expect(text).toMatch(/dispatcher_dispatches_total\{event="completed",service="dispatcher"\} [1-9]/);
  });
});
