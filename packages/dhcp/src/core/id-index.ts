const EMPTY = 0;
const MAX_LOAD = 0.7;

/**
 * A multimap from a 32-bit identifier hash to lease keys (addresses as signed 32-bit integers), in two
 * `Int32Array`s with open addressing and linear probing: 8 bytes a slot, about 12 bytes a lease at a million
 * (a JS `Map` costs ~28 and leaves its old tables as garbage each time it doubles). Sized up front from the
 * number of records, so loading a million leases allocates it once. Hash 0 marks an empty slot, so a real
 * hash of 0 is stored as 1 (one more harmless collision). A (hash, key) pair is held at most once.
 */
export class IdIndex {
  private hashes: Int32Array;
  private keys: Int32Array;
  private shift: number;
  private count = 0;

  constructor(expected = 0) {
    let log2 = 3;
    while ((1 << log2) * MAX_LOAD < expected + 1) log2++;
    this.hashes = new Int32Array(1 << log2);
    this.keys = new Int32Array(1 << log2);
    this.shift = 32 - log2;
  }

  get size(): number {
    return this.count;
  }

  add(hash: number, key: number): void {
    hash = hash | 0 || 1;
    const mask = this.hashes.length - 1;
    let i = this.home(hash);
    for (; this.hashes[i] !== EMPTY; i = (i + 1) & mask)
      if (this.hashes[i] === hash && this.keys[i] === key) return;
    if (this.count + 1 > this.hashes.length * MAX_LOAD) {
      this.grow();
      return this.add(hash, key);
    }
    this.hashes[i] = hash;
    this.keys[i] = key;
    this.count++;
  }

  /** The keys stored under hash, in probe order. */
  get(hash: number): number[] {
    hash = hash | 0 || 1;
    const out: number[] = [];
    const mask = this.hashes.length - 1;
    for (let i = this.home(hash); this.hashes[i] !== EMPTY; i = (i + 1) & mask)
      if (this.hashes[i] === hash) out.push(this.keys[i]!);
    return out;
  }

  remove(hash: number, key: number): void {
    hash = hash | 0 || 1;
    const mask = this.hashes.length - 1;
    let i = this.home(hash);
    for (; this.hashes[i] !== EMPTY; i = (i + 1) & mask)
      if (this.hashes[i] === hash && this.keys[i] === key) break;
    if (this.hashes[i] === EMPTY) return;
    this.count--;
    // Backward-shift deletion: pull later entries of the run into the hole unless their home lies after it,
    // so every remaining entry stays reachable from its home without tombstones.
    for (let j = (i + 1) & mask; this.hashes[j] !== EMPTY; j = (j + 1) & mask) {
      const h = this.home(this.hashes[j]!);
      const stays = i <= j ? h > i && h <= j : h > i || h <= j;
      if (stays) continue;
      this.hashes[i] = this.hashes[j]!;
      this.keys[i] = this.keys[j]!;
      i = j;
    }
    this.hashes[i] = EMPTY;
  }

  private home(hash: number): number {
    // Fibonacci hashing: the top bits of the product, so every bit of the hash counts.
    return Math.imul(hash, 0x9e3779b1) >>> this.shift;
  }

  private grow(): void {
    const hashes = this.hashes;
    const keys = this.keys;
    this.hashes = new Int32Array(hashes.length * 2);
    this.keys = new Int32Array(hashes.length * 2);
    this.shift--;
    this.count = 0;
    for (let j = 0; j < hashes.length; j++) if (hashes[j] !== EMPTY) this.add(hashes[j]!, keys[j]!);
  }
}
