import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdIndex } from './id-index.js';

describe('IdIndex', () => {
  it('behaves as a set of (hash, key) pairs through adds, removes and growth', () => {
    // Few distinct hashes (and 0, stored as 1) in small tables, and removals of pairs that are there, so runs,
    // collisions and runs wrapping past the table's end get removed from.
    const hash = fc.oneof(
      fc.integer({ min: -40, max: 40 }),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    );
    const op = fc.tuple(fc.boolean(), hash, fc.integer({ min: -5, max: 5 }), fc.nat());
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), fc.nat({ max: 6 }), (ops, expected) => {
        const idx = new IdIndex(expected);
        const pairs: Array<[number, number]> = [];
        const norm = (h: number) => h | 0 || 1;
        for (const [add, h, k, pick] of ops) {
          if (add || pairs.length === 0) {
            idx.add(h, k);
            if (!pairs.some(([a, b]) => a === norm(h) && b === k)) pairs.push([norm(h), k]);
          } else {
            const [ph, pk] = pairs.splice(pick % pairs.length, 1)[0]!;
            idx.remove(ph, pk);
            idx.remove(ph, pk + 100); // absent: changes nothing
          }
        }
        const model = new Map<number, number[]>();
        for (const [h, k] of pairs) model.set(h, [...(model.get(h) ?? []), k]);
        for (const [h, keys] of model) expect(idx.get(h).sort()).toEqual(keys.sort());
        expect(idx.size).toBe(pairs.length);
      }),
      { numRuns: 500 },
    );
  });

  it('holds a million keys in the table sized for them', () => {
    const idx = new IdIndex(1_000_000);
    for (let i = 0; i < 1_000_000; i++) idx.add(Math.imul(i, 0x01000193), 0x0a000000 + i);
    for (let i = 0; i < 1_000_000; i += 2) idx.remove(Math.imul(i, 0x01000193), 0x0a000000 + i);
    expect(idx.size).toBe(500_000);
    expect(idx.get(Math.imul(999_999, 0x01000193))).toEqual([0x0a000000 + 999_999]);
    expect(idx.get(Math.imul(999_998, 0x01000193))).toEqual([]);
  });
});
