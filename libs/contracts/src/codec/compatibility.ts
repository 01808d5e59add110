import { Type } from 'avsc';

interface RecordSchema {
  name: string;
  fields: { name: string; default?: unknown }[];
}

/**
 * Full compatibility of two consecutive versions of a record (DESIGN §3): the new version reads data written with the
 * old one and the old reads the new; fields are only ever added, each with a default; none is removed or renamed.
 * Returns the problems, empty when compatible.
 */
export function compatibilityProblems(previous: object, next: object): string[] {
  const problems: string[] = [];
  const before = previous as RecordSchema;
  const after = next as RecordSchema;
  const oldFields = new Set(before.fields.map((f) => f.name));
  const newFields = new Set(after.fields.map((f) => f.name));

  for (const name of oldFields) if (!newFields.has(name)) problems.push(`field ${name} was removed or renamed`);
  for (const field of after.fields) {
    if (!oldFields.has(field.name) && !('default' in field)) problems.push(`new field ${field.name} has no default`);
  }
  const oldType = Type.forSchema(previous as never);
  const newType = Type.forSchema(next as never);
  problems.push(...resolutionProblem(() => newType.createResolver(oldType), 'the new version cannot read data written with the previous one'));
  problems.push(...resolutionProblem(() => oldType.createResolver(newType), 'the previous version cannot read data written with the new one'));
  return problems;
}

function resolutionProblem(resolve: () => unknown, what: string): string[] {
  try {
    resolve();
    return [];
  } catch (error) {
    return [`${what}: ${error instanceof Error ? error.message : String(error)}`];
  }
}
