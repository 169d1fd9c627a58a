import { createRequire } from 'node:module';
import { constants } from 'node:os';
import type { Ip4 } from '@hadhcp/common';
import type { UdpPort, UdpReceiver, UdpSendError } from './udp.js';

const require = createRequire(import.meta.url);

/** @hadhcp/native's batched UDP (native/src/udp.c). */
export interface BatchUdpAddon {
  openUdp(
    address: number,
    port: number,
    rcvbuf: number,
    sndbuf: number,
    meta: Int32Array,
    onBatch: (data: Uint8Array, count: number) => void,
  ): unknown;
  udpSend(handle: unknown, data: Uint8Array, meta: Int32Array, start: number, count: number): number;
  closeUdp(handle: unknown): void;
}

/** Datagrams per recvmmsg/sendmmsg call (native/src/udp.c's BATCH). */
const BATCH = 64;
/** Bytes of queued replies before they are sent at once: 64 replies of up to 4 KiB. */
const POOL_BYTES = BATCH * 4096;

/** The addon, or undefined when it cannot be loaded (not built): the caller falls back to node:dgram. */
export function loadBatchUdp(): BatchUdpAddon | undefined {
  try {
    const a = require('@hadhcp/native') as Partial<BatchUdpAddon>;
    return typeof a.openUdp === 'function' ? (a as BatchUdpAddon) : undefined;
  } catch {
    return undefined;
  }
}

/** An Error as dgram reports a refused send (code 'EHOSTUNREACH', ...); made only for a refusal. */
function sendError(errno: number): Error {
  const code = Object.entries(constants.errno).find(([, v]) => v === errno)?.[0] ?? `E${errno}`;
  return Object.assign(new Error(`send ${code}`), { code, errno });
}

/**
 * A UDP port-67 socket through @hadhcp/native: the kernel's queued datagrams are read up to 64 per system call
 * (recvmmsg) and handed over in one call, and replies posted in one turn leave together (sendmmsg) once the turn's
 * synchronous work and its microtasks are done (a group commit releases its replies in one microtask run). Node's
 * dgram costs a system call, a crossing into JavaScript, a Buffer, an rinfo object and an address string per
 * datagram, and a system call and a callback per reply: at thousands of packets a second that was most of the
 * socket cost in the profile (docs/benchmarks.md).
 */
export class BatchUdpSocket implements UdpPort {
  private handle: unknown;
  private readonly inMeta = new Int32Array(4 * BATCH);
  // Replies waiting for the end of the turn: bytes in `pool`, per reply offset, length, address, port in `outMeta`.
  private readonly pool = new Uint8Array(POOL_BYTES);
  private readonly outMeta = new Int32Array(4 * BATCH);
  private readonly onErrors: Array<UdpSendError | undefined> = new Array<UdpSendError | undefined>(BATCH);
  private readonly onSents: Array<(() => void) | undefined> = new Array<(() => void) | undefined>(BATCH);
  private queued = 0;
  private used = 0;
  private flushScheduled = false;
  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(
    private readonly addon: BatchUdpAddon,
    private readonly port: number,
    private readonly bindAddress: Ip4,
  ) {}

  // async: a bind error rejects, as dgram's does (the caller awaits both alike).
  async open(onPacket: UdpReceiver, _onError: (e: Error) => void): Promise<void> {
    const meta = this.inMeta;
    // Throws (EADDRNOTAVAIL, EADDRINUSE, ...) as dgram's bind rejects: the caller handles both alike.
    this.handle = this.addon.openUdp(this.bindAddress, this.port, 1 << 20, 4 << 20, meta, (data, count) => {
      const buf = data.buffer;
      for (let i = 0; i < count; i++) {
        const k = i * 4;
        onPacket(new Uint8Array(buf, meta[k]!, meta[k + 1]!), meta[k + 2]! >>> 0, meta[k + 3]!);
      }
    });
  }

  post(data: Uint8Array, ip: Ip4, port: number, onError: UdpSendError, onSent?: () => void): void {
    if (this.handle === undefined) {
      onError(new Error('DHCP socket is closed'), ip);
      return;
    }
    if (this.queued === BATCH || this.used + data.length > POOL_BYTES) this.flush();
    if (data.length > POOL_BYTES) {
      onError(new Error(`datagram of ${data.length} bytes is too large`), ip);
      return;
    }
    const k = this.queued * 4;
    this.pool.set(data, this.used);
    this.outMeta[k] = this.used;
    this.outMeta[k + 1] = data.length;
    this.outMeta[k + 2] = ip | 0;
    this.outMeta[k + 3] = port;
    this.onErrors[this.queued] = onError;
    this.onSents[this.queued] = onSent;
    this.queued++;
    this.used += data.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushNow);
    }
  }

  /** Sends what is queued: one sendmmsg for the lot, unless the kernel refuses one (reported, the rest go on). */
  private flush(): void {
    const n = this.queued;
    if (n === 0) return;
    const ip = (i: number): Ip4 => this.outMeta[i * 4 + 2]! >>> 0;
    let i = 0;
    while (i < n) {
      const r =
        this.handle === undefined
          ? -constants.errno.EBADF
          : this.addon.udpSend(this.handle, this.pool, this.outMeta, i, n - i);
      if (r <= 0) {
        this.onErrors[i]!(sendError(r < 0 ? -r : constants.errno.EAGAIN), ip(i));
        i++;
        continue;
      }
      for (const end = i + r; i < end; i++) this.onSents[i]?.();
    }
    this.onErrors.fill(undefined, 0, n);
    this.onSents.fill(undefined, 0, n);
    this.queued = 0;
    this.used = 0;
  }

  close(): void {
    if (this.handle === undefined) return;
    this.flush();
    this.addon.closeUdp(this.handle);
    this.handle = undefined;
  }
}
