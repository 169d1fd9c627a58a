import type { Ip4 } from '@hadhcp/common';
import { BindingState, INFINITE } from '@hadhcp/leases';
import { getLeaseTime, getMaxMessageSize, getRequestedIp, getSubnetSelection } from '../wire/accessors.js';
import { MessageType, type DhcpMessage } from '../wire/types.js';
import { replyDestination } from './addressing.js';
import type { SharedNetwork } from './config.js';
import { nowSeconds, type Client, type CoreContext } from './context.js';
import { isc } from './log.js';
import type { PoolInfo } from './network.js';
import { DISCOVER_SCAN } from './ping-ahead.js';
import { buildReply } from './reply.js';
import type { Decision, RequestMeta } from './types.js';

/** RFC 2131 section 2: a client accepts at least 576-byte messages when it names no other size. */
export const DEFAULT_MAX_MESSAGE = 576;

/** Don't ping an address the client itself used this recently (ISC 4.4's ping-cltt-secs, 60 s). */
const PING_CLTT_SECONDS = 60;

/** `ping`: the address is ping-checked before it is offered (an OFFER made at once used a fresh silent probe). */
type Choice =
  | { ip: Ip4; ping: boolean; pool: PoolInfo | undefined }
  | { probe: Ip4; pool: PoolInfo }
  | { none: 'denied' | 'exhausted' };

/**
 * RFC 2131 4.3.1: choose the address to offer, in this order:
 *  1. a fixed-address reserved for the client on this network;
 *  2. the address already offered to it (a retransmitted DISCOVER gets the same offer);
 *  3. its current lease, else its most recent one, if the address is still free for it;
 *  4. the address it asks for (option 50), if free in a pool of this network that admits it;
 *  5. a new address from the pools, in allocation order, with a fresh silent probe when ping-check is on.
 */
function choose(ctx: CoreContext, msg: DhcpMessage, c: Client, sn: SharedNetwork, nowMs: number): Choice {
  const fixed = ctx.reservation(c, sn);
  if (fixed !== undefined) return { ip: fixed, ping: false, pool: undefined };
  const held = ctx.heldFor(c.key, nowMs);
  // Held for this client: offered already, or its probe is out (the DISCOVER waiting on it comes back here).
  if (held !== undefined && ctx.index.inNetwork(held, sn))
    return ctx.probes.awaited(held)
      ? { ip: held, ping: true, pool: ctx.index.rangeOf(held)?.pool }
      : { ip: held, ping: false, pool: undefined };
  const nowSec = nowSeconds(nowMs);
  const own = ctx.ownLease(c, sn, nowSec);
  if (own) {
    const u = ctx.usable(own.address, c, sn, nowMs);
    if (typeof u === 'object') {
      const live = own.state === BindingState.ACTIVE && (own.ends === INFINITE || own.ends > nowSec);
      const recent = nowSec - own.cltt < PING_CLTT_SECONDS;
      return { ip: own.address, ping: !live && !recent && ctx.pingCheck(u.pool), pool: u.pool };
    }
  }
  const wanted = getRequestedIp(msg);
  if (wanted !== undefined) {
    const u = ctx.usable(wanted, c, sn, nowMs);
    if (typeof u === 'object') return { ip: wanted, ping: ctx.pingCheck(u.pool), pool: u.pool };
  }
  let anyPermitted = false;
  for (const pool of ctx.index.poolsOf(sn)) {
    if (!ctx.permits(pool, c, false)) continue;
    anyPermitted = true;
    const ping = ctx.pingCheck(pool);
    const cands = ctx.allocators[pool.id]!.candidates(
      ping ? DISCOVER_SCAN : 1,
      (ip) => ctx.passOver(pool, ip, c.key, nowMs),
      undefined,
      ctx.untouchedAllowed(pool, nowMs),
    );
    if (cands.length === 0) continue;
    if (!ping) return { ip: cands[0]!, ping: false, pool };
    const ready = cands.find((ip) => ctx.probes.isClear(ip, nowMs));
    return ready !== undefined ? { ip: ready, ping: true, pool } : { probe: cands[0]!, pool };
  }
  return { none: anyPermitted ? 'exhausted' : 'denied' };
}

export function handleDiscover(
  ctx: CoreContext,
  msg: DhcpMessage,
  meta: RequestMeta,
  nowMs: number,
): Decision {
  const iface = meta.receivedOn.iface;
  const c = ctx.client(msg);
  const subnet = ctx.locate(msg, meta, getSubnetSelection(msg));
  if (!subnet) {
    const line = ctx.isc.discover(msg, iface);
    return ctx.drop('no-subnet', 'unknown network segment', [`${line}: unknown network segment`]);
  }
  const sn = subnet.sharedNetwork;
  // ISC names the client by the host name recorded on its lease, not the one in this packet.
  const line = ctx.logLines ? isc.discover(msg, iface, ctx.ownLease(c, sn, nowSeconds(nowMs))?.hostname) : '';
  if (ctx.mayDenyBooting(c) && ctx.scopeFor(subnet.network, c).view.param('booting') === false)
    return ctx.drop('booting-denied', 'host declaration denies booting', [line]);

  const choice = choose(ctx, msg, c, sn, nowMs);
  if ('none' in choice) {
    if (choice.none === 'denied')
      return c.host
        ? ctx.drop('no-permitted-pool', 'no pool admits this client', [`${line}: no permitted pool`])
        : ctx.drop('unknown-client-denied', 'unknown client and no pool admits unknown clients', [
            `${line}: unknown client`,
          ]);
    return ctx.drop('pool-exhausted', `network ${sn.name}: no free leases`, [
      `${line}: network ${sn.name}: no free leases`,
    ]);
  }
  // Failover (ISC dhcpdiscover -> load_balance_mine, after it has picked the lease): the relationship of the
  // address's pool may give this client to the partner, or serve nobody now. Nothing is held or probed then.
  const refused = ctx.refusedByPeer(
    'probe' in choice ? choice.probe : choice.ip,
    msg,
    MessageType.DISCOVER,
    line,
    meta,
  );
  if (refused) return refused;
  if ('probe' in choice || (choice.ping && !ctx.probes.isClear(choice.ip, nowMs))) {
    // A burst beyond the look-ahead: this client waits one ping-timeout for its own probe, as with ISC. The address
    // is held for it meanwhile, so the next client of the burst probes the next address instead of queueing
    // behind this one; an answer releases the hold (probeResult).
    const ip = 'probe' in choice ? choice.probe : choice.ip;
    ctx.probes.awaiting(ip, choice.pool?.id, nowMs);
    ctx.hold(ip, c.key, nowMs);
    ctx.counters.inc('offers.waited-for-probe');
    return { writes: [], log: [line], needsProbe: { ip, timeoutMs: ctx.pingTimeoutMs(choice.pool) } };
  }
  return offer(ctx, msg, meta, c, choice.ip, line, nowMs, choice.ping ? choice.pool : undefined);
}

function offer(
  ctx: CoreContext,
  msg: DhcpMessage,
  meta: RequestMeta,
  c: Client,
  ip: Ip4,
  line: string,
  nowMs: number,
  /** The pool of a ping-checked address: counted for its allocation rate (and as ready when nobody waited). */
  probedPool?: PoolInfo,
): Decision {
  const { view, subnet } = ctx.scopeFor(ip, c);
  const serverId = ctx.serverIdFor(view, meta);
  if (serverId === undefined) return ctx.drop('no-server-id', 'no server identifier to offer with', [line]);
  // Lease limits count pool leases only (a fixed address is never billed: request.ts ack).
  const pooled = !ctx.index.fixedAddresses.has(ip >>> 0);
  if (pooled && c.classes.length > 0 && !ctx.classBook.mayLease(ip, c.classes))
    return ctx.leaseLimitReached(c, line);
  ctx.hold(ip, c.key, nowMs);
  // A wait was counted when it began (handleDiscover), once per DISCOVER that waited.
  if (probedPool) {
    if (ctx.probes.offered(ip, probedPool.id, nowMs) === 'probe-ready')
      ctx.counters.inc('offers.probe-ready');
  } else ctx.probes.forget(ip);
  const spec = {
    type: MessageType.OFFER,
    req: msg,
    yiaddr: ip,
    ciaddr: 0,
    serverId,
    leaseTime: ctx.grantedLease(view, getLeaseTime(msg), ip, nowMs).leaseTime,
    scope: view,
    // Plain properties, not spreads: the spec has one shape for every reply.
    subnetMask: subnet?.mask,
    hostName: hostNameOf(view, c),
  };
  ctx.counters.inc('tx.DHCPOFFER');
  return {
    writes: [],
    reply: {
      msg: buildReply(spec),
      to: replyDestination(msg, ip, 'offer-ack', meta.receivedOn, meta.srcIp),
      maxSize: getMaxMessageSize(msg) ?? DEFAULT_MAX_MESSAGE,
    },
    log: [line, ctx.isc.offerOrAck('DHCPOFFER', ip, msg, meta.receivedOn.iface, c.hostname)],
  };
}

/** hostName() as a value (undefined: none). */
export function hostNameOf(
  view: { param: (k: 'useHostDeclNames') => boolean | undefined },
  c: Client,
): string | undefined {
  return c.host && view.param('useHostDeclNames') === true ? c.host.name : undefined;
}

/** use-host-decl-names: the host declaration's name becomes option 12 (when no scope sets host-name). */
export function hostName(
  view: { param: (k: 'useHostDeclNames') => boolean | undefined },
  c: Client,
): { hostName?: string } {
  return c.host && view.param('useHostDeclNames') === true ? { hostName: c.host.name } : {};
}
