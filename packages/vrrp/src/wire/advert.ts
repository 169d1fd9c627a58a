import { readIp4, writeIp4, type Ip4 } from '@hadhcp/common';
import { internetChecksum } from './checksum.js';

/*
 * VRRPv2 advertisement, RFC 3768 section 5.1:
 *
 *   0                   1                   2                   3
 *   |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
 *   |   Auth Type   |   Adver Int   |          Checksum             |
 *   |                         IP Address (1..n)                     |
 *   |                     Authentication Data (1)                   |
 *   |                     Authentication Data (2)                   |
 *
 * The codec is pure: no sockets, no configuration. Every malformed input becomes a VrrpWireError whose reason is
 * a counter name; decode never throws.
 */

export const VRRP_VERSION = 2;
export const VRRP_TYPE_ADVERTISEMENT = 1;
export const VRRP_PROTOCOL = 112;
export const VRRP_MCAST_GROUP: Ip4 = 0xe0000012; // 224.0.0.18, RFC 3768 5.2.2
export const VRRP_TTL = 255;

/** RFC 3768 5.3.6: 0 no authentication; 1 simple text password (RFC 2338), what keepalived's auth_type PASS sends; 2 IP AH. */
export const AUTH_NONE = 0;
export const AUTH_PASS = 1;
export const AUTH_AH = 2;
export const AUTH_DATA_LEN = 8;

const FIXED_LEN = 8;

export interface Advert {
  vrid: number;
  /** 0 = master leaving (RFC 3768 5.3.4), 1-254 backup, 255 = address owner. */
  priority: number;
  authType: number;
  /** Whole seconds (VRRPv2). */
  advertInt: number;
  addresses: Ip4[];
  /** Always 8 bytes on the wire; for PASS the password NUL-padded. Zeros with auth type 0. */
  authData: Uint8Array;
}

export type VrrpWireReason =
  | 'truncated'
  | 'bad-version'
  | 'version-mismatch-v3'
  | 'bad-type'
  | 'bad-checksum'
  | 'bad-length'
  | 'bad-ip-header';

export interface VrrpWireError {
  reason: VrrpWireReason;
  detail: string;
  /** For 'version-mismatch-v3': enough of the VRRPv3 header (RFC 5798 5.1) to log who is speaking v3. */
  v3?: { vrid: number; priority: number; maxAdvertIntCs: number; count: number };
}

export function isVrrpWireError(v: unknown): v is VrrpWireError {
  return typeof v === 'object' && v !== null && 'reason' in v && 'detail' in v;
}

const err = (reason: VrrpWireReason, detail: string): VrrpWireError => ({ reason, detail });

/** What keepalived puts in the auth data for auth_type PASS: the first 8 bytes of auth_pass, NUL-padded. */
export function passwordAuthData(pass: string): Uint8Array {
  const out = new Uint8Array(AUTH_DATA_LEN);
  out.set(new TextEncoder().encode(pass).subarray(0, AUTH_DATA_LEN));
  return out;
}

/** The auth data as text up to the first NUL, for logs and status (PASS is sent in the clear anyway). */
export function authDataText(data: Uint8Array): string {
  const nul = data.indexOf(0);
  return new TextDecoder('utf-8', { fatal: false }).decode(nul < 0 ? data : data.subarray(0, nul));
}

export function advertLength(count: number): number {
  return FIXED_LEN + 4 * count + AUTH_DATA_LEN;
}

/** Decodes a VRRP message (the IP payload). Checks version, type, length and checksum (RFC 3768 7.1 wire checks). */
export function decodeAdvert(bytes: Uint8Array): Advert | VrrpWireError {
  if (bytes.length < FIXED_LEN) return err('truncated', `${bytes.length} bytes, need at least ${FIXED_LEN}`);
  const version = bytes[0]! >>> 4;
  const type = bytes[0]! & 0x0f;
  const vrid = bytes[1]!;
  const priority = bytes[2]!;
  const count = bytes[3]!;
  if (version === 3) {
    // RFC 5798 5.1: VRRPv3 has no auth data and a 12-bit interval in centiseconds where v2 has auth type + seconds.
    const maxAdvertIntCs = ((bytes[4]! & 0x0f) << 8) | bytes[5]!;
    return {
      reason: 'version-mismatch-v3',
      detail: `VRRPv3 advert for VRID ${vrid} priority ${priority}, interval ${maxAdvertIntCs} cs`,
      v3: { vrid, priority, maxAdvertIntCs, count },
    };
  }
  if (version !== VRRP_VERSION) return err('bad-version', `version ${version}`);
  if (type !== VRRP_TYPE_ADVERTISEMENT) return err('bad-type', `type ${type}`);
  const expected = advertLength(count);
  if (bytes.length !== expected)
    return err('bad-length', `${bytes.length} bytes for ${count} addresses, expected ${expected}`);
  // RFC 3768 5.3.8: the checksum covers the whole VRRP message, auth data included, with no pseudo-header.
  if (internetChecksum(bytes) !== 0) {
    const got = (bytes[6]! << 8) | bytes[7]!;
    return err('bad-checksum', `checksum 0x${got.toString(16).padStart(4, '0')} does not verify`);
  }
  const addresses: Ip4[] = [];
  for (let i = 0; i < count; i++) addresses.push(readIp4(bytes, FIXED_LEN + 4 * i));
  const authOff = FIXED_LEN + 4 * count;
  return {
    vrid,
    priority,
    authType: bytes[4]!,
    advertInt: bytes[5]!,
    addresses,
    // Copy: callers hand us Node Buffers, whose slice() is a view of the receive buffer.
    authData: new Uint8Array(bytes.subarray(authOff, authOff + AUTH_DATA_LEN)),
  };
}

/**
 * Encodes an advert and computes its checksum. Fields are truncated to their wire widths; the caller (the core)
 * only builds adverts from validated configuration, so there is nothing to reject here.
 */
export function encodeAdvert(a: Advert): Uint8Array {
  const count = Math.min(a.addresses.length, 255);
  const out = new Uint8Array(advertLength(count));
  out[0] = (VRRP_VERSION << 4) | VRRP_TYPE_ADVERTISEMENT;
  out[1] = a.vrid & 0xff;
  out[2] = a.priority & 0xff;
  out[3] = count;
  out[4] = a.authType & 0xff;
  out[5] = a.advertInt & 0xff;
  for (let i = 0; i < count; i++) writeIp4(out, FIXED_LEN + 4 * i, a.addresses[i]!);
  out.set(a.authData.subarray(0, AUTH_DATA_LEN), FIXED_LEN + 4 * count);
  const sum = internetChecksum(out);
  out[6] = sum >>> 8;
  out[7] = sum & 0xff;
  return out;
}
