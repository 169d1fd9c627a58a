import { createRequire } from 'node:module';
import { buildGarp, type Ip4 } from '@hadhcp/common';

const require = createRequire(import.meta.url);

/**
 * Gratuitous ARP out of one interface, so neighbours and switches learn that the VIP now lives behind our MAC
 * (RFC 3768 6.4.2: on becoming Master, broadcast a gratuitous ARP per virtual address).
 */
export interface GarpPort {
  /** One burst: `repeat` gratuitous ARPs for each address, out of `iface`. Throws when the frames cannot go out. */
  send(iface: string, mac: Uint8Array, ips: Ip4[], repeat: number): void;
  close(): void;
}

interface NativeAddon {
  openPacketSocket(ifname: string): { fd: number; ifindex: number };
  sendFrame(fd: number, frame: Uint8Array): number;
  closeSocket(fd: number): void;
}

/**
 * Frames leave through a send-only AF_PACKET socket per interface (@hadhcp/native): a burst costs tens of
 * microseconds, so the GARP follows the address change at once. (libpcap through `cap` cost ~40 ms per burst and
 * aborted the process when a polled handle's link went down.) A socket whose interface went away or was
 * re-created is reopened once.
 */
export class Garp implements GarpPort {
  private readonly addon: NativeAddon;
  private readonly sockets = new Map<string, number>();

  constructor() {
    this.addon = require('@hadhcp/native') as NativeAddon;
  }

  send(iface: string, mac: Uint8Array, ips: Ip4[], repeat: number): void {
    const frames = ips.map((ip) => buildGarp({ mac, ip }));
    try {
      this.burst(iface, frames, repeat);
    } catch {
      this.drop(iface);
      this.burst(iface, frames, repeat);
    }
  }

  private burst(iface: string, frames: Uint8Array[], repeat: number): void {
    let fd = this.sockets.get(iface);
    if (fd === undefined) {
      fd = this.addon.openPacketSocket(iface).fd;
      this.sockets.set(iface, fd);
    }
    for (const frame of frames) for (let i = 0; i < Math.max(1, repeat); i++) this.addon.sendFrame(fd, frame);
  }

  private drop(iface: string): void {
    const fd = this.sockets.get(iface);
    if (fd !== undefined) this.addon.closeSocket(fd);
    this.sockets.delete(iface);
  }

  close(): void {
    for (const iface of [...this.sockets.keys()]) this.drop(iface);
  }
}
