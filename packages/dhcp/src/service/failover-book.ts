import { formatIp4, type Ip4 } from '@hadhcp/common';
import type { Lease } from '@hadhcp/leases';
import type { DhcpServerConfig, Range } from '../core/config.js';
import type { DhcpService } from './dhcp-service.js';

/**
 * The DHCP service's leases as one failover relationship sees them. Structurally @hadhcp/failover's `LeaseBook`
 * (packages/failover/src/service/types.ts), declared here so this package does not depend on the failover one.
 */
export interface FailoverLeaseBook {
  /** No lease record at all (a new or lost store): the relationship starts in recover and asks for everything. */
  isEmpty(): boolean;
  /** The record of `ip`, or undefined (an address of the pools with no record is a pristine FREE one). */
  get(ip: Ip4): Lease | undefined;
  /** The binding state of `ip`'s record without decoding it. */
  stateOf(ip: Ip4): Lease['state'] | undefined;
  /** Is `ip` in a range of a pool whose `failover peer` is this relationship, in the configuration in force? */
  inRelationship(ip: Ip4): boolean;
  /** Every address of this relationship's ranges, in address order. */
  addresses(): Iterable<Ip4>;
  /**
   * This relationship's pools, each balanced on its own as ISC balances each `pool { failover peer ...; }`:
   * a label for the log (the pool's ranges) and its addresses in address order.
   */
  pools(): Array<{ label: string; addresses: Ip4[] }>;
  /** The partner's leases: DhcpService.applyLeases (durable when it resolves, never told back to the partner). */
  apply(leases: Lease[]): Promise<void>;
  /**
   * apply in its two steps: DhcpService.applyLeasesNow (in the table at once, durable later). Lazily: the store
   * may hold the sync up to its lazySyncMs, to share it (the caller is a node in recover, which serves no client).
   */
  applyNow(leases: Lease[]): { applied: number; durable: Promise<void>; bad?: unknown };
}

/** The ranges (start, end as u32, sorted, merged when they touch) of `peerName`'s pools. */
function rangesOf(config: DhcpServerConfig, peerName: string): Array<[number, number]> {
  const ranges: Range[] = [];
  const networks = new Set(config.sharedNetworks);
  for (const s of config.subnets) networks.add(s.sharedNetwork);
  for (const sn of networks)
    for (const pool of sn.pools) if (pool.failoverPeer === peerName) ranges.push(...pool.ranges);
  const spans = ranges.map((r): [number, number] => [r.start >>> 0, r.end >>> 0]).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of spans) {
    const last = out.at(-1);
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function poolsOf(config: DhcpServerConfig, peerName: string): Array<{ label: string; addresses: Ip4[] }> {
  const networks = new Set(config.sharedNetworks);
  for (const s of config.subnets) networks.add(s.sharedNetwork);
  const out: Array<{ label: string; addresses: Ip4[] }> = [];
  for (const sn of networks)
    for (const pool of sn.pools) {
      if (pool.failoverPeer !== peerName) continue;
      const spans = pool.ranges
        .map((r): [number, number] => [r.start >>> 0, r.end >>> 0])
        .sort((a, b) => a[0] - b[0]);
      const addresses: Ip4[] = [];
      for (const [a, b] of spans) for (let ip = a; ip <= b; ip++) addresses.push(ip);
      if (addresses.length === 0) continue;
      const label = spans.map(([a, b]) => `${formatIp4(a)} - ${formatIp4(b)}`).join(', ');
      out.push({ label, addresses });
    }
  return out;
}

/**
 * `service`'s lease book for the relationship `peerName`. The ranges follow the service's configuration (a
 * reload may add or move pools): they are worked out again whenever the configuration object changes.
 */
export function failoverLeaseBook(service: DhcpService, peerName: string): FailoverLeaseBook {
  let seen: DhcpServerConfig | undefined;
  let spans: Array<[number, number]> = [];
  const current = (): Array<[number, number]> => {
    const config = service.configuration;
    if (config !== seen) {
      seen = config;
      spans = rangesOf(config, peerName);
    }
    return spans;
  };
  return {
    isEmpty: () => service.table.size === 0,
    get: (ip) => service.table.get(ip >>> 0),
    stateOf: (ip) => service.table.stateOf(ip >>> 0),
    inRelationship(ip) {
      ip = ip >>> 0;
      const s = current();
      let lo = 0;
      let hi = s.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const [a, b] = s[mid]!;
        if (ip < a) hi = mid - 1;
        else if (ip > b) lo = mid + 1;
        else return true;
      }
      return false;
    },
    *addresses() {
      for (const [a, b] of current()) for (let ip = a; ip <= b; ip++) yield ip;
    },
    pools: () => poolsOf(service.configuration, peerName),
    apply: (leases) => service.applyLeases(leases),
    applyNow: (leases) => service.applyLeasesNow(leases, { lazy: true }),
  };
}
