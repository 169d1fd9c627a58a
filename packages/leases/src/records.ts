import type { Ip4 } from '@hadhcp/common';
import { decodeLeaseString, encodeLeaseString } from './codec.js';
import type { Lease } from './lease.js';

/**
 * Told about every change of a record: the address as a signed 32-bit key, the record it replaced and the new one
 * (Latin-1 lease body strings; `undefined` for none). Never called for a write that changes nothing.
 */
export type RecordObserver = (key: number, prev: string | undefined, next: string | undefined) => void;

/** Per-record overhead of a lease in a snapshot: type + length, and a share of the frame header. */
const LEASE_RECORD_OVERHEAD = 4;

/**
 * Records live in SHARDS maps, by the address's low bits. A V8 `Map` rehashes all its entries in one go when it
 * doubles: 7 ms at 262,144 entries and 18 ms at 524,288 on the project VM, long enough for a server answering
 * 20,000 clients a second to back up and then answer in a burst its relay or client cannot take in. Each shard
 * holds 1/64th of the records, so each doubling moves 1/64th of them (well under a millisecond at a million).
 */
const SHARD_BITS = 6;
const SHARDS = 1 << SHARD_BITS;
const SHARD_MASK = SHARDS - 1;

/**
 * The live lease records, one per address: the only in-memory copy of the leases in the process. The store
 * replays its files into it and applies each write to it; the DHCP core's `LeaseTable` reads it and indexes it
 * (its observer), and puts its own changes into it (the daemon then writes the same leases to the store).
 *
 * Each record is the encoded lease body as a Latin-1 string (one char per byte, ~50-80 bytes), in `Map`s keyed
 * by the address as a signed 32-bit integer (a Smi: no heap number per key). That is V8's most compact way to hold
 * a million small byte strings; `Lease` objects are decoded on demand, one per lookup.
 */
export class LeaseRecords {
  private bytes = 0;
  private observer: RecordObserver | undefined;

  private readonly shards: Map<number, string>[] = Array.from({ length: SHARDS }, () => new Map());
  private count = 0;

  /** Takes the records of `map` (signed address key -> encoded record), e.g. a store's replayed state. */
  constructor(map?: ReadonlyMap<number, string>) {
    if (!map) return;
    for (const [key, rec] of map) {
      this.shards[key & SHARD_MASK]!.set(key, rec);
      this.bytes += rec.length + LEASE_RECORD_OVERHEAD;
    }
    this.count = map.size;
  }

  private shard(key: number): Map<number, string> {
    return this.shards[key & SHARD_MASK]!;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes these records take in a snapshot. */
  get liveBytes(): number {
    return this.bytes;
  }

  /**
   * One observer (the lease table over these records), or undefined to remove it. It sees changes from now on;
   * it reads what is already here itself. A second observer is refused: the first one's indexes would go stale.
   */
  observe(observer: RecordObserver | undefined): void {
    if (observer && this.observer) throw new Error('these lease records already have an observer');
    this.observer = observer;
  }

  has(address: Ip4): boolean {
    return this.shard(address | 0).has(address | 0);
  }

  get(address: Ip4): Lease | undefined {
    const s = this.shard(address | 0).get(address | 0);
    return s === undefined ? undefined : decodeLeaseString(s);
  }

  /** The record as stored (a Latin-1 lease body), for readers that need a field or two without decoding. */
  raw(address: Ip4): string | undefined {
    return this.shard(address | 0).get(address | 0);
  }

  /** Encodes and stores a lease for its address, in memory only. Throws RangeError (and changes nothing) when the
   * lease does not fit the format. */
  put(lease: Lease): void {
    this.setRaw(lease.address | 0, encodeLeaseString(lease));
  }

  /** Stores an encoded record (from a store file or a write). Re-storing the same bytes changes nothing. */
  setRaw(key: number, record: string): void {
    const shard = this.shard(key);
    const prev = shard.get(key);
    if (prev === record) return;
    if (prev !== undefined) this.bytes -= prev.length + LEASE_RECORD_OVERHEAD;
    else this.count++;
    shard.set(key, record);
    this.bytes += record.length + LEASE_RECORD_OVERHEAD;
    this.observer?.(key, prev, record);
  }

  delete(address: Ip4): void {
    const key = address | 0;
    const shard = this.shard(key);
    const prev = shard.get(key);
    if (prev === undefined) return;
    this.bytes -= prev.length + LEASE_RECORD_OVERHEAD;
    this.count--;
    shard.delete(key);
    this.observer?.(key, prev, undefined);
  }

  /**
   * Makes these records equal to `other`'s, changing only what differs, each change told to the observer (so the
   * lease table's indexes follow). The store uses it to put back what is on disk after a failure: the objects
   * that hold these records keep holding them.
   */
  replaceWith(other: LeaseRecords): void {
    // Deleting the entry the iteration is on is allowed: a Map iterator skips deleted entries.
    for (const [key] of this.entries()) if (!other.has(key)) this.delete(key);
    for (const [key, rec] of other.entries()) this.setRaw(key, rec);
  }

  /** Every lease, decoded one at a time as the iteration reaches it (in no particular order). */
  *values(): IterableIterator<Lease> {
    for (const m of this.shards) for (const s of m.values()) yield decodeLeaseString(s);
  }

  /** Every address (unsigned), without decoding anything. */
  *addresses(): IterableIterator<Ip4> {
    for (const m of this.shards) for (const k of m.keys()) yield k >>> 0;
  }

  /** The raw records with their signed keys: for compaction and for building indexes without decoding. */
  *entries(): IterableIterator<[number, string]> {
    for (const m of this.shards) yield* m.entries();
  }

  *rawValues(): IterableIterator<string> {
    for (const m of this.shards) yield* m.values();
  }
}
