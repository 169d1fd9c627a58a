/**
 * Gratuitous ARP frames (RFC 826 format; RFC 5227 3 "ARP announcement"): sender and target protocol address are
 * both the announced address, sent to the Ethernet broadcast address so every neighbour updates its cache after a
 * virtual IP moves (RFC 3768 8.1.2 asks the new VRRP master to send one per virtual address).
 */
import { readIp4, writeIp4, type Ip4 } from './ipv4.js';

export const ETHERTYPE_ARP = 0x0806;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
const BROADCAST = Uint8Array.of(255, 255, 255, 255, 255, 255);

export interface GarpParams {
  /** The MAC that should now own the address (sender hardware address and Ethernet source). */
  mac: Uint8Array;
  ip: Ip4;
  /** 'request' (what keepalived sends, and RFC 5227's announcement) or 'reply' (the older unsolicited reply form). */
  op?: 'request' | 'reply';
}

/**
 * Builds the 42-octet frame (14 Ethernet + 28 ARP); NICs add the padding to 60. The target hardware address is the
 * broadcast address, as keepalived 2.2 writes it (captured), which hosts ignore for a gratuitous ARP anyway.
 */
export function buildGarp(p: GarpParams): Uint8Array {
  const f = new Uint8Array(42);
  f.set(BROADCAST, 0);
  f.set(p.mac.subarray(0, 6), 6);
  f[12] = ETHERTYPE_ARP >>> 8;
  f[13] = ETHERTYPE_ARP & 255;
  f.set([0, 1, 8, 0, 6, 4, 0, p.op === 'reply' ? ARP_REPLY : ARP_REQUEST], 14); // htype 1, ptype IPv4, hlen, plen, op
  f.set(p.mac.subarray(0, 6), 22); // sender hardware address
  writeIp4(f, 28, p.ip); // sender protocol address
  f.set(BROADCAST, 32); // target hardware address
  writeIp4(f, 38, p.ip); // target protocol address
  return f;
}

export interface ArpPacket {
  op: number;
  senderMac: Uint8Array;
  senderIp: Ip4;
  targetMac: Uint8Array;
  targetIp: Ip4;
}

/** Parses an Ethernet/IPv4 ARP frame (untagged); undefined for anything else or a short frame. */
export function parseArp(frame: Uint8Array): ArpPacket | undefined {
  if (frame.length < 42 || frame[12] !== 0x08 || frame[13] !== 0x06) return undefined;
  if (
    frame[14] !== 0 ||
    frame[15] !== 1 ||
    frame[16] !== 8 ||
    frame[17] !== 0 ||
    frame[18] !== 6 ||
    frame[19] !== 4
  ) {
    return undefined;
  }
  return {
    op: (frame[20]! << 8) | frame[21]!,
    senderMac: frame.slice(22, 28),
    senderIp: readIp4(frame, 28),
    targetMac: frame.slice(32, 38),
    targetIp: readIp4(frame, 38),
  };
}

/** A gratuitous ARP announces the sender's own address: sender and target protocol addresses are equal. */
export function isGratuitous(p: ArpPacket): boolean {
  return p.senderIp === p.targetIp;
}
