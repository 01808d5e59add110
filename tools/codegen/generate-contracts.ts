// Generates libs/contracts/src/generated/ from the .avsc files under schemas/: TypeScript types of the newest version
// of every record, one union per topic, and the list of every schema version ever published (the codec's registry).
//   npm run codegen             rewrite the generated files
//   npm run codegen -- --check  exit 1 when the checked-in files differ from what schemas/ generates
//   --schemas <dir>             read another folder instead of schemas/ (tests prove that --check fails)
import { existsSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
// Not '@push/contracts': its index loads the generated files this script writes, so a missing or broken one would stop
// the generator that repairs it. These two modules import nothing generated.
// eslint-disable-next-line @nx/enforce-module-boundaries
import {
  AvroComplexSchema,
  AvroRecordSchema,
  AvroSchema,
  SchemaVersion,
  fullNameOf,
  loadSchemaVersions,
  namespaceOf,
  shortNameOf,
} from '../../libs/contracts/src/schema-files';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { Topics, TopicName } from '../../libs/contracts/src/topics';

const TOPIC_UNIONS: Record<TopicName, string> = {
  [Topics.DeviceEvents]: 'SdkDeviceEvent',
  [Topics.UserEvents]: 'SdkUserEvent',
  [Topics.DispatchRequests]: 'DispatchRequestEvent',
  [Topics.DispatchOutcomes]: 'DispatchOutcomeEvent',
  [Topics.DeviceTokens]: 'DeviceTokenEvent',
  [Topics.UserSubscriptions]: 'UserSubscriptionEvent',
  [Topics.DeviceDelivery]: 'DeviceDeliveryEvent',
};

const HEADER = `// generated — do not edit. Source: schemas/**/*.avsc, generator: tools/codegen/generate-contracts.ts.
// Run \`npm run codegen\` after changing a schema.
/* eslint-disable */
`;

const root = resolve(__dirname, '../..');
const outputDir = join(root, 'libs/contracts/src/generated');

interface Declaration {
  /** The definition without its doc comments: two schemas may document a shared enum differently. */
  signature: string;
  text: string;
  origin: string;
}

/** Turns Avro types into TypeScript declarations the way avsc represents their values (default `wrapUnions: 'auto'`). */
class TypeScriptWriter {
  private readonly declarations = new Map<string, Declaration>();
  private origin = '';

  output(): string {
    return [...this.declarations.values()].map((d) => d.text).join('\n\n');
  }

  declareRecord(version: SchemaVersion): void {
    this.origin = `schemas/${version.file}`;
    this.record(version.schema, undefined);
  }

  private declare(name: string, signature: string, text: string): void {
    const existing = this.declarations.get(name);
    if (!existing) this.declarations.set(name, { signature, text, origin: this.origin });
    else if (existing.signature !== signature) {
      throw new Error(
        `type ${name} has two different definitions (${existing.origin} and ${this.origin}): rename one, or make them equal`,
      );
    }
  }

  private typeOf(type: AvroSchema, namespace: string | undefined): string {
    if (typeof type === 'string') return this.primitiveOrReference(type);
    if (Array.isArray(type)) return this.union(type, namespace);
    switch (type.type) {
      case 'record':
        return this.record(type as AvroRecordSchema, namespace);
      case 'enum':
        return this.enumeration(type, namespace);
      case 'array':
        return `${parenthesized(this.typeOf(type.items as AvroSchema, namespace))}[]`;
      case 'map':
        return `Record<string, ${this.typeOf(type.values as AvroSchema, namespace)}>`;
      case 'fixed':
        return 'Buffer';
      default:
        return this.primitiveOrReference(type.type);
    }
  }

  private record(schema: AvroRecordSchema, enclosingNamespace: string | undefined): string {
    const fullName = fullNameOf(schema, enclosingNamespace);
    const name = shortNameOf(fullName);
    const namespace = namespaceOf(fullName);
    const fields = schema.fields.map((field) => ({ field, type: this.typeOf(field.type, namespace) }));
    const signature = `interface ${name} { ${fields.map(({ field, type }) => `${field.name}: ${type};`).join(' ')} }`;
    const body = fields.map(({ field, type }) => `${docComment(field.doc, '  ')}  ${field.name}: ${type};`).join('\n');
    this.declare(name, signature, `${docComment(schema.doc)}export interface ${name} {\n${body}\n}`);
    return name;
  }

  private enumeration(schema: AvroComplexSchema, enclosingNamespace: string | undefined): string {
    const name = shortNameOf(fullNameOf(schema, enclosingNamespace));
    const symbols = (schema.symbols ?? []).map((s) => `'${s}'`).join(' | ');
    this.declare(name, `type ${name} = ${symbols}`, `${docComment(schema.doc)}export type ${name} = ${symbols};`);
    return name;
  }

  /** avsc unwraps a union unless two branches fall in the same JavaScript bucket; wrapped values are `{ branchName: value }`. */
  private union(branches: AvroSchema[], namespace: string | undefined): string {
    const buckets = branches.map((b) => bucketOf(b));
    const wrapped = new Set(buckets).size < buckets.length;
    const types = branches
      .filter((branch) => branch !== 'null')
      .map((branch) => {
        const type = this.typeOf(branch, namespace);
        return wrapped ? `{ '${branchNameOf(branch, namespace)}': ${type} }` : type;
      });
    return [...types, ...(branches.includes('null') ? ['null'] : [])].join(' | ');
  }

  private primitiveOrReference(type: string): string {
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
        return shortNameOf(type);
    }
  }
}

/** avsc's union buckets (`getTypeBucket`); a reference to a named type is assumed to be a record. */
function bucketOf(type: AvroSchema): string {
  const name = typeof type === 'string' ? type : Array.isArray(type) ? 'union' : type.type;
  switch (name) {
    case 'int':
    case 'long':
    case 'float':
    case 'double':
      return 'number';
    case 'bytes':
    case 'fixed':
      return 'buffer';
    case 'enum':
      return 'string';
    case 'null':
    case 'boolean':
    case 'string':
    case 'array':
      return name;
    default:
      return 'object';
  }
}

function branchNameOf(branch: AvroSchema, namespace: string | undefined): string {
  if (typeof branch === 'string')
    return branch.includes('.') || !isNamedReference(branch) ? branch : fullNameOf({ name: branch }, namespace);
  if (Array.isArray(branch)) throw new Error('a union cannot hold a union');
  return branch.name ? fullNameOf(branch as { name: string }, namespace) : branch.type;
}

function isNamedReference(type: string): boolean {
  return !['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'].includes(type);
}

function parenthesized(type: string): string {
  return type.includes(' | ') ? `(${type})` : type;
}

function docComment(doc: unknown, indent = ''): string {
  return typeof doc === 'string' && doc ? `${indent}/** ${doc.replace(/\*\//g, '* /')} */\n` : '';
}

function newestVersions(versions: SchemaVersion[]): SchemaVersion[] {
  const newest = new Map<string, SchemaVersion>();
  for (const version of versions) {
    const seen = newest.get(version.record);
    if (seen && seen.topic !== version.topic)
      throw new Error(`record ${version.record} is on two topics: ${seen.topic} and ${version.topic}`);
    if (!seen || seen.version < version.version) newest.set(version.record, version);
  }
  return [...newest.values()];
}

function typesFile(versions: SchemaVersion[]): string {
  const topics = Object.keys(TOPIC_UNIONS) as TopicName[];
  const newest = newestVersions(versions);
  const recordsOf = (topic: TopicName) =>
    newest
      .filter((v) => v.topic === topic)
      .map((v) => v.record)
      .sort();
  const writer = new TypeScriptWriter();
  for (const topic of topics)
    for (const version of newest.filter((v) => v.topic === topic)) writer.declareRecord(version);

  const unions = topics.map((topic) => {
    const records = recordsOf(topic);
    const body = records.length ? records.map((r) => `\n  | TypedEvent<'${r}', ${r}>`).join('') : ' never';
    return `/** The events on \`${topic}\`${records.length ? '' : ' (no schema published yet)'}. */\nexport type ${TOPIC_UNIONS[topic]} =${body};`;
  });

  return `${HEADER}import type { TopicName } from '../topics';

/** An event as the codec hands it over: the Avro record's short name and the record. */
export interface TypedEvent<N extends string, T> {
  type: N;
  data: T;
}

${writer.output()}

${unions.join('\n\n')}

/** The events each topic carries. */
export interface TopicEventMap {
${topics.map((topic) => `  '${topic}': ${TOPIC_UNIONS[topic]};`).join('\n')}
}

/** The events a topic carries, e.g. \`EventOf<'sdk.device-events.v1'>\`. */
export type EventOf<T extends TopicName> = TopicEventMap[T];

/** The record types (event types) each topic carries. */
export const RECORDS_BY_TOPIC = {
${topics
  .map(
    (topic) =>
      `  '${topic}': [${recordsOf(topic)
        .map((r) => `'${r}'`)
        .join(', ')}],`,
  )
  .join('\n')}
} as const satisfies Record<TopicName, readonly string[]>;
`;
}

function schemasFile(versions: SchemaVersion[]): string {
  const entries = versions.map(
    (v) =>
      `  {\n    topic: '${v.topic}',\n    record: '${v.record}',\n    version: ${v.version},\n    file: '${v.file}',\n    schema: ${JSON.stringify(v.schema)},\n  },`,
  );
  return `${HEADER}import type { SchemaVersion } from '../schema-files';

/** Every schema version ever published under schemas/: the codec reads messages written with any of them. */
export const SCHEMA_VERSIONS: readonly SchemaVersion[] = [
${entries.join('\n')}
];
`;
}

function generate(schemasDir: string): Map<string, string> {
  const versions = loadSchemaVersions(schemasDir);
  return new Map([
    ['types.ts', typesFile(versions)],
    ['schemas.ts', schemasFile(versions)],
  ]);
}

function main(args: string[]): number {
  const schemasOption = args.indexOf('--schemas');
  const files = generate(schemasOption < 0 ? join(root, 'schemas') : resolve(args[schemasOption + 1]));
  const strays = readdirSync(outputDir).filter((name) => !files.has(name));
  if (args.includes('--check')) {
    const stale = [...files]
      .filter(
        ([name, text]) => !existsSync(join(outputDir, name)) || readFileSync(join(outputDir, name), 'utf8') !== text,
      )
      .map(([name]) => name);
    if (stale.length || strays.length) {
      console.error(
        `libs/contracts/src/generated is stale (${[...stale, ...strays].join(', ')}): run \`npm run codegen\` and commit the result`,
      );
      return 1;
    }
    console.log('libs/contracts/src/generated is up to date with schemas/');
    return 0;
  }
  for (const [name, text] of files) writeFileSync(join(outputDir, name), text);
  for (const name of strays) unlinkSync(join(outputDir, name));
  console.log(`wrote ${[...files.keys()].map((name) => `libs/contracts/src/generated/${name}`).join(', ')}`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
