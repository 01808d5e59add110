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
  private scratch = new Uint8Array(256);
  private scratchLength = 0;
  private scratchHash = 0;
  private readonly decoder = new TextDecoder();

  get size(): number {
    return this.count;
  }

  /** The ordinal of `id`, or undefined. */
  get(id: string): number | undefined {
    const entry = this.slots[this.probe(id)];
    return entry === 0 ? undefined : entry - 1;
  }

  /** The ordinal of `id`, appended when new. */
  add(id: string): number {
    const slot = this.probe(id); // leaves the id's UTF-8 bytes in the scratch buffer
    if (this.slots[slot] !== 0) return this.slots[slot] - 1;
    const length = this.scratchLength;
    const i = this.count;
    if (i >= this.hashes.length) {
      this.hashes = grown(this.hashes, this.hashes.length * 2);
      this.starts = grown(this.starts, this.hashes.length + 1);
    }
    if (this.bytesUsed + length > this.bytes.length)
      this.bytes = grown(this.bytes, Math.max(this.bytes.length * 2, this.bytesUsed + length));
    this.bytes.set(this.scratch.subarray(0, length), this.bytesUsed);
    this.bytesUsed += length;
    this.starts[i + 1] = this.bytesUsed;
    this.hashes[i] = this.scratchHash;
    this.count += 1;
    if (this.count * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.slots[slot] = i + 1;
    return i;
  }

  /**
   * The slot holding `id`, or the empty slot where it would go. Encodes the id into the scratch buffer (no allocation
   * per call) and leaves its length and hash there for `add`.
   */
  private probe(id: string): number {
    if (id.length * 3 > this.scratch.length) this.scratch = new Uint8Array(id.length * 3);
    const length = this.encoder.encodeInto(id, this.scratch).written;
    let hash = 0x811c9dc5; // FNV-1a over the UTF-8 bytes
    for (let k = 0; k < length; k++) hash = Math.imul(hash ^ this.scratch[k], 0x01000193);
    hash >>>= 0;
    this.scratchLength = length;
    this.scratchHash = hash;
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot];
      if (entry === 0 || (this.hashes[entry - 1] === hash && this.equals(entry - 1, length))) return slot;
    }
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

  /** Whether the id of ordinal `i` is the `length` bytes in the scratch buffer. */
  private equals(i: number, length: number): boolean {
    const start = this.starts[i];
    if (this.starts[i + 1] - start !== length) return false;
    for (let k = 0; k < length; k++) if (this.bytes[start + k] !== this.scratch[k]) return false;
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

function grown<T extends Uint8Array | Uint32Array>(array: T, length: number): T {
  const copy = new (array.constructor as new (n: number) => T)(length);
  copy.set(array);
  return copy;
}
