import { join } from 'node:path';
import { Piscina } from 'piscina';
import type { WarnLogger } from './app-lane';
import encryptBatch, { EncryptionRequest, EncryptionResult } from './web-push-encryption.worker';

export type { EncryptedRequest, EncryptionRequest, EncryptionResult } from './web-push-encryption.worker';

/**
 * Where the Web Push payload encryption runs. It is most of a Web Push sender's CPU (ECDH key generation and agreement,
 * the HKDF, AES-GCM: 65 % in a profile of the adapter), so one process's web pushes are bound by one core unless it
 * runs on other threads.
 */
export interface WebPushEncryption {
  /**
   * One push's request, encrypted by web-push's `generateRequestDetails` (`{ error }` when the subscription's keys
   * cannot be used). Rejects when the encryption itself failed (a worker thread died) or was closed: no answer, so
   * nothing about the token.
   */
  encrypt(request: EncryptionRequest): Promise<EncryptionResult>;
  /** Stops the threads; encryptions queued or running reject. */
  close(): Promise<void>;
}

export class EncryptionClosedError extends Error {
  constructor() {
    super('the web push encryption is closed');
    this.name = 'EncryptionClosedError';
  }
}

/** PROVIDER_WEBPUSH_ENCRYPTION_THREADS=0: on the caller's thread, with the pool's own code. */
export class InlineEncryption implements WebPushEncryption {
  private closed = false;

  async encrypt(request: EncryptionRequest): Promise<EncryptionResult> {
    if (this.closed) throw new EncryptionClosedError();
    return encryptBatch([request])[0];
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** The most encryptions handed to a worker as one task; fewer when the event loop turns first. */
export const ENCRYPTION_BATCH = 64;

export interface PooledEncryptionOptions {
  /** Most worker threads; one is kept, the others end after `idleTimeoutMs` without work. */
  threads: number;
  /** Told when a worker thread fails while it has no task (a failure during a task rejects that task's pushes). */
  logger: WarnLogger;
  /** The worker module (tests: one that crashes); default `web-push-encryption.worker.js`. */
  workerFile?: string;
  idleTimeoutMs?: number;
}

interface Queued {
  request: EncryptionRequest;
  resolve: (result: EncryptionResult) => void;
  reject: (error: unknown) => void;
}

/**
 * The encryption on a piscina pool of worker threads, in micro-batches: the requests of one turn of the event loop
 * (at most `ENCRYPTION_BATCH`) go to a worker as one task, so that the cost of a task (two messages between threads,
 * the structured clone, a promise) is shared by up to 64 pushes. A task that fails — its worker died — rejects its
 * pushes (the lane retries them as a network error); piscina starts another worker, and the pool goes on.
 *
 * piscina does not replace a worker that fails while it starts (its module cannot be loaded, the thread cannot start),
 * nor, after one such failure, any worker: tasks would then wait for a thread forever. So a pool left without a thread
 * is destroyed (its waiting tasks reject, their pushes are retried) and the next batch starts a new one.
 */
export class PooledEncryption implements WebPushEncryption {
  private pool: Piscina<EncryptionRequest[], EncryptionResult[]> | null;
  private queued: Queued[] = [];
  private flushAt: NodeJS.Immediate | null = null;
  private closed = false;
  /** Tasks handed to the pool (tests: one per micro-batch). */
  batches = 0;

  constructor(private readonly options: PooledEncryptionOptions) {
    this.pool = this.startPool();
  }

  private startPool(): Piscina<EncryptionRequest[], EncryptionResult[]> {
    const pool = new Piscina<EncryptionRequest[], EncryptionResult[]>({
      filename: this.options.workerFile ?? join(__dirname, 'web-push-encryption.worker.js'),
      minThreads: 1,
      maxThreads: this.options.threads,
      idleTimeout: this.options.idleTimeoutMs ?? 30_000,
      recordTiming: false,
    });
    // piscina emits 'error' for a worker that fails without a task (one that cannot start); unheard, the event would
    // end the process.
    pool.on('error', (error: Error) => {
      this.options.logger.warn(
        { provider: 'WEB_PUSH', error: error.message },
        'a web push encryption thread failed; its pushes are retried',
      );
      this.retireIfEmpty(pool);
    });
    return pool;
  }

  /** Destroys `pool` when it has no thread left (piscina would start none): the next batch starts a new pool. */
  private retireIfEmpty(pool: Piscina<EncryptionRequest[], EncryptionResult[]>): void {
    if (pool !== this.pool || pool.threads.length > 0) return;
    this.pool = null;
    void pool.destroy().catch(() => undefined);
  }

  encrypt(request: EncryptionRequest): Promise<EncryptionResult> {
    if (this.closed) return Promise.reject(new EncryptionClosedError());
    return new Promise((resolve, reject) => {
      this.queued.push({ request, resolve, reject });
      if (this.queued.length >= ENCRYPTION_BATCH) this.flush();
      else this.flushAt ??= setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    if (this.flushAt !== null) clearImmediate(this.flushAt);
    this.flushAt = null;
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    this.batches++;
    const pool = (this.pool ??= this.startPool());
    pool.run(batch.map((queued) => queued.request)).then(
      (results) => batch.forEach((queued, i) => queued.resolve(results[i])),
      (error: unknown) => {
        batch.forEach((queued) => queued.reject(error));
        this.retireIfEmpty(pool);
      },
    );
  }

  /** Rejects what is queued here and, through piscina's destroy, what the threads have; then ends the threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushAt !== null) clearImmediate(this.flushAt);
    this.flushAt = null;
    const batch = this.queued;
    this.queued = [];
    for (const queued of batch) queued.reject(new EncryptionClosedError());
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }
}

/** The encryption for `threads` (PROVIDER_WEBPUSH_ENCRYPTION_THREADS): 0 on the main thread, else a pool. */
export function webPushEncryption(threads: number, logger: WarnLogger): WebPushEncryption {
  return threads === 0 ? new InlineEncryption() : new PooledEncryption({ threads, logger });
}
