import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  on(ev: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
  send(buf: Buffer, len: number): void;
  setMinBytes?(n: number): void;
  close(): void;
}

interface NativeAddon {
  openPacketSocket(ifname: string): { fd: number; ifindex: number };
  sendFrame(fd: number, frame: Uint8Array): number;
  closeSocket(fd: number): void;
}

/**
 * Raw Ethernet frames in and out of one interface: how a server sees which interface a broadcast came in on, and
 * answers a client that has no address yet (RFC 2131 4.1: unicast to yiaddr at chaddr without ARP, or
 * broadcast). Frames come in through libpcap (the `cap` package, with a BPF filter) and leave through a
 * send-only AF_PACKET socket (@hadhcp/native): a send costs tens of microseconds. Mechanics only.
 */
export class FrameChannel {
  private cap: CapHandle | undefined;
  private packet: { addon: NativeAddon; fd: number } | undefined;
  private readonly buf = Buffer.alloc(65535);

  constructor(readonly iface: string) {}

  open(filter: string, onFrame: (frame: Uint8Array) => void): void {
    const { Cap } = require('cap') as { Cap: new () => CapHandle };
    const cap = new Cap();
    const linkType = cap.open(this.iface, filter, 4 << 20, this.buf);
    if (linkType !== 'ETHERNET') {
      cap.close();
      throw new Error(
        `${this.iface}: link type ${linkType} is not Ethernet; direct clients cannot be served there`,
      );
    }
    cap.setMinBytes?.(0);
    cap.on('packet', (nbytes) => {
      // libpcap reuses the buffer for the next frame: copy out what we keep.
      onFrame(Uint8Array.prototype.slice.call(this.buf, 0, nbytes));
    });
    this.cap = cap;
    try {
      const addon = require('@hadhcp/native') as NativeAddon;
      this.packet = { addon, fd: addon.openPacketSocket(this.iface).fd };
    } catch {
      // Without the addon, frames leave through libpcap (slower, same bytes).
      this.packet = undefined;
    }
  }

  send(frame: Uint8Array): void {
    if (this.packet) {
      this.packet.addon.sendFrame(this.packet.fd, frame);
      return;
    }
    if (!this.cap) throw new Error(`${this.iface}: frame channel is closed`);
    const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    this.cap.send(b, b.length);
  }

  close(): void {
    this.cap?.close();
    this.cap = undefined;
    if (this.packet) this.packet.addon.closeSocket(this.packet.fd);
    this.packet = undefined;
  }
}
