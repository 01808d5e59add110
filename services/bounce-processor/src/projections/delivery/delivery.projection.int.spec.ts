import { DeviceTokenEvent, DispatchOutcomeEvent, MessageKeys, Topics, dlqTopicOf } from '@push/contracts';
import { deviceTokenEvents, outcomeEvents, serviceUnderTest } from '@push/testing';
import { bounceProcessorService } from '../../service';

jest.setTimeout(60_000);

const WS = 'acme';
const device = (app_id: string, device_id: string) => ({ workspace_id: WS, app_id, device_id });
const keyOf = (event: { data: { workspace_id: string; app_id: string; device_id: string } }) =>
  MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id);
const android = { platform: 'ANDROID' as const };

/** bounce-processor running as a service: outcomes and registrations in through the broker, decisions out. */
describe('bounce-processor delivery projection (real Kafka and Postgres)', () => {
  const service = serviceUnderTest(bounceProcessorService, {
    topics: [Topics.DispatchOutcomes, Topics.DeviceTokens, Topics.DeviceDelivery],
    env: { API_KEYS: 'key-acme=acme' },
    // One partition, so one B4 shard sees the whole burst (the domain's specs cover several shards' independence).
    partitions: 1,
  });

  const publishOutcomes = (...events: Extract<DispatchOutcomeEvent, { data: { device_id: string } }>[]) =>
    service.publish(
      Topics.DispatchOutcomes,
      events.map((event) => ({ key: keyOf(event), event })),
    );
  const publishTokens = (...events: DeviceTokenEvent[]) =>
    service.publish(
      Topics.DeviceTokens,
      events.map((event) => ({ key: keyOf(event), event })),
    );
  const applied = () => service.waitUntilApplied('bounce-processor.delivery');
  const publishedFor = async (device_id: string) =>
    (await service.published(Topics.DeviceDelivery)).filter((e) => e.data.device_id === device_id);

  it('B3/B5: an APNs Unregistered bounce publishes the status, the invalidation and the uninstall', async () => {
    const phone = device('ios-app', 'phone');
    const bounce = outcomeEvents.pushBounced(phone, 2000, 'apns-token', 'Unregistered', { provider_timestamp: 1900 });
    await publishOutcomes(outcomeEvents.pushSent(phone, 1000), bounce);
    await applied();

    const out = await publishedFor('phone');
    expect(out.map((e) => e.type)).toEqual([
      'DeliveryStatusChanged',
      'DeliveryStatusChanged',
      'TokenInvalidated',
      'UninstallDetected',
    ]);
    expect(out[2].data).toMatchObject({
      bounce_event_id: bounce.data.event_id,
      token: 'apns-token',
      provider_timestamp: 1900,
    });
  });

  it('B2: a registration published by token-registry clears the bounced device', async () => {
    const pixel = device('android-app', 'pixel');
    await publishOutcomes(outcomeEvents.pushBounced(pixel, 1000, 'fcm-token', 'NotRegistered', android));
    await applied();
    await publishTokens(deviceTokenEvents.tokenRenewed(pixel, 2000, 'fcm-token', android));
    await applied();

    expect((await publishedFor('pixel')).filter((e) => e.type === 'DeliveryStatusChanged')).toMatchObject([
      { data: { status: 'BOUNCED', cause: 'PUSH_BOUNCED' } },
      { data: { status: 'UNUSED', cause: 'TOKEN_REGISTERED' } },
    ]);
  });

  it('B4: a burst of mismatched-credential bounces is held in Postgres, flagged, and invalidates nothing', async () => {
    const bounces = Array.from({ length: 30 }, (_, i) =>
      outcomeEvents.pushBounced(device('burst-app', `b${i}`), 5000 + i, `tok-${i}`, 'messaging/mismatched-credential', {
        ...android,
        dispatch_id: null,
      }),
    );
    await publishOutcomes(...bounces);
    await applied();

    const out = (await service.published(Topics.DeviceDelivery)).filter((e) => e.data.app_id === 'burst-app');
    expect(out).toMatchObject([
      { type: 'AppProviderFlagged', data: { provider: 'FCM', window_shard: 0, reason_count: 10, outcome_count: 10 } },
    ]);
    expect(
      await service.dataSource.query(
        "select state, count(*)::int as n from waiting_bounces where app_id = 'burst-app' group by state",
      ),
    ).toEqual([{ state: 'held', n: 30 }]);
  });

  it('bad outcomes go to the dead-letter topic with the reason', async () => {
    await publishOutcomes(outcomeEvents.pushBounced(device('ios-app', 'empty-token'), 1000, '', 'Unregistered'));
    await applied();

    const [dead] = await service.messages(dlqTopicOf(Topics.DispatchOutcomes), 1);
    expect(String(dead.headers!['dlq-error'])).toContain('token is empty');
  });
});
