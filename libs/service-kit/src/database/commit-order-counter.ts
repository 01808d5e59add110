/**
 * The comment that marks a read-model column whose values number batches in the order they committed (a version
 * bumped per batch, say). A replay that applies the partitions in another interleaving gives out other numbers, as it
 * does a serial column's, while what the rows say stays the same: `eventlog verify` leaves such columns out of its
 * comparison (as it leaves serial and identity columns out), compares the rest of each row, and names them.
 */
export const COMMIT_ORDER_COUNTER = 'commit-order counter';

/** The statement that marks `table.column` a commit-order counter, `why` saying what it counts (for `\d+`). */
export function commitOrderCounterComment(table: string, column: string, why: string): string {
  return `comment on column ${table}.${column} is '${`${COMMIT_ORDER_COUNTER}: ${why}`.replaceAll("'", "''")}'`;
}
