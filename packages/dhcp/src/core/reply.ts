import type { Ip4 } from '@hadhcp/common';
import { writeIp4 } from '@hadhcp/common';
import { INFINITE } from '@hadhcp/leases';
import { getMessageType, getOption, getRelayAgentInfo } from '../wire/accessors.js';
import { zeroed } from '../wire/header.js';
import { Opt } from '../wire/option-defs.js';
import { BOOTREPLY, BROADCAST_FLAG, MessageType, type DhcpMessage, type DhcpOption } from '../wire/types.js';
import type { OptionSpace } from './config.js';
import type { ScopeView } from './network.js';

/** Codes the server computes itself; a scope setting for them is ignored (ISC does the same for most). */
const SERVER_CONTROLLED = new Set<number>([
  Opt.REQUESTED_ADDRESS,
  Opt.LEASE_TIME,
  Opt.OVERLOAD,
  Opt.MESSAGE_TYPE,
  Opt.SERVER_ID,
  Opt.PARAMETER_REQUEST_LIST,
  Opt.MAX_MESSAGE_SIZE,
  Opt.CLIENT_ID,
  Opt.RELAY_AGENT_INFO,
]);

/**
 * ISC's order when a client sends no parameter request list (cons_options): subnet mask, routers, name servers,
 * host name, FQDN (81), then every other configured option in ISC's hash table order (scopeOptions), then
 * vendor-encapsulated options (43).
 */
const NO_PRL_FIRST = [Opt.SUBNET_MASK, Opt.ROUTERS, 6, Opt.HOST_NAME, 81];
const VENDOR_ENCAPSULATED = 43;

export interface ReplySpec {
  /** undefined for a BOOTREPLY to a BOOTP client (no option 53, RFC 1542). */
  type: MessageType | undefined;
  req: DhcpMessage;
  yiaddr: Ip4;
  ciaddr: Ip4;
  serverId: Ip4;
  /** Seconds, or INFINITE; absent for NAK, INFORM and BOOTP. */
  leaseTime?: number;
  scope?: ScopeView;
  /** The subnet's mask, sent as option 1 when the configuration sets none (ISC does so). */
  subnetMask?: Ip4;
  /** option host-name from use-host-decl-names, when no scope sets one. */
  hostName?: string;
  message?: string;
  /** Answer as if the client sent no parameter request list (ISC's BOOTP answer for a host declaration). */
  ignoreRequestList?: boolean;
}

const enc = new TextEncoder();

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  writeIp4(b, 0, v >>> 0);
  return b;
}

/** Option 55 as its bytes (RFC 2132 9.8: a list of codes; empty counts as absent). */
function getParameterRequestListBytes(msg: DhcpMessage): Uint8Array | undefined {
  const d = getOption(msg, Opt.PARAMETER_REQUEST_LIST);
  return d && d.length > 0 ? d : undefined;
}

function fixedText(text: string | undefined, size: number): Uint8Array {
  const out = zeroed(size);
  // Written in place, no copy: a class's or an if's filename is set on every reply (ISC keeps the last octet NUL).
  if (text) enc.encodeInto(text, out.subarray(0, size - 1));
  return out;
}

function chaddr16(c: Uint8Array): Uint8Array {
  if (c.length === 16) return c.slice();
  const out = new Uint8Array(16);
  out.set(c.subarray(0, 16));
  return out;
}

/** ISC dhcpd's option hash table (common/options.c): OPTION_HASH_SIZE 17 buckets. */
const ISC_HASH_BUCKETS = 17;

/** The bucket ISC files an option code under: the sum of the code's 5-bit digits, modulo 17. */
export function iscHashBucket(code: number): number {
  let sum = 0;
  for (let c = code; c > 0; c >>>= 5) sum += c & 31;
  return sum % ISC_HASH_BUCKETS;
}

/**
 * The options the scopes offer (server-controlled codes left out, the nearest scope's value winning), in the order
 * ISC dhcpd 4.4 walks its option state when a client sends no parameter request list (cons_options): bucket by
 * bucket, and within a bucket the option set last first. ISC sets options as it executes the scopes, outermost
 * first (global, shared-network, subnet, pool, host: execute_statements_in_scope in ack_lease and bootp), each in
 * the order written; a new option goes to the head of its bucket's list, and one set again (an inner scope
 * overriding an outer one) keeps its place (save_hashed_option). Computed once per view.
 */
const offered = new WeakMap<ScopeView, Map<number, Uint8Array>>();

function scopeOptions(view: ScopeView | undefined): Map<number, Uint8Array> | undefined {
  if (!view) return undefined;
  let m = offered.get(view);
  if (!m) {
    const firstSet = new Map<number, number>();
    for (let i = view.scopes.length - 1; i >= 0; i--) {
      for (const code of view.scopes[i]!.options.keys()) {
        if (!SERVER_CONTROLLED.has(code) && !firstSet.has(code)) firstSet.set(code, firstSet.size);
      }
    }
    const order = [...firstSet].sort(
      ([a, seqA], [b, seqB]) => iscHashBucket(a) - iscHashBucket(b) || seqB - seqA,
    );
    m = new Map(order.map(([code]) => [code, view.option(code)!.data]));
    for (const [code] of order) {
      const f = view.option(code)!.compute;
      if (!f) continue;
      (view.computed ??= new Map()).set(code, f);
    }
    addEncapsulations(view, m);
    offered.set(view, m);
  }
  return m;
}

/**
 * Options built from option spaces (dhcp-options(5) "DEFINING NEW OPTIONS", "VENDOR ENCAPSULATED OPTIONS"), appended
 * to `m` after the options the scopes set, as ISC's cons_options lists them: the options that encapsulate a space,
 * in the order the spaces were declared, then 43. Option 43 carries the space named by `vendor-option-space`, or
 * the one a site defined 43 to encapsulate. An option the scopes set explicitly keeps that value (ISC's store_options
 * encapsulates an 'E' option only when it has no value of its own). A space with no sub-option set in the view
 * gives nothing. Plain configurations have no space: one check of each scope.
 */
function addEncapsulations(view: ScopeView, m: Map<number, Uint8Array>): void {
  let spaces: OptionSpace[] | undefined;
  for (const s of view.scopes)
    if (s.spaceOptions)
      for (const sp of s.spaceOptions.keys()) if (!spaces?.includes(sp)) (spaces ??= []).push(sp);
  if (!spaces) return;
  spaces.sort((a, b) => a.index - b.index);
  const vendorSpace = view.param('vendorOptionSpace')?.toLowerCase();
  let vendor: OptionSpace | undefined;
  for (const sp of spaces) {
    if (sp.encapsulatedBy === VENDOR_ENCAPSULATED) vendor = sp;
    else if (sp.encapsulatedBy !== undefined && !m.has(sp.encapsulatedBy))
      m.set(sp.encapsulatedBy, encapsulate(view, sp));
  }
  vendor ??= spaces.find((sp) => sp.name === vendorSpace);
  if (vendor && !m.has(VENDOR_ENCAPSULATED)) m.set(VENDOR_ENCAPSULATED, encapsulate(view, vendor));
}

/**
 * A space's sub-options set in the view, each framed as code, length, value in the space's widths (network order),
 * in the order ISC walks the space's option state (hashed_option_space_encapsulate): bucket by bucket, and in a
 * bucket the option set last first, options set as the scopes run outermost first (see scopeOptions).
 */
export function encapsulate(view: ScopeView, sp: OptionSpace): Uint8Array {
  const firstSet = new Map<number, number>();
  for (let i = view.scopes.length - 1; i >= 0; i--) {
    const subs = view.scopes[i]!.spaceOptions?.get(sp);
    if (subs) for (const code of subs.keys()) if (!firstSet.has(code)) firstSet.set(code, firstSet.size);
  }
  const order = [...firstSet].sort(
    ([a, seqA], [b, seqB]) => iscHashBucket(a) - iscHashBucket(b) || seqB - seqA,
  );
  const parts: number[] = [];
  const put = (v: number, width: number) => {
    for (let k = width - 1; k >= 0; k--) parts.push(Math.floor(v / 2 ** (8 * k)) & 0xff);
  };
  for (const [code] of order) {
    let data: Uint8Array | undefined;
    for (const s of view.scopes) if ((data = s.spaceOptions?.get(sp)?.get(code)?.data)) break;
    put(code, sp.codeWidth);
    put(data!.length, sp.lengthWidth);
    for (const b of data!) parts.push(b);
  }
  return Uint8Array.from(parts);
}

/** The value this reply may carry for `code`: the scopes', else the subnet mask or host name computed for it. */
function availableValue(spec: ReplySpec, fromScopes: Map<number, Uint8Array> | undefined, code: number) {
  // A property read per code: nothing more for views without computed options.
  const f = spec.scope?.computed?.get(code);
  if (f) {
    // Evaluated for this answer (the view's context holds the packet); a copy, as results are scratch views.
    const v = spec.scope!.ev ? f(spec.scope!.ev) : null;
    return v && v.length > 0 ? v.slice() : undefined;
  }
  const v = fromScopes?.get(code);
  if (v !== undefined) return v;
  if (code === Opt.SUBNET_MASK && spec.subnetMask !== undefined) return u32(spec.subnetMask);
  if (code === Opt.HOST_NAME && spec.hostName) return enc.encode(spec.hostName);
  return undefined;
}

/**
 * RFC 2131 4.4.5: T1 < T2 < lease. Configured values are used when they keep that order for the lease granted
 * (a lease shortened by max-lease-time or a client's request would otherwise be told to renew after it ends);
 * otherwise 0.5 and 0.875 of the lease, T1 kept below a configured T2 in the same proportion.
 */
export function renewalTimes(
  lease: number,
  cfgT1: Uint8Array | undefined,
  cfgT2: Uint8Array | undefined,
): [number, number] {
  const read = (d: Uint8Array | undefined): number | undefined =>
    d?.length === 4 ? ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0 : undefined;
  const c1 = read(cfgT1);
  const c2 = read(cfgT2);
  const t2 = c2 !== undefined && c2 < lease ? c2 : Math.floor(lease * 0.875);
  if (c1 !== undefined && c1 < t2) return [c1, t2];
  const t1 = Math.floor(lease * 0.5);
  return [t1 < t2 ? t1 : Math.floor((t2 * 4) / 7), t2];
}

/**
 * RFC 2132 3.3: the subnet mask MUST come before the router option. ISC (store_options) moves a subnet mask to the
 * place of the nearest router option before it, and the router option to where the mask was; done on the list of
 * codes asked for, before it is known which of them have a value, as ISC does.
 */
export function maskBeforeRouters(codes: number[]): number[] {
  const out: number[] = [];
  for (const c of codes) if (!out.includes(c)) out.push(c);
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== Opt.SUBNET_MASK) continue;
    for (let j = i - 1; j >= 0; j--) {
      if (out[j] === Opt.ROUTERS) {
        out[j] = Opt.SUBNET_MASK;
        out[i] = Opt.ROUTERS;
        break;
      }
    }
  }
  return out;
}

/**
 * The options of a reply, in wire order: ISC dhcpd 4.4's priority list (common/options.c cons_options), so that
 * when the client's maximum message size cannot hold them all the encoder keeps the same ones ISC keeps.
 * Mandatory ones first: 53, 54, then 51/58/59 for a lease, then 56. With a parameter request list: the requested
 * options in the client's order, then the subnet mask for a DISCOVER or REQUEST (ISC adds it at lowest priority
 * because clients rely on it; not for INFORM or BOOTP); nothing else unrequested, as ISC. Without a list: 1, 3, 6,
 * 12, 81, then every other configured option in the order ISC walks its option hash table (scopeOptions), then 43
 * (unless configured, and so placed already). The order decides which options fit a small reply. In both cases
 * the subnet mask is moved before the routers (maskBeforeRouters). Relay agent information goes last, verbatim
 * (RFC 3046 2.2).
 */
export function replyOptions(spec: ReplySpec): DhcpOption[] {
  const out: DhcpOption[] = [];
  // A reply carries about ten options: a linear scan beats a Set here.
  const add = (code: number, data: Uint8Array | undefined): void => {
    if (data === undefined) return;
    for (let i = 0; i < out.length; i++) if (out[i]!.code === code) return;
    out.push({ code, data });
  };
  if (spec.type !== undefined) add(Opt.MESSAGE_TYPE, Uint8Array.of(spec.type));
  if (spec.type !== undefined) add(Opt.SERVER_ID, u32(spec.serverId));
  if (spec.leaseTime !== undefined) {
    add(Opt.LEASE_TIME, u32(spec.leaseTime));
    // RFC 2131 4.4.5: T1 = 0.5 and T2 = 0.875 of the lease; an infinite lease never renews (RFC 2131 3.3).
    if (spec.leaseTime !== INFINITE) {
      const [t1, t2] = renewalTimes(
        spec.leaseTime,
        spec.scope?.option(Opt.RENEWAL_TIME)?.data,
        spec.scope?.option(Opt.REBINDING_TIME)?.data,
      );
      add(Opt.RENEWAL_TIME, u32(t1));
      add(Opt.REBINDING_TIME, u32(t2));
    }
  }
  if (spec.message) add(Opt.MESSAGE, enc.encode(spec.message));
  if (spec.type !== MessageType.NAK) {
    const fromScopes = scopeOptions(spec.scope);
    const prl = spec.ignoreRequestList ? undefined : getParameterRequestListBytes(spec.req);
    const codes: number[] = [];
    if (prl) {
      for (let i = 0; i < prl.length; i++) if (prl[i] !== Opt.RELAY_AGENT_INFO) codes.push(prl[i]!);
      const t = getMessageType(spec.req);
      if (t === MessageType.DISCOVER || t === MessageType.REQUEST) codes.push(Opt.SUBNET_MASK);
    } else {
      codes.push(...NO_PRL_FIRST);
      if (fromScopes) for (const code of fromScopes.keys()) codes.push(code);
      codes.push(VENDOR_ENCAPSULATED);
    }
    for (const code of maskBeforeRouters(codes)) add(code, availableValue(spec, fromScopes, code));
  }
  const agent = getRelayAgentInfo(spec.req);
  if (agent) add(Opt.RELAY_AGENT_INFO, agent.raw);
  return out;
}

/** Builds the reply message (RFC 2131 4.3.1 Table 3 field by field). */
export function buildReply(spec: ReplySpec): DhcpMessage {
  const req = spec.req;
  const nak = spec.type === MessageType.NAK;
  const scope = nak ? undefined : spec.scope;
  let flags = req.flags & BROADCAST_FLAG;
  // RFC 2131 4.3.2: a NAK through a relay must be broadcast by the relay, whatever the client asked.
  if (nak && req.giaddr !== 0) flags |= BROADCAST_FLAG;
  return {
    op: BOOTREPLY,
    htype: req.htype,
    hlen: req.hlen,
    hops: 0,
    xid: req.xid,
    secs: 0,
    flags,
    ciaddr: nak ? 0 : spec.ciaddr,
    yiaddr: nak ? 0 : spec.yiaddr,
    // PXE: next-server, server-name and filename go in the fixed fields (RFC 2131 2, RFC 4578). A BOOTP reply
    // names its server when no next-server is set (RFC 951 siaddr; ISC 4.4.3 does so for a host declaration).
    siaddr: scope?.param('nextServer') ?? (spec.type === undefined ? spec.serverId : 0),
    giaddr: req.giaddr,
    chaddr: chaddr16(req.chaddr),
    sname: fixedText(scope?.param('serverName'), 64),
    file: fixedText(scope?.param('filename'), 128),
    hasCookie: spec.type !== undefined || req.hasCookie,
    options: spec.type === undefined && !req.hasCookie ? [] : replyOptions(spec),
  };
}
