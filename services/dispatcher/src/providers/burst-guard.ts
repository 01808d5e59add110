/**
 * B4 seen from the sender: the last `window` results of an app, and of them the answers with a reason that only a
 * burst makes the app's configuration (a wrong sender id, topic or APNs environment). When one such reason is at least
 * `minCount` of them and more than `share` of the window, `record` returns it: the app's provider pauses, so that a
 * misconfigured app does not go on sending its whole audience. The bounces already answered stay bounces:
 * bounce-processor, which sees every outcome, holds them and invalidates none (B4). Pure.
 */
export class BurstGuard {
  private readonly ring: (string | null)[] = [];
  private next = 0;
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly window: number,
    private readonly minCount: number,
    private readonly share: number,
  ) {}

  /** Records one device's result (`burstReason` null for any other); returns the reason of a burst, or null. */
  record(burstReason: string | null): string | null {
    if (this.ring.length < this.window) this.ring.push(burstReason);
    else {
      const evicted = this.ring[this.next];
      if (evicted !== null) this.counts.set(evicted, this.counts.get(evicted)! - 1);
      this.ring[this.next] = burstReason;
      this.next = (this.next + 1) % this.window;
    }
    if (burstReason === null) return null;
    const count = (this.counts.get(burstReason) ?? 0) + 1;
    this.counts.set(burstReason, count);
    return count >= this.minCount && count > this.share * this.ring.length ? burstReason : null;
  }
}
