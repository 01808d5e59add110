import type { Provider } from '@push/providers';

/**
 * B4's parameters. The window is one of event time (`occurred_at`), never wall-clock time, kept per shard (a partition
 * of `dispatch.outcomes.v1`), so that each decision follows from the shard's log alone and a replay decides the same.
 */
export interface BurstSettings {
  /** The sliding window of an app's recent outcomes. */
  windowMs: number;
  /** Bucket width of the window's counts (its resolution). */
  bucketMs: number;
  /** A burst: more than this share (0–1) of the app's outcomes in the window have the same burst-sensitive reason… */
  share: number;
  /** …and at least this many of them (per shard). */
  minCount: number;
  /**
   * A burst-sensitive bounce is decided once the shard's event time has passed it by this much: held when its app is
   * flagged by then, else applied as a single one (B3). So the first bounces of a burst are held too. At least
   * `windowMs`: by the time the first bounce of a burst is decided, the window holds nothing from before the burst, so
   * the burst is judged on its full share.
   */
  settleMs: number;
}

export const DEFAULT_BURST_SETTINGS: BurstSettings = {
  windowMs: 60_000,
  bucketMs: 1_000,
  share: 0.2,
  minCount: 10,
  settleMs: 60_000,
};

export interface Bucket {
  /** Outcomes of the app (sent, bounced, failed) whose `occurred_at` falls in the bucket. */
  total: number;
  /** Of those, the ones with a burst-sensitive reason, by reason. */
  reasons: Record<string, number>;
}

/** One app's window on one shard, and the reasons it is flagged for (with their provider). */
export interface AppWindow {
  /** By bucket start (epoch milliseconds). */
  buckets: Map<number, Bucket>;
  flagged: Map<string, Provider>;
}

export const emptyWindow = (): AppWindow => ({ buckets: new Map(), flagged: new Map() });

export interface WindowCounts {
  windowStart: number;
  windowEnd: number;
  reasonCount: number;
  outcomeCount: number;
}

const bucketOf = (at: number, settings: BurstSettings) =>
  at - (((at % settings.bucketMs) + settings.bucketMs) % settings.bucketMs);

/** The first bucket of the window that ends at `watermark` (the shard's latest outcome time). */
export const windowStartOf = (watermark: number, settings: BurstSettings): number =>
  bucketOf(watermark, settings) - settings.windowMs + settings.bucketMs;

/** Counts one outcome; one older than the window is not counted (its bucket is gone). */
export function count(
  window: AppWindow,
  at: number,
  burstReason: string | null,
  watermark: number,
  settings: BurstSettings,
): void {
  const start = bucketOf(at, settings);
  if (start < windowStartOf(watermark, settings)) return;
  let bucket = window.buckets.get(start);
  if (!bucket) {
    bucket = { total: 0, reasons: {} };
    window.buckets.set(start, bucket);
  }
  bucket.total += 1;
  if (burstReason !== null) bucket.reasons[burstReason] = (bucket.reasons[burstReason] ?? 0) + 1;
}

/** Forgets the buckets that left the window. */
export function prune(window: AppWindow, watermark: number, settings: BurstSettings): void {
  const start = windowStartOf(watermark, settings);
  for (const bucket of window.buckets.keys()) if (bucket < start) window.buckets.delete(bucket);
}

export function countsOf(window: AppWindow, reason: string, watermark: number, settings: BurstSettings): WindowCounts {
  const windowStart = windowStartOf(watermark, settings);
  let reasonCount = 0;
  let outcomeCount = 0;
  for (const [start, bucket] of window.buckets) {
    if (start < windowStart) continue;
    outcomeCount += bucket.total;
    reasonCount += bucket.reasons[reason] ?? 0;
  }
  return { windowStart, windowEnd: watermark, reasonCount, outcomeCount };
}

export const isBurst = (counts: WindowCounts, settings: BurstSettings): boolean =>
  counts.reasonCount >= settings.minCount && counts.reasonCount > settings.share * counts.outcomeCount;

/** The burst-sensitive reasons the window counts or is flagged for, in a stable order. */
export function reasonsOf(window: AppWindow): string[] {
  const reasons = new Set(window.flagged.keys());
  for (const bucket of window.buckets.values()) for (const reason of Object.keys(bucket.reasons)) reasons.add(reason);
  return [...reasons].sort();
}
