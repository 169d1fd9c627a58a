// Normalised replies and their comparison, for the differential conformance test (test/lab/conformance.test.ts).
// A reply is reduced to what a client or relay can see: message type, the fixed header, options in wire order with
// their values, option overload, datagram size, and where it went. Normalised: addresses the server picked from a
// pool are named by order of first appearance in the scenario (`pool#1`), since RFC 2131 leaves the allocation
// order to the server; lease, T1 and T2 times may differ by 2 s (the servers run one after the other).
import { formatIp4, formatMac } from '../../../packages/common/src/index.js';
import { getOption, MessageType, type DhcpMessage } from '../../../packages/dhcp/src/index.js';
import type { CapturedReply } from './conformance-net.js';

export interface NormOption {
  code: number;
  value: string;
}

export interface NormReply {
  type: string;
  header: Record<string, string | number>;
  options: NormOption[];
  /** Option 52's value (0 none, 1 file, 2 sname, 3 both). */
  overload: number;
  /** Each option instance as `area:code/len` in wire order (pads left out): where the options went, and splits. */
  layout: string[];
  /** Breaches of the RFCs' MUSTs on the wire, whoever sent it (wireProblems). */
  problems: string[];
  size: number;
  /** Destination as the wire shows it: address:port and the Ethernet destination (broadcast, chaddr or other). */
  dst: string;
  src: string;
}

export interface StepRecord {
  label: string;
  /** The request as the script sent it, for accepted-difference rules. */
  request: DhcpMessage;
  /** The request was built malformed on purpose. */
  malformed: boolean;
  replies: NormReply[];
}

export interface Difference {
  step: string;
  field: string;
  isc: string;
  hadhcp: string;
}

/** The pool ranges of fixtures/conformance/dhcpd.conf: addresses there are named by first appearance. */
const POOLS: [string, number, number][] = [
  ['10.1.0', 50, 99],
  ['10.1.2', 50, 99],
  ['10.1.3', 50, 51],
  ['10.1.4', 50, 59],
  ['10.1.5', 50, 59],
  ['10.1.6', 50, 59],
];
const TIMES = new Set([51, 58, 59]);
export const TIME_SLACK = 2;

function inPool(ip: string): boolean {
  const m = /^(\d+\.\d+\.\d+)\.(\d+)$/.exec(ip);
  return !!m && POOLS.some(([net, lo, hi]) => net === m[1] && Number(m[2]) >= lo && Number(m[2]) <= hi);
}

/** Names pool addresses by order of first appearance (one per scenario and server); `literals` keep their value. */
export class AddressNames {
  private readonly names = new Map<string, string>();
  constructor(private readonly literals: ReadonlySet<string>) {}
  name(ip: string): string {
    if (!inPool(ip) || this.literals.has(ip)) return ip;
    let n = this.names.get(ip);
    if (!n) {
      n = `pool#${this.names.size + 1}`;
      this.names.set(ip, n);
    }
    return n;
  }
  /** label -> address, to tell whether two runs also handed out the very same addresses. */
  mapping(): Record<string, string> {
    return Object.fromEntries([...this.names].map(([ip, n]) => [n, ip]));
  }
}

const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(MessageType)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const u32 = (b: Uint8Array): number =>
  b.length === 4 ? new DataView(b.buffer, b.byteOffset).getUint32(0) : -1;

/** A fixed text field as text (up to its first NUL), or its hex when it holds something else. */
function fixedField(b: Uint8Array, carriesOptions: boolean): string {
  if (carriesOptions) return '(options)';
  const end = b.indexOf(0);
  const text = Buffer.from(b.subarray(0, end < 0 ? b.length : end)).toString('latin1');
  const rest = end < 0 ? new Uint8Array() : b.subarray(end);
  if (rest.some((x) => x !== 0) || /[^\x20-\x7e]/.test(text)) return `hex:${hex(b)}`;
  return JSON.stringify(text);
}

function optionValue(code: number, data: Uint8Array): string {
  if (code === 53) return TYPE_NAMES[data[0]!] ?? String(data[0]);
  if (TIMES.has(code)) return String(u32(data));
  if (code === 56) return JSON.stringify(Buffer.from(data).toString('latin1'));
  if ([1, 3, 6, 28, 42, 54].includes(code) && data.length % 4 === 0 && data.length > 0) {
    const out: string[] = [];
    for (let i = 0; i < data.length; i += 4) out.push(formatIp4(u32(data.subarray(i, i + 4))));
    return out.join(',');
  }
  const text = Buffer.from(data).toString('latin1');
  if (data.length > 0 && /^[\x20-\x7e]+$/.test(text)) return JSON.stringify(text);
  return `hex:${hex(data)}`;
}

function layoutOf(m: DhcpMessage): string[] {
  const out: string[] = [];
  const l = m.layout;
  if (!l) return out;
  for (const [area, a] of [
    ['options', l.options],
    ['file', l.file],
    ['sname', l.sname],
  ] as const) {
    for (const it of a?.items ?? []) if (it.code !== 0) out.push(`${area}:${it.code}/${it.len}`);
  }
  return out;
}

/**
 * RFC 2131 4.1: with option overload, the options field MUST end with an end option, and so must each of file and
 * sname that carries options. Checked on each side on its own: a server's reply is held to it whatever the other
 * sent.
 */
function wireProblems(m: DhcpMessage): string[] {
  const l = m.layout;
  if (!l || !m.hasCookie) return [];
  const out: string[] = [];
  const ends = (a: { items: { code: number }[] } | undefined): boolean =>
    !!a?.items.some((it) => it.code === 255);
  if (!ends(l.options)) out.push('options field without an end option (RFC 2131 4.1)');
  if (l.overload & 1 && !ends(l.file)) out.push('overloaded file field without an end option (RFC 2131 4.1)');
  if (l.overload & 2 && !ends(l.sname))
    out.push('overloaded sname field without an end option (RFC 2131 4.1)');
  return out;
}

export function normalise(r: CapturedReply, names: AddressNames): NormReply {
  const m = r.msg;
  const ov = getOption(m, 52)?.[0] ?? m.layout?.overload ?? 0;
  const type = getOption(m, 53);
  const mac = formatMac(m.chaddr.subarray(0, Math.min(m.hlen, 16)));
  const dstMac = formatMac(r.frame.dstMac);
  const l2 = dstMac === 'ff:ff:ff:ff:ff:ff' ? 'broadcast' : dstMac === mac ? 'chaddr' : `mac ${dstMac}`;
  const ip = (v: number): string => names.name(formatIp4(v));
  return {
    type: type ? (TYPE_NAMES[type[0]!] ?? `type ${type[0]}`) : 'BOOTREPLY',
    header: {
      op: m.op,
      htype: m.htype,
      hlen: m.hlen,
      hops: m.hops,
      xid: `0x${(m.xid >>> 0).toString(16)}`,
      secs: m.secs,
      flags: `0x${m.flags.toString(16)}`,
      ciaddr: ip(m.ciaddr),
      yiaddr: ip(m.yiaddr),
      siaddr: ip(m.siaddr),
      giaddr: ip(m.giaddr),
      chaddr: hex(m.chaddr),
      sname: fixedField(m.sname, (ov & 2) !== 0),
      file: fixedField(m.file, (ov & 1) !== 0),
      cookie: String(m.hasCookie),
    },
    options: m.options.map((o) => ({ code: o.code, value: optionValue(o.code, o.data) })),
    overload: ov,
    layout: layoutOf(m),
    problems: wireProblems(m),
    size: r.size,
    dst: `${ip(r.frame.dstIp)}:${r.frame.dstPort} (${r.where}, ${l2})`,
    src: `${formatIp4(r.frame.srcIp)}:${r.frame.srcPort}`,
  };
}

const codes = (r: NormReply): string => r.options.map((o) => o.code).join(',');
const describe = (rs: NormReply[]): string => (rs.length === 0 ? 'silence' : rs.map((r) => r.type).join('+'));

function sameValue(code: number, a: string, b: string): boolean {
  if (TIMES.has(code)) return Math.abs(Number(a) - Number(b)) <= TIME_SLACK;
  return a === b;
}

/** Every difference between the two servers' replies to one step (none: they agree). */
export function diffStep(step: string, isc: NormReply[], had: NormReply[]): Difference[] {
  const out: Difference[] = [];
  const d = (field: string, a: unknown, b: unknown): void => {
    out.push({ step, field, isc: String(a), hadhcp: String(b) });
  };
  if (isc.length !== had.length || isc.some((r, i) => r.type !== had[i]!.type)) {
    d('replies', describe(isc), describe(had));
    if (isc.length !== had.length) return out;
  }
  isc.forEach((a, i) => {
    const b = had[i]!;
    const tag = isc.length > 1 ? `${a.type}[${i}] ` : `${a.type} `;
    for (const k of Object.keys(a.header))
      if (a.header[k] !== b.header[k]) d(tag + k, a.header[k], b.header[k]);
    if (codes(a) !== codes(b)) d(`${tag}options (order)`, codes(a), codes(b));
    for (const o of a.options) {
      const other = b.options.find((x) => x.code === o.code);
      if (other && !sameValue(o.code, o.value, other.value))
        d(`${tag}option ${o.code}`, o.value, other.value);
    }
    if (a.overload !== b.overload) d(`${tag}overload (52)`, a.overload, b.overload);
    if (a.layout.join(' ') !== b.layout.join(' ')) d(`${tag}layout`, a.layout.join(' '), b.layout.join(' '));
    if (a.size !== b.size) d(`${tag}size`, a.size, b.size);
    if (a.problems.join('; ') !== b.problems.join('; '))
      d(`${tag}wire`, a.problems.join('; ') || 'well formed', b.problems.join('; ') || 'well formed');
    if (a.dst !== b.dst) d(`${tag}destination`, a.dst, b.dst);
    if (a.src !== b.src) d(`${tag}source`, a.src, b.src);
  });
  return out;
}

export function formatDifference(x: Difference): string {
  return `${x.step}: ${x.field}: ISC ${x.isc} | hadhcp ${x.hadhcp}`;
}
