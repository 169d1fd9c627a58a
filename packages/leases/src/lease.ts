import type { Ip4 } from '@hadhcp/common';

/**
 * Binding states in draft-ietf-dhc-failover-12 terms (and ISC's dhcpd.leases words). The numbers are the
 * failover protocol's binding-status codes, so the failover package sends them as they are.
 */
export enum BindingState {
  FREE = 1,
  ACTIVE = 2,
  EXPIRED = 3,
  RELEASED = 4,
  ABANDONED = 5,
  RESET = 6,
  BACKUP = 7,
}

export const BINDING_STATE_NAMES: Record<BindingState, string> = {
  [BindingState.FREE]: 'free',
  [BindingState.ACTIVE]: 'active',
  [BindingState.EXPIRED]: 'expired',
  [BindingState.RELEASED]: 'released',
  [BindingState.ABANDONED]: 'abandoned',
  [BindingState.RESET]: 'reset',
  [BindingState.BACKUP]: 'backup',
};

/** 0xffffffff seconds: an infinite lease (dhcpd.conf's -1), as ISC's MAX_TIME and the lease-time option say. */
export const INFINITE = 0xffffffff;

/**
 * One address's binding. Times are whole seconds since the Unix epoch (u32, as in the failover protocol and
 * dhcpd.leases); 0 means "not set".
 */
export interface Lease {
  address: Ip4;
  state: BindingState;
  /** When the binding began (failover STOS for the lease). */
  starts: number;
  /** When the binding ends; INFINITE for an infinite lease. */
  ends: number;
  /** Time sent to partner: the expiry we told the partner (potential-expiration). */
  tstp: number;
  /** Time sent from partner: what the partner acknowledged. */
  tsfp: number;
  /** Acknowledged time sent from partner. */
  atsfp: number;
  /** Client last transaction time. */
  cltt: number;
  /** Option 61 value, when the client sent one. */
  clientId?: Uint8Array;
  /** Hardware type (1 = Ethernet) and address, without padding. */
  hwType: number;
  hwAddr?: Uint8Array;
  /** Option 12 the client sent (ISC's client-hostname). */
  hostname?: string;
  /** The failover peer name of the pool this address belongs to, if any. */
  failoverPeer?: string;
  /**
   * The class an ACTIVE lease is billed to under dhcpd.conf `lease limit` (ISC's dhcpd.leases `billing class` /
   * `billing subclass`), so a restart bills it again. Absent when no limited class holds it. The failover
   * protocol does not carry it (ISC's BNDUPD does not either).
   */
  billing?: LeaseBilling;
}

/** ISC's lease billing: a class by name, or a subclass by its class's name and its match value (the hash). */
export interface LeaseBilling {
  className: string;
  /** The subclass's match value (`billing subclass "NAME" DATA`); absent for `billing class "NAME"`. */
  subclass?: Uint8Array;
}

/** A binding with nothing known yet: `state` (FREE unless said), every time 0, Ethernet, no client. */
export function blankLease(address: number, state: BindingState = BindingState.FREE): Lease {
  return { address, state, starts: 0, ends: 0, tstp: 0, tsfp: 0, atsfp: 0, cltt: 0, hwType: 1 };
}

export function isExpired(l: Lease, nowSec: number): boolean {
  return l.state === BindingState.ACTIVE && l.ends !== INFINITE && l.ends <= nowSec;
}
