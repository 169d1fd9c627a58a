import { describe, expect, it } from 'vitest';
import { encodeLeaseBody } from './codec.js';
import { BindingState, type Lease } from './lease.js';
import { LeaseRecords } from './records.js';

const lease = (address: number, hostname = 'h'): Lease => ({
  address,
  state: BindingState.ACTIVE,
  starts: 1,
  ends: 2,
  tstp: 0,
  tsfp: 0,
  atsfp: 0,
  cltt: 1,
  hwType: 1,
  hwAddr: new Uint8Array([2, 0, 0, 0, (address >>> 8) & 255, address & 255]),
  hostname,
});

describe('LeaseRecords', () => {
  it('holds one record per address across its shards: size, lookups, iteration, bytes and the observer agree', () => {
    const seen: [number, boolean, boolean][] = [];
    const r = new LeaseRecords();
    r.observe((key, prev, next) => seen.push([key, prev !== undefined, next !== undefined]));
    // Addresses on both sides of the sign bit, consecutive ones (every shard) and some that share a shard.
    const addrs = [
      0x0a000001,
      0xc0a80001,
      0xfffffffe,
      ...Array.from({ length: 300 }, (_, i) => 0x0a100000 + i),
    ];
    for (const a of addrs) r.put(lease(a));
    r.put(lease(0x0a100005, 'renamed')); // replaces
    r.put(lease(0x0a100005, 'renamed')); // same bytes: no change, no observer call
    for (let i = 0; i < 300; i += 3) r.delete(0x0a100000 + i);
    r.delete(0x01020304); // absent: nothing

    const kept = addrs.filter(
      (a) => !(a >= 0x0a100000 && a < 0x0a100000 + 300 && (a - 0x0a100000) % 3 === 0),
    );
    expect(r.size).toBe(kept.length);
    expect(new Set(r.addresses())).toEqual(new Set(kept));
    expect([...r.values()].map((l) => l.address).sort()).toEqual([...kept].sort());
    expect([...r.entries()].map(([k]) => k >>> 0).sort()).toEqual([...kept].sort());
    expect([...r.rawValues()].length).toBe(kept.length);
    expect(r.get(0xfffffffe)?.address).toBe(0xfffffffe);
    expect(r.get(0x0a100005)?.hostname).toBe('renamed');
    expect(r.has(0x0a100003)).toBe(false);
    expect(r.raw(0x0a100003)).toBeUndefined();
    const bytes = kept.reduce((n, a) => n + encodeLeaseBody(r.get(a)!).length + 4, 0);
    expect(r.liveBytes).toBe(bytes);
    expect(seen.length).toBe(addrs.length + 1 + 100); // puts, one replacement, deletes
    expect(seen[addrs.length]).toEqual([0x0a100005 | 0, true, true]);

    // Taking over a replayed map gives the same view.
    const copy = new LeaseRecords(new Map([...r.entries()]));
    expect(copy.size).toBe(r.size);
    expect(copy.liveBytes).toBe(r.liveBytes);
    expect(copy.get(0xc0a80001)).toEqual(r.get(0xc0a80001));
  });

  it('replaceWith changes only what differs, each change told to the observer', () => {
    const r = new LeaseRecords();
    for (const a of [1, 2, 3, 0xfffffffe]) r.put(lease(a));
    const seen: [number, boolean, boolean][] = [];
    r.observe((key, prev, next) => seen.push([key >>> 0, prev !== undefined, next !== undefined]));
    const other = new LeaseRecords();
    for (const a of [1, 3, 4]) other.put(lease(a));
    other.put(lease(3, 'changed'));
    r.replaceWith(other);
    expect(new Set(r.addresses())).toEqual(new Set([1, 3, 4]));
    expect(r.get(3)?.hostname).toBe('changed');
    expect(r.liveBytes).toBe(other.liveBytes);
    // 2 and 0xfffffffe removed, 3 replaced, 4 added; 1 (the same bytes) untouched.
    expect(seen.sort((a, b) => a[0] - b[0])).toEqual([
      [2, true, false],
      [3, true, true],
      [4, false, true],
      [0xfffffffe, true, false],
    ]);
  });
});
