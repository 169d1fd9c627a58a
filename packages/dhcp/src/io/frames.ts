import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface NativeAddon {
  openPacketSocket(ifname: string): { fd: number; ifindex: number };
  sendFrame(fd: number, frame: Uint8Array): number;
  closeSocket(fd: number): void;
  openDhcpReceiver(ifname: string, onFrame: (frame: Uint8Array) => void): unknown;
  closeDhcpReceiver(r: unknown): void;
}

/** What the service needs of a frame channel: `FrameChannel`, or an in-memory one in tests. */
export interface FramePort {
  /** Starts receiving frames for a DHCP server (IPv4 UDP to port 67); throws when the interface cannot be opened. */
  open(onFrame: (frame: Uint8Array) => void): void;
  send(frame: Uint8Array): void;
  close(): void;
}

export type OpenFrames = (iface: string) => FramePort;

export const openFrameChannel: OpenFrames = (iface) => new FrameChannel(iface);

/**
 * Raw Ethernet frames in and out of one interface, through AF_PACKET sockets of the @hadhcp/native addon: how a
 * server sees which interface a broadcast came in on, and answers a client that has no address yet (RFC 2131
 * 4.1: unicast to yiaddr at chaddr without ARP, or broadcast). The kernel filters what comes in down to UDP to
 * port 67, so a busy interface costs nothing. Mechanics only: what to send is decided elsewhere.
 *
 * (Not libpcap through `cap`: a polled pcap handle whose link goes down aborts the process.)
 */
export class FrameChannel implements FramePort {
  private addon: NativeAddon | undefined;
  private receiver: unknown;
  private sendFd: number | undefined;

  constructor(readonly iface: string) {}

  /** Starts receiving DHCP-server frames (IPv4 UDP to port 67) and opens the sending socket. */
  open(onFrame: (frame: Uint8Array) => void): void {
    const addon = require('@hadhcp/native') as NativeAddon;
    this.sendFd = addon.openPacketSocket(this.iface).fd;
    try {
      this.receiver = addon.openDhcpReceiver(this.iface, onFrame);
    } catch (e) {
      addon.closeSocket(this.sendFd);
      this.sendFd = undefined;
      throw e;
    }
    this.addon = addon;
  }

  send(frame: Uint8Array): void {
    if (!this.addon || this.sendFd === undefined) throw new Error(`${this.iface}: frame channel is closed`);
    this.addon.sendFrame(this.sendFd, frame);
  }

  close(): void {
    if (!this.addon) return;
    if (this.receiver) this.addon.closeDhcpReceiver(this.receiver);
    if (this.sendFd !== undefined) this.addon.closeSocket(this.sendFd);
    this.addon = undefined;
    this.receiver = undefined;
    this.sendFd = undefined;
  }
}
