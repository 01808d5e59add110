import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  FakeProviderApps,
  fcmToken,
  message,
  metricValue,
  providerUnderTest,
  startFakeProviderApps,
  target,
} from './testing/fake-provider-apps';

// The FCM adapter (its own HTTP/2 sessions to fcm.endpoint, firebase-admin's credential for the OAuth token) against
// the fake FCM v1 API and its token endpoint: every class of PROVIDERS.md's FCM rows, Retry-After, the pause after a
// configuration error, silent data-only messages and the payload mapping.

let env: FakeProviderApps;
beforeAll(async () => {
  env = await startFakeProviderApps();
});
afterAll(() => env.close());
beforeEach(() => {
  env.fakes.fcm.answers.set({});
  env.fakes.fcm.counters.reset();
});

const sendOne = async (token: string, settings = {}) => {
  const { provider, warnings, registry } = providerUnderTest(env.fakes, settings);
  try {
    const [result] = await provider.send(env.apps.android, message(), [target(env.apps.android, token)]);
    return { result, warnings, registry, pausedBy: provider.pausedBy(env.apps.android) };
  } finally {
    await provider.close();
  }
};

describe('FCM answers (D6)', () => {
  it('D6: 200 → sent with the message name', async () => {
    const { result } = await sendOne(fcmToken('ok'));
    expect(result).toEqual({
      kind: 'sent',
      providerMessageId: expect.stringMatching(/^projects\/demo-push\/messages\/\d+$/),
    });
  });

  it.each([
    [404, 'UNREGISTERED', 'messaging/registration-token-not-registered'],
    [
      400,
      'INVALID_ARGUMENT',
      'messaging/invalid-argument: The registration token is not a valid FCM registration token',
    ],
    [403, 'SENDER_ID_MISMATCH', 'messaging/mismatched-credential'],
  ])('D6: %i %s → bounced %s', async (status, reason, providerReason) => {
    const token = fcmToken(reason);
    const answerMessage =
      reason === 'INVALID_ARGUMENT' ? 'The registration token is not a valid FCM registration token' : undefined;
    env.fakes.fcm.answers.set({ byToken: { [token]: { status, reason, message: answerMessage } } });
    const { result, pausedBy } = await sendOne(token);
    expect(result).toEqual({ kind: 'bounced', providerReason, providerTimestamp: null });
    expect(pausedBy).toBeNull();
  });

  it('D6: a token FCM itself finds malformed → bounced messaging/invalid-argument with its message', async () => {
    const { result } = await sendOne('not-a-token');
    expect(result).toEqual({
      kind: 'bounced',
      providerReason: 'messaging/invalid-argument: The registration token is not a valid FCM registration token',
      providerTimestamp: null,
    });
  });

  it('D6: any other INVALID_ARGUMENT → failed PAYLOAD (the token untouched)', async () => {
    const token = fcmToken('bad-payload');
    env.fakes.fcm.answers.set({
      byToken: {
        [token]: { status: 400, reason: 'INVALID_ARGUMENT', message: "Invalid value at 'message.data[0].value'" },
      },
    });
    const { result } = await sendOne(token);
    expect(result).toEqual({
      kind: 'failed',
      category: 'PAYLOAD',
      reason: "messaging/invalid-argument: Invalid value at 'message.data[0].value'",
    });
  });

  it.each([
    [401, 'THIRD_PARTY_AUTH_ERROR', 'messaging/third-party-auth-error'],
    [401, 'UNAUTHENTICATED', 'messaging/third-party-auth-error'],
  ])('D6: %i %s → failed CONFIGURATION %s and the app pauses', async (status, reason, providerReason) => {
    const token = fcmToken(reason);
    env.fakes.fcm.answers.set({ byToken: { [token]: { status, reason } } });
    const { result, pausedBy } = await sendOne(token);
    expect(result).toEqual({ kind: 'failed', category: 'CONFIGURATION', reason: providerReason });
    expect(pausedBy).toBe(providerReason);
  });

  it('D6: a service account the token endpoint refuses → failed CONFIGURATION app/invalid-credential', async () => {
    const { provider } = providerUnderTest(env.fakes);
    const app = {
      ...env.apps.android,
      app_id: 'android-unknown-account',
      fcm: { ...env.apps.android.fcm!, service_account_file: `${env.dir}/stranger.json` },
    };
    // The project's account with a key the fake never issued: Google answers invalid_grant.
    const stranger = JSON.parse(readFileSync(`${env.dir}/fcm.json`, 'utf8'));
    stranger.private_key = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    writeFileSync(app.fcm.service_account_file, JSON.stringify(stranger));
    const [result] = await provider.send(app, message(), [target(app, fcmToken('stranger'))]);
    await provider.close();
    expect(result).toMatchObject({ kind: 'failed', category: 'CONFIGURATION', reason: 'app/invalid-credential' });
    expect(env.fakes.fcm.counters.received).toBe(0);
  });

  it.each([
    [429, 'QUOTA_EXCEEDED', 'messaging/message-rate-exceeded'],
    [500, 'INTERNAL', 'messaging/internal-error'],
    [503, 'UNAVAILABLE', 'messaging/server-unavailable'],
  ])('D6: %i %s → retried, then failed RETRY_EXHAUSTED %s', async (status, reason, providerReason) => {
    const token = fcmToken(reason);
    env.fakes.fcm.answers.set({ byToken: { [token]: { status, reason } } });
    const { result, registry } = await sendOne(token, { maxAttempts: 3 });
    expect(result).toEqual({ kind: 'failed', category: 'RETRY_EXHAUSTED', reason: providerReason });
    expect(env.fakes.fcm.counters.perToken.get(token)).toBe(3);
    expect(await metricValue(registry, 'dispatcher_provider_retries_total', { provider: 'FCM' })).toBe(2);
  });

  it('D6: a 429 with Retry-After: 1 is retried no sooner than a second later (backoff base 10 ms), then sent', async () => {
    env.fakes.fcm.answers.set({
      next: [{ count: 1, answer: { status: 429, reason: 'QUOTA_EXCEEDED', retryAfter: 1 } }],
    });
    const token = fcmToken('retry-after');
    const started = Date.now();
    const { result } = await sendOne(token, { retryBaseMs: 10 });
    const [first, second] = env.fakes.fcm.counters.last().filter((p) => p.token === token);
    expect(result.kind).toBe('sent');
    expect(second.at - first.at).toBeGreaterThanOrEqual(1000);
    expect(second.at - first.at).toBeLessThan(1500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('D6: a Retry-After beyond PROVIDER_RETRY_MAX_MS ends the attempts at once: failed RETRY_EXHAUSTED', async () => {
    const token = fcmToken('retry-after-long');
    env.fakes.fcm.answers.set({ byToken: { [token]: { status: 429, reason: 'QUOTA_EXCEEDED', retryAfter: 3600 } } });
    const started = Date.now();
    const { result } = await sendOne(token, { retryMaxMs: 5_000 });
    expect(result).toEqual({ kind: 'failed', category: 'RETRY_EXHAUSTED', reason: 'messaging/message-rate-exceeded' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(env.fakes.fcm.counters.perToken.get(token)).toBe(1);
  });
});

describe('FCM network errors and timeouts (D6)', () => {
  it('D6: an endpoint where nothing listens → the token request fails (app/network-error), retried, then RETRY_EXHAUSTED', async () => {
    const { provider } = providerUnderTest(env.fakes, { maxAttempts: 2 });
    const app = {
      ...env.apps.android,
      app_id: 'android-nowhere',
      fcm: {
        ...env.apps.android.fcm!,
        service_account_file: `${env.dir}/fcm-nowhere.json`,
        endpoint: 'https://127.0.0.1:1',
      },
    };
    // A key file of its own: firebase-admin keeps one credential (and its token) per file for the process.
    writeFileSync(app.fcm.service_account_file, readFileSync(`${env.dir}/fcm.json`));
    const [result] = await provider.send(app, message(), [target(app, fcmToken('nowhere'))]);
    await provider.close();
    expect(result).toEqual({ kind: 'failed', category: 'RETRY_EXHAUSTED', reason: 'app/network-error' });
  });

  it('D6: an answer slower than PROVIDER_REQUEST_TIMEOUT_MS is a timeout: retried, then RETRY_EXHAUSTED network-error', async () => {
    env.fakes.fcm.answers.setLatency({ fixedMs: 400 });
    try {
      const { result } = await sendOne(fcmToken('slow'), { requestTimeoutMs: 100, maxAttempts: 2 });
      expect(result).toEqual({ kind: 'failed', category: 'RETRY_EXHAUSTED', reason: 'network-error' });
    } finally {
      env.fakes.fcm.answers.setLatency({ fixedMs: 0 });
    }
  });
});

describe('pause after a configuration error (D6)', () => {
  it("D6: the app's later sends fail fast as CONFIGURATION until the pause ends; logged and counted once per burst", async () => {
    let now = Date.now();
    const { provider, warnings, registry } = providerUnderTest(
      env.fakes,
      { fcmConcurrency: 4, pauseMs: 60_000 },
      () => now,
    );
    env.fakes.fcm.answers.set({ byPrefix: { f: { status: 401, reason: 'THIRD_PARTY_AUTH_ERROR' } } });
    const batch = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => target(env.apps.android, fcmToken(`${tag}-${i}`)));
    const first = await provider.send(env.apps.android, message(), batch(100, 'burst'));
    const reachedDuringBurst = env.fakes.fcm.counters.received;
    const later = await provider.send(env.apps.android, message(), batch(50, 'later'));
    expect(first.every((r) => r.kind === 'failed' && r.category === 'CONFIGURATION')).toBe(true);
    expect(later).toEqual(
      Array(50).fill({ kind: 'failed', category: 'CONFIGURATION', reason: 'messaging/third-party-auth-error' }),
    );
    // Only the requests already in flight when the first answer came reached FCM; none of the later batch.
    expect(reachedDuringBurst).toBeLessThanOrEqual(4);
    expect(env.fakes.fcm.counters.received).toBe(reachedDuringBurst);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].details).toMatchObject({
      provider: 'FCM',
      app_id: 'android-app',
      reason: 'messaging/third-party-auth-error',
    });
    expect(JSON.stringify(warnings)).not.toContain(fcmToken('burst-0'));
    expect(
      await metricValue(registry, 'dispatcher_provider_pauses_total', { provider: 'FCM', app_id: 'android-app' }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'dispatcher_provider_sends_total', {
        provider: 'FCM',
        outcome: 'failed_configuration',
      }),
    ).toBe(150);

    // The credentials fixed, the pause over: the app sends again.
    env.fakes.fcm.answers.set({});
    now += 60_001;
    const after = await provider.send(env.apps.android, message(), batch(5, 'after'));
    await provider.close();
    expect(after.every((r) => r.kind === 'sent')).toBe(true);
  });

  it('D6/B4: a burst of messaging/mismatched-credential: its answers are bounces, then the app pauses (logged once)', async () => {
    const { provider, warnings } = providerUnderTest(env.fakes, {
      fcmConcurrency: 5,
      burstWindow: 40,
      burstMinCount: 20,
      burstShare: 0.5,
    });
    env.fakes.fcm.answers.set({ byPrefix: { f: { status: 403, reason: 'SENDER_ID_MISMATCH' } } });
    const results = await provider.send(
      env.apps.android,
      message(),
      Array.from({ length: 300 }, (_, i) => target(env.apps.android, fcmToken(`mismatch-${i}`))),
    );
    await provider.close();
    const bounced = results.filter((r) => r.kind === 'bounced');
    const paused = results.filter((r) => r.kind === 'failed');
    // Every answer FCM gave is reported as it was (bounce-processor's B4 holds them); the rest never went out.
    expect(bounced.length).toBe(env.fakes.fcm.counters.received);
    expect(bounced.length).toBeGreaterThanOrEqual(20);
    expect(bounced.length).toBeLessThanOrEqual(20 + 5);
    expect(bounced.every((r) => r.kind === 'bounced' && r.providerReason === 'messaging/mismatched-credential')).toBe(
      true,
    );
    expect(paused).toEqual(
      Array(300 - bounced.length).fill({
        kind: 'failed',
        category: 'CONFIGURATION',
        reason: 'messaging/mismatched-credential',
      }),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0].details).toMatchObject({ cause: 'burst', reason: 'messaging/mismatched-credential' });
  });

  it("D6: another app's provider is not paused by it", async () => {
    const { provider } = providerUnderTest(env.fakes);
    const other = { ...env.apps.android, app_id: 'android-other' };
    env.fakes.fcm.answers.set({ byPrefix: { fbad: { status: 401, reason: 'THIRD_PARTY_AUTH_ERROR' } } });
    await provider.send(env.apps.android, message(), [target(env.apps.android, `fbad${fcmToken('x')}`)]);
    const [result] = await provider.send(other, message(), [target(other, fcmToken('other'))]);
    expect(provider.pausedBy(env.apps.android)).not.toBeNull();
    expect(provider.pausedBy(other)).toBeNull();
    await provider.close();
    expect(result.kind).toBe('sent');
  });
});

describe('FCM payloads, sessions and token (D3)', () => {
  it('D3: a silent push is a data-only message (no notification)', async () => {
    const { provider } = providerUnderTest(env.fakes);
    const token = fcmToken('silent');
    await provider.send(env.apps.android, message({ silent: true, title: null, body: null, data: { sync: '1' } }), [
      target(env.apps.android, token),
    ]);
    await provider.close();
    const [push] = env.fakes.fcm.counters.last();
    expect(push.payload).toEqual({ token, data: { sync: '1' }, android: { priority: 'HIGH', ttl: '3600s' } });
  });

  it('maps title, body, data, TTL, collapse key and priority', async () => {
    const { provider } = providerUnderTest(env.fakes);
    const token = fcmToken('mapped');
    await provider.send(
      env.apps.android,
      message({ ttl_seconds: 60, collapse_key: 'news', priority: 'NORMAL', data: { a: '1' } }),
      [target(env.apps.android, token)],
    );
    await provider.close();
    const [push] = env.fakes.fcm.counters.last();
    expect(push.payload).toEqual({
      token,
      notification: { title: 'Hello', body: 'World' },
      data: { a: '1' },
      android: { priority: 'NORMAL', ttl: '60s', collapse_key: 'news' },
    });
  });

  it('sends over PROVIDER_FCM_SESSIONS long-lived sessions with one OAuth token for all requests', async () => {
    const tokensBefore = env.fakes.fcm.tokenRequests;
    const { provider } = providerUnderTest(env.fakes, { fcmSessions: 2 });
    const targets = Array.from({ length: 400 }, (_, i) => target(env.apps.android, fcmToken(`many-${i}`)));
    const first = await provider.send(env.apps.android, message(), targets.slice(0, 200));
    const second = await provider.send(env.apps.android, message(), targets.slice(200));
    await provider.close();
    expect([...first, ...second].every((r) => r.kind === 'sent')).toBe(true);
    expect(env.fakes.fcm.counters.received).toBe(400);
    expect(env.fakes.fcm.counters.connections).toBeLessThanOrEqual(2);
    // firebase-admin keeps one credential per key file, and its token, for the process: at most one grant here.
    expect(env.fakes.fcm.tokenRequests - tokensBefore).toBeLessThanOrEqual(1);
    expect(env.fakes.fcm.counters.credentials.size).toBe(1);
  });

  it('honours the per-app rate limit (PROVIDER_RATE_PER_MINUTE): 50 pushes at 1,200/min take ≥ 1.5 s', async () => {
    const { provider } = providerUnderTest(env.fakes, { ratePerMinute: 1200 });
    const started = Date.now();
    const results = await provider.send(
      env.apps.android,
      message(),
      Array.from({ length: 50 }, (_, i) => target(env.apps.android, fcmToken(`rate-${i}`))),
    );
    const elapsed = Date.now() - started;
    await provider.close();
    expect(results.every((r) => r.kind === 'sent')).toBe(true);
    // A second's worth (20) at once, then 30 more at 20/s.
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(3000);
  });
});
