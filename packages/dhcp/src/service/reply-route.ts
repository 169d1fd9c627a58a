import type { Ip4 } from '@hadhcp/common';
import type { Destination } from '../core/types.js';

/** How a reply leaves: built as a frame on the receiving interface's packet socket, or through the kernel's UDP. */
export type Route = { via: 'frame'; dstMac?: Uint8Array; dstIp: Ip4 } | { via: 'udp'; ip: Ip4; src?: Ip4 };

const BROADCAST = 0xffffffff;

/**
 * Relays and clients with an address (ciaddr) are reached by the kernel, which can ARP for them. Replies to a
 * client without an address go out as frames when the interface has a packet socket. Without one, an 'l2' reply
 * (RFC 2131 4.1: unicast to yiaddr and chaddr) cannot be sent as the kernel would need to ARP for an address the
 * client does not hold yet: it is broadcast instead, which every client accepts.
 */
export function routeReply(to: Destination, hasFrameChannel: boolean): Route {
  if (to.kind === 'relay' || to.kind === 'unicast') return { via: 'udp', ip: to.ip, src: to.src };
  if (!hasFrameChannel) return { via: 'udp', ip: BROADCAST };
  if (to.kind === 'l2') return { via: 'frame', dstMac: to.mac, dstIp: to.ip };
  return { via: 'frame', dstIp: BROADCAST };
}
