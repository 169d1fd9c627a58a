/**
 * Client classes and conditionals per packet (dhcpd.conf(5) CLIENT CLASSING, CONDITIONAL BEHAVIOUR), with ISC
 * 4.4.3's rules:
 *
 * - Membership (class.c classify_client): classes are tested in the order declared, and a client may be in
 *   several. A class with `match if` admits the client when the test is true (null counts as false); with
 *   `match` (or `spawn with`) as well, the test gates the lookup. The match value, when not null or empty, is
 *   looked up among the subclasses: a hit makes the client a member of that subclass and of its class; a miss in
 *   a spawning class makes a subclass for the value (one per distinct value, kept while the server runs).
 * - Scope order (dhcp.c ack_lease runs subnet, then pool, then classes last-to-first, then host, each
 *   superseding what ran before): host > classes, the first matched winning > pool > subnet > shared-network >
 *   global. A subclass's statements come before its class's. A taken `if` branch comes just before the scope
 *   holding the `if` (see Scope.conditionals), a later `if` before an earlier one.
 * - Lease limits (ack_lease billing): a lease is billed to the first of the client's classes with a limit that
 *   has room; when every such class is full the client gets no lease. A spawned subclass has its own count.
 *
 * The expressions were compiled by the config reader; they read the packet through PacketEval, one per core,
 * refilled for each packet: a configuration without classes or `if` never touches it.
 */
import { writeIp4, type Ip4 } from '@hadhcp/common';
import { BindingState, type LeaseBilling } from '@hadhcp/leases';
import { getOption } from '../wire/accessors.js';
import type { DhcpMessage } from '../wire/types.js';
import {
  dataKey,
  type ClientClass,
  type Conditional,
  type DhcpServerConfig,
  type Host,
  type Scope,
  type SubClass,
} from './config.js';
import type { EvalContext } from './eval-context.js';
import { ScopeView } from './network.js';

/** A class the client is in: a class matched with `match if`, or a subclass (declared or spawned). */
export type Membership = ClientClass | SubClass;

const NONE: readonly Membership[] = [];
/** The scope of every spawned subclass: it has no statements of its own (its class's apply). */
const SPAWNED: Scope = Object.freeze({ params: Object.freeze({}), options: new Map() }) as Scope;
const enc = new TextEncoder();

export function isSubclass(m: Membership): m is SubClass {
  return 'parent' in m;
}

/** Is `m` the class `cls`, or a subclass of it (ISC's permit check also tests the superclass)? */
export function memberOf(m: Membership, cls: ClientClass): boolean {
  return m === cls || (isSubclass(m) && m.parent === cls);
}

/** The EvalContext of one packet, refilled by load(); its buffers are reused from packet to packet. */
export class PacketEval implements EvalContext {
  private msg: DhcpMessage | undefined;
  private rawBuf = new Uint8Array(576);
  private rawLen = -1;
  private readonly addr = new Uint8Array(4);
  private base: ScopeView | undefined;
  private host: Host | undefined;
  private readonly names = new WeakMap<Host, Uint8Array>();
  known: boolean | null = null;
  isStatic = false;
  leasedAddress: Uint8Array | null = null;
  private answeringIp: Ip4 | undefined;
  readonly hostname: Uint8Array;

  constructor(
    hostname: string,
    /** Seconds left on the lease of ip held by the packet's client, else null (ISC's lease-time). */
    private readonly leaseLeft: (ip: Ip4) => number | null = () => null,
  ) {
    this.hostname = enc.encode(hostname);
  }

  /** The packet and the host declaration that matched (none while classifying, as in ISC); no lease yet. */
  load(msg: DhcpMessage, host: Host | undefined): this {
    this.msg = msg;
    this.rawLen = -1;
    this.host = host;
    this.known = host !== undefined;
    this.isStatic = false;
    this.leasedAddress = null;
    this.answeringIp = undefined;
    this.base = undefined;
    return this;
  }

  /** For `if` in an answer about `ip`: the lease address, and the scopes `config-option` reads. */
  answering(ip: Ip4 | undefined, isStatic: boolean, base: ScopeView): this {
    this.answeringIp = ip;
    if (ip === undefined) this.leasedAddress = null;
    else {
      writeIp4(this.addr, 0, ip >>> 0);
      this.leasedAddress = this.addr;
    }
    this.isStatic = isStatic;
    this.base = base;
    return this;
  }

  /** `lease-time`: read from the lease table only when an expression asks (leaseLeft, given by the core). */
  get leaseTime(): number | null {
    return this.answeringIp === undefined ? null : this.leaseLeft(this.answeringIp);
  }

  get hostDeclName(): Uint8Array | null {
    const h = this.host;
    if (!h) return null;
    let b = this.names.get(h);
    if (!b) this.names.set(h, (b = enc.encode(h.name)));
    return b;
  }

  /** The request laid out as on the wire (header, cookie, options in order, end): `packet` and `hardware`. */
  get raw(): Uint8Array | null {
    const m = this.msg;
    if (!m) return null;
    if (this.rawLen < 0) this.rawLen = this.layOut(m);
    return this.rawBuf.subarray(0, this.rawLen);
  }

  option(space: string, code: number): Uint8Array | null {
    const m = this.msg;
    if (!m) return null;
    if (space === 'dhcp') return getOption(m, code) ?? null;
    if (space !== 'agent') return null;
    // RFC 3046: relay agent sub-options, code and length each one octet.
    const ai = getOption(m, 82);
    if (!ai) return null;
    for (let off = 0; off + 2 <= ai.length;) {
      const len = ai[off + 1]!;
      if (off + 2 + len > ai.length) return null;
      if (ai[off] === code) return ai.subarray(off + 2, off + 2 + len);
      off += 2 + len;
    }
    return null;
  }

  configOption(space: string, code: number): Uint8Array | null {
    if (space !== 'dhcp' || !this.base) return null;
    return this.base.option(code)?.data ?? null;
  }

  private layOut(m: DhcpMessage): number {
    let need = 240 + 1;
    for (const o of m.options) need += o.data.length + 2 * Math.ceil(Math.max(o.data.length, 1) / 255);
    if (this.rawBuf.length < need) this.rawBuf = new Uint8Array(need * 2);
    const b = this.rawBuf;
    b.fill(0, 0, 240);
    b[0] = m.op;
    b[1] = m.htype;
    b[2] = m.hlen;
    b[3] = m.hops;
    writeIp4(b, 4, m.xid >>> 0);
    b[8] = m.secs >>> 8;
    b[9] = m.secs & 255;
    b[10] = m.flags >>> 8;
    b[11] = m.flags & 255;
    writeIp4(b, 12, m.ciaddr >>> 0);
    writeIp4(b, 16, m.yiaddr >>> 0);
    writeIp4(b, 20, m.siaddr >>> 0);
    writeIp4(b, 24, m.giaddr >>> 0);
    b.set(m.chaddr.subarray(0, 16), 28);
    b.set(m.sname.subarray(0, 64), 44);
    b.set(m.file.subarray(0, 128), 108);
    if (!m.hasCookie) return 236;
    b[236] = 99;
    b[237] = 130;
    b[238] = 83;
    b[239] = 99;
    let k = 240;
    for (const o of m.options) {
      // RFC 3396: a value longer than 255 octets is split into instances of the same code.
      let off = 0;
      do {
        const n = Math.min(255, o.data.length - off);
        b[k++] = o.code;
        b[k++] = n;
        b.set(o.data.subarray(off, off + n), k);
        k += n;
        off += n;
      } while (off < o.data.length);
    }
    b[k++] = 255;
    return k;
  }
}

/** The classes of one configuration: membership, class scopes, conditionals, lease limits. */
export class ClassBook {
  readonly classes: readonly ClientClass[];
  /** Classes or conditionals exist: answers need per-packet scope resolution. */
  readonly active: boolean;
  private readonly hasConditionals: boolean;
  /**
   * A class or an `if` body says `allow|deny booting`: then every client's answer must be checked for it, not
   * only those with a host declaration (the core's cheap path).
   */
  readonly denyBooting: boolean;
  /**
   * Subclass scopes with no statements (`subclass "c" DATA;`, every spawned one): left out of scope lists, so a
   * thousand per-MAC subclasses share their class's views instead of making one each.
   */
  private readonly emptySubclass = new Set<Scope>();
  /** Subclasses spawned while running, per spawning class. */
  private readonly spawned = new Map<ClientClass, Map<string, SubClass>>();
  /** Views by the list of scopes that made them (a trie keyed by scope), so a view is built once. */
  private readonly views: TrieNode = { next: new Map() };
  private readonly scratch: Scope[] = [];
  /** The time of the packet being decided, in seconds (set by the server for each packet: `lease-time`). */
  nowSec = 0;
  /** Lease limits: which class each address is billed to, and how many each class holds. */
  private readonly billedTo = new Map<Ip4, Membership>();
  private readonly billed = new Map<Membership, number>();
  /** Each billed class's LeaseBilling, made once: the record of every lease billed to it carries it. */
  private readonly billings = new WeakMap<Membership, LeaseBilling | null>();
  /** Some class or subclass has a `lease limit`: only then are billings read back from the lease records. */
  readonly limited: boolean;

  constructor(
    config: DhcpServerConfig,
    readonly ev: PacketEval,
  ) {
    this.classes = config.classes ?? [];
    this.hasConditionals = config.hasConditionals === true;
    this.active = this.classes.length > 0 || this.hasConditionals;
    this.denyBooting = this.active && setAnywhere(config, 'booting');
    this.emptySubclass.add(SPAWNED);
    this.limited = this.classes.some(
      (c) => c.leaseLimit !== undefined || [...c.subclasses.values()].some((s) => s.leaseLimit !== undefined),
    );
    for (const cls of this.classes)
      for (const sub of cls.subclasses.values()) {
        const sc = sub.scope;
        if (
          Object.keys(sc.params).length === 0 &&
          sc.options.size === 0 &&
          !sc.conditionals &&
          !sc.spaceOptions &&
          !sc.statements &&
          !sc.events
        )
          this.emptySubclass.add(sc);
      }
  }

  /** The client's classes in ISC's order; the shared empty list when the configuration has none. */
  classify(msg: DhcpMessage): readonly Membership[] {
    if (this.classes.length === 0) return NONE;
    // ISC classifies a packet as it arrives, before it looks for a host declaration: `known` is false and
    // `host-decl-name` null in `match if` even for a client with one (dhcpd 4.4.3, fixtures/classes/probe.log).
    const ev = this.ev.load(msg, undefined);
    let out: Membership[] | undefined;
    for (const cls of this.classes) {
      let m: Membership | undefined;
      if (cls.matchIf && cls.matchIf(ev) !== true) continue;
      if (cls.match) {
        const v = cls.match(ev);
        if (v === null || v.length === 0) continue;
        const key = dataKey(v);
        m = cls.subclasses.get(key) ?? this.spawned.get(cls)?.get(key);
        if (!m && cls.spawn) m = this.spawn(cls, key, v);
        if (!m) continue;
      } else if (cls.matchIf) m = cls;
      else continue; // no match statement: ISC's class has no members (we do not support `add`)
      (out ??= []).push(m);
    }
    return out ?? NONE;
  }

  private spawn(cls: ClientClass, key: string, v: Uint8Array): SubClass {
    let byKey = this.spawned.get(cls);
    if (!byKey) this.spawned.set(cls, (byKey = new Map()));
    // One shared empty scope (emptySubclass): spawned values do not each make a view.
    const sub: SubClass = { parent: cls, data: v.slice(), scope: SPAWNED, pos: cls.pos };
    if (cls.leaseLimit !== undefined) sub.leaseLimit = cls.leaseLimit;
    byKey.set(key, sub);
    return sub;
  }

  /**
   * The scopes of an answer, in ISC's order: the host's (`hostView` minus `base`), the classes', then `base`
   * (pool, subnet, shared network, global), each preceded by its taken `if` branches. `base` itself when
   * nothing applies. The EvalContext must be loaded for this packet and answer (PacketEval.answering).
   */
  resolve(hostView: ScopeView, base: ScopeView, members: readonly Membership[]): ScopeView {
    if (!this.hasConditionals && members.length === 0) return hostView;
    const out = this.scratch;
    out.length = 0;
    const hostLen = hostView.scopes.length - base.scopes.length;
    for (let i = 0; i < hostLen; i++) this.push(hostView.scopes[i]!);
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      if (isSubclass(m)) {
        if (!this.emptySubclass.has(m.scope)) this.push(m.scope);
        this.push(m.parent.scope);
      } else this.push(m.scope);
    }
    for (let i = 0; i < base.scopes.length; i++) this.push(base.scopes[i]!);
    let node = this.views;
    for (let i = 0; i < out.length; i++) {
      const s = out[i]!;
      let n = node.next.get(s);
      if (!n) node.next.set(s, (n = { next: new Map() }));
      node = n;
    }
    const view = (node.view ??= new ScopeView(out.slice()));
    view.ev = this.ev; // computed options read the packet loaded in it (always this server's one PacketEval)
    return view;
  }

  /** A scope, after the bodies of its `if`s that are taken (a later `if` before an earlier one). */
  private push(s: Scope): void {
    const conds = s.conditionals;
    if (conds)
      for (let j = conds.length - 1; j >= 0; j--) {
        const body = taken(conds[j]!, this.ev);
        if (body) this.push(body);
      }
    this.scratch.push(s);
  }

  /**
   * Lease limits: may ip be leased to a client in these classes? True when no class of the client has a limit,
   * when ip is billed to one of them already, or when one with a limit has room (ISC bills the first such).
   */
  mayLease(ip: Ip4, members: readonly Membership[]): boolean {
    return this.billing(ip, members) !== 'full';
  }

  /**
   * Bills ip (now leased to a client in these classes) as mayLease() allowed. A billing to a class the client is
   * not in ends (ISC ack_lease: the address changed hands, or the client left the class).
   */
  bill(ip: Ip4, members: readonly Membership[]): void {
    const b = this.billing(ip, members);
    if (b === 'full') return;
    if (b === 'none') {
      const was = this.billedTo.get(ip >>> 0);
      if (was && !members.includes(was)) this.unbill(ip);
      return;
    }
    this.unbill(ip);
    this.charge(ip >>> 0, b);
  }

  /** A lease left ACTIVE: its billing ends (ISC unbills on release and expiry). */
  noteLease(ip: Ip4, state: BindingState): void {
    if (state !== BindingState.ACTIVE && this.billedTo.size > 0) this.unbill(ip);
  }

  /**
   * After a reload: the leases billed under the previous configuration stay billed to the class of the same name
   * (a subclass: of the same class and value; a spawned one is spawned again), so a reload does not reopen full
   * classes. Classes that are gone take their billing with them. A lease this book billed already (from its
   * record, rebill()) is left as it is.
   */
  carryOver(prev: ClassBook): void {
    for (const [ip, m] of prev.billedTo) {
      if (this.billedTo.has(ip)) continue;
      const now = this.counterpart(m);
      if (now) this.charge(ip, now);
    }
  }

  /**
   * The billing to store with ip's record: the class it is billed to now, if any. A class name or subclass value
   * longer than the lease record holds (255 bytes each) is billed in memory only, and counts again from 0 after
   * a restart.
   */
  billingOf(ip: Ip4): LeaseBilling | undefined {
    const m = this.billedTo.get(ip >>> 0);
    if (!m) return undefined;
    let b = this.billings.get(m);
    if (b === undefined) {
      const name = isSubclass(m) ? m.parent.name : m.name;
      const fits = enc.encode(name).length <= 255 && (!isSubclass(m) || m.data.length <= 255);
      b = !fits ? null : isSubclass(m) ? { className: name, subclass: m.data } : { className: name };
      this.billings.set(m, b);
    }
    return b ?? undefined;
  }

  /**
   * At start (ISC reading dhcpd.leases): an ACTIVE lease whose record says it was billed is billed again, to the
   * class of that name, or to the subclass of that class and value (a spawning class spawns it again, as a packet
   * would). Counted even past the limit: the leases exist. False when the configuration has no such class (or no
   * such subclass, and the class does not spawn): the billing is dropped.
   */
  rebill(ip: Ip4, b: LeaseBilling): boolean {
    const cls = this.classes.find((c) => c.name === b.className);
    if (!cls) return false;
    const m = b.subclass ? this.subclassOf(cls, b.subclass) : cls;
    if (!m) return false;
    this.unbill(ip);
    this.charge(ip >>> 0, m);
    return true;
  }

  private charge(ip: Ip4, m: Membership): void {
    this.billedTo.set(ip, m);
    this.billed.set(m, (this.billed.get(m) ?? 0) + 1);
  }

  private counterpart(m: Membership): Membership | undefined {
    const name = isSubclass(m) ? m.parent.name : m.name;
    const cls = this.classes.find((c) => c.name === name);
    if (!cls || !isSubclass(m)) return cls;
    return this.subclassOf(cls, m.data);
  }

  /** The subclass of cls for this match value: declared, spawned already, or spawned now when cls spawns. */
  private subclassOf(cls: ClientClass, data: Uint8Array): SubClass | undefined {
    const key = dataKey(data);
    const sub = cls.subclasses.get(key) ?? this.spawned.get(cls)?.get(key);
    return sub ?? (cls.spawn ? this.spawn(cls, key, data) : undefined);
  }

  /** Leases billed to a class now (status, tests). */
  billedCount(m: Membership): number {
    return this.billed.get(m) ?? 0;
  }

  private unbill(ip: Ip4): void {
    const was = this.billedTo.get(ip >>> 0);
    if (!was) return;
    this.billedTo.delete(ip >>> 0);
    this.billed.set(was, this.billed.get(was)! - 1);
  }

  /** 'none': no limit applies or ip is billed already; 'full': every limited class is full; else the class. */
  private billing(ip: Ip4, members: readonly Membership[]): Membership | 'none' | 'full' {
    let limited = false;
    const was = this.billedTo.get(ip >>> 0);
    for (const m of members) if (m === was) return 'none';
    for (const m of members) {
      // A subclass without its own limit has its class's (ISC copies it when it makes the subclass).
      const limit = m.leaseLimit ?? (isSubclass(m) ? m.parent.leaseLimit : undefined);
      if (limit === undefined) continue;
      limited = true;
      if ((this.billed.get(m) ?? 0) < limit) return m;
    }
    return limited ? 'full' : 'none';
  }
}

/** Are two lease billings the same class (a record need not be rewritten for it)? */
export function sameBilling(a: LeaseBilling | undefined, b: LeaseBilling | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.className !== b.className) return false;
  const x = a.subclass;
  const y = b.subclass;
  if (!x || !y) return x === y;
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Does a class, a subclass or an `if` body anywhere in the configuration set this parameter? */
function setAnywhere(config: DhcpServerConfig, key: keyof Scope['params']): boolean {
  const seen = new Set<Scope>();
  const inBodies = (s: Scope | undefined): boolean => {
    for (; s && !seen.has(s); s = s.parent) {
      seen.add(s);
      for (const c of s.conditionals ?? [])
        for (const b of c.branches) if (b.scope.params[key] !== undefined || inBodies(b.scope)) return true;
    }
    return false;
  };
  for (const cls of config.classes ?? []) {
    if (cls.scope.params[key] !== undefined || inBodies(cls.scope)) return true;
    for (const sub of cls.subclasses.values())
      if (sub.scope.params[key] !== undefined || inBodies(sub.scope)) return true;
  }
  if (config.hasConditionals !== true) return false;
  const scopes = [
    config.global,
    ...config.sharedNetworks.flatMap((sn) => [sn.scope, ...sn.pools.map((p) => p.scope)]),
    ...config.subnets.map((s) => s.scope),
    ...config.hosts.map((h) => h.scope),
  ];
  return scopes.some(inBodies);
}

interface TrieNode {
  next: Map<Scope, TrieNode>;
  view?: ScopeView;
}

/** The body of the first branch whose test is true (null is false), or of `else`. */
function taken(c: Conditional, ev: EvalContext): Scope | undefined {
  for (const b of c.branches) if (!b.test || b.test(ev) === true) return b.scope;
  return undefined;
}
