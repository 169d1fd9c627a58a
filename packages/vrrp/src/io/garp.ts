import cap from 'cap';
import type { Ip4 } from '@hadhcp/common';

/**
 * Gratuitous ARP out of one interface through libpcap (`cap`), so neighbours and switches learn that the VIP now
 * lives behind our MAC (RFC 3768 6.4.2: on becoming Master, broadcast a gratuitous ARP per virtual address).
 */

/**
 * The 42-byte frame: Ethernet broadcast, ARP request (RFC 826) with sender and target protocol address both the VIP
 * (RFC 5227 2.3 announcement form), target hardware address broadcast as keepalived sends it.
 */
export function buildGarpFrame(mac: Uint8Array, ip: Ip4): Buffer {
  if (mac.length !== 6) throw new RangeError('MAC must be 6 bytes');
  const f = Buffer.alloc(42);
  f.fill(0xff, 0, 6); // destination: broadcast
  f.set(mac, 6); // source: our interface
  f.writeUInt16BE(0x0806, 12); // EtherType ARP
  f.writeUInt16BE(1, 14); // hardware type Ethernet
  f.writeUInt16BE(0x0800, 16); // protocol type IPv4
  f[18] = 6; // hardware address length
  f[19] = 4; // protocol address length
  f.writeUInt16BE(1, 20); // operation: request
  f.set(mac, 22); // sender hardware address
  f.writeUInt32BE(ip >>> 0, 28); // sender protocol address: the VIP
  f.fill(0xff, 32, 38); // target hardware address
  f.writeUInt32BE(ip >>> 0, 38); // target protocol address: the VIP again
  return f;
}

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
    const frame = buildGarpFrame(mac, ip);
    this.handle(iface).send(frame, frame.length);
  }

  close(): void {
    for (const h of this.handles.values()) h.close();
    this.handles.clear();
  }
}
