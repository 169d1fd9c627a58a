import { createSocket, type Socket } from 'node:dgram';
import { formatIp4, parseIp4, type Ip4 } from '@hadhcp/common';

/** Called once per datagram, with no object made for it (the hot path of a busy server). */
export type UdpReceiver = (data: Uint8Array, srcIp: Ip4, srcPort: number) => void;

/** Told about each send the kernel refused (the datagram is lost); `ip` is where it was going. */
export type UdpSendError = (e: Error, ip: Ip4) => void;

/**
 * The server's UDP port 67 socket. Relays (giaddr != 0) and clients that already have an address (unicast
 * renewals) reach us here; the kernel routes our answers. Bound to INADDR_ANY so the VIP, once added, is
 * served without rebinding.
 */
export class DhcpUdpSocket {
  private sock: Socket | undefined;

  constructor(
    private readonly port = 67,
    private readonly bindAddress = '0.0.0.0',
  ) {}

  async open(onPacket: UdpReceiver, onError: (e: Error) => void): Promise<void> {
    const sock = createSocket({
      type: 'udp4',
      reuseAddr: true,
      recvBufferSize: 4 << 20,
      sendBufferSize: 4 << 20,
    });
    sock.on('message', (msg, rinfo) => {
      const srcIp = parseIp4(rinfo.address);
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
