/**
 * Replays a decoded message's wire layout (instance splits, pad runs, overload, bytes after end) so that a packet
 * decodes and encodes back byte for byte. The replay is refused (undefined) as soon as the layout no longer matches
 * the message: other option codes or order, other value lengths, or a file/sname that now carries a real name where
 * the layout put options. The caller then falls back to the canonical encoding.
 */
import { FIELD, FIXED_HEADER_LEN, MAGIC_COOKIE, OPT_END, OPT_OVERLOAD, OPT_PAD } from './constants.js';
import { isZero, writeHeader } from './header.js';
import type { AreaLayout, DhcpMessage, WireLayout } from './types.js';

function areaSize(a: AreaLayout): number {
  let n = a.trailer.length;
  for (const it of a.items) n += it.code === OPT_PAD ? it.len : it.code === OPT_END ? 1 : 2 + it.len;
  return n;
}

/**
 * How long a decoded message was on the wire (its UDP payload), from the layout decodeDhcp recorded; undefined
 * for a message built in memory.
 */
export function wireLength(msg: DhcpMessage): number | undefined {
  if (!msg.layout) return undefined;
  return FIXED_HEADER_LEN + (msg.hasCookie ? 4 : 0) + areaSize(msg.layout.options);
}

/** The option areas in RFC 3396 5 concatenation order, as far as the layout uses them. */
function areasInOrder(layout: WireLayout): AreaLayout[] {
  const areas = [layout.options];
  if (layout.overload & 1 && layout.file) areas.push(layout.file);
  if (layout.overload & 2 && layout.sname) areas.push(layout.sname);
  return areas;
}

function matches(msg: DhcpMessage, layout: WireLayout): boolean {
  if (!msg.hasCookie) return msg.options.length === 0 && layout.options.items.length === 0;
  if (layout.overload < 0 || layout.overload > 3) return false;
  if (!!(layout.overload & 1) !== !!layout.file || !!(layout.overload & 2) !== !!layout.sname) return false;
  if (layout.file && (!isZero(msg.file) || areaSize(layout.file) !== FIELD.FILE_LEN)) return false;
  if (layout.sname && (!isZero(msg.sname) || areaSize(layout.sname) !== FIELD.SNAME_LEN)) return false;
  const order: number[] = [];
  const lens = new Map<number, number>();
  let sawOverload = 0;
  for (const area of areasInOrder(layout)) {
    for (const it of area.items) {
      if (!Number.isInteger(it.len) || it.len < 0) return false;
      if (it.code === OPT_PAD || it.code === OPT_END) continue;
      if (it.code === OPT_OVERLOAD) {
        if (area !== layout.options || it.len !== 1) return false;
        sawOverload++;
        continue;
      }
      if (it.len > 255) return false;
      if (!lens.has(it.code)) order.push(it.code);
      lens.set(it.code, (lens.get(it.code) ?? 0) + it.len);
    }
  }
  if ((sawOverload === 1) !== layout.overload > 0 || sawOverload > 1) return false;
  if (order.length !== msg.options.length) return false;
  return msg.options.every((o, i) => o.code === order[i] && o.data.length === lens.get(o.code));
}

/** Writes one area; `cursor` tracks how much of each option's value earlier instances consumed. */
function writeArea(
  out: Uint8Array,
  off: number,
  area: AreaLayout,
  values: Map<number, Uint8Array>,
  cursor: Map<number, number>,
  overload: number,
): void {
  for (const it of area.items) {
    if (it.code === OPT_PAD) {
      off += it.len; // out is zero-filled
    } else if (it.code === OPT_END) {
      out[off++] = OPT_END;
    } else {
      out[off++] = it.code;
      out[off++] = it.len;
      if (it.code === OPT_OVERLOAD) {
        out[off++] = overload;
        continue;
      }
      const at = cursor.get(it.code) ?? 0;
      out.set(values.get(it.code)!.subarray(at, at + it.len), off);
      cursor.set(it.code, at + it.len);
      off += it.len;
    }
  }
  out.set(area.trailer, off);
}

export function encodeWithLayout(msg: DhcpMessage, layout: WireLayout): Uint8Array | undefined {
  if (!matches(msg, layout)) return undefined;
  const cookieLen = msg.hasCookie ? 4 : 0;
  const out = new Uint8Array(FIXED_HEADER_LEN + cookieLen + areaSize(layout.options));
  writeHeader(out, msg);
  if (!msg.hasCookie) {
    out.set(layout.options.trailer, FIXED_HEADER_LEN);
    return out;
  }
  out.set(MAGIC_COOKIE, FIXED_HEADER_LEN);
  const values = new Map(msg.options.map((o) => [o.code, o.data]));
  const cursor = new Map<number, number>();
  writeArea(out, FIXED_HEADER_LEN + 4, layout.options, values, cursor, layout.overload);
  if (layout.file) {
    out.fill(0, FIELD.FILE_OFF, FIELD.FILE_OFF + FIELD.FILE_LEN);
    writeArea(out, FIELD.FILE_OFF, layout.file, values, cursor, layout.overload);
  }
  if (layout.sname) {
    out.fill(0, FIELD.SNAME_OFF, FIELD.SNAME_OFF + FIELD.SNAME_LEN);
    writeArea(out, FIELD.SNAME_OFF, layout.sname, values, cursor, layout.overload);
  }
  return out;
}
