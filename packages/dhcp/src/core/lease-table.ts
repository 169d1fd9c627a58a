import type { Ip4 } from '@hadhcp/common';
import {
  BINDING_STATE_NAMES,
  BindingState,
  LeaseRecords,
  leaseStringBilled,
  leaseStringEnds,
  leaseStringIds,
  leaseStringState,
  type Lease,
} from '@hadhcp/leases';
import { IdIndex } from './id-index.js';

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!]!;
  return s;
}

/** Key for an option 61 client identifier (offer holds, host lookups: a few entries, not one per lease). */
export function clientIdKey(id: Uint8Array): string {
  return 'c' + hex(id);
}

/** Key for a hardware address with its type (RFC 2131 htype), so 1/aa:bb and 6/aa:bb stay apart. */
export function hwKey(htype: number, addr: Uint8Array): string {
  return 'h' + HEX[htype & 255]! + hex(addr);
}

/**
 * Called after every change of a record with the fields the pool and expiry indexes need, and the state the record
 * had before (undefined: a new record, or the table's first walk over its records).
 */
export type LeaseListener = (address: Ip4, state: BindingState, ends: number, prev?: BindingState) => void;

// FNV-1a, 32 bits. Collisions are expected (~100 among a million keys) and harmless: every candidate's record is
// compared byte for byte before it is returned.
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The index hash of an identifier (seed: htype for a hardware address). Exported for tests only. */
export function identifierHash(seed: number, b: Uint8Array): number {
  let h = Math.imul(FNV_OFFSET ^ seed, FNV_PRIME);
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, FNV_PRIME);
  return h | 0;
}

function hashChars(seed: number, s: string, start: number, end: number): number {
  let h = Math.imul(FNV_OFFSET ^ seed, FNV_PRIME);
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h | 0;
}

function sameBytes(s: string, start: number, end: number, b: Uint8Array): boolean {
  if (start < 0 || end - start !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (s.charCodeAt(start + i) !== b[i]) return false;
  return true;
}

/** Client ids hash with seed 256, hardware addresses with their htype (0-255): the two never share a seed. */
const CID_SEED = 256;

const STATE_COUNT = BindingState.BACKUP + 1;

/**
 * The DHCP core's view of the leases: by address, by client identifier (option 61) and by hardware address, plus
 * how many records are in each binding state.
 *
 * It keeps no lease records of its own. The records are a `LeaseRecords` (from @hadhcp/leases): in the daemon the
 * lease store's live state itself, so a million leases are held once, as compact encoded strings; in tests a fresh
 * one. `get` decodes one record per call. The table observes the records, so its indexes follow every change
 * whoever makes it (the core through `put`, or a write straight to the store). The secondary indexes
 * (`IdIndex`) map a 32-bit hash of the identifier to addresses in typed arrays, ~12 bytes per lease each, no
 * strings; a lookup compares each candidate's bytes, so hash collisions cost a comparison, never a wrong answer.
 *
 * The table only indexes; it never decides. The server core owns the policy and persists nothing itself.
 */
export class LeaseTable {
  private readonly byCid: IdIndex;
  private readonly byHw: IdIndex;
  private readonly counts = new Array<number>(STATE_COUNT).fill(0);
  private readonly spans = new Int32Array(4);
  private listener: LeaseListener | undefined;

  /** A table over these records (default: new, empty ones), indexing what they already hold. */
  constructor(readonly records: LeaseRecords = new LeaseRecords()) {
    this.byCid = new IdIndex(records.size);
    this.byHw = new IdIndex(records.size);
    for (const [key, rec] of records.entries()) this.index(key, rec);
    records.observe((key, prev, next) => this.onChange(key, prev, next));
  }

  /** Builds a table over new records; when an address appears twice the later record wins (dhcpd.leases semantics). */
  static from(leases: Iterable<Lease>): LeaseTable {
    const t = new LeaseTable();
    t.load(leases);
    return t;
  }

  load(leases: Iterable<Lease>): void {
    for (const l of leases) this.put(l);
  }

  get size(): number {
    return this.records.size;
  }

  /** One listener (the server core's pool and expiry indexes); set again to replace it. */
  setListener(listener: LeaseListener | undefined): void {
    this.listener = listener;
  }

  /**
   * Stores the record for its address, replacing any earlier one. Throws RangeError, changing nothing, for a lease
   * the store's format cannot hold (a client id over 255 bytes, a hardware address over 16).
   */
  put(lease: Lease): void {
    this.records.put(lease);
  }

  get(ip: Ip4): Lease | undefined {
    return this.records.get(ip);
  }

  has(ip: Ip4): boolean {
    return this.records.has(ip);
  }

  /** The binding state of the record for ip, without decoding it. */
  stateOf(ip: Ip4): BindingState | undefined {
    const r = this.records.raw(ip);
    return r === undefined ? undefined : leaseStringState(r);
  }

  /** `ends` of the record for ip, without decoding it. */
  endsOf(ip: Ip4): number | undefined {
    const r = this.records.raw(ip);
    return r === undefined ? undefined : leaseStringEnds(r);
  }

  /** Every lease whose record carries this option 61 value. */
  byClientId(id: Uint8Array): Lease[] {
    return this.collect(this.byCid.get(identifierHash(CID_SEED, id)), 0, 1, id, -1);
  }

  /** Every lease whose record carries this hardware address. */
  byHardware(htype: number, addr: Uint8Array): Lease[] {
    return this.collect(this.byHw.get(identifierHash(htype & 255, addr)), 2, 3, addr, htype & 255);
  }

  /** How many records are in each binding state, by ISC's name ('active', 'free', ...); states with none left out. */
  stateCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let s = BindingState.FREE; s <= BindingState.BACKUP; s++)
      if (this.counts[s]! > 0) out[BINDING_STATE_NAMES[s as BindingState]] = this.counts[s]!;
    return out;
  }

  /** Calls fn with the indexed fields of every record, decoding none (for building the core's indexes). */
  forEachBrief(fn: LeaseListener): void {
    for (const [key, rec] of this.records.entries())
      fn(key >>> 0, leaseStringState(rec), leaseStringEnds(rec));
  }

  /** Every lease whose record carries a lease-limit billing, decoding only those (in no particular order). */
  *billed(): IterableIterator<Lease> {
    for (const [key, rec] of this.records.entries())
      if (leaseStringBilled(rec)) yield this.records.get(key >>> 0)!;
  }

  /** Every lease, decoded one at a time (in no particular order). */
  values(): IterableIterator<Lease> {
    return this.records.values();
  }

  [Symbol.iterator](): IterableIterator<Lease> {
    return this.records.values();
  }

  /** Every address with a record, decoding nothing (in no particular order). */
  addresses(): IterableIterator<Ip4> {
    return this.records.addresses();
  }

  private onChange(key: number, prev: string | undefined, next: string | undefined): void {
    if (prev !== undefined) this.unindex(key, prev);
    if (next === undefined) return;
    this.index(key, next);
    const was = prev === undefined ? undefined : leaseStringState(prev);
    this.listener?.(key >>> 0, leaseStringState(next), leaseStringEnds(next), was);
  }

  private index(key: number, rec: string): void {
    const sp = this.spans;
    leaseStringIds(rec, sp);
    if (sp[0]! >= 0) this.byCid.add(hashChars(CID_SEED, rec, sp[0]!, sp[1]!), key);
    if (sp[2]! >= 0) this.byHw.add(hashChars(rec.charCodeAt(29), rec, sp[2]!, sp[3]!), key);
    this.counts[leaseStringState(rec)]!++;
  }

  private unindex(key: number, rec: string): void {
    const sp = this.spans;
    leaseStringIds(rec, sp);
    if (sp[0]! >= 0) this.byCid.remove(hashChars(CID_SEED, rec, sp[0]!, sp[1]!), key);
    if (sp[2]! >= 0) this.byHw.remove(hashChars(rec.charCodeAt(29), rec, sp[2]!, sp[3]!), key);
    this.counts[leaseStringState(rec)]!--;
  }

  /** The leases among the candidates whose identifier (spans [from, to] of the record) really is `id`. */
  private collect(keys: number[], from: 0 | 2, to: 1 | 3, id: Uint8Array, htype: number): Lease[] {
    const out: Lease[] = [];
    const sp = this.spans;
    for (const key of keys) {
      const rec = this.records.raw(key);
      if (rec === undefined) continue;
      leaseStringIds(rec, sp);
      if (!sameBytes(rec, sp[from]!, sp[to]!, id)) continue;
      if (htype >= 0 && rec.charCodeAt(29) !== htype) continue;
      out.push(this.records.get(key)!);
    }
    return out;
  }
}
