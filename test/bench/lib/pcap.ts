// Reads classic pcap files written by tcpdump -w (Ethernet link type), with just enough decoding for the
// benchmarks: DHCP messages (xid, type) and ARP / VRRP frames, each with its capture timestamp in ms.
import { readFileSync } from 'node:fs';

export interface ArpPacket {
  kind: 'arp';
  srcMac: string;
  /** 1 request, 2 reply */
  op: number;
  senderMac: string;
  senderIp: string;
  targetIp: string;
}

export interface VrrpPacket {
  kind: 'vrrp';
  srcMac: string;
  src: string;
  dst: string;
  vrid: number;
  priority: number;
}

export interface DhcpPacket {
  kind: 'dhcp';
  srcMac: string;
  src: string;
  dst: string;
  op: number;
  xid: number;
  /** Option 53, when present. */
  type: number | undefined;
  chaddr: string;
}

export type Packet = { tsMs: number } & (ArpPacket | VrrpPacket | DhcpPacket);

/** Yields { tsMs, frame } for every record. */
export function* pcapRecords(path: string): Generator<{ tsMs: number; frame: Buffer }> {
  const b = readFileSync(path);
  if (b.length < 24) return;
  const magic = b.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magic === 0xa1b2c3d4) [le, nano] = [true, false];
  else if (magic === 0xa1b23c4d) [le, nano] = [true, true];
  else if (magic === 0xd4c3b2a1) [le, nano] = [false, false];
  else if (magic === 0x4d3cb2a1) [le, nano] = [false, true];
  else throw new Error(`${path}: not a pcap file`);
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const linkType = u32(20);
  if (linkType !== 1) throw new Error(`${path}: link type ${linkType}, want Ethernet (1)`);
  let o = 24;
  while (o + 16 <= b.length) {
    const sec = u32(o);
    const frac = u32(o + 4);
    const incl = u32(o + 8);
    if (o + 16 + incl > b.length) break; // torn tail
    yield { tsMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3), frame: b.subarray(o + 16, o + 16 + incl) };
    o += 16 + incl;
  }
}

const ip4 = (f: Buffer, o: number): string => `${f[o]}.${f[o + 1]}.${f[o + 2]}.${f[o + 3]}`;
const mac = (f: Buffer, o: number): string =>
  [...f.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

/** Decodes the parts the benchmarks look at; returns undefined for anything else. */
export function decode(frame: Buffer): ArpPacket | VrrpPacket | DhcpPacket | undefined {
  if (frame.length < 14) return undefined;
  let etype = frame.readUInt16BE(12);
  let off = 14;
  if (etype === 0x8100 && frame.length >= 18) {
    etype = frame.readUInt16BE(16);
    off = 18;
  }
  const srcMac = mac(frame, 6);
  if (etype === 0x0806 && frame.length >= off + 28) {
    return {
      kind: 'arp',
      srcMac,
      op: frame.readUInt16BE(off + 6),
      senderMac: mac(frame, off + 8),
      senderIp: ip4(frame, off + 14),
      targetIp: ip4(frame, off + 24),
    };
  }
  if (etype !== 0x0800 || frame.length < off + 20) return undefined;
  const ihl = (frame[off]! & 15) * 4;
  const proto = frame[off + 9];
  const src = ip4(frame, off + 12);
  const dst = ip4(frame, off + 16);
  const l4 = off + ihl;
  if (proto === 112 && frame.length >= l4 + 8) {
    return { kind: 'vrrp', srcMac, src, dst, vrid: frame[l4 + 1]!, priority: frame[l4 + 2]! };
  }
  if (proto === 17 && frame.length >= l4 + 8 + 240) {
    const sport = frame.readUInt16BE(l4);
    const dport = frame.readUInt16BE(l4 + 2);
    if (![67, 68].includes(sport) && ![67, 68].includes(dport)) return undefined;
    const d = l4 + 8;
    const xid = frame.readUInt32BE(d + 4);
    let type: number | undefined;
    // options after the magic cookie
    for (let p = d + 240; p < frame.length;) {
      const code = frame[p];
      if (code === 255) break;
      if (code === 0) {
        p++;
        continue;
      }
      const len = frame[p + 1] ?? 0;
      if (code === 53) type = frame[p + 2];
      p += 2 + len;
    }
    return { kind: 'dhcp', srcMac, src, dst, op: frame[d]!, xid, type, chaddr: mac(frame, d + 28) };
  }
  return undefined;
}

/** Every decodable packet of a pcap, in capture order: [{ tsMs, ...decoded }]. */
export function readPackets(path: string): Packet[] {
  const out: Packet[] = [];
  for (const r of pcapRecords(path)) {
    const d = decode(r.frame);
    if (d) out.push({ tsMs: r.tsMs, ...d });
  }
  return out;
}
