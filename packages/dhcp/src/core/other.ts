import { formatIp4, type Ip4 } from '@hadhcp/common';
import { BindingState, INFINITE } from '@hadhcp/leases';
import { getMaxMessageSize, getRequestedIp, getServerId, getSubnetSelection } from '../wire/accessors.js';
import { wireLength } from '../wire/layout.js';
import { MessageType, type DhcpMessage } from '../wire/types.js';
import { replyDestination } from './addressing.js';
import type { Range } from './config.js';
import { nowSeconds, type Client, type CoreContext } from './context.js';
import type { PoolInfo } from './network.js';
import { DEFAULT_MAX_MESSAGE, hostName } from './discover.js';
import { isc } from './log.js';
import { buildReply } from './reply.js';
import type { Decision, RequestMeta } from './types.js';

/**
 * RFC 2131 4.3.3 DHCPDECLINE: the client found the address in use (ARP). The address is abandoned for
 * `abandonSeconds` (ISC's abandon-lease-time, 86400 s), then returns to the pool at the next tick.
 * Unlike ISC, which abandons whatever lease the address has, only the client that holds the lease or the offer may
 * decline it: otherwise any host could knock addresses out of the pool.
 */
export function handleDecline(
  ctx: CoreContext,
  msg: DhcpMessage,
  meta: RequestMeta,
  nowMs: number,
): Decision {
  const iface = meta.receivedOn.iface;
  const ip = getRequestedIp(msg);
  if (ip === undefined) return ctx.drop('decline-no-address', 'DHCPDECLINE without requested address');
  const c = ctx.client(msg);
  const rec = ctx.table.get(ip);
  const line = isc.decline(ip, msg, iface, rec?.hostname);
  const mine = (rec !== undefined && ctx.owns(rec, c)) || ctx.heldFor(c.key, nowMs) === ip;
  if (!mine || ctx.index.fixedAddresses.has(ip) || !ctx.index.rangeOf(ip))
    return ctx.drop('decline-unknown-lease', `${formatIp4(ip)} is not this client's`, [`${line}: not found`]);
  const refused = ctx.refusedByPeer(ip, msg, MessageType.DECLINE, line);
  if (refused) return refused;
  const lease = ctx.change(rec, ip, ctx.abandon, nowSeconds(nowMs))!;
  ctx.releaseHold(c.key);
  ctx.probes.forget(ip);
  return { writes: [lease], log: [isc.abandon(ip, 'declined.'), `${line}: abandoned`] };
}

/**
 * RFC 2131 4.3.4 DHCPRELEASE: the binding ends now. The record keeps the client association (state RELEASED) so the
 * client gets the same address back while nobody else needs it. No reply is ever sent.
 */
export function handleRelease(
  ctx: CoreContext,
  msg: DhcpMessage,
  meta: RequestMeta,
  nowMs: number,
): Decision {
  const iface = meta.receivedOn.iface;
  const c = ctx.client(msg);
  const rec = msg.ciaddr !== 0 ? ctx.table.get(msg.ciaddr) : undefined;
  const nowSec = nowSeconds(nowMs);
  const sid = getServerId(msg);
  const ours = sid === undefined || sid === ctx.serverIdFor(ctx.scopeFor(msg.ciaddr, c).view, meta);
  const found =
    rec !== undefined &&
    ours &&
    ctx.owns(rec, c) &&
    rec.state === BindingState.ACTIVE &&
    (rec.ends === INFINITE || rec.ends > nowSec);
  const line = isc.release(msg, iface, found, found ? rec.hostname : undefined);
  if (!found)
    return ctx.drop('release-unknown-lease', `no active lease of ${formatIp4(msg.ciaddr)} for this client`, [
      line,
    ]);
  const refused = ctx.refusedByPeer(rec.address, msg, MessageType.RELEASE, line);
  if (refused) return refused;
  const lease = ctx.change(rec, rec.address, { on: 'release' }, nowSec)!;
  return { writes: [lease], log: [line] };
}

/**
 * RFC 2131 4.3.5 DHCPINFORM: configuration only. The answer is a DHCPACK without yiaddr, lease time or T1/T2, sent
 * to ciaddr (or, like ISC, to the source address when the client left ciaddr empty).
 */
export function handleInform(
  ctx: CoreContext,
  msg: DhcpMessage,
  meta: RequestMeta,
  _nowMs: number,
): Decision {
  const iface = meta.receivedOn.iface;
  const cip = msg.ciaddr !== 0 ? msg.ciaddr : meta.srcIp;
  const line = isc.inform(cip, msg, iface);
  if (cip === 0)
    return ctx.drop('inform-no-address', 'no ciaddr and no source address', [`${line}: ignored`]);
  const c = ctx.client(msg);
  const subnet = ctx.index.subnetFor(cip) ?? ctx.locate(msg, meta, getSubnetSelection(msg));
  if (!subnet) return ctx.drop('no-subnet', 'client address in no known subnet', [`${line}: unknown subnet`]);
  const { view } = ctx.scopeFor(cip, c);
  const serverId = ctx.serverIdFor(view, meta);
  if (serverId === undefined) return ctx.drop('no-server-id', 'no server identifier to answer with', [line]);
  ctx.counters.inc('tx.DHCPACK');
  const spec = {
    type: MessageType.ACK,
    req: msg,
    yiaddr: 0,
    ciaddr: msg.ciaddr,
    serverId,
    scope: view,
    subnetMask: subnet.mask,
    ...hostName(view, c),
  };
  return {
    writes: [],
    reply: {
      msg: buildReply(spec),
      to: replyDestination(msg, 0, 'inform', meta.receivedOn, meta.srcIp),
      maxSize: getMaxMessageSize(msg) ?? DEFAULT_MAX_MESSAGE,
    },
    log: [line, isc.informAck(cip, msg, iface)],
  };
}

/**
 * BOOTP (RFC 951, RFC 1542; no option 53): answered when `bootp` is allowed, from a reservation or else from a
 * dynamic-bootp range (or a pool that allows dynamic bootp clients). BOOTP has no lease time and no release, so a
 * dynamic binding is infinite, as ISC's default dynamic-bootp-lease-length. Not pinged: BOOTP clients expect an
 * immediate answer and dynamic BOOTP is rare.
 */
export function handleBootp(ctx: CoreContext, msg: DhcpMessage, meta: RequestMeta, nowMs: number): Decision {
  const iface = meta.receivedOn.iface;
  const line = isc.bootrequest(msg, iface);
  const c = ctx.client(msg);
  const subnet = ctx.locate(msg, meta, undefined);
  if (!subnet) return ctx.drop('no-subnet', 'unknown network segment', [`${line}: unknown network segment`]);
  const sn = subnet.sharedNetwork;
  if (ctx.scopeFor(subnet.network, c).view.param('bootp') === false)
    return ctx.drop('bootp-denied', 'bootp not allowed', [
      `${line}: BOOTP from dynamic client and no dynamic leases`,
    ]);
  const fixed = ctx.reservation(c, sn);
  let ip: Ip4 | undefined = fixed;
  if (ip === undefined) {
    const own = ctx.ownLease(c, sn, nowSeconds(nowMs));
    const r = own && ctx.index.rangeOf(own.address);
    if (own && r && servesBootp(ctx, r.pool, r.range, c)) {
      // usable()'s own BOOTP test knows only dynamic-bootp ranges and permits; servesBootp() has decided.
      const legacy = r.range.dynamicBootp || r.pool.pool.permits.allowDynamicBootp === true;
      if (typeof ctx.usable(own.address, c, sn, nowMs, legacy) === 'object') ip = own.address;
    }
  }
  if (ip === undefined) {
    for (const pool of ctx.index.poolsOf(sn)) {
      if (!ctx.permits(pool, c, true)) continue;
      const cand = ctx.allocators[pool.id]!.candidates(
        1,
        (x) => ctx.passOver(pool, x, c.key, nowMs),
        (r) => servesBootp(ctx, pool, r, c),
        ctx.untouchedAllowed(pool, nowMs),
      );
      if (cand[0] !== undefined) {
        ip = cand[0];
        break;
      }
    }
  }
  if (ip === undefined)
    return ctx.drop('bootp-denied', 'no reservation and no free dynamic-bootp address', [
      `${line}: BOOTP from dynamic client and no dynamic leases`,
    ]);
  const refused = ctx.refusedByPeer(ip, msg, undefined, line);
  if (refused) return refused;
  const { view, subnet: ipSubnet } = ctx.scopeFor(ip, c);
  const serverId = ctx.serverIdFor(view, meta) ?? 0;
  const writes = [];
  if (fixed === undefined) {
    const prev = ctx.table.get(ip);
    writes.push(ctx.change(prev, ip, ctx.bindFor(prev, c, INFINITE), nowSeconds(nowMs))!);
  }
  ctx.counters.inc('tx.BOOTREPLY');
  const spec = {
    type: undefined,
    req: msg,
    yiaddr: ip,
    ciaddr: msg.ciaddr,
    serverId,
    scope: view,
    subnetMask: (ipSubnet ?? subnet).mask,
    // ISC answers a host declaration's BOOTP client in the order it uses without a request list (bootp.c).
    ignoreRequestList: fixed !== undefined,
    ...hostName(view, c),
  };
  return {
    writes,
    reply: {
      msg: buildReply(spec),
      to: replyDestination(msg, ip, 'offer-ack', meta.receivedOn, meta.srcIp),
      maxSize: bootpReplySize(msg),
    },
    log: [line, isc.offerOrAck('BOOTREPLY', ip, msg, iface)],
  };
}

/** A 300-octet BOOTP message (RFC 951) in an IP datagram. */
const BOOTP_MESSAGE = 328;
/** IP and UDP headers: the encoder reads maxSize as the IP datagram's size, as ISC reads option 57. */
const IP_UDP_HEADERS = 28;
/** ISC's DHCP_MTU_MAX: it never builds a reply larger than a 1500-octet datagram. */
const MTU_MAX = 1500;

/**
 * How large a BOOTP reply may be, as ISC dhcpd 4.4 sizes it (common/options.c cons_options for bootp.c): the
 * client's option 57 when it sends one; else RFC 951's 64-octet vend field (a 300-octet message), widened to the
 * vendor area of a larger request (a client that sent 548 octets reads a reply that large).
 */
function bootpReplySize(msg: DhcpMessage): number {
  const named = getMaxMessageSize(msg);
  if (named !== undefined) return named;
  const sent = wireLength(msg) ?? 0;
  return Math.min(Math.max(BOOTP_MESSAGE, sent + IP_UDP_HEADERS), MTU_MAX);
}

/**
 * Whether a range gives addresses to BOOTP clients, as ISC 4.4 reads dhcpd.conf (checked against dhcpd 4.4.3 in a
 * namespace): a declared `pool { }` does unless it says `deny dynamic bootp clients`; a range written straight in
 * a subnet only as `range dynamic-bootp`; `allow dynamic bootp clients` in a pool admits every range of it.
 */
function servesBootp(ctx: CoreContext, pool: PoolInfo, range: Range, c: Client): boolean {
  if (!ctx.permits(pool, c, true)) return false;
  if (pool.pool.permits.allowDynamicBootp === true) return true;
  return pool.pool.implicit === true ? range.dynamicBootp : true;
}
