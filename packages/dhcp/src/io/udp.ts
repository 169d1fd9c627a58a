import { createSocket, type Socket } from 'node:dgram';
import { formatIp4, parseIp4, type Ip4 } from '@hadhcp/common';

export interface UdpPacket {
  data: Uint8Array;
  srcIp: Ip4;
  srcPort: number;
}

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

  async open(onPacket: (p: UdpPacket) => void, onError: (e: Error) => void): Promise<void> {
    const sock = createSocket({
      type: 'udp4',
      reuseAddr: true,
      recvBufferSize: 4 << 20,
      sendBufferSize: 4 << 20,
    });
    sock.on('message', (msg, rinfo) => {
      const srcIp = parseIp4(rinfo.address);
      if (srcIp !== undefined) onPacket({ data: msg, srcIp, srcPort: rinfo.port });
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
    const sock = this.sock;
    if (!sock) return Promise.reject(new Error('DHCP socket is closed'));
    return new Promise((resolve, reject) =>
      sock.send(data, port, formatIp4(ip), (err) => (err ? reject(err) : resolve())),
    );
  }

  close(): void {
    this.sock?.close();
    this.sock = undefined;
  }
}
