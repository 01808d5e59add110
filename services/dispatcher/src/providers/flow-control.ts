/** Bounds the requests in flight: `acquire` waits for a free slot, `release` frees it (first come, first served). */
export class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(slots: number) {
    this.free = slots;
  }

  /** Resolves at once (null: no promise to await) when a slot is free. */
  acquire(): Promise<void> | null {
    if (this.free > 0) {
      this.free--;
      return null;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/**
 * A token bucket: `perMinute` messages a minute, up to a second's worth at once. `take` returns null when a token is
 * there, else the promise of the time the next one is (waiters are served in order).
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private readonly perMs: number;
  private readonly capacity: number;
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(
    perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.perMs = perMinute / 60_000;
    this.capacity = Math.max(1, perMinute / 60);
    this.tokens = this.capacity;
    this.last = now();
  }

  take(): Promise<void> | null {
    if (this.queued === 0) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens--;
        return null;
      }
    }
    this.queued++;
    this.queue = this.queue.then(async () => {
      this.refill();
      if (this.tokens < 1) await sleep((1 - this.tokens) / this.perMs);
      this.refill();
      this.tokens--;
      this.queued--;
    });
    return this.queue;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
