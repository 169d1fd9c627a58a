/** An AF_PACKET socket bound to one interface, send-only. */
export interface PacketSocket {
  fd: number;
  ifindex: number;
}
/** Opens a send-only AF_PACKET socket on `ifname` (needs CAP_NET_RAW). Throws with code EPERM without it. */
export function openPacketSocket(ifname: string): PacketSocket;
/** Sends one complete Ethernet frame (header included); returns the bytes sent. */
export function sendFrame(fd: number, frame: Uint8Array): number;
export function closeSocket(fd: number): void;
/** A receiver handle (opaque). */
export type DhcpReceiver = { readonly __brand: 'DhcpReceiver' };
/**
 * Polls an AF_PACKET socket on `ifname` that the kernel filters down to unfragmented IPv4 UDP to port 67, and
 * calls `onFrame` with each whole Ethernet frame that came in (frames this host sent are skipped).
 */
export function openDhcpReceiver(ifname: string, onFrame: (frame: Uint8Array) => void): DhcpReceiver;
export function closeDhcpReceiver(r: DhcpReceiver): void;
/**
 * Sends `message` as one datagram to the AF_UNIX socket `socketPath` ($NOTIFY_SOCKET: an absolute path, or an
 * abstract name written with a leading '@'), as sd_notify(3) does. Throws a TypeError on a bad path and an error
 * with code ESYSCALL when the datagram cannot be sent (no such socket, refused).
 */
export function sdNotify(socketPath: string, message: string): void;
