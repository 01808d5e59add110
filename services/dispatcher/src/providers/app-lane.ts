import type { PushMessage } from '@push/contracts';
import { NETWORK_ERROR, Provider } from '@push/providers';
import type { AppConfig } from '@push/service-kit';
import { BurstGuard } from './burst-guard';
import { Attempt, RetryPolicy, judge } from './delivery-policy';
import { RateLimiter, Semaphore } from './flow-control';
import { ProviderMetrics } from './provider-metrics';
import type { PushTarget, SendResult } from './push-provider';

/** One provider's client for one app: prepares a message once per batch and makes one request per attempt. */
export interface PlatformSender<Prepared> {
  readonly provider: Provider;
  /** The message in the provider's shape, built once per batch; `{ unsendable }` fails every target as PAYLOAD. */
  prepare(message: PushMessage): Prepared | Unsendable;
  /** One request; never rejects for an answer (a thrown error counts as a connection error). */
  attempt(prepared: Prepared, target: PushTarget): Promise<Attempt>;
  close(): Promise<void>;
}

/** A message the provider cannot carry at all (a silent push to the web), with the reason. */
export interface Unsendable {
  unsendable: string;
}

const isUnsendable = (prepared: unknown): prepared is Unsendable =>
  typeof prepared === 'object' && prepared !== null && 'unsendable' in prepared;

/** The part of pino the adapters log through: a configuration error once per pause, never a token or key. */
export interface WarnLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

export interface LaneSettings extends RetryPolicy {
  concurrency: number;
  ratePerMinute: number;
  pauseMs: number;
  /** B4 in the sender: a burst of one burst-sensitive reason in the app's last `burstWindow` results pauses it. */
  burstWindow: number;
  burstMinCount: number;
  burstShare: number;
}

/** `close` was called: the process is stopping, the send did not finish. */
export class ProviderClosedError extends Error {
  constructor() {
    super('the push provider is closed');
    this.name = 'ProviderClosedError';
  }
}

/**
 * One app's sending: its sender, bounded concurrency, its rate limit, retries with backoff (D6) and the pause after a
 * configuration error, or after a burst of one of B4's reasons (`BurstGuard`) — while paused, the app's devices fail fast as CONFIGURATION (with the reason that paused it),
 * and the pause is logged and counted once, when it starts.
 */
export class AppLane<Prepared> {
  private readonly slots: Semaphore;
  private readonly rate: RateLimiter;
  private readonly bursts: BurstGuard;
  private pause: { until: number; reason: string } | null = null;
  private closed = false;
  private readonly sleeping = new Set<{ timer: NodeJS.Timeout; reject: (error: Error) => void }>();

  constructor(
    private readonly app: AppConfig,
    private readonly sender: PlatformSender<Prepared>,
    private readonly settings: LaneSettings,
    private readonly metrics: ProviderMetrics,
    private readonly logger: WarnLogger,
    private readonly now: () => number = Date.now,
  ) {
    this.slots = new Semaphore(settings.concurrency);
    this.rate = new RateLimiter(settings.ratePerMinute, now);
    this.bursts = new BurstGuard(settings.burstWindow, settings.burstMinCount, settings.burstShare);
  }

  get provider(): Provider {
    return this.sender.provider;
  }

  /** The reason the app's provider is paused, or null. */
  pausedBy(): string | null {
    if (this.pause && this.pause.until <= this.now()) this.pause = null;
    return this.pause?.reason ?? null;
  }

  async send(message: PushMessage, targets: readonly PushTarget[]): Promise<SendResult[]> {
    const prepared = this.sender.prepare(message);
    if (isUnsendable(prepared))
      return targets.map(() => this.count({ kind: 'failed', category: 'PAYLOAD', reason: prepared.unsendable }));
    const results: SendResult[] = new Array(targets.length);
    const ready: Prepared = prepared;
    // A window of devices in progress larger than the request slots, so that devices waiting for a retry do not
    // hold back the others; the window keeps a large batch from making a promise per device at once.
    let next = 0;
    const work = async () => {
      while (next < targets.length) {
        const i = next++;
        results[i] = await this.deliver(ready, targets[i]);
      }
    };
    const window = Math.min(targets.length, this.settings.concurrency * 4);
    await Promise.all(Array.from({ length: window }, work));
    return results;
  }

  private async deliver(prepared: Prepared, target: PushTarget): Promise<SendResult> {
    for (let attemptNo = 1; ; attemptNo++) {
      if (this.closed) throw new ProviderClosedError();
      let pausedBy = this.pausedBy();
      if (pausedBy === null) {
        const waitRate = this.rate.take();
        if (waitRate) await waitRate;
        const waitSlot = this.slots.acquire();
        if (waitSlot) await waitSlot;
        // Checked again with the slot: the pause may have started while this device waited for it.
        pausedBy = this.pausedBy();
        if (pausedBy !== null) this.slots.release();
      }
      if (pausedBy !== null) return this.count({ kind: 'failed', category: 'CONFIGURATION', reason: pausedBy });
      let attempt: Attempt;
      try {
        attempt = await this.sender.attempt(prepared, target);
      } catch (error) {
        attempt = { ok: false, reason: NETWORK_ERROR, message: (error as Error).message };
      } finally {
        this.slots.release();
      }
      if (this.closed) throw new ProviderClosedError();
      const verdict = judge(this.provider, attempt, attemptNo, this.settings);
      if (verdict.kind === 'done') {
        if (verdict.pause && verdict.result.kind === 'failed') this.startPause(verdict.result.reason, 'error');
        const burst = this.bursts.record(verdict.burstReason);
        if (burst !== null) this.startPause(burst, 'burst');
        return this.count(verdict.result);
      }
      this.metrics.retry(this.provider);
      await this.sleep(verdict.delayMs);
    }
  }

  private startPause(reason: string, cause: 'error' | 'burst'): void {
    if (this.pausedBy() !== null) return;
    this.pause = { until: this.now() + this.settings.pauseMs, reason };
    this.metrics.paused(this.provider, this.app.workspace_id, this.app.app_id);
    this.logger.warn(
      {
        provider: this.provider,
        workspace_id: this.app.workspace_id,
        app_id: this.app.app_id,
        reason,
        cause,
        pauseMs: this.settings.pauseMs,
      },
      cause === 'burst'
        ? "configuration error (a burst of one reason across the app's devices, B4): the app's provider is paused, its sends fail as CONFIGURATION until the pause ends"
        : "configuration error: the app's provider is paused, its sends fail as CONFIGURATION until the pause ends",
    );
  }

  private count(result: SendResult): SendResult {
    this.metrics.result(this.provider, result);
    return result;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleeping.delete(entry);
          resolve();
        }, ms),
        reject,
      };
      this.sleeping.add(entry);
    });
  }

  /** Ends the retries waiting (their sends reject with ProviderClosedError) and closes the sender. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.sleeping) {
      clearTimeout(entry.timer);
      entry.reject(new ProviderClosedError());
    }
    this.sleeping.clear();
    await this.sender.close();
  }
}
