import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIp4 } from '@hadhcp/common';
import { TcpPeerTransport } from './tcp.js';
import { isDialFailure, type DialFailure, type PeerConnection } from './transport.js';

/*
 * The TCP transport on loopback (every 127/8 address is local on Linux, so "us", "the peer" and "a stranger" are
 * 127.0.0.10, .11 and .12): the listener takes the peer's address only, dials go out from our address, and each
 * way a dial fails is classified as ISC's reconnect delays need.
 */

const ip = (s: string) => parseIp4(s)!;
const port = 20_000 + (process.pid % 20_000);
const log = {
  lines: [] as string[],
  info: (m: string) => log.lines.push(m),
  warn: (m: string) => log.lines.push(m),
};
const open: TcpPeerTransport[] = [];

function transport(
  local: string,
  peer: string,
  o: { port?: number; peerPort?: number } = {},
): TcpPeerTransport {
  const t = new TcpPeerTransport({
    address: ip(local),
    port: o.port ?? port,
    peerAddress: ip(peer),
    peerPort: o.peerPort ?? port,
    log,
    label: 'failover peer t',
  });
  open.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function nextData(c: PeerConnection): Promise<Uint8Array> {
  return new Promise((resolve) => c.onData(resolve));
}

describe('TcpPeerTransport', () => {
  it('our dial leaves from our address and reaches the peer listener, which takes it; bytes flow both ways', async () => {
    const us = transport('127.0.0.10', '127.0.0.11');
    const peer = transport('127.0.0.11', '127.0.0.10');
    const accepted = new Promise<PeerConnection>((resolve) => void peer.listen(resolve));
    await new Promise((r) => setTimeout(r, 20));
    const out = await us.dial();
    const inc = await accepted;
    expect(out.direction).toBe('out');
    expect(out.local).toMatch(/^127\.0\.0\.10:\d+$/);
    expect(inc.direction).toBe('in');
    expect(inc.remote).toBe(out.local);
    const got = nextData(inc);
    out.send(Uint8Array.of(1, 2, 3));
    expect([...(await got)]).toEqual([1, 2, 3]);
    const closed = new Promise<string | undefined>((resolve) => inc.onClose(resolve));
    out.close();
    await closed;
    expect(peer.counters()).toMatchObject({ 'connections-accepted': 1 });
    expect(us.counters()).toMatchObject({ 'dial-connected': 1 });
  });

  it('the messages sent in one turn arrive together, in order, and what was sent before close() is delivered', async () => {
    const us = transport('127.0.0.10', '127.0.0.11');
    const peer = transport('127.0.0.11', '127.0.0.10');
    const accepted = new Promise<PeerConnection>((resolve) => void peer.listen(resolve));
    await new Promise((r) => setTimeout(r, 20));
    const out = await us.dial();
    const inc = await accepted;
    const chunks: number[][] = [];
    const closed = new Promise<void>((resolve) => inc.onClose(() => resolve()));
    inc.onData((c) => chunks.push([...c]));
    for (let i = 1; i <= 200; i++) out.send(Uint8Array.of(i, i));
    out.send(Uint8Array.of(0));
    out.close(); // in the same turn as the sends
    await closed;
    const all = chunks.flat();
    expect(all).toHaveLength(401);
    expect(all.slice(0, 4)).toEqual([1, 1, 2, 2]);
    expect(all.at(-1)).toBe(0);
    // One write: loopback delivers it in one read.
    expect(chunks).toHaveLength(1);
  });

  it('closes a connection from any other address, counts it and logs it once a minute', async () => {
    const us = transport('127.0.0.10', '127.0.0.11');
    let handed = 0;
    await us.listen(() => handed++);
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve) => {
        const s = connect({ host: '127.0.0.10', port, localAddress: '127.0.0.12' });
        s.on('error', () => undefined);
        s.on('close', () => resolve());
      });
    }
    expect(handed).toBe(0);
    expect(us.counters()['connections-refused.not-peer-address']).toBe(3);
    const lines = log.lines.filter((l) => l.includes('not the peer address 127.0.0.11'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^failover peer t: connection from 127\.0\.0\.12:\d+ closed: not the peer address/,
    );
  });

  it('a refused dial is a network failure (retried soon); one from an address we do not have is local (ISC: 90 s)', async () => {
    const us = transport('127.0.0.10', '127.0.0.11', { peerPort: port + 1 });
    const refused = await us.dial().catch((e: unknown) => e);
    expect(isDialFailure(refused)).toBe(true);
    expect(refused).toMatchObject({ kind: 'network', code: 'ECONNREFUSED' } satisfies Partial<DialFailure>);
    // 192.0.2.1 (TEST-NET-1) is on no interface here: bind() fails before anything is sent.
    const stranger = transport('192.0.2.1', '127.0.0.11');
    const local = await stranger.dial().catch((e: unknown) => e);
    expect(local).toMatchObject({ kind: 'local', code: 'EADDRNOTAVAIL' });
    expect(us.counters()['dial-failed.ECONNREFUSED']).toBe(1);
  });

  it('listening on an address we do not have rejects (the service logs and retries)', async () => {
    const t = transport('192.0.2.1', '127.0.0.11');
    await expect(t.listen(() => undefined)).rejects.toThrow(/EADDRNOTAVAIL/);
  });
});
