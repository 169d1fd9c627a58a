import { parseIp4, parseMac } from '@hadhcp/common';
import type { IscLeaseDiagnostic } from './isc-import.js';
import { blankLease, BindingState, type Lease } from './lease.js';

/**
 * Kea's memfile lease file for DHCPv4 (`kea-leases4.csv`), for `hadhcp leases import` when a site leaves Kea
 * (HA hot-standby or load-balancing pairs keep the same file on each server). One header line naming the
 * columns, then one row per lease change, appended: the last row for an address wins, as in dhcpd.leases.
 * Columns are found by name, so files of other Kea versions (with or without user_context, pool_id) read
 * the same. Kea escapes a comma inside a value as `&#x2c`.
 *
 * - state 0 (default): an ACTIVE binding until `expire`; 1 (declined): ABANDONED; 2 (expired-reclaimed): FREE,
 *   the client kept so it gets the address back first (ISC's and our expiry do the same).
 * - valid_lifetime 0 with state 0: Kea's row for a deleted lease (lease4-del): FREE, no client.
 * - starts and cltt = expire - valid_lifetime (Kea keeps cltt that way and writes only expire).
 */
export function parseKeaLeases4(
  text: string,
  file: string,
): { leases: Lease[]; diagnostics: IscLeaseDiagnostic[] } {
  const diagnostics: IscLeaseDiagnostic[] = [];
  const lines = text.split('\n');
  const header = (lines[0] ?? '').trim().split(',');
  const col = (name: string) => header.indexOf(name);
  const c = {
    address: col('address'),
    hwaddr: col('hwaddr'),
    clientId: col('client_id'),
    valid: col('valid_lifetime'),
    expire: col('expire'),
    hostname: col('hostname'),
    state: col('state'),
  };
  const bad = (line: number, message: string, severity: 'error' | 'warning' = 'error') =>
    diagnostics.push({ severity, file, line, col: 1, message });
  if (c.address < 0 || c.expire < 0 || c.valid < 0) {
    bad(
      1,
      'not a Kea DHCPv4 lease file: the first line must name the columns address,...,valid_lifetime,expire',
    );
    return { leases: [], diagnostics };
  }
  const byIp = new Map<number, Lease>();
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const f = raw.split(',').map((v) => v.replace(/&#x2c/g, ','));
    if (f.length < header.length) {
      bad(i + 1, `${f.length} columns, the header names ${header.length}: row skipped`);
      continue;
    }
    const ip = parseIp4(f[c.address]!);
    const valid = Number(f[c.valid]);
    const expire = Number(f[c.expire]);
    if (ip === undefined || !Number.isInteger(valid) || !Number.isInteger(expire)) {
      bad(
        i + 1,
        `address "${f[c.address]}", valid_lifetime "${f[c.valid]}" or expire "${f[c.expire]}" unreadable: row skipped`,
      );
      continue;
    }
    const kstate = c.state >= 0 ? Number(f[c.state] || 0) : 0;
    const starts = Math.max(0, expire - valid);
    const lease: Lease = {
      address: ip,
      state: BindingState.ACTIVE,
      starts,
      ends: expire,
      tstp: 0,
      tsfp: 0,
      atsfp: 0,
      cltt: starts,
      hwType: 1,
    };
    const hw = c.hwaddr >= 0 && f[c.hwaddr] ? parseMac(f[c.hwaddr]!) : undefined;
    const cid = c.clientId >= 0 && f[c.clientId] ? hexBytes(f[c.clientId]!) : undefined;
    if (hw) lease.hwAddr = hw;
    if (cid) lease.clientId = cid;
    const host = c.hostname >= 0 ? f[c.hostname] : '';
    if (host) lease.hostname = host;
    if (kstate === 1) {
      // Declined: unusable until expire, no client (ISC's and our ABANDONED).
      lease.state = BindingState.ABANDONED;
      delete lease.hwAddr;
      delete lease.clientId;
      delete lease.hostname;
    } else if (kstate === 2) {
      lease.state = BindingState.FREE;
    } else if (valid === 0) {
      byIp.set(ip, { ...blankLease(ip), starts: expire });
      continue;
    } else if (kstate !== 0) {
      bad(i + 1, `unknown lease state ${f[c.state]}: read as an active lease`, 'warning');
    }
    byIp.set(ip, lease);
  }
  return { leases: [...byIp.values()], diagnostics };
}

/** Kea's colon-separated hex (a client id may be longer than a MAC). */
function hexBytes(text: string): Uint8Array | undefined {
  const parts = text.split(':');
  if (parts.length > 255 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) return undefined;
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** Does this text look like Kea's lease file (its header line) rather than dhcpd.leases? */
export function isKeaLeaseFile(text: string): boolean {
  return /^address,hwaddr,/.test(text);
}
