// Generates libs/contracts/src/generated/contracts.ts from the .avsc files under schemas/: one TypeScript type per
// record (from its newest version), one union per topic, and every schema version ever published (the codec's
// registry). Run `npm run codegen`; `npm run codegen -- --check` fails when the checked-in output is stale.
// Runs on Node 24's built-in type stripping: plain TypeScript, no build step.
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

type AvroType = string | AvroType[] | { type: string; [key: string]: unknown };
interface AvroField {
  name: string;
  type: AvroType;
  doc?: string;
}
interface SchemaFile {
  topic: string;
  record: string;
  version: number;
  path: string;
  schema: { name: string; namespace?: string; doc?: string; fields: AvroField[] };
}

/** Topic → the name of its union type (DESIGN §2–3 topics). */
const TOPIC_UNIONS: Record<string, string> = {
  'sdk.device-events.v1': 'SdkDeviceEvent',
  'sdk.user-events.v1': 'SdkUserEvent',
  'dispatch.requests.v1': 'DispatchRequestEvent',
  'dispatch.outcomes.v1': 'DispatchOutcomeEvent',
  'token-registry.device-tokens.v1': 'DeviceTokenEvent',
  'subscription-state.user-subscriptions.v1': 'UserSubscriptionEvent',
  'bounce-processor.device-delivery.v1': 'DeviceDeliveryEvent',
};

const root = resolve(dirname(process.argv[1]), '../..');
const schemasDir = join(root, 'schemas');
const outputFile = join(root, 'libs/contracts/src/generated/contracts.ts');

function readSchemas(): SchemaFile[] {
  const files: SchemaFile[] = [];
  for (const topic of readdirSync(schemasDir).sort()) {
    if (!(topic in TOPIC_UNIONS)) throw new Error(`schemas/${topic}: not a topic of the contract (add it to TOPIC_UNIONS)`);
    for (const file of readdirSync(join(schemasDir, topic)).sort()) {
      const match = /^([A-Z][A-Za-z0-9]*)\.v(\d+)\.avsc$/.exec(file);
      if (!match) throw new Error(`schemas/${topic}/${file}: expected <RecordName>.v<N>.avsc`);
      const path = join(schemasDir, topic, file);
      const schema = JSON.parse(readFileSync(path, 'utf8'));
      const shortName = String(schema.name).split('.').pop();
      if (shortName !== match[1]) throw new Error(`schemas/${topic}/${file}: record is named ${schema.name}`);
      files.push({ topic, record: match[1], version: Number(match[2]), path, schema });
    }
  }
  return files;
}

function newestVersions(files: SchemaFile[]): SchemaFile[] {
  const newest = new Map<string, SchemaFile>();
  for (const file of files) {
    const current = newest.get(file.record);
    if (current && current.topic !== file.topic) throw new Error(`record ${file.record} is on two topics`);
    if (!current || current.version < file.version) newest.set(file.record, file);
  }
  return [...newest.values()];
}

class TypeWriter {
  private readonly declarations = new Map<string, string>();

  declare(name: string, text: string): void {
    if (!this.declarations.has(name)) this.declarations.set(name, text);
  }

  output(): string {
    return [...this.declarations.values()].join('\n\n');
  }

  /** The TypeScript type of an Avro type; named records and enums become declarations of their own. */
  typeOf(type: AvroType, namespace: string | undefined): string {
    if (typeof type === 'string') return this.primitive(type);
    if (Array.isArray(type)) return this.union(type, namespace);
    switch (type.type) {
      case 'record':
        return this.record(type as unknown as SchemaFile['schema'], namespace);
      case 'enum': {
        const name = shortName(String(type.name));
        this.declare(name, `${docComment(type.doc)}export type ${name} = ${(type.symbols as string[]).map((s) => `'${s}'`).join(' | ')};`);
        return name;
      }
      case 'array':
        return `${this.wrapIfUnion(this.typeOf(type.items as AvroType, namespace))}[]`;
      case 'map':
        return `Record<string, ${this.typeOf(type.values as AvroType, namespace)}>`;
      default:
        return this.primitive(type.type);
    }
  }

  record(schema: SchemaFile['schema'], parentNamespace: string | undefined): string {
    const namespace = schema.namespace ?? (schema.name.includes('.') ? schema.name.slice(0, schema.name.lastIndexOf('.')) : parentNamespace);
    const name = shortName(schema.name);
    const fields = schema.fields.map((f) => `${docComment(f.doc, '  ')}  ${f.name}: ${this.typeOf(f.type, namespace)};`);
    this.declare(name, `${docComment(schema.doc)}export interface ${name} {\n${fields.join('\n')}\n}`);
    return name;
  }

  private union(branches: AvroType[], namespace: string | undefined): string {
    const nonNull = branches.filter((b) => b !== 'null');
    const nullable = nonNull.length < branches.length;
    if (nonNull.length === 1) return `${this.typeOf(nonNull[0], namespace)}${nullable ? ' | null' : ''}`;
    // avsc wraps unions of several records: the value is { '<full name>': branch }.
    const wrapped = nonNull.map((b) => {
      const full = fullName(b as unknown as { name: string; namespace?: string }, namespace);
      return `{ '${full}': ${this.typeOf(b, namespace)} }`;
    });
    return `${wrapped.join(' | ')}${nullable ? ' | null' : ''}`;
  }

  private primitive(type: string): string {
    switch (type) {
      case 'null':
        return 'null';
      case 'boolean':
        return 'boolean';
      case 'int':
      case 'long':
      case 'float':
      case 'double':
        return 'number';
      case 'string':
        return 'string';
      case 'bytes':
        return 'Buffer';
      default:
        return shortName(type);
    }
  }

  private wrapIfUnion(type: string): string {
    return type.includes('|') ? `(${type})` : type;
  }
}

function shortName(name: string): string {
  return name.split('.').pop() as string;
}

function fullName(type: { name: string; namespace?: string }, namespace: string | undefined): string {
  if (type.name.includes('.')) return type.name;
  const ns = type.namespace ?? namespace;
  return ns ? `${ns}.${type.name}` : type.name;
}

function docComment(doc: unknown, indent = ''): string {
  return typeof doc === 'string' && doc ? `${indent}/** ${doc.replace(/\*\//g, '* /')} */\n` : '';
}

function generate(): string {
  const files = readSchemas();
  const newest = newestVersions(files);
  const writer = new TypeWriter();
  for (const file of newest) writer.record(file.schema, undefined);

  const unions = Object.entries(TOPIC_UNIONS).map(([topic, union]) => {
    const records = newest.filter((f) => f.topic === topic).map((f) => f.record).sort();
    const body = records.length ? records.map((r) => `\n  | TypedEvent<'${r}', ${r}>`).join('') : ' never';
    return `/** Events on \`${topic}\`. */\nexport type ${union} =${body};`;
  });
  const eventMap = Object.entries(TOPIC_UNIONS).map(([topic, union]) => `  '${topic}': ${union};`);
  const recordsByTopic = Object.keys(TOPIC_UNIONS).map(
    (topic) => `  '${topic}': [${newest.filter((f) => f.topic === topic).map((f) => `'${f.record}'`).sort().join(', ')}],`,
  );
  const versions = files.map(
    (f) => `  { topic: '${f.topic}', record: '${f.record}', version: ${f.version}, schema: ${JSON.stringify(f.schema)} },`,
  );

  return `// Generated by tools/codegen/generate-contracts.mts from schemas/ — do not edit. Run \`npm run codegen\`.
/* eslint-disable */

/** An event as the codec hands it over: the Avro record name and the record. */
export interface TypedEvent<N extends string, T> {
  readonly type: N;
  readonly data: T;
}

${writer.output()}

${unions.join('\n\n')}

export interface TopicEventMap {
${eventMap.join('\n')}
}

/** The events a topic carries, e.g. \`EventOf<'sdk.device-events.v1'>\`. */
export type EventOf<T extends keyof TopicEventMap> = TopicEventMap[T];

/** The record types each topic carries (newest versions). */
export const RECORDS_BY_TOPIC = {
${recordsByTopic.join('\n')}
} as const;

export interface SchemaVersion {
  readonly topic: keyof TopicEventMap;
  readonly record: string;
  readonly version: number;
  readonly schema: object;
}

/** Every schema version ever published: old messages stay readable. */
export const SCHEMA_VERSIONS: readonly SchemaVersion[] = [
${versions.join('\n')}
];
`;
}

const generated = generate();
if (process.argv.includes('--check')) {
  const current = existsSync(outputFile) ? readFileSync(outputFile, 'utf8') : '';
  if (current !== generated) {
    console.error('libs/contracts/src/generated/contracts.ts is stale: run `npm run codegen` and commit the result');
    process.exit(1);
  }
  console.log('generated contracts are up to date');
} else {
  writeFileSync(outputFile, generated);
  console.log(`wrote ${outputFile.slice(root.length + 1)}`);
}
