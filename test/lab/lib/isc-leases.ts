// What an ISC dhcpd 4.4 peer says it holds: its dhcpd.leases read with the importer hadhcp ships
// (packages/leases/src/isc-import.ts: last entry for an address wins, FACTS 4.5), as ip -> state and MAC.
import { readFileSync } from 'node:fs';
import { formatIp4, formatMac } from '../../../packages/common/src/index.js';
import { BINDING_STATE_NAMES, parseIscLeases } from '../../../packages/leases/src/index.js';

export interface IscLeaseEntry {
  ip: string;
  /** dhcpd.leases' word: active, free, backup, expired... */
  state: string;
  /** `hardware ethernet`, lower-case. */
  mac: string | undefined;
  /** Seconds since the epoch. */
  ends: number;
}

/** Every lease in the file, the winning entry of each address; an unreadable file reads as empty. */
export function readIscLeases(path: string): Map<string, IscLeaseEntry> {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return new Map();
  }
  const out = new Map<string, IscLeaseEntry>();
  for (const l of parseIscLeases(text, path).leases) {
    const ip = formatIp4(l.address);
    out.set(ip, {
      ip,
      state: BINDING_STATE_NAMES[l.state],
      mac: l.hwAddr ? formatMac(l.hwAddr).toLowerCase() : undefined,
      ends: l.ends,
    });
  }
  return out;
}

/** The failover state block ISC writes (`my state ...; partner state ...;`), or undefined before it wrote one. */
export function iscFailoverState(
  path: string,
  peer: string,
): { myState: string; partnerState: string } | undefined {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return parseIscLeases(text, path).failoverStates.find((f) => f.peer === peer);
}
