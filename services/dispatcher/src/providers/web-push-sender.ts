import { Agent } from 'node:https';
import webpush, { PushSubscription, WebPushError } from 'web-push';
import type { PushMessage } from '@push/contracts';
import { NETWORK_ERROR } from '@push/providers';
import type { AppConfig, WebPushSettings } from '@push/service-kit';
import type { PlatformSender, Unsendable } from './app-lane';
import { Attempt, retryAfterMs } from './delivery-policy';
import { WebPushRequest, webPushRequest } from './payload';
import type { PushTarget } from './push-provider';

export interface WebPushSenderOptions {
  concurrency: number;
  requestTimeoutMs: number;
  /** How long a VAPID JWT is valid; it is reused until a tenth of that is left. */
  vapidValidityS: number;
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

/**
 * Web Push (RFC 8030/8291/8292) through `web-push`, over a keep-alive https.Agent of `concurrency` sockets per
 * origin. The VAPID JWT is what costs (an ECDSA signature; more than the payload's encryption): it is signed once
 * per push-service origin and reused until shortly before it expires, passed to web-push as the Authorization header.
 * A silent push does not exist on the web (D3): every target fails PAYLOAD.
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
    try {
      const result = await webpush.sendNotification(subscription, request.payload, {
        headers: { Authorization: this.authorization(origin) },
        vapidDetails: null as never,
        TTL: request.ttl,
        urgency: request.urgency,
        ...(request.topic !== null ? { topic: request.topic } : {}),
        agent: this.agent,
        timeout: this.options.requestTimeoutMs,
      });
      const location = result.headers?.location;
      return { ok: true, messageId: typeof location === 'string' ? location : null };
    } catch (error) {
      if (error instanceof WebPushError)
        return {
          ok: false,
          reason: String(error.statusCode),
          message: error.body || null,
          retryAfterMs: retryAfterMs(error.headers?.['retry-after']),
        };
      return { ok: false, reason: NETWORK_ERROR, message: (error as Error).message };
    }
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
