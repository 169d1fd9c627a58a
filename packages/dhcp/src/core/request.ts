import { formatIp4, type Ip4 } from '@hadhcp/common';
import { BindingState, INFINITE, type Lease, type LeaseBilling } from '@hadhcp/leases';
import {
  getLeaseTime,
  getMaxMessageSize,
  getRequestedIp,
  getServerId,
  getSubnetSelection,
} from '../wire/accessors.js';
import { MessageType, type DhcpMessage } from '../wire/types.js';
import { replyDestination } from './addressing.js';
import { sameBilling } from './classes.js';
import { PARAM_DEFAULTS, type Subnet } from './config.js';
import type { ScopeView } from './network.js';
import { nowSeconds, type Client, type CoreContext } from './context.js';
import { DEFAULT_MAX_MESSAGE, hostNameOf } from './discover.js';
import { buildReply } from './reply.js';
import type { Decision, RequestMeta } from './types.js';

/** RFC 2131 4.3.2 tells the client's state from which fields it filled in. */
export type RequestState = 'selecting' | 'init-reboot' | 'renewing' | 'rebinding';

export function requestState(msg: DhcpMessage, meta: RequestMeta): RequestState {
  if (getServerId(msg) !== undefined) return 'selecting';
  if (msg.ciaddr === 0) return 'init-reboot';
  // RENEWING clients unicast to the server that gave the lease; REBINDING ones broadcast (or reach us via a relay).
  return meta.toBroadcast === true || msg.giaddr !== 0 ? 'rebinding' : 'renewing';
}

export function handleRequest(
  ctx: CoreContext,
  msg: DhcpMessage,
  meta: RequestMeta,
  nowMs: number,
): Decision {
  const iface = meta.receivedOn.iface;
  const c = ctx.client(msg);
  const sid = getServerId(msg);
  const wanted = getRequestedIp(msg);
  const state = requestState(msg, meta);
  const cip = (state === 'selecting' || state === 'init-reboot' ? wanted : msg.ciaddr) ?? msg.ciaddr;
  const rec = cip !== 0 ? ctx.table.get(cip) : undefined;
  const line = ctx.isc.request(msg, iface, cip, sid, rec && ctx.owns(rec, c) ? rec.hostname : undefined);
  if (cip === 0) return ctx.drop('request-no-address', 'no requested address and no ciaddr', [line]);

  if (state === 'selecting') {
    // RFC 2131 4.3.2: the client chose another server's offer; forget ours silently so the address is free again.
    const ours = ctx.serverIdFor(ctx.scopeFor(cip, c).view, meta);
    if (sid !== ours) {
      ctx.releaseHold(c.key);
      return ctx.drop('not-our-server-id', `server id ${formatIp4(sid!)} is not ours`);
    }
  }

  let subnet: Subnet | undefined;
  if (state === 'renewing') {
    // Unicast from a configured client, possibly through routers: no relay vouches for its network, so trust
    // ciaddr (RFC 2131 4.3.2 RENEWING).
    subnet = ctx.index.subnetFor(cip);
    if (!subnet)
      return ctx.drop('no-subnet', 'ciaddr in no known subnet', [`${line}: ignored (unknown subnet).`]);
  } else {
    subnet = ctx.locate(msg, meta, getSubnetSelection(msg));
    if (!subnet) {
      // We don't know where it came from, but if we know where it claims to be and that network is ours, it is wrong.
      const claimed = ctx.index.subnetFor(cip);
      if (claimed && ctx.authoritative(claimed))
        return nak(ctx, msg, meta, c, cip, claimed, NOT_AVAILABLE, [`${line}: wrong network.`]);
      const why = claimed ? 'not authoritative' : 'unknown subnet';
      return ctx.drop('no-subnet', 'unknown network segment', [`${line}: ignored (${why}).`]);
    }
    if (!ctx.index.inNetwork(cip, subnet.sharedNetwork)) {
      // RFC 2131 4.3.2 INIT-REBOOT/REBINDING: wrong network -> NAK, but only a server authoritative for it may.
      if (ctx.authoritative(subnet))
        return nak(ctx, msg, meta, c, cip, subnet, NOT_AVAILABLE, [`${line}: wrong network.`]);
      return ctx.drop('not-authoritative', 'requested address on another network', [
        `${line}: ignored (not authoritative).`,
      ]);
    }
  }
  const sn = subnet.sharedNetwork;
  // Failover: an address of a relationship that serves nobody now is not answered, not even NAKed (ISC "not
  // responding"). DHCPREQUESTs are never load balanced (RFC 3074 applies to DISCOVERs).
  const refused = ctx.refusedByPeer(cip, msg, MessageType.REQUEST, line);
  if (refused) return refused;
  if (ctx.mayDenyBooting(c) && ctx.scopeFor(cip, c).view.param('booting') === false)
    return ctx.drop('booting-denied', 'host declaration denies booting', [line]);

  const fixed = ctx.reservation(c, sn);
  if (fixed !== undefined) {
    if (fixed >>> 0 === cip >>> 0) return ack(ctx, msg, meta, c, cip, line, nowMs, false);
    // A reserved client asking for another address is moved to its reservation.
    return nak(ctx, msg, meta, c, cip, subnet, INCORRECT, [`${line}: lease ${formatIp4(cip)} unavailable.`]);
  }
  const u = ctx.usable(cip, c, sn, nowMs);
  if (typeof u === 'object') return ack(ctx, msg, meta, c, cip, line, nowMs, true);
  // ISC dhcprequest: a FREE/BACKUP (or EXPIRED/RELEASED) lease not ours to reallocate is the partner's to answer.
  if (u === 'peer-owns') {
    ctx.releaseHold(c.key);
    return ctx.drop('failover-peer-owns', `${formatIp4(cip)} is the failover partner's to give`, [
      `${line}: lease owned by peer`,
    ]);
  }
  // ISC: an address in our database that is not available to this client is NAKed, authoritative or not.
  if (u === 'taken')
    return nak(ctx, msg, meta, c, cip, subnet, NOT_AVAILABLE, [
      `${line}: lease ${formatIp4(cip)} unavailable.`,
    ]);
  // RFC 2131 4.3.2: a server with no record of the client must stay silent. An address of this network outside
  // every range is never in our database, so ISC (4.4.3, checked with an INIT-REBOOT for it) says nothing, even
  // when authoritative: "unknown lease". A free pool address is another matter: ISC ACKs it to a client it has no
  // record of (so do we, see usable()), though RFC 2131 would have it stay silent; clients keep their addresses
  // after a lost lease file that way.
  if (u !== 'not-ours' && ctx.authoritative(subnet))
    return nak(ctx, msg, meta, c, cip, subnet, NOT_AVAILABLE, [
      `${line}: lease ${formatIp4(cip)} unavailable.`,
    ]);
  const reason = u === 'not-permitted' && !c.host ? 'unknown-client-denied' : 'unknown-lease';
  return ctx.drop(reason, `${formatIp4(cip)} is not ours to give this client`, [
    `${line}: unknown lease ${formatIp4(cip)}.`,
  ]);
}

/** DHCPACK: record the binding (unless it is a fixed-address, which ISC never writes) and answer. */
export function ack(
  ctx: CoreContext,
  msg: DhcpMessage,
  meta: RequestMeta,
  c: Client,
  ip: Ip4,
  line: string,
  nowMs: number,
  record: boolean,
): Decision {
  const { view, subnet } = ctx.scopeFor(ip, c);
  const serverId = ctx.serverIdFor(view, meta);
  if (serverId === undefined) return ctx.drop('no-server-id', 'no server identifier to answer with', [line]);
  let billing: LeaseBilling | undefined;
  // Only a configuration with a lease limit bills; then every ACK does, so an address changing hands ends its
  // billing to the previous holder's class.
  if (record && ctx.classBook.limited) {
    if (!ctx.classBook.mayLease(ip, c.classes)) return ctx.leaseLimitReached(c, line);
    ctx.classBook.bill(ip, c.classes);
    billing = ctx.classBook.billingOf(ip);
  }
  const nowSec = nowSeconds(nowMs);
  const prev = record ? ctx.table.get(ip) : undefined;
  // A record whose stored billing is not the lease's now is written again, so a restart bills it right.
  const kept = prev && reusable(prev, c, view, ctx, nowSec) && sameBilling(prev.billing, billing);
  const grant = kept
    ? { leaseTime: prev.ends - nowSec }
    : ctx.grantedLease(view, getLeaseTime(msg), ip, nowMs);
  const leaseTime = grant.leaseTime;
  const writes: Lease[] = [];
  if (record && !kept) {
    const ends = leaseTime === INFINITE ? INFINITE : nowSec + leaseTime;
    writes.push(ctx.change(prev, ip, ctx.bindFor(prev, c, ends, grant.times, billing), nowSec)!);
  }
  ctx.releaseHold(c.key);
  ctx.probes.forget(ip);
  ctx.counters.inc('tx.DHCPACK');
  const spec = {
    type: MessageType.ACK,
    req: msg,
    yiaddr: ip,
    ciaddr: msg.ciaddr,
    serverId,
    leaseTime,
    scope: view,
    // Plain properties, not spreads: the spec has one shape for every reply.
    subnetMask: subnet?.mask,
    hostName: hostNameOf(view, c),
  };
  return {
    writes,
    reply: {
      msg: buildReply(spec),
      to: replyDestination(msg, ip, 'offer-ack', meta.receivedOn, meta.srcIp),
      maxSize: getMaxMessageSize(msg) ?? DEFAULT_MAX_MESSAGE,
    },
    log: [line, ctx.isc.offerOrAck('DHCPACK', ip, msg, meta.receivedOn.iface, c.hostname)],
  };
}

/**
 * ISC's dhcp-cache-threshold (dhcp.c reuse_lease): a client that asks again for its own active lease before
 * `threshold` percent of it has passed (default 25) is given that lease as it stands: the time it has left, and
 * nothing to write. Saves a disk write per early renewal (clients that renew at every boot or link change) and is
 * what ISC answers (4.4.3, a RENEW 2.5 s into a 600 s lease, checked in a namespace: lease time 597, no new
 * record in dhcpd.leases). Age and length are whole seconds, as in ISC; an infinite lease is renewed as before.
 */
function reusable(prev: Lease, c: Client, view: ScopeView, ctx: CoreContext, nowSec: number): boolean {
  if (prev.state !== BindingState.ACTIVE || prev.ends === INFINITE || prev.ends <= nowSec) return false;
  if (!ctx.owns(prev, c)) return false;
  const set = view.param('dhcpCacheThreshold');
  const threshold = set !== undefined && set < 100 ? set : PARAM_DEFAULTS.dhcpCacheThreshold;
  if (threshold <= 0) return false;
  const length = prev.ends - prev.starts;
  return nowSec - prev.starts <= Math.floor((length * threshold) / 100);
}

/**
 * The DHCPNAK's message option (56; RFC 2131 4.3.1 Table 3: a NAK SHOULD carry one), in ISC dhcpd 4.4's words.
 * ISC's NAK carries a buffer that its lease lookup (dhcp.c find_lease) writes: 'requested address is incorrect'
 * for a client with a fixed address that asked for another, else 'requested address not available' whenever no
 * usable lease was found for the address asked for. A wrong-network NAK carries the same text in practice (ISC
 * 4.4.3 sent it for an address in no subnet: left there by an earlier lookup).
 */
const NOT_AVAILABLE = 'requested address not available';
const INCORRECT = 'requested address is incorrect';

export function nak(
  ctx: CoreContext,
  msg: DhcpMessage,
  meta: RequestMeta,
  c: Client,
  cip: Ip4,
  subnet: Subnet,
  message: string,
  log: string[],
): Decision {
  ctx.releaseHold(c.key);
  const serverId = ctx.serverIdFor(ctx.scopeFor(subnet.network, undefined).view, meta) ?? 0;
  ctx.counters.inc('tx.DHCPNAK');
  return {
    writes: [],
    reply: {
      msg: buildReply({ type: MessageType.NAK, req: msg, yiaddr: 0, ciaddr: 0, serverId, message }),
      to: replyDestination(msg, 0, 'nak', meta.receivedOn, meta.srcIp),
      maxSize: getMaxMessageSize(msg) ?? DEFAULT_MAX_MESSAGE,
    },
    log: [...log, ctx.isc.nak(cip, msg, meta.receivedOn.iface)],
  };
}
