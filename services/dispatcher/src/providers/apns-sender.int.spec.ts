import {
  FakeProviderApps,
  apnsToken,
  message,
  metricValue,
  providerUnderTest,
  startFakeProviderApps,
  target,
} from './testing/fake-provider-apps';

// The APNs adapter (@parse/node-apn, token auth) against the fake APNs on loopback: every class of PROVIDERS.md's
// APNs rows, silent pushes, the payload mapping, long-lived connections and the provider JWT's refresh.

let env: FakeProviderApps;
beforeAll(async () => {
  env = await startFakeProviderApps();
});
afterAll(() => env.close());
beforeEach(() => {
  env.fakes.apns.answers.set({});
  env.fakes.apns.counters.reset();
});

const sendOne = async (token: string, settings = {}) => {
  const { provider, warnings, registry } = providerUnderTest(env.fakes, settings);
  try {
    const [result] = await provider.send(env.apps.ios, message(), [target(env.apps.ios, token)]);
    return { result, warnings, registry, pausedBy: provider.pausedBy(env.apps.ios) };
  } finally {
    await provider.close();
  }
};

describe('APNs answers (D6)', () => {
  it('D6: 200 → sent with the apns-id', async () => {
    const { result } = await sendOne(apnsToken('ok'));
    expect(result).toEqual({ kind: 'sent', providerMessageId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  it.each([
    [410, 'Unregistered', 1_764_000_000_000],
    [410, 'ExpiredToken', 1_764_000_000_001],
    [400, 'BadDeviceToken', null],
    [400, 'DeviceTokenNotForTopic', null],
  ])('D6: %i %s → bounced with the reason (and the 410 timestamp)', async (status, reason, timestamp) => {
    const token = apnsToken(reason);
    env.fakes.apns.answers.set({ byToken: { [token]: { status, reason, ...(timestamp ? { timestamp } : {}) } } });
    const { result } = await sendOne(token);
    expect(result).toEqual({
      kind: 'bounced',
      providerReason: reason,
      providerTimestamp: status === 410 ? timestamp : null,
    });
  });

  it.each([
    [403, 'InvalidProviderToken'],
    [403, 'MissingProviderToken'],
    [403, 'BadCertificate'],
    [400, 'TopicDisallowed'],
    [400, 'BadTopic'],
    [400, 'MissingTopic'],
    [400, 'InvalidPushType'],
    [429, 'TooManyProviderTokenUpdates'],
  ])('D6: %i %s → failed CONFIGURATION and the app pauses', async (status, reason) => {
    const token = apnsToken(reason);
    env.fakes.apns.answers.set({ byToken: { [token]: { status, reason } } });
    const { result, pausedBy } = await sendOne(token);
    expect(result).toEqual({ kind: 'failed', category: 'CONFIGURATION', reason });
    expect(pausedBy).toBe(reason);
  });

  it.each([
    [413, 'PayloadTooLarge'],
    [400, 'BadPriority'],
    [400, 'BadExpirationDate'],
    [400, 'PayloadEmpty'],
  ])('D6: %i %s → failed PAYLOAD, no pause', async (status, reason) => {
    const token = apnsToken(reason);
    env.fakes.apns.answers.set({ byToken: { [token]: { status, reason } } });
    const { result, pausedBy } = await sendOne(token);
    expect(result).toEqual({ kind: 'failed', category: 'PAYLOAD', reason });
    expect(pausedBy).toBeNull();
  });

  it.each([
    [429, 'TooManyRequests'],
    [500, 'InternalServerError'],
    [503, 'ServiceUnavailable'],
  ])('D6: %i %s → retried with backoff, then failed RETRY_EXHAUSTED after maxAttempts', async (status, reason) => {
    const token = apnsToken(reason);
    env.fakes.apns.answers.set({ byToken: { [token]: { status, reason } } });
    const { result, registry } = await sendOne(token, { maxAttempts: 3 });
    expect(result).toEqual({ kind: 'failed', category: 'RETRY_EXHAUSTED', reason: status === 500 ? '500' : reason });
    expect(env.fakes.apns.counters.perToken.get(token)).toBe(3);
    expect(await metricValue(registry, 'dispatcher_provider_retries_total', { provider: 'APNS' })).toBe(2);
  });

  it('D6: a 503 then 200 → sent after one retry', async () => {
    env.fakes.apns.answers.set({ next: [{ count: 1, answer: { status: 503, reason: 'ServiceUnavailable' } }] });
    const token = apnsToken('flaky');
    const { result } = await sendOne(token);
    expect(result.kind).toBe('sent');
    expect(env.fakes.apns.counters.perToken.get(token)).toBe(2);
  });

  it('D6: one ExpiredProviderToken → node-apn signs a new JWT and the push is sent again at once → sent', async () => {
    env.fakes.apns.answers.set({ next: [{ count: 1, answer: { status: 403, reason: 'ExpiredProviderToken' } }] });
    const token = apnsToken('expired-once');
    const { result, pausedBy } = await sendOne(token);
    expect(result.kind).toBe('sent');
    expect(pausedBy).toBeNull();
    expect(env.fakes.apns.counters.perToken.get(token)).toBe(2);
    expect(env.fakes.apns.counters.credentials.size).toBe(2);
  });

  it('D6: ExpiredProviderToken repeated after a new JWT → failed CONFIGURATION and the app pauses', async () => {
    const token = apnsToken('expired-always');
    env.fakes.apns.answers.set({ byToken: { [token]: { status: 403, reason: 'ExpiredProviderToken' } } });
    const { result, pausedBy } = await sendOne(token);
    expect(result).toEqual({ kind: 'failed', category: 'CONFIGURATION', reason: 'ExpiredProviderToken' });
    expect(pausedBy).toBe('ExpiredProviderToken');
  });

  it('D6: an answer slower than PROVIDER_REQUEST_TIMEOUT_MS is a timeout: retried, then RETRY_EXHAUSTED network-error', async () => {
    env.fakes.apns.answers.setLatency({ fixedMs: 400 });
    try {
      const { result } = await sendOne(apnsToken('slow'), { requestTimeoutMs: 100, maxAttempts: 2 });
      expect(result).toEqual({ kind: 'failed', category: 'RETRY_EXHAUSTED', reason: 'network-error' });
    } finally {
      env.fakes.apns.answers.setLatency({ fixedMs: 0 });
    }
  });

  it('D6: a key file that cannot be read → every device of the app fails CONFIGURATION, logged once, no request', async () => {
    const { provider, warnings } = providerUnderTest(env.fakes);
    const app = {
      ...env.apps.ios,
      app_id: 'ios-no-key',
      apns: { ...env.apps.ios.apns!, key_file: `${env.dir}/none.p8` },
    };
    const first = await provider.send(app, message(), [target(app, apnsToken('k1')), target(app, apnsToken('k2'))]);
    const second = await provider.send(app, message(), [target(app, apnsToken('k3'))]);
    await provider.close();
    expect([...first, ...second]).toEqual(
      Array(3).fill({
        kind: 'failed',
        category: 'CONFIGURATION',
        reason: `cannot use the app's APNS settings (key_file ${env.dir}/none.p8): ENOENT`,
      }),
    );
    expect(warnings).toHaveLength(1);
    expect(env.fakes.apns.counters.received).toBe(0);
  });

  it('D6: a connection error (nothing listening) → retried, then failed RETRY_EXHAUSTED network-error', async () => {
    const { provider } = providerUnderTest(env.fakes, { maxAttempts: 2 });
    const app = { ...env.apps.ios, app_id: 'ios-nowhere', apns: { ...env.apps.ios.apns!, port: 1 } };
    const [result] = await provider.send(app, message(), [target(app, apnsToken('nowhere'))]);
    await provider.close();
    expect(result).toEqual({ kind: 'failed', category: 'RETRY_EXHAUSTED', reason: 'network-error' });
  });
});

describe('APNs payloads (D3)', () => {
  it('D3: a silent push is a background push: apns-push-type background, priority 5, content-available 1, nothing visible', async () => {
    const { provider } = providerUnderTest(env.fakes);
    const token = apnsToken('silent');
    const [result] = await provider.send(
      env.apps.ios,
      message({ silent: true, title: null, body: null, data: { sync: '1' } }),
      [target(env.apps.ios, token)],
    );
    await provider.close();
    expect(result.kind).toBe('sent');
    const [push] = env.fakes.apns.counters.last();
    expect(push.headers).toMatchObject({ 'apns-push-type': 'background', 'apns-priority': '5' });
    expect(push.payload).toEqual({ sync: '1', aps: { 'content-available': 1 } });
  });

  it('maps title, body, data, TTL (apns-expiration), collapse key (apns-collapse-id) and NORMAL priority (5)', async () => {
    const { provider } = providerUnderTest(env.fakes);
    const before = Math.floor(Date.now() / 1000);
    await provider.send(
      env.apps.ios,
      message({ ttl_seconds: 600, collapse_key: 'news', priority: 'NORMAL', data: { a: '1', b: '2' } }),
      [target(env.apps.ios, apnsToken('mapped'))],
    );
    await provider.close();
    const [push] = env.fakes.apns.counters.last();
    expect(push.headers).toMatchObject({
      'apns-push-type': 'alert',
      'apns-priority': '5',
      'apns-collapse-id': 'news',
      'apns-topic': 'com.example.push',
    });
    const expiration = Number(push.headers['apns-expiration']);
    expect(expiration).toBeGreaterThanOrEqual(before + 600);
    expect(expiration).toBeLessThanOrEqual(before + 602);
    expect(push.payload).toEqual({ a: '1', b: '2', aps: { alert: { title: 'Hello', body: 'World' } } });
  });
});

describe('APNs connections and provider token', () => {
  it('sends many pushes over at most PROVIDER_APNS_CONNECTIONS long-lived connections', async () => {
    const { provider } = providerUnderTest(env.fakes, { apnsConnections: 3 });
    const targets = Array.from({ length: 300 }, (_, i) => target(env.apps.ios, apnsToken(`many-${i}`)));
    const first = await provider.send(env.apps.ios, message(), targets.slice(0, 150));
    const second = await provider.send(env.apps.ios, message(), targets.slice(150));
    await provider.close();
    expect([...first, ...second].every((r) => r.kind === 'sent')).toBe(true);
    expect(env.fakes.apns.counters.received).toBe(300);
    expect(env.fakes.apns.counters.connections).toBeLessThanOrEqual(3);
  });

  it('reuses the provider JWT for 20 minutes and more, and signs a new one before it is an hour old', async () => {
    const realNow = Date.now;
    let offset = 0;
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
    try {
      const { provider } = providerUnderTest(env.fakes, { apnsConnections: 1 });
      const send = async (n: number) => {
        const results = await provider.send(
          env.apps.ios,
          message(),
          Array.from({ length: n }, (_, i) => target(env.apps.ios, apnsToken(`jwt-${offset}-${i}`))),
        );
        expect(results.every((r) => r.kind === 'sent')).toBe(true);
      };
      await send(20);
      expect(env.fakes.apns.counters.credentials.size).toBe(1);
      offset = 30 * 60_000; // 30 minutes later: the same JWT (Apple refuses updates more often than every 20 minutes)
      await send(20);
      expect(env.fakes.apns.counters.credentials.size).toBe(1);
      offset = 56 * 60_000; // 56 minutes: a new JWT, before Apple would answer ExpiredProviderToken at 60
      await send(20);
      expect(env.fakes.apns.counters.credentials.size).toBe(2);
      expect(env.fakes.apns.counters.perAnswer.get('200')).toBe(60);
      await provider.close();
    } finally {
      spy.mockRestore();
    }
  });
});
