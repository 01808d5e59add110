import { SCHEMA_VERSIONS } from '../generated/schemas';
import type { EventOf } from '../generated/types';
import type { TopicName } from '../topics';
import { SchemaRegistry } from './registry';

/** The registry of every schema version under `schemas/` (as generated into `SCHEMA_VERSIONS`). */
export const contractRegistry = new SchemaRegistry(SCHEMA_VERSIONS);

/**
 * Encodes an event of `topic` in Avro single-object encoding with the current version of its record.
 * Throws `UnencodableEventError` (naming the offending fields) for a record that does not match its schema or that
 * the topic does not carry.
 */
export function encodeEvent<T extends TopicName>(topic: T, event: EventOf<T>): Buffer {
  return contractRegistry.encode(topic, event);
}

/**
 * Decodes a message of `topic` — written with any published version — into the current version of its record.
 * Throws a `CodecError` subclass (`code`: BAD_MAGIC, UNKNOWN_FINGERPRINT, TRUNCATED, INVALID_BODY, WRONG_TOPIC) for poison.
 */
export function decodeEvent<T extends TopicName>(topic: T, bytes: Buffer): EventOf<T> {
  return contractRegistry.decode(topic, bytes);
}
