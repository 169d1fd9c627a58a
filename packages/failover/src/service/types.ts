import type { Ip4 } from '@hadhcp/common';
import type { Lease } from '@hadhcp/leases';
import type { RejectReason } from '../wire/constants.js';
import type { Role, ServeScope } from '../core/machine-types.js';

/** pino's call shape (message only), so a pino logger or a console shim can be passed in. */
export interface FailoverLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug?(msg: string): void;
}

/**
 * One `failover peer "NAME" { ... }` block, as far as the link and the state machine need it. The same field names
 * as @hadhcp/dhcp's FailoverPeerConfig (which the configuration parser fills with ISC's defaults), so the daemon
 * passes that object as it is.
 */
export interface FailoverPeerSettings {
  name: string;
  role: Role;
  /** Our `address`: where we listen, and the source of our connections (the peer accepts only that address). */
  address?: Ip4;
  port: number;
  peerAddress?: Ip4;
  peerPort: number;
  /** Seconds of silence after which we drop the link; sent as receive-timer, so the peer's CONTACTs come at a third. */
  maxResponseDelay: number;
  /** Sent as max-unacked-bndupd: ISC never sends a BNDUPD to a partner that did not say how many it may. */
  maxUnackedUpdates: number;
  /** Seconds; the primary's (a secondary takes the one in the primary's CONNECT). */
  mclt?: number;
  /** 32 bytes (`split`/`hba`); the primary's, sent in CONNECT. A secondary takes the primary's. */
  hba?: Uint8Array;
  /** ISC's `auto-partner-down` seconds (0: never). */
  autoPartnerDown: number;
  /** ISC's `load balance max seconds` (0, ISC's default: off). */
  loadBalanceMaxSeconds?: number;
  /** Pool balancing (ISC's defaults 15 %, 10 %, 60 s, 3600 s). */
  maxLeaseMisbalance?: number;
  maxLeaseOwnership?: number;
  minBalance?: number;
  maxBalance?: number;
  /**
   * ISC's lazy behaviour: a DHCPACK leaves once the lease is on our disk, without waiting for the partner's
   * BNDACK (hadhcp's default waits for both while the partner is reachable). dhcpd.conf: `failover-lazy-updates`.
   */
  lazyUpdates?: boolean;
}

/**
 * What the DHCP core asks one relationship before it answers (the shape of @hadhcp/dhcp's FailoverView; this
 * package does not import the DHCP server).
 */
export interface FailoverView {
  readonly name: string;
  scope(): ServeScope;
  loadBalancing(): boolean;
  servesKey(key: Uint8Array): boolean;
  loadBalanceMaxSeconds(): number;
  mayAllocate(lease: Lease | undefined, nowSec: number): boolean;
  ackTimes(
    desired: number,
    lease: Lease | undefined,
    nowSec: number,
  ): { leaseTime: number; tstp: number; tsfp: number };
}

/** What the partner's binding update became: recorded (BNDACK), or refused with a reason (BNDACK with reject). */
export type LeaseVerdict = { accept: true } | { accept: false; reason: RejectReason; message: string };

/** Timers for the service: the real ones (nodeScheduler) or a test's, which fires them as its clock moves. */
export type { Scheduler } from '@hadhcp/common';

export interface StateChange {
  relationship: string;
  from: string;
  to: string;
  /** Milliseconds since the epoch. */
  at: number;
}

export interface ServeChange {
  relationship: string;
  scope: ServeScope;
  was: ServeScope;
  /** ISC's not-responding reason ('' when serving). */
  reason: string;
}

export interface LinkChange {
  relationship: string;
  up: boolean;
  /** `address:port` of the peer's end. */
  remote: string;
  direction: 'in' | 'out';
  /** Why it went down: 'timeout', 'closed', 'disconnect', 'malformed', ... */
  why?: string;
}

export interface FailoverPeerStatus {
  name: string;
  role: Role;
  /** ISC's names (`normal`, `communications-interrupted`, `recover-wait`...). */
  state: string;
  /** ISO 8601: when we entered `state` (STOS). */
  since: string;
  partnerState: string;
  partnerSince: string;
  /** Seconds: configured on a primary, from the primary's CONNECT on a secondary. */
  mclt: number;
  serve: ServeScope;
  /** CONNECT/CONNECTACK exchanged and the link up. */
  connected: boolean;
  link: { local: string; remote: string; direction: 'in' | 'out'; since: string } | undefined;
  /** ISO 8601: the last message from the partner (any type; CONTACT when nothing else). */
  lastContact: string | undefined;
  /** What the partner said in its CONNECT/CONNECTACK. */
  partner: {
    maxUnacked: number | undefined;
    receiveTimer: number | undefined;
    vendorClass: string | undefined;
  };
  /** Hash buckets the primary serves (of 256), from the HBA in force. */
  primaryBuckets: number | undefined;
  /** BNDUPDs waiting to be sent, sent and not acknowledged, the partner's UPDREQ(ALL)s not yet done. */
  updates: { queued: number; unacked: number; requestsOpen: number; lazy: boolean };
  /** The relationship's addresses now, all pools together (absent without a pool). */
  pool: { total: number; free: number; backup: number } | undefined;
  /** Each pool of the relationship now (its ranges, and its free and backup counts). */
  pools: Array<{ label: string; total: number; free: number; backup: number }>;
  /** Partner-down: when the partner's expired leases become ours (ISO 8601). */
  reclaimAt: string | undefined;
  /** Messages in and out by type, refusals and drops by reason, the transport's own counters. */
  counters: Record<string, number>;
}

/**
 * The DHCP server's leases as one failover relationship sees them. The daemon adapts the DHCP service to it
 * (@hadhcp/dhcp's FailoverLeaseBook); tests use an in-memory one. Only addresses of pools that name this
 * relationship (`failover peer "NAME";`) are exchanged.
 */
export interface LeaseBook {
  /** No lease record at all (a new or lost store): the relationship starts in recover and asks for everything. */
  isEmpty(): boolean;
  /** The record of `ip`, or undefined: an address of the pools with no record is FREE (ISC writes one per address). */
  get(ip: Ip4): Lease | undefined;
  /** The binding state of `ip`'s record without decoding it (status counts); optional. */
  stateOf?(ip: Ip4): Lease['state'] | undefined;
  /** Is `ip` in a pool of this relationship? A BNDUPD for any other address is refused (reject 1, ISC's "unknown IP"). */
  inRelationship(ip: Ip4): boolean;
  /** Every address of this relationship's pools, in address order (UPDREQALL, entering normal). */
  addresses(): Iterable<Ip4>;
  /**
   * The relationship's pools, each balanced on its own (ISC balances each `pool { failover peer ...; }`): a
   * label for the log lines and the pool's addresses in address order.
   */
  pools(): Array<{ label: string; addresses: Ip4[] }>;
  /**
   * Stores `leases` as they are (the partner's bindings, BACKUP moves, acknowledged times): into the DHCP
   * service's table and the store, durable when it resolves; rejects when the store refused. Never sent back to
   * the partner (the DHCP service's LeaseSync is not called for these).
   */
  apply(leases: Lease[]): Promise<void>;
  /**
   * apply in its two steps, optional: the first `applied` records (in order) are read back by get() when this
   * returns, and durable once `durable` resolves (it rejects when the store refused them). Fewer than given:
   * one could not be stored (`bad` says why) and stopped the batch; `durable` is about the applied ones only.
   * A node in recover acknowledges the partner's updates after the first step (binding-sync.ts); without it,
   * each BNDACK waits for apply(). Nothing waits on `durable` but the next step of the machine, so it may come
   * late (the DHCP book lets the store share one sync among up to lazySyncMs of them).
   */
  applyNow?(leases: Lease[]): { applied: number; durable: Promise<void>; bad?: unknown };
}
