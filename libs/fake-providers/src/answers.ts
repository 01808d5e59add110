/**
 * What a fake answers and how long it takes: the same model for the three providers. An answer is a status with,
 * for errors, the provider's reason (APNs `reason`, FCM v1 `errorCode`, Web Push none) and an optional Retry-After.
 */
export interface FakeAnswer {
  status: number;
  /** APNs: the `reason` of the JSON body; FCM: the FcmError `errorCode` (or, without one, the canonical status). */
  reason?: string;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
  /** FCM: the error message (e.g. "The registration token is not a valid FCM registration token"). */
  message?: string;
  /** APNs 410: the `timestamp` (ms) since which the token is invalid; default the time of the answer. */
  timestamp?: number;
}

/** An answer given to a share of the requests not answered by token or prefix, e.g. `{ rate: 0.02, answer: … }`. */
export interface RatedAnswer {
  rate: number;
  answer: FakeAnswer;
}

/** How a fake answers: per token first, then per token prefix (longest first), then by rates, else the success. */
export interface AnswerSettings {
  byToken?: Record<string, FakeAnswer>;
  byPrefix?: Record<string, FakeAnswer>;
  rates?: RatedAnswer[];
  /** The next `count` requests (any token) get `answer`, before any other rule: e.g. one 429, then success. */
  next?: { count: number; answer: FakeAnswer }[];
}

/** Latency added before each answer: `fixedMs` plus a uniform random `0…jitterMs`. */
export interface LatencySettings {
  fixedMs: number;
  jitterMs: number;
}

/**
 * A deterministic generator (mulberry32), so that a rate gives the same answers for the same request order. The same
 * as @push/testing's `seededRandom`, kept here: this lib also runs in the fake-providers tool and the demo, which do
 * not load the test kit (Kafka, Postgres and Nest helpers).
 */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class AnswerBook {
  private byToken = new Map<string, FakeAnswer>();
  private prefixes: [string, FakeAnswer][] = [];
  private rates: RatedAnswer[] = [];
  private next: { count: number; answer: FakeAnswer }[] = [];
  private latency: LatencySettings = { fixedMs: 0, jitterMs: 0 };
  private random = seeded(1);

  constructor(private readonly success: FakeAnswer) {}

  /** Replaces the answer rules (absent parts are cleared). */
  set(settings: AnswerSettings): void {
    this.byToken = new Map(Object.entries(settings.byToken ?? {}));
    this.prefixes = Object.entries(settings.byPrefix ?? {}).sort(([a], [b]) => b.length - a.length);
    const total = (settings.rates ?? []).reduce((sum, r) => sum + r.rate, 0);
    if (total > 1) throw new Error(`answer rates add up to ${total}, more than 1`);
    this.rates = settings.rates ?? [];
    this.next = (settings.next ?? []).map((n) => ({ ...n }));
    this.random = seeded(1);
  }

  setLatency(latency: Partial<LatencySettings>): void {
    this.latency = { ...this.latency, ...latency };
  }

  settings(): { answers: AnswerSettings; latency: LatencySettings } {
    return {
      answers: {
        byToken: Object.fromEntries(this.byToken),
        byPrefix: Object.fromEntries(this.prefixes),
        rates: this.rates,
        next: this.next,
      },
      latency: this.latency,
    };
  }

  answerFor(token: string): FakeAnswer {
    const queued = this.next[0];
    if (queued) {
      if (--queued.count <= 0) this.next.shift();
      return queued.answer;
    }
    const exact = this.byToken.get(token);
    if (exact) return exact;
    for (const [prefix, answer] of this.prefixes) if (token.startsWith(prefix)) return answer;
    if (this.rates.length > 0) {
      let roll = this.random();
      for (const { rate, answer } of this.rates) {
        if (roll < rate) return answer;
        roll -= rate;
      }
    }
    return this.success;
  }

  /** Waits the configured latency (nothing when it is zero: no timer per request). */
  delay(): Promise<void> | null {
    const ms = this.latency.fixedMs + (this.latency.jitterMs > 0 ? Math.random() * this.latency.jitterMs : 0);
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : null;
  }
}

/** One request a fake received, with what it decoded, for assertions. */
export interface ReceivedPush {
  token: string;
  headers: Record<string, string>;
  /** The decoded payload: APNs and FCM the JSON body, Web Push the decrypted plaintext (parsed when JSON). */
  payload: unknown;
  answer: FakeAnswer;
  at: number;
}

/** What a fake counts: requests, per token and per answer, the connections it accepted, and the last N requests. */
export class Counters {
  received = 0;
  /** When the first request since the last reset arrived (ms since the epoch), null before. */
  firstAt: number | null = null;
  /** When the latest request arrived. */
  lastAt: number | null = null;
  readonly perToken = new Map<string, number>();
  readonly perAnswer = new Map<string, number>();
  /** TLS connections (HTTP/2 sessions) accepted. */
  connections = 0;
  /** Distinct provider JWTs (APNs) or VAPID JWTs (Web Push) or OAuth access tokens (FCM) seen. */
  readonly credentials = new Set<string>();
  private readonly recent: ReceivedPush[] = [];

  constructor(private readonly keep: number) {}

  /** Whether requests are kept decoded (`keepLast` > 0): without, a fake need not decode what it only counts. */
  get keeping(): boolean {
    return this.keep > 0;
  }

  record(push: ReceivedPush): void {
    this.received++;
    this.firstAt ??= push.at;
    this.lastAt = push.at;
    this.perToken.set(push.token, (this.perToken.get(push.token) ?? 0) + 1);
    const key = push.answer.reason ? `${push.answer.status} ${push.answer.reason}` : String(push.answer.status);
    this.perAnswer.set(key, (this.perAnswer.get(key) ?? 0) + 1);
    if (this.keep > 0) {
      this.recent.push(push);
      if (this.recent.length > this.keep) this.recent.shift();
    }
  }

  /** The last N requests, oldest first (N is the fake's `keepLast`). */
  last(): readonly ReceivedPush[] {
    return this.recent;
  }

  reset(): void {
    this.received = 0;
    this.firstAt = null;
    this.lastAt = null;
    this.perToken.clear();
    this.perAnswer.clear();
    this.connections = 0;
    this.credentials.clear();
    this.recent.length = 0;
  }

  toJSON() {
    let maxPerToken = 0;
    for (const count of this.perToken.values()) maxPerToken = Math.max(maxPerToken, count);
    return {
      received: this.received,
      firstAt: this.firstAt,
      lastAt: this.lastAt,
      connections: this.connections,
      credentials: this.credentials.size,
      perAnswer: Object.fromEntries(this.perAnswer),
      tokens: this.perToken.size,
      maxPerToken,
    };
  }
}
