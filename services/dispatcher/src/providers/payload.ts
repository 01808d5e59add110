import { createHash } from 'node:crypto';
import type { PushMessage } from '@push/contracts';

/**
 * The contract's `PushMessage` as each provider wants it (title, body, data, TTL, collapse key, priority; D3: a silent
 * push is an APNs background push and an FCM data-only message, and there is none on the web). Pure.
 */

/** An APNs request: the headers node-apn sends and the JSON body. */
export interface ApnsRequest {
  pushType: 'alert' | 'background';
  /** 10 immediately, 5 when convenient (a background push must be 5). */
  priority: 10 | 5;
  /** `apns-expiration`, seconds since the epoch; null: the header is left out. */
  expiry: number | null;
  collapseId: string | null;
  topic: string;
  payload: Record<string, unknown>;
}

/** Apple: `apns-collapse-id` at most 64 bytes. A longer key is replaced by its digest, which still collapses alike. */
const collapseId = (key: string, maxBytes: number) =>
  Buffer.byteLength(key) <= maxBytes ? key : createHash('sha256').update(key).digest('base64url').slice(0, maxBytes);

export function apnsRequest(message: PushMessage, topic: string, now: number): ApnsRequest {
  // The custom data sits beside `aps` (the app reads it from userInfo); a data key named "aps" would replace it.
  const data = Object.fromEntries(Object.entries(message.data).filter(([key]) => key !== 'aps'));
  const expiry = message.ttl_seconds === null ? null : Math.floor(now / 1000) + message.ttl_seconds;
  const collapse = message.collapse_key === null ? null : collapseId(message.collapse_key, 64);
  if (message.silent)
    return {
      pushType: 'background',
      priority: 5,
      expiry,
      collapseId: collapse,
      topic,
      payload: { ...data, aps: { 'content-available': 1 } },
    };
  const alert: Record<string, string> = {};
  if (message.title !== null) alert.title = message.title;
  if (message.body !== null) alert.body = message.body;
  return {
    pushType: 'alert',
    priority: message.priority === 'HIGH' ? 10 : 5,
    expiry,
    collapseId: collapse,
    topic,
    payload: { ...data, aps: { alert } },
  };
}

/** The FCM HTTP v1 `message` (without `token`): notification unless silent, data, android ttl/collapse/priority. */
export function fcmMessage(message: PushMessage): Record<string, unknown> {
  const android: Record<string, unknown> = { priority: message.priority === 'HIGH' ? 'HIGH' : 'NORMAL' };
  if (message.ttl_seconds !== null) android.ttl = `${message.ttl_seconds}s`;
  if (message.collapse_key !== null) android.collapse_key = message.collapse_key;
  const fcm: Record<string, unknown> = { data: message.data, android };
  if (!message.silent && (message.title !== null || message.body !== null)) {
    const notification: Record<string, string> = {};
    if (message.title !== null) notification.title = message.title;
    if (message.body !== null) notification.body = message.body;
    fcm.notification = notification;
  }
  return fcm;
}

/** A Web Push message: the JSON the service worker reads, and web-push's options. */
export interface WebPushRequest {
  payload: string;
  ttl: number;
  urgency: 'high' | 'normal';
  /** RFC 8030 `Topic` (collapse): at most 32 base64url characters, else the collapse key's digest. */
  topic: string | null;
}

/** RFC 8030 gives no default TTL; four weeks is what FCM keeps a message for. */
export const WEB_PUSH_DEFAULT_TTL_S = 28 * 24 * 3600;

export function webPushRequest(message: PushMessage): WebPushRequest {
  const key = message.collapse_key;
  return {
    payload: JSON.stringify({ title: message.title, body: message.body, data: message.data }),
    ttl: message.ttl_seconds ?? WEB_PUSH_DEFAULT_TTL_S,
    urgency: message.priority === 'HIGH' ? 'high' : 'normal',
    topic:
      key === null
        ? null
        : /^[A-Za-z0-9_-]{1,32}$/.test(key)
          ? key
          : createHash('sha256').update(key).digest('base64url').slice(0, 32),
  };
}
