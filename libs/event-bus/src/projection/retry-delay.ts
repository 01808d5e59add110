const DEFAULT_RETRY = { initialMs: 200, maxMs: 10_000 };

/** Wait before the `failures`-th retry of a batch: doubling from `initialMs`, capped at `maxMs`, with ±20 % jitter. */
export function retryDelayMs(
  failures: number,
  retry: { initialMs: number; maxMs: number } = DEFAULT_RETRY,
  random: () => number = Math.random,
): number {
  const base = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Postgres SQLSTATEs of a transaction that lost a race with a concurrent one: deadlock, serialization, unique key. */
const CONFLICT_CODES = new Set(['40P01', '40001', '23505']);
/**
 * SQLSTATEs a message's data causes, whatever the database's health: data exceptions (22: a value out of range, a NUL
 * byte, an invalid date), program limits (54: an index row too large), and integrity violations other than a unique
 * key race (23: not null, foreign key, check).
 */
const MESSAGE_CLASSES = new Set(['22', '54']);
const MESSAGE_CODES = new Set(['23502', '23503', '23514']);
/** SQLSTATE classes of an unavailable or overloaded database: never the message's fault. */
const INFRASTRUCTURE_CLASSES = new Set(['08', '53', '57', '58', 'XX']);

/**
 * Why a batch failed, as far as its retry goes:
 * - `conflict`: it lost a race with a concurrent transaction; retrying at once wins it;
 * - `message`: the data of one of its messages cannot be applied (retrying the same message fails the same way);
 * - `infrastructure`: the database or network is unavailable; wait and retry, never blame a message;
 * - `unknown`: anything else (a bug, an unexpected state): retried; blamed on a message only if it repeats.
 */
export type FailureKind = 'conflict' | 'message' | 'infrastructure' | 'unknown';

export function failureKind(error: unknown): FailureKind {
  const code = sqlState(error);
  if (code !== undefined) {
    if (CONFLICT_CODES.has(code)) return 'conflict';
    if (MESSAGE_CODES.has(code) || MESSAGE_CLASSES.has(code.slice(0, 2))) return 'message';
    if (INFRASTRUCTURE_CLASSES.has(code.slice(0, 2))) return 'infrastructure';
  }
  // An invalid Date or a number out of range, thrown while building a row from the message.
  if (error instanceof RangeError) return 'message';
  const errno =
    (error as { code?: unknown } | null)?.code ??
    (error as { driverError?: { code?: unknown } } | null)?.driverError?.code;
  if (typeof errno === 'string' && /^E[A-Z]+$/.test(errno)) return 'infrastructure';
  const text = error instanceof Error ? error.message : String(error);
  if (/connection|terminat|timeout|ECONN|socket|not connected|pool/i.test(text)) return 'infrastructure';
  return 'unknown';
}

/** Did the transaction fail only because a concurrent one touched the same rows? Then retrying at once wins the race. */
export function isConcurrencyConflict(error: unknown): boolean {
  return failureKind(error) === 'conflict';
}

function sqlState(error: unknown): string | undefined {
  const code =
    (error as { driverError?: { code?: unknown }; code?: unknown } | null)?.driverError?.code ??
    (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
