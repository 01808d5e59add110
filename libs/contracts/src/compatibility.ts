import { Type } from 'avsc';
import { AvroRecordSchema, AvroSchema, SchemaVersion, fullNameOf, namespaceOf } from './schema-files';

/**
 * Full compatibility of two consecutive versions of a record (DESIGN §3): the new version reads data written with the
 * previous one (backward) and the previous reads data written with the new one (forward); fields — of the record and
 * of every record nested in it — are only ever added, each with a default; none is removed or renamed (an alias
 * would let avsc resolve a rename, but analysts' tools and other readers go by name).
 * Returns the problems, empty when compatible.
 */
export function compatibilityProblems(previous: AvroRecordSchema, next: AvroRecordSchema): string[] {
  const problems: string[] = [];
  const before = recordsIn(previous);
  const after = recordsIn(next);
  for (const [name, oldFields] of before) {
    const newFields = after.get(name);
    if (!newFields) {
      problems.push(`record ${name} was removed or renamed`);
      continue;
    }
    for (const field of oldFields.keys())
      if (!newFields.has(field)) problems.push(`field ${name}.${field} was removed or renamed`);
    for (const [field, hasDefault] of newFields)
      if (!oldFields.has(field) && !hasDefault) problems.push(`new field ${name}.${field} has no default`);
  }
  const oldType = Type.forSchema(previous as Parameters<typeof Type.forSchema>[0]);
  const newType = Type.forSchema(next as Parameters<typeof Type.forSchema>[0]);
  problems.push(
    ...resolutionProblems(
      () => newType.createResolver(oldType),
      'backward: the new version cannot read data written with the previous one',
    ),
  );
  problems.push(
    ...resolutionProblems(
      () => oldType.createResolver(newType),
      'forward: the previous version cannot read data written with the new one',
    ),
  );
  return problems;
}

/**
 * Checks the whole history of published schemas: each record lives on one topic, its versions are numbered 1, 2, 3…
 * without gaps, and every version is fully compatible with the one before. Returns the problems, empty when sound.
 */
export function schemaHistoryProblems(versions: readonly SchemaVersion[]): string[] {
  const byRecord = new Map<string, SchemaVersion[]>();
  for (const version of versions) byRecord.set(version.record, [...(byRecord.get(version.record) ?? []), version]);
  const problems: string[] = [];
  for (const [record, unsorted] of byRecord) {
    const history = [...unsorted].sort((a, b) => a.version - b.version);
    const topics = new Set(history.map((v) => v.topic));
    if (topics.size > 1) problems.push(`${record} is on several topics: ${[...topics].join(', ')}`);
    history.forEach((v, i) => {
      if (v.version !== i + 1)
        problems.push(`${v.file}: expected version ${i + 1} (versions are numbered 1, 2, 3… without gaps or repeats)`);
    });
    for (let i = 1; i < history.length; i++) {
      for (const problem of compatibilityProblems(history[i - 1].schema, history[i].schema))
        problems.push(`${history[i - 1].file} → ${history[i].file}: ${problem}`);
    }
  }
  return problems;
}

/** Every record in a schema, by full name, with its fields and whether each has a default. */
function recordsIn(schema: AvroRecordSchema): Map<string, Map<string, boolean>> {
  const records = new Map<string, Map<string, boolean>>();
  const visit = (type: AvroSchema, namespace: string | undefined): void => {
    if (typeof type === 'string') return;
    if (Array.isArray(type)) return type.forEach((branch) => visit(branch, namespace));
    if (type.type === 'record' && type.fields) {
      const fullName = fullNameOf(type, namespace);
      records.set(fullName, new Map(type.fields.map((f) => [f.name, 'default' in f])));
      for (const field of type.fields) visit(field.type, namespaceOf(fullName));
    }
    if (type.type === 'array' && type.items) visit(type.items, namespace);
    if (type.type === 'map' && type.values) visit(type.values, namespace);
  };
  visit(schema, undefined);
  return records;
}

function resolutionProblems(resolve: () => unknown, what: string): string[] {
  try {
    resolve();
    return [];
  } catch (error) {
    return [`${what} (${error instanceof Error ? error.message : String(error)})`];
  }
}
