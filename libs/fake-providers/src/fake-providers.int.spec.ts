import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import apn from '@parse/node-apn';
import { App, cert, deleteApp, initializeApp } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import webpush, { WebPushError } from 'web-push';
import { FakeProviders, redirectFirebaseAdmin, redirectingAgent, startFakeProviders } from './index';

// The fakes against the real client libraries the dispatcher uses: what they accept, a real provider accepts, and
// their answers reach the libraries as a real provider's would.

const APNS_TOKEN = 'a'.repeat(64);
const FCM_TOKEN = 'fcm-token-' + 'x'.repeat(140);

let fakes: FakeProviders;
beforeAll(async () => {
  fakes = await startFakeProviders();
});
afterAll(() => fakes.close());
beforeEach(() => {
  for (const fake of [fakes.apns, fakes.fcm, fakes.webPush]) {
    fake.answers.set({});
    fake.counters.reset();
  }
});

describe('APNs fake with @parse/node-apn', () => {
  const providerFor = (key: { key: string; keyId: string; teamId: string }) =>
    new apn.Provider({
      token: key,
      address: '127.0.0.1',
      port: fakes.apns.port,
      ca: [fakes.certificates.ca],
      connectionRetryLimit: 0,
    });

  it('accepts a push with a valid provider JWT and records its headers and payload', async () => {
    const key = fakes.apns.providerKey(['com.example.app']);
    const provider = providerFor(key);
    const note = new apn.Notification({ alert: { title: 'Hi', body: 'there' }, topic: 'com.example.app' });
    note.pushType = 'alert';
    note.collapseId = 'c1';
    note.expiry = 1_900_000_000;
    const result = await provider.send(note, APNS_TOKEN);
    await provider.shutdown();
    expect(result.failed).toEqual([]);
    expect(result.sent).toEqual([
      { device: APNS_TOKEN, 'apns-id': expect.any(String), 'apns-unique-id': expect.any(String) },
    ]);
    const [push] = fakes.apns.counters.last();
    expect(push.headers).toMatchObject({
      'apns-topic': 'com.example.app',
      'apns-push-type': 'alert',
      'apns-priority': '10',
      'apns-collapse-id': 'c1',
      'apns-expiration': '1900000000',
    });
    expect(push.payload).toEqual({ aps: { alert: { title: 'Hi', body: 'there' } } });
  });

  it('answers the configured 410 Unregistered with a timestamp, and refuses a JWT of an unknown key', async () => {
    const key = fakes.apns.providerKey(['com.example.app']);
    fakes.apns.answers.set({ byToken: { [APNS_TOKEN]: { status: 410, reason: 'Unregistered', timestamp: 1234 } } });
    const provider = providerFor(key);
    const note = new apn.Notification({ alert: 'x', topic: 'com.example.app' });
    note.pushType = 'alert';
    const unregistered = await provider.send(note, APNS_TOKEN);
    const stranger = providerFor({ ...key, keyId: 'UNKNOWN123' });
    const refused = await stranger.send(note, 'b'.repeat(64));
    await Promise.all([provider.shutdown(), stranger.shutdown()]);
    expect(unregistered.failed).toEqual([
      expect.objectContaining({
        device: APNS_TOKEN,
        status: 410,
        response: { reason: 'Unregistered', timestamp: 1234 },
      }),
    ]);
    expect(refused.failed).toEqual([
      expect.objectContaining({ status: 403, response: { reason: 'InvalidProviderToken' } }),
    ]);
  });

  it('refuses a background push at priority 10 (BadPriority), as Apple does', async () => {
    const key = fakes.apns.providerKey(['com.example.app']);
    const provider = providerFor(key);
    const note = new apn.Notification({ contentAvailable: true, topic: 'com.example.app' });
    note.pushType = 'background';
    const result = await provider.send(note, APNS_TOKEN);
    await provider.shutdown();
    expect(result.failed).toEqual([expect.objectContaining({ status: 400, response: { reason: 'BadPriority' } })]);
  });
});

describe('FCM fake with firebase-admin', () => {
  let app: App;
  let undo: () => void;
  beforeAll(() => {
    undo = redirectFirebaseAdmin(fakes.fcm.origin, fakes.certificates.ca);
    // A key file, as the apps file names it: firebase-admin drops the agent of a service account given as an object.
    const file = join(mkdtempSync(join(tmpdir(), 'fcm-')), 'service-account.json');
    writeFileSync(file, JSON.stringify(fakes.fcm.serviceAccount('demo-project')));
    app = initializeApp(
      { credential: cert(file, redirectingAgent(fakes.fcm.origin, fakes.certificates.ca)), projectId: 'demo-project' },
      'fake-fcm-test',
    );
  });
  afterAll(async () => {
    undo();
    await deleteApp(app);
  });

  it('issues an OAuth token to the service account and answers sendEach per message, with FCM error bodies', async () => {
    fakes.fcm.answers.set({
      byToken: {
        [`gone-${FCM_TOKEN}`]: { status: 404, reason: 'UNREGISTERED' },
        [`busy-${FCM_TOKEN}`]: { status: 429, reason: 'QUOTA_EXCEEDED', retryAfter: 7 },
      },
    });
    const result = await getMessaging(app).sendEach([
      { token: FCM_TOKEN, notification: { title: 't', body: 'b' }, data: { k: 'v' }, android: { ttl: 60_000 } },
      { token: `gone-${FCM_TOKEN}`, data: { k: 'v' } },
      { token: `busy-${FCM_TOKEN}`, data: { k: 'v' } },
      { token: 'short', data: { k: 'v' } },
    ]);
    expect(result.responses[0]).toEqual({
      success: true,
      messageId: expect.stringMatching(/^projects\/demo-project\/messages\/\d+$/),
    });
    expect(result.responses[1].error?.code).toBe('messaging/registration-token-not-registered');
    expect(result.responses[2].error?.code).toBe('messaging/message-rate-exceeded');
    expect(
      (result.responses[2].error as unknown as { httpResponse: { headers: Record<string, string> } }).httpResponse
        .headers['retry-after'],
    ).toBe('7');
    expect(result.responses[3].error?.code).toBe('messaging/invalid-argument');
    expect(result.responses[3].error?.message).toMatch(/not a valid FCM registration token/);
    expect(fakes.fcm.tokenRequests).toBeGreaterThanOrEqual(1);
    const sent = fakes.fcm.counters.last().find((p) => p.token === FCM_TOKEN);
    expect(sent?.payload).toMatchObject({
      token: FCM_TOKEN,
      notification: { title: 't', body: 'b' },
      data: { k: 'v' },
      android: { ttl: '60s' },
    });
  });

  it('refuses a bearer token it did not issue (401, firebase-admin: third-party-auth-error)', async () => {
    const stranger = initializeApp(
      {
        credential: { getAccessToken: async () => ({ access_token: 'not-issued', expires_in: 3600 }) },
        projectId: 'demo-project',
      },
      'fake-fcm-stranger',
    );
    const result = await getMessaging(stranger).sendEach([{ token: FCM_TOKEN, data: { k: 'v' } }]);
    await deleteApp(stranger);
    expect(result.responses[0].error?.code).toBe('messaging/third-party-auth-error');
    expect(fakes.fcm.counters.perAnswer.get('401')).toBe(1);
  });
});

describe('Web Push fake with web-push', () => {
  const vapid = webpush.generateVAPIDKeys();
  const options = () => ({
    vapidDetails: { subject: 'mailto:ops@example.com', publicKey: vapid.publicKey, privateKey: vapid.privateKey },
    agent: new Agent({ ca: fakes.certificates.ca }),
    TTL: 60,
  });

  it('decrypts the payload as the browser would and answers 201', async () => {
    const subscription = fakes.webPush.subscription(vapid.publicKey);
    const result = await webpush.sendNotification(subscription, JSON.stringify({ title: 'Hi', n: 1 }), options());
    expect(result.statusCode).toBe(201);
    const [push] = fakes.webPush.counters.last();
    expect(push.payload).toEqual({ title: 'Hi', n: 1 });
    expect(push.headers).toMatchObject({ ttl: '60', 'content-encoding': 'aes128gcm' });
  });

  it('answers the configured 410 and 429 with Retry-After, and 403 for another VAPID key than the subscription’s', async () => {
    const gone = fakes.webPush.subscription(vapid.publicKey);
    const busy = fakes.webPush.subscription(vapid.publicKey);
    const token = (s: { endpoint: string }) => s.endpoint.split('/').pop()!;
    fakes.webPush.answers.set({
      byToken: { [token(gone)]: { status: 410 }, [token(busy)]: { status: 429, retryAfter: 3 } },
    });
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e: WebPushError) => e,
      );
    const goneError = await failure(webpush.sendNotification(gone, 'x', options()));
    const busyError = await failure(webpush.sendNotification(busy, 'x', options()));
    const other = webpush.generateVAPIDKeys();
    const wrongKey = await failure(
      webpush.sendNotification(fakes.webPush.subscription(vapid.publicKey), 'x', {
        ...options(),
        vapidDetails: { subject: 'mailto:ops@example.com', publicKey: other.publicKey, privateKey: other.privateKey },
      }),
    );
    expect(goneError?.statusCode).toBe(410);
    expect(busyError?.statusCode).toBe(429);
    expect(busyError?.headers['retry-after']).toBe('3');
    expect(wrongKey?.statusCode).toBe(403);
  });
});

describe('Web Push fake, decrypting a sample', () => {
  it('with decryptEvery 2 decrypts every second push and still checks every VAPID header', async () => {
    const vapid = webpush.generateVAPIDKeys();
    const subscription = fakes.webPush.subscription(vapid.publicKey);
    const options = {
      vapidDetails: { subject: 'mailto:ops@example.com', publicKey: vapid.publicKey, privateKey: vapid.privateKey },
      agent: new Agent({ ca: fakes.certificates.ca }),
    };
    fakes.webPush.decryptEvery = 2;
    const before = fakes.webPush.decrypted;
    try {
      for (let n = 0; n < 4; n++) await webpush.sendNotification(subscription, JSON.stringify({ n }), options);
      const stranger = webpush.generateVAPIDKeys();
      const refused = await webpush
        .sendNotification(subscription, 'x', {
          ...options,
          vapidDetails: { ...options.vapidDetails, publicKey: stranger.publicKey, privateKey: stranger.privateKey },
        })
        .catch((e: WebPushError) => e.statusCode);
      expect(refused).toBe(403);
    } finally {
      fakes.webPush.decryptEvery = 1;
    }
    expect(fakes.webPush.decrypted - before).toBe(2);
    expect(
      fakes.webPush.counters
        .last()
        .map((p) => p.payload)
        .filter((p) => p !== null),
    ).toHaveLength(2);
  });
});

describe('answers and counters', () => {
  it('gives rated answers to their share of requests, deterministically, and counts per answer', () => {
    const book = fakes.apns.answers;
    book.set({
      rates: [
        { rate: 0.02, answer: { status: 410, reason: 'Unregistered' } },
        { rate: 0.01, answer: { status: 429, reason: 'TooManyRequests', retryAfter: 1 } },
      ],
    });
    const answers = Array.from({ length: 10_000 }, (_, i) => book.answerFor(`t${i}`));
    const count = (status: number) => answers.filter((a) => a.status === status).length;
    expect(count(410)).toBeGreaterThan(150);
    expect(count(410)).toBeLessThan(250);
    expect(count(429)).toBeGreaterThan(60);
    expect(count(429)).toBeLessThan(140);
    book.set({ rates: book.settings().answers.rates });
    expect(Array.from({ length: 10_000 }, (_, i) => book.answerFor(`t${i}`))).toEqual(answers);
  });

  it('answers by prefix (longest first) and the next N requests before any other rule', () => {
    const book = fakes.apns.answers;
    book.set({
      byPrefix: { dead: { status: 410, reason: 'Unregistered' }, deadbeef: { status: 400, reason: 'BadDeviceToken' } },
      next: [{ count: 2, answer: { status: 503, reason: 'ServiceUnavailable' } }],
    });
    expect(book.answerFor('dead00').status).toBe(503);
    expect(book.answerFor('dead00').status).toBe(503);
    expect(book.answerFor('dead00').status).toBe(410);
    expect(book.answerFor('deadbeef00').status).toBe(400);
    expect(book.answerFor('cafe').status).toBe(200);
  });
});
