import type { Ip4 } from '@hadhcp/common';
import { BindingState, type Lease, type LeaseBilling } from '@hadhcp/leases';

/** The client a binding is made for (RFC 2131 4.2: option 61 when sent, else htype + chaddr). */
export interface Holder {
  htype: number;
  hw: Uint8Array;
  cid?: Uint8Array;
  /** Option 12 as sent in this packet (ISC's client-hostname). */
  hostname?: string;
}

/**
 * Every change of an address's binding state the DHCP core makes, named by what causes it. The handlers decide
 * whether a change may happen (ownership, pools, time); this module says what the record becomes.
 */
export type BindingEvent =
  /** DHCPACK, or a BOOTREPLY from a dynamic range (`ends` = INFINITE): the address is bound to `holder`. */
  | {
      on: 'bind';
      holder: Holder;
      ends: number;
      /** The previous record was the holder's: its host name is kept when this packet sends none. */
      sameHolder: boolean;
      /** Failover (LeasePolicy.leaseTime, ISC's MCLT rule): the record's new tstp and tsfp; else prev's are kept. */
      times?: { tstp: number; tsfp: number };
      /** The class a `lease limit` bills the lease to (classes.ts), stored so a restart bills it again. */
      billing?: LeaseBilling;
    }
  /** RFC 2131 4.3.4 DHCPRELEASE: the binding ends now; the association is kept (the client gets it back first). */
  | { on: 'release' }
  /** DHCPDECLINE, or a ping answered before an offer: unusable for `seconds`, with no client association. */
  | { on: 'abandon'; seconds: number }
  /** The `ends` of an ACTIVE or ABANDONED lease has come (the core's tick). */
  | { on: 'expire' }
  /** lease4-del: back to the pool with no client (the failover model keeps the address, as FREE). */
  | { on: 'free' };

export type BindingEventName = BindingEvent['on'];

/**
 * The record `prev` becomes on `e` at `nowSec`, or undefined when the event does not apply to its state:
 *
 *   from \ on   bind    release   abandon    expire                          free
 *   (none)      ACTIVE  -         ABANDONED  -                               -
 *   ACTIVE      ACTIVE  RELEASED  ABANDONED  FREE (EXPIRED with a peer)      FREE
 *   ABANDONED   ACTIVE  -         ABANDONED  FREE, association cleared       FREE
 *   other       ACTIVE  -         ABANDONED  -                               FREE
 *
 * A lease-limit billing lives only on an ACTIVE record (ISC unbills on release and expiry): a bind sets the one
 * it is given, every other event leaves the record without one.
 *
 * New records (bind, abandon) take the failover times of the one they replace (a bind in a failover pool: the
 * tstp/tsfp its lease time was granted with) and the pool's failover peer.
 */
export function nextBinding(
  prev: Lease | undefined,
  ip: Ip4,
  e: BindingEvent,
  nowSec: number,
  failoverPeer: string | undefined,
): Lease | undefined {
  switch (e.on) {
    case 'bind':
      return bound(prev, ip, e, nowSec, failoverPeer);
    case 'abandon':
      return abandoned(prev, ip, nowSec, e.seconds, failoverPeer);
    case 'release':
      if (prev?.state !== BindingState.ACTIVE) return undefined;
      return unbilled({ ...prev, state: BindingState.RELEASED, ends: nowSec, cltt: nowSec });
    case 'expire':
      return prev && expired(prev);
    case 'free':
      return prev && freed(prev, nowSec);
  }
}

function bound(
  prev: Lease | undefined,
  ip: Ip4,
  e: Extract<BindingEvent, { on: 'bind' }>,
  nowSec: number,
  failoverPeer: string | undefined,
): Lease {
  const { holder: c, sameHolder, ends } = e;
  const l: Lease = {
    address: ip >>> 0,
    state: BindingState.ACTIVE,
    starts: nowSec,
    ends,
    tstp: e.times?.tstp ?? prev?.tstp ?? 0,
    tsfp: e.times?.tsfp ?? prev?.tsfp ?? 0,
    atsfp: prev?.atsfp ?? 0,
    cltt: nowSec,
    hwType: c.htype,
    hwAddr: c.hw.slice(),
  };
  if (c.cid) l.clientId = c.cid.slice();
  const name = c.hostname ?? (sameHolder ? prev?.hostname : undefined);
  if (name !== undefined) l.hostname = name;
  if (failoverPeer !== undefined) l.failoverPeer = failoverPeer;
  if (e.billing) l.billing = e.billing;
  return l;
}

/** The record without its lease-limit billing (it left ACTIVE). */
function unbilled(l: Lease): Lease {
  if (l.billing) delete l.billing;
  return l;
}

/** No client association (ISC clears it), unusable until `ends`. */
function abandoned(
  prev: Lease | undefined,
  ip: Ip4,
  nowSec: number,
  seconds: number,
  failoverPeer: string | undefined,
): Lease {
  const l: Lease = {
    address: ip >>> 0,
    state: BindingState.ABANDONED,
    starts: nowSec,
    ends: nowSec + seconds,
    tstp: prev?.tstp ?? 0,
    tsfp: prev?.tsfp ?? 0,
    atsfp: prev?.atsfp ?? 0,
    cltt: nowSec,
    hwType: prev?.hwType ?? 1,
  };
  if (failoverPeer !== undefined) l.failoverPeer = failoverPeer;
  return l;
}

/**
 * ACTIVE at `ends` becomes FREE keeping the client association, so the client gets the address back if nobody
 * took it (EXPIRED in a failover pool: the peer protocol moves it on). ABANDONED becomes FREE with no association.
 */
function expired(l: Lease): Lease | undefined {
  if (l.state === BindingState.ACTIVE)
    return unbilled({ ...l, state: l.failoverPeer !== undefined ? BindingState.EXPIRED : BindingState.FREE });
  if (l.state !== BindingState.ABANDONED) return undefined;
  const next = unbilled({ ...l, state: BindingState.FREE });
  delete next.clientId;
  delete next.hwAddr;
  delete next.hostname;
  return next;
}

/** Kea removes the lease; the failover binding model keeps the address with state FREE and its failover times. */
function freed(l: Lease, nowSec: number): Lease {
  return {
    address: l.address,
    state: BindingState.FREE,
    starts: nowSec,
    ends: 0,
    tstp: l.tstp,
    tsfp: l.tsfp,
    atsfp: l.atsfp,
    cltt: l.cltt,
    hwType: l.hwType,
    failoverPeer: l.failoverPeer,
  };
}
