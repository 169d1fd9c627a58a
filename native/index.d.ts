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
/** A batched UDP socket handle (opaque). */
export type UdpHandle = { readonly __brand: 'UdpHandle' };
/**
 * A non-blocking UDP socket bound to `address`:`port` (address in host order, 0 = INADDR_ANY; SO_REUSEADDR,
 * SO_BROADCAST), polled on the event loop: each wake-up drains up to 4 x 64 datagrams with recvmmsg and calls
 * `onBatch` once per 64 with their bytes in one fresh Uint8Array and, in `meta` (at least 256 entries), offset,
 * length, source address (host order, as int32) and source port per datagram. Throws with code EADDRNOTAVAIL,
 * EADDRINUSE, EACCES or ESYSCALL (and errno) when it cannot bind.
 */
export function openUdp(
  address: number,
  port: number,
  rcvbuf: number,
  sndbuf: number,
  meta: Int32Array,
  onBatch: (data: Uint8Array, count: number) => void,
): UdpHandle;
/**
 * Sends datagrams start .. start+count-1 (at most 64) with one sendmmsg: `meta` holds offset into `data`, length,
 * destination address (host order) and port per datagram. Returns how many left, or -errno when the first was refused.
 */
export function udpSend(
  handle: UdpHandle,
  data: Uint8Array,
  meta: Int32Array,
  start: number,
  count: number,
): number;
/** Stops polling and closes the socket; the handle must not be used again. */
export function closeUdp(handle: UdpHandle): void;
