import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import webpush, { PushSubscription } from 'web-push';
import type { PushMessage } from '@push/contracts';
import { NETWORK_ERROR } from '@push/providers';
import type { AppConfig, WebPushSettings } from '@push/service-kit';
import type { PlatformSender, Unsendable } from './app-lane';
import { Attempt, retryAfterMs } from './delivery-policy';
import { WebPushRequest, webPushRequest } from './payload';
import type { PushTarget } from './push-provider';
import type { EncryptedRequest, EncryptionResult, WebPushEncryption } from './web-push-encryption';

export interface WebPushSenderOptions {
  concurrency: number;
  requestTimeoutMs: number;
  /** How long a VAPID JWT is valid; it is reused until a tenth of that is left. */
  vapidValidityS: number;
  /** Where the payloads are encrypted: the process's pool (shared by its web apps), or the main thread. */
  encryption: WebPushEncryption;
  /** A CA to trust besides Node's (tests; a process uses NODE_EXTRA_CA_CERTS). */
  ca?: string;
  now?: () => number;
}

/** A parsed subscription, or why it is not one. */
function subscriptionOf(token: string): PushSubscription | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(token);
  } catch {
    return 'the token is not a PushSubscription JSON';
  }
  const s = parsed as PushSubscription;
  if (typeof s?.endpoint !== 'string' || typeof s.keys?.p256dh !== 'string' || typeof s.keys?.auth !== 'string')
    return 'the token is not a PushSubscription JSON (endpoint, keys.p256dh, keys.auth)';
  try {
    if (new URL(s.endpoint).protocol !== 'https:') return 'the subscription endpoint is not https';
  } catch {
    return 'the subscription endpoint is not a URL';
  }
  return s;
}

/** The push service's answer: status, headers and body, as web-push's `sendNotification` reads them. */
interface PushServiceAnswer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Sends an encrypted push exactly as web-push's `sendNotification` does (method, headers, body from
 * `generateRequestDetails`; the socket's timeout destroys the request), over the sender's keep-alive agent. Rejects
 * only when no answer came (connection error, timeout).
 */
function postPush(details: EncryptedRequest, agent: Agent, timeoutMs: number): Promise<PushServiceAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      new URL(details.endpoint),
      { method: details.method, headers: details.headers, agent, timeout: timeoutMs },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('Socket timeout')));
    request.on('error', reject);
    if (details.body) request.write(details.body);
    request.end();
  });
}

/**
 * Web Push (RFC 8030/8291/8292) through `web-push`, over a keep-alive https.Agent of `concurrency` sockets per
 * origin. The payload's encryption — most of the CPU a push costs — runs in the process's encryption pool (worker
 * threads running web-push's `generateRequestDetails`; `web-push-encryption.ts`); this thread signs the VAPID JWT, once
 * per push-service origin and reused until shortly before it expires (passed to web-push as the Authorization header),
 * and makes the request itself as web-push would. A silent push does not exist on the web (D3): every target fails
 * PAYLOAD.
 */
export class WebPushSender implements PlatformSender<WebPushRequest> {
  readonly provider = 'WEB_PUSH' as const;
  private readonly vapid: WebPushSettings;
  private readonly agent: Agent;
  private readonly headers = new Map<string, { authorization: string; renewAt: number }>();
  private readonly now: () => number;
  /** VAPID JWTs signed (tests and metrics: one per origin per validity period). */
  signatures = 0;

  constructor(
    app: AppConfig,
    private readonly options: WebPushSenderOptions,
  ) {
    if (!app.webpush) throw new Error(`app ${app.app_id} has no webpush settings`);
    this.vapid = app.webpush;
    this.now = options.now ?? Date.now;
    this.agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, ca: options.ca });
  }

  prepare(message: PushMessage): WebPushRequest | Unsendable {
    if (message.silent) return { unsendable: 'a silent push cannot be sent to the web (D3)' };
    return webPushRequest(message);
  }

  async attempt(request: WebPushRequest, target: PushTarget): Promise<Attempt> {
    const subscription = subscriptionOf(target.token);
    if (typeof subscription === 'string')
      return { ok: false, reason: 'INVALID_SUBSCRIPTION', message: subscription, unusableToken: true };
    const { origin } = new URL(subscription.endpoint);
    let encrypted: EncryptionResult;
    try {
      encrypted = await this.options.encryption.encrypt({
        subscription,
        payload: request.payload,
        options: {
          headers: { Authorization: this.authorization(origin) },
          vapidDetails: null as never,
          TTL: request.ttl,
          urgency: request.urgency,
          ...(request.topic !== null ? { topic: request.topic } : {}),
        },
      });
    } catch (error) {
      // The encryption failed without a verdict on the token (a worker thread died, or the pool is closing): retried
      // by the lane like a connection error.
      return { ok: false, reason: NETWORK_ERROR, message: `web push encryption failed: ${(error as Error).message}` };
    }
    // The options are payload.ts's (valid TTL, urgency, topic), so what web-push refuses is the subscription's keys
    // (a p256dh that is not a P-256 point, an auth secret too short): the token's fault, never sendable as it is.
    if ('error' in encrypted)
      return {
        ok: false,
        reason: 'INVALID_SUBSCRIPTION',
        message: `the subscription's keys cannot be used: ${encrypted.error}`,
        unusableToken: true,
      };
    let answer: PushServiceAnswer;
    try {
      answer = await postPush(encrypted.details, this.agent, this.options.requestTimeoutMs);
    } catch (error) {
      return { ok: false, reason: NETWORK_ERROR, message: (error as Error).message };
    }
    if (answer.statusCode < 200 || answer.statusCode > 299)
      return {
        ok: false,
        reason: String(answer.statusCode),
        message: answer.body || null,
        retryAfterMs: retryAfterMs(answer.headers['retry-after']),
      };
    const location = answer.headers.location;
    return { ok: true, messageId: typeof location === 'string' ? location : null };
  }

  /** The VAPID Authorization header for `origin`, signed again only when a tenth of its validity is left. */
  private authorization(origin: string): string {
    const now = this.now();
    const cached = this.headers.get(origin);
    if (cached && cached.renewAt > now) return cached.authorization;
    const validityS = this.options.vapidValidityS;
    const expiration = Math.floor(now / 1000) + validityS;
    const { Authorization } = webpush.getVapidHeaders(
      origin,
      this.vapid.subject,
      this.vapid.vapid_public_key,
      this.vapid.vapid_private_key,
      'aes128gcm',
      expiration,
    );
    this.signatures++;
    this.headers.set(origin, { authorization: Authorization, renewAt: now + validityS * 900 });
    return Authorization;
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}
