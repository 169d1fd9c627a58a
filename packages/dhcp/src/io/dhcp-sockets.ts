import { formatIp4, type Ip4 } from '@hadhcp/common';
import { listInterfaces, type ListInterfaces, type LocalInterface } from './interfaces.js';
import { openDhcpUdpSocket, type OpenUdp, type UdpPort, type UdpSendError } from './udp.js';

/** Where the sockets' notes go (the service's logger). */
export interface SocketLog {
  debug(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/**
 * One datagram in: `localIp` is the local address it was sent to when it arrived on a per-address socket (else
 * the guess for the INADDR_ANY one), `iface` the interface holding that address. Plain arguments, no object per
 * packet.
 */
export type UdpIn = (
  data: Uint8Array,
  srcIp: Ip4,
  srcPort: number,
  localIp: Ip4 | undefined,
  iface: string | undefined,
  /** True on the INADDR_ANY socket: a broadcast, or (rarely) a unicast to an address still being bound. */
  wildcard: boolean,
) => void;

/** How long the socket of an address that left the interface is still read before it is closed (retire()). */
export const RETIRE_MS = 1000;

/**
 * UDP port 67, one socket per local IPv4 address plus one on INADDR_ANY for broadcasts.
 *
 * Node's UDP sockets cannot report the destination address of a datagram (no IP_PKTINFO) nor pick a source per
 * send. A socket bound to each address does both: a relay's packet to 10.0.0.2 (or to the VIP) arrives on the
 * 10.0.0.2 (VIP) socket, and the reply leaves from it, as RFC 2131 4.1 wants (relays match replies to the
 * address they sent to). Addresses come and go (the VIP moves): `refresh()` follows them.
 */
export class DhcpSockets {
  private readonly any: UdpPort;
  private readonly byAddr = new Map<Ip4, { sock: UdpPort; iface: string }>();
  /** Sockets of addresses gone from their interface, read until closed (retire()). */
  private readonly retiring = new Map<Ip4, { sock: UdpPort; iface: string; timer: NodeJS.Timeout }>();
  private ifaces: LocalInterface[] = [];
  /** The VIPs the supervisor says we hold, and their socket binding in progress. */
  private vips: Ip4[] = [];
  private pending: Promise<void> | undefined;
  private refreshing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly port: number,
    private readonly onPacket: UdpIn,
    private readonly log: SocketLog,
    private readonly io: { openUdp: OpenUdp; listInterfaces: ListInterfaces } = {
      openUdp: openDhcpUdpSocket,
      listInterfaces,
    },
  ) {
    this.any = io.openUdp(port, '0.0.0.0');
  }

  async open(): Promise<void> {
    await this.any.open(
      (data, srcIp, srcPort) => {
        const g = this.guessLocal(srcIp);
        this.onPacket(data, srcIp, srcPort, g?.ip, g?.iface, true);
      },
      (e) => this.log.error(`DHCP socket error on 0.0.0.0:${this.port}: ${e.message}`),
    );
    await this.refresh();
  }

  /** Binds sockets for new local addresses and closes the ones for addresses that are gone. */
  refresh(): Promise<void> {
    // One at a time: the 2 s timer and a takeover's ensure() may both ask, and two runs would both bind a new
    // address, the second socket replacing the first in the map and leaking its descriptor.
    this.refreshing = this.refreshing
      .then(() => (this.closed ? undefined : this.refreshOnce()))
      .catch((e: Error) => this.log.error(`DHCP: cannot follow local addresses: ${e.message}`));
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    this.ifaces = this.io.listInterfaces();
    const present = new Map<Ip4, string>();
    for (const i of this.ifaces) for (const a of i.addresses) present.set(a.ip, i.name);
    for (const [ip, s] of this.byAddr) {
      if (present.get(ip) === s.iface) continue;
      this.byAddr.delete(ip);
      this.retire(ip, s);
    }
    for (const [ip, iface] of present) {
      if (this.byAddr.has(ip)) continue;
      const old = this.retiring.get(ip);
      if (old) {
        // Back before its socket was closed (a VIP that left and returned): that socket is bound to it still.
        clearTimeout(old.timer);
        this.retiring.delete(ip);
        if (old.iface === iface) {
          this.byAddr.set(ip, { sock: old.sock, iface });
          continue;
        }
        old.sock.close();
      }
      const sock = this.io.openUdp(this.port, formatIp4(ip));
      try {
        await sock.open(
          (data, srcIp, srcPort) => this.onPacket(data, srcIp, srcPort, ip, iface, false),
          (e) => this.log.error(`DHCP socket error on ${formatIp4(ip)}:${this.port}: ${e.message}`),
        );
        this.byAddr.set(ip, { sock, iface });
        this.log.debug(`DHCP: listening on UDP ${formatIp4(ip)}:${this.port} (${iface})`);
      } catch (e) {
        // The address vanished between the listing and the bind (a VIP moving): the next refresh settles it.
        this.log.debug(`DHCP: cannot bind ${formatIp4(ip)}:${this.port}: ${(e as Error).message}`);
      }
    }
  }

  /**
   * The socket of an address that has left the interface (the VIP moved away), closed RETIRE_MS later, not now.
   * Datagrams the kernel delivered to it while the address was ours may still wait in its buffer: the VIP leaves
   * in the same turn as VRRP's step-down, before the loop has read them, and closing the socket would lose them
   * without a trace (a handover under load lost a DISCOVER so). The loop reads them meanwhile and they are
   * answered (sent to the VIP while we held it: ours, see DhcpService.gatedRaw); the kernel delivers nothing new
   * to an address that is not local. Out of byAddr at once: the replies leave from INADDR_ANY (a source that is
   * no longer local cannot send).
   */
  private retire(ip: Ip4, s: { sock: UdpPort; iface: string }): void {
    const timer = setTimeout(() => {
      if (this.retiring.get(ip)?.sock !== s.sock) return;
      this.retiring.delete(ip);
      s.sock.close();
      this.log.debug(`DHCP: closed UDP ${formatIp4(ip)}:${this.port}`);
    }, RETIRE_MS);
    timer.unref?.();
    this.retiring.set(ip, { ...s, timer });
    this.log.debug(`DHCP: ${formatIp4(ip)} left ${s.iface}: its UDP socket closes in ${RETIRE_MS} ms`);
  }

  /**
   * The supervisor's VIPs, the moment VRRP says we hold them: the address may reach the interface a few
   * milliseconds after the state change, so keep trying briefly rather than wait for the next refresh.
   */
  ensure(ips: Ip4[], attempts = 40): Promise<void> {
    this.vips = ips;
    this.pending = this.bindVips(ips, attempts).finally(() => {
      if (this.vips === ips) this.pending = undefined;
    });
    return this.pending;
  }

  private async bindVips(ips: Ip4[], attempts: number): Promise<void> {
    for (let i = 0; i < attempts; i++) {
      await this.refresh();
      if (ips.every((ip) => this.byAddr.has(ip))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    const missing = ips.filter((ip) => !this.byAddr.has(ip)).map(formatIp4);
    if (missing.length)
      this.log.warn(
        `DHCP: VIP ${missing.join(', ')} not on any interface yet; replies may leave from another address`,
      );
  }

  /**
   * Sends from `src` when we hold a socket for it, else from INADDR_ANY (the kernel picks the source); failures
   * go to `onError`, successes to `onSent`. A reply from a VIP whose socket is still being bound (the first
   * packets after a takeover) waits for it, so the relay sees the answer come from the address it sent to.
   */
  post(
    data: Uint8Array,
    ip: Ip4,
    port: number,
    src: Ip4 | undefined,
    onError: UdpSendError,
    onSent?: () => void,
  ): void {
    const s = src !== undefined ? this.byAddr.get(src) : undefined;
    if (!s && src !== undefined && this.pending && this.vips.includes(src)) {
      void this.pending.then(() =>
        (this.byAddr.get(src)?.sock ?? this.any).post(data, ip, port, onError, onSent),
      );
      return;
    }
    (s?.sock ?? this.any).post(data, ip, port, onError, onSent);
  }

  /** For datagrams on the INADDR_ANY socket: the local address on the sender's subnet, else our first. */
  private guessLocal(src: Ip4): { iface: string; ip: Ip4 | undefined } | undefined {
    // A unicast datagram on the INADDR_ANY socket was sent to an address that has no socket of its own yet: while
    // we hold a VIP, that is the VIP being bound after a takeover (relays send to the VIP), so answer as the VIP.
    const vip = this.vips[0];
    if (vip !== undefined) return { iface: this.ifaceOf(vip) ?? this.ifaces[0]?.name ?? '', ip: vip };
    for (const i of this.ifaces)
      for (const a of i.addresses)
        if ((src & a.mask) >>> 0 === (a.ip & a.mask) >>> 0) return { iface: i.name, ip: a.ip };
    const first = this.ifaces[0];
    return first && { iface: first.name, ip: first.addresses[0]?.ip };
  }

  private ifaceOf(ip: Ip4): string | undefined {
    return this.ifaces.find((i) => i.addresses.some((a) => a.ip === ip))?.name;
  }

  /** The interfaces and their IPv4 addresses as of the last refresh (every 2 s, and on each VIP change). */
  interfaces(): readonly LocalInterface[] {
    return this.ifaces;
  }

  listening(): string[] {
    return [...this.byAddr.keys()].map(formatIp4);
  }

  close(): void {
    this.closed = true;
    this.any.close();
    for (const s of this.byAddr.values()) s.sock.close();
    this.byAddr.clear();
    for (const s of this.retiring.values()) {
      clearTimeout(s.timer);
      s.sock.close();
    }
    this.retiring.clear();
  }
}
