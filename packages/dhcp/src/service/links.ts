import { formatMac, inSubnet, type Counters, type Ip4 } from '@hadhcp/common';
import { decodeDhcp } from '../wire/codec.js';
import { encodeDhcp } from '../wire/encode.js';
import { isWireError } from '../wire/errors.js';
import { buildUdpFrame, parseUdpFrame } from '../wire/frame.js';
import type { DhcpMessage } from '../wire/types.js';
import type { Subnet } from '../core/config.js';
import type { Destination, RequestMeta } from '../core/types.js';
import { DhcpSockets } from '../io/dhcp-sockets.js';
import type { FramePort, OpenFrames } from '../io/frames.js';
import type { ListInterfaces, LocalInterface } from '../io/interfaces.js';
import type { OpenUdp } from '../io/udp.js';
import { routeReply } from './reply-route.js';
import type { DhcpLogger } from './types.js';

/** One received request, for the service's queue. */
export interface Received {
  data: Uint8Array;
  meta: RequestMeta;
  /** Already decoded (the frame path decodes to tell relayed traffic apart). */
  msg?: DhcpMessage;
}

/** The service's one path for a packet not answered (counted as `drop.<reason>`, logged rate-limited). */
export type DropFn = (reason: string, detail: string | (() => string), from: string | Ip4) => void;

export interface LinksDeps {
  io: { openUdp: OpenUdp; openFrames: OpenFrames; listInterfaces: ListInterfaces };
  log: DhcpLogger;
  counters: Counters;
  drop: DropFn;
  /** A request that is ours to answer, counted as received. */
  received: (r: Received) => void;
  port: number;
  /** Interfaces named with --interface (default: every one with an address in a declared subnet). */
  interfaces: string[] | undefined;
}

const BROADCAST_MAC = new Uint8Array([255, 255, 255, 255, 255, 255]);

/** Decodes a request, or drops it under its wire reason. */
export function decodeOrDrop(data: Uint8Array, meta: RequestMeta, drop: DropFn): DhcpMessage | undefined {
  const m = decodeDhcp(data);
  if (isWireError(m)) {
    drop(m.reason, m.detail, meta.srcIp);
    return undefined;
  }
  return m;
}

/**
 * The service's side of the machine: the UDP sockets (one per local address plus INADDR_ANY) and a frame channel
 * per served interface, kept in step with the interfaces; which of them handles which packet; how a reply leaves.
 * Mechanics and routing only: what to answer is the core's, when to answer the service's.
 */
export class DhcpLinks {
  private readonly udp: DhcpSockets;
  private readonly frames = new Map<string, { readonly ch: FramePort; iface: LocalInterface }>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly onSendError = (e: Error, ip: Ip4): void => this.deps.drop('send-failed', e.message, ip);
  private readonly onSent = (): void => this.deps.counters.inc('packets-sent');

  constructor(private readonly deps: LinksDeps) {
    this.udp = new DhcpSockets(
      deps.port,
      (data, srcIp, srcPort, localIp, iface, wildcard) =>
        this.onUdp(data, { receivedOn: { iface, localIp }, srcIp, srcPort }, wildcard),
      deps.log,
      deps.io,
    );
  }

  async open(subnets: readonly Subnet[]): Promise<void> {
    await this.udp.open();
    // Addresses come and go (the VIP above all): follow them so each has its socket.
    this.refreshTimer = setInterval(() => void this.udp.refresh().then(() => this.followInterfaces()), 2000);
    this.openFrameChannels(subnets);
  }

  /** The interfaces whose directly attached clients are served (a frame channel is open on them). */
  frameInterfaces(): string[] {
    return [...this.frames.keys()];
  }

  /** The VIPs the supervisor says we hold: each gets its socket, so relays hear replies from the VIP. */
  ensure(vips: Ip4[]): void {
    void this.udp.ensure(vips);
  }

  close(): void {
    clearInterval(this.refreshTimer);
    this.udp.close();
    for (const { ch } of this.frames.values()) ch.close();
    this.frames.clear();
  }

  /** Interfaces with an address inside a declared subnet (ISC's rule), or the ones named with --interface. */
  private openFrameChannels(subnets: readonly Subnet[]): void {
    const { io, log, interfaces } = this.deps;
    const all = io.listInterfaces();
    const wanted = interfaces
      ? all.filter((i) => interfaces.includes(i.name))
      : all.filter((i) => i.addresses.some((a) => subnets.some((s) => inSubnet(a.ip, s.network, s.mask))));
    for (const name of interfaces ?? []) {
      if (!all.some((i) => i.name === name)) log.warn(`--interface ${name}: no such interface with IPv4`);
    }
    for (const iface of wanted) {
      const ch = io.openFrames(iface.name);
      try {
        // The entry's interface record is replaced as addresses and the MAC change (followInterfaces).
        ch.open((f) => this.onFrame(this.frames.get(iface.name)?.iface ?? iface, f));
        this.frames.set(iface.name, { ch, iface });
      } catch (e) {
        log.warn(
          `${iface.name}: cannot open a packet socket (${(e as Error).message}); direct clients not served there`,
        );
      }
    }
  }

  /**
   * Frame channels answer from their interface's MAC and recognise directed broadcasts by its addresses: keep
   * both current (a bond or macvlan changing its MAC, an address added or renumbered) without reopening them.
   */
  private followInterfaces(): void {
    const now = this.udp.interfaces();
    for (const [name, e] of this.frames) {
      const i = now.find((x) => x.name === name);
      if (!i || i === e.iface) continue;
      if (i.mac.some((b, k) => b !== e.iface.mac[k]))
        this.deps.log.info(
          `${name}: hardware address changed to ${formatMac(i.mac)}; direct replies follow it`,
        );
      e.iface = i;
    }
  }

  // --- packets in -------------------------------------------------------------------------------------------

  /**
   * Who handles what, so each packet is counted and answered once:
   * - a per-address socket: the packet was sent to us (a relay, or a client renewing unicast): always ours;
   * - the wildcard socket: broadcasts. A client's (giaddr 0) goes to the frame path when one is open, which knows
   *   the interface; without frame channels it is handled here, as a broadcast;
   * - the frame path: only broadcasts (unicasts to us arrive on a per-address socket; unicasts to another
   *   server that this router merely forwards are not ours to answer).
   */
  private onUdp(data: Uint8Array, meta: RequestMeta, wildcard: boolean): void {
    const clientDirect = data.length >= 28 && (data[24]! | data[25]! | data[26]! | data[27]!) === 0;
    if (wildcard && clientDirect) {
      if (this.frames.size > 0) return;
      meta.toBroadcast = true;
    }
    this.deps.counters.inc('packets-received');
    this.deps.received({ data, meta });
  }

  private onFrame(iface: LocalInterface, frame: Uint8Array): void {
    const f = parseUdpFrame(frame);
    // A fragment is not lost: the kernel reassembles the datagram for the UDP socket, which counts it once.
    if (isWireError(f) && f.reason === 'ip-fragment') return;
    if (isWireError(f)) return this.deps.drop(`frame-${f.reason}`, f.detail, iface.name);
    if (f.dstPort !== 67) return;
    // Relayed packets (giaddr set) and ones too short to have a giaddr also reach the UDP socket, which counts and
    // answers them: decoding them here too would count every bad relayed packet twice.
    const p = f.payload;
    if (p.length < 28 || (p[24]! | p[25]! | p[26]! | p[27]!) !== 0) return;
    // Only broadcasts: a unicast to one of our addresses is the per-address socket's, and a unicast to another
    // server that this router forwards is not ours (an authoritative server would NAK it).
    const toBroadcast =
      f.dstIp === 0xffffffff || iface.addresses.some((a) => f.dstIp === (a.ip | ~a.mask) >>> 0);
    if (!toBroadcast) return;
    this.deps.counters.inc('packets-received');
    const meta: RequestMeta = {
      receivedOn: { iface: iface.name, localIp: iface.addresses[0]?.ip },
      srcIp: f.srcIp,
      srcPort: f.srcPort,
      toBroadcast,
    };
    const msg = decodeOrDrop(f.payload, meta, this.deps.drop);
    if (!msg || msg.giaddr !== 0) return; // relayed traffic is the UDP socket's
    this.deps.received({ data: f.payload, meta, msg });
  }

  // --- packets out ------------------------------------------------------------------------------------------

  /** Encodes and sends a reply the way `routeReply` says; throws only on a bug (the service catches it). */
  send(reply: DhcpMessage, to: Destination, maxSize: number, meta: RequestMeta): void {
    const bytes = encodeDhcp(reply, { maxSize, allowOverload: true });
    const ch = meta.receivedOn.iface ? this.frames.get(meta.receivedOn.iface) : undefined;
    const route = routeReply(to, ch !== undefined);
    if (route.via === 'udp' || !ch) {
      // Counted as sent once the kernel has taken it (the callback).
      const ip = route.via === 'udp' ? route.ip : route.dstIp;
      const src = route.via === 'udp' ? route.src : undefined;
      this.udp.post(bytes, ip, to.port, src, this.onSendError, this.onSent);
      return;
    }
    try {
      ch.ch.send(
        buildUdpFrame({
          srcMac: ch.iface.mac,
          dstMac: route.dstMac ?? BROADCAST_MAC,
          srcIp: meta.receivedOn.localIp ?? 0,
          dstIp: route.dstIp,
          srcPort: 67,
          dstPort: to.port,
          payload: bytes,
        }),
      );
      this.deps.counters.inc('packets-sent');
    } catch (e) {
      this.deps.drop('send-failed', (e as Error).message, to.ip);
    }
  }
}
