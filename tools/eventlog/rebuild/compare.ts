/** The event bus's own tables (and TypeORM's): bookkeeping of how the read model was built, not the read model. */
export const BOOKKEEPING_TABLES: readonly string[] = [
  'consumer_offsets',
  'event_outbox',
  'migrations',
  'typeorm_metadata',
];

/** Postgres orders the rows `collate "C"`: by UTF-8 bytes, which is how they are compared here too. */
export const byteOrder = (a: string, b: string): number =>
  Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

export interface TableDifference {
  table: string;
  liveRows: number;
  rebuiltRows: number;
  /** Rows of the live read model the rebuild does not have. */
  onlyLive: number;
  /** Rows of the rebuild the live read model does not have. */
  onlyRebuilt: number;
  /** The first few differing rows (JSON), to show. */
  examples: { side: 'live' | 'rebuilt'; row: string }[];
  /** A table only one side has, or with other columns. */
  problem?: string;
  /** Columns not compared: serial and identity columns, commit-order counters. */
  leftOut?: string[];
}

/**
 * Compares two streams of rows, each in `byteOrder`, as multisets (a row twice on one side and once on the other is
 * one difference): a merge, so that tables of any size are compared holding only a page of each side.
 */
export async function compareSortedRows(
  table: string,
  live: AsyncIterable<string>,
  rebuilt: AsyncIterable<string>,
  maxExamples = 5,
): Promise<TableDifference> {
  const result: TableDifference = { table, liveRows: 0, rebuiltRows: 0, onlyLive: 0, onlyRebuilt: 0, examples: [] };
  const a = live[Symbol.asyncIterator]();
  const b = rebuilt[Symbol.asyncIterator]();
  let x = await a.next();
  let y = await b.next();
  const differs = (side: 'live' | 'rebuilt', row: string) => {
    if (side === 'live') result.onlyLive++;
    else result.onlyRebuilt++;
    if (result.examples.length < maxExamples) result.examples.push({ side, row });
  };
  while (!x.done || !y.done) {
    const order = x.done ? 1 : y.done ? -1 : byteOrder(x.value, y.value);
    if (order === 0) {
      result.liveRows++;
      result.rebuiltRows++;
      x = await a.next();
      y = await b.next();
    } else if (order < 0) {
      result.liveRows++;
      differs('live', x.value as string);
      x = await a.next();
    } else {
      result.rebuiltRows++;
      differs('rebuilt', y.value as string);
      y = await b.next();
    }
  }
  return result;
}

export const differenceCount = (d: TableDifference): number => d.onlyLive + d.onlyRebuilt + (d.problem ? 1 : 0);
