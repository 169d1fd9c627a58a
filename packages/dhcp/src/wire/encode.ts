/**
 * DHCPv4 encoder. Two paths:
 *  - replay: a decoded message still carrying its `layout` (and unchanged in shape) is written back byte for byte;
 *  - canonical: message type (53) first, server id (54) second, the rest in the given order, values over 255
 *    octets split into several instances (RFC 3396), end, zero padding to the 300-octet BOOTP minimum (RFC 951,
 *    which old clients and relays still expect). If the reply exceeds the client's maximum message size, options
 *    move into empty file/sname fields (RFC 2131 4.1, option 52) and, failing that, options are dropped from the end.
 */
import {
  FIELD,
  FIXED_HEADER_LEN,
  MAGIC_COOKIE,
  MIN_MESSAGE_LEN,
  OPT_END,
  OPT_OVERLOAD,
  OPT_PAD,
} from './constants.js';
import type { DhcpMessage, DhcpOption } from './types.js';
import { encodeWithLayout } from './layout.js';
import { isZero, writeHeader, zeroed } from './header.js';

export interface EncodeOptions {
  /**
   * The client's maximum DHCP message size (option 57, RFC 2132 9.10), which like ISC dhcpd we read as the whole IP
   * datagram: the DHCP payload may use maxSize - 28 octets. Default and floor 576 (RFC 2131 2: every client accepts it).
   */
  maxSize?: number;
  /** Allow moving options into file/sname when they are all zero (RFC 2131 4.1). Default false. */
  allowOverload?: boolean;
}

export interface EncodeResult {
  bytes: Uint8Array;
  /** Codes of options left out because the message would not fit (or that cannot be options: 0, 52, 255). */
  dropped: number[];
  /** The option 52 value used: 0 none, 1 file, 2 sname, 3 both. */
  overload: number;
}

const IP_UDP_OVERHEAD = 28;
/** Kept as long as anything else can be dropped: without them the reply is useless or violates RFC 3046 2.2. */
const ESSENTIAL = new Set([53, 54, 51, 1, 3, 82]);

/** Encodes a message; see encodeDhcpDetailed for what was dropped. */
export function encodeDhcp(msg: DhcpMessage, opts?: EncodeOptions): Uint8Array {
  return encodeDhcpDetailed(msg, opts).bytes;
}

export function payloadLimit(opts?: EncodeOptions): number {
  const max = Math.min(Math.max(576, opts?.maxSize ?? 576), 65535);
  return max - IP_UDP_OVERHEAD;
}

export function encodeDhcpDetailed(msg: DhcpMessage, opts?: EncodeOptions): EncodeResult {
  const limit = payloadLimit(opts);
  if (msg.layout) {
    // Replaying what was received ignores the default limit (it arrived, so it fits the path); an explicit one holds.
    const replay = encodeWithLayout(msg, msg.layout);
    if (replay && (opts?.maxSize === undefined || replay.length <= limit)) {
      return { bytes: replay, dropped: [], overload: msg.layout.overload };
    }
  }
  if (!msg.hasCookie) {
    // Plain BOOTP (RFC 951): no cookie, so no options; the 64-octet vend field is zero.
    const out = new Uint8Array(MIN_MESSAGE_LEN);
    writeHeader(out, msg);
    return { bytes: out, dropped: msg.options.map((o) => o.code), overload: 0 };
  }
  const simple = encodeSimple(msg, limit);
  if (simple) return { bytes: simple, dropped: [], overload: 0 };
  const dropped: number[] = [];
  let list = hoist(msg.options.filter((o) => keepCode(o.code, dropped)));
  const fileFree = !!opts?.allowOverload && isZero(msg.file);
  const snameFree = !!opts?.allowOverload && isZero(msg.sname);
  for (;;) {
    const placed = place(split(list), limit - FIXED_HEADER_LEN - 4, fileFree, snameFree);
    if (placed) return { bytes: build(msg, placed), dropped, overload: placed.overload };
    const victim = pickVictim(list);
    dropped.push(list[victim]!.code);
    list = list.filter((_, i) => i !== victim);
  }
}

/**
 * The common case without intermediate lists: every option a plain code with at most 255 octets, and all of
 * them fitting the options field. Same bytes as the general path (53, then 54, then the rest in order; end;
 * zero padding to 300 octets); undefined when anything needs the general path.
 */
function encodeSimple(msg: DhcpMessage, limit: number): Uint8Array | undefined {
  const opts = msg.options;
  let len = 1;
  for (let i = 0; i < opts.length; i++) {
    const o = opts[i]!;
    const c = o.code;
    if (c <= OPT_PAD || c >= OPT_END || c === OPT_OVERLOAD || o.data.length > 255) return undefined;
    len += 2 + o.data.length;
  }
  if (len > limit - FIXED_HEADER_LEN - 4) return undefined;
  const out = zeroed(Math.max(MIN_MESSAGE_LEN, FIXED_HEADER_LEN + 4 + len));
  writeHeader(out, msg);
  out.set(MAGIC_COOKIE, FIXED_HEADER_LEN);
  let off = FIXED_HEADER_LEN + 4;
  // hoist(): 53 first, 54 second, the rest in their order.
  for (let pass = 0; pass < 3; pass++) {
    for (let i = 0; i < opts.length; i++) {
      const o = opts[i]!;
      const rank = o.code === 53 ? 0 : o.code === 54 ? 1 : 2;
      if (rank !== pass) continue;
      out[off++] = o.code;
      out[off++] = o.data.length;
      out.set(o.data, off);
      off += o.data.length;
    }
  }
  out[off] = OPT_END;
  return out;
}

function keepCode(code: number, dropped: number[]): boolean {
  if (code === OPT_PAD || code === OPT_END || code === OPT_OVERLOAD || code < 0 || code > 255) {
    dropped.push(code);
    return false;
  }
  return true;
}

/** Message type first and server identifier second: what ISC dhcpd and most clients' parsers expect to see. */
function hoist(options: DhcpOption[]): DhcpOption[] {
  const rank = (c: number): number => (c === 53 ? 0 : c === 54 ? 1 : 2);
  return options
    .map((o, i) => ({ o, i }))
    .sort((a, b) => rank(a.o.code) - rank(b.o.code) || a.i - b.i)
    .map((x) => x.o);
}

/** The last non-essential option, else the last one other than the message type. */
function pickVictim(list: DhcpOption[]): number {
  for (let i = list.length - 1; i >= 0; i--) if (!ESSENTIAL.has(list[i]!.code)) return i;
  for (let i = list.length - 1; i >= 0; i--) if (list[i]!.code !== 53) return i;
  return list.length - 1; // unreachable: 53 alone always fits in 308 octets
}

const OPT_RELAY_AGENT = 82;
/** Never moved into file/sname when overloading (52 and end are written by build() in the options field). */
const PINNED = new Set([53, 54, OPT_RELAY_AGENT]);

interface Instance {
  code: number;
  data: Uint8Array;
}

/** RFC 3396 2: a value longer than 255 octets travels as consecutive instances of the same code. */
function split(options: DhcpOption[]): Instance[] {
  const out: Instance[] = [];
  for (const o of options) {
    if (o.data.length === 0) out.push({ code: o.code, data: o.data });
    for (let off = 0; off < o.data.length; off += 255) {
      out.push({ code: o.code, data: o.data.subarray(off, Math.min(off + 255, o.data.length)) });
    }
  }
  return out;
}

interface Placement {
  main: Instance[];
  file: Instance[];
  sname: Instance[];
  overload: number;
}

const size = (xs: Instance[]): number => xs.reduce((n, x) => n + 2 + x.data.length, 0);

/**
 * Fills the options field, then file, then sname, keeping instance order (RFC 3396 5 concatenates in that order).
 * An instance never straddles two fields: splitting a short option would confuse clients without RFC 3396.
 */
function place(
  all: Instance[],
  mainCap: number,
  fileFree: boolean,
  snameFree: boolean,
): Placement | undefined {
  if (size(all) + 1 <= mainCap) return { main: all, file: [], sname: [], overload: 0 };
  if (!fileFree && !snameFree) return undefined;
  // Message type and server id stay where every parser looks first, and relay agent information (82) stays in
  // the options field: relays look for it only there to strip it (RFC 3046 2.2), and put it last.
  const pinned = all.filter((x) => PINNED.has(x.code));
  const rest = all.filter((x) => !PINNED.has(x.code));
  const areas: Instance[][] = [[], [], []];
  const caps = [mainCap - 3 - size(pinned), fileFree ? FIELD.FILE_LEN : 0, snameFree ? FIELD.SNAME_LEN : 0];
  if (caps[0]! < 1) return undefined;
  let a = 0;
  let used = 0;
  for (const x of rest) {
    while (a < 3 && used + 2 + x.data.length + 1 > caps[a]!) {
      a++;
      used = 0;
    }
    if (a === 3) return undefined;
    areas[a]!.push(x);
    used += 2 + x.data.length;
  }
  const overload = (areas[1]!.length ? 1 : 0) | (areas[2]!.length ? 2 : 0);
  const main = [...pinned.filter((x) => x.code !== OPT_RELAY_AGENT), ...areas[0]!];
  main.push(...pinned.filter((x) => x.code === OPT_RELAY_AGENT));
  return { main, file: areas[1]!, sname: areas[2]!, overload };
}

function writeInstances(out: Uint8Array, off: number, xs: Instance[]): number {
  for (const x of xs) {
    out[off++] = x.code;
    out[off++] = x.data.length;
    out.set(x.data, off);
    off += x.data.length;
  }
  out[off++] = OPT_END;
  return off;
}

/** Every reply is zero-padded to the 300-octet BOOTP minimum (RFC 951), as ISC dhcpd does. */
function build(msg: DhcpMessage, p: Placement): Uint8Array {
  const mainLen = size(p.main) + (p.overload ? 3 : 0) + 1;
  const out = zeroed(Math.max(MIN_MESSAGE_LEN, FIXED_HEADER_LEN + 4 + mainLen));
  writeHeader(out, msg);
  out.set(MAGIC_COOKIE, FIXED_HEADER_LEN);
  let off = FIXED_HEADER_LEN + 4;
  if (p.overload) {
    // Put option 52 just before end; its fields' own end options and zero padding follow RFC 2131 4.1.
    off = writeInstances(out, off, [...p.main, { code: OPT_OVERLOAD, data: Uint8Array.of(p.overload) }]);
    if (p.overload & 1) out.fill(0, FIELD.FILE_OFF, FIELD.FILE_OFF + FIELD.FILE_LEN);
    if (p.overload & 2) out.fill(0, FIELD.SNAME_OFF, FIELD.SNAME_OFF + FIELD.SNAME_LEN);
    if (p.overload & 1) writeInstances(out, FIELD.FILE_OFF, p.file);
    if (p.overload & 2) writeInstances(out, FIELD.SNAME_OFF, p.sname);
  } else {
    writeInstances(out, off, p.main);
  }
  return out;
}
