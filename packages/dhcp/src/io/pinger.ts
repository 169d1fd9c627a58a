import { createRequire } from 'node:module';
import { formatIp4, parseIp4, type Ip4 } from '@hadhcp/common';

const require = createRequire(import.meta.url);

export interface RawSocket {
  send(
    buf: Buffer,
    off: number,
    len: number,
    addr: string,
    before: (() => void) | null,
    after: (err?: Error) => void,
  ): void;
  on(ev: 'message', cb: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', cb: (e: Error) => void): void;
  close(): void;
}
export interface RawModule {
  createSocket(o: { protocol: number }): RawSocket;
  Protocol: { ICMP: number };
  createChecksum(...bufs: Buffer[]): number;
  writeChecksum(buf: Buffer, off: number, sum: number): void;
}

/**
 * A probe that could not be sent (ENOBUFS in a burst, no route, a firewall's EPERM): its result is unknown. It says
 * neither that the address is free nor that it is in use; the caller must not offer the address on it, nor
 * abandon it, and probes again later.
 */
export class PingSendError extends Error {
  constructor(
    readonly ip: Ip4,
    cause: Error,
  ) {
    super(`echo request to ${formatIp4(ip)} not sent: ${cause.message}`);
    this.name = 'PingSendError';
  }
}

/** What the service needs for ping-check: `Pinger`, or a scripted one in tests. */
export interface PingPort {
  /**
   * Resolves true when ip answered within timeoutMs, false when it stayed silent; rejects (PingSendError) when the
   * echo request could not be sent: unknown.
   */
  ping(ip: Ip4, timeoutMs: number): Promise<boolean>;
  close(): void;
}

/** An open ICMP pinger; throws when no ICMP socket can be opened (not root, no CAP_NET_RAW). */
export function openPinger(): PingPort {
  const p = new Pinger();
  p.open();
  return p;
}

/**
 * ICMP echo for ping-check (ISC's "ping before offer"): resolves true when the address answers within the
 * timeout. One raw socket for all probes; replies are matched by identifier and sequence.
 */
export class Pinger implements PingPort {
  private sock: RawSocket | undefined;
  private seq = 0;
  private readonly pending = new Map<string, (inUse: boolean) => void>();
  private readonly raw: RawModule;

  constructor(
    private readonly ident = process.pid & 0xffff,
    /** The raw-socket module (tests pass a scripted one). */
    raw?: RawModule,
  ) {
    this.raw = raw ?? (require('raw-socket') as RawModule);
  }

  open(): void {
    const s = this.raw.createSocket({ protocol: this.raw.Protocol.ICMP });
    s.on('message', (buf, source) => this.onReply(buf, source));
    s.on('error', () => {
      /* a receive error: the probes out time out (silent), as a lost reply would */
    });
    this.sock = s;
  }

  /** Sends one echo request; resolves true if the address answers within timeoutMs. */
  ping(ip: Ip4, timeoutMs: number): Promise<boolean> {
    const sock = this.sock;
    if (!sock) return Promise.reject(new Error('pinger is closed'));
    const seq = (this.seq = (this.seq + 1) & 0xffff);
    const key = `${ip}/${seq}`;
    const pkt = Buffer.alloc(16);
    pkt[0] = 8; // echo request
    pkt.writeUInt16BE(this.ident, 4);
    pkt.writeUInt16BE(seq, 6);
    pkt.write('hadhcp', 8, 'latin1');
    this.raw.writeChecksum(pkt, 2, this.raw.createChecksum(pkt));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        resolve(false);
      }, timeoutMs);
      this.pending.set(key, (inUse) => {
        clearTimeout(timer);
        this.pending.delete(key);
        resolve(inUse);
      });
      sock.send(pkt, 0, pkt.length, formatIp4(ip), null, (err) => {
        // Not sent (ENOBUFS when a burst fills the socket's buffer, no route, EPERM): the address was not asked,
        // so silence would vouch for nothing. Unknown: the caller neither offers nor abandons it on this probe.
        if (!err || !this.pending.has(key)) return;
        clearTimeout(timer);
        this.pending.delete(key);
        reject(new PingSendError(ip, err));
      });
    });
  }

  private onReply(buf: Buffer, source: string): void {
    const ihl = ((buf[0] ?? 0) & 0x0f) * 4;
    if (buf.length < ihl + 8 || buf[ihl] !== 0) return; // echo reply only
    if (buf.readUInt16BE(ihl + 4) !== this.ident) return;
    const ip = parseIp4(source);
    if (ip === undefined) return;
    this.pending.get(`${ip}/${buf.readUInt16BE(ihl + 6)}`)?.(true);
  }

  close(): void {
    for (const done of this.pending.values()) done(false);
    this.sock?.close();
    this.sock = undefined;
  }
}
