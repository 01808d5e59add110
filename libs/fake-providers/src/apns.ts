import { KeyObject, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { Http2SecureServer, Http2ServerRequest, Http2ServerResponse, createSecureServer } from 'node:http2';
import { FakeAnswer } from './answers';
import { TestCertificates } from './certificates';
import { decodeJwt, verifyEs256 } from './jwt';
import { FakeServer, ListenOptions, header, readBody, recordedHeaders, send } from './server';

/** An APNs token-auth key as Apple issues it: the .p8 file's content (PKCS#8 PEM), its key id and the team. */
export interface ApnsProviderKey {
  key: string;
  keyId: string;
  teamId: string;
  /** The bundle ids (apns-topic) this key may push to. */
  topics: string[];
}

const PUSH_TYPES = new Set([
  'alert',
  'background',
  'voip',
  'complication',
  'fileprovider',
  'mdm',
  'location',
  'liveactivity',
  'pushtotalk',
  'controls',
  'widgets',
]);
/** Apple: a provider token older than an hour is expired; refreshing it more often than every 20 minutes is refused. */
const TOKEN_LIFETIME_S = 3600;
const MIN_REFRESH_S = 20 * 60;
const MAX_PAYLOAD = 4096;

interface Registered {
  publicKey: KeyObject;
  teamId: string;
  topics: Set<string>;
}

/** Per HTTP/2 connection: the provider token in use and when it was issued (TooManyProviderTokenUpdates). */
interface SessionState {
  jwt: string | null;
  iat: number;
  /** The connection's token was answered ExpiredProviderToken: a new one is expected at once. */
  mayRefresh: boolean;
}

/**
 * A fake APNs (HTTP/2 over TLS): `POST /3/device/<token>` with token auth. Checks what Apple checks — the provider JWT
 * (ES256, the key id of a registered key, the team as issuer, at most an hour old, not replaced within 20 minutes on
 * one connection), `apns-topic` (one of the key's topics), `apns-push-type`, `apns-priority` (5 for background),
 * `apns-expiration`, `apns-collapse-id` (≤ 64 bytes), the device token (hex) and the payload (JSON, ≤ 4 KB) — then
 * answers 200 with `apns-id`, or the configured error as `{"reason", "timestamp"}`.
 */
export class FakeApns extends FakeServer {
  private readonly keys = new Map<string, Registered>();
  private readonly verified = new Map<string, { key: Registered; iat: number }>();
  private readonly state = new WeakMap<object, SessionState>();

  constructor(
    private readonly tls: TestCertificates,
    listen: ListenOptions = {},
  ) {
    super({ status: 200 }, listen);
  }

  /** Makes a token-auth key (P-256) that this fake accepts for `topics`, as Apple's developer account would. */
  providerKey(topics: string[], teamId = 'TEAM123456', keyId = randomUUID().replace(/-/g, '').slice(0, 10)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    this.trustKey({ key, keyId, teamId, topics });
    return { key, keyId, teamId, topics } satisfies ApnsProviderKey;
  }

  /** Accepts an existing key (the runnable tool reloads the key file it wrote). */
  trustKey(key: ApnsProviderKey): void {
    this.keys.set(key.keyId, { publicKey: createPublicKey(key.key), teamId: key.teamId, topics: new Set(key.topics) });
  }

  protected createServer(): Http2SecureServer {
    const server = createSecureServer({
      key: this.tls.key,
      cert: this.tls.cert,
      settings: { maxConcurrentStreams: 1000 },
    });
    server.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
    });
    server.on('request', (req, res) => void this.handle(req, res));
    return server;
  }

  private async handle(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_PAYLOAD);
    const match = /^\/3\/device\/([^/?]+)$/.exec(req.url);
    const token = match?.[1] ?? '';
    const refused = this.check(req, token, body);
    const answer = refused ?? this.answers.answerFor(token);
    const session = req.stream.session && this.state.get(req.stream.session);
    if (session && answer.reason === 'ExpiredProviderToken') session.mayRefresh = true;
    let payload: unknown = null;
    if (this.counters.keeping && Buffer.isBuffer(body) && body.length > 0)
      try {
        payload = JSON.parse(body.toString('utf8'));
      } catch {
        payload = body.toString('utf8');
      }
    const headers = this.counters.keeping ? recordedHeaders(req.headers) : {};
    this.counters.record({ token, headers, payload, answer, at: Date.now() });
    const wait = this.answers.delay();
    if (wait) await wait;
    this.respond(req, res, answer);
  }

  /** Apple's own checks, before any configured answer: a request Apple would refuse is refused here too. */
  private check(req: Http2ServerRequest, token: string, body: Buffer | 'too large'): FakeAnswer | null {
    if (req.method !== 'POST') return { status: 405, reason: 'MethodNotAllowed' };
    if (!token) return { status: 404, reason: 'BadPath' };
    const auth = this.checkProviderToken(req);
    if (auth) return auth;
    const topic = header(req.headers, 'apns-topic');
    if (!topic) return { status: 400, reason: 'MissingTopic' };
    const pushType = header(req.headers, 'apns-push-type');
    if (!pushType || !PUSH_TYPES.has(pushType)) return { status: 400, reason: 'InvalidPushType' };
    const priority = header(req.headers, 'apns-priority');
    if (priority !== undefined && !['1', '5', '10'].includes(priority)) return { status: 400, reason: 'BadPriority' };
    // Apple: a background push must have priority 5 (10, the default, is an error).
    if (pushType === 'background' && priority !== '5') return { status: 400, reason: 'BadPriority' };
    const expiration = header(req.headers, 'apns-expiration');
    if (expiration !== undefined && !/^\d+$/.test(expiration)) return { status: 400, reason: 'BadExpirationDate' };
    const collapseId = header(req.headers, 'apns-collapse-id');
    if (collapseId !== undefined && Buffer.byteLength(collapseId) > 64) return { status: 400, reason: 'BadCollapseId' };
    if (!/^[0-9a-fA-F]{32,200}$/.test(token)) return { status: 400, reason: 'BadDeviceToken' };
    if (body === 'too large') return { status: 413, reason: 'PayloadTooLarge' };
    if (body.length === 0) return { status: 400, reason: 'PayloadEmpty' };
    return null;
  }

  private checkProviderToken(req: Http2ServerRequest): FakeAnswer | null {
    const authorization = header(req.headers, 'authorization');
    const jwt = authorization?.startsWith('bearer ') ? authorization.slice(7) : null;
    if (!jwt) return { status: 403, reason: 'MissingProviderToken' };
    let claims = this.verified.get(jwt);
    if (!claims) {
      const decoded = decodeJwt(jwt);
      const key = decoded && typeof decoded.header.kid === 'string' ? this.keys.get(decoded.header.kid) : undefined;
      if (!decoded || !key || decoded.claims.iss !== key.teamId || !verifyEs256(decoded, key.publicKey))
        return { status: 403, reason: 'InvalidProviderToken' };
      claims = { key, iat: Number(decoded.claims.iat) };
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(jwt, claims);
      this.counters.credentials.add(jwt);
    }
    const now = Math.floor(Date.now() / 1000);
    if (!(now - claims.iat < TOKEN_LIFETIME_S)) return { status: 403, reason: 'ExpiredProviderToken' };
    const topic = header(req.headers, 'apns-topic');
    if (topic && !claims.key.topics.has(topic)) return { status: 400, reason: 'TopicDisallowed' };
    const session = req.stream.session;
    if (session) {
      const state = this.state.get(session);
      if (!state) this.state.set(session, { jwt, iat: claims.iat, mayRefresh: false });
      else if (state.jwt !== jwt) {
        if (claims.iat - state.iat < MIN_REFRESH_S && !state.mayRefresh)
          return { status: 429, reason: 'TooManyProviderTokenUpdates' };
        state.jwt = jwt;
        state.iat = claims.iat;
        state.mayRefresh = false;
      }
    }
    return null;
  }

  private respond(req: Http2ServerRequest, res: Http2ServerResponse, answer: FakeAnswer): void {
    const apnsId = header(req.headers, 'apns-id') ?? randomUUID();
    const headers: Record<string, string> = { 'apns-id': apnsId };
    if (answer.retryAfter !== undefined) headers['retry-after'] = String(answer.retryAfter);
    if (answer.status === 200) return send(res, 200, { ...headers, 'apns-unique-id': randomUUID() });
    const reason = answer.reason ?? 'InternalServerError';
    const body: Record<string, unknown> = { reason };
    if (answer.status === 410) body.timestamp = answer.timestamp ?? Date.now();
    send(res, answer.status, { ...headers, 'content-type': 'application/json' }, JSON.stringify(body));
  }
}
