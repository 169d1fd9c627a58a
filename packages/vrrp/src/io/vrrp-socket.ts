import { EventEmitter } from 'node:events';
import { endianness } from 'node:os';
import raw from 'raw-socket';
import { formatIp4, type Ip4 } from '@hadhcp/common';
import { decodeIpPacket } from '../wire/ip.js';
import { isVrrpWireError, VRRP_MCAST_GROUP, VRRP_PROTOCOL } from '../wire/advert.js';

/**
 * The VRRP socket: a raw IPv4 socket for protocol 112 bound to one interface. Mechanics only: it sends the bytes it
 * is given and hands up every datagram it receives with the few IP header fields the checks need (source, TTL).
 * Whether a packet is acceptable (TTL 255, VRID, auth ...) is decided above, not here.
 */

const VRRP_PROTO = VRRP_PROTOCOL;

// Linux socket option numbers (asm-generic/socket.h, linux/in.h); raw-socket passes them through as given.
const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0;
const IP_HDRINCL = 3;
const IP_TOS = 1;
const IP_TTL = 2;
/** IPTOS_PREC_INTERNETCONTROL, as keepalived marks its adverts. */
const TOS_INTERNETCONTROL = 0xc0;
const IP_MULTICAST_IF = 32;
const IP_MULTICAST_TTL = 33;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const IP_DROP_MEMBERSHIP = 36;

export interface VrrpPacketIn {
  iface: string;
  srcIp: Ip4;
  dstIp: Ip4;
  ttl: number;
  /** The VRRP message: the IP payload, IP header stripped. */
  payload: Uint8Array;
}

export interface VrrpSocketOptions {
  iface: string;
  ifindex: number;
  /** The interface's primary address: multicast source and the address the group is joined on. */
  primaryIp: Ip4;
}

/** What the service needs from a socket; the lab uses the real one, unit tests an in-memory one. */
export interface VrrpTransport {
  readonly iface: string;
  /**
   * The interface's primary address changed: multicast adverts leave from `ip` from now on, and the group
   * membership is renewed on it.
   */
  setPrimary(ip: Ip4): void;
  /** Sends one VRRP message to `dst` (the group, or a unicast peer). `src` forces the IP source (unicast_src_ip). */
  send(payload: Uint8Array, dst: Ip4, src?: Ip4): Promise<void>;
  on(event: 'packet', listener: (p: VrrpPacketIn) => void): this;
  on(event: 'malformed', listener: (reason: string) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  close(): void;
}

/** struct ip_mreqn { in_addr multiaddr; in_addr address; int ifindex; } */
function mreqn(group: Ip4, local: Ip4, ifindex: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(group, 0);
  b.writeUInt32BE(local, 4);
  if (endianness() === 'LE') b.writeInt32LE(ifindex, 8);
  else b.writeInt32BE(ifindex, 8);
  return b;
}

/** A 20-byte IPv4 header for IP_HDRINCL sends; the kernel fills in total length, id and checksum (raw(7)). */
function ipHeader(src: Ip4, dst: Ip4, ttl: number): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[1] = TOS_INTERNETCONTROL;
  h[8] = ttl;
  h[9] = VRRP_PROTO;
  h.writeUInt32BE(src, 12);
  h.writeUInt32BE(dst, 16);
  return h;
}

function newRaw(iface: string): ReturnType<typeof raw.createSocket> {
  const s = raw.createSocket({
    protocol: VRRP_PROTO,
    addressFamily: raw.AddressFamily.IPv4,
    bufferSize: 2048,
  });
  s.setOption(SOL_SOCKET, SO_BINDTODEVICE, Buffer.from(iface + '\0'), iface.length + 1);
  return s;
}

export class VrrpSocket extends EventEmitter implements VrrpTransport {
  readonly iface: string;
  private readonly sock: ReturnType<typeof raw.createSocket>;
  /** Lazily made header-including socket for unicast sends with a forced source address. */
  private hdrSock: ReturnType<typeof raw.createSocket> | undefined;
  private closed = false;
  private primary: Ip4;
  private readonly ifindex: number;

  constructor(opts: VrrpSocketOptions) {
    super();
    this.iface = opts.iface;
    this.primary = opts.primaryIp;
    this.ifindex = opts.ifindex;
    this.sock = newRaw(opts.iface);
    const s = this.sock;
    // RFC 3768 5.1.1.3: TTL 255 for adverts, multicast and (keepalived) unicast alike; receivers check it.
    s.setOption(IPPROTO_IP, IP_MULTICAST_TTL, 255);
    s.setOption(IPPROTO_IP, IP_TTL, 255);
    s.setOption(IPPROTO_IP, IP_TOS, TOS_INTERNETCONTROL);
    // Our own adverts must not come back to us as if from a peer.
    s.setOption(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    // ip_mreqn with an address: the kernel takes it as the source of multicast sends (RFC 3768 5.1.1.1: primary address).
    const m = mreqn(VRRP_MCAST_GROUP, opts.primaryIp, opts.ifindex);
    s.setOption(IPPROTO_IP, IP_MULTICAST_IF, m, m.length);
    s.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, m, m.length);
    s.on('message', (buf) => this.receive(buf));
    s.on('error', (err) => this.emit('error', err));
  }

  setPrimary(ip: Ip4): void {
    if (this.closed || ip === this.primary) return;
    const old = mreqn(VRRP_MCAST_GROUP, this.primary, this.ifindex);
    const m = mreqn(VRRP_MCAST_GROUP, ip, this.ifindex);
    try {
      this.sock.setOption(IPPROTO_IP, IP_DROP_MEMBERSHIP, old, old.length);
    } catch {
      // the kernel may have dropped it with the address
    }
    // IP_MULTICAST_IF's address is what raw_sendmsg takes as the source: it must follow the primary.
    this.sock.setOption(IPPROTO_IP, IP_MULTICAST_IF, m, m.length);
    this.sock.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, m, m.length);
    this.primary = ip;
  }

  private receive(buf: Buffer): void {
    // raw-socket hands out a view of its one receive buffer: copy before anything async can overwrite it.
    const r = decodeIpPacket(Uint8Array.prototype.slice.call(buf));
    if (isVrrpWireError(r)) {
      this.emit('malformed', r.reason);
      return;
    }
    if (r.protocol !== VRRP_PROTO) return;
    this.emit('packet', {
      iface: this.iface,
      srcIp: r.srcIp,
      dstIp: r.dstIp,
      ttl: r.ttl,
      payload: r.payload,
    });
  }

  send(payload: Uint8Array, dst: Ip4, src?: Ip4): Promise<void> {
    if (this.closed) return Promise.reject(new Error('socket closed'));
    let sock = this.sock;
    let bytes = Buffer.from(payload);
    if (src !== undefined) {
      if (!this.hdrSock) {
        // Opened here, at run time: a refusal (EMFILE, EPERM) is this send's failure, never a throw into the
        // timer that sent it (the caller counts and logs a rejected send).
        let h: ReturnType<typeof raw.createSocket> | undefined;
        try {
          h = newRaw(this.iface);
          h.setOption(IPPROTO_IP, IP_HDRINCL, 1);
        } catch (e) {
          h?.close();
          return Promise.reject(e as Error);
        }
        h.on('error', (err) => this.emit('error', err));
        this.hdrSock = h;
      }
      sock = this.hdrSock;
      bytes = Buffer.concat([ipHeader(src, dst, 255), bytes]);
    }
    return new Promise((resolve, reject) => {
      sock.send(bytes, 0, bytes.length, formatIp4(dst), (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
    this.hdrSock?.close();
  }
}
