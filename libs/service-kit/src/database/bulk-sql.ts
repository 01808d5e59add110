/**
 * Bulk SQL: a batch's rows travel to Postgres as parameters of one statement, whatever their number, so that a batch
 * costs a few round trips rather than a few per row. Two shapes:
 * - `unnest($1::text[], $2::text[], …)`: one array parameter per field. For lookups, inserts and deletes of rows of
 *   scalar values (`unnest` would flatten an array-valued field).
 * - `json_to_recordset($1::json)`: the rows as one JSON parameter. For rows with array-valued fields, and for wide
 *   rows: V8 serialises them natively, where pg escapes every element of every array parameter.
 */

/** How one field of a row is stored: its Postgres type, and the SQL between the field and its column where they differ. */
export interface BulkField {
  /** The Postgres type of one value as the parameter carries it: `text`, `bigint`, `timestamptz`, `text[]`, … */
  type: string;
  /** The table's column, when it is not named as the field. */
  column?: string;
  /** SQL reading the column as the field's value (default: the column); `null`: written only, never read back. */
  select?: string | null;
  /** SQL turning the field's value from the bulk source into the column's (default: the field). */
  insert?: string;
}

type Fields<Row> = { readonly [K in keyof Row & string]: string | BulkField };

/**
 * The fields of a table's rows and how each is stored: the one column map from which a store's select list, bulk
 * parameters, inserts and upserts are generated, so that no column list is written out twice.
 *
 * ```ts
 * const HOLDERS = new BulkRows<Holder>({ workspace_id: 'text', app_id: 'text', token: 'text', device_id: 'text' });
 * await tx.query(`${HOLDERS.insert('token_holders', HOLDERS.unnest())} on conflict do nothing`, HOLDERS.arrays(rows));
 * ```
 */
export class BulkRows<Row extends object> {
  /** The fields, in the order of the map: the order of `arrays` and of every generated list. */
  readonly fields: readonly (keyof Row & string)[];
  private readonly specs: readonly Required<BulkField>[];

  constructor(fields: Fields<Row>) {
    this.fields = Object.keys(fields) as (keyof Row & string)[];
    this.specs = this.fields.map((field) => {
      const given: string | BulkField = fields[field];
      const spec: BulkField = typeof given === 'string' ? { type: given } : given;
      const column = spec.column ?? field;
      const resolved: Required<BulkField> = {
        type: spec.type,
        column,
        select: spec.select === null ? null : (spec.select ?? column),
        insert: spec.insert ?? field,
      };
      return resolved;
    });
  }

  /** The table's columns, optionally qualified by a table alias: `h.workspace_id, h.app_id, …`. */
  columns(alias?: string): string {
    return this.specs.map((s) => (alias ? `${alias}.${s.column}` : s.column)).join(', ');
  }

  /** The select list that reads a table row back into a `Row` (fields with `select: null` left out). */
  selectList(): string {
    return this.specs
      .map((s, i) => ({ select: s.select, field: this.fields[i] }))
      .filter(({ select }) => select !== null)
      .map(({ select, field }) => (select === field ? field : `${select} as ${field}`))
      .join(', ');
  }

  /** `unnest($1::text[], $2::bigint[], …) as r(field, …)`: the rows of `arrays(rows)` as a table. */
  unnest(alias = 'r', firstParameter = 1): string {
    const parameters = this.specs.map((s, i) => `$${firstParameter + i}::${s.type}[]`).join(', ');
    return `unnest(${parameters}) as ${alias}(${this.fields.join(', ')})`;
  }

  /** The parameters of `unnest`: one array per field, in field order. */
  arrays(rows: Iterable<Row>): unknown[][] {
    const arrays: unknown[][] = this.fields.map(() => []);
    for (const row of rows) for (let i = 0; i < this.fields.length; i++) arrays[i].push(row[this.fields[i]]);
    return arrays;
  }

  /** `json_to_recordset($1::json) as r(field type, …)`: the rows of `json(rows)` as a table. */
  recordset(alias = 'r', parameter = 1): string {
    const fields = this.specs.map((s, i) => `${this.fields[i]} ${s.type}`).join(', ');
    return `json_to_recordset($${parameter}::json) as ${alias}(${fields})`;
  }

  /** The parameter of `recordset`. */
  json(rows: readonly Row[]): string {
    return JSON.stringify(rows);
  }

  /** `insert into <table> (<columns>) select <each field as its column's value> from <source>`. */
  insert(table: string, source: string): string {
    return `insert into ${table} (${this.columns()}) select ${this.specs.map((s) => s.insert).join(', ')} from ${source}`;
  }

  /** `on conflict (<key>) do update set <column> = excluded.<column>, …` for every column not in the key. */
  onConflictUpdate(key: readonly (keyof Row & string)[]): string {
    const keyColumns = key.map((field) => this.specs[this.fields.indexOf(field)].column);
    const updates = this.specs
      .filter((s) => !keyColumns.includes(s.column))
      .map((s) => `${s.column} = excluded.${s.column}`);
    return `on conflict (${keyColumns.join(', ')}) do update set ${updates.join(', ')}`;
  }
}

/**
 * A map's values in the order of their keys. Rows that concurrent transactions may both insert or lock, written in
 * one order by all of them, make the later one wait for the earlier instead of deadlocking.
 */
export function inKeyOrder<V>(map: ReadonlyMap<string, V>): V[] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, value]) => value);
}

/** Rows with distinct keys (the first of each), e.g. the lookup keys of a batch that names a key several times. */
export function distinctBy<Row>(rows: Iterable<Row>, keyOf: (row: Row) => string): Row[] {
  const distinct = new Map<string, Row>();
  for (const row of rows) {
    const key = keyOf(row);
    if (!distinct.has(key)) distinct.set(key, row);
  }
  return [...distinct.values()];
}
