import { SCHEMA_VERSIONS } from '../generated/schemas';
import type { AvroSchema, SchemaVersion } from '../schema-files';

/** The range of a JavaScript Date (±8.64e15 ms); the contract's timestamps are on or after the epoch. */
const LATEST_TIMESTAMP_MS = 8.64e15;

/**
 * Checks what the Avro schema cannot say but every read model needs: no string holds a NUL character (Postgres text
 * cannot store one) and every `timestamp-millis` is a real instant between the epoch and the end of JavaScript's date
 * range. Valid Avro that breaks these would otherwise fail in a store on every retry. Returns the first problem, or
 * null. `versions` defaults to the contract's schemas; a record unknown to it is checked for NUL characters only.
 */
export function storageProblem(
  event: { type: string; data: unknown },
  versions: readonly SchemaVersion[] = SCHEMA_VERSIONS,
): string | null {
  // Every consumed message passes here: a check compiled from the schema first, the message only for what fails it.
  return checkerOf(event.type, versions)(event.data)
    ? null
    : problemIn(event.data, timestampFieldsOf(event.type, versions), event.type);
}

/** True when the value has nothing a store cannot hold; tolerant of values of another branch or a missing field. */
type Check = (value: unknown) => boolean;

const checkerCache = new WeakMap<readonly SchemaVersion[], Map<string, Check>>();

function checkerOf(record: string, versions: readonly SchemaVersion[]): Check {
  let byRecord = checkerCache.get(versions);
  if (!byRecord) checkerCache.set(versions, (byRecord = new Map()));
  let check = byRecord.get(record);
  if (!check) {
    const checks = versions.filter((v) => v.record === record).map((v) => compile(v.schema, new Map()) ?? pass);
    check = checks.length === 0 ? (value) => problemIn(value, new Set(), record) === null : all(checks);
    byRecord.set(record, check);
  }
  return check;
}

const pass: Check = () => true;
const noNul: Check = (v) => typeof v !== 'string' || v.indexOf('\u0000') === -1;
const inDateRange: Check = (v) => typeof v !== 'number' || (v >= 0 && v <= LATEST_TIMESTAMP_MS);
const all = (checks: Check[]): Check => (checks.length === 1 ? checks[0] : (v) => checks.every((c) => c(v)));

/** The check of a schema, or null when nothing of it needs checking (numbers, booleans, enums, bytes). */
function compile(schema: AvroSchema, named: Map<string, AvroSchema>): Check | null {
  if (typeof schema === 'string') {
    if (schema === 'string') return noNul;
    const reference = named.get(schema) ?? named.get(schema.split('.').pop() as string);
    return reference === undefined ? null : compile(reference, new Map([...named].filter(([name]) => name !== schema)));
  }
  if (Array.isArray(schema)) {
    const checks = schema.map((branch) => compile(branch, named)).filter((c): c is Check => c !== null);
    return checks.length === 0 ? null : all(checks);
  }
  if (schema.name) named.set(schema.name, schema);
  if (schema.logicalType === 'timestamp-millis') return inDateRange;
  switch (schema.type) {
    case 'string':
      return noNul;
    case 'record': {
      const fields = (schema.fields ?? [])
        .map((f) => [f.name, compile(f.type, named)] as const)
        .filter((f): f is readonly [string, Check] => f[1] !== null);
      if (fields.length === 0) return null;
      return (v) => {
        if (v === null || typeof v !== 'object') return true;
        const record = v as Record<string, unknown>;
        for (const [name, check] of fields) if (!check(record[name])) return false;
        return true;
      };
    }
    case 'array': {
      const items = compile(schema.items as AvroSchema, named);
      return (v) => !Array.isArray(v) || items === null || v.every(items);
    }
    case 'map': {
      const values = compile(schema.values as AvroSchema, named);
      return (v) => {
        if (v === null || typeof v !== 'object') return true;
        for (const [key, value] of Object.entries(v))
          if (key.indexOf('\u0000') !== -1 || (values !== null && !values(value))) return false;
        return true;
      };
    }
    default:
      return null;
  }
}

const timestampFieldCache = new WeakMap<readonly SchemaVersion[], Map<string, ReadonlySet<string>>>();

/** Names of the fields declared `timestamp-millis` anywhere in any version of `record` (nested records included). */
function timestampFieldsOf(record: string, versions: readonly SchemaVersion[]): ReadonlySet<string> {
  let byRecord = timestampFieldCache.get(versions);
  if (!byRecord) timestampFieldCache.set(versions, (byRecord = new Map()));
  let fields = byRecord.get(record);
  if (!fields) {
    const names = new Set<string>();
    for (const version of versions) if (version.record === record) collectTimestampFields(version.schema, names);
    byRecord.set(record, (fields = names));
  }
  return fields;
}

function collectTimestampFields(schema: AvroSchema, into: Set<string>, field?: string): void {
  if (typeof schema === 'string') return;
  if (Array.isArray(schema)) {
    for (const branch of schema) collectTimestampFields(branch, into, field);
    return;
  }
  if (schema.logicalType === 'timestamp-millis' && field !== undefined) into.add(field);
  for (const f of schema.fields ?? []) collectTimestampFields(f.type, into, f.name);
  if (schema.items) collectTimestampFields(schema.items, into);
  if (schema.values) collectTimestampFields(schema.values, into);
}

function problemIn(value: unknown, timestampFields: ReadonlySet<string>, path: string): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? `${path} contains a NUL character` : null;
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = problemIn(value[i], timestampFields, `${path}[${i}]`);
      if (problem) return problem;
    }
    return null;
  }
  for (const [name, field] of Object.entries(value)) {
    if (name.includes('\u0000')) return `${path} has a map key with a NUL character`;
    const at = `${path}.${name}`;
    if (typeof field === 'number' && timestampFields.has(name) && !(field >= 0 && field <= LATEST_TIMESTAMP_MS)) {
      return `${at} is ${field}: a timestamp-millis must lie between 0 (1970-01-01) and ${LATEST_TIMESTAMP_MS} (the end of the JavaScript date range)`;
    }
    const problem = problemIn(field, timestampFields, at);
    if (problem) return problem;
  }
  return null;
}
