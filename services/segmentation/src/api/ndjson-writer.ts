import type { Writable } from 'node:stream';

/**
 * Writes each line of `lines` (lines, or pages of lines) to `out`, pulling the next only when `out` has room (awaiting `drain` whenever `write`
 * says its buffer is full): a slow reader holds the producer back instead of growing memory. Lines are gathered into
 * chunks of up to `out`'s high-water mark (at most 64 KiB) before each write — a write per line would make a chunk of
 * the HTTP response per user. Stops pulling when `out` is destroyed or closed (the client went away). Returns the
 * number of lines written.
 */
export async function writeLines(lines: AsyncIterable<string | readonly string[]>, out: Writable): Promise<number> {
  const chunkBytes = Math.min(64 * 1024, out.writableHighWaterMark);
  let written = 0;
  let chunk = '';
  const flush = async () => {
    const full = !out.write(chunk);
    chunk = '';
    if (full) await roomIn(out);
  };
  // An item is a line or a page of lines (one await per page: the export's pages of users).
  for await (const item of lines) {
    for (const line of typeof item === 'string' ? [item] : item) {
      if (out.destroyed || out.writableEnded) return written;
      written += 1;
      chunk += line;
      if (chunk.length >= chunkBytes) await flush();
    }
  }
  if (chunk !== '' && !out.destroyed && !out.writableEnded) await flush();
  return written;
}

/** Each item of `source` as one NDJSON line, written as `writeLines` does. Returns the number of lines written. */
export function writeNdjson(source: AsyncIterable<unknown>, out: Writable): Promise<number> {
  return writeLines(ndjsonLines(source), out);
}

async function* ndjsonLines(source: AsyncIterable<unknown>): AsyncGenerator<string> {
  for await (const item of source) yield `${JSON.stringify(item)}\n`;
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
