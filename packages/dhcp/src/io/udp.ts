import { createSocket, type Socket } from 'node:dgram';
import { formatIp4, type Ip4 } from '@hadhcp/common';
import { BatchUdpSocket, loadBatchUdp } from './batch-udp.js';

/** parseIp4 without a regular expression, for the address text Node hands over with every datagram. */
function dottedToIp4(text: string): Ip4 | undefined {
  let v = 0;
  let octet = -1;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (octet < 0 || ++dots > 3) return undefined;
      v = v * 256 + octet;
      octet = -1;
    } else if (c >= 48 && c <= 57) {
      octet = octet < 0 ? c - 48 : octet * 10 + c - 48;
      if (octet > 255) return undefined;
    } else return undefined;
  }
  if (dots !== 3 || octet < 0) return undefined;
  return (v * 256 + octet) >>> 0;
}

/** Called once per datagram, with no object made for it (the hot path of a busy server). */
export type UdpReceiver = (data: Uint8Array, srcIp: Ip4, srcPort: number) => void;

/** Told about each send the kernel refused (the datagram is lost); `ip` is where it was going. */
export type UdpSendError = (e: Error, ip: Ip4) => void;

/** What the service needs of a UDP port-67 socket: `DhcpUdpSocket`, or an in-memory one in tests. */
export interface UdpPort {
  open(onPacket: UdpReceiver, onError: (e: Error) => void): Promise<void>;
  post(data: Uint8Array, ip: Ip4, port: number, onError: UdpSendError, onSent?: () => void): void;
  close(): void;
}

/** Makes (does not yet open) a socket bound to `bindAddress` (dotted, '0.0.0.0' for INADDR_ANY) and `port`. */
export type OpenUdp = (port: number, bindAddress: string) => UdpPort;

/**
 * The batched socket of @hadhcp/native (io/batch-udp.ts) when the addon is built, else node:dgram's.
 * HADHCP_UDP=dgram forces node:dgram (a diagnostic switch, to compare the two).
 */
export const openDhcpUdpSocket: OpenUdp = (port, bindAddress) => {
  // require() keeps the loaded addon: asking again per socket (a few, at start and when addresses change) is cheap.
  const addon = process.env.HADHCP_UDP === 'dgram' ? undefined : loadBatchUdp();
  const ip = dottedToIp4(bindAddress);
  return addon && ip !== undefined
    ? new BatchUdpSocket(addon, port, ip)
    : new DhcpUdpSocket(port, bindAddress);
};

/**
 * The server's UDP port 67 socket. Relays (giaddr != 0) and clients that already have an address (unicast
 * renewals) reach us here; the kernel routes our answers. Bound to INADDR_ANY so the VIP, once added, is
 * served without rebinding.
 */
export class DhcpUdpSocket implements UdpPort {
  private sock: Socket | undefined;

  constructor(
    private readonly port = 67,
    private readonly bindAddress = '0.0.0.0',
  ) {}

  async open(onPacket: UdpReceiver, onError: (e: Error) => void): Promise<void> {
    const sock = createSocket({
      type: 'udp4',
      reuseAddr: true,
      // 1 MiB (~1,000 requests, a tenth of a second of a busy server): the daemon reads faster than it answers
      // and sheds in its own queue; a deeper kernel queue would only make every answer late under overload.
      recvBufferSize: 1 << 20,
      sendBufferSize: 4 << 20,
    });
    sock.on('message', (msg, rinfo) => {
      const srcIp = dottedToIp4(rinfo.address);
      if (srcIp !== undefined) onPacket(msg, srcIp, rinfo.port);
    });
    sock.on('error', onError);
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.port, this.bindAddress, () => {
        sock.off('error', reject);
        sock.setBroadcast(true);
        resolve();
      });
    });
    this.sock = sock;
  }

  send(data: Uint8Array, ip: Ip4, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.post(data, ip, port, reject, resolve));
  }

  /**
   * Sends without a Promise (one per reply adds up at thousands of replies a second). A failure, immediate or
   * reported later by the kernel, reaches `onError`; `onSent` runs once the datagram is handed over.
   */
  post(data: Uint8Array, ip: Ip4, port: number, onError: UdpSendError, onSent?: () => void): void {
    const sock = this.sock;
    if (!sock) {
      onError(new Error('DHCP socket is closed'), ip);
      return;
    }
    sock.send(data, port, formatIp4(ip), (err) => {
      if (err) onError(err, ip);
      else onSent?.();
    });
  }

  close(): void {
    this.sock?.close();
    this.sock = undefined;
  }
}
