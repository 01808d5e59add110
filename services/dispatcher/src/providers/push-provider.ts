import type { PushMessage } from '@push/contracts';
import type { AppConfig } from '@push/service-kit';

/**
 * The seam between the dispatcher's core (audience, eligibility D1–D4, at-most-once D5, outcomes) and the three
 * provider adapters (FCM, APNs, Web Push). The core hands an app's batch of devices to `send` and publishes one outcome
 * per device from the answers; the adapters own the provider libraries, connections, retries with backoff (D6),
 * rate limits and the pause of an app's provider after a configuration error.
 */

/** One device to send to: the token as token-registry published it (WEB: the PushSubscription JSON). */
export interface PushTarget {
  workspaceId: string;
  appId: string;
  deviceId: string;
  userId: string | null;
  platform: 'IOS' | 'ANDROID' | 'WEB';
  token: string;
}

/** What became of one target, after the adapter's own retries. One per target, in the targets' order. */
export type SendResult =
  | { kind: 'sent'; providerMessageId: string | null }
  | {
      kind: 'bounced';
      /** The provider's own reason string (`Unregistered`, `messaging/registration-token-not-registered`, `410`, …). */
      providerReason: string;
      /** APNs 410 `timestamp` (ms), else null. */
      providerTimestamp: number | null;
    }
  | { kind: 'failed'; category: 'RETRY_EXHAUSTED' | 'CONFIGURATION' | 'PAYLOAD'; reason: string };

export interface PushProvider {
  /**
   * Sends `message` to every target of one app (all targets share `app`'s platform). Never rejects for a provider
   * answer: each target gets its `SendResult`. Rejects only when the process is stopping (`close` called).
   */
  send(app: AppConfig, message: PushMessage, targets: readonly PushTarget[]): Promise<SendResult[]>;
  /** Closes connections and timers; pending sends settle. */
  close(): Promise<void>;
}

/** Nest injection token of the `PushProvider` (one instance routing to FCM, APNs or Web Push by the app's platform). */
export const PUSH_PROVIDER = Symbol('PUSH_PROVIDER');
