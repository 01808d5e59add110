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
export function storageProblem(event: { type: string; data: unknown }, versions: readonly SchemaVersion[] = SCHEMA_VERSIONS): string | null {
  const timestampFields = timestampFieldsOf(event.type, versions);
  // Every consumed message passes here: a check that allocates nothing first, the message only for what fails it.
  return isStorable(event.data, timestampFields) ? null : problemIn(event.data, timestampFields, event.type);
}

function isStorable(value: unknown, timestampFields: ReadonlySet<string>): boolean {
  if (typeof value === 'string') return value.indexOf('\u0000') === -1;
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isStorable(value[i], timestampFields)) return false;
    return true;
  }
  const record = value as Record<string, unknown>;
  for (const name in record) {
    const field = record[name];
    if (typeof field === 'number') {
      if (timestampFields.has(name) && !(field >= 0 && field <= LATEST_TIMESTAMP_MS)) return false;
    } else if (!isStorable(field, timestampFields)) return false;
    if (name.indexOf('\u0000') !== -1) return false;
  }
  return true;
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
