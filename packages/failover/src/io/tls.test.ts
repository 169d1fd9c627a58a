import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseIp4 } from '@hadhcp/common';
import { makeCa } from '../../test-vectors/tls-certs.js';
import { TcpPeerTransport, type PeerTls } from './tcp.js';
import { isDialFailure, type DialFailure, type PeerConnection } from './transport.js';

/*
 * The failover link over TLS (hadhcp to hadhcp, `hadhcp-tls-*`), on loopback as tcp.test.ts: us 127.0.0.20, the
 * peer 127.0.0.21. Certificates are made for the run with openssl: the pair's CA issues both nodes'; a second CA
 * issues a stranger's. What an operator relies on: the pair links and bytes flow; a node whose certificate another
 * CA issued, or that speaks plain TCP, never gets a connection through (and the refusal says why).
 */

const ip = (s: string) => parseIp4(s)!;
const port = 40_000 + (process.pid % 20_000);
let dir = '';
let material: Record<string, PeerTls> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hadhcp-tls-'));
  material = {
    ...makeCa(dir, 'pair-ca', ['router-a', 'router-b']),
    ...makeCa(dir, 'other-ca', ['stranger']),
  };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const log = {
  lines: [] as string[],
  info: (m: string) => log.lines.push(m),
  warn: (m: string) => log.lines.push(m),
};
const open: TcpPeerTransport[] = [];

function transport(local: string, peer: string, tls: PeerTls | undefined): TcpPeerTransport {
  const t = new TcpPeerTransport({
    address: ip(local),
    port,
    peerAddress: ip(peer),
    peerPort: port,
    log,
    label: 'failover peer t',
    tls,
    connectTimeoutMs: 3000,
  });
  open.push(t);
  return t;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  log.lines.length = 0;
});

async function dialFails(t: TcpPeerTransport): Promise<DialFailure> {
  try {
    const c = await t.dial();
    // A TLS 1.3 client learns of a refused certificate only after its own handshake is done: the server's alert
    // arrives next, and the connection closes without a byte of data.
    return await new Promise<DialFailure>((resolve) =>
      c.onClose((why) => resolve({ kind: 'network', code: 'closed', message: why ?? 'closed' })),
    );
  } catch (e) {
    if (isDialFailure(e)) return e;
    throw e;
  }
}

describe('TcpPeerTransport over TLS (hadhcp-tls-cert, -key, -ca)', () => {
  it('two nodes whose certificates the pair CA issued link up, and bytes flow both ways', async () => {
    const us = transport('127.0.0.20', '127.0.0.21', material['router-a']);
    const peer = transport('127.0.0.21', '127.0.0.20', material['router-b']);
    const accepted = new Promise<PeerConnection>((resolve) => void peer.listen(resolve));
    await new Promise((r) => setTimeout(r, 20));
    const out = await us.dial();
    const inc = await accepted;
    expect(inc.remote).toBe(out.local);
    const got = new Promise<Uint8Array>((resolve) => inc.onData(resolve));
    out.send(Uint8Array.of(1, 2, 3));
    expect([...(await got)]).toEqual([1, 2, 3]);
    const back = new Promise<Uint8Array>((resolve) => out.onData(resolve));
    inc.send(Uint8Array.of(9));
    expect([...(await back)]).toEqual([9]);
    const closed = new Promise<string | undefined>((resolve) => inc.onClose(resolve));
    out.close();
    await closed;
    expect(peer.counters()['connections-accepted']).toBe(1);
  });

  it('a node with a certificate from another CA is refused by the listener, which counts and logs why', async () => {
    // It trusts our CA (so it does not hang up first), but its own certificate comes from elsewhere.
    const stranger = transport('127.0.0.20', '127.0.0.21', {
      ...material.stranger!,
      ca: material['router-a']!.ca,
    });
    const peer = transport('127.0.0.21', '127.0.0.20', material['router-b']);
    let accepted = 0;
    await peer.listen(() => accepted++);
    const f = await dialFails(stranger);
    expect(f.kind).toBe('network');
    await new Promise((r) => setTimeout(r, 50));
    expect(accepted).toBe(0);
    const refused = Object.entries(peer.counters()).filter(([k]) => k.startsWith('tls-refused.'));
    expect(refused.length, JSON.stringify(peer.counters())).toBe(1);
    expect(log.lines.join('\n')).toMatch(/TLS handshake from 127\.0\.0\.20 failed: .*hadhcp-tls-ca/);
  });

  it('our dial refuses a listener whose certificate another CA issued', async () => {
    const us = transport('127.0.0.20', '127.0.0.21', material['router-a']);
    const impostor = transport('127.0.0.21', '127.0.0.20', material.stranger);
    let accepted = 0;
    await impostor.listen(() => accepted++);
    const f = await dialFails(us);
    expect(f.kind).toBe('network');
    expect(f.message).toMatch(/certificate/i);
  });

  it('a plain TCP peer (ISC dhcpd, or a node without TLS) never gets a connection through', async () => {
    const plain = transport('127.0.0.20', '127.0.0.21', undefined);
    const peer = transport('127.0.0.21', '127.0.0.20', material['router-b']);
    let accepted = 0;
    await peer.listen(() => accepted++);
    const c = await plain.dial(); // TCP connects; the listener waits for a TLS hello and gets a failover message
    const closed = new Promise<void>((resolve) => c.onClose(() => resolve()));
    c.send(Uint8Array.of(0, 12, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0));
    await closed;
    expect(accepted).toBe(0);
    expect(Object.keys(peer.counters()).some((k) => k.startsWith('tls-refused.'))).toBe(true);
  });

  it('the address check still comes first: a stranger address with a good certificate is closed before any handshake', async () => {
    const other = transport('127.0.0.22', '127.0.0.21', material['router-a']);
    const peer = transport('127.0.0.21', '127.0.0.20', material['router-b']);
    let accepted = 0;
    await peer.listen(() => accepted++);
    await dialFails(other);
    expect(accepted).toBe(0);
    expect(peer.counters()['connections-refused.not-peer-address']).toBe(1);
    expect(Object.keys(peer.counters()).some((k) => k.startsWith('tls-refused.'))).toBe(false);
  });
});
