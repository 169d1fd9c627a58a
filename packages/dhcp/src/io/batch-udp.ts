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
/** Replies sent per turn of the event loop at most (one sendmmsg), unless more than QUEUE are waiting. */
const PACE = BATCH;
/** Replies that may wait for a later turn, and their bytes (a DHCP reply is a few hundred bytes). */
const QUEUE = 1024;
const POOL_BYTES = 1 << 20;

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
 * synchronous work and its microtasks are done (a group commit releases its replies in one microtask run), at
 * most 64 per turn of the event loop (see post()). Node's
 * dgram costs a system call, a crossing into JavaScript, a Buffer, an rinfo object and an address string per
 * datagram, and a system call and a callback per reply: at thousands of packets a second that was most of the
 * socket cost in the profile (docs/benchmarks.md).
 */
export class BatchUdpSocket implements UdpPort {
  private handle: unknown;
  private readonly inMeta = new Int32Array(4 * BATCH);
  // Replies not sent yet, in order: bytes in `pool`; per reply offset, length, address, port in `outMeta`;
  // entries head .. queued-1 are waiting.
  private readonly pool = new Uint8Array(POOL_BYTES);
  private readonly outMeta = new Int32Array(4 * QUEUE);
  private readonly onErrors: Array<UdpSendError | undefined> = new Array<UdpSendError | undefined>(QUEUE);
  private readonly onSents: Array<(() => void) | undefined> = new Array<(() => void) | undefined>(QUEUE);
  private head = 0;
  private queued = 0;
  private used = 0;
  private scheduled = false;
  private readonly paced = (): void => {
    this.scheduled = false;
    this.sendSome(PACE);
    if (this.head < this.queued) this.schedule(true);
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

  /**
   * Queues a reply (its bytes are copied: the caller may reuse `data`). The first PACE replies of a turn leave at
   * the end of it; more (a slow sync releasing hundreds of ACKs at once) leave PACE per turn of the event loop,
   * so that the relay's (or perfdhcp's) socket buffer, ~160 datagrams by default, is not overrun by one burst.
   */
  post(data: Uint8Array, ip: Ip4, port: number, onError: UdpSendError, onSent?: () => void): void {
    if (this.handle === undefined) {
      onError(new Error('DHCP socket is closed'), ip);
      return;
    }
    if (data.length > POOL_BYTES) {
      onError(new Error(`datagram of ${data.length} bytes is too large`), ip);
      return;
    }
    if (this.queued === QUEUE || this.used + data.length > POOL_BYTES) {
      this.compact();
      // Still full: more than QUEUE replies (or POOL_BYTES) waiting; send them now rather than drop any.
      if (this.queued === QUEUE || this.used + data.length > POOL_BYTES) this.sendSome(Infinity);
    }
    const q = this.queued;
    const k = q * 4;
    this.pool.set(data, this.used);
    this.outMeta[k] = this.used;
    this.outMeta[k + 1] = data.length;
    this.outMeta[k + 2] = ip | 0;
    this.outMeta[k + 3] = port;
    this.onErrors[q] = onError;
    this.onSents[q] = onSent;
    this.queued = q + 1;
    this.used += data.length;
    this.schedule(false);
  }

  /** The end of this turn (microtask) for the first batch; the next turn (setImmediate) while paced. */
  private schedule(nextTurn: boolean): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (nextTurn) setImmediate(this.paced);
    else queueMicrotask(this.paced);
  }

  /**
   * Sends up to `max` waiting replies, one sendmmsg per 64; a reply the kernel refuses is reported to its own
   * callback and the rest go on.
   */
  private sendSome(max: number): void {
    const end = Math.min(this.queued, this.head + max);
    let i = this.head;
    while (i < end) {
      const r =
        this.handle === undefined
          ? -constants.errno.EBADF
          : this.addon.udpSend(this.handle, this.pool, this.outMeta, i, Math.min(end - i, BATCH));
      if (r <= 0) {
        const onError = this.onErrors[i]!;
        const ip = this.outMeta[i * 4 + 2]! >>> 0;
        this.onErrors[i] = this.onSents[i] = undefined;
        i++;
        onError(sendError(r < 0 ? -r : constants.errno.EAGAIN), ip);
        continue;
      }
      for (const stop = i + r; i < stop; i++) {
        const onSent = this.onSents[i];
        this.onErrors[i] = this.onSents[i] = undefined;
        onSent?.();
      }
    }
    this.head = i;
    if (this.head === this.queued) this.head = this.queued = this.used = 0;
  }

  /** Moves the waiting replies to the front of the pool and the queue. */
  private compact(): void {
    const h = this.head;
    if (h === 0) return;
    const n = this.queued - h;
    const from = this.outMeta[h * 4]!;
    this.pool.copyWithin(0, from, this.used);
    for (let j = 0; j < n; j++) {
      const a = j * 4;
      const b = (h + j) * 4;
      this.outMeta[a] = this.outMeta[b]! - from;
      this.outMeta[a + 1] = this.outMeta[b + 1]!;
      this.outMeta[a + 2] = this.outMeta[b + 2]!;
      this.outMeta[a + 3] = this.outMeta[b + 3]!;
      this.onErrors[j] = this.onErrors[h + j];
      this.onSents[j] = this.onSents[h + j];
    }
    this.onErrors.fill(undefined, n, this.queued);
    this.onSents.fill(undefined, n, this.queued);
    this.used -= from;
    this.head = 0;
    this.queued = n;
  }

  close(): void {
    if (this.handle === undefined) return;
    this.sendSome(Infinity);
    this.addon.closeUdp(this.handle);
    this.handle = undefined;
  }
}
