import { z } from 'zod';
import { ConfigError } from '@push/service-kit';
import { BurstSettings, DEFAULT_BURST_SETTINGS } from './domain/burst-window';

/** Injection token of the B4 parameters. */
export const BURST_SETTINGS = Symbol('BURST_SETTINGS');

const milliseconds = (fallback: number) =>
  z
    .string()
    .regex(/^[1-9]\d*$/, 'expected a positive integer (milliseconds)')
    .transform(Number)
    .default(fallback);

const SCHEMA = z.object({
  B4_WINDOW_MS: milliseconds(DEFAULT_BURST_SETTINGS.windowMs),
  B4_BUCKET_MS: milliseconds(DEFAULT_BURST_SETTINGS.bucketMs),
  B4_SETTLE_MS: milliseconds(DEFAULT_BURST_SETTINGS.settleMs),
  B4_MIN_COUNT: z
    .string()
    .regex(/^[1-9]\d*$/, 'expected a positive integer')
    .transform(Number)
    .default(DEFAULT_BURST_SETTINGS.minCount),
  B4_SHARE: z
    .string()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'expected a share between 0 and 1, e.g. 0.2')
    .transform(Number)
    .default(DEFAULT_BURST_SETTINGS.share),
});

/** B4's parameters from the environment (B4_WINDOW_MS, B4_BUCKET_MS, B4_SETTLE_MS, B4_MIN_COUNT, B4_SHARE). */
export function burstSettingsFrom(env: NodeJS.ProcessEnv): BurstSettings {
  const set = Object.fromEntries(Object.entries(env).filter(([name, value]) => name.startsWith('B4_') && value !== ''));
  const parsed = SCHEMA.safeParse(set);
  if (!parsed.success)
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  const { B4_WINDOW_MS, B4_BUCKET_MS, B4_SETTLE_MS, B4_MIN_COUNT, B4_SHARE } = parsed.data;
  if (B4_WINDOW_MS % B4_BUCKET_MS !== 0)
    throw new ConfigError([`B4_WINDOW_MS: expected a multiple of B4_BUCKET_MS (${B4_BUCKET_MS}), got ${B4_WINDOW_MS}`]);
  if (B4_SETTLE_MS < B4_WINDOW_MS)
    throw new ConfigError([
      `B4_SETTLE_MS: expected at least B4_WINDOW_MS (${B4_WINDOW_MS}) so that a burst's first bounces are judged on a window the burst fills, got ${B4_SETTLE_MS}`,
    ]);
  return {
    windowMs: B4_WINDOW_MS,
    bucketMs: B4_BUCKET_MS,
    settleMs: B4_SETTLE_MS,
    minCount: B4_MIN_COUNT,
    share: B4_SHARE,
  };
}
