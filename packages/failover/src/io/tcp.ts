import { createServer, connect, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Counters, formatIp4, RateLimiter, systemClock, type Clock, type Ip4 } from '@hadhcp/common';
import type { DialFailure, PeerConnection, PeerTransport } from './transport.js';

/*
 * The failover link over TCP, as ISC dhcpd 4.4 runs it (server/failover.c dhcp_failover_listen,
 * _listener_signal, _link_initiate): both servers listen on `address:port` and connect to `peer address:peer
 * port` from `address`. The listener takes connections from the peer's address only: ISC looks the remote
 * address up among its failover peers and closes the connection when none matches ("failover: listener: no
 * matching state"). That is also why our outgoing source must be the address the peer has as `peer address`.
 *
 * Beyond ISC: between two hadhcp nodes the link may run over TLS 1.3 with certificates both ways (`hadhcp-tls-*`
 * in the peer block). Each side presents its certificate and accepts only one issued by the pair's CA; the
 * peer's address is checked as before, so the certificate stands for "a node of this pair" and the address for
 * which one. ISC dhcpd speaks only plain TCP: a TLS node cannot be paired with it.
 */

/** PEM text of our certificate and key, and of the CA that issued the peer's. */
export interface PeerTls {
  cert: string | Buffer;
  key: string | Buffer;
  ca: string | Buffer;
}

export interface TcpTransportOptions {
  /** Our `address`: the listener's address and the source of our connections. */
  address: Ip4;
  port: number;
  peerAddress: Ip4;
  peerPort: number;
  /** An outgoing attempt that has not connected by then is abandoned ('timeout'). ISC's link startup: 15 s. */
  connectTimeoutMs?: number;
  /** For the rate limit of the "not our peer" lines. */
  clock?: Clock;
  log: { info(msg: string): void; warn(msg: string): void };
  /** Context for log lines: `failover peer NAME`. */
  label: string;
  /** TLS both ways (hadhcp to hadhcp only); plain TCP, as ISC, when absent. */
  tls?: PeerTls;
}

/** errno codes of a connect() that failed on this host before reaching the network (ISC: immediate failure). */
const LOCAL_FAILURES = new Set(['EADDRNOTAVAIL', 'EADDRINUSE', 'EACCES', 'EPERM', 'EINVAL', 'ENETUNREACH']);

export const CONNECT_TIMEOUT_MS = 15_000;
/** One line per minute at most for connections from addresses that are not our peer. */
const REFUSED_LOG_INTERVAL_MS = 60_000;

export class TcpPeerTransport implements PeerTransport {
  readonly localEndpoint: string;
  readonly peerEndpoint: string;
  private server: Server | undefined;
  private pending: Socket | undefined;
  private readonly stats = new Counters();
  private readonly refusedLog = new RateLimiter(REFUSED_LOG_INTERVAL_MS);
  private readonly clock: Clock;
  private readonly peerIp: string;
  private readonly localIp: string;

  constructor(private readonly o: TcpTransportOptions) {
    this.clock = o.clock ?? systemClock;
    this.localIp = formatIp4(o.address);
    this.peerIp = formatIp4(o.peerAddress);
    this.localEndpoint = `${this.localIp}:${o.port}`;
    this.peerEndpoint = `${this.peerIp}:${o.peerPort}`;
  }

  /** Closes a connection from any address but the peer's (counted, logged once a minute); true if it stays. */
  private admit(socket: Socket): boolean {
    const from = plainIpv4(socket.remoteAddress ?? '');
    if (from === this.peerIp) return true;
    this.stats.inc('connections-refused.not-peer-address');
    const held = this.refusedLog.allow(`refused`, this.clock.now());
    if (held !== undefined)
      this.o.log.warn(
        `${this.o.label}: connection from ${from}:${socket.remotePort} closed: not the peer address ${this.peerIp}` +
          (held > 0 ? ` (${held} more not logged)` : ''),
      );
    socket.on('error', () => undefined); // a reset racing the destroy must not become an uncaught error
    socket.destroy();
    return false;
  }

  /** A TLS connection from the peer's address whose handshake or certificate failed: counted, logged, closed. */
  private refuseTls(socket: Socket, why: string, code: string): void {
    this.stats.inc(`tls-refused.${code}`);
    const held = this.refusedLog.allow('tls', this.clock.now());
    if (held !== undefined)
      this.o.log.warn(
        `${this.o.label}: TLS handshake from ${this.peerIp} failed: ${why}` +
          ' (is its certificate issued by our hadhcp-tls-ca, and does it run TLS at all?)' +
          (held > 0 ? ` (${held} more not logged)` : ''),
      );
    socket.destroy();
  }

  listen(onConnection: (c: PeerConnection) => void): Promise<void> {
    const accept = (socket: Socket): void => {
      this.stats.inc('connections-accepted');
      onConnection(new TcpConnection(socket, 'in'));
    };
    const tls = this.o.tls;
    let server: Server;
    if (tls) {
      // The address is checked on the raw connection, before any handshake. The certificate is verified by
      // OpenSSL during the handshake; rejectUnauthorized is off so that a refused one reaches us with its reason
      // (authorizationError) and the peer's address, for the log, instead of being dropped without a word.
      const secure = createTlsServer({
        ...tls,
        requestCert: true,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.3',
      });
      secure.on('secureConnection', (socket: TLSSocket) => {
        if (socket.authorized) return accept(socket);
        const e = socket.authorizationError as unknown;
        const why = e instanceof Error ? e.message : String(e ?? 'no certificate');
        this.refuseTls(
          socket,
          why,
          e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? 'unauthorized') : why,
        );
      });
      secure.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) =>
        this.refuseTls(socket, err.message, err.code ?? 'handshake'),
      );
      // Only the peer's connections are handed to TLS (a documented way to feed a TLS server).
      server = createServer((socket) => {
        if (this.admit(socket)) secure.emit('connection', socket);
      });
    } else {
      server = createServer((socket) => {
        if (this.admit(socket)) accept(socket);
      });
    }
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen({ host: this.localIp, port: this.o.port }, () => {
        server.off('error', onError);
        // After listening, an error on the server (EMFILE on accept) must not crash the daemon.
        server.on('error', (err) => this.o.log.warn(`${this.o.label}: listener: ${err.message}`));
        resolve();
      });
    });
  }

  dial(): Promise<PeerConnection> {
    return new Promise((resolve, reject) => {
      const tls = this.o.tls;
      const target = { host: this.peerIp, port: this.o.peerPort, localAddress: this.localIp };
      // The peer is known by its address; its certificate must come from the pair's CA (no name to check).
      const socket: Socket = tls
        ? tlsConnect({ ...target, ...tls, minVersion: 'TLSv1.3', checkServerIdentity: () => undefined })
        : connect(target);
      this.pending = socket;
      let done = false;
      const fail = (f: DialFailure): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (this.pending === socket) this.pending = undefined;
        socket.destroy();
        this.stats.inc(`dial-failed.${f.code}`);
        reject(f);
      };
      const timer = setTimeout(
        () => fail({ kind: 'network', code: 'timeout', message: 'no answer' }),
        this.o.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      );
      socket.once('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? 'EIO';
        fail({ kind: LOCAL_FAILURES.has(code) ? 'local' : 'network', code, message: err.message });
      });
      socket.once('close', () => fail({ kind: 'network', code: 'ECONNRESET', message: 'closed' }));
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (this.pending === socket) this.pending = undefined;
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        this.stats.inc('dial-connected');
        resolve(new TcpConnection(socket, 'out'));
      });
    });
  }

  async close(): Promise<void> {
    this.pending?.destroy();
    this.pending = undefined;
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  counters(): Record<string, number> {
    return this.stats.toJSON();
  }
}

/** `::ffff:10.0.0.2` (a dual-stack socket's view of an IPv4 peer) -> `10.0.0.2`. */
function plainIpv4(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** How long close() waits for the peer's FIN before dropping the socket. */
const CLOSE_LINGER_MS = 2_000;

class TcpConnection implements PeerConnection {
  readonly local: string;
  readonly remote: string;
  private dataHandler: ((chunk: Uint8Array) => void) | undefined;
  private closeHandler: ((why?: string) => void) | undefined;
  private early: Uint8Array[] = [];
  private closed: { why: string | undefined } | undefined;
  private lastError: string | undefined;
  /** Sent this turn, not yet written (see send). */
  private out: Uint8Array[] = [];
  private outBytes = 0;

  constructor(
    private readonly socket: Socket,
    readonly direction: 'in' | 'out',
  ) {
    this.local = `${plainIpv4(socket.localAddress ?? '')}:${socket.localPort ?? 0}`;
    this.remote = `${plainIpv4(socket.remoteAddress ?? '')}:${socket.remotePort ?? 0}`;
    // Failover messages are small and each is a whole exchange (CONNECT, CONTACT): no Nagle delay.
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.dataHandler) this.dataHandler(chunk);
      else this.early.push(chunk);
    });
    socket.on('error', (err) => {
      this.lastError = err.message;
    });
    const gone = (): void => {
      if (this.closed) return;
      this.closed = { why: this.lastError };
      this.closeHandler?.(this.lastError);
    };
    // The peer's FIN ('end') is the news: a killed peer's kernel sends it, and the death notice times the VIP move
    // from it. Node closes our side after it (no half-open link), a few ms later under load ('close').
    socket.on('end', gone);
    socket.on('close', gone);
  }

  send(bytes: Uint8Array): void {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return;
    // The messages sent in one turn leave as one Buffer in one write: a resync answers a chunk of hundreds of
    // BNDUPDs with as many BNDACKs, and a socket write each (stream bookkeeping, a Buffer made of each, a syscall)
    // was the largest cost of both nodes (profile, docs/benchmarks.md). Flushed by a nextTick: sends are made in
    // promise jobs (the service's queue), and a tick queued from one runs once the microtask queue is empty,
    // before any I/O or timer, so nothing waits longer than the turn that sent it.
    this.out.push(bytes);
    this.outBytes += bytes.length;
    if (this.out.length === 1) process.nextTick(this.flush);
  }

  private readonly flush = (): void => {
    if (this.out.length === 0) return;
    const list = this.out;
    const size = this.outBytes;
    this.out = [];
    this.outBytes = 0;
    if (this.closed || this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(list.length === 1 ? list[0]! : Buffer.concat(list, size));
  };

  close(): void {
    if (this.socket.destroyed) return;
    this.flush(); // what was sent before the close (a DISCONNECT) goes first
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS).unref();
  }

  onData(handler: (chunk: Uint8Array) => void): void {
    this.dataHandler = handler;
    const early = this.early;
    this.early = [];
    for (const c of early) handler(c);
  }

  onClose(handler: (why?: string) => void): void {
    this.closeHandler = handler;
    if (this.closed) handler(this.closed.why);
  }
}
