import { BindingState, type Lease } from '@hadhcp/leases';
import type { DhcpMessage, MessageType } from '../wire/types.js';
import type { RequestMeta } from './types.js';

/** What a failover relationship says about answering a packet (the drop reason when it is not ours to answer). */
export type ServeVerdict = 'serve' | 'load-balanced-to-peer' | 'failover-not-serving';

/** A lease time granted, and the failover times (tstp, tsfp) the bound record takes with it. */
export interface LeaseGrant {
  leaseTime: number;
  tstp: number;
  tsfp: number;
}

/**
 * What the core asks before it answers, allocates or grants: the questions whose answers differ between a
 * standalone server and one of a failover pair. Pure and synchronous; `nowSec` comes from the core's caller.
 *
 * The core asks only about addresses of pools with a `failover peer` (`peer` is its name, the relationship):
 * an address of any other pool, a fixed address, an INFORM are answered as a standalone server answers them.
 * It asks once it knows the address the answer is about (ISC decides after it has picked the lease), so a
 * shared network whose pools belong to different relationships is answered by each relationship's rules.
 *
 * - serves: may we answer this packet about an address of `peer`'s pools? (DISCOVER: the RFC 3074 load-balancing
 *   hash in a cooperating state; any type: not at all in states that serve nobody.) Not `serve`: dropped, counted
 *   under the verdict (`drop.load-balanced-to-peer`, `drop.failover-not-serving`), no offer held. `meta` (the
 *   DISCOVER's): a relayed packet sent to the relays' VIP is the VIP holder's to answer (RequestMeta.toVip).
 * - mayAllocate: may a new binding be made on this address (`lease` undefined: never used, a pristine FREE)?
 *   (ISC's lease_mine_to_reallocate: FREE addresses are the primary's, BACKUP ones the secondary's, the partner's
 *   only in partner-down after MCLT.) Not asked for the client's own ACTIVE lease, nor for reservations. No: the
 *   address is passed over when choosing one, and a REQUEST for it is left to the partner (silence, as ISC).
 * - leaseTime: how long a lease may be, given what the configuration grants (`desired`), and the tstp/tsfp the
 *   record takes (ISC's MCLT rule). OFFERs use only `leaseTime`; ACKs store all three. BOOTP bindings are infinite
 *   and not asked.
 */
export interface LeasePolicy {
  serves(peer: string, msg: DhcpMessage, type: MessageType | undefined, meta?: RequestMeta): ServeVerdict;
  mayAllocate(peer: string, lease: Lease | undefined, nowSec: number): boolean;
  /** `desired`: seconds (INFINITE: 0xffffffff) the configuration grants. */
  leaseTime(peer: string, desired: number, lease: Lease | undefined, nowSec: number): LeaseGrant;
}

/**
 * A server alone (or one whose failover service is not there yet): every client is ours, every free address too
 * but the secondary's BACKUP ones, the configuration's lease time stands and the record keeps its failover times.
 */
export const standalonePolicy: LeasePolicy = {
  serves: () => 'serve',
  mayAllocate: (_peer, lease) => lease?.state !== BindingState.BACKUP,
  leaseTime: (_peer, desired, lease) => ({
    leaseTime: desired,
    tstp: lease?.tstp ?? 0,
    tsfp: lease?.tsfp ?? 0,
  }),
};
