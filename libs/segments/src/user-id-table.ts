/**
 * User ids ↔ ordinals 0, 1, 2, … in typed arrays: the ids' UTF-8 bytes in one buffer with their offsets, and an
 * open-addressing hash table of ordinals. About 25 bytes a user plus the id's bytes, outside the JS heap — a
 * `Map<string, number>` and a `string[]` of a million ids take some 100 MB of the heap (a service runs with 144 MB).
 * Append-only: an ordinal, once given, names its id for good.
 */
export class UserIdTable {
  private bytes = new Uint8Array(1024);
  private bytesUsed = 0;
  /** `starts[i]`…`starts[i + 1]` are the bytes of the id of ordinal i. */
  private starts = new Uint32Array(65);
  private hashes = new Uint32Array(64);
  /** Ordinal + 1 per slot, 0 = empty; kept at most half full. */
  private slots = new Int32Array(128);
  private count = 0;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  get size(): number {
    return this.count;
  }

  /** The ordinal of `id`, or undefined. */
  get(id: string): number | undefined {
    const encoded = this.encoder.encode(id);
    const hash = hashOf(encoded);
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot];
      if (entry === 0) return undefined;
      const i = entry - 1;
      if (this.hashes[i] === hash && this.equals(i, encoded)) return i;
    }
  }

  /** The ordinal of `id`, appended when new. */
  add(id: string): number {
    const known = this.get(id);
    if (known !== undefined) return known;
    const encoded = this.encoder.encode(id);
    const i = this.count;
    if (i >= this.hashes.length) {
      this.hashes = grown(this.hashes, this.hashes.length * 2);
      this.starts = grown(this.starts, this.hashes.length + 1);
    }
    if (this.bytesUsed + encoded.length > this.bytes.length)
      this.bytes = grown(this.bytes, Math.max(this.bytes.length * 2, this.bytesUsed + encoded.length));
    this.bytes.set(encoded, this.bytesUsed);
    this.bytesUsed += encoded.length;
    this.starts[i + 1] = this.bytesUsed;
    this.hashes[i] = hashOf(encoded);
    this.count += 1;
    if (this.count * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(i);
    return i;
  }

  /** The id of ordinal `i`. */
  idAt(i: number): string {
    if (i < 0 || i >= this.count) throw new RangeError(`no user of ordinal ${i}`);
    return this.decoder.decode(this.bytes.subarray(this.starts[i], this.starts[i + 1]));
  }

  /** The bytes its arrays take. */
  get byteLength(): number {
    return this.bytes.byteLength + this.starts.byteLength + this.hashes.byteLength + this.slots.byteLength;
  }

  private equals(i: number, encoded: Uint8Array): boolean {
    const start = this.starts[i];
    if (this.starts[i + 1] - start !== encoded.length) return false;
    for (let k = 0; k < encoded.length; k++) if (this.bytes[start + k] !== encoded[k]) return false;
    return true;
  }

  private place(i: number): void {
    const mask = this.slots.length - 1;
    let slot = this.hashes[i] & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = i + 1;
  }

  private rehash(capacity: number): void {
    this.slots = new Int32Array(capacity);
    for (let i = 0; i < this.count; i++) this.place(i);
  }
}

/** FNV-1a over the UTF-8 bytes. */
function hashOf(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let k = 0; k < bytes.length; k++) hash = Math.imul(hash ^ bytes[k], 0x01000193);
  return hash >>> 0;
}

function grown<T extends Uint8Array | Uint32Array>(array: T, length: number): T {
  const copy = new (array.constructor as new (n: number) => T)(length);
  copy.set(array);
  return copy;
}
