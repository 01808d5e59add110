import { Server } from 'node:http';
import { Agent } from 'node:https';
import webpush from 'web-push';
import { FakeProviders, startFakeProviders } from '@push/fake-providers';
import { adminPort, startAdmin } from './admin';

// The runnable tool's admin endpoint over real HTTP, driving real fakes: what the demo, the e2e suite and the
// benchmark use to set answers and latency at runtime, read counters and get web subscriptions.

let fakes: FakeProviders;
let admin: Server;
let base: string;
beforeAll(async () => {
  fakes = await startFakeProviders();
  admin = await startAdmin(fakes, { fcm: { project_id: 'p' } }, 0);
  base = `http://127.0.0.1:${adminPort(admin)}`;
});
afterAll(async () => {
  admin.close();
  await fakes.close();
});

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(base + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
};

it('sets answers and latency at runtime; counters and the last decoded payloads show what the fakes received', async () => {
  const vapid = webpush.generateVAPIDKeys();
  const { json: subscriptions } = await call('POST', '/subscriptions', {
    count: 2,
    applicationServerKey: vapid.publicKey,
  });
  expect(subscriptions).toHaveLength(2);
  const gone = subscriptions[1].endpoint.split('/').pop();
  expect((await call('PUT', '/answers/webPush', { byToken: { [gone]: { status: 410 } } })).status).toBe(200);
  expect((await call('PUT', '/latency/webPush', { fixedMs: 30 })).json.webPush).toEqual({ fixedMs: 30, jitterMs: 0 });

  const options = {
    vapidDetails: { subject: 'mailto:a@example.com', publicKey: vapid.publicKey, privateKey: vapid.privateKey },
    agent: new Agent({ ca: fakes.certificates.ca }),
  };
  const started = Date.now();
  await webpush.sendNotification(subscriptions[0], '{"n":1}', options);
  expect(Date.now() - started).toBeGreaterThanOrEqual(30);
  await expect(webpush.sendNotification(subscriptions[1], '{"n":2}', options)).rejects.toMatchObject({
    statusCode: 410,
  });

  const { json: counters } = await call('GET', '/counters');
  expect(counters.webPush).toMatchObject({ received: 2, perAnswer: { '201': 1, '410': 1 } });
  const { json: last } = await call('GET', '/counters/webPush/last');
  expect(last.map((p: { payload: unknown }) => p.payload)).toEqual([{ n: 1 }, { n: 2 }]);
  expect((await call('GET', '/settings')).json).toMatchObject({ apps: { fcm: { project_id: 'p' } } });
  expect((await call('POST', '/reset')).json.webPush.received).toBe(0);
});

it('answers a bad request with 400 naming the problem', async () => {
  expect(await call('PUT', '/answers/gcm', {})).toEqual({
    status: 400,
    json: { error: 'unknown provider "gcm": expected one of apns, fcm, webPush' },
  });
  expect(
    await call('PUT', '/answers/apns', {
      rates: [
        { rate: 0.7, answer: { status: 410 } },
        { rate: 0.5, answer: { status: 429 } },
      ],
    }),
  ).toEqual({
    status: 400,
    json: { error: 'answer rates add up to 1.2, more than 1' },
  });
  expect(await call('PUT', '/latency', { fixedMs: -1 })).toEqual({
    status: 400,
    json: { error: 'fixedMs: expected a number ≥ 0' },
  });
  expect((await call('POST', '/subscriptions', { count: 0 })).status).toBe(400);
  expect((await call('GET', '/nowhere')).status).toBe(404);
});
