import { Type } from 'avsc';
import type { EventOf } from '../generated/types';
import type { SchemaVersion } from '../schema-files';
import type { TopicName } from '../topics';
import {
  InvalidBodyError,
  TruncatedMessageError,
  UnencodableEventError,
  UnknownFingerprintError,
  WrongTopicError,
} from './errors';
import { fingerprintOf } from './fingerprint';
import { SINGLE_OBJECT_HEADER_LENGTH, assertSingleObjectHeader, singleObjectHeader } from './single-object';

type Resolver = ReturnType<Type['createResolver']>;

/** How to read messages written with one schema version: into the record's current type, through a resolver if older. */
interface Writer {
  readonly version: SchemaVersion;
  readonly fingerprint: bigint;
  readonly fingerprintHigh: number;
  readonly reader: Type;
  /** Absent for the current version: no resolution needed. */
  readonly resolver: Resolver | undefined;
}

interface CurrentVersion {
  readonly version: SchemaVersion;
  readonly type: Type;
  readonly header: Buffer;
}

/**
 * Every schema version ever published, indexed by fingerprint. Encoding writes the current (highest) version of a
 * record; decoding reads the writer's version — whichever it was — into the current version of the same record, so
 * messages written before a schema change stay readable.
 */
export class SchemaRegistry {
  private scratch = Buffer.allocUnsafe(64 * 1024);
  /** Keyed by the low 32 bits of the fingerprint: a lookup allocates no BigInt. */
  private readonly writers = new Map<number, Writer[]>();
  private readonly current = new Map<string, CurrentVersion>();
  private readonly records = new Map<TopicName, string[]>();

  constructor(versions: readonly SchemaVersion[]) {
    for (const version of versions) {
      const newest = this.current.get(version.record);
      if (newest && newest.version.topic !== version.topic) {
        throw new Error(`${version.record} is on two topics: ${newest.version.topic} and ${version.topic}`);
      }
      if (!newest || newest.version.version < version.version) {
        this.current.set(version.record, {
          version,
          type: avroType(version),
          header: singleObjectHeader(fingerprintOf(version.schema)),
        });
      }
    }
    for (const [record, { version }] of this.current)
      this.records.set(version.topic, [...(this.records.get(version.topic) ?? []), record].sort());
    for (const version of versions) this.addWriter(version);
  }

  private addWriter(version: SchemaVersion): void {
    const current = this.current.get(version.record) as CurrentVersion;
    const fingerprint = fingerprintOf(version.schema);
    const isCurrent = current.version === version;
    const low = Number(fingerprint & 0xffffffffn);
    const sameLow = this.writers.get(low) ?? [];
    const clash = sameLow.find((w) => w.fingerprint === fingerprint);
    if (clash && clash.version.record !== version.record)
      throw new Error(`${version.file} and ${clash.version.file} have the same fingerprint`);
    if (clash && !isCurrent) return;
    const writer: Writer = {
      version,
      fingerprint,
      fingerprintHigh: Number(fingerprint >> 32n),
      reader: current.type,
      resolver: isCurrent ? undefined : current.type.createResolver(avroType(version)),
    };
    this.writers.set(low, [...sameLow.filter((w) => w !== clash), writer]);
  }

  /** Encodes `event` with the current version of its record, after checking it against that schema. */
  encode<T extends TopicName>(topic: T, event: EventOf<T>): Buffer {
    const { type: record, data } = event as { type: string; data: unknown };
    const current = this.current.get(record);
    if (!current || current.version.topic !== topic) {
      throw new UnencodableEventError(topic, String(record), [
        `type: ${String(record)} is not a record of ${topic} (it carries ${this.recordsOf(topic).join(', ') || 'none yet'})`,
      ]);
    }
    if (!current.type.isValid(data, { noUndeclaredFields: true }))
      throw new UnencodableEventError(topic, record, problemsOf(current.type, data));
    return this.encodeAfter(current.header, current.type, data);
  }
  /**
   * `header` then the Avro encoding of `data`, encoded into one reused buffer and copied out at its exact size: one
   * allocation per message (from Node's buffer pool when small) instead of a zero-filled body and a concatenation.
   */
  private encodeAfter(header: Buffer, type: Type, data: unknown): Buffer {
    for (;;) {
      header.copy(this.scratch, 0);
      const end = type.encode(data, this.scratch, header.length);
      if (end >= 0) {
        const message = Buffer.allocUnsafe(end);
        this.scratch.copy(message, 0, 0, end);
        return message;
      }
      // A negative end is how many bytes the buffer lacked.
      this.scratch = Buffer.allocUnsafe(2 * (this.scratch.length - end));
    }
  }

  /** Decodes a single-object encoded message of `topic`; throws a `CodecError` subclass for anything else. */
  decode<T extends TopicName>(topic: T, bytes: Buffer): EventOf<T> {
    const writer = this.writerOf(bytes);
    if (writer.version.topic !== topic) throw new WrongTopicError(writer.version.record, writer.version.topic, topic);
    let decoded: { value: unknown; offset: number };
    try {
      decoded = writer.reader.decode(bytes, SINGLE_OBJECT_HEADER_LENGTH, writer.resolver);
    } catch (error) {
      throw new InvalidBodyError(`${writer.version.file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (decoded.offset < 0) throw new TruncatedMessageError(`${writer.version.file}: the body ends early`);
    if (decoded.offset !== bytes.length)
      throw new InvalidBodyError(
        `${writer.version.file}: ${bytes.length - decoded.offset} trailing bytes after the record`,
      );
    return { type: writer.version.record, data: decoded.value } as EventOf<T>;
  }

  /** The schema version a message was written with; throws `BadMagicError`, `TruncatedMessageError` or `UnknownFingerprintError`. */
  writerVersionOf(bytes: Buffer): SchemaVersion {
    return this.writerOf(bytes).version;
  }

  /** The version `encode` writes for this record. */
  currentVersionOf(record: string): SchemaVersion | undefined {
    return this.current.get(record)?.version;
  }

  /** The record types `topic` carries, sorted. */
  recordsOf(topic: TopicName): readonly string[] {
    return this.records.get(topic) ?? [];
  }

  private writerOf(bytes: Buffer): Writer {
    assertSingleObjectHeader(bytes);
    const high = bytes.readUInt32LE(6);
    const candidates = this.writers.get(bytes.readUInt32LE(2));
    if (candidates) for (const writer of candidates) if (writer.fingerprintHigh === high) return writer;
    throw new UnknownFingerprintError(bytes.readBigUInt64LE(2));
  }
}

function avroType(version: SchemaVersion): Type {
  return Type.forSchema(version.schema as Parameters<typeof Type.forSchema>[0]);
}

/** One line per offending field: its path and what the schema expects. Never the value: it may be a push token. */
function problemsOf(type: Type, data: unknown): string[] {
  const problems: string[] = [];
  type.isValid(data, {
    noUndeclaredFields: true,
    errorHook: (path, value, expected) => {
      const at = path.join('.') || '(record)';
      problems.push(
        expected.typeName === 'record' && isObject(value)
          ? undeclaredFields(expected, value, path)
          : `${at}: expected ${describeType(expected)}, got ${describeValue(value)}`,
      );
    },
  });
  return problems;
}

/** avsc reports undeclared fields as the record itself being invalid; name them. */
function undeclaredFields(type: Type, value: object, path: string[]): string {
  const declared = new Set((type as unknown as { fields: { name: string }[] }).fields.map((f) => f.name));
  const extra = Object.keys(value).filter((key) => !declared.has(key));
  return `${extra.map((key) => [...path, key].join('.')).join(', ')}: not a field of ${type.name}`;
}

function describeType(type: Type): string {
  const shape = type as unknown as { symbols?: string[]; types?: Type[] };
  switch (type.typeName) {
    case 'enum':
      return `one of ${shape.symbols?.join(', ')}`;
    case 'record':
      return `a ${type.name} record`;
    case 'union:unwrapped':
    case 'union:wrapped':
      return (shape.types ?? []).map((branch) => (branch.name ? branch.name : branch.typeName)).join(' or ');
    default:
      return type.typeName;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string of length ${value.length}`;
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a fractional number';
  return typeof value === 'object' ? 'an object' : typeof value;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
