import { createECDH, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { decrypt } from 'http_ece';
import {
  ENCRYPTION_BATCH,
  EncryptionClosedError,
  EncryptionRequest,
  EncryptionResult,
  InlineEncryption,
  PooledEncryption,
  WebPushEncryption,
} from './web-push-encryption';

// The Web Push encryption on its own, with real worker threads: the micro-batches, the results (decrypted here with
// the browser's keys, as the fake push service does), one bad subscription among good ones, and close() with
// encryptions still queued. The sender's spec (web-push-sender.int.spec.ts) proves it end to end, crashes included.

const quiet = { warn: () => undefined };

function browser() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return { ecdh, auth };
}

function requestTo(b: ReturnType<typeof browser>, payload: string): EncryptionRequest {
  return {
    subscription: {
      endpoint: 'https://push.example/p/1',
      keys: { p256dh: b.ecdh.getPublicKey().toString('base64url'), auth: b.auth.toString('base64url') },
    },
    payload,
    options: { headers: { Authorization: 'vapid t=x, k=y' }, vapidDetails: null as never, TTL: 60, urgency: 'high' },
  };
}

const detailsOf = (result: EncryptionResult) => {
  if ('error' in result) throw new Error(`expected an encrypted request, got ${result.error}`);
  return result.details;
};

let pool: PooledEncryption;
beforeAll(() => {
  pool = new PooledEncryption({ threads: 1, logger: quiet });
});
afterAll(() => pool.close());

describe.each([
  ['a pool of one worker thread', () => pool],
  ['the main thread (threads 0)', () => new InlineEncryption()],
])('encryption on %s', (_where, encryption: () => WebPushEncryption) => {
  it("each push's request as web-push makes it: its headers, a body only the browser's keys decrypt", async () => {
    const browsers = Array.from({ length: 3 }, browser);
    const results = await Promise.all(browsers.map((b, i) => encryption().encrypt(requestTo(b, `push ${i}`))));
    results.forEach((result, i) => {
      const details = detailsOf(result);
      expect(details).toMatchObject({ method: 'POST', endpoint: 'https://push.example/p/1' });
      expect(details.headers).toMatchObject({
        TTL: 60,
        Urgency: 'high',
        Authorization: 'vapid t=x, k=y',
        'Content-Encoding': 'aes128gcm',
        'Content-Length': details.body!.length,
      });
      const plaintext = decrypt(Buffer.from(details.body!), {
        version: 'aes128gcm',
        privateKey: browsers[i].ecdh,
        authSecret: browsers[i].auth,
      });
      expect(plaintext.toString('utf8')).toBe(`push ${i}`);
    });
  });

  it('a subscription web-push refuses gets its error; the other pushes of the batch are encrypted', async () => {
    const bad = requestTo(browser(), 'x');
    bad.subscription.keys.p256dh = 'AAAA';
    const [before, refused, after] = await Promise.all(
      [requestTo(browser(), 'a'), bad, requestTo(browser(), 'b')].map((r) => encryption().encrypt(r)),
    );
    expect(refused).toEqual({ error: 'The subscription p256dh value should be 65 bytes long.' });
    expect(detailsOf(before).body).toBeInstanceOf(Uint8Array);
    expect(detailsOf(after).body).toBeInstanceOf(Uint8Array);
  });
});

describe('the pool', () => {
  it(`hands the requests of one turn of the event loop to a worker in batches of at most ${ENCRYPTION_BATCH}`, async () => {
    const b = browser();
    const before = pool.batches;
    const results = await Promise.all(Array.from({ length: 150 }, (_, i) => pool.encrypt(requestTo(b, `p${i}`))));
    expect(results.every((r) => 'details' in r)).toBe(true);
    expect(pool.batches - before).toBe(3); // 64 + 64 + 22
  });

  it('a worker that cannot start (its module missing) fails each batch — piscina would start no other thread: the next batch gets a new pool, none waits forever', async () => {
    const warnings: string[] = [];
    const broken = new PooledEncryption({
      threads: 1,
      workerFile: join(__dirname, 'testing', 'no-such-worker.js'),
      logger: { warn: (details) => warnings.push(String(details.error)) },
    });
    try {
      const b = browser();
      for (let i = 0; i < 3; i++) await expect(broken.encrypt(requestTo(b, `p${i}`))).rejects.toThrow();
      expect(warnings.length).toBeGreaterThan(0);
      expect(warnings.every((w) => w.includes('no-such-worker'))).toBe(true);
    } finally {
      await broken.close();
    }
  });

  it('close() rejects the encryptions queued and running, and every later one; nothing hangs', async () => {
    const closing = new PooledEncryption({ threads: 1, logger: quiet });
    const b = browser();
    const pending = Array.from({ length: 100 }, (_, i) =>
      closing.encrypt(requestTo(b, `p${i}`)).then(
        () => 'encrypted',
        (error: Error) => error.name,
      ),
    );
    await closing.close();
    const outcomes = await Promise.all(pending);
    expect(outcomes.filter((o) => o === 'encrypted')).toEqual([]);
    // The 64 handed to the worker are rejected by piscina's destroy, the 36 still queued here by the pool.
    expect(outcomes.filter((o) => o === 'EncryptionClosedError')).toHaveLength(36);
    await expect(closing.encrypt(requestTo(b, 'late'))).rejects.toBeInstanceOf(EncryptionClosedError);
  });
});
