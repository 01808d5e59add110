import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_EVENT_TOPICS, TopicName } from './topics';

/** An Avro type as written in an `.avsc` file. */
export type AvroSchema = string | AvroSchema[] | AvroComplexSchema;

export interface AvroComplexSchema {
  type: string;
  name?: string;
  namespace?: string;
  doc?: string;
  fields?: AvroField[];
  symbols?: string[];
  items?: AvroSchema;
  values?: AvroSchema;
  logicalType?: string;
  [attribute: string]: unknown;
}

export interface AvroField {
  name: string;
  type: AvroSchema;
  doc?: string;
  default?: unknown;
  aliases?: string[];
}

export interface AvroRecordSchema extends AvroComplexSchema {
  type: 'record';
  name: string;
  fields: AvroField[];
}

/** One published version of one record: the file `schemas/<topic>/<RecordName>.v<N>.avsc`. */
export interface SchemaVersion {
  readonly topic: TopicName;
  /** The record's short name: the event type of `TypedEvent`. */
  readonly record: string;
  readonly version: number;
  /** `<topic>/<RecordName>.v<N>.avsc`, relative to the schemas folder. */
  readonly file: string;
  readonly schema: AvroRecordSchema;
}

const FILE_NAME = /^([A-Z][A-Za-z0-9]*)\.v([1-9][0-9]*)\.avsc$/;

/**
 * Reads every schema version under `dir` (laid out `<topic>/<RecordName>.v<N>.avsc`; other files, such as a README,
 * are ignored), sorted by topic, record and version. Throws on anything that breaks the layout: a folder that is not
 * a topic, an `.avsc` file name that does not name the record inside, a schema that is not a namespaced record.
 */
export function loadSchemaVersions(dir: string): SchemaVersion[] {
  const versions: SchemaVersion[] = [];
  const topics = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory());
  for (const topic of topics.map((entry) => entry.name).sort()) {
    if (!(ALL_EVENT_TOPICS as readonly string[]).includes(topic))
      throw new Error(`${join(dir, topic)}: not a topic of the contract (see Topics)`);
    for (const name of readdirSync(join(dir, topic))
      .filter((n) => n.endsWith('.avsc'))
      .sort()) {
      const file = `${topic}/${name}`;
      const match = FILE_NAME.exec(name);
      if (!match) throw new Error(`${join(dir, file)}: expected <RecordName>.v<N>.avsc`);
      const schema = parseSchema(join(dir, file));
      const fullName = fullNameOf(schema, undefined);
      if (schema.type !== 'record' || !Array.isArray(schema.fields))
        throw new Error(`${join(dir, file)}: not an Avro record`);
      if (!fullName.includes('.')) throw new Error(`${join(dir, file)}: ${fullName} has no namespace`);
      if (shortNameOf(fullName) !== match[1])
        throw new Error(`${join(dir, file)}: the record inside is named ${fullName}`);
      versions.push({
        topic: topic as TopicName,
        record: match[1],
        version: Number(match[2]),
        file,
        schema: schema as AvroRecordSchema,
      });
    }
  }
  return versions.sort(
    (a, b) => a.topic.localeCompare(b.topic) || a.record.localeCompare(b.record) || a.version - b.version,
  );
}

function parseSchema(path: string): AvroComplexSchema {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The full name of a named type (Avro specification "Names"): a dotted name wins over the namespace. */
export function fullNameOf(
  schema: { name?: string; namespace?: string },
  enclosingNamespace: string | undefined,
): string {
  const name = String(schema.name);
  if (name.includes('.')) return name;
  const namespace = schema.namespace ?? enclosingNamespace;
  return namespace ? `${namespace}.${name}` : name;
}

export function shortNameOf(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}

export function namespaceOf(fullName: string): string | undefined {
  const dot = fullName.lastIndexOf('.');
  return dot < 0 ? undefined : fullName.slice(0, dot);
}
