import { Type } from 'avsc';

// CRC-64-AVRO (Rabin) as the Avro specification defines it ("Schema Fingerprints").
const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;

const TABLE: bigint[] = Array.from({ length: 256 }, (_, i) => {
  let fp = BigInt(i);
  for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n) & MASK);
  return fp;
});

/** The 64-bit Rabin fingerprint of a string's UTF-8 bytes, unsigned. */
export function rabinFingerprint(text: string): bigint {
  let fp = EMPTY;
  for (const byte of Buffer.from(text, 'utf8')) fp = (fp >> 8n) ^ TABLE[Number((fp ^ BigInt(byte)) & 0xffn)];
  return fp;
}

/**
 * The schema's Parsing Canonical Form (Avro specification): full names, no docs, defaults, aliases or logical types, no
 * whitespace. `schema` is a parsed `.avsc` (object or type name) or an avsc `Type`.
 */
export function canonicalFormOf(schema: unknown): string {
  return JSON.stringify(Type.forSchema(schema as never).schema());
}

/**
 * CRC-64-AVRO of the schema's Parsing Canonical Form, as an unsigned 64-bit bigint (`BigInt.asIntN(64, fp)` gives the
 * signed long that the Java implementation prints). Single-object encoding writes it as 8 little-endian bytes.
 */
export function fingerprintOf(schema: unknown): bigint {
  return rabinFingerprint(canonicalFormOf(schema));
}
