// The ICMP pinger over a scripted raw socket: many probes in flight on one socket, each reply matched to its probe
// by identifier and sequence; silence until the timeout; a send that fails is unknown (rejected), not silent.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatIp4, parseIp4 } from '@hadhcp/common';
import { Pinger, PingSendError, type RawModule, type RawSocket } from './pinger.js';

type After = (err?: Error) => void;

class ScriptedSocket implements RawSocket {
  readonly sent: Array<{ buf: Buffer; addr: string; after: After }> = [];
  private onMessage: ((buf: Buffer, source: string) => void) | undefined;
  send(buf: Buffer, _off: number, _len: number, addr: string, _b: unknown, after: After): void {
    this.sent.push({ buf: Buffer.from(buf), addr, after });
  }
  on(ev: string, cb: (...a: never[]) => void): void {
    if (ev === 'message') this.onMessage = cb as unknown as (buf: Buffer, source: string) => void;
  }
  close(): void {}
  /** An echo reply from `source` with this identifier and sequence, behind a 20-byte IP header. */
  reply(source: string, ident: number, seq: number): void {
    const b = Buffer.alloc(36);
    b[0] = 0x45;
    b[20] = 0; // echo reply
    b.writeUInt16BE(ident, 24);
    b.writeUInt16BE(seq, 26);
    this.onMessage?.(b, source);
  }
}

function pinger(): { p: Pinger; sock: ScriptedSocket } {
  const sock = new ScriptedSocket();
  const raw: RawModule = {
    createSocket: () => sock,
    Protocol: { ICMP: 1 },
    createChecksum: () => 0,
    writeChecksum: () => undefined,
  };
  const p = new Pinger(0x4242, raw);
  p.open();
  return { p, sock };
}

const ip = (s: string) => parseIp4(s)!;

afterEach(() => {
  vi.useRealTimers();
});

describe('Pinger', () => {
  it('keeps many probes in flight on one socket and matches each reply by identifier and sequence', async () => {
    vi.useFakeTimers();
    const { p, sock } = pinger();
    const addrs = Array.from({ length: 1000 }, (_, i) => ip(`10.2.${i >> 8}.${i & 255}`));
    const results = addrs.map((a) => p.ping(a, 1000));
    expect(sock.sent).toHaveLength(1000);
    for (const s of sock.sent) s.after();
    const seqOf = (i: number) => sock.sent[i]!.buf.readUInt16BE(6);
    expect(new Set(sock.sent.map((_, i) => seqOf(i))).size).toBe(1000);
    expect(sock.sent[0]!.buf.readUInt16BE(4)).toBe(0x4242);
    // Address 7 answers with its own sequence; a stray reply (another pinger's identifier, or address 9 with
    // address 8's sequence) answers nothing.
    sock.reply(formatIp4(addrs[7]!), 0x4242, seqOf(7));
    sock.reply(formatIp4(addrs[8]!), 0x1111, seqOf(8));
    sock.reply(formatIp4(addrs[9]!), 0x4242, seqOf(8));
    await vi.advanceTimersByTimeAsync(999);
    expect(await results[7]).toBe(true);
    let settled = 0;
    for (const r of results) void r.then(() => settled++);
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(1); // only the answered one before its timeout
    await vi.advanceTimersByTimeAsync(1);
    const all = await Promise.all(results);
    expect(all.filter(Boolean)).toHaveLength(1);
    expect(all[8]).toBe(false);
    expect(all[9]).toBe(false);
  });

  it('probes of different timeouts each end at their own deadline, not a millisecond before', async () => {
    vi.useFakeTimers();
    const { p } = pinger();
    const ended: string[] = [];
    const track = (name: string, r: Promise<boolean>) => void r.then(() => ended.push(name));
    track('long', p.ping(ip('10.2.0.1'), 3000));
    await vi.advanceTimersByTimeAsync(500);
    track('short', p.ping(ip('10.2.0.2'), 1000));
    await vi.advanceTimersByTimeAsync(999);
    expect(ended).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(ended).toEqual(['short']);
    await vi.advanceTimersByTimeAsync(1499);
    expect(ended).toEqual(['short']);
    await vi.advanceTimersByTimeAsync(1);
    expect(ended).toEqual(['short', 'long']);
    p.close();
  });

  it('a probe whose echo request cannot be sent is unknown: rejected with PingSendError, not reported silent', async () => {
    const { p, sock } = pinger();
    const r = p.ping(ip('10.2.0.5'), 1000);
    sock.sent[0]!.after(Object.assign(new Error('ENOBUFS: no buffer space available'), { code: 'ENOBUFS' }));
    await expect(r).rejects.toBeInstanceOf(PingSendError);
    await expect(r).rejects.toThrow(/10\.2\.0\.5 not sent: ENOBUFS/);
    // A reply arriving later for that sequence changes nothing (it was never sent).
    sock.reply('10.2.0.5', 0x4242, sock.sent[0]!.buf.readUInt16BE(6));
  });
});
