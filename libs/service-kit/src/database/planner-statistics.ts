/**
 * Planner statistics of a read model's tables, kept fresh by the service itself. Postgres plans a query from each
 * table's statistics, gathered by `ANALYZE` — normally autovacuum's job. Where autovacuum is off (some managed or
 * locally tuned servers: this project's CI machine runs with `autovacuum = off`) or has not yet caught up with a bulk
 * load (a fresh replay writes millions of rows in minutes), a table's statistics say it is nearly empty and range
 * scans with `order by … limit` are planned as full sorts: segmentation's page of user ids took 860 ms instead of
 * 10 ms at a million users. So a service analyzes its own tables when they changed much since their last analysis.
 */
export interface QueryRunnerLike {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

export interface StaleStatisticsOptions {
  /** A table is stale when its rows modified since its last analysis exceed this share of its live rows… */
  fraction?: number;
  /** …and this many rows (small tables plan well whatever their statistics). */
  minRows?: number;
}

/**
 * The tables among `tables` (every table of the current schema when `'all'`) whose statistics are stale (never
 * analyzed, or modified much since).
 */
export async function staleTables(
  db: QueryRunnerLike,
  tables: readonly string[] | 'all',
  { fraction = 0.2, minRows = 10_000 }: StaleStatisticsOptions = {},
): Promise<string[]> {
  const rows = (await db.query(
    `select relname, n_live_tup::float8 as live, n_mod_since_analyze::float8 as modified
     from pg_stat_user_tables where schemaname = current_schema() and ($1::text[] is null or relname = any($1))`,
    [tables === 'all' ? null : tables],
  )) as { relname: string; live: number; modified: number }[];
  return rows
    .filter((r) => r.modified >= minRows && r.modified > fraction * r.live)
    .map((r) => r.relname)
    .sort();
}

/** `ANALYZE`s the stale ones among `tables` (a sample of 30,000 rows per table: a fraction of a second); their names. */
export async function analyzeStaleTables(
  db: QueryRunnerLike,
  tables: readonly string[] | 'all',
  options?: StaleStatisticsOptions,
): Promise<string[]> {
  const stale = await staleTables(db, tables, options);
  // Names from pg_stat_user_tables matching the caller's own list, quoted: never text from outside.
  if (stale.length) await db.query(`analyze ${stale.map((t) => `"${t.replace(/"/g, '""')}"`).join(', ')}`);
  return stale;
}
