import { createHash, hash } from 'node:crypto';

/** Lays a SHA-1 digest out as a UUID of version 5 (RFC 4122 §4.3): its first 16 bytes, version and variant bits set. */
function uuidOfSha1(digest: Buffer): string {
  digest[6] = (digest[6] & 0x0f) | 0x50;
  digest[8] = (digest[8] & 0x3f) | 0x80;
  const hex = digest.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** RFC 4122 name-based UUID, version 5: the SHA-1 of the namespace's 16 bytes and the name's UTF-8. */
export function uuidV5(namespace: string, name: string): string {
  if (!UUID.test(namespace)) throw new Error(`namespace is not a UUID: ${JSON.stringify(namespace)}`);
  return uuidOfSha1(
    createHash('sha1')
      .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
      .update(name, 'utf8')
      .digest(),
  );
}

/**
 * The id of an event a service publishes because of another one, derived from what makes it unique (typically the
 * cause's `event_id`, the subject, the record type and a counter): processing the cause again publishes the same id,
 * so that consumers drop the repeat by `event_id`. A version 5 UUID over the SHA-1 of the parts joined by NUL
 * characters, without a namespace: token-registry's published ids have always been derived so, and a changed id would
 * make a replay publish its events again under new ids.
 */
export function deterministicEventId(...parts: readonly string[]): string {
  // `hash` (one shot) rather than createHash: this runs once per published event, on the projection's hot path.
  return uuidOfSha1(hash('sha1', parts.join('\u0000'), 'buffer'));
}
