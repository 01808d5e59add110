import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { loadConfig } from '@push/service-kit';

/** How the adapters send: connections, concurrency, retries, pauses and the per-app rate limit. */
export interface ProviderSettings {
  /** FCM: HTTP/2 sessions per app (project), kept open. */
  fcmSessions: number;
  /** FCM: requests in flight per app (FCM allows 100 concurrent streams per session). */
  fcmConcurrency: number;
  /** APNs: HTTP/2 connections per app, kept open (Apple treats rapid reconnects as abuse). */
  apnsConnections: number;
  /** APNs: requests in flight per app, over its connections. */
  apnsConcurrency: number;
  /** Web Push: requests in flight per app (payload encryption is CPU-bound). */
  webPushConcurrency: number;
  /**
   * Web Push: worker threads encrypting payloads, shared by the process's web apps (0: on the main thread, no pool).
   * Default one core less than the machine's (at least one): the main thread makes the requests.
   */
  webPushEncryptionThreads: number;
  /** Attempts per device, the first included, before `failed RETRY_EXHAUSTED`. */
  maxAttempts: number;
  /** First retry's backoff; doubles per attempt, full jitter, never shorter than the answer's Retry-After. */
  retryBaseMs: number;
  /** Longest wait before a retry; a Retry-After beyond it ends the device's attempts (RETRY_EXHAUSTED). */
  retryMaxMs: number;
  /** How long a configuration error pauses the app's provider (its sends fail fast as CONFIGURATION meanwhile). */
  pauseMs: number;
  /** Per-app rate limit, messages per minute (FCM's default quota per project: 600,000). */
  ratePerMinute: number;
  /** One request's timeout. */
  requestTimeoutMs: number;
  /** Web Push: a VAPID JWT is signed per push-service origin for this long and reused until 10 % of it is left. */
  vapidValidityS: number;
  /** B4 in the sender: of an app's last `burstWindow` results, ≥ `burstMinCount` and > `burstShare` of one reason. */
  burstWindow: number;
  burstMinCount: number;
  burstShare: number;
}

export const DEFAULT_PROVIDER_SETTINGS: ProviderSettings = {
  fcmSessions: 2,
  fcmConcurrency: 200,
  apnsConnections: 4,
  apnsConcurrency: 400,
  webPushConcurrency: 64,
  webPushEncryptionThreads: Math.min(16, Math.max(1, availableParallelism() - 1)),
  maxAttempts: 5,
  retryBaseMs: 500,
  retryMaxMs: 60_000,
  pauseMs: 60_000,
  ratePerMinute: 600_000,
  requestTimeoutMs: 10_000,
  vapidValidityS: 12 * 3600,
  burstWindow: 200,
  burstMinCount: 50,
  burstShare: 0.5,
};

const integer = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .transform((raw, ctx) => {
      const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
      if (value >= min && value <= max) return value;
      ctx.addIssue({ code: 'custom', message: `expected an integer ${min}-${max}, got ${JSON.stringify(raw)}` });
      return z.NEVER;
    })
    .prefault(String(fallback));

const d = DEFAULT_PROVIDER_SETTINGS;
/** The variables, for the kit's `loadConfig` (`extra`). */
export const PROVIDER_SETTINGS_SHAPE = {
  PROVIDER_FCM_SESSIONS: integer(1, 64, d.fcmSessions),
  PROVIDER_FCM_CONCURRENCY: integer(1, 10_000, d.fcmConcurrency),
  PROVIDER_APNS_CONNECTIONS: integer(1, 64, d.apnsConnections),
  PROVIDER_APNS_CONCURRENCY: integer(1, 10_000, d.apnsConcurrency),
  PROVIDER_WEBPUSH_CONCURRENCY: integer(1, 10_000, d.webPushConcurrency),
  PROVIDER_WEBPUSH_ENCRYPTION_THREADS: integer(0, 16, d.webPushEncryptionThreads),
  PROVIDER_MAX_ATTEMPTS: integer(1, 20, d.maxAttempts),
  PROVIDER_RETRY_BASE_MS: integer(1, 600_000, d.retryBaseMs),
  PROVIDER_RETRY_MAX_MS: integer(1, 3_600_000, d.retryMaxMs),
  PROVIDER_PAUSE_MS: integer(1, 86_400_000, d.pauseMs),
  PROVIDER_RATE_PER_MINUTE: integer(1, 100_000_000, d.ratePerMinute),
  PROVIDER_REQUEST_TIMEOUT_MS: integer(100, 600_000, d.requestTimeoutMs),
  // RFC 8292: a VAPID JWT expires within 24 hours.
  PROVIDER_VAPID_VALIDITY_S: integer(60, 24 * 3600, d.vapidValidityS),
  PROVIDER_BURST_WINDOW: integer(1, 100_000, d.burstWindow),
  PROVIDER_BURST_MIN_COUNT: integer(1, 100_000, d.burstMinCount),
  PROVIDER_BURST_SHARE_PERCENT: integer(1, 100, d.burstShare * 100),
};

/** The adapters' settings from the environment, through the kit's one config loader (a bad value names its variable). */
export function providerSettingsFrom(env: NodeJS.ProcessEnv = process.env): ProviderSettings {
  const v = loadConfig('dispatcher', PROVIDER_SETTINGS_SHAPE, env).extra;
  return {
    fcmSessions: v.PROVIDER_FCM_SESSIONS,
    fcmConcurrency: v.PROVIDER_FCM_CONCURRENCY,
    apnsConnections: v.PROVIDER_APNS_CONNECTIONS,
    apnsConcurrency: v.PROVIDER_APNS_CONCURRENCY,
    webPushConcurrency: v.PROVIDER_WEBPUSH_CONCURRENCY,
    webPushEncryptionThreads: v.PROVIDER_WEBPUSH_ENCRYPTION_THREADS,
    maxAttempts: v.PROVIDER_MAX_ATTEMPTS,
    retryBaseMs: v.PROVIDER_RETRY_BASE_MS,
    retryMaxMs: v.PROVIDER_RETRY_MAX_MS,
    pauseMs: v.PROVIDER_PAUSE_MS,
    ratePerMinute: v.PROVIDER_RATE_PER_MINUTE,
    requestTimeoutMs: v.PROVIDER_REQUEST_TIMEOUT_MS,
    vapidValidityS: v.PROVIDER_VAPID_VALIDITY_S,
    burstWindow: v.PROVIDER_BURST_WINDOW,
    burstMinCount: v.PROVIDER_BURST_MIN_COUNT,
    burstShare: v.PROVIDER_BURST_SHARE_PERCENT / 100,
  };
}
