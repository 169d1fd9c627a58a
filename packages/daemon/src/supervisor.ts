import type { Ip4 } from '@hadhcp/common';

/**
 * The supervisor's decisions, pure: who answers DHCP and what VRRP should know about DHCP's health.
 * (The failover protocol will add the peer's state here; these are the decisions without it.)
 */

export interface DhcpRole {
  serving: boolean;
  reason: string;
  /** The server identifier to use: the first VIP held, so clients' renewals follow the VIP, not this router. */
  serverId?: Ip4;
}

/**
 * The relays' helper address is the VIP: the node holding it answers, with the VIP as server identifier; the other
 * stays silent, so two servers with separate lease databases never answer the same client.
 */
export function dhcpRole(vipsHeld: readonly Ip4[], electionDone: boolean): DhcpRole {
  if (vipsHeld.length > 0)
    return { serving: true, reason: 'VRRP master: holding the VIP', serverId: vipsHeld[0] };
  return {
    serving: false,
    reason: electionDone ? 'VRRP backup: the VIP holder answers' : 'waiting for the VRRP election',
  };
}

/** Weight on every VRRP instance while DHCP is unhealthy: keepalived's largest, enough to lose any election. */
export const UNHEALTHY_WEIGHT = -253;

/** A DHCP service that cannot store leases must not hold the VIP: the peer, which can, should win. */
export function vrrpWeightFor(dhcpHealthy: boolean): number {
  return dhcpHealthy ? 0 : UNHEALTHY_WEIGHT;
}
