'use strict';
// The Web Push payload encryption (RFC 8291 through web-push's own `generateRequestDetails`) for a micro-batch of
// pushes, run by the encryption pool's worker threads — and, with PROVIDER_WEBPUSH_ENCRYPTION_THREADS=0, on the main
// thread, so that both modes run this same code. It is plain CommonJS JavaScript because a worker thread loads it with
// Node's own loader: under jest the sources are TypeScript that only jest's in-process transform understands, and a
// `.ts` worker would not load there; this file loads as it is from src/ and, compiled by swc, from dist/.
const webpush = require('web-push');

/**
 * Encrypts each request of the batch: `{ subscription, payload, options }` (the options of `generateRequestDetails`,
 * with the VAPID Authorization header already in `options.headers`) → `{ details: { method, endpoint, headers, body } }`
 * or `{ error }` (web-push's message: a subscription whose p256dh/auth is not a usable key). One request's error does
 * not fail the others of its batch.
 */
function encryptBatch(requests) {
  return requests.map(({ subscription, payload, options }) => {
    try {
      const { method, endpoint, headers, body } = webpush.generateRequestDetails(subscription, payload, options);
      // A copy of exactly the body's bytes: http_ece's Buffer is a view on Node's shared 8 KB pool, and posting it to
      // the main thread would copy the whole pool.
      return { details: { method, endpoint, headers, body: body === null ? null : new Uint8Array(body) } };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  });
}

module.exports = encryptBatch;
