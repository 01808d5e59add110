import { MessageKeys, Topics } from '@push/contracts';
import { deviceTokenEvents, serviceUnderTest } from '@push/testing';
import { SUBSCRIPTIONS_GROUP } from '../projections/subscriptions/subscriptions.projection';
import { subscriptionStateService } from '../service';

jest.setTimeout(60_000);

const acme = { Authorization: 'Bearer key-acme' };
const globex = { Authorization: 'Bearer key-globex' };

/** The HTTP API of subscription-state: /users/track publishes through the real broker, the read model answers. */
describe('subscription-state HTTP API (real Kafka and Postgres)', () => {
  const service = serviceUnderTest(subscriptionStateService, {
    topics: [Topics.UserEvents, Topics.DeviceTokens, Topics.UserSubscriptions],
    env: { API_KEYS: 'key-acme=acme,key-globex=globex' },
  });
  const track = (body: unknown, headers: Record<string, string> = acme) =>
    service
      .http()
      .post('/users/track')
      .set(headers)
      .send(body as object);
  const subscription = (userId: string, headers = acme) =>
    service
      .http()
      .get(`/users/${encodeURIComponent(userId)}/subscription`)
      .set(headers);
  const userEventsWritten = async () => (await service.published(Topics.UserEvents)).length;
  /**
   * Every message on the projections' topics applied, those the service itself wrote (/users/track) and the history
   * read back from its output included: waitUntilApplied waits for every projection to reach its topics' ends.
   */
  const appliedAll = () => service.waitUntilApplied(SUBSCRIPTIONS_GROUP);

  it('S1/S2: /users/track publishes each push_subscribe (source REST) and answers 201 once Kafka acknowledged', async () => {
    const response = await track({
      attributes: [
        { external_id: 'ada', push_subscribe: 'unsubscribed', first_name: 'Ada', email: 'ada@example.com' },
        { external_id: 'ben', push_subscribe: 'opted_in' },
        { external_id: 'cy', country: 'NZ' }, // no push_subscribe: accepted, counted, nothing published
      ],
    });

    expect(response.status).toBe(201);
    expect(response.body).toEqual({ message: 'success', attributes_processed: 3 });
    const written = (await service.published(Topics.UserEvents)).filter((e) =>
      ['ada', 'ben', 'cy'].includes(e.data.user_id),
    );
    const rows = written.map((e) => [e.data.workspace_id, e.data.user_id, e.data.state, e.data.source]);
    expect(rows.sort()).toEqual([
      ['acme', 'ada', 'UNSUBSCRIBED', 'REST'],
      ['acme', 'ben', 'OPTED_IN', 'REST'],
    ]);

    await appliedAll();
    const ada = await subscription('ada');
    expect(ada.status).toBe(200);
    expect(ada.body).toEqual({
      user_id: 'ada',
      push_subscribe: 'unsubscribed',
      push_opted_in_at: null,
      history: [{ from: null, to: 'unsubscribed', source: 'rest', at: expect.any(String) }],
    });
    expect((await subscription('ben')).body).toMatchObject({
      push_subscribe: 'opted_in',
      push_opted_in_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect((await subscription('cy')).status).toBe(404);
  });

  it('S1/S3/S5: GET /users/{id}/subscription gives the state and its history oldest first; 404 for a user never seen', async () => {
    const phone = { workspace_id: 'acme', app_id: 'ios-app', device_id: 'dee-phone' };
    const seen = deviceTokenEvents.userFirstSeen(phone, Date.parse('2026-11-01T10:00:00Z'), 'dee');
    const authorized = deviceTokenEvents.pushCapabilityChanged(phone, Date.parse('2026-11-01T10:05:00Z'), {
      user_id: 'dee',
    });
    await service.publish(
      Topics.DeviceTokens,
      [seen, authorized].map((event) => ({ key: MessageKeys.device('acme', 'ios-app', 'dee-phone'), event })),
    );
    await service.waitUntilApplied(SUBSCRIPTIONS_GROUP);
    expect((await track({ attributes: [{ external_id: 'dee', push_subscribe: 'subscribed' }] })).status).toBe(201);
    await appliedAll();

    const dee = await subscription('dee');

    expect(dee.body).toEqual({
      user_id: 'dee',
      push_subscribe: 'subscribed',
      push_opted_in_at: null, // opted in at 10:05, then explicitly subscribed: no longer opted in
      history: [
        { from: null, to: 'subscribed', source: 'first_seen', at: '2026-11-01T10:00:00.000Z' },
        { from: 'subscribed', to: 'opted_in', source: 'auto_opt_in', at: '2026-11-01T10:05:00.000Z' },
        { from: 'opted_in', to: 'subscribed', source: 'rest', at: expect.any(String) },
      ],
    });
    expect((await subscription('nobody')).status).toBe(404);
  });

  it('S2: PUT /users/{id}/subscription (the console) publishes a PushSubscriptionSet of source DASHBOARD and answers the state set', async () => {
    const response = await service
      .http()
      .put('/users/fay/subscription')
      .set(acme)
      .send({ push_subscribe: 'unsubscribed' });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ user_id: 'fay', push_subscribe: 'unsubscribed' });
    const written = (await service.published(Topics.UserEvents)).filter((e) => e.data.user_id === 'fay');
    expect(written.map((e) => [e.data.workspace_id, e.data.state, e.data.source])).toEqual([
      ['acme', 'UNSUBSCRIBED', 'DASHBOARD'],
    ]);
    await appliedAll();
    expect((await subscription('fay')).body).toMatchObject({
      push_subscribe: 'unsubscribed',
      history: [{ from: null, to: 'unsubscribed', source: 'dashboard' }],
    });
  });

  it('PUT /users/{id}/subscription: a bad push_subscribe or user id is a 400 naming it, and nothing is published', async () => {
    const before = await userEventsWritten();
    const put = (userId: string, body: unknown) =>
      service
        .http()
        .put(`/users/${userId}/subscription`)
        .set(acme)
        .send(body as object);

    const badValue = await put('fay', { push_subscribe: 'maybe' });
    const missing = await put('fay', {});
    const unknownField = await put('fay', { push_subscribe: 'subscribed', extra: 1 });
    const badId = await put('x'.repeat(257), { push_subscribe: 'subscribed' });

    expect(badValue.status).toBe(400);
    expect(badValue.body.issues).toEqual([
      { field: 'push_subscribe', problem: 'expected one of opted_in|subscribed|unsubscribed, got "maybe"' },
    ]);
    expect(missing.body.issues).toEqual([{ field: 'push_subscribe', problem: 'is required' }]);
    expect(unknownField.status).toBe(400);
    expect(badId.status).toBe(400);
    expect(badId.body.issues).toEqual([{ field: 'user_id', problem: 'is longer than 256 bytes (UTF-8)' }]);
    expect(await userEventsWritten()).toBe(before);
  });

  it('every endpoint is workspace-scoped: another workspace does not see the user; no key is a 401', async () => {
    expect((await subscription('ada', globex)).status).toBe(404);
    expect((await service.http().get('/users/ada/subscription')).status).toBe(401);
    expect((await service.http().post('/users/track').send({ attributes: [] })).status).toBe(401);
    expect((await service.http().put('/users/ada/subscription').send({ push_subscribe: 'subscribed' })).status).toBe(
      401,
    );
  });

  it('S2: a user named twice in one request gets both changes of the same millisecond; the later one wins', async () => {
    const response = await track({
      attributes: [
        { external_id: 'gus', push_subscribe: 'unsubscribed' },
        { external_id: 'gus', push_subscribe: 'opted_in' },
      ],
    });
    expect(response.status).toBe(201);
    await appliedAll();

    expect((await subscription('gus')).body).toMatchObject({
      push_subscribe: 'opted_in',
      history: [
        { from: null, to: 'unsubscribed', source: 'rest' },
        { from: 'unsubscribed', to: 'opted_in', source: 'rest' },
      ],
    });
  });

  it('Braze clients: events, purchases and the X-Braze-Bulk header are accepted and otherwise ignored', async () => {
    const response = await track(
      {
        attributes: [{ external_id: 'eve', push_subscribe: 'subscribed' }],
        events: [{ external_id: 'eve', name: 'played', time: '2026-11-01T10:00:00Z' }],
        purchases: [{ external_id: 'eve', product_id: 'p', currency: 'USD', price: 1, time: '2026-11-01T10:00:00Z' }],
      },
      { ...acme, 'X-Braze-Bulk': 'true' },
    );

    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      message: 'success',
      attributes_processed: 1,
      events_processed: 1,
      purchases_processed: 1,
    });
  });

  it('GET /docs-json documents the three routes', async () => {
    const response = await service.http().get('/docs-json');

    expect(response.status).toBe(200);
    expect(Object.keys(response.body.paths)).toEqual(
      expect.arrayContaining(['/users/track', '/users/{user_id}/subscription']),
    );
    expect(Object.keys(response.body.paths['/users/{user_id}/subscription'])).toEqual(
      expect.arrayContaining(['get', 'put']),
    );
  });

  describe('validation: 400 naming the index and field, and nothing of the request published', () => {
    const valid = { external_id: 'valid-user', push_subscribe: 'opted_in' };
    const cases: [string, unknown, string, string][] = [
      [
        'a wrong type',
        { attributes: [valid, { external_id: 'x', push_subscribe: 1 }] },
        'attributes.1.push_subscribe',
        'expected one of opted_in|subscribed|unsubscribed, got 1',
      ],
      [
        'an unknown value',
        { attributes: [valid, valid, { external_id: 'x', push_subscribe: 'maybe' }] },
        'attributes.2.push_subscribe',
        'expected one of opted_in|subscribed|unsubscribed, got "maybe"',
      ],
      [
        'null',
        { attributes: [{ external_id: 'x', push_subscribe: null }] },
        'attributes.0.push_subscribe',
        'expected one of opted_in|subscribed|unsubscribed, got null',
      ],
      [
        'a missing external_id',
        { attributes: [valid, { push_subscribe: 'subscribed' }] },
        'attributes.1.external_id',
        'is required',
      ],
      [
        'an external_id that is not a string',
        { attributes: [{ external_id: 42, push_subscribe: 'subscribed' }] },
        'attributes.0.external_id',
        'expected a string',
      ],
      [
        'a blank external_id',
        { attributes: [valid, { external_id: '  ', push_subscribe: 'subscribed' }] },
        'attributes.1.external_id',
        'must not be blank',
      ],
      [
        'an over-long external_id',
        { attributes: [valid, { external_id: 'x'.repeat(257), push_subscribe: 'subscribed' }] },
        'attributes.1.external_id',
        'is longer than 256 bytes (UTF-8)',
      ],
      [
        'an external_id with a NUL character',
        { attributes: [{ external_id: 'a\u0000b', push_subscribe: 'subscribed' }] },
        'attributes.0.external_id',
        'must not contain NUL characters',
      ],
      [
        'an attributes entry that is not an object',
        { attributes: [valid, 'ada'] },
        'attributes.1',
        'expected an object',
      ],
      [
        'attributes that are not an array',
        { attributes: { external_id: 'x' } },
        'attributes',
        'expected an array of attributes objects',
      ],
      [
        'more than 75 attributes',
        { attributes: Array.from({ length: 76 }, (_, i) => ({ ...valid, external_id: `u${i}` })) },
        'attributes',
        'at most 75 attributes per request',
      ],
      ['events that are not objects', { attributes: [valid], events: ['played'] }, 'events.0', 'expected an object'],
      [
        'a body with nothing to track',
        { other: 1 },
        '(body)',
        'expected at least one of attributes, events, purchases',
      ],
    ];

    it.each(cases)('%s', async (_, body, field, problem) => {
      const before = await userEventsWritten();

      const response = await track(body);

      expect(response.status).toBe(400);
      expect(response.body.issues).toContainEqual({ field, problem });
      expect(response.body.message).toContain(`${field}: ${problem}`);
      expect(await userEventsWritten()).toBe(before);
    });

    it('a body that is not JSON', async () => {
      const response = await service
        .http()
        .post('/users/track')
        .set({ ...acme, 'Content-Type': 'application/json' })
        .send('{"attributes": [');

      expect(response.status).toBe(400);
    });

    it('a body over the limit', async () => {
      const before = await userEventsWritten();
      const huge = Array.from({ length: 75 }, (_, i) => ({ ...valid, external_id: `u${i}`, bio: 'x'.repeat(20_000) }));

      const response = await track({ attributes: huge });

      expect(response.status).toBe(400);
      expect(response.body.message).toMatch(/body/i);
      expect(await userEventsWritten()).toBe(before);
    });

    it('GET with a user id that cannot exist is a 400 naming the parameter', async () => {
      const response = await subscription('x'.repeat(257));

      expect(response.status).toBe(400);
      expect(response.body.issues).toEqual([{ field: 'user_id', problem: 'is longer than 256 bytes (UTF-8)' }]);
    });
  });
});
