const DEFAULT_RETRY = { initialMs: 200, maxMs: 10_000 };

/** Wait before the `failures`-th retry of a batch: doubling from `initialMs`, capped at `maxMs`, with ±20 % jitter. */
export function retryDelayMs(failures: number, retry: { initialMs: number; maxMs: number } = DEFAULT_RETRY, random: () => number = Math.random): number {
  const base = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Postgres SQLSTATEs of a transaction that lost a race with a concurrent one: deadlock, serialization, unique key. */
const CONFLICT_CODES = new Set(['40P01', '40001', '23505']);

/** Did the transaction fail only because a concurrent one touched the same rows? Then retrying at once wins the race. */
export function isConcurrencyConflict(error: unknown): boolean {
  const code = (error as { driverError?: { code?: unknown }; code?: unknown } | null)?.driverError?.code ?? (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONFLICT_CODES.has(code);
}
