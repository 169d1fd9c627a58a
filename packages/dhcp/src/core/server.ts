import type { Ip4 } from '@hadhcp/common';
import { BindingState, INFINITE, type Lease } from '@hadhcp/leases';
import { getMessageType } from '../wire/accessors.js';
import { BOOTREQUEST, MessageType, type DhcpMessage } from '../wire/types.js';
import type { DhcpServerConfig } from './config.js';
import { CoreContext, nowSeconds, type CoreOptions } from './context.js';
import { handleDiscover } from './discover.js';
import { EventBook, type EventEval, type EventRun } from './events.js';
import type { LeaseTable } from './lease-table.js';
import { isc } from './log.js';
import { handleBootp, handleDecline, handleInform, handleRelease } from './other.js';
import { PROBE_PERIOD_MS, RELEASE_SETTLE_S } from './ping-ahead.js';
import { handleRequest } from './request.js';
import type { Decision, RequestMeta } from './types.js';

export type { CoreOptions } from './context.js';

const TYPE_NAMES: Record<number, string> = {
  [MessageType.DISCOVER]: 'DHCPDISCOVER',
  [MessageType.REQUEST]: 'DHCPREQUEST',
  [MessageType.DECLINE]: 'DHCPDECLINE',
  [MessageType.RELEASE]: 'DHCPRELEASE',
  [MessageType.INFORM]: 'DHCPINFORM',
};

const RX_COUNTER: Record<number, string> = Object.fromEntries(
  Object.entries(TYPE_NAMES).map(([t, n]) => [t, `rx.${n}`]),
);

/**
 * The DHCPv4 server's decisions (RFC 2131), with no sockets and no clock: every call takes `nowMs`.
 * It keeps the lease table in memory and returns each change as a write; the daemon persists the writes before it
 * sends the reply. Offers are held in memory only (an OFFER is never written, as in ISC).
 */
export class DhcpServerCore {
  private readonly ctx: CoreContext;
  /** `on commit|release|expiry` (events.ts); absent for a configuration without events. */
  private readonly events: EventBook | undefined;
  private expiryRuns: EventRun[] = [];
  /** Some scope has `log` / `set` / `unset` of its own: each answer runs them. */
  private readonly scopeStatements: boolean;

  constructor(config: DhcpServerConfig, table: LeaseTable, opts: CoreOptions = {}) {
    this.ctx = new CoreContext(config, table, opts);
    if (config.hasEvents)
      this.events = new EventBook(new TextDecoder().decode(this.ctx.classBook.ev.hostname));
    this.scopeStatements = config.hasScopeStatements === true;
  }

  get counters() {
    return this.ctx.counters;
  }

  get table(): LeaseTable {
    return this.ctx.table;
  }

  /** What the core found in the lease table it started over that the operator should hear of once (warnings). */
  get notices(): readonly string[] {
    return this.ctx.notices;
  }

  /**
   * A core built for a reloaded configuration takes over its predecessor's counters, offers in flight and probe
   * answers (the leases themselves are in the shared table already).
   */
  carryOver(prev: DhcpServerCore): void {
    this.ctx.carryOver(prev.ctx);
  }

  /** The supervisor moves the server identifier with the VIP. */
  setServerId(ip: Ip4 | undefined): void {
    this.ctx.serverId = ip;
  }

  handle(msg: DhcpMessage, meta: RequestMeta, nowMs: number): Decision {
    const d = this.decide(msg, meta, nowMs);
    if (this.events && (d.writes.length > 0 || (d.reply && this.scopeStatements)))
      this.prepareEvents(this.events, d, msg, nowMs);
    return d;
  }

  /**
   * dhcpd.conf statements run for a decision (events.ts), prepared here and run by the service after the reply
   * (and after the writes are durable): the answer's scope statements (`log`, `set`, `unset`), then `on commit`
   * for a lease the answer commits, or `on release`. Only for a configuration with them.
   */
  private prepareEvents(book: EventBook, d: Decision, msg: DhcpMessage, nowMs: number): void {
    const type = getMessageType(msg);
    const nowSec = nowSeconds(nowMs);
    const c = this.ctx.client(msg);
    const reply = d.reply?.msg;
    let answer: EventEval | undefined;
    if (reply && this.scopeStatements && getMessageType(reply) !== MessageType.NAK) {
      const ip = reply.yiaddr || reply.ciaddr;
      if (ip) {
        const a = book.answered(this.ctx.scopeFor(ip, c).view, msg, ip, c.host, nowSec);
        answer = a.ctx;
        if (a.run) (d.events ??= []).push(a.run);
      }
    }
    for (const l of d.writes) {
      let r: EventRun | undefined;
      if (type === MessageType.RELEASE) r = book.released(msg, l, c.host, nowSec);
      else if (l.state === BindingState.ACTIVE && (type === MessageType.REQUEST || type === undefined))
        r = book.committed(this.ctx.scopeFor(l.address, c).view, msg, l, c.host, nowSec, answer);
      if (r) (d.events ??= []).push(r);
    }
  }

  /** `on expiry` runs for the leases the last tick() ended (an empty list without events). */
  takeExpiryEvents(): EventRun[] {
    const r = this.expiryRuns;
    this.expiryRuns = [];
    return r;
  }

  private decide(msg: DhcpMessage, meta: RequestMeta, nowMs: number): Decision {
    this.ctx.expireHolds(nowMs);
    if (this.ctx.classBook.active) this.ctx.classBook.nowSec = nowSeconds(nowMs);
    if (msg.op !== BOOTREQUEST) return this.ctx.drop('not-bootrequest', `op ${msg.op}`);
    const type = getMessageType(msg);
    if (type === undefined) {
      // RFC 1542 / RFC 2131 4.1: no option 53 means a BOOTP client (a malformed 53 is treated the same, as ISC does).
      this.ctx.counters.inc('rx.BOOTREQUEST');
      return handleBootp(this.ctx, msg, meta, nowMs);
    }
    const name = TYPE_NAMES[type];
    if (name === undefined)
      return this.ctx.drop('bad-message-type', `message type ${type} is not for a server`);
    this.ctx.counters.inc(RX_COUNTER[type]!);
    switch (type) {
      case MessageType.DISCOVER:
        return handleDiscover(this.ctx, msg, meta, nowMs);
      case MessageType.REQUEST:
        return handleRequest(this.ctx, msg, meta, nowMs);
      case MessageType.DECLINE:
        return handleDecline(this.ctx, msg, meta, nowMs);
      case MessageType.RELEASE:
        return handleRelease(this.ctx, msg, meta, nowMs);
      default:
        return handleInform(this.ctx, msg, meta, nowMs);
    }
  }

  /**
   * Expiry and reclamation, called periodically. ACTIVE leases whose `ends` has come become FREE (keeping the client
   * association, so the client gets the address back if nobody took it), or EXPIRED when the pool has a failover
   * peer (the peer protocol moves them on). ABANDONED leases become FREE with no association. Also forgets offer
   * holds and probe results that have run out.
   */
  tick(nowMs: number): Lease[] {
    const ctx = this.ctx;
    const nowSec = nowSeconds(nowMs);
    const writes: Lease[] = [];
    for (;;) {
      const ends = ctx.expiry.peekKey();
      if (ends === undefined || ends > nowSec) break;
      const ip = ctx.expiry.pop()!.value;
      // Most popped entries of a busy server are stale (the lease was renewed): check without decoding.
      if (ctx.table.endsOf(ip) !== ends || ends === INFINITE) continue;
      const next = ctx.change(ctx.table.get(ip), ip, { on: 'expire' }, nowSec);
      if (next) writes.push(next);
      const r = next && this.events?.expired(next, nowSec);
      if (r) this.expiryRuns.push(r);
    }
    ctx.pruneHolds(nowMs);
    ctx.probes.prune(nowMs, this.probeRetryMs());
    return writes;
  }

  /**
   * The failover partner's records (BNDUPD, pool balancing), just put into the table by the service: an offer
   * held on an address that is no longer ours to give ends (the allocator learnt of each change through the table).
   */
  partnerApplied(leases: readonly Lease[], nowMs: number): void {
    for (const l of leases) this.ctx.partnerChanged(l, nowMs);
  }

  /**
   * lease4-del: the address goes back to the pool with no client attached (Kea removes the lease; the failover
   * binding model keeps the address with state FREE, with its failover times). Applied to the table now, so a
   * request handled while the write is in flight sees it, and an ACK made after it wins. Nothing for an address
   * with no record.
   */
  free(ip: Ip4, nowMs: number): Lease[] {
    const ctx = this.ctx;
    ip = ip >>> 0;
    const freed = ctx.change(ctx.table.get(ip), ip, { on: 'free' }, nowSeconds(nowMs));
    if (!freed) return [];
    ctx.releaseHoldOn(ip);
    return [freed];
  }

  /**
   * Addresses worth pinging now: for each pool with ping-check on, the next addresses it would hand out (its
   * look-ahead, sized from its allocation rate: ping-ahead.ts) with no answer fresh enough to outlive a new probe
   * and no probe asked for recently, nearest first, within the probe budget (MAX_PROBES_PER_S). A pool with fewer
   * free addresses than its window probes the ones it has. The io layer pings them and reports back through
   * probeResult(); call it every PROBE_PERIOD_MS.
   */
  probesWanted(nowMs: number): Ip4[] {
    const ctx = this.ctx;
    ctx.expireHolds(nowMs);
    const out: Ip4[] = [];
    const retry = this.probeRetryMs();
    for (const pool of ctx.index.pools) {
      if (!ctx.pingCheck(pool)) continue;
      const timeout = ctx.pingTimeoutMs(pool);
      // Re-probed this long before its answer goes stale, so the new answer arrives while the old one vouches.
      const lead = timeout + 2 * PROBE_PERIOD_MS;
      const k = ctx.probes.lookahead(pool.id, nowMs, timeout);
      const cands = ctx.allocators[pool.id]!.candidates(
        k,
        (ip) => ctx.passOver(pool, ip, '', nowMs),
        undefined,
        ctx.untouchedAllowed(pool, nowMs),
      );
      const wanted = cands.filter(
        (ip) => !this.settling(ip, nowMs) && ctx.probes.wants(ip, nowMs, retry, lead),
      );
      const granted = ctx.probes.budget(wanted.length, nowMs);
      for (let i = 0; i < granted; i++) {
        ctx.probes.asked(wanted[i]!, nowMs);
        out.push(wanted[i]!);
      }
    }
    return out;
  }

  /** The look-ahead of each pool with ping-check on, and the allocation rate it was sized from (status, tests). */
  probeWindows(nowMs: number): Array<{ pool: number; rate: number; lookahead: number }> {
    const ctx = this.ctx;
    return ctx.index.pools
      .filter((p) => ctx.pingCheck(p))
      .map((p) => ({
        pool: p.id,
        rate: ctx.probes.rate(p.id, nowMs),
        lookahead: ctx.probes.lookahead(p.id, nowMs, ctx.pingTimeoutMs(p)),
      }));
  }

  /**
   * A probe's answer. An address that answered is in use by a host we don't know about: abandon it, as ISC does,
   * unless it is bound right now (then the answer is its rightful owner's).
   */
  probeResult(ip: Ip4, inUse: boolean, nowMs: number): { writes: Lease[]; log?: string[] } {
    const ctx = this.ctx;
    ip = ip >>> 0;
    ctx.probes.record(ip, inUse, nowMs);
    if (!inUse) return { writes: [] };
    const rec = ctx.table.get(ip);
    const nowSec = nowSeconds(nowMs);
    if (rec && rec.state === BindingState.ACTIVE && (rec.ends === INFINITE || rec.ends > nowSec))
      return { writes: [] };
    // Two probes of one address out at once (a waiting client's and the look-ahead's): abandoned once.
    if (rec && rec.state === BindingState.ABANDONED && rec.ends > nowSec) return { writes: [] };
    if (ctx.index.fixedAddresses.has(ip) || !ctx.index.rangeOf(ip)) return { writes: [] };
    const lease = ctx.change(rec, ip, ctx.abandon, nowSec)!;
    ctx.releaseHoldOn(ip);
    ctx.counters.inc('abandoned.pinged');
    return { writes: [lease], log: [isc.abandon(ip, 'pinged before offer')] };
  }

  /** Released moments ago: its client may still be taking the address down (RELEASE_SETTLE_S). */
  private settling(ip: Ip4, nowMs: number): boolean {
    const rec = this.ctx.table.get(ip);
    return rec?.state === BindingState.RELEASED && nowSeconds(nowMs) - rec.ends < RELEASE_SETTLE_S;
  }

  /** A probe not answered within twice the ping timeout is asked for again. */
  private probeRetryMs(): number {
    return 2 * this.ctx.pingTimeoutMs(undefined);
  }
}
