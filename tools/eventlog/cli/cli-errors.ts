/** The CLI's exit codes (README "Exit codes"). */
export const EXIT = {
  OK: 0,
  /** The broker, the database or a service failed. */
  FAILED: 1,
  /** A bad command line: an unknown option, a malformed time, offset or device. */
  USAGE: 2,
  /** The export finished, but some messages could not be decoded (they are in the output, with their error). */
  UNDECODABLE: 3,
  /** `verify` found differences between the rebuilt and the live read model. */
  DIFFERENCES: 4,
} as const;

/** A command line the CLI cannot act on; the message says what to write instead. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `--from`/`--to`/`as-of <time>`: ISO-8601 (`2026-12-01T12:00:00Z`, `2026-12-01`) or epoch milliseconds. */
export function parseTime(text: string, what: string): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(ms))
    throw new UsageError(
      `${what}: expected an ISO-8601 time (2026-12-01T12:00:00Z) or epoch milliseconds, got ${JSON.stringify(text)}`,
    );
  return ms;
}

/** A Kafka offset or partition number: a non-negative integer. */
export function parseNonNegative(text: string, what: string): bigint {
  if (!/^\d+$/.test(text.trim()))
    throw new UsageError(`${what}: expected a non-negative integer, got ${JSON.stringify(text)}`);
  return BigInt(text.trim());
}
