import { readIp4, writeIp4, type Ip4 } from '@hadhcp/common';
import type { OptionType } from './option-defs.js';

/**
 * Typed DHCPv4 option values: one codec per OptionType in option-defs.ts.
 *
 * `decodeOptionValue` is total: malformed data (wrong length, bad label, pointer loop, ...) gives `undefined`,
 * never an exception, so the caller counts it and falls back to the raw bytes. `encodeOptionValue` throws
 * `OptionValueError` for values that cannot be put on the wire (a tag that does not match the type, an integer
 * out of range, a label over 63 bytes): those are programming errors, the config reader validates first.
 * Values longer than 255 bytes are returned whole; splitting them (RFC 3396) is the message encoder's job.
 */
export type OptionJsValue =
  | { type: 'ip'; value: Ip4 }
  | { type: 'ips'; value: Ip4[] }
  | { type: 'ip-pairs'; value: Array<[Ip4, Ip4]> }
  | { type: 'u8' | 'u16' | 'u32' | 'i32'; value: number }
  | { type: 'u8s' | 'u16s' | 'u32s'; value: number[] }
  | { type: 'bool'; value: boolean }
  | { type: 'text'; value: string }
  | { type: 'bytes'; value: Uint8Array }
  | { type: 'domains'; value: string[] }
  | { type: 'routes'; value: ClasslessRoute[] }
  | { type: 'fqdn'; value: FqdnValue }
  | { type: 'encap'; value: SubOption[] };

/** RFC 3442 one destination: `prefix` significant bits of `network`, reached through `router`. */
export interface ClasslessRoute {
  network: Ip4;
  prefix: number;
  router: Ip4;
}

/**
 * RFC 4702 client FQDN. `flags` is the raw byte (FQDN_FLAG_*), kept whole so unknown bits survive a round trip.
 * With the E flag the name travels in RFC 1035 wire form: a name ending in '.' is fully qualified (terminated by
 * the root label), one without is a partial name (RFC 4702 2.3.1). Without E it is the ASCII text as sent.
 */
export interface FqdnValue {
  flags: number;
  rcode1: number;
  rcode2: number;
  name: string;
}

export const FQDN_FLAG_S = 0x01; // server should do the A RR update (RFC 4702 2.1)
export const FQDN_FLAG_O = 0x02; // server overrode the client's S (reply only)
export const FQDN_FLAG_E = 0x04; // canonical wire encoding of the name
export const FQDN_FLAG_N = 0x08; // server should do no updates

/** One sub-option of an encapsulated option (RFC 3046 relay agent information). */
export interface SubOption {
  code: number;
  data: Uint8Array;
}

export class OptionValueError extends Error {
  override name = 'OptionValueError';
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const utf8Loose = new TextDecoder();

const UINT_BITS = { u8: 8, u16: 16, u32: 32, u8s: 8, u16s: 16, u32s: 32 } as const;

export function encodeOptionValue(type: OptionType, v: OptionJsValue): Uint8Array {
  if (v.type !== type) throw new OptionValueError(`value tagged ${v.type} given for option type ${type}`);
  switch (v.type) {
    case 'ip':
      return ipsBytes([v.value]);
    case 'ips':
      if (v.value.length === 0) throw new OptionValueError('an address list needs at least one address');
      return ipsBytes(v.value);
    case 'ip-pairs':
      if (v.value.length === 0) throw new OptionValueError('an address-pair list needs at least one pair');
      return ipsBytes(v.value.flat());
    case 'u8':
    case 'u16':
    case 'u32':
      return uintsBytes([v.value], UINT_BITS[v.type]);
    case 'u8s':
    case 'u16s':
    case 'u32s':
      return uintsBytes(v.value, UINT_BITS[v.type]);
    case 'i32': {
      if (!Number.isInteger(v.value) || v.value < -0x80000000 || v.value > 0x7fffffff)
        throw new OptionValueError(`${v.value} is not a signed 32-bit integer`);
      const out = new Uint8Array(4);
      new DataView(out.buffer).setInt32(0, v.value);
      return out;
    }
    case 'bool':
      return Uint8Array.of(v.value ? 1 : 0);
    case 'text':
      return utf8.encode(v.value);
    case 'bytes':
      return v.value.slice();
    case 'domains':
      return encodeDomainList(v.value);
    case 'routes':
      return encodeRoutes(v.value);
    case 'fqdn':
      return encodeFqdn(v.value);
    case 'encap':
      return encodeSubOptions(v.value);
  }
}

/** Decodes `bytes` as `type`; undefined when the data does not fit the type. */
export function decodeOptionValue(type: OptionType, b: Uint8Array): OptionJsValue | undefined {
  switch (type) {
    case 'ip':
      return b.length === 4 ? { type, value: readIp4(b, 0) } : undefined;
    case 'ips': {
      // RFC 2132: address lists are at least one address long.
      const ips = readIps(b, 1);
      return ips && { type, value: ips };
    }
    case 'ip-pairs': {
      const ips = b.length % 8 === 0 ? readIps(b, 2) : undefined;
      if (!ips) return undefined;
      const pairs: Array<[Ip4, Ip4]> = [];
      for (let i = 0; i < ips.length; i += 2) pairs.push([ips[i]!, ips[i + 1]!]);
      return { type, value: pairs };
    }
    case 'u8':
    case 'u16':
    case 'u32': {
      const n = UINT_BITS[type] / 8;
      return b.length === n ? { type, value: readUint(b, 0, n) } : undefined;
    }
    case 'u8s':
    case 'u16s':
    case 'u32s': {
      const n = UINT_BITS[type] / 8;
      if (b.length === 0 || b.length % n !== 0) return undefined;
      const value: number[] = [];
      for (let i = 0; i < b.length; i += n) value.push(readUint(b, i, n));
      return { type, value };
    }
    case 'i32':
      return b.length === 4
        ? { type, value: new DataView(b.buffer, b.byteOffset, 4).getInt32(0) }
        : undefined;
    case 'bool':
      // RFC 2132 flags are one octet, 0 or 1; anything else is not a flag we can trust.
      return b.length === 1 && b[0]! <= 1 ? { type, value: b[0] === 1 } : undefined;
    case 'text': {
      const s = decodeText(b);
      return s === undefined ? undefined : { type, value: s };
    }
    case 'bytes':
      return { type, value: b.slice() };
    case 'domains': {
      const names = decodeDomainList(b);
      return names && { type, value: names };
    }
    case 'routes': {
      const routes = decodeRoutes(b);
      return routes && { type, value: routes };
    }
    case 'fqdn': {
      const f = decodeFqdn(b);
      return f && { type, value: f };
    }
    case 'encap': {
      const subs = decodeSubOptions(b);
      return subs && { type, value: subs };
    }
  }
}

function ipsBytes(ips: readonly Ip4[]): Uint8Array {
  const out = new Uint8Array(ips.length * 4);
  ips.forEach((ip, i) => {
    if (!Number.isInteger(ip) || ip < 0 || ip > 0xffffffff)
      throw new OptionValueError(`${ip} is not an IPv4 address`);
    writeIp4(out, i * 4, ip);
  });
  return out;
}

function readIps(b: Uint8Array, minCount: number): Ip4[] | undefined {
  if (b.length % 4 !== 0 || b.length < minCount * 4) return undefined;
  const out: Ip4[] = [];
  for (let i = 0; i < b.length; i += 4) out.push(readIp4(b, i));
  return out;
}

function uintsBytes(values: readonly number[], bits: 8 | 16 | 32): Uint8Array {
  const n = bits / 8;
  const max = 2 ** bits - 1;
  const out = new Uint8Array(values.length * n);
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > max)
      throw new OptionValueError(`${v} is not an unsigned ${bits}-bit integer`);
    for (let k = 0; k < n; k++) out[i * n + k] = Math.floor(v / 2 ** (8 * (n - 1 - k))) & 0xff;
  });
  return out;
}

function readUint(b: Uint8Array, off: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) v = v * 256 + b[off + k]!;
  return v;
}

/**
 * RFC 2132 text is NVT ASCII; we accept UTF-8 (a superset). Some clients NUL-terminate despite RFC 2132 2, so
 * trailing NULs are dropped. Bytes that are not UTF-8 give undefined: the caller keeps the raw bytes.
 */
function decodeText(b: Uint8Array): string | undefined {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  try {
    return utf8Strict.decode(b.subarray(0, end));
  } catch {
    return undefined;
  }
}

/* ---------- RFC 1035 3.1 names, RFC 3397 2 domain-search lists ---------- */

/** Splits a dotted name into labels; a trailing '.' (root) is allowed and ignored; '' and '.' are the root. */
function labelsOf(name: string): Uint8Array[] {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return [];
  const labels = trimmed.split('.').map((l) => utf8.encode(l));
  let total = 1;
  for (const l of labels) {
    if (l.length === 0 || l.length > 63) throw new OptionValueError(`bad label in domain name "${name}"`);
    total += l.length + 1;
  }
  // RFC 1035 2.3.4: 255 octets or less for the whole wire name.
  if (total > 255) throw new OptionValueError(`domain name "${name}" is longer than 255 octets`);
  return labels;
}

/**
 * Encodes a list of names with RFC 1035 4.1.4 compression (RFC 3397 2: the list is one buffer, pointers are
 * offsets into the option data). ISC compresses too, and it keeps long search lists inside one option.
 */
export function encodeDomainList(names: readonly string[]): Uint8Array {
  const out: number[] = [];
  const seen = new Map<string, number>(); // lower-cased suffix -> offset where it was written
  for (const name of names) {
    const labels = labelsOf(name);
    let i = 0;
    for (; i < labels.length; i++) {
      const suffix = labels
        .slice(i)
        .map((l) => utf8Loose.decode(l).toLowerCase())
        .join('.');
      const at = seen.get(suffix);
      if (at !== undefined) {
        out.push(0xc0 | (at >> 8), at & 0xff);
        break;
      }
      if (out.length < 0x4000) seen.set(suffix, out.length);
      out.push(labels[i]!.length, ...labels[i]!);
    }
    if (i === labels.length) out.push(0);
  }
  return Uint8Array.from(out);
}

/**
 * Decodes a sequence of names filling `b`. Pointers must point strictly before the name being read, which
 * makes loops impossible (each jump goes back), and a jump budget bounds the work anyway.
 */
export function decodeDomainList(b: Uint8Array): string[] | undefined {
  const names: string[] = [];
  let off = 0;
  while (off < b.length) {
    const r = readName(b, off, true);
    if (!r) return undefined;
    names.push(r.name);
    off = r.next;
  }
  return names;
}

/** Reads one name at `start`; `next` is the offset after it in the uncompressed stream. */
function readName(
  b: Uint8Array,
  start: number,
  allowPointers: boolean,
): { name: string; next: number; terminated: boolean } | undefined {
  const labels: string[] = [];
  let off = start;
  let next: number | undefined;
  let jumps = 0;
  let wireLen = 1;
  let lowest = start; // pointers must target bytes before everything read so far
  for (;;) {
    if (off >= b.length) {
      // Running out of data ends a partial name (RFC 4702 2.3.1); in lists this is a truncation.
      if (allowPointers || next !== undefined) return undefined;
      return { name: labels.join('.'), next: off, terminated: false };
    }
    const len = b[off]!;
    if (len === 0) {
      return { name: labels.join('.'), next: next ?? off + 1, terminated: true };
    }
    if ((len & 0xc0) === 0xc0) {
      if (!allowPointers || off + 1 >= b.length) return undefined;
      const target = ((len & 0x3f) << 8) | b[off + 1]!;
      if (target >= lowest || ++jumps > 127) return undefined;
      next ??= off + 2;
      lowest = target;
      off = target;
      continue;
    }
    if (len > 63 || off + 1 + len > b.length) return undefined; // 0x40/0x80 prefixes are reserved (RFC 6891)
    wireLen += len + 1;
    if (wireLen > 255) return undefined;
    labels.push(utf8Loose.decode(b.subarray(off + 1, off + 1 + len)));
    off += 1 + len;
  }
}

/* ---------- RFC 3442 classless static routes ---------- */

function encodeRoutes(routes: readonly ClasslessRoute[]): Uint8Array {
  const out: number[] = [];
  for (const r of routes) {
    if (!Number.isInteger(r.prefix) || r.prefix < 0 || r.prefix > 32)
      throw new OptionValueError(`prefix length ${r.prefix} is not 0-32`);
    const sig = Math.ceil(r.prefix / 8);
    const net = ipsBytes([r.network]);
    out.push(r.prefix, ...net.subarray(0, sig), ...ipsBytes([r.router]));
  }
  return Uint8Array.from(out);
}

function decodeRoutes(b: Uint8Array): ClasslessRoute[] | undefined {
  const routes: ClasslessRoute[] = [];
  let off = 0;
  while (off < b.length) {
    const prefix = b[off]!;
    if (prefix > 32) return undefined;
    const sig = Math.ceil(prefix / 8);
    if (off + 1 + sig + 4 > b.length) return undefined;
    const net = new Uint8Array(4);
    net.set(b.subarray(off + 1, off + 1 + sig));
    // RFC 3442: only the significant octets are sent; bits past the prefix are masked off (they mean nothing).
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    routes.push({ network: (readIp4(net, 0) & mask) >>> 0, prefix, router: readIp4(b, off + 1 + sig) });
    off += 1 + sig + 4;
  }
  // RFC 3442 "Static Routes": a zero-length option is meaningless.
  return routes.length > 0 ? routes : undefined;
}

/* ---------- RFC 4702 client FQDN ---------- */

function encodeFqdn(f: FqdnValue): Uint8Array {
  const head = uintsBytes([f.flags, f.rcode1, f.rcode2], 8);
  let name: Uint8Array;
  if (f.flags & FQDN_FLAG_E) {
    const labels = labelsOf(f.name);
    const parts: number[] = [];
    for (const l of labels) parts.push(l.length, ...l);
    if (f.name.endsWith('.')) parts.push(0);
    name = Uint8Array.from(parts);
  } else {
    name = utf8.encode(f.name);
  }
  const out = new Uint8Array(3 + name.length);
  out.set(head);
  out.set(name, 3);
  return out;
}

function decodeFqdn(b: Uint8Array): FqdnValue | undefined {
  if (b.length < 3) return undefined;
  const [flags, rcode1, rcode2] = [b[0]!, b[1]!, b[2]!];
  const rest = b.subarray(3);
  if (!(flags & FQDN_FLAG_E)) {
    const name = decodeText(rest);
    return name === undefined ? undefined : { flags, rcode1, rcode2, name };
  }
  if (rest.length === 0) return { flags, rcode1, rcode2, name: '' };
  // RFC 4702 2.3.1: canonical form, no compression; one name filling the rest.
  const r = readName(rest, 0, false);
  if (!r || r.next !== rest.length) return undefined;
  return { flags, rcode1, rcode2, name: r.terminated ? `${r.name}.` : r.name };
}

/* ---------- RFC 3046 sub-options ---------- */

function encodeSubOptions(subs: readonly SubOption[]): Uint8Array {
  const out: number[] = [];
  for (const s of subs) {
    if (s.data.length > 255) throw new OptionValueError(`sub-option ${s.code} is longer than 255 bytes`);
    out.push(...uintsBytes([s.code], 8), s.data.length, ...s.data);
  }
  return Uint8Array.from(out);
}

function decodeSubOptions(b: Uint8Array): SubOption[] | undefined {
  const subs: SubOption[] = [];
  let off = 0;
  while (off < b.length) {
    if (off + 2 > b.length) return undefined;
    const len = b[off + 1]!;
    if (off + 2 + len > b.length) return undefined;
    subs.push({ code: b[off]!, data: b.slice(off + 2, off + 2 + len) });
    off += 2 + len;
  }
  return subs;
}
