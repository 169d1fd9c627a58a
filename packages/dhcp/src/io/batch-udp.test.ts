import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIp4, type Ip4 } from '@hadhcp/common';
import { BatchUdpSocket, loadBatchUdp } from './batch-udp.js';

const addon = loadBatchUdp();
const LOOPBACK = parseIp4('127.0.0.1')!;

/** A UDP peer on 127.0.0.1 (any free port) that keeps what it receives. */
async function peer(): Promise<{ sock: Socket; port: number; got: Array<{ data: Buffer; port: number }> }> {
  const sock = createSocket('udp4');
  const got: Array<{ data: Buffer; port: number }> = [];
  sock.on('message', (data, rinfo) => got.push({ data, port: rinfo.port }));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { sock, port: sock.address().port, got };
}

async function until(ok: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A free UDP port on 127.0.0.1 (bound then released). */
async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe.skipIf(!addon)('BatchUdpSocket (@hadhcp/native recvmmsg/sendmmsg)', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanup.splice(0)) c();
  });

  async function open(): Promise<{
    s: BatchUdpSocket;
    port: number;
    got: Array<{ data: Uint8Array; ip: Ip4; port: number }>;
  }> {
    const port = await freePort();
    const s = new BatchUdpSocket(addon!, port, LOOPBACK);
    const got: Array<{ data: Uint8Array; ip: Ip4; port: number }> = [];
    await s.open(
      (data, ip, p) => got.push({ data, ip, port: p }),
      () => undefined,
    );
    cleanup.push(() => s.close());
    return { s, port, got };
  }

  it('hands over every datagram of a burst, each with its bytes, source address and port', async () => {
    const { port, got } = await open();
    const p = await peer();
    cleanup.push(() => p.sock.close());
    // More than one recvmmsg batch (64), sent before the loop gets to read any of them.
    const n = 150;
    for (let i = 0; i < n; i++)
      p.sock.send(Buffer.from([i & 255, 1, 2, 3].slice(0, 1 + (i % 4))), port, '127.0.0.1');
    await until(() => got.length === n);
    for (let i = 0; i < n; i++) {
      expect([...got[i]!.data]).toEqual([i & 255, 1, 2, 3].slice(0, 1 + (i % 4)));
      expect(got[i]!.ip).toBe(LOOPBACK);
      expect(got[i]!.port).toBe(p.port);
    }
    // Each datagram owns its bytes: a later batch does not overwrite an earlier one that is still queued.
    expect(got[0]!.data[0]).toBe(0);
  });

  it('hands over the largest UDP datagram whole (an oversized request must reach the decoder to be counted)', async () => {
    const { port, got } = await open();
    const p = await peer();
    cleanup.push(() => p.sock.close());
    const huge = Buffer.alloc(65507, 0x61);
    huge[65506] = 0x62;
    p.sock.send(huge, port, '127.0.0.1');
    p.sock.send(Buffer.from([1, 2, 3]), port, '127.0.0.1');
    await until(() => got.length === 2);
    expect(got[0]!.data.length).toBe(65507);
    expect(got[0]!.data[65506]).toBe(0x62);
    expect([...got[1]!.data]).toEqual([1, 2, 3]);
  });

  it('sends the replies posted in one turn, in order, and reports each one sent', async () => {
    const { s } = await open();
    const p = await peer();
    cleanup.push(() => p.sock.close());
    let sent = 0;
    const errors: Error[] = [];
    // 100 replies in one turn: more than one sendmmsg batch (64), fewer than the peer's socket buffer holds
    // (~160 datagrams by default); the caller's buffer may be reused at once.
    const buf = new Uint8Array(300);
    for (let i = 0; i < 100; i++) {
      buf.fill(i & 255);
      s.post(
        buf,
        LOOPBACK,
        p.port,
        (e) => errors.push(e),
        () => sent++,
      );
    }
    await until(() => p.got.length === 100);
    expect(errors).toEqual([]);
    expect(sent).toBe(100);
    p.got.forEach((g, i) => {
      expect(g.data.length).toBe(300);
      expect(g.data[0]).toBe(i & 255);
      expect(g.data[299]).toBe(i & 255);
    });
  });

  it('paces a burst: 64 replies at the end of the turn, the rest 64 per turn of the event loop, in order', async () => {
    const { s } = await open();
    const p = await peer();
    cleanup.push(() => p.sock.close());
    const sent: number[] = [];
    const errors: Error[] = [];
    for (let i = 0; i < 300; i++)
      s.post(
        new Uint8Array([i & 255]),
        LOOPBACK,
        p.port,
        (e) => errors.push(e),
        () => sent.push(i),
      );
    expect(sent).toHaveLength(0);
    await Promise.resolve(); // the turn's microtasks
    expect(sent).toHaveLength(64);
    await new Promise((r) => setImmediate(r));
    expect(sent.length).toBeLessThanOrEqual(128);
    await until(() => sent.length === 300);
    expect(sent).toEqual([...Array(300).keys()]);
    expect(errors).toEqual([]);
  });

  it('keeps order when the queue fills: what waits moves to the front, and a full queue is sent at once', async () => {
    const { s } = await open();
    const p = await peer();
    cleanup.push(() => p.sock.close());
    const sent: number[] = [];
    const post = (i: number): void =>
      s.post(
        new Uint8Array(200).fill(i & 255),
        LOOPBACK,
        p.port,
        (e) => {
          throw e;
        },
        () => sent.push(i),
      );
    for (let i = 0; i < 100; i++) post(i);
    await Promise.resolve();
    expect(sent).toHaveLength(64);
    // 1,000 more in one turn: the 36 waiting move to the front once the queue (1,024) is full, then a full queue
    // leaves at once instead of refusing a reply.
    for (let i = 100; i < 1100; i++) post(i);
    expect(sent.length).toBeGreaterThan(64);
    await until(() => sent.length === 1100);
    expect(sent).toEqual([...Array(1100).keys()]);
  });

  it('reports a refused send to its own callback and sends the others', async () => {
    const { s } = await open();
    const p = await peer();
    cleanup.push(() => p.sock.close());
    const failed: Array<{ e: Error; ip: Ip4 }> = [];
    let sent = 0;
    const ok = (): void => void sent++;
    s.post(new Uint8Array([1]), LOOPBACK, p.port, (e, ip) => failed.push({ e, ip }), ok);
    // Port 0 is not a destination: the kernel refuses this one datagram (EINVAL).
    s.post(new Uint8Array([2]), LOOPBACK, 0, (e, ip) => failed.push({ e, ip }), ok);
    s.post(new Uint8Array([3]), LOOPBACK, p.port, (e, ip) => failed.push({ e, ip }), ok);
    await until(() => p.got.length === 2);
    expect(p.got.map((g) => g.data[0])).toEqual([1, 3]);
    expect(sent).toBe(2);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.ip).toBe(LOOPBACK);
    expect((failed[0]!.e as NodeJS.ErrnoException).code).toMatch(/^E[A-Z]+$/);
  });

  it('refuses to bind an address the machine does not have, and a post after close', async () => {
    const s = new BatchUdpSocket(addon!, await freePort(), parseIp4('192.0.2.77')!);
    await expect(
      s.open(
        () => undefined,
        () => undefined,
      ),
    ).rejects.toThrow(/EADDRNOTAVAIL|assign/);
    const { s: t } = await open();
    t.close();
    const errors: Error[] = [];
    t.post(new Uint8Array([1]), LOOPBACK, 9, (e) => errors.push(e));
    expect(errors[0]?.message).toMatch(/closed/);
  });
});
