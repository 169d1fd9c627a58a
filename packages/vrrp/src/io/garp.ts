import cap from 'cap';
import { buildGarp, type Ip4 } from '@hadhcp/common';

/**
 * Gratuitous ARP out of one interface through libpcap (`cap`), so neighbours and switches learn that the VIP now
 * lives behind our MAC (RFC 3768 6.4.2: on becoming Master, broadcast a gratuitous ARP per virtual address).
 */

export interface GarpPort {
  /** One burst: `repeat` gratuitous ARPs for each address, out of `iface`. Throws when the frames cannot go out. */
  send(iface: string, mac: Uint8Array, ips: Ip4[], repeat: number): void;
  close(): void;
}

type Handle = InstanceType<typeof cap.Cap>;

/**
 * A pcap handle is opened for each burst and closed before control returns to the event loop. cap 0.2 polls
 * every open handle for reading, and when the interface goes down that poll fails an assertion and aborts the
 * process; a handle whose open failed (interface down) crashes it on close or when collected. So: never let
 * the loop poll a handle, and keep failed ones referenced. The price is ~40 ms per burst (packet socket set-up
 * and teardown), a few times per takeover.
 */
export class Garp implements GarpPort {
  /** Handles whose open failed: closing or collecting them crashes cap, so they are kept, unused. */
  private readonly failed: Handle[] = [];

  send(iface: string, mac: Uint8Array, ips: Ip4[], repeat: number): void {
    const h = new cap.Cap();
    try {
      // We only send; a filter on an unused EtherType keeps libpcap from copying the segment's traffic to us.
      h.open(iface, 'ether proto 0x88b5', 64 * 1024, Buffer.alloc(2048));
    } catch (err) {
      this.failed.push(h);
      throw err;
    }
    try {
      for (const ip of ips) {
        const frame = Buffer.from(buildGarp({ mac, ip }));
        for (let i = 0; i < Math.max(1, repeat); i++) h.send(frame, frame.length);
      }
    } finally {
      h.close();
    }
  }

  close(): void {}
}
