import type { Lease } from '@hadhcp/leases';
import { getClientId } from '../wire/accessors.js';
import { MessageType, type DhcpMessage } from '../wire/types.js';
import type { LeaseGrant, LeasePolicy, ServeVerdict } from './policy.js';
import type { RequestMeta } from './types.js';

/**
 * One failover relationship as the DHCP core sees it (`failover peer "NAME"` of a pool). The failover service
 * implements it; the DHCP core only asks, so this package does not depend on the failover one.
 */
export interface FailoverView {
  /** The relationship, = Pool.failoverPeer. */
  readonly name: string;
  /**
   * 'all' (normal: cooperating, or partner-down), 'own' (communications-interrupted: only addresses we own),
   * 'none' (no client answered).
   */
  scope(): 'all' | 'own' | 'none';
  /** Cooperating (normal with a normal partner): DISCOVERs are load balanced by the RFC 3074 hash. */
  loadBalancing(): boolean;
  /**
   * Does this node serve the client with this load-balancing key (client identifier if sent, else
   * chaddr[0..hlen) without htype)? The view hashes it (RFC 3074) against the HBA in force.
   */
  servesKey(key: Uint8Array): boolean;
  /**
   * `load balance max seconds`: a DISCOVER whose secs field exceeds it is answered whatever its hash (ISC
   * load_balance_mine: `max < secs`). With ISC's default 0 there is no load balancing at all (ISC warns "load
   * balancing will be disabled"): the view's loadBalancing() says false then.
   */
  loadBalanceMaxSeconds(): number;
  /** ISC's lease_mine_to_reallocate: may we make a new binding on this address? (lease undefined = pristine FREE) */
  mayAllocate(lease: Lease | undefined, nowSec: number): boolean;
  /**
   * ISC's ack_lease MCLT rule: lease time to give for `desired`, and the tstp/tsfp the record takes (ackTimes in
   * failover's mclt.ts). An OFFER uses only leaseTime.
   */
  ackTimes(desired: number, lease: Lease | undefined, nowSec: number): LeaseGrant;
}

/**
 * RFC 3074 / ISC load_balance_mine: the key a packet is hashed by. The client identifier (option 61) when sent,
 * else chaddr's first hlen octets (at most 16), without the htype that ISC's stored hardware addresses carry.
 */
export function loadBalanceKey(msg: DhcpMessage): Uint8Array {
  const cid = getClientId(msg);
  if (cid) return cid;
  return msg.chaddr.subarray(0, Math.min(msg.hlen, 16, msg.chaddr.length));
}

/**
 * The LeasePolicy of a server in failover relationships, one FailoverView per relationship (ISC 4.4 rules). The
 * core asks it only about addresses of pools with a `failover peer` (others keep standalone answers):
 * - serves: with `answerAllRelayed` saying so (the supervisor: we hold the relays' VIP), or for a packet sent to
 *   that VIP (RequestMeta.toVip), every relayed client is ours, whatever its hash. Otherwise: scope 'none' (or a
 *   relationship with no view yet) answers nobody (`failover-not-serving`, ISC's "not responding"); a
 *   DHCPDISCOVER while load balancing whose hash is the partner's, and whose secs do not exceed `load balance max
 *   seconds`, is the partner's (`load-balanced-to-peer`). DHCPREQUESTs and the other types are never balanced.
 * - mayAllocate: the view's (lease_mine_to_reallocate) in every serving scope: in 'own' we make new bindings
 *   only on addresses we own, and renew the client's own ACTIVE lease (the core never asks about those); 'all'
 *   differs only by the partner's addresses the view gives us in partner-down.
 * - leaseTime: the view's MCLT rule.
 */
export function failoverPolicy(
  views: ReadonlyMap<string, FailoverView>,
  opts: { answerAllRelayed?: () => boolean } = {},
): LeasePolicy {
  return {
    serves(peer: string, msg: DhcpMessage, type: MessageType | undefined, meta?: RequestMeta): ServeVerdict {
      const v = views.get(peer);
      if (!v || v.scope() === 'none') return 'failover-not-serving';
      if (type !== MessageType.DISCOVER || !v.loadBalancing()) return 'serve';
      // Behind the VIP (the supervisor says we hold it): the relays send every client to us alone, so no client
      // waits for a partner that will never hear it. The same for a packet sent to the VIP that reached us in the
      // instant VRRP moved it away (read from the socket after the step-down): the new holder never saw it.
      if (msg.giaddr !== 0 && (meta?.toVip === true || opts.answerAllRelayed?.() === true)) return 'serve';
      if (msg.secs > v.loadBalanceMaxSeconds()) return 'serve';
      return v.servesKey(loadBalanceKey(msg)) ? 'serve' : 'load-balanced-to-peer';
    },
    mayAllocate(peer: string, lease: Lease | undefined, nowSec: number): boolean {
      // Not the scope: in 'none' serves() refuses the packet, and the DISCOVER counts as that, not as exhausted.
      const v = views.get(peer);
      return v !== undefined && v.mayAllocate(lease, nowSec);
    },
    leaseTime(peer: string, desired: number, lease: Lease | undefined, nowSec: number): LeaseGrant {
      const v = views.get(peer);
      // Not asked for a relationship that serves nobody (serves() said no first); MCLT-safe all the same.
      if (!v) return { leaseTime: 0, tstp: lease?.tstp ?? 0, tsfp: lease?.tsfp ?? 0 };
      return v.ackTimes(desired, lease, nowSec);
    },
  };
}
