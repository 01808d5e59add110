import http2, { ClientHttp2Session } from 'node:http2';
import { Agent } from 'node:https';
import { Socket, isIP } from 'node:net';
import tls from 'node:tls';
import type { Credential } from 'firebase-admin/app';
import { applicationDefault, cert } from 'firebase-admin/app';
import type { PushMessage } from '@push/contracts';
import { NETWORK_ERROR } from '@push/providers';
import type { AppConfig } from '@push/service-kit';
import type { PlatformSender } from './app-lane';
import { Attempt, retryAfterMs } from './delivery-policy';
import { fcmMessage } from './payload';
import type { PushTarget } from './push-provider';

export const FCM_ORIGIN = 'https://fcm.googleapis.com';

/**
 * FCM v1 error codes to firebase-admin's client codes (its `MESSAGING_SERVER_TO_CLIENT_CODE`), so that a reason is the
 * same string firebase-admin would give and @push/providers classifies it. The FcmError `errorCode` first, else the
 * canonical `status`.
 */
const CLIENT_CODE: Record<string, string> = {
  UNREGISTERED: 'messaging/registration-token-not-registered',
  NOT_FOUND: 'messaging/registration-token-not-registered',
  INVALID_ARGUMENT: 'messaging/invalid-argument',
  SENDER_ID_MISMATCH: 'messaging/mismatched-credential',
  PERMISSION_DENIED: 'messaging/mismatched-credential',
  QUOTA_EXCEEDED: 'messaging/message-rate-exceeded',
  RESOURCE_EXHAUSTED: 'messaging/message-rate-exceeded',
  UNAVAILABLE: 'messaging/server-unavailable',
  INTERNAL: 'messaging/internal-error',
  THIRD_PARTY_AUTH_ERROR: 'messaging/third-party-auth-error',
  APNS_AUTH_ERROR: 'messaging/third-party-auth-error',
  UNAUTHENTICATED: 'messaging/third-party-auth-error',
  UNSPECIFIED_ERROR: 'messaging/unknown-error',
};
/** firebase-admin's codes for an error answer without a JSON body. */
const CLIENT_CODE_OF_STATUS: Record<number, string> = {
  400: 'messaging/invalid-argument',
  401: 'messaging/authentication-error',
  403: 'messaging/authentication-error',
  500: 'messaging/internal-error',
  503: 'messaging/server-unavailable',
};

/** Re-read the access token this long before it expires (Google's are valid an hour). */
const TOKEN_MARGIN_MS = 5 * 60_000;

export interface FcmSenderOptions {
  sessions: number;
  requestTimeoutMs: number;
  /** A CA to trust besides Node's (tests; a process uses NODE_EXTRA_CA_CERTS). */
  ca?: string;
  /** The credential (tests); default: the app's service account file, else Google's application default. */
  credential?: Credential;
}

/**
 * An https.Agent that sends every request to `origin` whatever the URL's host, checking the certificate against
 * `origin`'s host: with `fcm.endpoint`, the credential's token request (hard-coded to oauth2.googleapis.com) goes to
 * the same server as the messages.
 */
function agentTo(origin: string, ca: string | undefined): Agent {
  const { hostname, port } = new URL(origin);
  class EndpointAgent extends Agent {
    override createConnection(): Socket {
      return tls.connect({
        host: hostname,
        port: Number(port || 443),
        ca,
        servername: isIP(hostname) ? undefined : hostname,
        ALPNProtocols: ['http/1.1'],
        checkServerIdentity: (_, certificate) => tls.checkServerIdentity(hostname, certificate),
      });
    }
  }
  return new EndpointAgent({ keepAlive: true });
}

/**
 * FCM HTTP v1 over this adapter's own long-lived HTTP/2 sessions (`sessions` per app, requests spread over them),
 * firebase-admin supplying only the OAuth token of the app's credential. firebase-admin's `sendEach` would open and
 * close one session per call and hard-codes fcm.googleapis.com; see the README for the measurement.
 */
export class FcmSender implements PlatformSender<string> {
  readonly provider = 'FCM' as const;
  private readonly origin: string;
  private readonly path: string;
  private readonly credential: Credential;
  /** With `fcm.endpoint`: the agent the credential's token requests go through (closed with the sender). */
  private readonly agent: Agent | undefined;
  private readonly sessions: (ClientHttp2Session | null)[];
  private turn = 0;
  private token: { value: string; expiresAt: number } | null = null;
  private pendingToken: Promise<string> | null = null;

  constructor(
    app: AppConfig,
    private readonly options: FcmSenderOptions,
  ) {
    const fcm = app.fcm;
    if (!fcm) throw new Error(`app ${app.app_id} has no fcm settings`);
    this.origin = fcm.endpoint ? new URL(fcm.endpoint).origin : FCM_ORIGIN;
    this.path = `/v1/projects/${encodeURIComponent(fcm.project_id)}/messages:send`;
    this.agent = fcm.endpoint ? agentTo(this.origin, options.ca) : undefined;
    this.credential =
      options.credential ??
      (fcm.service_account_file ? cert(fcm.service_account_file, this.agent) : applicationDefault(this.agent));
    this.sessions = Array.from({ length: options.sessions }, () => null);
  }

  prepare(message: PushMessage): string {
    // The message's JSON without its token, spliced per device: the body is built once per batch.
    return JSON.stringify(fcmMessage(message)).slice(1);
  }

  async attempt(prepared: string, target: PushTarget): Promise<Attempt> {
    let accessToken: string;
    try {
      accessToken = await this.accessToken();
    } catch (error) {
      const status = (error as { response?: { status?: number } }).response?.status;
      // Google refused the credential (400 invalid_grant, 401, 403): the app's configuration. Otherwise the network.
      return status !== undefined && status >= 400 && status < 500
        ? { ok: false, reason: 'app/invalid-credential', message: (error as Error).message }
        : { ok: false, reason: 'app/network-error', message: (error as Error).message };
    }
    const body = `{"message":{"token":${JSON.stringify(target.token)},${prepared}}`;
    return this.request(accessToken, body);
  }

  private request(accessToken: string, body: string): Promise<Attempt> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (attempt: Attempt) => {
        if (!settled) {
          settled = true;
          resolve(attempt);
        }
      };
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.session().request({
          ':method': 'POST',
          ':path': this.path,
          authorization: `Bearer ${accessToken}`,
          'content-type': 'application/json; charset=UTF-8',
        });
      } catch (error) {
        return settle({ ok: false, reason: NETWORK_ERROR, message: (error as Error).message });
      }
      let status = 0;
      let retryAfter: string | undefined;
      const chunks: Buffer[] = [];
      stream.setTimeout(this.options.requestTimeoutMs, () => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        settle({ ok: false, reason: NETWORK_ERROR, message: 'request timed out' });
      });
      stream.on('response', (headers) => {
        status = Number(headers[':status']);
        const value = headers['retry-after'];
        retryAfter = Array.isArray(value) ? value[0] : value;
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error) => settle({ ok: false, reason: NETWORK_ERROR, message: error.message }));
      stream.on('end', () => settle(fcmAttemptOf(status, Buffer.concat(chunks).toString('utf8'), retryAfter)));
      stream.end(body);
    });
  }

  /** A live session, round robin; a closed or failed one is replaced on its next turn. */
  private session(): ClientHttp2Session {
    const i = this.turn++ % this.sessions.length;
    const current = this.sessions[i];
    if (current && !current.closed && !current.destroyed) return current;
    const session = http2.connect(this.origin, this.options.ca ? { ca: this.options.ca } : {});
    const drop = () => {
      if (this.sessions[i] === session) this.sessions[i] = null;
    };
    session.on('error', drop);
    session.on('goaway', drop);
    session.on('close', drop);
    this.sessions[i] = session;
    return session;
  }

  /** The credential's OAuth token, fetched once and shared until shortly before it expires. */
  private async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt - TOKEN_MARGIN_MS > Date.now()) return this.token.value;
    this.pendingToken ??= this.credential
      .getAccessToken()
      .then((token) => {
        this.token = { value: token.access_token, expiresAt: Date.now() + token.expires_in * 1000 };
        return token.access_token;
      })
      .finally(() => (this.pendingToken = null));
    return this.pendingToken;
  }

  async close(): Promise<void> {
    this.agent?.destroy();
    await Promise.all(
      this.sessions.map(
        (session) =>
          new Promise<void>((resolve) => {
            if (!session || session.closed || session.destroyed) return resolve();
            session.close(() => resolve());
          }),
      ),
    );
  }
}

/** FCM's answer as an attempt: 200 `{name}`, else firebase-admin's code for the error body. */
export function fcmAttemptOf(status: number, text: string, retryAfter: string | undefined): Attempt {
  let json: { name?: unknown; error?: FcmErrorBody } | null = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  if (status === 200) return { ok: true, messageId: typeof json?.name === 'string' ? json.name : null };
  const error = json?.error;
  const detail = error?.details?.find((d) => d['@type'] === 'type.googleapis.com/google.firebase.fcm.v1.FcmError');
  const serverCode = detail?.errorCode ?? error?.status;
  const reason =
    (serverCode && CLIENT_CODE[serverCode]) ??
    (error ? 'messaging/unknown-error' : (CLIENT_CODE_OF_STATUS[status] ?? 'messaging/unknown-error'));
  return { ok: false, reason, message: error?.message ?? null, retryAfterMs: retryAfterMs(retryAfter) };
}

interface FcmErrorBody {
  code?: number;
  message?: string;
  status?: string;
  details?: { '@type'?: string; errorCode?: string }[];
}
