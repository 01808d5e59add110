import { Topics } from '@push/contracts';
import { eventually, serviceUnderTest } from '@push/testing';
import { dispatcherServiceSendingThrough } from '../service';
import { RecordingProviderModule } from '../test-support/recording-push-provider';

jest.setTimeout(60_000);

const service = serviceUnderTest(dispatcherServiceSendingThrough(RecordingProviderModule), {
  topics: [
    Topics.DispatchRequests,
    Topics.DispatchOutcomes,
    Topics.DeviceTokens,
    Topics.UserSubscriptions,
    Topics.DeviceDelivery,
  ],
  env: { API_KEYS: 'key-acme=acme,key-other=other' },
});
const acme = { Authorization: 'Bearer key-acme' };
const other = { Authorization: 'Bearer key-other' };

const visible = { title: 'Hello', body: 'World' };

describe('POST /dispatches, GET /dispatches/{id} (real Kafka and Postgres)', () => {
  it('publishes the request as DispatchRequested and answers 202 {dispatch_id}', async () => {
    const response = await service
      .http()
      .post('/dispatches')
      .set(acme)
      .send({ dispatch_id: 'api-1', audience: { user_ids: ['kim'] }, message: { ...visible, data: { k: 'v' } } });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ dispatch_id: 'api-1' });
    const published = await service.published(Topics.DispatchRequests);
    expect(published).toMatchObject([
      {
        type: 'DispatchRequested',
        data: {
          dispatch_id: 'api-1',
          workspace_id: 'acme',
          campaign_id: null,
          audience: { 'push.dispatch.UserAudience': { user_ids: ['kim'] } },
          message: { title: 'Hello', body: 'World', data: { k: 'v' }, silent: false, priority: 'HIGH' },
          options: { include_unsubscribed: false, transactional: false, last_active_device_only: false, app_ids: [] },
        },
      },
    ]);
  });

  it('generates a dispatch id when none is given', async () => {
    const response = await service
      .http()
      .post('/dispatches')
      .set(acme)
      .send({ audience: { filter_json: '{"push_enabled":true}' }, message: visible });
    expect(response.status).toBe(202);
    expect(response.body.dispatch_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('GET /dispatches/{id}: the dispatch of the key’s workspace; 404 for another workspace or an unknown id', async () => {
    await eventually(
      async () => (await service.http().get('/dispatches/api-1').set(acme)).body.status === 'completed',
      30_000,
      'api-1 completed (its user is unknown: nothing to send)',
    );
    expect((await service.http().get('/dispatches/api-1').set(acme)).body).toEqual({
      dispatch_id: 'api-1',
      status: 'completed',
      targeted: 0,
      sent: 0,
      bounced: 0,
      failed: 0,
      skipped: { unsubscribed: 0, not_push_enabled: 0, suppressed: 0 },
    });
    expect((await service.http().get('/dispatches/api-1/devices').set(acme)).body).toEqual({
      dispatch_id: 'api-1',
      devices: [],
    });
    expect((await service.http().get('/dispatches/api-1').set(other)).status).toBe(404);
    expect((await service.http().get('/dispatches/api-1/devices').set(other)).status).toBe(404);
    expect((await service.http().get('/dispatches/nope').set(acme)).status).toBe(404);
    expect((await service.http().get('/dispatches/api-1')).status).toBe(401);
  });

  it('a dispatch id of another workspace is a 409', async () => {
    const response = await service
      .http()
      .post('/dispatches')
      .set(other)
      .send({ dispatch_id: 'api-1', audience: { user_ids: ['kim'] }, message: visible });
    expect(response.status).toBe(409);
  });

  it.each([
    [{ audience: { user_ids: ['kim'] } }, 'message'],
    [{ audience: {}, message: visible }, 'audience'],
    [{ audience: { user_ids: ['kim'], filter_json: '{}' }, message: visible }, 'audience'],
    [{ audience: { user_ids: [] }, message: visible }, 'audience.user_ids'],
    [{ audience: { user_ids: [''] }, message: visible }, 'audience.user_ids.0'],
    [{ audience: { filter_json: '{"platfrom":"ios"}' }, message: visible }, 'audience.filter_json'],
    [{ audience: { filter_json: 'not json' }, message: visible }, 'audience.filter_json'],
    [{ audience: { app_id: 'ios-app' }, message: visible, options: { transactional: true } }, 'audience.device_id'],
    [{ audience: { app_id: 'ios-app', device_id: 'phone' }, message: visible }, 'options.transactional'],
    [{ audience: { user_ids: ['kim'] }, message: {} }, 'message.body'],
    [{ audience: { user_ids: ['kim'] }, message: { silent: true, title: 'x' } }, 'message.title'],
    [{ audience: { user_ids: ['kim'] }, message: { ...visible, priority: 'high' } }, 'message.priority'],
    [{ audience: { user_ids: ['kim'] }, message: { ...visible, ttl_seconds: -1 } }, 'message.ttl_seconds'],
    [{ audience: { user_ids: ['kim'] }, message: { ...visible, data: { n: 1 } } }, 'message.data.n'],
    [{ audience: { user_ids: ['kim'] }, message: visible, options: { app_ids: 'ios-app' } }, 'options.app_ids'],
    [{ audience: { user_ids: ['kim'] }, message: visible, workspace_id: 'other' }, '(body)'],
    [{ dispatch_id: 'a\u0000b', audience: { user_ids: ['kim'] }, message: visible }, 'dispatch_id'],
  ])('400 naming the field: %j → %s', async (body, field) => {
    const response = await service.http().post('/dispatches').set(acme).send(body);
    expect(response.status).toBe(400);
    expect(response.body.issues.map((i: { field: string }) => i.field)).toContain(field);
  });

  it('documents the three endpoints in OpenAPI', async () => {
    const paths = Object.keys((await service.http().get('/docs-json')).body.paths);
    expect(paths).toEqual(expect.arrayContaining(['/dispatches', '/dispatches/{id}', '/dispatches/{id}/devices']));
  });
});
