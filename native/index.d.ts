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
