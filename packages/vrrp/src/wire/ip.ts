import { readIp4, type Ip4 } from '@hadhcp/common';
import type { VrrpWireError } from './advert.js';

/** What a raw IPv4 socket delivers for protocol 112: the IP header (RFC 791 3.1) and the VRRP message. */
export interface IpPacket {
  srcIp: Ip4;
  dstIp: Ip4;
  /** RFC 3768 7.1: a receiver MUST check this is 255 (keepalived skips it in unicast mode). */
  ttl: number;
  protocol: number;
  tos: number;
  /** The IP payload, trimmed to the header's total length (drops link-layer padding). */
  payload: Uint8Array;
}

const MIN_IHL = 5;

/**
 * Splits an IPv4 packet into header fields and payload. The IP header checksum is not verified: the kernel drops
 * packets whose header checksum is wrong before a raw socket sees them (and capture files of locally sent packets
 * often carry an offloaded, unfilled checksum).
 */
export function decodeIpPacket(bytes: Uint8Array): IpPacket | VrrpWireError {
  if (bytes.length < MIN_IHL * 4)
    return { reason: 'truncated', detail: `${bytes.length} bytes, no IPv4 header` };
  const version = bytes[0]! >>> 4;
  const ihl = (bytes[0]! & 0x0f) * 4;
  if (version !== 4) return { reason: 'bad-ip-header', detail: `IP version ${version}` };
  if (ihl < MIN_IHL * 4) return { reason: 'bad-ip-header', detail: `header length ${ihl}` };
  const total = (bytes[2]! << 8) | bytes[3]!;
  if (total < ihl) return { reason: 'bad-ip-header', detail: `total length ${total} < header length ${ihl}` };
  if (bytes.length < total)
    return { reason: 'truncated', detail: `${bytes.length} bytes, IP total length ${total}` };
  // VRRP messages are tiny and never fragmented; a fragment cannot be checked on its own.
  const frag = ((bytes[6]! << 8) | bytes[7]!) & 0x3fff;
  if (frag !== 0) return { reason: 'bad-ip-header', detail: 'fragment' };
  return {
    srcIp: readIp4(bytes, 12),
    dstIp: readIp4(bytes, 16),
    ttl: bytes[8]!,
    protocol: bytes[9]!,
    tos: bytes[1]!,
    payload: bytes.subarray(ihl, total),
  };
}
