/**
 * Builders for tests: a DhcpServerConfig as the config reader would produce it, and client messages. Kept small and
 * explicit so each test reads like the dhcpd.conf it stands for.
 */
import { parseIp4, parseMac, prefixToMask, writeIp4, type Ip4 } from '@hadhcp/common';
import {
  BOOTREQUEST,
  BROADCAST_FLAG,
  MessageType,
  type DhcpMessage,
  type DhcpOption,
} from '../wire/types.js';
import type {
  DhcpServerConfig,
  Host,
  OptionSetting,
  Params,
  Pool,
  PoolPermits,
  Scope,
  SharedNetwork,
  SourcePos,
  Subnet,
} from './config.js';
import type { RequestMeta } from './types.js';

export const ip = (s: string): Ip4 => {
  const v = parseIp4(s);
  if (v === undefined) throw new Error(`bad ip ${s}`);
  return v;
};

export const mac = (s: string): Uint8Array => {
  const v = parseMac(s);
  if (!v) throw new Error(`bad mac ${s}`);
  return v;
};

export const ipBytes = (...addrs: string[]): Uint8Array => {
  const b = new Uint8Array(4 * addrs.length);
  addrs.forEach((a, i) => writeIp4(b, 4 * i, ip(a)));
  return b;
};

export const u32Bytes = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  writeIp4(b, 0, v >>> 0);
  return b;
};

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

const POS: SourcePos = { file: 'test.conf', line: 1, col: 1 };

/**
 * A scope with its options. A record lists them in ascending code order (JavaScript's order for integer keys); a
 * list of [code, value] pairs keeps the order written, as the dhcpd.conf parser does (ISC's option order depends on it).
 */
export function makeScope(
  parent: Scope | undefined,
  params: Params = {},
  options: Record<number, Uint8Array> | Array<[number, Uint8Array]> = {},
): Scope {
  const map = new Map<number, OptionSetting>();
  const pairs = Array.isArray(options) ? options : Object.entries(options);
  for (const [code, data] of pairs)
    map.set(Number(code), { code: Number(code), name: `opt${code}`, data, pos: POS });
  const s: Scope = { params, options: map };
  if (parent) s.parent = parent;
  return s;
}

export interface PoolSpec {
  ranges: Array<[string, string] | [string, string, 'dynamic-bootp']>;
  params?: Params;
  options?: Record<number, Uint8Array>;
  permits?: PoolPermits;
  failoverPeer?: string;
  /** Ranges written straight in the subnet (ISC's implicit pool), not in a `pool { }`. */
  implicit?: boolean;
}

export interface SubnetSpec {
  params?: Params;
  options?: Record<number, Uint8Array>;
  pools?: PoolSpec[];
  /** Put the subnet in this shared network instead of an implicit one. */
  sharedNetwork?: SharedNetwork;
}

/** Builds a DhcpServerConfig with the scope chain ISC uses: global > shared-network > subnet > pool; host > global. */
export class ConfigBuilder {
  readonly global: Scope;
  private readonly cfg: DhcpServerConfig;

  constructor(params: Params = {}, options: Record<number, Uint8Array> = {}) {
    this.global = makeScope(undefined, params, options);
    this.cfg = {
      global: this.global,
      sharedNetworks: [],
      subnets: [],
      hosts: [],
      failoverPeers: [],
      customOptions: [],
      files: ['test.conf'],
    };
  }

  sharedNetwork(name: string, params: Params = {}): SharedNetwork {
    const sn: SharedNetwork = {
      name,
      implicit: false,
      scope: makeScope(this.global, params),
      subnets: [],
      pools: [],
      pos: POS,
    };
    this.cfg.sharedNetworks.push(sn);
    return sn;
  }

  subnet(cidr: string, spec: SubnetSpec = {}): Subnet {
    const [net, len] = cidr.split('/');
    const prefix = Number(len);
    let sn = spec.sharedNetwork;
    if (!sn) {
      sn = { name: net!, implicit: true, scope: makeScope(this.global), subnets: [], pools: [], pos: POS };
      this.cfg.sharedNetworks.push(sn);
    }
    const subnet: Subnet = {
      network: ip(net!),
      mask: prefixToMask(prefix),
      prefix,
      scope: makeScope(sn.scope, spec.params, spec.options),
      sharedNetwork: sn,
      pos: POS,
    };
    sn.subnets.push(subnet);
    this.cfg.subnets.push(subnet);
    for (const p of spec.pools ?? []) {
      const pool: Pool = {
        ranges: p.ranges.map(([a, b, d]) => ({
          start: ip(a),
          end: ip(b),
          dynamicBootp: d === 'dynamic-bootp',
          pos: POS,
        })),
        scope: makeScope(subnet.scope, p.params, p.options),
        permits: p.permits ?? {},
        sharedNetwork: sn,
        pos: POS,
      };
      if (p.failoverPeer) pool.failoverPeer = p.failoverPeer;
      if (p.implicit) pool.implicit = true;
      sn.pools.push(pool);
    }
    return subnet;
  }

  host(
    name: string,
    spec: {
      hw?: string;
      clientId?: Uint8Array;
      fixed?: string[];
      params?: Params;
      options?: Record<number, Uint8Array>;
    },
  ): Host {
    const h: Host = {
      name,
      fixedAddresses: (spec.fixed ?? []).map(ip),
      scope: makeScope(this.global, spec.params, spec.options),
      pos: POS,
    };
    if (spec.hw) h.hardware = { htype: 1, addr: mac(spec.hw) };
    if (spec.clientId) h.clientId = spec.clientId;
    this.cfg.hosts.push(h);
    return h;
  }

  build(): DhcpServerConfig {
    return this.cfg;
  }
}

export interface MsgSpec {
  mac?: string;
  xid?: number;
  ciaddr?: string;
  giaddr?: string;
  broadcast?: boolean;
  requested?: string;
  serverId?: string;
  clientId?: Uint8Array;
  prl?: number[];
  hostname?: string;
  leaseTime?: number;
  maxSize?: number;
  subnetSelection?: string;
  extra?: DhcpOption[];
}

/** A client message; `type` undefined makes a BOOTP request (no option 53). */
export function clientMsg(type: MessageType | undefined, s: MsgSpec = {}): DhcpMessage {
  const hw = mac(s.mac ?? '52:54:00:7d:2d:b1');
  const chaddr = new Uint8Array(16);
  chaddr.set(hw);
  const options: DhcpOption[] = [];
  if (type !== undefined) options.push({ code: 53, data: Uint8Array.of(type) });
  if (s.clientId) options.push({ code: 61, data: s.clientId });
  if (s.requested) options.push({ code: 50, data: ipBytes(s.requested) });
  if (s.serverId) options.push({ code: 54, data: ipBytes(s.serverId) });
  if (s.leaseTime !== undefined) options.push({ code: 51, data: u32Bytes(s.leaseTime) });
  if (s.maxSize !== undefined)
    options.push({ code: 57, data: Uint8Array.of(s.maxSize >> 8, s.maxSize & 255) });
  if (s.hostname) options.push({ code: 12, data: text(s.hostname) });
  if (s.subnetSelection) options.push({ code: 118, data: ipBytes(s.subnetSelection) });
  if (s.prl) options.push({ code: 55, data: Uint8Array.from(s.prl) });
  options.push(...(s.extra ?? []));
  return {
    op: BOOTREQUEST,
    htype: 1,
    hlen: hw.length,
    hops: s.giaddr ? 1 : 0,
    xid: s.xid ?? 0x1234abcd,
    secs: 0,
    flags: s.broadcast ? BROADCAST_FLAG : 0,
    ciaddr: s.ciaddr ? ip(s.ciaddr) : 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: s.giaddr ? ip(s.giaddr) : 0,
    chaddr,
    sname: new Uint8Array(64),
    file: new Uint8Array(128),
    hasCookie: true,
    options,
  };
}

/** A packet received on eth0, whose address is 10.1.0.1 unless said otherwise. */
export function direct(over: Partial<RequestMeta> & { localIp?: string } = {}): RequestMeta {
  const m: RequestMeta = {
    receivedOn: { iface: 'eth0', localIp: ip(over.localIp ?? '10.1.0.1') },
    srcIp: over.srcIp ?? 0,
    srcPort: over.srcPort ?? 68,
  };
  if (over.toBroadcast !== undefined) m.toBroadcast = over.toBroadcast;
  if (over.receivedOn) m.receivedOn = over.receivedOn;
  return m;
}

export function getOpt(msg: DhcpMessage, code: number): Uint8Array | undefined {
  return msg.options.find((o) => o.code === code)?.data;
}

export function optIp(msg: DhcpMessage, code: number): Ip4 | undefined {
  const d = getOpt(msg, code);
  return d && d.length === 4 ? ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0 : undefined;
}

export function optU32(msg: DhcpMessage, code: number): number | undefined {
  return optIp(msg, code);
}

export { MessageType };
