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
  /**
   * Options in first-appearance order (options field, then file, then sname: RFC 3396 5), long options already
   * concatenated; pad (0), end (255) and option overload (52) are not included: the codec manages them.
   */
  options: DhcpOption[];
  /**
   * How the options were laid out on the wire, set by decodeDhcp so that encodeDhcp can reproduce a packet byte for
   * byte (instance splits, pads, overload, bytes after the end option). encodeDhcp only follows it while it still
   * matches `options`, `file` and `sname`; a message built from scratch leaves it out and gets the canonical layout.
   */
  layout?: WireLayout;
}

/** Where an option instance sits: the options field, or the file / sname fields when overloaded (RFC 2131 4.1). */
export type OptionArea = 'options' | 'file' | 'sname';

/** One element of an option area: a run of `len` pads (code 0), the end option (255, len 0) or one option instance. */
export interface LayoutItem {
  code: number;
  len: number;
}

export interface AreaLayout {
  items: LayoutItem[];
  /** The bytes after the end option (normally zero padding), verbatim. */
  trailer: Uint8Array;
}

export interface WireLayout {
  /** RFC 2132 9.3 option 52 value: 0 none, 1 file, 2 sname, 3 both. */
  overload: number;
  /** For a BOOTP packet (no cookie) items is empty and trailer is the whole vend field. */
  options: AreaLayout;
  file?: AreaLayout;
  sname?: AreaLayout;
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
