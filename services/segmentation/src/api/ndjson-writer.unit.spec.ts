import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeLines, writeNdjson } from './ndjson-writer';

/** A reader that takes one chunk every few milliseconds, with a small buffer. */
function slowReader(received: string[]) {
  return new Writable({
    highWaterMark: 64,
    write(chunk, _encoding, callback) {
      received.push(String(chunk));
      setTimeout(callback, 2);
    },
  });
}

describe('NDJSON export writer', () => {
  it('export/segment: writes one JSON object per line, in order', async () => {
    const received: string[] = [];
    async function* users() {
      yield { external_id: 'a' };
      yield { external_id: 'b' };
    }
    const out = slowReader(received);
    expect(await writeNdjson(users(), out)).toBe(2);
    out.end();
    await new Promise((resolve) => out.on('finish', resolve));
    expect(received.join('')).toBe('{"external_id":"a"}\n{"external_id":"b"}\n');
  });

  it('export/segment backpressure: a slow client holds the producer back (never more than a buffer ahead)', async () => {
    const received: string[] = [];
    let produced = 0;
    let maxAhead = 0;
    async function* users() {
      for (let i = 0; i < 200; i++) {
        produced += 1;
        maxAhead = Math.max(maxAhead, produced - received.length);
        yield { external_id: `user-${i}`, padding: 'x'.repeat(40) };
      }
    }
    const out = slowReader(received);
    const listeners = () => out.listenerCount('drain') + out.listenerCount('close') + out.listenerCount('error');
    const before = listeners();
    await writeNdjson(users(), out);
    expect(produced).toBe(200);
    // Hundreds of waits for room leave no listener behind (memory stays constant over a long export).
    expect(listeners()).toBe(before);
    // Each line is ~70 bytes against a 64-byte buffer: the producer may be only a couple of lines ahead.
    expect(maxAhead).toBeLessThanOrEqual(3);
  });

  it('export/segment: stops pulling when the client goes away', async () => {
    const received: string[] = [];
    const out = slowReader(received);
    let produced = 0;
    async function* users() {
      for (let i = 0; i < 1000; i++) {
        produced += 1;
        if (i === 5) out.destroy();
        yield { external_id: `user-${i}` };
        await sleep(0);
      }
    }
    await writeNdjson(users(), out);
    expect(produced).toBeLessThan(10);
  });

  it('export/segment (CSV and NDJSON): lines are gathered into chunks of at most the high-water mark, none lost', async () => {
    const chunks: string[] = [];
    const out = new Writable({
      highWaterMark: 1024,
      write(chunk, _encoding, callback) {
        chunks.push(String(chunk));
        setImmediate(callback);
      },
    });
    async function* lines() {
      for (let i = 0; i < 1000; i++) yield `row-${i},x\r\n`;
    }
    expect(await writeLines(lines(), out)).toBe(1000);
    out.end();
    await new Promise((resolve) => out.on('finish', resolve));
    expect(chunks.join('')).toBe(Array.from({ length: 1000 }, (_, i) => `row-${i},x\r\n`).join(''));
    // About 12 bytes a line: some 12 writes of ~1 KiB, not 1000 writes of a line each.
    expect(chunks.length).toBeLessThan(20);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(1024 + 20);
  });
});
