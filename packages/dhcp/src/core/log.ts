import { formatIp4, type Ip4 } from '@hadhcp/common';
import type { DhcpMessage } from '../wire/types.js';

/**
 * Log lines worded exactly as ISC dhcpd 4.4 prints them (server/dhcp.c), so operators' greps and log parsers keep
 * working: "<what> from <hw> (<client-hostname>) via <giaddr or interface>".
 */
export function via(msg: DhcpMessage, iface: string | undefined): string {
  return msg.giaddr !== 0 ? formatIp4(msg.giaddr) : (iface ?? 'unknown-interface');
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** ISC's print_hw_addr: colon-separated lower-case hex of chaddr[0..hlen). */
export function hwText(msg: DhcpMessage): string {
  const n = Math.min(msg.hlen, 16, msg.chaddr.length);
  if (msg.htype === 0 || n === 0) return '<no identifier>';
  let s = HEX[msg.chaddr[0]!]!;
  for (let i = 1; i < n; i++) s += ':' + HEX[msg.chaddr[i]!]!;
  return s;
}

/** The " (name) " part ISC inserts when it knows a printable client host name; an empty space otherwise. */
function named(hostname: string | undefined): string {
  if (!hostname) return ' ';
  // ISC's db_printable: only printable ASCII makes it into the log, and at most 64 characters.
  const ok = hostname.length <= 64 && /^[\x20-\x7e]*$/.test(hostname);
  return ` (${ok ? hostname : 'Hostname Unsuitable for Printing'}) `;
}

export const isc = {
  discover: (m: DhcpMessage, iface: string | undefined, host?: string): string =>
    `DHCPDISCOVER from ${hwText(m)}${named(host)}via ${via(m, iface)}`,
  request: (
    m: DhcpMessage,
    iface: string | undefined,
    cip: Ip4,
    sid: Ip4 | undefined,
    host?: string,
  ): string =>
    `DHCPREQUEST for ${formatIp4(cip)}${sid !== undefined ? ` (${formatIp4(sid)})` : ''} from ${hwText(m)}${named(host)}via ${via(m, iface)}`,
  offerOrAck: (
    what: 'DHCPOFFER' | 'DHCPACK' | 'BOOTREPLY',
    ip: Ip4,
    m: DhcpMessage,
    iface: string | undefined,
    host?: string,
  ) => `${what} on ${formatIp4(ip)} to ${hwText(m)}${named(host)}via ${via(m, iface)}`,
  nak: (ip: Ip4, m: DhcpMessage, iface: string | undefined): string =>
    `DHCPNAK on ${formatIp4(ip)} to ${hwText(m)} via ${via(m, iface)}`,
  release: (m: DhcpMessage, iface: string | undefined, found: boolean, host?: string): string =>
    `DHCPRELEASE of ${formatIp4(m.ciaddr)} from ${hwText(m)}${named(host)}via ${via(m, iface)} (${found ? '' : 'not '}found)`,
  decline: (ip: Ip4, m: DhcpMessage, iface: string | undefined, host?: string): string =>
    `DHCPDECLINE of ${formatIp4(ip)} from ${hwText(m)}${named(host)}via ${via(m, iface)}`,
  inform: (cip: Ip4, m: DhcpMessage, iface: string | undefined): string =>
    `DHCPINFORM from ${formatIp4(cip)} via ${via(m, iface)}`,
  informAck: (cip: Ip4, m: DhcpMessage, iface: string | undefined): string =>
    `DHCPACK to ${formatIp4(cip)} (${hwText(m)}) via ${via(m, iface)}`,
  bootrequest: (m: DhcpMessage, iface: string | undefined): string =>
    `BOOTREQUEST from ${hwText(m)} via ${via(m, iface)}`,
  abandon: (ip: Ip4, why: string): string => `Abandoning IP address ${formatIp4(ip)}: ${why}`,
};

export type IscLines = typeof isc;

/**
 * The same builders returning '' for a server whose log level hides these lines: formatting four lines per
 * exchange nobody reads costs more than deciding the exchange.
 */
export const quietIsc: IscLines = {
  discover: () => '',
  request: () => '',
  offerOrAck: () => '',
  nak: () => '',
  release: () => '',
  decline: () => '',
  inform: () => '',
  informAck: () => '',
  bootrequest: () => '',
  abandon: isc.abandon,
};
