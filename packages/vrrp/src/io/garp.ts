import cap from 'cap';
import { buildGarp, type Ip4 } from '@hadhcp/common';

/**
 * Gratuitous ARP out of one interface through libpcap (`cap`), so neighbours and switches learn that the VIP now
 * lives behind our MAC (RFC 3768 6.4.2: on becoming Master, broadcast a gratuitous ARP per virtual address).
 */

export interface GarpPort {
  send(iface: string, mac: Uint8Array, ip: Ip4): void;
  close(): void;
}

/** One pcap handle per interface, opened on first use and kept: GARPs come in bursts (garp_master_repeat). */
export class Garp implements GarpPort {
  private readonly handles = new Map<string, InstanceType<typeof cap.Cap>>();

  private handle(iface: string): InstanceType<typeof cap.Cap> {
    let h = this.handles.get(iface);
    if (!h) {
      h = new cap.Cap();
      // We only send; a filter on an unused EtherType keeps libpcap from copying the segment's traffic to us.
      h.open(iface, 'ether proto 0x88b5', 64 * 1024, Buffer.alloc(2048));
      this.handles.set(iface, h);
    }
    return h;
  }

  send(iface: string, mac: Uint8Array, ip: Ip4): void {
    const frame = Buffer.from(buildGarp({ mac, ip }));
    this.handle(iface).send(frame, frame.length);
  }

  close(): void {
    for (const h of this.handles.values()) h.close();
    this.handles.clear();
  }
}
