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
      next: null,
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

  it('documents the three endpoints in OpenAPI, the device pages with their parameters', async () => {
    const { paths } = (await service.http().get('/docs-json')).body;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining(['/dispatches', '/dispatches/{id}', '/dispatches/{id}/devices']),
    );
    const devices = paths['/dispatches/{id}/devices'].get;
    expect(devices.parameters.filter((p: { in: string }) => p.in === 'query')).toEqual(
      expect.arrayContaining(
        ['limit', 'after', 'state'].map((name) => expect.objectContaining({ name, required: false })),
      ),
    );
    expect(devices.responses['200'].content['application/json'].schema.properties).toHaveProperty('next');
  });
});

/** Rows of a recorded, completed dispatch (nothing for the worker to send): the device pages read only these. */
async function seedDispatch(dispatchId: string, workspaceId: string, devices: [string, string, string][]) {
  await service.dataSource.query(
    `insert into dispatches (dispatch_id, workspace_id, requested_at_ms, recorded_at_ms, message, status, targeted,
       skipped_unsubscribed, skipped_not_push_enabled, skipped_suppressed, remaining, completed_at_ms)
     values ($1, $2, 0, 0, '{}', 'completed', $3, 0, 0, 0, 0, 0)`,
    [dispatchId, workspaceId, devices.length],
  );
  for (const [app_id, device_id, state] of devices)
    await service.dataSource.query(
      `insert into dispatch_targets (dispatch_id, app_id, device_id, workspace_id, user_id, platform, state, reason,
         outcome_at_ms)
       values ($1, $2, $3, $4, 'kim', 'IOS', $5, $6, 1000)`,
      [dispatchId, app_id, device_id, workspaceId, state, state === 'skipped' ? 'unsubscribed' : null],
    );
}

describe('GET /dispatches/{id}/devices, a page at a time (real Postgres)', () => {
  // Ids whose order is the same bytewise and in any collation: the expected order needs no collation of its own.
  const FIVE: [string, string, string][] = [
    ['android-app', 'phone-a', 'sent'],
    ['ios-app', 'phone-a', 'skipped'],
    ['ios-app', 'phone-b', 'bounced'],
    ['ios-app', 'phone-c', 'skipped'],
    ['web-app', 'phone-a', 'failed'],
  ];
  const keys = (devices: { app_id: string; device_id: string }[]) => devices.map((d) => `${d.app_id}/${d.device_id}`);
  const devicesOf = (dispatchId: string, query: Record<string, string> = {}, auth = acme) =>
    service.http().get(`/dispatches/${dispatchId}/devices`).query(query).set(auth);

  /** Every page from the first, following `next` until it is null. */
  async function allPages(dispatchId: string, query: Record<string, string>) {
    const pages: { devices: { app_id: string; device_id: string; outcome: string }[]; next: string | null }[] = [];
    let after: string | null = null;
    do {
      const response = await devicesOf(dispatchId, after === null ? query : { ...query, after });
      expect(response.status).toBe(200);
      pages.push(response.body);
      after = response.body.next;
    } while (after !== null && pages.length <= FIVE.length);
    return pages;
  }

  beforeAll(async () => {
    await seedDispatch('paged-5', 'acme', FIVE);
    await seedDispatch('paged-other', 'acme', [['ios-app', 'phone-z', 'sent']]);
  });

  it('without parameters: the first 100 devices, here all five in (app_id, device_id) order, next null', async () => {
    const response = await devicesOf('paged-5');
    expect(response.status).toBe(200);
    expect(keys(response.body.devices)).toEqual(FIVE.map(([app, device]) => `${app}/${device}`));
    expect(response.body.devices[1]).toEqual({
      app_id: 'ios-app',
      device_id: 'phone-a',
      user_id: 'kim',
      platform: 'ios',
      outcome: 'skipped',
      reason: 'unsubscribed',
      at: new Date(1000).toISOString(),
    });
    expect(response.body.next).toBeNull();
  });

  it.each([1, 2])('pages of %i cover every device once, in order, and the last page’s next is null', async (limit) => {
    const pages = await allPages('paged-5', { limit: String(limit) });
    expect(pages).toHaveLength(Math.ceil(FIVE.length / limit));
    for (const page of pages.slice(0, -1)) expect(page.devices).toHaveLength(limit);
    expect(pages.map((p) => p.next === null)).toEqual(pages.map((_, i) => i === pages.length - 1));
    expect(keys(pages.flatMap((p) => p.devices))).toEqual(FIVE.map(([app, device]) => `${app}/${device}`));
  });

  it('?state= pages only the devices in that state', async () => {
    const pages = await allPages('paged-5', { limit: '1', state: 'skipped' });
    expect(keys(pages.flatMap((p) => p.devices))).toEqual(['ios-app/phone-a', 'ios-app/phone-c']);
    expect((await devicesOf('paged-5', { state: 'pending' })).body).toEqual({
      dispatch_id: 'paged-5',
      devices: [],
      next: null,
    });
  });

  const cursorOf = (ids: unknown) => Buffer.from(JSON.stringify(ids)).toString('base64url');

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '1001' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ limit: '1.5' }, 'limit'],
    [{ limit: '-1' }, 'limit'],
    [{ limit: '' }, 'limit'],
    [{ limit: ['1', '2'] }, 'limit'],
    [{ state: 'sending' }, 'state'],
    [{ state: 'SENT' }, 'state'],
    [{ after: '' }, 'after'],
    [{ after: 'not a cursor!' }, 'after'],
    [{ after: 'bm90IGpzb24' }, 'after'], // base64url of "not json"
    [{ after: cursorOf({ app_id: 'ios-app', device_id: 'phone-a' }) }, 'after'],
    [{ after: cursorOf(['paged-5', 'ios-app']) }, 'after'],
    [{ after: cursorOf(['paged-5', 'ios-app', 'a\u0000b']) }, 'after'],
    [{ after: cursorOf(['paged-5', 'ios-app', 7]) }, 'after'],
    [{ after: cursorOf(['paged-other', 'ios-app', 'phone-z']) }, 'after'],
  ])('400 naming the parameter: %j → %s', async (query, field) => {
    const response = await service.http().get('/dispatches/paged-5/devices').query(query).set(acme);
    expect(response.status).toBe(400);
    expect(response.body.issues.map((i: { field: string }) => i.field)).toEqual([field]);
  });

  it('a cursor of the dispatch still finds no dispatch for another workspace’s key: 404', async () => {
    const [first] = await allPages('paged-5', { limit: '2' });
    expect(first.next).not.toBeNull();
    expect((await devicesOf('paged-5', { limit: '2', after: first.next! }, other)).status).toBe(404);
    expect((await devicesOf('paged-5', {}, other)).status).toBe(404);
  });
});
