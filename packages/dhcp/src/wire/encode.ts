/**
 * DHCPv4 encoder. Two paths:
 *  - replay: a decoded message still carrying its `layout` (and unchanged in shape) is written back byte for byte;
 *  - canonical: message type (53) first, server id (54) second, the rest in the given order, relay agent
 *    information (82) last, values over 255 octets split into several instances (RFC 3396), end, zero padding to
 *    the 300-octet BOOTP minimum (RFC 951, which old clients and relays still expect). If the reply exceeds the
 *    client's maximum message size, options go where ISC dhcpd 4.4 puts them (pack()): into empty file/sname
 *    fields (RFC 2131 4.1, option 52), split across areas (RFC 3396), or left out when nothing has room.
 */
import {
  FIELD,
  FIXED_HEADER_LEN,
  MAGIC_COOKIE,
  MIN_MESSAGE_LEN,
  OPT_END,
  OPT_MESSAGE_TYPE,
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
  /**
   * The size of the options field, cookie included, overriding maxSize: 64 for a BOOTP reply (RFC 951's vend
   * field; RFC 1497), or the size of the client's own vendor area when it sent a larger one (ISC dhcpd does so).
   */
  optionsField?: number;
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
const OPT_RELAY_AGENT = 82;

/** Encodes a message; see encodeDhcpDetailed for what was dropped. */
export function encodeDhcp(msg: DhcpMessage, opts?: EncodeOptions): Uint8Array {
  return encodeDhcpDetailed(msg, opts).bytes;
}

/**
 * The largest DHCP payload allowed. A BOOTP reply (no option 53) has RFC 951's 64-octet vend field unless the
 * client names a larger size (option 57) or optionsField says otherwise; a DHCP one at least 576 octets of IP
 * datagram (RFC 2131 2).
 */
export function payloadLimit(opts?: EncodeOptions, bootp = false): number {
  if (opts?.optionsField !== undefined) return FIXED_HEADER_LEN + Math.max(opts.optionsField, 64);
  const floor = bootp ? MIN_MESSAGE_LEN + IP_UDP_OVERHEAD : 576;
  const max = Math.min(Math.max(floor, opts?.maxSize ?? floor), 65535);
  return max - IP_UDP_OVERHEAD;
}

function isBootp(msg: DhcpMessage): boolean {
  for (const o of msg.options) if (o.code === OPT_MESSAGE_TYPE) return false;
  return true;
}

export function encodeDhcpDetailed(msg: DhcpMessage, opts?: EncodeOptions): EncodeResult {
  const bootp = isBootp(msg);
  const limit = payloadLimit(opts, bootp);
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
  const mainCap = limit - FIXED_HEADER_LEN - 4;
  const simple = encodeSimple(msg, mainCap);
  if (simple) return { bytes: simple, dropped: [], overload: 0 };
  const dropped: number[] = [];
  const list = hoist(msg.options.filter((o) => keepCode(o.code, dropped)));
  const agent = list.filter((o) => o.code === OPT_RELAY_AGENT);
  // Never in a BOOTP reply: RFC 951 clients read sname and file as names, and know nothing of option 52. (ISC
  // overloads its dynamic BOOTP replies, which go through its DHCP path, but not those for host declarations.)
  const overload = !!opts?.allowOverload && !bootp;
  const rest = list.filter((o) => o.code !== OPT_RELAY_AGENT);
  const fileFree = overload && isZero(msg.file);
  const snameFree = overload && isZero(msg.sname);
  const droppedBefore = dropped.length;
  let placed = pack(rest, mainCap, fileFree, snameFree, dropped);
  if (placed.overload && size(placed.main) + 3 >= mainCap) {
    // RFC 2131 4.1: an overloaded options field MUST end with the end option. ISC's split rule fills the field
    // up to option 52 and sends it without one; place again with the field one octet shorter, so end fits.
    dropped.length = droppedBefore;
    placed = pack(rest, mainCap - 1, fileFree, snameFree, dropped);
  }
  return { bytes: build(msg, placed, split(agent), mainCap), dropped, overload: placed.overload };
}

/**
 * The common case: every option a plain code with at most 255 octets, and all of them staying in the options
 * field under pack()'s rules (the last one may end 1 octet before the end of the field, the others 4). Same
 * bytes as the general path; undefined when anything needs it.
 */
function encodeSimple(msg: DhcpMessage, mainCap: number): Uint8Array | undefined {
  const opts = msg.options;
  let len = 0;
  let last = 0;
  let agent = 0;
  for (let i = 0; i < opts.length; i++) {
    const o = opts[i]!;
    const c = o.code;
    if (c <= OPT_PAD || c >= OPT_END || c === OPT_OVERLOAD || o.data.length > 255) return undefined;
    if (c === OPT_RELAY_AGENT) {
      if (i !== opts.length - 1) return undefined;
      agent = 2 + o.data.length;
      continue;
    }
    last = 2 + o.data.length;
    len += last;
  }
  if (len + 1 > mainCap || len - last + 4 > mainCap) return undefined;
  const out = zeroed(Math.max(MIN_MESSAGE_LEN, FIXED_HEADER_LEN + 4 + len + agent + 1));
  writeHeader(out, msg);
  out.set(MAGIC_COOKIE, FIXED_HEADER_LEN);
  let off = FIXED_HEADER_LEN + 4;
  // hoist(): 53 first, 54 second, the rest in their order (82 is last already).
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

/**
 * Places the options the way ISC dhcpd 4.4 does (common/options.c store_options), so that a client gets the same
 * options from us as from the server we replace, and as many as fit (RFC 2131 4.3.1). In the given (priority)
 * order, each option goes whole into the first area with room: the options field, keeping 3 octets for option 52
 * and 1 for end (the last option only needs its end), then file, then sname, each keeping 1 octet for its end.
 * An option that fits none of them, or is longer than 255, is split (RFC 3396) over the room left in the areas in
 * that order, 255 octets at most per instance; if even that fails it is left out, and the next one is tried.
 * Checked against ISC's replies at 576 octets (see codec.test.ts). One departure, made by the caller: where a
 * split fills the options field up to option 52, leaving no room for end (ISC sends it so), the options are
 * placed again with the field one octet shorter (RFC 2131 4.1).
 */
function pack(
  list: DhcpOption[],
  mainCap: number,
  fileFree: boolean,
  snameFree: boolean,
  dropped: number[],
): Placement {
  const areas: Instance[][] = [[], [], []];
  const caps = [mainCap, fileFree ? FIELD.FILE_LEN : 0, snameFree ? FIELD.SNAME_LEN : 0];
  const used = [0, 0, 0];
  // Octets each area keeps free after a whole option: 52 (3) + end (1) in the options field, end in file/sname.
  const keep = [4, 1, 1];
  for (let i = 0; i < list.length; i++) {
    const o = list[i]!;
    const n = o.data.length;
    const isLast = i === list.length - 1 && used[1] === 0 && used[2] === 0;
    let whole = -1;
    if (n <= 255) {
      if (used[0]! + 2 + n + (isLast ? 0 : keep[0]!) < caps[0]! + (isLast ? 0 : 1)) whole = 0;
      else if (caps[1]! > 0 && used[1]! + 2 + n + keep[1]! < caps[1]!) whole = 1;
      else if (caps[2]! > 0 && used[2]! + 2 + n + keep[2]! < caps[2]!) whole = 2;
    }
    if (whole >= 0) {
      areas[whole]!.push({ code: o.code, data: o.data });
      used[whole]! += 2 + n;
      continue;
    }
    // Split over what is left: the options field up to 3 octets before its end (room for 52), file and sname
    // up to their end option. Roll back if the areas run out first.
    const before = areas.map((a) => a.length);
    const usedBefore = [...used];
    let off = 0;
    while (off < n) {
      let a = -1;
      let room = 0;
      if (used[0]! + 6 < caps[0]!) [a, room] = [0, caps[0]! - used[0]! - 5];
      else if (caps[1]! > 0 && used[1]! + 4 < caps[1]!) [a, room] = [1, caps[1]! - used[1]! - 3];
      else if (caps[2]! > 0 && used[2]! + 4 < caps[2]!) [a, room] = [2, caps[2]! - used[2]! - 3];
      if (a < 0) break;
      const take = Math.min(room, n - off, 255);
      areas[a]!.push({ code: o.code, data: o.data.subarray(off, off + take) });
      used[a]! += 2 + take;
      off += take;
    }
    if (off < n || n === 0) {
      for (let k = 0; k < 3; k++) areas[k]!.length = before[k]!;
      used.splice(0, 3, ...usedBefore);
      dropped.push(o.code);
    }
  }
  const overload = (areas[1]!.length ? 1 : 0) | (areas[2]!.length ? 2 : 0);
  return { main: areas[0]!, file: areas[1]!, sname: areas[2]!, overload };
}

const size = (xs: Instance[]): number => xs.reduce((n, x) => n + 2 + x.data.length, 0);

function writeInstances(out: Uint8Array, off: number, xs: Instance[]): number {
  for (const x of xs) {
    out[off++] = x.code;
    out[off++] = x.data.length;
    out.set(x.data, off);
    off += x.data.length;
  }
  return off;
}

/**
 * Options field: the placed options, option 52 when file/sname carry some, then relay agent information (RFC 3046
 * 2.2: last, and ISC adds its size to the room the client allows, as the relay strips it), then end (placement
 * always leaves room for it: RFC 2131 4.1 for an overloaded field, RFC 2132 2 otherwise). Zero padding to the
 * 300-octet BOOTP minimum (RFC 951), as ISC dhcpd does.
 */
function build(msg: DhcpMessage, p: Placement, agent: Instance[], mainCap: number): Uint8Array {
  const filled = size(p.main) + (p.overload ? 3 : 0);
  const mainLen = filled + size(agent) + (filled < mainCap ? 1 : 0);
  const out = zeroed(Math.max(MIN_MESSAGE_LEN, FIXED_HEADER_LEN + 4 + mainLen));
  writeHeader(out, msg);
  out.set(MAGIC_COOKIE, FIXED_HEADER_LEN);
  const main = [...p.main];
  if (p.overload) main.push({ code: OPT_OVERLOAD, data: Uint8Array.of(p.overload) });
  const end = writeInstances(out, FIXED_HEADER_LEN + 4, [...main, ...agent]);
  if (filled < mainCap) out[end] = OPT_END;
  // RFC 2131 4.1: an overloaded field holds options up to its own end option, then pad (zeros).
  if (p.overload & 1) {
    out.fill(0, FIELD.FILE_OFF, FIELD.FILE_OFF + FIELD.FILE_LEN);
    out[writeInstances(out, FIELD.FILE_OFF, p.file)] = OPT_END;
  }
  if (p.overload & 2) {
    out.fill(0, FIELD.SNAME_OFF, FIELD.SNAME_OFF + FIELD.SNAME_LEN);
    out[writeInstances(out, FIELD.SNAME_OFF, p.sname)] = OPT_END;
  }
  return out;
}
