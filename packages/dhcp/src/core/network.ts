import type { Ip4 } from '@hadhcp/common';
import type {
  DataTest,
  DhcpServerConfig,
  EvalContext,
  Host,
  OptionSetting,
  Params,
  Pool,
  Range,
  Scope,
  SharedNetwork,
  Subnet,
} from './config.js';
import { clientIdKey, hwKey } from './lease-table.js';

/** One pool with its ranges sorted and a dense id, so per-pool state lives in arrays indexed by id. */
export interface PoolInfo {
  id: number;
  pool: Pool;
  ranges: Range[];
}

interface RangeEntry {
  start: Ip4;
  end: Ip4;
  range: Range;
  pool: PoolInfo;
}

/**
 * Lookups over a DhcpServerConfig that the server core needs per packet: subnet by address (longest prefix),
 * pool and range by address (binary search over sorted ranges), host declarations by client id and hardware.
 * Built once per configuration; immutable afterwards.
 */
export class ConfigIndex {
  readonly pools: PoolInfo[] = [];
  /** Every fixed-address of every host: never handed out from a pool (ISC warns about such overlaps). */
  readonly fixedAddresses = new Set<Ip4>();
  private readonly ranges: RangeEntry[] = [];
  private readonly subnetsByPrefix: Subnet[];
  private readonly hostsByCid = new Map<string, Host>();
  private readonly hostsByHw = new Map<string, Host>();
  private readonly poolsByNetwork = new Map<SharedNetwork, PoolInfo[]>();
  /** ScopeViews by (host, pool, subnet) scope: the scopes never change, and a view is built per answer. */
  private readonly views = new Map<
    Scope | undefined,
    Map<Scope | undefined, Map<Scope | undefined, ScopeView>>
  >();

  constructor(readonly config: DhcpServerConfig) {
    this.subnetsByPrefix = [...config.subnets].sort((a, b) => b.prefix - a.prefix);
    const networks = new Set<SharedNetwork>(config.sharedNetworks);
    for (const s of config.subnets) networks.add(s.sharedNetwork);
    for (const sn of networks) {
      const list: PoolInfo[] = [];
      for (const pool of sn.pools) {
        const info: PoolInfo = {
          id: this.pools.length,
          pool,
          ranges: [...pool.ranges].sort((a, b) => a.start - b.start),
        };
        this.pools.push(info);
        list.push(info);
        for (const r of info.ranges)
          this.ranges.push({ start: r.start >>> 0, end: r.end >>> 0, range: r, pool: info });
      }
      this.poolsByNetwork.set(sn, list);
    }
    this.ranges.sort((a, b) => a.start - b.start);
    // First declaration wins, as ISC matches the first host it parsed for a key.
    for (const h of config.hosts) {
      if (h.clientId && !this.hostsByCid.has(clientIdKey(h.clientId)))
        this.hostsByCid.set(clientIdKey(h.clientId), h);
      if (h.hardware && !this.hostsByHw.has(hwKey(h.hardware.htype, h.hardware.addr)))
        this.hostsByHw.set(hwKey(h.hardware.htype, h.hardware.addr), h);
      for (const ip of h.fixedAddresses) this.fixedAddresses.add(ip >>> 0);
    }
  }

  /** The most specific subnet containing ip. */
  subnetFor(ip: Ip4): Subnet | undefined {
    for (const s of this.subnetsByPrefix) if ((ip & s.mask) >>> 0 === s.network >>> 0) return s;
    return undefined;
  }

  /** The pool and range an address belongs to (ranges do not overlap in a valid config). */
  rangeOf(ip: Ip4): { pool: PoolInfo; range: Range } | undefined {
    ip = ip >>> 0;
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = this.ranges[mid]!;
      if (ip < e.start) hi = mid - 1;
      else if (ip > e.end) lo = mid + 1;
      else return { pool: e.pool, range: e.range };
    }
    return undefined;
  }

  poolsOf(sn: SharedNetwork): PoolInfo[] {
    return this.poolsByNetwork.get(sn) ?? [];
  }

  /** ISC matches a host by dhcp-client-identifier first, then by hardware address. */
  hostFor(
    clientId: Uint8Array | undefined,
    htype: number,
    hw: Uint8Array,
    hwKeyKnown?: string,
  ): Host | undefined {
    if (this.hostsByCid.size === 0 && this.hostsByHw.size === 0) return undefined;
    if (clientId) {
      const h = this.hostsByCid.get(clientIdKey(clientId));
      if (h) return h;
    }
    return this.hostsByHw.get(hwKeyKnown ?? hwKey(htype, hw));
  }

  inNetwork(ip: Ip4, sn: SharedNetwork): boolean {
    return this.subnetFor(ip)?.sharedNetwork === sn;
  }

  /** ScopeView.of over this configuration's global scope, made once per combination of scopes. */
  view(host: Scope | undefined, pool: Scope | undefined, subnet: Scope | undefined): ScopeView {
    let byPool = this.views.get(host);
    if (!byPool) this.views.set(host, (byPool = new Map()));
    let bySubnet = byPool.get(pool);
    if (!bySubnet) byPool.set(pool, (bySubnet = new Map()));
    let v = bySubnet.get(subnet);
    if (!v) {
      v = ScopeView.of({ host, pool, subnet, global: this.config.global });
      bySubnet.set(subnet, v);
    }
    return v;
  }
}

/**
 * The scopes that apply to one answer, nearest first: host, then pool, then the address's subnet, then the shared
 * network and global scope. Each scope appears once even when several chains reach it (a host's parent is often the
 * global scope, which must still come last).
 */
export class ScopeView {
  private sortedOptions: Map<number, OptionSetting> | undefined;
  /** The context computed options (`option NAME = EXPR;`) read: set on the views ClassBook.resolve gives. */
  ev?: EvalContext;
  /** This view's computed options by code (reply.ts fills it with the view's options); absent: none. */
  computed?: Map<number, DataTest>;

  constructor(readonly scopes: Scope[]) {}

  static of(parts: {
    host?: Scope | undefined;
    pool?: Scope | undefined;
    subnet?: Scope | undefined;
    global: Scope;
  }): ScopeView {
    const tail = chain(parts.subnet ?? parts.global);
    if (!tail.includes(parts.global)) tail.push(parts.global);
    const poolPart = chain(parts.pool).filter((s) => !tail.includes(s));
    const hostPart = chain(parts.host).filter((s) => !tail.includes(s) && !poolPart.includes(s));
    return new ScopeView([...hostPart, ...poolPart, ...tail]);
  }

  param<K extends keyof Params>(key: K): Params[K] | undefined {
    for (const s of this.scopes) {
      const v = s.params[key];
      if (v !== undefined) return v;
    }
    return undefined;
  }

  option(code: number): OptionSetting | undefined {
    for (const s of this.scopes) {
      const o = s.options.get(code);
      if (o) return o;
    }
    return undefined;
  }

  /** Every option set in any scope, the nearest setting winning, in ascending code order. */
  options(): Map<number, OptionSetting> {
    // Scopes are immutable once parsed (a reload builds new ones): compute once per view.
    if (this.sortedOptions) return this.sortedOptions;
    const out = new Map<number, OptionSetting>();
    for (const s of this.scopes) for (const [code, o] of s.options) if (!out.has(code)) out.set(code, o);
    this.sortedOptions = new Map([...out.entries()].sort((a, b) => a[0] - b[0]));
    return this.sortedOptions;
  }
}

function chain(scope: Scope | undefined): Scope[] {
  const out: Scope[] = [];
  for (let s = scope; s && !out.includes(s); s = s.parent) out.push(s);
  return out;
}
