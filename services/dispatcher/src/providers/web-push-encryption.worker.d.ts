// The types of web-push-encryption.worker.js (plain JavaScript: see its header for why).
import type { PushSubscription, RequestOptions } from 'web-push';

export interface EncryptionRequest {
  subscription: PushSubscription;
  payload: string;
  /** web-push's options, the VAPID Authorization header in `headers` (signed once per origin by the sender). */
  options: RequestOptions;
}

/** What `https.request` needs to send the push as web-push's `sendNotification` would. */
export interface EncryptedRequest {
  method: string;
  endpoint: string;
  headers: Record<string, string | number>;
  body: Uint8Array | null;
}

/** A request's encryption, or web-push's message when the subscription's keys cannot be used. */
export type EncryptionResult = { details: EncryptedRequest } | { error: string };

declare function encryptBatch(requests: readonly EncryptionRequest[]): EncryptionResult[];
export default encryptBatch;
