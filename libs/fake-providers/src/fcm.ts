import { KeyObject, createPublicKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { Http2SecureServer, createSecureServer } from 'node:http2';
import { FakeAnswer } from './answers';
import { TestCertificates } from './certificates';
import { decodeJwt, verifyRs256 } from './jwt';
import { AnyRequest, AnyResponse, FakeServer, ListenOptions, header, readBody, recordedHeaders, send } from './server';

/** A Google service account key file's JSON, as firebase-admin's `cert()` reads it. */
export interface ServiceAccountJson {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

/** Google's token endpoint (firebase-admin's google-auth-library hard-codes it; the audience of the assertion). */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const FCM_SCOPES = [
  'https://www.googleapis.com/auth/firebase.messaging',
  'https://www.googleapis.com/auth/cloud-platform',
];
const MAX_MESSAGE = 4096;
const ACCESS_TOKEN_LIFETIME_S = 3600;

const CANONICAL: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** FCM v1 errorCodes that carry an FcmError detail (the others are canonical statuses only). */
const FCM_ERROR_CODES = new Set([
  'UNREGISTERED',
  'INVALID_ARGUMENT',
  'SENDER_ID_MISMATCH',
  'QUOTA_EXCEEDED',
  'UNAVAILABLE',
  'INTERNAL',
  'THIRD_PARTY_AUTH_ERROR',
  'APNS_AUTH_ERROR',
  'UNSPECIFIED_ERROR',
]);

const DEFAULT_MESSAGE: Record<string, string> = {
  UNREGISTERED: 'Requested entity was not found.',
  SENDER_ID_MISMATCH: 'SenderId mismatch',
  QUOTA_EXCEEDED: 'Quota exceeded for quota metric',
  UNAVAILABLE: 'The service is currently unavailable.',
  INTERNAL: 'Internal error encountered.',
  THIRD_PARTY_AUTH_ERROR: 'Auth error from APNS or Web Push Service',
  INVALID_ARGUMENT: 'Request contains an invalid argument.',
};

/**
 * A fake FCM HTTP v1 API (HTTP/2 over TLS; HTTP/1.1 too, for the token endpoint) with Google's OAuth token endpoint:
 * - `POST /token`: a service account's JWT-bearer assertion (RS256, signed with a key this fake issued, audience
 *   Google's token URL, an FCM scope) → `{access_token, expires_in, token_type}`;
 * - `POST /v1/projects/<id>/messages:send`: the bearer must be an access token issued for a service account of that
 *   project (401 UNAUTHENTICATED, 403 PERMISSION_DENIED otherwise); the message is checked (a target token of FCM's
 *   shape, string data values, android ttl/priority, ≤ 4 KB) and answered `{"name": "projects/<id>/messages/<n>"}`
 *   or FCM's error body `{"error": {code, message, status, details: [{"@type": …FcmError, errorCode}]}}`.
 */
export class FakeFcm extends FakeServer {
  private readonly accounts = new Map<string, { projectId: string; publicKey: KeyObject }>();
  private readonly accessTokens = new Map<string, { projectId: string; expiresAt: number }>();
  private sent = 0;
  /** Token requests answered (OAuth), for tests of token reuse. */
  tokenRequests = 0;

  constructor(
    private readonly tls: TestCertificates,
    listen: ListenOptions = {},
  ) {
    super({ status: 200 }, listen);
  }

  /** A new service account of `projectId` this fake accepts, as the Firebase console would download it. */
  serviceAccount(projectId: string): ServiceAccountJson {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const account: ServiceAccountJson = {
      type: 'service_account',
      project_id: projectId,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: `firebase-adminsdk-${randomBytes(3).toString('hex')}@${projectId}.iam.gserviceaccount.com`,
      client_id: String(Date.now()),
      token_uri: GOOGLE_TOKEN_URL,
    };
    this.trustServiceAccount(account);
    return account;
  }

  /** Accepts an existing service account (the runnable tool reloads the file it wrote). */
  trustServiceAccount(account: ServiceAccountJson): void {
    this.accounts.set(account.client_email, {
      projectId: account.project_id,
      publicKey: createPublicKey(account.private_key),
    });
  }

  protected createServer(): Http2SecureServer {
    const server = createSecureServer({
      key: this.tls.key,
      cert: this.tls.cert,
      allowHTTP1: true,
      settings: { maxConcurrentStreams: 1000 },
    });
    server.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
    });
    server.on('request', (req, res) => void this.handle(req, res));
    return server;
  }

  private async handle(req: AnyRequest, res: AnyResponse): Promise<void> {
    const body = await readBody(req, 64 * 1024);
    const url = req.url ?? '';
    if (req.method === 'POST' && url === '/token') return this.token(res, body);
    const match = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(url);
    if (req.method !== 'POST' || !match) return this.error(res, { status: 404, message: `no route ${url}` });

    const projectId = decodeURIComponent(match[1]);
    const auth = this.checkBearer(header(req.headers, 'authorization'), projectId);
    let message: Record<string, unknown> | null = null;
    let refused = auth;
    if (!refused) {
      const parsed = parseMessage(body);
      if (typeof parsed === 'string') refused = { status: 400, reason: 'INVALID_ARGUMENT', message: parsed };
      else message = parsed;
    }
    const token = typeof message?.token === 'string' ? message.token : '';
    const answer = refused ?? this.answers.answerFor(token);
    this.counters.record({ token, headers: recordedHeaders(req.headers), payload: message, answer, at: Date.now() });
    const wait = this.answers.delay();
    if (wait) await wait;
    if (answer.status === 200)
      return send(
        res,
        200,
        { 'content-type': 'application/json; charset=UTF-8' },
        JSON.stringify({ name: `projects/${projectId}/messages/${++this.sent}` }),
      );
    this.error(res, answer);
  }

  private checkBearer(authorization: string | undefined, projectId: string): FakeAnswer | null {
    const bearer = authorization?.startsWith('Bearer ') ? authorization.slice(7) : null;
    const issued = bearer ? this.accessTokens.get(bearer) : undefined;
    if (!issued || issued.expiresAt <= Date.now())
      return {
        status: 401,
        message:
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      };
    if (issued.projectId !== projectId)
      return { status: 403, message: `Permission 'cloudmessaging.messages.create' denied on resource` };
    this.counters.credentials.add(bearer!);
    return null;
  }

  private token(res: AnyResponse, body: Buffer | 'too large'): void {
    const refuse = (description: string) =>
      send(
        res,
        400,
        { 'content-type': 'application/json' },
        JSON.stringify({ error: 'invalid_grant', error_description: description }),
      );
    if (body === 'too large') return refuse('request too large');
    const form = new URLSearchParams(body.toString('utf8'));
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return refuse('bad grant_type');
    const jwt = decodeJwt(form.get('assertion') ?? '');
    const account = jwt && typeof jwt.claims.iss === 'string' ? this.accounts.get(jwt.claims.iss) : undefined;
    if (!jwt || !account || !verifyRs256(jwt, account.publicKey)) return refuse('Invalid JWT Signature.');
    const now = Math.floor(Date.now() / 1000);
    if (jwt.claims.aud !== GOOGLE_TOKEN_URL) return refuse('Invalid JWT: audience');
    if (typeof jwt.claims.exp !== 'number' || jwt.claims.exp < now) return refuse('Invalid JWT: expired');
    const scopes = String(jwt.claims.scope ?? '').split(' ');
    if (!scopes.some((s) => FCM_SCOPES.includes(s))) return refuse('Invalid JWT: no FCM scope');
    const accessToken = `ya29.fake-${randomUUID()}`;
    this.accessTokens.set(accessToken, {
      projectId: account.projectId,
      expiresAt: Date.now() + ACCESS_TOKEN_LIFETIME_S * 1000,
    });
    this.tokenRequests++;
    send(
      res,
      200,
      { 'content-type': 'application/json' },
      JSON.stringify({ access_token: accessToken, expires_in: ACCESS_TOKEN_LIFETIME_S - 1, token_type: 'Bearer' }),
    );
  }

  private error(res: AnyResponse, answer: FakeAnswer): void {
    const status = CANONICAL[answer.status] ?? 'UNKNOWN';
    const code = answer.reason;
    const error: Record<string, unknown> = {
      code: answer.status,
      message: answer.message ?? (code ? DEFAULT_MESSAGE[code] : undefined) ?? status,
      status: code && !FCM_ERROR_CODES.has(code) ? code : status,
    };
    if (code && FCM_ERROR_CODES.has(code))
      error.details = [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: code }];
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=UTF-8' };
    if (answer.retryAfter !== undefined) headers['retry-after'] = String(answer.retryAfter);
    send(res, answer.status, headers, JSON.stringify({ error }));
  }
}

/** FCM's own validation of the parts of a message a sender controls; a string is the INVALID_ARGUMENT message. */
function parseMessage(body: Buffer | 'too large'): Record<string, unknown> | string {
  if (body === 'too large' || body.length > MAX_MESSAGE + 512) return 'Message is too big';
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return 'Invalid JSON payload received.';
  }
  const message = (json as { message?: unknown })?.message;
  if (typeof message !== 'object' || message === null) return 'Request contains an invalid argument.';
  const m = message as Record<string, unknown>;
  if (typeof m.token !== 'string' || m.token === '') return 'Recipient of the message is not set.';
  if (!/^[\w:-]{20,}$/.test(m.token)) return 'The registration token is not a valid FCM registration token';
  if (m.data !== undefined) {
    if (typeof m.data !== 'object' || m.data === null) return "Invalid value at 'message.data'";
    for (const [key, value] of Object.entries(m.data))
      if (typeof value !== 'string') return `Invalid value at 'message.data[${key}].value' (TYPE_STRING)`;
  }
  const android = m.android as Record<string, unknown> | undefined;
  if (android?.ttl !== undefined && !/^\d+(\.\d{1,9})?s$/.test(String(android.ttl)))
    return "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)";
  if (android?.priority !== undefined && !/^(high|normal)$/i.test(String(android.priority)))
    return "Invalid value at 'message.android.priority'";
  if (Buffer.byteLength(JSON.stringify({ data: m.data, notification: m.notification })) > MAX_MESSAGE)
    return 'Message is too big';
  return m;
}
