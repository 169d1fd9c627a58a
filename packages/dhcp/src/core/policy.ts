import type { Ip4 } from '@hadhcp/common';
import type { BindingState } from '@hadhcp/leases';
import type { DhcpMessage, MessageType } from '../wire/types.js';
import type { RequestMeta } from './types.js';

/**
 * What the core asks before it answers, allocates or grants: the questions whose answers differ between a
 * standalone server and one of a failover pair. Pure and synchronous; `now` comes from the core's caller.
 *
 * - mayServe: is this client ours to answer? (failover: the RFC 3074 load-balancing hash, or the partner down.)
 *   Asked once per packet, after it is counted as received; no: dropped as `load-balanced-to-peer`.
 * - mayAllocate: may a new binding be made on this address? (failover: FREE addresses are the primary's to hand
 *   out, BACKUP ones the secondary's.) Not asked for the client's own ACTIVE lease, nor for reservations.
 *   No: the address is passed over when choosing one, and a REQUEST for it is treated as for a taken address.
 * - leaseTime: how long a lease may be, given what the configuration grants (failover: MCLT beyond what the
 *   partner has acknowledged). Asked for OFFERs and ACKs; BOOTP bindings are infinite and not asked.
 */
export interface LeasePolicy {
  mayServe(msg: DhcpMessage, type: MessageType | undefined, meta: RequestMeta): boolean;
  mayAllocate(ip: Ip4, state: BindingState | undefined, nowMs: number): boolean;
  /** Seconds (INFINITE: 0xffffffff) the configuration grants -> the seconds to give. */
  leaseTime(granted: number, ip: Ip4, nowMs: number): number;
}

/** A server alone: every client is ours, every free address too, and the configuration's lease time stands. */
export const standalonePolicy: LeasePolicy = {
  mayServe: () => true,
  mayAllocate: () => true,
  leaseTime: (granted) => granted,
};
