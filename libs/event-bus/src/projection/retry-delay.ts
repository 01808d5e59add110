const DEFAULT_RETRY = { initialMs: 200, maxMs: 10_000 };

/** Wait before the `failures`-th retry of a batch: doubling from `initialMs`, capped at `maxMs`, with ±20 % jitter. */
export function retryDelayMs(failures: number, retry: { initialMs: number; maxMs: number } = DEFAULT_RETRY, random: () => number = Math.random): number {
  const base = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(base * (0.8 + 0.4 * random()));
}
