import { z } from 'zod';
import { ConfigError } from '@push/service-kit';

/** Injection token of the worker's settings. */
export const SENDING_SETTINGS = Symbol('SENDING_SETTINGS');

export interface SendingSettings {
  /** Most devices of one (dispatch, app) claimed and handed to `PushProvider.send` at once. */
  batchSize: number;
  /** Batches each replica has in flight at once. */
  concurrency: number;
  /** Longest an idle worker waits before looking for work without a notification. */
  pollMs: number;
  /** How often a replica looks for attempts of replicas that died (their pushes' outcomes are unknown). */
  recoveryMs: number;
}

export const DEFAULT_SENDING_SETTINGS: SendingSettings = {
  batchSize: 500,
  concurrency: 4,
  pollMs: 1000,
  recoveryMs: 5000,
};

const positive = (fallback: number) =>
  z
    .string()
    .regex(/^[1-9]\d*$/, 'expected a positive integer')
    .transform(Number)
    .default(fallback);

const SCHEMA = z.object({
  DISPATCH_BATCH_SIZE: positive(DEFAULT_SENDING_SETTINGS.batchSize),
  DISPATCH_CONCURRENCY: positive(DEFAULT_SENDING_SETTINGS.concurrency),
  DISPATCH_POLL_MS: positive(DEFAULT_SENDING_SETTINGS.pollMs),
  DISPATCH_RECOVERY_MS: positive(DEFAULT_SENDING_SETTINGS.recoveryMs),
});

/** The worker's settings from the environment (DISPATCH_BATCH_SIZE, _CONCURRENCY, _POLL_MS, _RECOVERY_MS). */
export function sendingSettingsFrom(env: NodeJS.ProcessEnv): SendingSettings {
  const set = Object.fromEntries(
    Object.entries(env).filter(([name, value]) => name.startsWith('DISPATCH_') && value !== ''),
  );
  const parsed = SCHEMA.safeParse(set);
  if (!parsed.success)
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  const { DISPATCH_BATCH_SIZE, DISPATCH_CONCURRENCY, DISPATCH_POLL_MS, DISPATCH_RECOVERY_MS } = parsed.data;
  return {
    batchSize: DISPATCH_BATCH_SIZE,
    concurrency: DISPATCH_CONCURRENCY,
    pollMs: DISPATCH_POLL_MS,
    recoveryMs: DISPATCH_RECOVERY_MS,
  };
}
