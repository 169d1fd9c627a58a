function less(ak: number, av: number, bk: number, bv: number): boolean {
  return ak < bk || (ak === bk && av < bv);
}

const MIN_CAPACITY = 16;

/**
 * A binary min-heap of (key, value) pairs of unsigned 32-bit integers (lease times in seconds, IPv4 addresses),
 * kept in two parallel `Uint32Array`s: a million entries cost 8 MB, outside the JS heap, with no per-entry object
 * and no boxed numbers (addresses from 128.0.0.0 up are not small integers). Capacity doubles when full, so
 * growing to a million entries leaves at most 8 MB of old arrays for the GC.
 *
 * Entries are never updated in place: callers push a fresh pair and discard stale ones when they surface (lazy
 * deletion), which keeps every operation O(log n). Ties on the key are broken by the value, so the order (and the
 * tests) never depend on insertion history. deferOrder/restoreOrder load many pairs in O(n), for start-up.
 */
export class NumberHeap {
  private keys = new Uint32Array(MIN_CAPACITY);
  private vals = new Uint32Array(MIN_CAPACITY);
  private n = 0;
  private ordered = true;

  get size(): number {
    return this.n;
  }

  /** Adds a pair. Throws RangeError for a key or value that is not a u32. */
  push(key: number, value: number): void {
    if (key >>> 0 !== key || value >>> 0 !== value)
      throw new RangeError(`heap pair (${key}, ${value}) is not two u32`);
    if (this.n === this.keys.length) this.grow();
    this.keys[this.n] = key;
    this.vals[this.n] = value;
    this.n++;
    if (this.ordered) this.up(this.n - 1);
  }

  /**
   * From now until restoreOrder(), push only appends: loading n pairs then costs O(n) instead of O(n log n).
   * Nothing may be read from the heap meanwhile.
   */
  deferOrder(): void {
    this.ordered = false;
  }

  /** Restores the heap order after deferOrder() (Floyd's bottom-up construction). */
  restoreOrder(): void {
    if (this.ordered) return;
    this.ordered = true;
    for (let i = (this.n >> 1) - 1; i >= 0; i--) this.down(i);
  }

  peekKey(): number | undefined {
    return this.n > 0 ? this.keys[0] : undefined;
  }

  peekValue(): number | undefined {
    return this.n > 0 ? this.vals[0] : undefined;
  }

  /** Removes the smallest pair and returns it; undefined when empty. */
  pop(): { key: number; value: number } | undefined {
    if (this.n === 0) return undefined;
    const key = this.keys[0]!;
    const value = this.vals[0]!;
    this.n--;
    if (this.n > 0) {
      this.keys[0] = this.keys[this.n]!;
      this.vals[0] = this.vals[this.n]!;
      this.down(0);
    }
    if (this.n < this.keys.length >> 2 && this.keys.length > MIN_CAPACITY) this.resize(this.keys.length >> 1);
    return { key, value };
  }

  private grow(): void {
    this.resize(this.keys.length * 2);
  }

  private resize(capacity: number): void {
    const k = new Uint32Array(capacity);
    const v = new Uint32Array(capacity);
    k.set(this.keys.subarray(0, this.n));
    v.set(this.vals.subarray(0, this.n));
    this.keys = k;
    this.vals = v;
  }

  private up(i: number): void {
    const k = this.keys[i]!;
    const v = this.vals[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(this.keys[p]!, this.vals[p]!, k, v)) break;
      this.keys[i] = this.keys[p]!;
      this.vals[i] = this.vals[p]!;
      i = p;
    }
    this.keys[i] = k;
    this.vals[i] = v;
  }

  private down(i: number): void {
    const n = this.n;
    const k = this.keys[i]!;
    const v = this.vals[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && less(this.keys[r]!, this.vals[r]!, this.keys[l]!, this.vals[l]!) ? r : l;
      if (!less(this.keys[c]!, this.vals[c]!, k, v)) break;
      this.keys[i] = this.keys[c]!;
      this.vals[i] = this.vals[c]!;
      i = c;
    }
    this.keys[i] = k;
    this.vals[i] = v;
  }
}
