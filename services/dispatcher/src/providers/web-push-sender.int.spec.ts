import { join } from 'node:path';
import { ProviderClosedError } from './app-lane';
import {
  FakeProviderApps,
  message,
  metricValue,
  providerUnderTest,
  startFakeProviderApps,
  target,
} from './testing/fake-provider-apps';
import { PooledEncryption, WebPushEncryption } from './web-push-encryption';

// The Web Push adapter (web-push, VAPID) against the fake push service, which decrypts every payload with the
// browser's keys and verifies the VAPID JWT: every class of PROVIDERS.md's Web Push rows, the decrypted payload,
// RFC 8030 headers, VAPID reuse per origin, silent pushes (none on the web) and malformed subscriptions — each with
// the payloads encrypted by the pool's worker thread (PROVIDER_WEBPUSH_ENCRYPTION_THREADS=1) and on the main thread
// (0). Then the pool itself: a worker that dies, made with the first web lane only, shared, closed.

let env: FakeProviderApps;
beforeAll(async () => {
  env = await startFakeProviderApps();
});
afterAll(() => env.close());
beforeEach(() => {
  env.fakes.webPush.answers.set({});
  env.fakes.webPush.answers.setLatency({ fixedMs: 0, jitterMs: 0 });
  env.fakes.webPush.counters.reset();
});

const subscription = () => {
  const json = env.fakes.webPush.subscription(env.vapidPublicKey);
  return { token: JSON.stringify(json), id: json.endpoint.split('/').pop()! };
};

/** A subscription made by the fake's browser, its keys replaced. */
const withKeys = (keys: { p256dh?: string; auth?: string }) => {
  const json = env.fakes.webPush.subscription(env.vapidPublicKey);
  return JSON.stringify({ ...json, keys: { ...json.keys, ...keys } });
};

describe.each([1, 0])('PROVIDER_WEBPUSH_ENCRYPTION_THREADS=%i', (threads) => {
  const underTest = (settings = {}, now?: () => number) =>
    providerUnderTest(env.fakes, { webPushEncryptionThreads: threads, ...settings }, now);
  const sendOne = async (token: string, settings = {}) => {
    const { provider, warnings, registry } = underTest(settings);
    try {
      const [result] = await provider.send(env.apps.web, message(), [target(env.apps.web, token)]);
      return { result, warnings, registry, pausedBy: provider.pausedBy(env.apps.web) };
    } finally {
      await provider.close();
    }
  };

  describe('Web Push answers (D6)', () => {
    it('D6: 201 → sent; the payload the fake decrypted with the browser keys is the one sent', async () => {
      const { token } = subscription();
      const { provider } = underTest();
      const [result] = await provider.send(
        env.apps.web,
        message({
          title: 'Sale',
          body: 'Today only',
          data: { url: '/sale' },
          ttl_seconds: 120,
          collapse_key: 'sale',
          priority: 'NORMAL',
        }),
        [target(env.apps.web, token)],
      );
      await provider.close();
      expect(result).toEqual({ kind: 'sent', providerMessageId: expect.stringContaining('/message/') });
      const [push] = env.fakes.webPush.counters.last();
      expect(push.payload).toEqual({ title: 'Sale', body: 'Today only', data: { url: '/sale' } });
      expect(push.headers).toMatchObject({
        ttl: '120',
        urgency: 'normal',
        topic: 'sale',
        'content-encoding': 'aes128gcm',
      });
    });

    it.each([404, 410])('D6: %i → bounced with the status as reason', async (status) => {
      const { token, id } = subscription();
      env.fakes.webPush.answers.set({ byToken: { [id]: { status } } });
      const { result } = await sendOne(token);
      expect(result).toEqual({ kind: 'bounced', providerReason: String(status), providerTimestamp: null });
    });

    it.each([400, 401, 403])('D6: %i → failed CONFIGURATION (VAPID) and the app pauses', async (status) => {
      const { token, id } = subscription();
      env.fakes.webPush.answers.set({ byToken: { [id]: { status } } });
      const { result, pausedBy, warnings } = await sendOne(token);
      expect(result).toEqual({ kind: 'failed', category: 'CONFIGURATION', reason: String(status) });
      expect(pausedBy).toBe(String(status));
      expect(warnings).toHaveLength(1);
    });

    it('D6: a VAPID key the subscription was not made with → 403 from the push service → failed CONFIGURATION', async () => {
      const json = env.fakes.webPush.subscription('BOtherKey' + 'A'.repeat(78));
      const { result } = await sendOne(JSON.stringify(json));
      expect(result).toEqual({ kind: 'failed', category: 'CONFIGURATION', reason: '403' });
    });

    it('D6: 413 → failed PAYLOAD, no pause', async () => {
      const { token, id } = subscription();
      env.fakes.webPush.answers.set({ byToken: { [id]: { status: 413 } } });
      const { result, pausedBy } = await sendOne(token);
      expect(result).toEqual({ kind: 'failed', category: 'PAYLOAD', reason: '413' });
      expect(pausedBy).toBeNull();
    });

    it.each([429, 500, 503])('D6: %i → retried, then failed RETRY_EXHAUSTED', async (status) => {
      const { token, id } = subscription();
      env.fakes.webPush.answers.set({ byToken: { [id]: { status } } });
      const { result } = await sendOne(token, { maxAttempts: 3 });
      expect(result).toEqual({ kind: 'failed', category: 'RETRY_EXHAUSTED', reason: String(status) });
      expect(env.fakes.webPush.counters.perToken.get(id)).toBe(3);
    });

    it('D6: a 429 with Retry-After: 1 is retried no sooner than a second later, then sent', async () => {
      const { token, id } = subscription();
      env.fakes.webPush.answers.set({ next: [{ count: 1, answer: { status: 429, retryAfter: 1 } }] });
      const { result } = await sendOne(token, { retryBaseMs: 10 });
      const [first, second] = env.fakes.webPush.counters.last().filter((p) => p.token === id);
      expect(result.kind).toBe('sent');
      expect(second.at - first.at).toBeGreaterThanOrEqual(1000);
      expect(second.at - first.at).toBeLessThan(1500);
    });

    it('D6: a connection error (no server at the endpoint) → retried, then failed RETRY_EXHAUSTED network-error', async () => {
      const json = env.fakes.webPush.subscription(env.vapidPublicKey);
      const { result } = await sendOne(JSON.stringify({ ...json, endpoint: 'https://127.0.0.1:1/push/x' }), {
        maxAttempts: 2,
      });
      expect(result).toEqual({ kind: 'failed', category: 'RETRY_EXHAUSTED', reason: 'network-error' });
    });

    it('D6: a token that is not a PushSubscription → failed PAYLOAD without a request (never a bounce)', async () => {
      const { result } = await sendOne('{"endpoint":"https://example.com/x"}');
      expect(result).toMatchObject({ kind: 'failed', category: 'PAYLOAD' });
      expect(env.fakes.webPush.counters.received).toBe(0);
    });

    // 65 bytes but no point of P-256 (x beyond the field), and an auth secret shorter than RFC 8291's 16 bytes.
    it.each([
      [
        'a p256dh that is not a P-256 point',
        { p256dh: Buffer.from([4, ...Array(64).fill(0xff)]).toString('base64url') },
      ],
      ['a p256dh of 3 bytes', { p256dh: 'AAAA' }],
      ['an auth secret of 8 bytes', { auth: Buffer.alloc(8, 1).toString('base64url') }],
    ])(
      "D6: a subscription whose keys web-push cannot encrypt to (%s) → failed PAYLOAD at once, the token's fault: no request, no retry",
      async (_case, keys) => {
        const { result, registry } = await sendOne(withKeys(keys));
        expect(result).toEqual({
          kind: 'failed',
          category: 'PAYLOAD',
          reason: expect.stringContaining("the subscription's keys cannot be used: "),
        });
        expect(env.fakes.webPush.counters.received).toBe(0);
        expect(await metricValue(registry, 'dispatcher_provider_retries_total', { provider: 'WEB_PUSH' })).toBe(0);
      },
    );

    it('close() with pushes waiting for their encryption or their answer: the send rejects, nothing hangs', async () => {
      env.fakes.webPush.answers.setLatency({ fixedMs: 200 });
      const { provider } = underTest();
      const targets = Array.from({ length: 300 }, () => target(env.apps.web, subscription().token));
      const sending = provider.send(env.apps.web, message(), targets).catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await provider.close();
      expect(await sending).toBeInstanceOf(ProviderClosedError);
      await expect(provider.send(env.apps.web, message(), targets.slice(0, 1))).rejects.toBeInstanceOf(
        ProviderClosedError,
      );
      expect(env.fakes.webPush.counters.received).toBeLessThan(300);
    });
  });

  describe('Web Push silent pushes and VAPID', () => {
    it('D3: a silent push is never sent to the web: every target fails PAYLOAD, nothing reaches the push service', async () => {
      const { provider } = underTest();
      const results = await provider.send(env.apps.web, message({ silent: true, title: null, body: null }), [
        target(env.apps.web, subscription().token),
        target(env.apps.web, subscription().token),
      ]);
      await provider.close();
      expect(results).toEqual(
        Array(2).fill({ kind: 'failed', category: 'PAYLOAD', reason: 'a silent push cannot be sent to the web (D3)' }),
      );
      expect(env.fakes.webPush.counters.received).toBe(0);
    });

    it('signs one VAPID JWT per push-service origin and reuses it until a tenth of its validity is left', async () => {
      let now = Date.now();
      const { provider } = underTest({ vapidValidityS: 3600 }, () => now);
      const batch = () => Array.from({ length: 40 }, () => target(env.apps.web, subscription().token));
      const first = await provider.send(env.apps.web, message(), batch());
      now += 3000 * 1000; // 50 of 60 minutes: still valid for 10 minutes, more than a tenth
      const second = await provider.send(env.apps.web, message(), batch());
      expect(env.fakes.webPush.counters.credentials.size).toBe(1);
      now += 300 * 1000; // 55 minutes: less than a tenth left, signed again
      const third = await provider.send(env.apps.web, message(), batch());
      await provider.close();
      expect([...first, ...second, ...third].every((r) => r.kind === 'sent')).toBe(true);
      expect(env.fakes.webPush.counters.received).toBe(120);
      expect(env.fakes.webPush.counters.credentials.size).toBe(2);
    });
  });
});

describe('the Web Push encryption pool', () => {
  const exitingWorker = join(__dirname, 'testing', 'exiting-encryption.worker.js');

  it('a worker thread that dies fails its pushes as network-error, retried by the lane; the pool goes on with a new one', async () => {
    const { provider, registry, warnings } = providerUnderTest(env.fakes, { maxAttempts: 2 }, undefined, {
      webPushEncryption: () =>
        new PooledEncryption({ threads: 1, workerFile: exitingWorker, logger: { warn: () => undefined } }),
    });
    try {
      const [crashed] = await provider.send(env.apps.web, message({ title: 'crash-the-encryption-worker' }), [
        target(env.apps.web, subscription().token),
      ]);
      expect(crashed).toEqual({ kind: 'failed', category: 'RETRY_EXHAUSTED', reason: 'network-error' });
      expect(await metricValue(registry, 'dispatcher_provider_retries_total', { provider: 'WEB_PUSH' })).toBe(1);
      expect(env.fakes.webPush.counters.received).toBe(0);
      expect(warnings).toEqual([]);
      const after = await provider.send(
        env.apps.web,
        message(),
        Array.from({ length: 3 }, () => target(env.apps.web, subscription().token)),
      );
      expect(after.map((r) => r.kind)).toEqual(['sent', 'sent', 'sent']);
      expect(env.fakes.webPush.counters.received).toBe(3);
    } finally {
      await provider.close();
    }
  });

  it('is made with the first web lane only (none for APNs and FCM apps), shared by the web apps, closed by close()', async () => {
    const made: WebPushEncryption[] = [];
    let closed = 0;
    const { provider } = providerUnderTest(env.fakes, {}, undefined, {
      webPushEncryption: () => {
        const pool = new PooledEncryption({ threads: 1, logger: { warn: () => undefined } });
        const close = pool.close.bind(pool);
        pool.close = () => (closed++, close());
        made.push(pool);
        return pool;
      },
    });
    provider.warmUp([env.apps.ios, env.apps.android]);
    expect(made).toHaveLength(0);
    const otherWebApp = { ...env.apps.web, app_id: 'web-app-2' };
    const results = await Promise.all(
      [env.apps.web, otherWebApp].map((app) => provider.send(app, message(), [target(app, subscription().token)])),
    );
    expect(results.flat().map((r) => r.kind)).toEqual(['sent', 'sent']);
    expect(made).toHaveLength(1);
    await provider.close();
    expect(closed).toBe(1);
  });
});
