import type { Ip4 } from '@hadhcp/common';

/** One option as it stands after RFC 3396 concatenation: all instances of a code joined, in order of appearance. */
export interface DhcpOption {
  code: number;
  data: Uint8Array;
}

/** An RFC 2131 message. Addresses are uint32; chaddr/sname/file keep their full fixed-size fields. */
export interface DhcpMessage {
  op: number; // 1 BOOTREQUEST, 2 BOOTREPLY
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number; // bit 15 = broadcast
  ciaddr: Ip4;
  yiaddr: Ip4;
  siaddr: Ip4;
  giaddr: Ip4;
  chaddr: Uint8Array; // 16 bytes
  sname: Uint8Array; // 64 bytes (may have carried options, see overload)
  file: Uint8Array; // 128 bytes (may have carried options, see overload)
  /** False for a plain BOOTP packet without the magic cookie. */
  hasCookie: boolean;
  /** Options in first-appearance order, long options already concatenated; pad/end not included. */
  options: DhcpOption[];
}

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const BROADCAST_FLAG = 0x8000;

export enum MessageType {
  DISCOVER = 1,
  OFFER = 2,
  REQUEST = 3,
  DECLINE = 4,
  ACK = 5,
  NAK = 6,
  RELEASE = 7,
  INFORM = 8,
}
