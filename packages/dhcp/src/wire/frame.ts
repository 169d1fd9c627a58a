/**
 * Ethernet II (+ optional 802.1Q tag) / IPv4 / UDP frames, for the raw path: a reply to a client that has no address
 * yet must reach its MAC directly (RFC 2131 4.1: unicast to chaddr and yiaddr when the broadcast bit is clear), and
 * requests on directly attached links are read from a packet socket. Pure: no sockets here.
 */
import { readIp4, writeIp4, type Ip4 } from '@hadhcp/common';
import { wireError, type WireError } from './errors.js';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_VLAN = 0x8100;
const IPPROTO_UDP = 17;

/** RFC 1071 Internet checksum: ones' complement of the ones' complement sum of 16-bit words (odd byte padded). */
export function ipChecksum(data: Uint8Array, initial = 0): number {
  let sum = initial;
  const n = data.length;
  for (let i = 0; i + 1 < n; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (n & 1) sum += data[n - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** RFC 768: the UDP checksum covers a pseudo-header (addresses, protocol, UDP length) and the whole datagram. */
function udpChecksum(srcIp: Ip4, dstIp: Ip4, udp: Uint8Array): number {
  const pseudo =
    (srcIp >>> 16) + (srcIp & 0xffff) + (dstIp >>> 16) + (dstIp & 0xffff) + IPPROTO_UDP + udp.length;
  return ipChecksum(udp, pseudo);
}

export interface UdpFrameParams {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  srcIp: Ip4;
  dstIp: Ip4;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
  /** Default 64. */
  ttl?: number;
  /** 802.1Q VLAN id; untagged when absent. */
  vlan?: number;
  /** IPv4 identification, default 0 (a datagram that is never fragmented needs none, RFC 6864 4.1). */
  id?: number;
  /** Sets the IPv4 DF flag. Default false. */
  dontFragment?: boolean;
  /** IPv4 DSCP/ECN octet. Default 0. */
  tos?: number;
}

export function buildUdpFrame(p: UdpFrameParams): Uint8Array {
  const l2 = p.vlan === undefined ? 14 : 18;
  const udpLen = 8 + p.payload.length;
  const ipLen = 20 + udpLen;
  const f = new Uint8Array(l2 + ipLen);
  f.set(p.dstMac.subarray(0, 6), 0);
  f.set(p.srcMac.subarray(0, 6), 6);
  let off = 12;
  if (p.vlan !== undefined) {
    f.set([ETHERTYPE_VLAN >>> 8, ETHERTYPE_VLAN & 255, (p.vlan >>> 8) & 0x0f, p.vlan & 255], 12);
    off = 16;
  }
  f.set([ETHERTYPE_IPV4 >>> 8, ETHERTYPE_IPV4 & 255], off);
  const ip = f.subarray(l2, l2 + 20);
  ip.set([0x45, p.tos ?? 0, ipLen >>> 8, ipLen & 255, ((p.id ?? 0) >>> 8) & 255, (p.id ?? 0) & 255]);
  ip[6] = p.dontFragment ? 0x40 : 0;
  ip[8] = p.ttl ?? 64;
  ip[9] = IPPROTO_UDP;
  writeIp4(ip, 12, p.srcIp);
  writeIp4(ip, 16, p.dstIp);
  const ck = ipChecksum(ip);
  ip[10] = ck >>> 8;
  ip[11] = ck & 255;
  const udp = f.subarray(l2 + 20);
  udp.set([p.srcPort >>> 8, p.srcPort & 255, p.dstPort >>> 8, p.dstPort & 255, udpLen >>> 8, udpLen & 255]);
  udp.set(p.payload, 8);
  // RFC 768: a computed checksum of zero is sent as all ones (zero means "no checksum").
  const uck = udpChecksum(p.srcIp, p.dstIp, udp) || 0xffff;
  udp[6] = uck >>> 8;
  udp[7] = uck & 255;
  return f;
}

export interface UdpFrame {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  vlan?: number;
  srcIp: Ip4;
  dstIp: Ip4;
  ttl: number;
  tos: number;
  id: number;
  dontFragment: boolean;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
  /**
   * 'absent' when the sender left it zero. 'bad' is common on frames captured on the sending host or a veth with
   * checksum offload (the kernel fills it in later), so it is reported, not dropped, unless verifyUdpChecksum is set.
   */
  udpChecksum: 'ok' | 'bad' | 'absent';
}

export interface ParseFrameOptions {
  verifyUdpChecksum?: boolean;
}

/** Parses an Ethernet II frame carrying IPv4/UDP. Never throws; the payload is a view into `frame`. */
export function parseUdpFrame(frame: Uint8Array, opts?: ParseFrameOptions): UdpFrame | WireError {
  if (frame.length < 14) return wireError('frame-truncated', `${frame.length} bytes, no Ethernet header`);
  let l3 = 14;
  let ethertype = (frame[12]! << 8) | frame[13]!;
  let vlan: number | undefined;
  if (ethertype === ETHERTYPE_VLAN) {
    if (frame.length < 18) return wireError('frame-truncated', '802.1Q tag cut short');
    vlan = ((frame[14]! << 8) | frame[15]!) & 0x0fff;
    ethertype = (frame[16]! << 8) | frame[17]!;
    l3 = 18;
  }
  if (ethertype !== ETHERTYPE_IPV4) return wireError('not-ipv4', `ethertype 0x${ethertype.toString(16)}`);
  if (frame.length < l3 + 20) return wireError('frame-truncated', 'IPv4 header cut short');
  const vihl = frame[l3]!;
  const ihl = (vihl & 15) * 4;
  const totalLen = (frame[l3 + 2]! << 8) | frame[l3 + 3]!;
  if (vihl >>> 4 !== 4 || ihl < 20) return wireError('bad-ip-header', `version/IHL 0x${vihl.toString(16)}`);
  if (totalLen < ihl) return wireError('bad-ip-header', `total length ${totalLen} < header ${ihl}`);
  // Ethernet pads short frames to 60 octets, so the frame may be longer than the datagram, never shorter.
  if (frame.length < l3 + totalLen)
    return wireError('frame-truncated', `IPv4 total length ${totalLen} > frame`);
  const ip = frame.subarray(l3, l3 + totalLen);
  if (ipChecksum(ip.subarray(0, ihl)) !== 0)
    return wireError('bad-ip-checksum', 'IPv4 header checksum mismatch');
  const fragField = (ip[6]! << 8) | ip[7]!;
  if (fragField & 0x3fff) return wireError('ip-fragment', `MF/offset 0x${(fragField & 0x3fff).toString(16)}`);
  if (ip[9] !== IPPROTO_UDP) return wireError('not-udp', `protocol ${ip[9]}`);
  const udp = ip.subarray(ihl);
  if (udp.length < 8) return wireError('bad-udp-length', 'UDP header cut short');
  const udpLen = (udp[4]! << 8) | udp[5]!;
  if (udpLen < 8 || udpLen > udp.length)
    return wireError('bad-udp-length', `UDP length ${udpLen}, ${udp.length} left`);
  const srcIp = readIp4(ip, 12);
  const dstIp = readIp4(ip, 16);
  const datagram = udp.subarray(0, udpLen);
  const sent = (udp[6]! << 8) | udp[7]!;
  const check = sent === 0 ? 'absent' : udpChecksum(srcIp, dstIp, datagram) === 0 ? 'ok' : 'bad';
  if (check === 'bad' && opts?.verifyUdpChecksum)
    return wireError('bad-udp-checksum', 'UDP checksum mismatch');
  const out: UdpFrame = {
    dstMac: frame.subarray(0, 6),
    srcMac: frame.subarray(6, 12),
    srcIp,
    dstIp,
    ttl: ip[8]!,
    tos: ip[1]!,
    id: (ip[4]! << 8) | ip[5]!,
    dontFragment: (fragField & 0x4000) !== 0,
    srcPort: (udp[0]! << 8) | udp[1]!,
    dstPort: (udp[2]! << 8) | udp[3]!,
    payload: datagram.subarray(8),
    udpChecksum: check,
  };
  if (vlan !== undefined) out.vlan = vlan;
  return out;
}
