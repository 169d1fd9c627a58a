import { describe, expect, it } from 'vitest';
import { AdmissionQueue, Lane } from './admission.js';

function drain(q: AdmissionQueue<string>, nowMs: number) {
  const served: string[] = [];
  const shed: Array<[string, Lane, number]> = [];
  for (;;) {
    const x = q.take(nowMs, (item, lane, waited) => shed.push([item, lane, waited]));
    if (x === undefined) break;
    served.push(x);
  }
  return { served, shed };
}

describe('AdmissionQueue', () => {
  it('serves REQUESTs (FINISH) before DISCOVERs (START), each lane in arrival order', () => {
    const q = new AdmissionQueue<string>();
    q.push('d1', Lane.START, 0);
    q.push('r1', Lane.FINISH, 1);
    q.push('d2', Lane.START, 2);
    q.push('r2', Lane.FINISH, 3);
    expect(q.length).toBe(4);
    expect(drain(q, 10)).toEqual({ served: ['r1', 'r2', 'd1', 'd2'], shed: [] });
    expect(q.length).toBe(0);
  });

  it('a REQUEST arriving while DISCOVERs wait overtakes them', () => {
    const q = new AdmissionQueue<string>();
    q.push('d1', Lane.START, 0);
    q.push('d2', Lane.START, 0);
    expect(q.take(1, () => undefined)).toBe('d1');
    q.push('r1', Lane.FINISH, 2);
    expect(q.take(3, () => undefined)).toBe('r1');
    expect(q.take(3, () => undefined)).toBe('d2');
  });

  it('refuses an arrival whose lane is full, and only that lane', () => {
    const q = new AdmissionQueue<string>({ startMaxLength: 2, finishMaxLength: 1 });
    expect(q.push('d1', Lane.START, 0)).toBe(true);
    expect(q.push('d2', Lane.START, 0)).toBe(true);
    expect(q.push('d3', Lane.START, 0)).toBe(false);
    expect(q.push('r1', Lane.FINISH, 0)).toBe(true);
    expect(q.push('r2', Lane.FINISH, 0)).toBe(false);
    expect(q.take(1, () => undefined)).toBe('r1');
    expect(q.take(1, () => undefined)).toBe('d1');
    expect(q.push('d4', Lane.START, 1)).toBe(true);
    expect(drain(q, 2).served).toEqual(['d2', 'd4']);
  });

  it('sheds a DISCOVER that waited longer than startMaxWaitMs, not one that waited exactly that long', () => {
    const q = new AdmissionQueue<string>({ startMaxWaitMs: 250 });
    q.push('old', Lane.START, 0);
    q.push('edge', Lane.START, 50);
    q.push('new', Lane.START, 200);
    // At 300 ms: 'old' waited 300 (> 250, shed), 'edge' 250 (served), 'new' 100 (served).
    expect(drain(q, 300)).toEqual({ served: ['edge', 'new'], shed: [['old', Lane.START, 300]] });
  });

  it('gives REQUESTs the longer wait (finishMaxWaitMs) before shedding them', () => {
    const q = new AdmissionQueue<string>({ startMaxWaitMs: 250, finishMaxWaitMs: 1000 });
    q.push('r-old', Lane.FINISH, 0);
    q.push('d', Lane.START, 0);
    q.push('r', Lane.FINISH, 500);
    const at999 = drain(q, 999);
    expect(at999.served).toEqual(['r-old', 'r']);
    expect(at999.shed).toEqual([['d', Lane.START, 999]]);
    q.push('r2', Lane.FINISH, 0);
    expect(drain(q, 1001)).toEqual({ served: [], shed: [['r2', Lane.FINISH, 1001]] });
  });

  it('keeps order across many pushes and takes (the head compaction)', () => {
    const q = new AdmissionQueue<number>({ startMaxLength: 1 << 20 });
    const out: number[] = [];
    let n = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) q.push(n++, Lane.START, 0);
      for (let i = 0; i < 60; i++) out.push(q.take(0, () => undefined)!);
    }
    while (q.length > 0) out.push(q.take(0, () => undefined)!);
    expect(out).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});
