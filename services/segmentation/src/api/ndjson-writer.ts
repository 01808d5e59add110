import type { Writable } from 'node:stream';

/**
 * Writes each item of `source` as one NDJSON line to `out`, pulling the next only when `out` has room (awaiting
 * `drain` whenever `write` says its buffer is full): a slow reader holds the producer back instead of growing memory.
 * Stops pulling when `out` is destroyed or closed (the client went away). Returns the number of lines written.
 */
export async function writeNdjson(source: AsyncIterable<unknown>, out: Writable): Promise<number> {
  let lines = 0;
  for await (const item of source) {
    if (out.destroyed || out.writableEnded) break;
    lines += 1;
    if (!out.write(`${JSON.stringify(item)}\n`)) {
      await roomIn(out);
    }
  }
  return lines;
}

/** Resolves at the next `drain` or `close` of `out`, leaving no listener behind (a long export waits millions of times). */
function roomIn(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
