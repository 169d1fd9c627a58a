function less(ak: number, av: number, bk: number, bv: number): boolean {
  return ak < bk || (ak === bk && av < bv);
}

/**
 * A binary min-heap of (key, value) number pairs kept in two parallel arrays, so a million entries cost two
 * number slots each and no per-entry object. Entries are never updated in place: callers push a fresh pair and
 * discard stale ones when they surface (lazy deletion), which keeps every operation O(log n). Ties on the key are
 * broken by the value, so the order (and the tests) never depend on insertion history.
 */

export class NumberHeap {
  private keys: number[] = [];
  private vals: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  push(key: number, value: number): void {
    this.keys.push(key);
    this.vals.push(value);
    this.up(this.keys.length - 1);
  }

  peekKey(): number | undefined {
    return this.keys[0];
  }

  peekValue(): number | undefined {
    return this.vals[0];
  }

  /** Removes the smallest pair and returns it; undefined when empty. */
  pop(): { key: number; value: number } | undefined {
    const n = this.keys.length;
    if (n === 0) return undefined;
    const key = this.keys[0]!;
    const value = this.vals[0]!;
    const lastK = this.keys.pop()!;
    const lastV = this.vals.pop()!;
    if (n > 1) {
      this.keys[0] = lastK;
      this.vals[0] = lastV;
      this.down(0);
    }
    return { key, value };
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
    const n = this.keys.length;
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
