/**
 * Read-only helpers over a decoded DhcpMessage. Pure, never throw: a missing option or one whose length does not
 * fit its RFC 2132 definition yields undefined, so the core treats a malformed option exactly like an absent one.
 * Options are already RFC 3396-concatenated by the decoder, so each code appears at most once.
 */
import type { Ip4 } from '@hadhcp/common';
import { readIp4 } from '@hadhcp/common';
import { BROADCAST_FLAG, MessageType, type DhcpMessage } from './types.js';

export interface RelayAgentSubOption {
  code: number;
  data: Uint8Array;
}

export interface RelayAgentInfo {
  raw: Uint8Array;
  circuitId?: Uint8Array;
  remoteId?: Uint8Array;
  subOptions: RelayAgentSubOption[];
}

/** Stateless (no streaming): one decoder serves every call. */
const UTF8 = new TextDecoder('utf-8', { fatal: false });

export function getOption(msg: DhcpMessage, code: number): Uint8Array | undefined {
  for (const o of msg.options) if (o.code === code) return o.data;
  return undefined;
}

function getIp(msg: DhcpMessage, code: number): Ip4 | undefined {
  const d = getOption(msg, code);
  return d && d.length === 4 ? readIp4(d, 0) : undefined;
}

/** Non-empty option data, or undefined (RFC 2132 forbids zero-length values for these). */
function getNonEmpty(msg: DhcpMessage, code: number): Uint8Array | undefined {
  const d = getOption(msg, code);
  return d && d.length > 0 ? d : undefined;
}

/** RFC 2132 9.6: option 53, one octet 1..8. */
export function getMessageType(msg: DhcpMessage): MessageType | undefined {
  const d = getOption(msg, 53);
  if (!d || d.length !== 1) return undefined;
  const t = d[0]!;
  return t >= MessageType.DISCOVER && t <= MessageType.INFORM ? (t as MessageType) : undefined;
}

/** RFC 2132 9.1: option 50. */
export function getRequestedIp(msg: DhcpMessage): Ip4 | undefined {
  return getIp(msg, 50);
}

/** RFC 2132 9.7: option 54. */
export function getServerId(msg: DhcpMessage): Ip4 | undefined {
  return getIp(msg, 54);
}

/**
 * RFC 2132 9.14: option 61. The RFC asks for at least 2 octets, but ISC dhcpd keys leases on whatever the client
 * sent, so any non-empty value is returned to stay lease-compatible with it.
 */
export function getClientId(msg: DhcpMessage): Uint8Array | undefined {
  return getNonEmpty(msg, 61);
}

/** RFC 2132 9.8: option 55, a list of codes (duplicates preserved, order matters for some clients). */
export function getParameterRequestList(msg: DhcpMessage): number[] | undefined {
  const d = getNonEmpty(msg, 55);
  return d ? Array.from(d) : undefined;
}

/** RFC 2132 9.10: option 57, 2 octets, minimum legal value 576; smaller values are malformed. */
export function getMaxMessageSize(msg: DhcpMessage): number | undefined {
  const d = getOption(msg, 57);
  if (!d || d.length !== 2) return undefined;
  const v = (d[0]! << 8) | d[1]!;
  return v >= 576 ? v : undefined;
}

/**
 * RFC 2132 3.14: option 12. Some clients (old Windows, some embedded stacks) append a NUL terminator; it is stripped.
 * Bytes are decoded as UTF-8 with replacement, since host names arrive from untrusted clients.
 */
export function getHostName(msg: DhcpMessage): string | undefined {
  const d = getNonEmpty(msg, 12);
  if (!d) return undefined;
  let end = d.length;
  while (end > 0 && d[end - 1] === 0) end--;
  if (end === 0) return undefined;
  let name = UTF8.decode(d.subarray(0, end));
  // Invalid UTF-8 decodes to U+FFFD (3 bytes each): keep what we store within option 12's own 255 bytes.
  while (Buffer.byteLength(name, 'utf8') > 255) name = name.slice(0, -1);
  return name;
}

/** RFC 2132 9.2: option 51, 4 octets, seconds (0xffffffff = infinite). */
export function getLeaseTime(msg: DhcpMessage): number | undefined {
  const d = getOption(msg, 51);
  return d && d.length === 4 ? readIp4(d, 0) : undefined;
}

/**
 * RFC 3046 2.0: option 82 is a sequence of sub-options (code, len, data). A sub-option running past the end makes the
 * whole option malformed (undefined) rather than half-parsed, so the server never echoes a partial option back.
 */
export function getRelayAgentInfo(msg: DhcpMessage): RelayAgentInfo | undefined {
  const raw = getNonEmpty(msg, 82);
  if (!raw) return undefined;
  const subOptions: RelayAgentSubOption[] = [];
  let off = 0;
  while (off < raw.length) {
    if (off + 2 > raw.length) return undefined;
    const code = raw[off]!;
    const len = raw[off + 1]!;
    if (off + 2 + len > raw.length) return undefined;
    subOptions.push({ code, data: raw.subarray(off + 2, off + 2 + len) });
    off += 2 + len;
  }
  const info: RelayAgentInfo = { raw, subOptions };
  const circuit = subOptions.find((s) => s.code === 1);
  const remote = subOptions.find((s) => s.code === 2);
  if (circuit) info.circuitId = circuit.data;
  if (remote) info.remoteId = remote.data;
  return info;
}

/** RFC 3011: option 118, subnet selection, 4 octets. */
export function getSubnetSelection(msg: DhcpMessage): Ip4 | undefined {
  return getIp(msg, 118);
}

/** RFC 2132 9.13: option 60, vendor class identifier. */
export function getVendorClass(msg: DhcpMessage): Uint8Array | undefined {
  return getNonEmpty(msg, 60);
}

/** RFC 3004: option 77, user class. */
export function getUserClass(msg: DhcpMessage): Uint8Array | undefined {
  return getNonEmpty(msg, 77);
}

/** RFC 4702: option 81, client FQDN, raw (flags, rcode1, rcode2, name); at least the 3 fixed octets. */
export function getFqdn(msg: DhcpMessage): Uint8Array | undefined {
  const d = getOption(msg, 81);
  return d && d.length >= 3 ? d : undefined;
}

/** RFC 2131 4.1: the leftmost bit of flags asks the server to broadcast its reply. */
export function isBroadcast(msg: DhcpMessage): boolean {
  return (msg.flags & BROADCAST_FLAG) !== 0;
}

/** The client hardware address: chaddr[0 .. min(hlen, 16)). */
export function hwAddress(msg: DhcpMessage): Uint8Array {
  return msg.chaddr.subarray(0, Math.min(msg.hlen, 16, msg.chaddr.length));
}
