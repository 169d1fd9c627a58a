import type { Ip4 } from '@hadhcp/common';
import type { Lease } from '@hadhcp/leases';

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!]!;
  return s;
}

/** Index key for an option 61 client identifier. */
export function clientIdKey(id: Uint8Array): string {
  return 'c' + hex(id);
}

/** Index key for a hardware address with its type (RFC 2131 htype), so 1/aa:bb and 6/aa:bb stay apart. */
export function hwKey(htype: number, addr: Uint8Array): string {
  return 'h' + HEX[htype & 255]! + hex(addr);
}

/** Called after every put with the new record and the one it replaced. */
export type LeaseListener = (lease: Lease, prev: Lease | undefined) => void;

/**
 * In-memory index of leases by address, by client identifier and by hardware address.
 *
 * Sized for a million leases: the secondary indexes map a string key to one address number (an array only when a
 * client holds leases on several networks), so each lease adds two map entries and no closures.
 * The table only indexes; it never decides. The server core owns the policy and persists nothing itself.
 */
export class LeaseTable {
  private readonly byAddr = new Map<Ip4, Lease>();
  private readonly byCid = new Map<string, Ip4 | Ip4[]>();
  private readonly byHw = new Map<string, Ip4 | Ip4[]>();
  private listener: LeaseListener | undefined;

  /** Builds a table; when an address appears twice the later record wins (dhcpd.leases semantics). */
  static from(leases: Iterable<Lease>): LeaseTable {
    const t = new LeaseTable();
    t.load(leases);
    return t;
  }

  load(leases: Iterable<Lease>): void {
    for (const l of leases) this.put(l);
  }

  get size(): number {
    return this.byAddr.size;
  }

  /** One listener (the server core's pool and expiry indexes); set again to replace it. */
  setListener(listener: LeaseListener | undefined): void {
    this.listener = listener;
  }

  /** Stores the record for its address, replacing any earlier one; returns the replaced record. */
  put(lease: Lease): Lease | undefined {
    const ip = lease.address >>> 0;
    const prev = this.byAddr.get(ip);
    if (prev) {
      if (prev.clientId) removeKey(this.byCid, clientIdKey(prev.clientId), ip);
      if (prev.hwAddr) removeKey(this.byHw, hwKey(prev.hwType, prev.hwAddr), ip);
    }
    this.byAddr.set(ip, lease);
    if (lease.clientId) addKey(this.byCid, clientIdKey(lease.clientId), ip);
    if (lease.hwAddr) addKey(this.byHw, hwKey(lease.hwType, lease.hwAddr), ip);
    this.listener?.(lease, prev);
    return prev;
  }

  get(ip: Ip4): Lease | undefined {
    return this.byAddr.get(ip >>> 0);
  }

  has(ip: Ip4): boolean {
    return this.byAddr.has(ip >>> 0);
  }

  /** Every lease whose record carries this option 61 value. */
  byClientId(id: Uint8Array): Lease[] {
    return this.collect(this.byCid.get(clientIdKey(id)));
  }

  /** Every lease whose record carries this hardware address. */
  byHardware(htype: number, addr: Uint8Array): Lease[] {
    return this.collect(this.byHw.get(hwKey(htype, addr)));
  }

  values(): IterableIterator<Lease> {
    return this.byAddr.values();
  }

  [Symbol.iterator](): IterableIterator<Lease> {
    return this.byAddr.values();
  }

  private collect(v: Ip4 | Ip4[] | undefined): Lease[] {
    if (v === undefined) return [];
    const ips = typeof v === 'number' ? [v] : v;
    const out: Lease[] = [];
    for (const ip of ips) {
      const l = this.byAddr.get(ip);
      if (l) out.push(l);
    }
    return out;
  }
}

function addKey(map: Map<string, Ip4 | Ip4[]>, key: string, ip: Ip4): void {
  const cur = map.get(key);
  if (cur === undefined) map.set(key, ip);
  else if (typeof cur === 'number') {
    if (cur !== ip) map.set(key, [cur, ip]);
  } else if (!cur.includes(ip)) cur.push(ip);
}

function removeKey(map: Map<string, Ip4 | Ip4[]>, key: string, ip: Ip4): void {
  const cur = map.get(key);
  if (cur === undefined) return;
  if (typeof cur === 'number') {
    if (cur === ip) map.delete(key);
    return;
  }
  const rest = cur.filter((x) => x !== ip);
  if (rest.length === 0) map.delete(key);
  else map.set(key, rest.length === 1 ? rest[0]! : rest);
}
