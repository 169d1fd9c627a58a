import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NumberHeap } from './heap.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const pairs = fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), u32), { maxLength: 300 });

function drain(h: NumberHeap): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let e = h.pop(); e; e = h.pop()) out.push([e.key, e.value]);
  return out;
}

const sorted = (ps: Array<[number, number]>) => [...ps].sort((a, b) => a[0] - b[0] || a[1] - b[1]);

describe('NumberHeap', () => {
  it('pops pairs by key then value, whether pushed one by one or loaded in bulk', () => {
    fc.assert(
      fc.property(pairs, pairs, (first, later) => {
        const one = new NumberHeap();
        for (const [k, v] of [...first, ...later]) one.push(k, v);
        const bulk = new NumberHeap();
        bulk.deferOrder();
        for (const [k, v] of first) bulk.push(k, v);
        bulk.restoreOrder();
        for (const [k, v] of later) bulk.push(k, v);
        expect(bulk.size).toBe(first.length + later.length);
        expect(drain(one)).toEqual(sorted([...first, ...later]));
        expect(drain(bulk)).toEqual(sorted([...first, ...later]));
      }),
    );
  });

  it('holds addresses and times up to 0xffffffff, grows and shrinks, and refuses what is not a u32', () => {
    const h = new NumberHeap();
    for (let i = 0; i < 100_000; i++) h.push(0xffffffff - i, 0xc0a80000 + i);
    expect(h.peekKey()).toBe(0xffffffff - 99_999);
    expect(h.peekValue()).toBe(0xc0a80000 + 99_999);
    for (let i = 0; i < 99_999; i++) h.pop();
    expect(h.pop()).toEqual({ key: 0xffffffff, value: 0xc0a80000 });
    expect(h.pop()).toBeUndefined();
    expect(() => h.push(-1, 0)).toThrow(RangeError);
    expect(() => h.push(0, 2 ** 32)).toThrow(RangeError);
    expect(() => h.push(1.5, 0)).toThrow(RangeError);
  });
});
