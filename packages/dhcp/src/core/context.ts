import { hostname } from 'node:os';
import { Counters, type Ip4 } from '@hadhcp/common';
import { BindingState, INFINITE, type Lease, type LeaseBilling } from '@hadhcp/leases';
import { getClientId, getHostName, hwAddress } from '../wire/accessors.js';
import type { DhcpMessage, MessageType } from '../wire/types.js';
import { isCandidate, PoolAllocator } from './allocate.js';
import { ClassBook, memberOf, PacketEval, type Membership } from './classes.js';
import { nextBinding, type BindingEvent } from './binding.js';
import {
  PARAM_DEFAULTS,
  type DhcpServerConfig,
  type Host,
  type LeaseSeconds,
  type SharedNetwork,
  type Subnet,
} from './config.js';
import { NumberHeap } from './heap.js';
import { clientIdKey, hwKey, type LeaseTable } from './lease-table.js';
import { ConfigIndex, ScopeView, type PoolInfo } from './network.js';
import { isc, quietIsc, type IscLines } from './log.js';
import { ProbeTracker } from './ping-ahead.js';
import { standalonePolicy, type LeasePolicy } from './policy.js';
import type { Decision, DropReason, RequestMeta } from './types.js';

export interface CoreOptions {
  /** The server identifier to use everywhere (the supervisor sets the VIP); else config, else the receiving address. */
  serverId?: Ip4;
  /** How long an OFFER reserves its address for the client. Default 10 s. */
  offerHoldMs?: number;
  /** How long a declined or pinged-in-use address stays abandoned. Default 86400 s (ISC abandon-lease-time). */
  abandonSeconds?: number;
  /** How long a silent ping vouches for an address. Default PROBE_FRESH_MS (ping-ahead.ts). */
  probeFreshMs?: number;
  /** A fixed number of next candidates per pool to keep probed (tests); default: sized from the allocation rate. */
  probeLookahead?: number;
  /**
   * Build ISC's per-packet log lines (DHCPDISCOVER, DHCPOFFER ...) into each decision. Default true; the daemon
   * turns it off when its log level would discard them anyway.
   */
  logLines?: boolean;
  /** Whom to serve, what to allocate, how long to grant (default: standalonePolicy; failover has its own). */
  policy?: LeasePolicy;
  /** What `gethostname()` gives in dhcpd.conf expressions; default os.hostname(), read once. */
  hostname?: string;
}

/** Who is asking: RFC 2131 4.2 identifies a client by option 61 when present, else by htype + chaddr. */
export interface Client {
  cid?: Uint8Array;
  htype: number;
  hw: Uint8Array;
  key: string;
  host?: Host;
  /** Option 12 as the client sent it (ISC's client-hostname). */
  hostname?: string;
  /** The classes the client is in, in ISC's order (classes.ts); a shared empty list without classes. */
  classes: readonly Membership[];
  /** The request, for `if` expressions evaluated while answering. */
  msg: DhcpMessage;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function nowSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}

/**
 * The state and the rules the message handlers share. Holds no clock: every method that needs time takes it.
 */
export class CoreContext {
  readonly index: ConfigIndex;
  readonly counters = new Counters();
  readonly allocators: PoolAllocator[];
  readonly probes: ProbeTracker;
  readonly offerHoldMs: number;
  readonly abandonSeconds: number;
  readonly logLines: boolean;
  readonly policy: LeasePolicy;
  /** Classes, conditionals and lease limits of the configuration (inactive when it has none). */
  readonly classBook: ClassBook;
  /** The client whose answer `if` expressions are evaluated for (leaseLeft). */
  private evClient: Client | undefined;
  /** scopeFor's last answer with classes or conditionals (one packet asks about one address several times). */
  private lastScope: { c: Client; ip: Ip4; r: { view: ScopeView; subnet: Subnet | undefined } } | undefined;
  /** ISC's line builders, or ones returning '' when logLines is off. */
  readonly isc: IscLines;
  serverId: Ip4 | undefined;
  /** Offers in flight: address -> client key and deadline; client key -> address. */
  private readonly holds = new Map<Ip4, { key: string; untilMs: number }>();
  private readonly holdByClient = new Map<string, Ip4>();
  /** Every hold made, oldest first (with a head index), for expireHolds. */
  private holdOrder: Array<{ ip: Ip4; h: { key: string; untilMs: number } }> = [];
  private holdHead = 0;
  /** (ends, address) of ACTIVE and ABANDONED leases, for expiry. */
  readonly expiry = new NumberHeap();

  constructor(
    config: DhcpServerConfig,
    readonly table: LeaseTable,
    opts: CoreOptions,
  ) {
    this.index = new ConfigIndex(config);
    this.serverId = opts.serverId;
    this.offerHoldMs = opts.offerHoldMs ?? 10_000;
    this.abandonSeconds = opts.abandonSeconds ?? 86_400;
    this.logLines = opts.logLines ?? true;
    this.policy = opts.policy ?? standalonePolicy;
    this.isc = this.logLines ? isc : quietIsc;
    this.probes = new ProbeTracker(opts.probeFreshMs, opts.probeLookahead);
    this.classBook = new ClassBook(
      config,
      new PacketEval(opts.hostname ?? hostname(), (ip) => this.leaseLeft(ip)),
    );
    this.allocators = this.index.pools.map((p) => new PoolAllocator(p, table, this.index.fixedAddresses));
    // Straight from the records' fields (decoding a million leases here would cost seconds at start-up), into
    // heaps ordered once at the end.
    const note = (ip: Ip4, state: BindingState, ends: number, prev?: BindingState): void =>
      this.noteLease(ip, state, ends, prev);
    const heaps = [this.expiry, ...this.allocators.map((a) => a.reusable)];
    for (const h of heaps) h.deferOrder();
    table.forEachBrief(note);
    for (const h of heaps) h.restoreOrder();
    table.setListener(note);
    if (this.classBook.limited) this.rebill();
  }

  /**
   * What the core has to tell the operator about the lease table it started over (log it once): leases whose
   * billing names a class the configuration no longer has.
   */
  readonly notices: string[] = [];

  /**
   * ISC re-bills the leases of dhcpd.leases that say `billing class|subclass` as it reads them: the ACTIVE
   * records that carry a billing are billed again (ClassBook.rebill), so a restart does not reopen a class at
   * its lease limit. Only for a configuration with a lease limit; the records are checked for the billing flag
   * without decoding, and only those with one are decoded.
   */
  private rebill(): void {
    const gone = new Map<string, number>();
    for (const l of this.table.billed()) {
      if (l.state !== BindingState.ACTIVE || this.classBook.rebill(l.address, l.billing!)) continue;
      const cls = `class "${l.billing!.className}"`;
      const name = l.billing!.subclass ? `a subclass of ${cls}` : cls;
      gone.set(name, (gone.get(name) ?? 0) + 1);
    }
    for (const [name, n] of gone)
      this.notices.push(
        `lease limit: ${n} active lease${n === 1 ? '' : 's'} billed to ${name}, which the configuration no longer has: billing dropped`,
      );
  }

  get global() {
    return this.index.config.global;
  }

  /** Keeps the pool and expiry indexes in step with the table. */
  noteLease(ip: Ip4, state: BindingState, ends: number, prev?: BindingState): void {
    const r = this.index.rangeOf(ip);
    if (r) this.allocators[r.pool.id]!.note(ip, state, ends, prev);
    this.classBook.noteLease(ip, state);
    if ((state === BindingState.ACTIVE || state === BindingState.ABANDONED) && ends !== INFINITE)
      this.expiry.push(ends, ip >>> 0);
  }

  drop(reason: DropReason, detail: string, log?: string[]): Decision {
    this.counters.inc(`drop.${reason}`);
    const d: Decision = { writes: [], drop: { reason, detail } };
    if (log && log.length > 0) d.log = log;
    return d;
  }

  client(msg: DhcpMessage): Client {
    const cid = getClientId(msg);
    const hw = hwAddress(msg).slice();
    const key = cid ? clientIdKey(cid) : hwKey(msg.htype, hw);
    const host = this.index.hostFor(cid, msg.htype, hw, cid ? undefined : key);
    const c: Client = { htype: msg.htype, hw, key, classes: this.classBook.classify(msg), msg };
    if (cid) c.cid = cid.slice();
    if (host) c.host = host;
    const name = getHostName(msg);
    if (name !== undefined) c.hostname = name;
    return c;
  }

  /** ISC's rule: a lease with a uid belongs to that uid only; a lease without one belongs to its hardware address. */
  owns(l: Lease, c: Client): boolean {
    if (l.clientId) return c.cid !== undefined && bytesEqual(l.clientId, c.cid);
    return l.hwAddr !== undefined && l.hwType === c.htype && bytesEqual(l.hwAddr, c.hw);
  }

  leasesOf(c: Client): Lease[] {
    // One record per address, so the two lists never share a lease (a lease with a uid is not in byHw).
    const byHw = this.table.byHardware(c.htype, c.hw);
    const hwOnly = byHw.length === 0 ? byHw : byHw.filter((l) => !l.clientId);
    if (!c.cid) return hwOnly;
    const byCid = this.table.byClientId(c.cid);
    return hwOnly.length === 0 ? byCid : [...byCid, ...hwOnly];
  }

  /** The client's current or most recent lease on this network: unexpired active first, then the latest to end. */
  ownLease(c: Client, sn: SharedNetwork, nowSec: number): Lease | undefined {
    const mine = this.leasesOf(c);
    if (mine.length === 0) return undefined; // a new client: the common case under load
    const usable = mine.filter(
      (l) =>
        (l.state === BindingState.ACTIVE || isCandidate(l.state, this.peerOf(l.address) !== undefined)) &&
        this.index.inNetwork(l.address, sn) &&
        !this.index.fixedAddresses.has(l.address >>> 0),
    );
    const live = (l: Lease): number =>
      l.state === BindingState.ACTIVE && (l.ends === INFINITE || l.ends > nowSec) ? 1 : 0;
    usable.sort((a, b) => live(b) - live(a) || b.ends - a.ends);
    return usable[0];
  }

  /** The fixed address reserved for this client on this network, if any. */
  reservation(c: Client, sn: SharedNetwork): Ip4 | undefined {
    return c.host?.fixedAddresses.find((ip) => this.index.inNetwork(ip, sn));
  }

  /**
   * ISC pool permit lists (dhcp.c permitted()): any matching deny excludes; when the pool has allows, one of them
   * must match. `members of "X"` matches a client in class X or in one of X's subclasses.
   */
  permits(pool: PoolInfo, c: Client, bootp: boolean): boolean {
    const known = c.host !== undefined;
    const view = this.index.view(undefined, pool.pool.scope, undefined);
    if (!known && view.param('unknownClients') === false) return false;
    const p = pool.pool.permits;
    const matches: Array<[boolean | undefined, boolean]> = [
      [p.allowUnknownClients, !known],
      [p.allowKnownClients, known],
      [p.allowDynamicBootp, bootp],
      [p.allowAllClients, true],
    ];
    let anyAllow = false;
    let allowed = false;
    for (const [setting, match] of matches) {
      if (setting === false && match) return false;
      if (setting === true) {
        anyAllow = true;
        if (match) allowed = true;
      }
    }
    if (p.members)
      for (const { allow, class: cls } of p.members) {
        const match = c.classes.some((m) => memberOf(m, cls));
        if (!allow && match) return false;
        if (allow) {
          anyAllow = true;
          if (match) allowed = true;
        }
      }
    return !anyAllow || allowed;
  }

  /** ISC's lease-time for an `if`: what is left of the lease on ip held by the client being answered. */
  private leaseLeft(ip: Ip4): number | null {
    const l = this.table.get(ip);
    const c = this.evClient;
    if (!c || l?.state !== BindingState.ACTIVE || l.ends === INFINITE || !this.owns(l, c)) return null;
    const left = l.ends - this.classBook.nowSec;
    return left > 0 ? left : null;
  }

  /**
   * ISC ack_lease: every class of the client with a `lease limit` is full, so no lease (and no answer). Counted
   * as drop.class-lease-limit, with ISC's log words.
   */
  leaseLimitReached(c: Client, line: string): Decision {
    let last = '';
    for (const m of c.classes) {
      const cls = 'parent' in m ? m.parent : m;
      if (m.leaseLimit !== undefined || cls.leaseLimit !== undefined) last = cls.name;
    }
    this.counters.inc('classes.lease-limit-reached');
    return this.drop('class-lease-limit', `lease limit reached in all matching classes (last: ${last})`, [
      `${line}: no available billing: lease limit reached in all matching classes (last: ${last})`,
    ]);
  }

  /**
   * Whether ip may be given to c on network sn now. 'taken' means it is someone else's (or reserved), so a request
   * for it deserves a NAK; 'not-ours' means it is outside our pools; 'not-permitted' means pool rules exclude c.
   */
  usable(
    ip: Ip4,
    c: Client,
    sn: SharedNetwork,
    nowMs: number,
    bootp = false,
  ): { pool: PoolInfo } | 'taken' | 'not-ours' | 'not-permitted' | 'peer-owns' {
    ip = ip >>> 0;
    if (this.index.fixedAddresses.has(ip)) return 'taken';
    const r = this.index.rangeOf(ip);
    if (!r || r.pool.pool.sharedNetwork !== sn) return 'not-ours';
    if (!this.permits(r.pool, c, bootp)) return 'not-permitted';
    if (bootp && !r.range.dynamicBootp && r.pool.pool.permits.allowDynamicBootp !== true)
      return 'not-permitted';
    if (this.heldByOther(ip, c.key, nowMs)) return 'taken';
    const l = this.table.get(ip);
    const peer = r.pool.pool.failoverPeer;
    if (l?.state === BindingState.ACTIVE) {
      if (this.owns(l, c)) return { pool: r.pool };
      const expired = l.ends !== INFINITE && l.ends <= nowSeconds(nowMs);
      if (!expired) return 'taken';
    } else if (l && !isCandidate(l.state, peer !== undefined)) return 'taken';
    // A new binding on an address of a failover pool: the policy's to allow (whose free address it is). ISC
    // leaves a REQUEST for the partner's address to the partner ("lease owned by peer"): no NAK.
    if (peer === undefined) return { pool: r.pool };
    return this.policy.mayAllocate(peer, l, nowSeconds(nowMs)) ? { pool: r.pool } : 'peer-owns';
  }

  /** Candidates a pool's allocator passes over: offered to another client, or not ours to allocate. */
  passOver(pool: PoolInfo, ip: Ip4, key: string, nowMs: number): boolean {
    if (this.heldByOther(ip, key, nowMs)) return true;
    const peer = pool.pool.failoverPeer;
    return peer !== undefined && !this.policy.mayAllocate(peer, this.table.get(ip), nowSeconds(nowMs));
  }

  /** May the pool hand out addresses that never had a lease (allocate.ts `untouched`)? Pristine FREE in failover. */
  untouchedAllowed(pool: PoolInfo, nowMs: number): boolean {
    const peer = pool.pool.failoverPeer;
    return peer === undefined || this.policy.mayAllocate(peer, undefined, nowSeconds(nowMs));
  }

  /**
   * Does the partner have a free lease in this pool (ISC's peer_has_leases)? The policy gives us pristine FREE
   * addresses in a cooperating state only as the primary, so: as the primary, the partner's are the BACKUP leases;
   * as the secondary, FREE leases and never-used addresses.
   */
  private peerHasFree(pool: PoolInfo, peer: string): boolean {
    const a = this.allocators[pool.id]!;
    if (this.policy.mayAllocate(peer, undefined, 0)) return a.count(BindingState.BACKUP) > 0;
    return a.count(BindingState.FREE) > 0 || a.neverUsed() > 0;
  }

  /** The failover relationship of ip's pool, if any (the LeasePolicy is asked about those addresses only). */
  peerOf(ip: Ip4): string | undefined {
    return this.index.rangeOf(ip)?.pool.pool.failoverPeer;
  }

  /**
   * A packet about ip that its failover relationship does not let us answer (load balancing, a state that serves
   * nobody): the drop, counted under the verdict, with ISC's log words. Undefined: answer it (always for addresses
   * of other pools).
   */
  refusedByPeer(
    ip: Ip4,
    msg: DhcpMessage,
    type: MessageType | undefined,
    line: string,
    meta?: RequestMeta,
  ): Decision | undefined {
    const peer = this.peerOf(ip);
    if (peer === undefined) return undefined;
    const v = this.policy.serves(peer, msg, type, meta);
    if (v === 'serve') return undefined;
    if (v === 'load-balanced-to-peer') {
      // ISC dhcpdiscover: "cancel load balance to peer - no free leases" when the partner has none to give (a
      // secondary before the primary's pool balancing has given it BACKUP leases): we answer instead.
      if (!this.peerHasFree(this.index.rangeOf(ip)!.pool, peer)) {
        this.counters.inc('failover.load-balance-cancelled');
        return undefined;
      }
      return this.drop(v, `failover peer ${peer} serves this client`, [
        `${line}: load balance to peer ${peer}`,
      ]);
    }
    return this.drop(v, `failover peer ${peer}: not responding`, [
      `${line}: not responding (failover ${peer})`,
    ]);
  }

  heldByOther(ip: Ip4, key: string, nowMs: number): boolean {
    const h = this.holds.get(ip >>> 0);
    return h !== undefined && h.untilMs > nowMs && h.key !== key;
  }

  heldFor(key: string, nowMs: number): Ip4 | undefined {
    const ip = this.holdByClient.get(key);
    if (ip === undefined) return undefined;
    const h = this.holds.get(ip);
    return h && h.key === key && h.untilMs > nowMs ? ip : undefined;
  }

  hold(ip: Ip4, key: string, nowMs: number): void {
    this.releaseHold(key);
    const h = { key, untilMs: nowMs + this.offerHoldMs };
    this.holds.set(ip >>> 0, h);
    this.holdByClient.set(key, ip >>> 0);
    this.holdOrder.push({ ip: ip >>> 0, h });
  }

  releaseHold(key: string): void {
    const ip = this.holdByClient.get(key);
    if (ip === undefined) return;
    this.holdByClient.delete(key);
    if (this.holds.get(ip)?.key === key) this.endHold(ip);
  }

  /** A hold is gone (released or run out): the pool may offer the address again. */
  private endHold(ip: Ip4): void {
    this.holds.delete(ip);
    const r = this.index.rangeOf(ip);
    if (r) this.allocators[r.pool.id]!.released(ip);
  }

  /**
   * Ends the holds that have run out by nowMs, in the order they were made (offerHoldMs is fixed, so that is the
   * order they run out in). Called before each decision, so an address is offered again the moment its hold ends.
   */
  expireHolds(nowMs: number): void {
    const q = this.holdOrder;
    while (this.holdHead < q.length) {
      const e = q[this.holdHead]!;
      if (e.h.untilMs > nowMs) break;
      this.holdHead++;
      if (this.holds.get(e.ip) !== e.h) continue; // released or replaced since
      this.endHold(e.ip);
      if (this.holdByClient.get(e.h.key) === e.ip) this.holdByClient.delete(e.h.key);
    }
    if (this.holdHead === q.length) {
      this.holdOrder = [];
      this.holdHead = 0;
    } else if (this.holdHead >= 4096 && this.holdHead * 2 >= q.length) {
      this.holdOrder = q.slice(this.holdHead);
      this.holdHead = 0;
    }
  }

  /**
   * After a configuration reload: take over what the previous context knew that no file holds, so a reload
   * neither resets the counters operators watch nor lets an address just offered to one client be offered to
   * another before the first one's REQUEST arrives, nor reopens a class that is at its lease limit. Holds keep their deadlines; probe answers stay fresh as long
   * as they would have.
   */
  carryOver(prev: CoreContext): void {
    for (const [name, n] of Object.entries(prev.counters.toJSON())) this.counters.inc(name, n);
    for (let i = prev.holdHead; i < prev.holdOrder.length; i++) {
      const { ip, h } = prev.holdOrder[i]!;
      if (prev.holds.get(ip) !== h) continue; // released or replaced since
      // An address the new configuration no longer pools, or has made a host's fixed address, is not held: its
      // client would be offered it again on a retransmission and then NAKed.
      if (!this.index.rangeOf(ip) || this.index.fixedAddresses.has(ip)) continue;
      const copy = { key: h.key, untilMs: h.untilMs };
      this.holds.set(ip, copy);
      this.holdByClient.set(h.key, ip);
      this.holdOrder.push({ ip, h: copy });
    }
    this.probes.carryOver(prev.probes);
    this.classBook.carryOver(prev.classBook);
  }

  releaseHoldOn(ip: Ip4): void {
    const h = this.holds.get(ip >>> 0);
    if (h) this.releaseHold(h.key);
  }

  pruneHolds(nowMs: number): void {
    this.expireHolds(nowMs);
    // Holds made with a clock that went backwards are not in untilMs order: catch them here.
    for (const [ip, h] of this.holds) {
      if (h.untilMs > nowMs) continue;
      this.endHold(ip);
      if (this.holdByClient.get(h.key) === ip) this.holdByClient.delete(h.key);
    }
  }

  /**
   * The scopes that apply to an answer about ip to c: its subnet and pool, the client's classes and host
   * declaration, and the `if` branches they take for this packet (ISC's order: classes.ts). Without a client
   * (a NAK), the address's scopes alone.
   */
  scopeFor(ip: Ip4, c: Client | undefined): { view: ScopeView; subnet: Subnet | undefined } {
    const subnet = this.index.subnetFor(ip);
    const pool = this.index.rangeOf(ip)?.pool.pool;
    const host = c?.host;
    const hostView = this.index.view(host?.scope, pool?.scope, subnet?.scope);
    const book = this.classBook;
    if (!book.active || !c) return { view: hostView, subnet };
    // A packet asks about the same address several times (server id, booting, the answer): evaluate once.
    const last = this.lastScope;
    if (last && last.c === c && last.ip === ip) return last.r;
    const base = host ? this.index.view(undefined, pool?.scope, subnet?.scope) : hostView;
    book.ev.load(c.msg, host);
    this.evClient = c;
    if (pool || host?.fixedAddresses.includes(ip >>> 0)) book.ev.answering(ip, pool === undefined, hostView);
    const r = { view: book.resolve(hostView, base, c.classes), subnet };
    this.lastScope = { c, ip, r };
    return r;
  }

  /** May this client be refused by `deny booting` (its host, or any class or `if` that says so)? */
  mayDenyBooting(c: Client): boolean {
    return c.host !== undefined || this.classBook.denyBooting;
  }

  authoritative(subnet: Subnet): boolean {
    return (
      this.index.view(undefined, undefined, subnet.scope).param('authoritative') ??
      PARAM_DEFAULTS.authoritative
    );
  }

  pingCheck(pool: PoolInfo): boolean {
    return (
      this.index.view(undefined, pool.pool.scope, undefined).param('pingCheck') ?? PARAM_DEFAULTS.pingCheck
    );
  }

  pingTimeoutMs(pool: PoolInfo | undefined): number {
    const s = pool ? this.index.view(undefined, pool.pool.scope, undefined).param('pingTimeout') : undefined;
    return (s ?? PARAM_DEFAULTS.pingTimeout) * 1000;
  }

  /** RFC 2131 4.3.1: the requested lease time (option 51) within min/max, else the default; ISC's -1 is infinite. */
  leaseTime(view: ScopeView, requested: number | undefined): number {
    const n = (v: LeaseSeconds | undefined, d: number): number =>
      v === undefined ? d : v === 'infinite' ? INFINITE : v;
    const max = n(view.param('maxLeaseTime'), PARAM_DEFAULTS.maxLeaseTime);
    const min = n(view.param('minLeaseTime'), PARAM_DEFAULTS.minLeaseTime);
    const def = Math.min(n(view.param('defaultLeaseTime'), PARAM_DEFAULTS.defaultLeaseTime), max);
    if (requested === undefined) return def;
    const t = Math.min(requested, max);
    // ISC ack_lease: below min-lease-time gets min-lease-time if one is set, else default-lease-time. A request
    // for 0 seconds is below any minimum: a 0-second lease expires before the client has configured it.
    if (t < min || t === 0) return min > 0 ? Math.min(min, max) : def;
    return t;
  }

  /**
   * leaseTime() as the policy allows it for ip now: what OFFERs and ACKs give. For an address of a failover pool
   * (the policy's MCLT rule) also the tstp/tsfp an ACK stores with it; other records keep their own.
   */
  grantedLease(
    view: ScopeView,
    requested: number | undefined,
    ip: Ip4,
    nowMs: number,
  ): { leaseTime: number; times?: { tstp: number; tsfp: number } } {
    const desired = this.leaseTime(view, requested);
    const peer = this.peerOf(ip);
    if (peer === undefined) return { leaseTime: desired };
    const g = this.policy.leaseTime(peer, desired, this.table.get(ip), nowSeconds(nowMs));
    return { leaseTime: g.leaseTime, times: { tstp: g.tstp, tsfp: g.tsfp } };
  }

  /** Which subnet the packet came from: option 118 (RFC 3011), giaddr, else the receiving address. */
  locate(msg: DhcpMessage, meta: RequestMeta, selection: Ip4 | undefined): Subnet | undefined {
    if (selection !== undefined) return this.index.subnetFor(selection);
    if (msg.giaddr !== 0) return this.index.subnetFor(msg.giaddr);
    const local = meta.receivedOn.localIp;
    return local === undefined ? undefined : this.index.subnetFor(local);
  }

  /** The server identifier for an answer in this scope, or undefined when none can be named. */
  serverIdFor(view: ScopeView, meta: RequestMeta): Ip4 | undefined {
    return this.serverId ?? view.param('serverIdentifier') ?? meta.receivedOn.localIp;
  }

  /**
   * The one place the core changes a binding: the record `prev` (the table's record of ip, already read by the
   * caller) becomes what binding.ts says for `e`, and the table takes it at once, so the next decision sees it.
   * Returns the new record, which the caller hands back as a write (undefined: the event does not apply).
   */
  change(prev: Lease | undefined, ip: Ip4, e: BindingEvent, nowSec: number): Lease | undefined {
    const next = nextBinding(prev, ip, e, nowSec, this.index.rangeOf(ip)?.pool.pool.failoverPeer);
    if (next) this.table.put(next);
    return next;
  }

  /**
   * The bind event for c (ISC keeps the recorded host name when the client no longer sends one). `times`: the
   * failover times the policy granted the lease with (else the record keeps its own). `billing`: the class a
   * lease limit bills the lease to.
   */
  bindFor(
    prev: Lease | undefined,
    c: Client,
    ends: number,
    times?: { tstp: number; tsfp: number },
    billing?: LeaseBilling,
  ): BindingEvent {
    const e: BindingEvent = {
      on: 'bind',
      holder: c,
      ends,
      sameHolder: prev !== undefined && this.owns(prev, c),
    };
    if (times) e.times = times;
    if (billing) e.billing = billing;
    return e;
  }

  /**
   * The partner's record of an address (failover BNDUPD, pool balancing), already in the table: an offer we hold
   * on the address ends unless the address is still ours to give.
   */
  partnerChanged(l: Lease, nowMs: number): void {
    if (l.state === BindingState.FREE || l.state === BindingState.BACKUP) {
      const peer = this.peerOf(l.address);
      if (peer === undefined || this.policy.mayAllocate(peer, l, nowSeconds(nowMs))) return;
    }
    this.releaseHoldOn(l.address);
  }

  /** DHCPDECLINE and a ping answered: abandoned for abandon-lease-time. */
  get abandon(): BindingEvent {
    return { on: 'abandon', seconds: this.abandonSeconds };
  }
}
