import { readFileSync } from 'node:fs';
import apn from '@parse/node-apn';
import type { PushMessage } from '@push/contracts';
import { NETWORK_ERROR } from '@push/providers';
import type { AppConfig, ApnsSettings } from '@push/service-kit';
import type { PlatformSender } from './app-lane';
import type { Attempt } from './delivery-policy';
import { apnsRequest } from './payload';
import type { PushTarget } from './push-provider';

export interface ApnsSenderOptions {
  connections: number;
  requestTimeoutMs: number;
  /** A CA to trust besides Node's (tests; a process uses NODE_EXTRA_CA_CERTS). */
  ca?: string;
  now?: () => number;
}

/** node-apn's failure: an HTTP answer `{status, response: {reason, timestamp}}`, or `{error}` without a status. */
interface ApnFailure {
  device: string;
  status?: number;
  response?: { reason?: string; timestamp?: number };
  error?: Error;
}

/**
 * APNs with token auth (the app's .p8 key) through @parse/node-apn: a `MultiProvider` of `connections` long-lived
 * HTTP/2 connections, requests spread round robin. node-apn signs the provider JWT when a connection's client starts
 * and again when it is 55 minutes old (within Apple's 20–60 minutes: more often is `TooManyProviderTokenUpdates`,
 * older is `ExpiredProviderToken`). Its own retries are off (`connectionRetryLimit: 0`): it retries at once and never
 * sees Retry-After, so the lane backs off instead. One exception: after `ExpiredProviderToken` node-apn has already
 * signed a new JWT, and the request is sent again once at once.
 */
export class ApnsSender implements PlatformSender<apn.Notification> {
  readonly provider = 'APNS' as const;
  private readonly apns: ApnsSettings;
  private readonly client: apn.MultiProvider;
  private readonly now: () => number;

  constructor(app: AppConfig, options: ApnsSenderOptions) {
    if (!app.apns) throw new Error(`app ${app.app_id} has no apns settings`);
    this.apns = app.apns;
    this.now = options.now ?? Date.now;
    const settings: apn.MultiProviderOptions = {
      token: { key: readFileSync(this.apns.key_file), keyId: this.apns.key_id, teamId: this.apns.team_id },
      production: this.apns.production,
      clientCount: options.connections,
      connectionRetryLimit: 0,
      requestTimeout: options.requestTimeoutMs,
    };
    if (this.apns.host !== null) settings.address = this.apns.host;
    if (this.apns.port !== null) settings.port = this.apns.port;
    if (options.ca) settings.ca = [options.ca];
    this.client = new apn.MultiProvider(settings);
  }

  prepare(message: PushMessage): apn.Notification {
    const request = apnsRequest(message, this.apns.topic, this.now());
    const note = new apn.Notification();
    note.rawPayload = request.payload;
    note.pushType = request.pushType;
    note.priority = request.priority;
    note.topic = request.topic;
    if (request.expiry !== null) note.expiry = request.expiry;
    if (request.collapseId !== null) note.collapseId = request.collapseId;
    return note;
  }

  async attempt(note: apn.Notification, target: PushTarget): Promise<Attempt> {
    let attempt = await this.once(note, target.token);
    if (!attempt.ok && attempt.reason === 'ExpiredProviderToken') attempt = await this.once(note, target.token);
    return attempt;
  }

  private async once(note: apn.Notification, token: string): Promise<Attempt> {
    const { sent, failed } = await this.client.send(note, token);
    if (sent.length > 0) return { ok: true, messageId: (sent[0] as { 'apns-id'?: string })['apns-id'] ?? null };
    const failure = failed[0] as ApnFailure | undefined;
    if (!failure) return { ok: false, reason: NETWORK_ERROR, message: 'node-apn gave no result' };
    const reason =
      failure.response?.reason ??
      (failure.status === 403 && failure.error?.message === 'ExpiredProviderToken'
        ? 'ExpiredProviderToken'
        : failure.status !== undefined
          ? String(failure.status)
          : NETWORK_ERROR);
    return {
      ok: false,
      reason,
      message: failure.error?.message ?? null,
      timestamp: failure.response?.timestamp ?? null,
    };
  }

  async close(): Promise<void> {
    await this.client.shutdown();
  }
}
