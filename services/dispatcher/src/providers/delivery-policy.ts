import { Provider, classifyReason } from '@push/providers';
import type { SendResult } from './push-provider';

/** What one request to a provider gave, before any judgement. */
export type Attempt =
  | { ok: true; messageId: string | null }
  | {
      ok: false;
      /** The provider's reason as @push/providers knows it (APNs `reason`, firebase-admin's code, Web Push status). */
      reason: string;
      /** The provider's message, where the reason alone is ambiguous (FCM `messaging/invalid-argument`). */
      message?: string | null;
      /** APNs 410 `timestamp` (ms). */
      timestamp?: number | null;
      /** The answer's Retry-After, in ms. */
      retryAfterMs?: number | null;
      /** No request was made: the target's token cannot be sent to as it is (a malformed Web Push subscription). */
      unusableToken?: boolean;
    };

export interface RetryPolicy {
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

/**
 * What to do after an attempt: the device's result — whether the app's provider must pause, and whether the answer is
 * one of B4's reasons that only a burst makes the app's configuration (`burstReason`) — or a retry.
 */
export type Verdict =
  { kind: 'done'; result: SendResult; pause: boolean; burstReason: string | null } | { kind: 'retry'; delayMs: number };

const done = (result: SendResult, pause = false, burstReason: string | null = null): Verdict => ({
  kind: 'done',
  result,
  pause,
  burstReason,
});

/**
 * D6 for one answer (the class from @push/providers, shared with bounce-processor):
 * - sent → `sent`;
 * - a token reason → `bounced` with the provider's reason (and APNs timestamp). The B4 reasons that are an app's
 *   configuration only in a burst (FCM `messaging/mismatched-credential`, APNs `DeviceTokenNotForTopic`,
 *   `BadDeviceToken`) are bounces too, marked `burstReason`: bounce-processor sees all of an app's outcomes and
 *   decides burst or single, and never invalidates on a burst; the lane pauses the app when it sees a burst of them;
 * - configuration → `failed CONFIGURATION`, and the app's provider pauses;
 * - payload → `failed PAYLOAD` (never the token);
 * - retry, and a reason no provider documents (never treated as the token's) → retried after the backoff
 *   (`attempt` counts from 1), until `maxAttempts` or a Retry-After longer than `retryMaxMs` → `failed RETRY_EXHAUSTED`.
 */
export function judge(
  provider: Provider,
  attempt: Attempt,
  attemptNo: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Verdict {
  if (attempt.ok) return done({ kind: 'sent', providerMessageId: attempt.messageId });
  // Not a provider's answer, so nothing says the token is dead: a payload-class failure, which never touches it.
  if (attempt.unusableToken)
    return done({ kind: 'failed', category: 'PAYLOAD', reason: attempt.message ?? attempt.reason });
  const classified = classifyReason(provider, attempt.reason, attempt.message ?? null);
  // The message belongs to the reason where it decides the class (bounce-processor reads it after ": ").
  const reason =
    attempt.message && provider === 'FCM' && attempt.reason === 'messaging/invalid-argument'
      ? `${attempt.reason}: ${attempt.message}`
      : attempt.reason;
  switch (classified.class) {
    case 'success':
      return done({ kind: 'sent', providerMessageId: null });
    case 'permanent':
    case 'configuration':
      if (classified.class === 'permanent' || classified.burstSensitive)
        return done(
          { kind: 'bounced', providerReason: reason, providerTimestamp: attempt.timestamp ?? null },
          false,
          classified.burstSensitive ? reason : null,
        );
      return done({ kind: 'failed', category: 'CONFIGURATION', reason }, true);
    case 'payload':
      return done({ kind: 'failed', category: 'PAYLOAD', reason });
    case 'retry':
    case 'unknown': {
      const retryAfter = attempt.retryAfterMs ?? 0;
      if (attemptNo >= policy.maxAttempts || retryAfter > policy.retryMaxMs)
        return done({ kind: 'failed', category: 'RETRY_EXHAUSTED', reason });
      return { kind: 'retry', delayMs: Math.max(retryAfter, backoffMs(attemptNo, policy, random)) };
    }
    default: {
      const never: never = classified.class;
      throw new Error(`unknown class ${String(never)}`);
    }
  }
}

/** Exponential backoff with "equal jitter": half of base·2^(n-1) plus a random share of the other half, capped. */
export function backoffMs(attemptNo: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** (attemptNo - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

/** `Retry-After` (seconds or an HTTP date, RFC 9110) in ms; null when absent or unreadable. */
export function retryAfterMs(value: string | string[] | number | undefined | null, now = Date.now()): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text === null || text === '') return null;
  if (/^\d+$/.test(String(text).trim())) return Number(text) * 1000;
  const at = Date.parse(String(text));
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
