import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { AnswerSettings, FakeProviders, LatencySettings } from '@push/fake-providers';

type Fake = FakeProviders['apns'] | FakeProviders['fcm'] | FakeProviders['webPush'];
const NAMES = ['apns', 'fcm', 'webPush'] as const;
type Name = (typeof NAMES)[number];

/** What the admin endpoint tells about the apps file (the tool's `settings`). */
export type AppsSettings = Record<string, unknown>;

class BadRequest extends Error {}

function fakeOf(fakes: FakeProviders, name: string): Fake {
  if (!(NAMES as readonly string[]).includes(name))
    throw new BadRequest(`unknown provider ${JSON.stringify(name)}: expected one of ${NAMES.join(', ')}`);
  return fakes[name as Name];
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest('the body is not JSON');
  }
}

const counters = (fakes: FakeProviders) => ({
  apns: fakes.apns.counters.toJSON(),
  fcm: { ...fakes.fcm.counters.toJSON(), tokenRequests: fakes.fcm.tokenRequests },
  webPush: { ...fakes.webPush.counters.toJSON(), decrypted: fakes.webPush.decrypted },
});

/**
 * The fakes' admin HTTP endpoint (plain HTTP on loopback, for the demo, the e2e suite and the benchmark):
 * - `GET /counters` → each fake's counters; `GET /counters/<provider>/last` → its last requests (decoded payloads);
 * - `PUT /answers/<provider>` with AnswerSettings (`byToken`, `byPrefix`, `rates`, `next`) → replaces its answers;
 * - `PUT /latency` or `/latency/<provider>` with `{fixedMs, jitterMs}`;
 * - `GET /settings` → the current answers and latency of each, and the apps file settings;
 * - `POST /reset` → counters (and FCM's token grants) to zero, answers kept;
 * - `POST /subscriptions` with `{count?, applicationServerKey?}` → PushSubscription JSONs made by the fake browser.
 * A bad request is a 400 naming the problem.
 */
export async function startAdmin(
  fakes: FakeProviders,
  apps: AppsSettings,
  port: number,
  host = '127.0.0.1',
): Promise<Server> {
  const route = async (req: IncomingMessage): Promise<[number, unknown]> => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (method === 'GET' && parts[0] === 'counters' && parts.length === 1) return [200, counters(fakes)];
    if (method === 'GET' && parts[0] === 'counters' && parts.length === 3 && parts[2] === 'last')
      return [200, fakeOf(fakes, parts[1]).counters.last()];
    if (method === 'PUT' && parts[0] === 'answers' && parts.length === 2) {
      const fake = fakeOf(fakes, parts[1]);
      try {
        fake.answers.set((await jsonBody(req)) as AnswerSettings);
      } catch (error) {
        if (error instanceof BadRequest) throw error;
        throw new BadRequest((error as Error).message);
      }
      return [200, fake.answers.settings()];
    }
    if (method === 'PUT' && parts[0] === 'latency' && parts.length <= 2) {
      const latency = (await jsonBody(req)) as Partial<LatencySettings>;
      for (const key of ['fixedMs', 'jitterMs'] as const)
        if (latency[key] !== undefined && !(typeof latency[key] === 'number' && latency[key] >= 0))
          throw new BadRequest(`${key}: expected a number ≥ 0`);
      const targets = parts.length === 2 ? [fakeOf(fakes, parts[1])] : NAMES.map((n) => fakes[n]);
      for (const fake of targets) fake.answers.setLatency(latency);
      return [200, Object.fromEntries(NAMES.map((n) => [n, fakes[n].answers.settings().latency]))];
    }
    if (method === 'GET' && url.pathname === '/settings')
      return [200, { apps, ...Object.fromEntries(NAMES.map((n) => [n, fakes[n].answers.settings()])) }];
    if (method === 'POST' && url.pathname === '/reset') {
      for (const name of NAMES) fakes[name].counters.reset();
      fakes.fcm.tokenRequests = 0;
      return [200, counters(fakes)];
    }
    if (method === 'POST' && url.pathname === '/subscriptions') {
      const body = (await jsonBody(req)) as { count?: unknown; applicationServerKey?: unknown };
      const count = body.count ?? 1;
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 100_000)
        throw new BadRequest('count: expected an integer 1-100000');
      const key = body.applicationServerKey ?? null;
      if (key !== null && typeof key !== 'string') throw new BadRequest('applicationServerKey: expected a string');
      return [200, Array.from({ length: count }, () => fakes.webPush.subscription(key))];
    }
    return [404, { error: `no route ${method} ${url.pathname}` }];
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    route(req)
      .catch((error): [number, unknown] =>
        error instanceof BadRequest ? [400, { error: error.message }] : [500, { error: 'internal error' }],
      )
      .then(([status, body]) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export const adminPort = (server: Server) => (server.address() as AddressInfo).port;
