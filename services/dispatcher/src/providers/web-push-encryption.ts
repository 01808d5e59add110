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
 */
export class PooledEncryption implements WebPushEncryption {
  private readonly pool: Piscina<EncryptionRequest[], EncryptionResult[]>;
  private queued: Queued[] = [];
  private flushAt: NodeJS.Immediate | null = null;
  private closed = false;
  /** Tasks handed to the pool (tests: one per micro-batch). */
  batches = 0;

  constructor(options: PooledEncryptionOptions) {
    this.pool = new Piscina({
      filename: options.workerFile ?? join(__dirname, 'web-push-encryption.worker.js'),
      minThreads: 1,
      maxThreads: options.threads,
      idleTimeout: options.idleTimeoutMs ?? 30_000,
      recordTiming: false,
    });
    // piscina emits 'error' for a worker that fails without a task; unheard, the event would end the process.
    this.pool.on('error', (error: Error) =>
      options.logger.warn(
        { provider: 'WEB_PUSH', error: error.message },
        'a web push encryption thread failed; the pool replaces it',
      ),
    );
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
    this.pool.run(batch.map((queued) => queued.request)).then(
      (results) => batch.forEach((queued, i) => queued.resolve(results[i])),
      (error: unknown) => batch.forEach((queued) => queued.reject(error)),
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
    await this.pool.destroy();
  }
}

/** The encryption for `threads` (PROVIDER_WEBPUSH_ENCRYPTION_THREADS): 0 on the main thread, else a pool. */
export function webPushEncryption(threads: number, logger: WarnLogger): WebPushEncryption {
  return threads === 0 ? new InlineEncryption() : new PooledEncryption({ threads, logger });
}
