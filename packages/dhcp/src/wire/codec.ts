/**
 * DHCPv4 message codec (RFC 2131 fixed header, RFC 2132 options, RFC 3396 long options). Pure: no sockets, no
 * config, no clock. decodeDhcp never throws; encodeDhcp assumes a well-typed message (see encode.ts).
 */
import { ByteReader } from './reader.js';
import { copyBytes } from './header.js';
import { wireError, type WireError } from './errors.js';
import type { AreaLayout, DhcpMessage, DhcpOption, LayoutItem, WireLayout } from './types.js';

import {
  FIELD,
  FIXED_HEADER_LEN,
  MAGIC_COOKIE,
  MAX_DHCP_PAYLOAD,
  MAX_HOPS,
  OPT_END,
  OPT_MESSAGE_TYPE,
  OPT_OVERLOAD,
  OPT_PAD,
} from './constants.js';

export { encodeDhcp, encodeDhcpDetailed, type EncodeOptions, type EncodeResult } from './encode.js';

const { SNAME_OFF, SNAME_LEN, FILE_OFF, FILE_LEN } = FIELD;

/** Collects option instances in wire order and concatenates same-code instances (RFC 3396 5). */
interface Collector {
  /** Codes in order of first appearance, with the first instance of each. */
  order: number[];
  first: Uint8Array[];
  /** Later instances of a repeated code. */
  more?: Map<number, Uint8Array[]>;
}

interface AreaResult {
  layout: AreaLayout;
  /** Value of option 52 if seen in this area. */
  overload?: Uint8Array;
}

/**
 * Parses one option area (RFC 2132 2: pad and end are single octets, everything else is code, len, data).
 * A missing end option is tolerated (the area simply runs out); a length running past the area is not.
 */
function parseArea(
  buf: Uint8Array,
  start: number,
  end: number,
  area: string,
  col: Collector,
): AreaResult | WireError {
  // A plain loop over the bytes (bounds checked by hand): this runs for every packet a busy server receives.
  end = Math.min(end, buf.length);
  const items: LayoutItem[] = [];
  let overload: Uint8Array | undefined;
  let i = start;
  while (i < end) {
    const code = buf[i++]!;
    if (code === OPT_PAD) {
      const last = items[items.length - 1];
      if (last && last.code === OPT_PAD) last.len++;
      else items.push({ code: OPT_PAD, len: 1 });
      continue;
    }
    if (code === OPT_END) {
      items.push({ code: OPT_END, len: 0 });
      break;
    }
    if (i >= end) {
      return wireError('truncated-option', `${area}: option ${code} at offset ${i - 1} has no length octet`);
    }
    const len = buf[i++]!;
    if (len > end - i) {
      return wireError(
        'option-overrun',
        `${area}: option ${code} length ${len} at offset ${i - 2} overruns the area by ${len - (end - i)}`,
      );
    }
    const data = buf.subarray(i, i + len);
    i += len;
    items.push({ code, len });
    if (code === OPT_OVERLOAD) {
      // RFC 2131 4.1: option 52 is only meaningful in the options field; inside file/sname it would loop.
      if (area !== 'options') return wireError('overload-loop', `option 52 inside the ${area} field`);
      overload = overload ? concat([overload, data]) : data;
      continue;
    }
    // A dozen options per message: a scan beats any per-message index.
    if (col.order.indexOf(code) < 0) {
      col.order.push(code);
      col.first.push(data);
    } else {
      // RFC 3396: a repeated code continues the value; rare, so the parts live in a Map made on demand.
      col.more ??= new Map();
      const parts = col.more.get(code);
      if (parts) parts.push(data);
      else col.more.set(code, [data]);
    }
  }
  const trailer = buf.subarray(i, end);
  const res: AreaResult = { layout: { items, trailer } };
  if (overload) res.overload = overload;
  return res;
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function hasCookieAt(buf: Uint8Array, off: number): boolean {
  return (
    buf[off] === MAGIC_COOKIE[0] &&
    buf[off + 1] === MAGIC_COOKIE[1] &&
    buf[off + 2] === MAGIC_COOKIE[2] &&
    buf[off + 3] === MAGIC_COOKIE[3]
  );
}

/**
 * Decodes one DHCP/BOOTP message (the UDP payload). Never throws: bad input yields a WireError naming the reason.
 * The message owns its bytes: chaddr, sname, file and option values are views into one private copy of the input
 * (one allocation per message, not one per field), so the caller may reuse `input`.
 */
export function decodeDhcp(input: Uint8Array): DhcpMessage | WireError {
  if (input.length > MAX_DHCP_PAYLOAD)
    return wireError('oversize', `${input.length} bytes > ${MAX_DHCP_PAYLOAD}`);
  if (input.length < FIXED_HEADER_LEN + 4) {
    return wireError('truncated-header', `${input.length} bytes < ${FIXED_HEADER_LEN + 4}`);
  }
  const bytes = copyBytes(input);
  const r = new ByteReader(bytes);
  const op = r.u8();
  const htype = r.u8();
  const hlen = r.u8();
  const hops = r.u8();
  const xid = r.u32();
  const secs = r.u16();
  const flags = r.u16();
  const ciaddr = r.u32();
  const yiaddr = r.u32();
  const siaddr = r.u32();
  const giaddr = r.u32();
  const chaddr = r.bytes(16);
  const sname = r.bytes(SNAME_LEN);
  const file = r.bytes(FILE_LEN);
  if (r.error) return wireError('truncated-header', r.error); // unreachable given the length check; kept as the guard
  if (op !== 1 && op !== 2) return wireError('bad-op', `op ${op}`);
  if (hlen > 16) return wireError('bad-hlen', `hlen ${hlen} > 16`);
  if (hops > MAX_HOPS) return wireError('hops-exceeded', `hops ${hops} > ${MAX_HOPS}`);

  const body = hasCookieAt(bytes, FIXED_HEADER_LEN)
    ? decodeOptionAreas(bytes, sname, file)
    : bootpBody(bytes, sname, file);
  if ('error' in body) return body;
  // One object literal with every field (no spread): the same shape for every message, built in one step.
  return {
    op,
    htype,
    hlen,
    hops,
    xid,
    secs,
    flags,
    ciaddr,
    yiaddr,
    siaddr,
    giaddr,
    chaddr,
    sname: body.sname,
    file: body.file,
    hasCookie: body.hasCookie,
    options: body.options,
    layout: body.layout,
  };
}

/** What follows the fixed header: the options (and the sname/file fields, blanked when they carried options). */
interface Body {
  sname: Uint8Array;
  file: Uint8Array;
  hasCookie: boolean;
  options: DhcpOption[];
  layout: WireLayout;
}

/** RFC 951 BOOTP: the vend field is opaque to us; keep it verbatim for the round trip. */
function bootpBody(bytes: Uint8Array, sname: Uint8Array, file: Uint8Array): Body {
  const layout: WireLayout = {
    overload: 0,
    options: { items: [], trailer: bytes.subarray(FIXED_HEADER_LEN) },
  };
  return { sname, file, hasCookie: false, options: [], layout };
}

/** RFC 2132 options after the cookie, then file and sname when option 52 says so (RFC 2131 4.1, RFC 3396). */
function decodeOptionAreas(bytes: Uint8Array, sname: Uint8Array, file: Uint8Array): Body | WireError {
  const col: Collector = { order: [], first: [] };
  const main = parseArea(bytes, FIXED_HEADER_LEN + 4, bytes.length, 'options', col);
  if ('error' in main) return main;
  const layout: WireLayout = { overload: 0, options: main.layout };
  if (main.overload) {
    const v = main.overload;
    if (v.length !== 1 || v[0]! < 1 || v[0]! > 3) {
      return wireError('bad-overload-value', `option 52 = [${Array.from(v).join(',')}]`);
    }
    layout.overload = v[0]!;
    // RFC 2131 4.1 / RFC 3396 5: file is interpreted before sname.
    if (layout.overload & 1) {
      const f = parseArea(bytes, FILE_OFF, FILE_OFF + FILE_LEN, 'file', col);
      if ('error' in f) return f;
      layout.file = f.layout;
      file = new Uint8Array(FILE_LEN); // the field held options, not a file name
    }
    if (layout.overload & 2) {
      const s = parseArea(bytes, SNAME_OFF, SNAME_OFF + SNAME_LEN, 'sname', col);
      if ('error' in s) return s;
      layout.sname = s.layout;
      sname = new Uint8Array(SNAME_LEN);
    }
  }
  const options: DhcpOption[] = [];
  for (let k = 0; k < col.order.length; k++) {
    const code = col.order[k]!;
    const more = col.more?.get(code);
    const data = more ? concat([col.first[k]!, ...more]) : col.first[k]!;
    if (code === OPT_MESSAGE_TYPE && data.length !== 1)
      return wireError('bad-option-length', `message type (53) has length ${data.length}, must be 1`);
    options.push({ code, data });
  }
  return { sname, file, hasCookie: true, options, layout };
}

/**
 * The message type (option 53) of a raw message, found by walking the options field only, without decoding
 * anything: for deciding a packet's priority before paying for its decode. undefined when there is no cookie,
 * no option 53 in the options field (it may sit in an overloaded file/sname field), or the walk runs off the
 * end: the full decode decides about those.
 */
export function peekMessageType(bytes: Uint8Array): number | undefined {
  const n = bytes.length;
  let i = FIXED_HEADER_LEN;
  if (n < i + 4 || !hasCookieAt(bytes, i)) return undefined;
  i += 4;
  while (i < n) {
    const code = bytes[i]!;
    if (code === OPT_PAD) {
      i++;
      continue;
    }
    if (code === OPT_END || i + 1 >= n) return undefined;
    const len = bytes[i + 1]!;
    if (code === OPT_MESSAGE_TYPE) return len === 1 && i + 2 < n ? bytes[i + 2] : undefined;
    i += 2 + len;
  }
  return undefined;
}
