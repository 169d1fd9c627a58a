// In-memory io for the service's tests (not exported from the package): one Ethernet segment joining any number of
// DHCP servers (each a FakeHost with its own sockets, frame channels, pinger and interface list) and clients.
import { formatIp4, parseIp4, parseMac, prefixToMask, type Ip4 } from '@hadhcp/common';
import { decodeDhcp } from '../src/wire/codec.js';
import { encodeDhcp } from '../src/wire/encode.js';
import { isWireError } from '../src/wire/errors.js';
import { buildUdpFrame, parseUdpFrame } from '../src/wire/frame.js';
import type { DhcpMessage } from '../src/wire/types.js';
import type { FramePort } from '../src/io/frames.js';
import type { LocalInterface } from '../src/io/interfaces.js';
import type { PingPort } from '../src/io/pinger.js';
import type { UdpPort, UdpReceiver, UdpSendError } from '../src/io/udp.js';
import type { DhcpIo } from '../src/io/machine.js';
import type { DhcpLogger } from '../src/service/types.js';

const BROADCAST: Ip4 = 0xffffffff;
const BROADCAST_MAC = new Uint8Array([255, 255, 255, 255, 255, 255]);

const sameMac = (a: Uint8Array, b: Uint8Array): boolean => a.every((x, i) => x === b[i]);

/** Something attached to the segment: it sees every frame sent by the others. */
interface Station {
  readonly mac: Uint8Array;
  /** Holds this address (answers ARP for it). */
  holds(ip: Ip4): boolean;
  receive(frame: Uint8Array): void;
}

/**
 * One Ethernet segment. Frames are delivered asynchronously (a later turn of the event loop, like a wire), to
 * every other station; each station decides what it accepts, as a NIC and a kernel would.
 */
export class FakeSegment {
  private readonly stations: Station[] = [];

  attach(s: Station): void {
    this.stations.push(s);
  }

  send(frame: Uint8Array, from: Station): void {
    const copy = frame.slice();
    setImmediate(() => {
      for (const s of this.stations) if (s !== from) s.receive(copy);
    });
  }

  /** The MAC that answers ARP for ip, if any station holds it. */
  arp(ip: Ip4): Uint8Array | undefined {
    return this.stations.find((s) => s.holds(ip))?.mac;
  }
}

/** A UDP socket of a FakeHost, bound to one address (0 = INADDR_ANY) and port. */
class FakeUdp implements UdpPort {
  private onPacket: UdpReceiver | undefined;

  constructor(
    private readonly host: FakeHost,
    readonly port: number,
    readonly bindIp: Ip4,
  ) {}

  async open(onPacket: UdpReceiver): Promise<void> {
    this.onPacket = onPacket;
    this.host.sockets.add(this);
  }

  post(data: Uint8Array, ip: Ip4, port: number, onError: UdpSendError, onSent?: () => void): void {
    if (this.host.failSends) throw this.host.failSends;
    if (!this.onPacket) return onError(new Error('DHCP socket is closed'), ip);
    this.host.sendUdp(data, this.bindIp, this.port, ip, port);
    onSent?.();
  }

  deliver(data: Uint8Array, srcIp: Ip4, srcPort: number): void {
    this.onPacket?.(data, srcIp, srcPort);
  }

  close(): void {
    this.onPacket = undefined;
    this.host.sockets.delete(this);
  }
}

/** A frame channel of a FakeHost: frames to UDP port 67 in (not the host's own), any frame out. */
class FakeFrames implements FramePort {
  private onFrame: ((frame: Uint8Array) => void) | undefined;

  constructor(
    private readonly host: FakeHost,
    private readonly iface: string,
  ) {}

  open(onFrame: (frame: Uint8Array) => void): void {
    if (!this.host.framesAvailable || this.iface !== this.host.iface.name)
      throw new Error(`${this.iface}: no packet socket`);
    this.onFrame = onFrame;
    this.host.channels.add(this);
  }

  send(frame: Uint8Array): void {
    if (this.host.failSends) throw this.host.failSends;
    if (!this.onFrame) throw new Error('frame channel is closed');
    this.host.segment.send(frame, this.host);
  }

  deliver(frame: Uint8Array): void {
    this.onFrame?.(frame);
  }

  close(): void {
    this.onFrame = undefined;
    this.host.channels.delete(this);
  }
}

/** Answers pings for the addresses in `inUse`; every probe is recorded. */
export class FakePinger implements PingPort {
  readonly inUse = new Set<Ip4>();
  readonly pinged: Ip4[] = [];
  async ping(ip: Ip4): Promise<boolean> {
    this.pinged.push(ip);
    return this.inUse.has(ip);
  }
  close(): void {}
}

/**
 * A machine running one DHCP server, with one interface (`eth0` unless named) on the segment. Its kernel
 * delivers a datagram to the socket bound to the destination address, else to the INADDR_ANY one; broadcasts to
 * the INADDR_ANY one. `io` is what the service is given.
 */
export class FakeHost implements Station {
  readonly sockets = new Set<FakeUdp>();
  readonly channels = new Set<FakeFrames>();
  readonly pinger = new FakePinger();
  iface: LocalInterface;
  /** False: no frame channel can be opened (the service then answers through UDP only). */
  framesAvailable = true;
  /** Thrown by every send (UDP and frames): a bug below the service. */
  failSends: Error | undefined;
  readonly io: DhcpIo;

  constructor(
    readonly segment: FakeSegment,
    mac: string,
    cidr: string,
    name = 'eth0',
  ) {
    const [addr, len] = cidr.split('/');
    const prefix = Number(len);
    this.iface = {
      name,
      mac: parseMac(mac)!,
      addresses: [{ ip: parseIp4(addr!)!, prefix, mask: prefixToMask(prefix) }],
    };
    segment.attach(this);
    this.io = {
      openUdp: (port, bind) => new FakeUdp(this, port, bind === '0.0.0.0' ? 0 : parseIp4(bind)!),
      openFrames: (iface) => new FakeFrames(this, iface),
      openPinger: () => this.pinger,
      listInterfaces: () => [this.iface],
    };
  }

  get mac(): Uint8Array {
    return this.iface.mac;
  }

  get ip(): Ip4 {
    return this.iface.addresses[0]!.ip;
  }

  holds(ip: Ip4): boolean {
    return this.iface.addresses.some((a) => a.ip === ip);
  }

  private isBroadcast(ip: Ip4): boolean {
    return ip === BROADCAST || this.iface.addresses.some((a) => ip === (a.ip | ~a.mask) >>> 0);
  }

  receive(frame: Uint8Array): void {
    const f = parseUdpFrame(frame);
    if (isWireError(f)) return;
    if (!sameMac(f.dstMac, BROADCAST_MAC) && !sameMac(f.dstMac, this.mac)) return;
    if (f.dstPort === 67) for (const ch of this.channels) ch.deliver(frame);
    const local = this.isBroadcast(f.dstIp) ? undefined : this.holds(f.dstIp) ? f.dstIp : null;
    if (local === null) return; // not for this host: a router would forward it, we do not
    const bound = [...this.sockets].filter((s) => s.port === f.dstPort);
    const to =
      (local !== undefined && bound.find((s) => s.bindIp === local)) || bound.find((s) => s.bindIp === 0);
    to?.deliver(f.payload, f.srcIp, f.srcPort);
  }

  /** The kernel's UDP output: source address from the socket (else the interface's), MAC by ARP. */
  sendUdp(data: Uint8Array, srcIp: Ip4, srcPort: number, dstIp: Ip4, dstPort: number): void {
    const dstMac = this.isBroadcast(dstIp) ? BROADCAST_MAC : this.segment.arp(dstIp);
    if (!dstMac) return; // nobody answers ARP: the datagram is lost, as on a wire
    const frame = buildUdpFrame({
      srcMac: this.mac,
      dstMac,
      srcIp: srcIp || this.ip,
      dstIp,
      srcPort,
      dstPort,
      payload: data,
    });
    this.segment.send(frame, this);
  }
}

/** A DHCP client on the segment: sends messages as frames from port 68, keeps every reply it hears. */
export class FakeClient implements Station {
  readonly received: DhcpMessage[] = [];
  /** The address it holds once bound (then it answers ARP for it). */
  ip: Ip4 = 0;

  constructor(
    private readonly segment: FakeSegment,
    readonly mac: Uint8Array,
  ) {
    segment.attach(this);
  }

  holds(ip: Ip4): boolean {
    return this.ip !== 0 && ip === this.ip;
  }

  /** Broadcast from 0.0.0.0 (or ciaddr, when it has one), or unicast to a server's address. */
  send(msg: DhcpMessage, to: Ip4 = BROADCAST): void {
    const dstMac = to === BROADCAST ? BROADCAST_MAC : this.segment.arp(to);
    if (!dstMac) throw new Error(`nobody holds ${formatIp4(to)}`);
    const frame = buildUdpFrame({
      srcMac: this.mac,
      dstMac,
      srcIp: this.ip,
      dstIp: to,
      srcPort: 68,
      dstPort: 67,
      payload: encodeDhcp(msg),
    });
    this.segment.send(frame, this);
  }

  receive(frame: Uint8Array): void {
    const f = parseUdpFrame(frame);
    if (isWireError(f) || f.dstPort !== 68) return;
    if (!sameMac(f.dstMac, BROADCAST_MAC) && !sameMac(f.dstMac, this.mac)) return;
    const m = decodeDhcp(f.payload);
    if (!isWireError(m) && sameMac(m.chaddr.subarray(0, 6), this.mac)) this.received.push(m);
  }
}

export interface Logged {
  level: string;
  msg: string;
}

/** A logger that keeps every line, for tests that check what was said. */
export function recordingLog(): { log: DhcpLogger; lines: Logged[] } {
  const lines: Logged[] = [];
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  return {
    lines,
    log: {
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      debug: at('debug'),
      isLevelEnabled: () => true,
    },
  };
}
