import { formatIp4, type Ip4 } from '@hadhcp/common';
import { AUTH_DATA_LEN, AUTH_PASS, VRRP_TTL } from '../wire/advert.js';
import type { InstanceParams } from './params.js';
import { PRIO_OWNER } from './params.js';
import type { ReceivedAdvert } from './types.js';

/**
 * RFC 3768 7.1 receive checks that need the configuration. The wire codec already checked version, type,
 * length and checksum. Each failure is a named reason (a counter) plus keepalived's log line.
 */
export type AdvertCheckReason =
  | 'own-advert'
  | 'ttl-not-255'
  | 'vrid-mismatch'
  | 'auth-mismatch'
  | 'advert-interval-mismatch'
  | 'addr-list-mismatch';

export type AdvertCheck =
  { ok: true; logs: string[] } | { ok: false; reason: AdvertCheckReason; log: string | undefined };

export interface CheckContext {
  /** Our own advert source address: multicast loopback or a unicast echo of our own packet is ignored. */
  ownIp: Ip4;
}

export function checkAdvert(p: InstanceParams, pkt: ReceivedAdvert, ctx: CheckContext): AdvertCheck {
  const a = pkt.advert;
  const n = p.name;
  if (pkt.srcIp === ctx.ownIp) return { ok: false, reason: 'own-advert', log: undefined };
  // RFC 3768 7.1: MUST verify the TTL is 255 (an advert from off-link is forged); keepalived skips it for unicast.
  if (!p.unicast && pkt.ttl !== VRRP_TTL)
    return {
      ok: false,
      reason: 'ttl-not-255',
      log: `(${n}) invalid TTL/HL. Received ${pkt.ttl} and expect 255`,
    };
  if (a.vrid !== p.vrid)
    return {
      ok: false,
      reason: 'vrid-mismatch',
      log: `(${n}) received VRID ${a.vrid}, configured ${p.vrid}`,
    };
  // RFC 3768 7.1: MUST verify the auth type matches, and perform the authentication it names (5.3.6.1 PASS).
  if (a.authType !== p.authType)
    return {
      ok: false,
      reason: 'auth-mismatch',
      log: `(${n}) received a ${a.authType} auth, expecting ${p.authType}!`,
    };
  if (a.authType === AUTH_PASS && !sameBytes(a.authData, p.authData, AUTH_DATA_LEN))
    return { ok: false, reason: 'auth-mismatch', log: `(${n}) received an invalid passwd!` };
  // RFC 3768 7.1: MUST verify the Adver Interval matches ours; otherwise two masters could run the VRID.
  if (a.advertInt !== p.advertInt)
    return {
      ok: false,
      reason: 'advert-interval-mismatch',
      log: `(${n}) advertisement interval mismatch mine=${p.advertInt} sec rcv'd=${a.advertInt} sec`,
    };
  const missing = addressMismatch(p, a.addresses);
  if (missing !== undefined) {
    // RFC 3768 7.1: log the misconfiguration; drop unless the sender is the address owner (priority 255).
    // keepalived 2.x drops in every case; we differ only for an owner's advert, as the RFC asks.
    const log = `(${n}) ip address associated with VRID ${p.vrid} not present in MASTER advert : ${missing}`;
    if (a.priority !== PRIO_OWNER) return { ok: false, reason: 'addr-list-mismatch', log };
    return { ok: true, logs: [log] };
  }
  return { ok: true, logs: [] };
}

function addressMismatch(p: InstanceParams, got: Ip4[]): string | undefined {
  if (got.length !== p.vips.length) return `${got.length} addresses, expected ${p.vips.length}`;
  const have = new Set(got);
  const absent = p.vips.find((v) => !have.has(v.address));
  return absent ? formatIp4(absent.address) : undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array, len: number): boolean {
  let diff = 0;
  for (let i = 0; i < len; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
