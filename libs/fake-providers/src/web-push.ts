import { ECDH, KeyObject, createECDH, createPublicKey, randomBytes } from 'node:crypto';
import { Server, createServer } from 'node:https';
import { decrypt } from 'http_ece';
import { FakeAnswer } from './answers';
import { TestCertificates } from './certificates';
import { decodeJwt, verifyEs256 } from './jwt';
import { AnyRequest, AnyResponse, FakeServer, ListenOptions, header, readBody, recordedHeaders, send } from './server';

/** The PushSubscription JSON a browser gives the page (`JSON.stringify(subscription)`). */
export interface PushSubscriptionJson {
  endpoint: string;
  expirationTime: null;
  keys: { p256dh: string; auth: string };
}

interface Browser {
  ecdh: ECDH;
  auth: Buffer;
  /** The VAPID public key given to `pushManager.subscribe` (applicationServerKey); null: any. */
  applicationServerKey: string | null;
}

const MAX_PAYLOAD = 4096;
const MAX_VAPID_VALIDITY_S = 24 * 3600;
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);

/**
 * A fake push service (RFC 8030 over HTTPS) at the endpoints of the subscriptions it made. It plays both the push
 * service and the browser: `subscription()` makes the browser's P-256 key pair and auth secret, and every push is
 * checked as a push service does — the VAPID JWT (RFC 8292: ES256 with the `k` key, audience this origin, expiring
 * within 24 h, a `mailto:`/`https:` subject, the key the subscription was made with), `TTL`, `Content-Encoding:
 * aes128gcm`, `Urgency`, `Topic` — and decrypted with `http_ece` as the browser would, so a payload that reaches the
 * counters is one a real browser could read. Answers 201, or the configured status (404, 410, 429 + Retry-After, …).
 */
export class FakeWebPush extends FakeServer {
  private readonly browsers = new Map<string, Browser>();
  private readonly vapidKeys = new Map<string, KeyObject>();
  private readonly verified = new Map<string, number>();
  private seen = 0;
  /**
   * Decrypts one push in `decryptEvery` (default every one). The decryption costs the fake what the encryption costs
   * the sender (an ECDH agreement): a benchmark that measures the sender may check a sample, every other check stays.
   */
  decryptEvery = 1;
  /** Pushes decrypted (all of them unless `decryptEvery` > 1). */
  decrypted = 0;

  constructor(
    private readonly tls: TestCertificates,
    listen: ListenOptions = {},
  ) {
    super({ status: 201 }, listen);
  }

  /**
   * A new subscription at this push service, as `pushManager.subscribe({applicationServerKey})` gives it; its
   * endpoint's last path segment is the token the answers and counters use.
   */
  subscription(
    applicationServerKey: string | null = null,
    id = randomBytes(16).toString('base64url'),
  ): PushSubscriptionJson {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    this.browsers.set(id, { ecdh, auth, applicationServerKey });
    return {
      endpoint: `${this.origin}/push/${id}`,
      expirationTime: null,
      keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
    };
  }

  protected createServer(): Server {
    const server = createServer({ key: this.tls.key, cert: this.tls.cert, keepAlive: true });
    server.keepAliveTimeout = 60_000;
    server.on('request', (req, res) => void this.handle(req, res));
    return server;
  }

  private async handle(req: AnyRequest, res: AnyResponse): Promise<void> {
    const body = await readBody(req, MAX_PAYLOAD);
    const match = /^\/push\/([^/?]+)$/.exec(req.url ?? '');
    const id = match?.[1] ?? '';
    const browser = this.browsers.get(id);
    let payload: unknown = null;
    let refused = this.check(req, id, browser, body);
    if (!refused && browser && Buffer.isBuffer(body) && body.length > 0 && this.seen++ % this.decryptEvery === 0) {
      this.decrypted++;
      try {
        const plaintext = decrypt(body, { version: 'aes128gcm', privateKey: browser.ecdh, authSecret: browser.auth });
        const text = plaintext.toString('utf8');
        try {
          payload = JSON.parse(text);
        } catch {
          payload = text;
        }
      } catch {
        refused = { status: 400, reason: 'cannot decrypt the payload' };
      }
    }
    const answer = refused ?? this.answers.answerFor(id);
    this.counters.record({ token: id, headers: recordedHeaders(req.headers), payload, answer, at: Date.now() });
    const wait = this.answers.delay();
    if (wait) await wait;
    const headers: Record<string, string> = {};
    if (answer.retryAfter !== undefined) headers['retry-after'] = String(answer.retryAfter);
    if (answer.status === 201) headers.location = `${this.origin}/message/${randomBytes(8).toString('hex')}`;
    send(res, answer.status, headers, answer.status === 201 ? undefined : (answer.reason ?? ''));
  }

  private check(
    req: AnyRequest,
    id: string,
    browser: Browser | undefined,
    body: Buffer | 'too large',
  ): FakeAnswer | null {
    if (req.method !== 'POST') return { status: 405, reason: 'method not allowed' };
    if (!browser) return { status: id ? 410 : 404, reason: 'no such subscription' };
    const vapid = this.checkVapid(header(req.headers, 'authorization'), browser);
    if (vapid) return vapid;
    const ttl = header(req.headers, 'ttl');
    if (ttl === undefined || !/^\d+$/.test(ttl)) return { status: 400, reason: 'missing or bad TTL header' };
    const urgency = header(req.headers, 'urgency');
    if (urgency !== undefined && !URGENCIES.has(urgency)) return { status: 400, reason: 'bad Urgency header' };
    const topic = header(req.headers, 'topic');
    if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) return { status: 400, reason: 'bad Topic header' };
    if (body === 'too large') return { status: 413, reason: 'payload too large' };
    if (body.length > 0 && header(req.headers, 'content-encoding') !== 'aes128gcm')
      return { status: 400, reason: 'Content-Encoding must be aes128gcm' };
    return null;
  }

  /** RFC 8292 `Authorization: vapid t=<jwt>, k=<public key>`; a verified (t, k) is remembered, as it is reused. */
  private checkVapid(authorization: string | undefined, browser: Browser): FakeAnswer | null {
    const match = authorization && /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization);
    if (!match) return { status: 401, reason: 'missing VAPID authorization' };
    const [, t, k] = match;
    if (browser.applicationServerKey !== null && browser.applicationServerKey !== k)
      return { status: 403, reason: 'VAPID key does not match the subscription' };
    const now = Math.floor(Date.now() / 1000);
    const cacheKey = `${t} ${k}`;
    let exp = this.verified.get(cacheKey);
    if (exp === undefined) {
      const jwt = decodeJwt(t);
      const key = this.vapidKey(k);
      if (!jwt || !key || !verifyEs256(jwt, key)) return { status: 401, reason: 'bad VAPID signature' };
      if (jwt.claims.aud !== this.origin && jwt.claims.aud !== `https://localhost:${this.port}`)
        return { status: 401, reason: 'VAPID audience is not this push service' };
      const sub = String(jwt.claims.sub ?? '');
      if (!sub.startsWith('mailto:') && !sub.startsWith('https:')) return { status: 401, reason: 'bad VAPID subject' };
      exp = Number(jwt.claims.exp);
      if (!(exp <= now + MAX_VAPID_VALIDITY_S)) return { status: 401, reason: 'VAPID exp more than 24 h ahead' };
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(cacheKey, exp);
      this.counters.credentials.add(t);
    }
    if (!(exp > now)) return { status: 401, reason: 'VAPID JWT expired' };
    return null;
  }

  private vapidKey(k: string): KeyObject | null {
    let key = this.vapidKeys.get(k);
    if (!key) {
      const point = Buffer.from(k, 'base64url');
      if (point.length !== 65 || point[0] !== 4) return null;
      try {
        key = createPublicKey({
          key: {
            kty: 'EC',
            crv: 'P-256',
            x: point.subarray(1, 33).toString('base64url'),
            y: point.subarray(33).toString('base64url'),
          },
          format: 'jwk',
        });
      } catch {
        return null;
      }
      this.vapidKeys.set(k, key);
    }
    return key;
  }
}
