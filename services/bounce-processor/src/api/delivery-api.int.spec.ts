import { DispatchOutcomeEvent, MessageKeys, Topics } from '@push/contracts';
import { eventually, outcomeEvents, serviceUnderTest } from '@push/testing';
import { bounceProcessorService } from '../service';

jest.setTimeout(60_000);

const WS = 'acme';
const auth = { Authorization: 'Bearer key-acme' };
const otherWorkspace = { Authorization: 'Bearer key-globex' };
const device = (app_id: string, device_id: string) => ({ workspace_id: WS, app_id, device_id });
const android = { platform: 'ANDROID' as const };

/** bounce-processor's HTTP API over a read model built through the broker. */
describe('bounce-processor HTTP API (real Kafka and Postgres)', () => {
  const service = serviceUnderTest(bounceProcessorService, {
    topics: [Topics.DispatchOutcomes, Topics.DeviceTokens, Topics.DeviceDelivery],
    env: { API_KEYS: 'key-acme=acme,key-globex=globex' },
    partitions: 1,
  });

  const publish = async (...events: Extract<DispatchOutcomeEvent, { data: { device_id: string } }>[]) => {
    await service.publish(
      Topics.DispatchOutcomes,
      events.map((event) => ({
        key: MessageKeys.device(event.data.workspace_id, event.data.app_id, event.data.device_id),
        event,
      })),
    );
    await service.waitUntilApplied('bounce-processor.delivery');
  };
  const burst = (app_id: string, n: number) =>
    Array.from({ length: n }, (_, i) =>
      outcomeEvents.pushBounced(
        device(app_id, `b${i}`),
        5000 + i,
        `tok-${app_id}-${i}`,
        'messaging/mismatched-credential',
        android,
      ),
    );
  const http = () => service.http();

  it('B1: GET /devices/{app_id}/{device_id}/delivery answers the status and the history, newest first', async () => {
    await publish(
      outcomeEvents.pushSent(device('ios-app', 'phone'), 1000, { dispatch_id: 'd1' }),
      outcomeEvents.pushBounced(device('ios-app', 'phone'), 2000, 'tok', 'Unregistered', { dispatch_id: null }),
    );

    const { status, body } = await http().get('/devices/ios-app/phone/delivery').set(auth);
    expect(status).toBe(200);
    expect(body).toEqual({
      last_status: 'bounced',
      consecutive_bounces: 1,
      last_outcome_at: '1970-01-01T00:00:02.000Z',
      history: [
        { outcome: 'bounced', reason: 'Unregistered', at: '1970-01-01T00:00:02.000Z', dispatch_id: null },
        { outcome: 'sent', reason: null, at: '1970-01-01T00:00:01.000Z', dispatch_id: 'd1' },
      ],
    });
  });

  it('answers 404 for an unknown device or another workspace, 400 naming a bad id, 401 without key', async () => {
    expect((await http().get('/devices/ios-app/nobody/delivery').set(auth)).status).toBe(404);
    expect((await http().get('/devices/ios-app/phone/delivery').set(otherWorkspace)).status).toBe(404);
    const bad = await http().get('/devices/ios-app/%00/delivery').set(auth);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('device_id');
    expect((await http().get('/devices/ios-app/phone/delivery')).status).toBe(401);
    expect((await http().get('/apps/%20/held-bounces').set(auth)).status).toBe(400);
  });

  it('B4: held bounces are listed, flagged on /health and /metrics, and released as B3', async () => {
    await publish(...burst('burst-app', 30));

    const held = await http().get('/apps/burst-app/held-bounces').set(auth);
    expect(held.body).toEqual({
      app_id: 'burst-app',
      count: 30,
      first_at: '1970-01-01T00:00:05.000Z',
      last_at: '1970-01-01T00:00:05.029Z',
      reasons: [{ reason: 'messaging/mismatched-credential', count: 30 }],
      flagged: true,
      flagged_reasons: ['messaging/mismatched-credential'],
    });
    expect((await http().get('/apps/burst-app/held-bounces').set(otherWorkspace)).body).toMatchObject({ count: 0 });
    // Another workspace's key neither releases nor discards them: its app of the same id has nothing held.
    expect((await http().post('/apps/burst-app/held-bounces/release').set(otherWorkspace)).body).toMatchObject({
      released: 0,
    });
    expect((await http().post('/apps/burst-app/held-bounces/discard').set(otherWorkspace)).body).toMatchObject({
      discarded: 0,
    });
    expect((await http().get('/apps/burst-app/held-bounces').set(auth)).body).toMatchObject({ count: 30 });
    const overview = await http().get('/held-bounces').set(auth);
    expect(overview.body.apps.filter((a: { flagged: boolean }) => a.flagged)).toEqual([held.body]);
    expect((await http().get('/held-bounces').set(otherWorkspace)).body).toEqual({ apps: [] });

    const health = await http().get('/health');
    expect(health.body.info['burst-safety']).toEqual({
      status: 'up',
      degraded: true,
      flaggedApps: [{ workspace_id: WS, app_id: 'burst-app', reasons: ['messaging/mismatched-credential'] }],
    });
    const metrics = (await http().get('/metrics')).text;
    expect(metrics).toContain(
      'bounce_processor_app_flagged{workspace_id="acme",app_id="burst-app",reason="messaging/mismatched-credential"',
    );
    expect(metrics).toMatch(/bounce_processor_held_bounces\{workspace_id="acme",app_id="burst-app"[^}]*\} 30/);

    const released = await http().post('/apps/burst-app/held-bounces/release').set(auth);
    expect(released.status).toBe(200);
    expect(released.body).toEqual({ app_id: 'burst-app', released: 30, tokens_invalidated: 30 });
    expect((await http().get('/apps/burst-app/held-bounces').set(auth)).body).toMatchObject({ count: 0 });
    await eventually(
      async () =>
        (await service.published(Topics.DeviceDelivery)).filter(
          (e) => e.type === 'TokenInvalidated' && e.data.app_id === 'burst-app',
        ).length === 30,
      10_000,
      'the 30 released TokenInvalidated',
    );
  });

  it('B4: discard forgets the held bounces without invalidating a token', async () => {
    await publish(...burst('other-burst-app', 12));

    const discarded = await http().post('/apps/other-burst-app/held-bounces/discard').set(auth);
    expect(discarded.body).toEqual({ app_id: 'other-burst-app', discarded: 12 });
    expect((await http().get('/apps/other-burst-app/held-bounces').set(auth)).body).toMatchObject({ count: 0 });
    const invalidated = (await service.published(Topics.DeviceDelivery)).filter(
      (e) => e.type === 'TokenInvalidated' && e.data.app_id === 'other-burst-app',
    );
    expect(invalidated).toEqual([]);
  });
});
