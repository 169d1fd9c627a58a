import type { Ip4 } from '@hadhcp/common';
import { BROADCAST_FLAG, type DhcpMessage } from '../wire/types.js';
import type { Destination } from './types.js';

export const SERVER_PORT = 67;
export const CLIENT_PORT = 68;
export const LIMITED_BROADCAST: Ip4 = 0xffffffff;

export type ReplyKind = 'offer-ack' | 'nak' | 'inform';

/**
 * RFC 2131 4.1, "reply addressing", as a pure function of the request and the reply:
 *  - giaddr set: to the relay's server port, from the address the relay sent to (it filters on that);
 *  - NAK without relay: broadcast, since the client may not own any address (4.3.2);
 *  - ciaddr set: unicast to ciaddr (RENEWING/REBINDING clients, 4.3.2);
 *  - broadcast flag: limited broadcast on the receiving interface;
 *  - otherwise: unicast to yiaddr at chaddr without ARP (the client cannot answer ARP yet).
 * DHCPINFORM (4.3.5) goes straight to ciaddr, or to the source address when a client left ciaddr empty, as ISC does.
 */
export function replyDestination(
  req: DhcpMessage,
  yiaddr: Ip4,
  kind: ReplyKind,
  receivedOn: { iface?: string; localIp?: Ip4 },
  srcIp: Ip4 = 0,
): Destination {
  const iface = receivedOn.iface;
  const withIface = (d: Destination): Destination => (iface === undefined ? d : { ...d, iface });
  if (kind === 'inform' && req.ciaddr !== 0)
    return { kind: 'unicast', ip: req.ciaddr >>> 0, port: CLIENT_PORT };
  if (req.giaddr !== 0) {
    const d: Destination = { kind: 'relay', ip: req.giaddr >>> 0, port: SERVER_PORT };
    if (receivedOn.localIp !== undefined) d.src = receivedOn.localIp;
    return d;
  }
  if (kind === 'inform' && srcIp !== 0) return { kind: 'unicast', ip: srcIp >>> 0, port: CLIENT_PORT };
  if (kind === 'nak') return withIface({ kind: 'broadcast', ip: LIMITED_BROADCAST, port: CLIENT_PORT });
  if (req.ciaddr !== 0) return { kind: 'unicast', ip: req.ciaddr >>> 0, port: CLIENT_PORT };
  if ((req.flags & BROADCAST_FLAG) !== 0 || yiaddr === 0 || req.hlen === 0 || req.hlen > 16)
    return withIface({ kind: 'broadcast', ip: LIMITED_BROADCAST, port: CLIENT_PORT });
  const mac = req.chaddr.slice(0, req.hlen);
  return withIface({ kind: 'l2', ip: yiaddr >>> 0, port: CLIENT_PORT, mac });
}
