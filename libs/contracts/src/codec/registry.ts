import { Type } from 'avsc';
import type { TopicName } from '../topics';
import { EventOf, RECORDS_BY_TOPIC, SCHEMA_VERSIONS, SchemaVersion } from '../generated/contracts';
import { CodecError, ContractViolationError } from './errors';
import { fingerprintOf } from './fingerprint';

/** Single-object encoding (Avro specification): the two marker bytes, then the writer schema's fingerprint. */
const MAGIC_0 = 0xc3;
const MAGIC_1 = 0x01;
const HEADER_LENGTH = 10;

interface WriterEntry {
  topic: string;
  record: string;
  reader: Type;
  /** Absent when the writer is the reader (the current version): no resolution needed. */
  resolver?: ReturnType<Type['createResolver']>;
}

interface CurrentEntry {
  topic: string;
  type: Type;
  header: Buffer;
}

/**
 * Every schema version ever published, indexed by fingerprint. Decoding resolves the message's writer schema from
 * its fingerprint and reads it into the current (newest) version of the record, so old messages stay readable.
 */
export class SchemaRegistry {
  private readonly writers = new Map<bigint, WriterEntry>();
  private readonly current = new Map<string, CurrentEntry>();

  constructor(versions: readonly SchemaVersion[]) {
    const newest = new Map<string, SchemaVersion>();
    for (const v of versions) if ((newest.get(v.record)?.version ?? 0) < v.version) newest.set(v.record, v);

    for (const [record, version] of newest) {
      const type = Type.forSchema(version.schema as never);
      this.current.set(record, { topic: version.topic, type, header: headerFor(fingerprintOf(version.schema)) });
    }
    for (const v of versions) {
      const reader = this.current.get(v.record) as CurrentEntry;
      const isCurrent = newest.get(v.record) === v;
      const writer = isCurrent ? reader.type : Type.forSchema(v.schema as never);
      this.writers.set(fingerprintOf(v.schema), {
        topic: v.topic,
        record: v.record,
        reader: reader.type,
        resolver: isCurrent ? undefined : reader.type.createResolver(writer),
      });
    }
  }

  encode<T extends TopicName>(topic: T, event: EventOf<T>): Buffer {
    const entry = this.current.get(event.type);
    if (!entry || entry.topic !== topic) throw new ContractViolationError(event.type, [`${event.type} is not a record of ${topic}`]);
    const problems: string[] = [];
    const valid = entry.type.isValid(event.data, {
      errorHook: (path, value) => problems.push(`${path.join('.') || '(record)'}: invalid value (${describe(value)})`),
    });
    if (!valid) throw new ContractViolationError(event.type, problems);
    return Buffer.concat([entry.header, entry.type.toBuffer(event.data)]);
  }

  decode<T extends TopicName>(topic: T, bytes: Buffer): EventOf<T> {
    if (bytes.length >= 2 && (bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1)) {
      throw new CodecError('BAD_MAGIC', 'not Avro single-object encoding: the first two bytes are not C3 01');
    }
    if (bytes.length < HEADER_LENGTH) throw new CodecError('TRUNCATED', `message of ${bytes.length} bytes is shorter than the 10-byte header`);
    const fingerprint = bytes.readBigUInt64LE(2);
    const writer = this.writers.get(fingerprint);
    if (!writer) throw new CodecError('UNKNOWN_FINGERPRINT', `no schema with fingerprint ${fingerprint.toString(16).padStart(16, '0')}`);
    if (writer.topic !== topic) throw new CodecError('WRONG_TOPIC', `${writer.record} is a record of ${writer.topic}, not of ${topic}`);
    let data: unknown;
    try {
      data = writer.reader.fromBuffer(bytes.subarray(HEADER_LENGTH), writer.resolver);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new CodecError(/truncated/.test(message) ? 'TRUNCATED' : 'INVALID_BODY', `${writer.record}: ${message}`);
    }
    return { type: writer.record, data } as EventOf<T>;
  }

  /** The record types `topic` carries. */
  recordsOf(topic: TopicName): readonly string[] {
    return RECORDS_BY_TOPIC[topic];
  }
}

function headerFor(fingerprint: bigint): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header[0] = MAGIC_0;
  header[1] = MAGIC_1;
  header.writeBigUInt64LE(fingerprint, 2);
  return header;
}

/** Names the kind of a bad value, never the value: it may be a push token. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'string' ? `string of length ${value.length}` : typeof value;
}

/** The registry of every schema in `schemas/`. */
export const contractRegistry = new SchemaRegistry(SCHEMA_VERSIONS);

/** Encodes an event of `topic` with the current version of its record; refuses records that break the contract. */
export function encodeEvent<T extends TopicName>(topic: T, event: EventOf<T>): Buffer {
  return contractRegistry.encode(topic, event);
}

/** Decodes a message of `topic` into the current version of its record; throws a `CodecError` for poison. */
export function decodeEvent<T extends TopicName>(topic: T, bytes: Buffer): EventOf<T> {
  return contractRegistry.decode(topic, bytes);
}
