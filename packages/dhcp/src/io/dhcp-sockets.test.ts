// DhcpSockets over scripted ports and interface lists: one socket per local address, and what happens to the socket
// of an address that leaves (the VIP moving away): read until RETIRE_MS has passed, then closed, so a datagram the
// kernel delivered while the address was ours is still answered; a VIP that comes back in time keeps its socket.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatIp4, parseIp4, type Ip4 } from '@hadhcp/common';
import { DhcpSockets, RETIRE_MS } from './dhcp-sockets.js';
import type { LocalInterface } from './interfaces.js';
import type { UdpPort, UdpReceiver, UdpSendError } from './udp.js';

class ScriptedPort implements UdpPort {
  onPacket: UdpReceiver | undefined;
  closed = false;
  readonly sent: Array<{ ip: Ip4; port: number }> = [];
  constructor(readonly bound: string) {}
  open(onPacket: UdpReceiver): Promise<void> {
    this.onPacket = onPacket;
    return Promise.resolve();
  }
  post(_data: Uint8Array, ip: Ip4, port: number, onError: UdpSendError, onSent?: () => void): void {
    if (this.closed) return onError(new Error('closed'), ip);
    this.sent.push({ ip, port });
    onSent?.();
  }
  close(): void {
    this.closed = true;
  }
  /** A datagram the kernel had queued on this socket, read by the loop now. */
  deliver(from: string): void {
    if (this.closed) throw new Error(`${this.bound}: read after close`);
    this.onPacket!(new Uint8Array(300), parseIp4(from)!, 67);
  }
}

const ip = (s: string): Ip4 => parseIp4(s)!;
const eth0 = (...addrs: string[]): LocalInterface => ({
  name: 'eth0',
  mac: new Uint8Array(6),
  addresses: addrs.map((a) => ({ ip: ip(a), prefix: 24, mask: ip('255.255.255.0') })),
});

describe('DhcpSockets: one socket per local address, and an address that leaves', () => {
  let ifaces: LocalInterface[];
  let ports: ScriptedPort[];
  let got: Array<{ localIp: string | undefined; wildcard: boolean }>;
  let sockets: DhcpSockets;
  const quiet = { debug: () => {}, warn: () => {}, error: () => {} };
  const portOf = (bound: string): ScriptedPort[] => ports.filter((p) => p.bound === bound);

  beforeEach(async () => {
    vi.useFakeTimers();
    ifaces = [eth0('10.0.0.2', '10.0.0.10')];
    ports = [];
    got = [];
    sockets = new DhcpSockets(
      67,
      (_d, _src, _sp, localIp, _iface, wildcard) =>
        got.push({ localIp: localIp === undefined ? undefined : formatIp4(localIp), wildcard }),
      quiet,
      {
        openUdp: (_port, bind) => {
          const p = new ScriptedPort(bind);
          ports.push(p);
          return p;
        },
        listInterfaces: () => ifaces,
      },
    );
    await sockets.open();
  });
  afterEach(() => {
    sockets.close();
    vi.useRealTimers();
  });

  it('binds each local address and INADDR_ANY', () => {
    expect(ports.map((p) => p.bound).sort()).toEqual(['0.0.0.0', '10.0.0.10', '10.0.0.2']);
    expect(sockets.listening().sort()).toEqual(['10.0.0.10', '10.0.0.2']);
  });

  it('the VIP leaves: datagrams already queued on its socket still arrive as sent to the VIP, then it closes', async () => {
    const vipSock = portOf('10.0.0.10')[0]!;
    ifaces = [eth0('10.0.0.2')];
    await sockets.ensure([]);
    expect(sockets.listening()).toEqual(['10.0.0.2']);
    expect(vipSock.closed, 'not closed in the turn the VIP left').toBe(false);
    vipSock.deliver('10.0.0.1');
    expect(got).toEqual([{ localIp: '10.0.0.10', wildcard: false }]);
    // The reply leaves from INADDR_ANY: the VIP is no longer a source this host can send from.
    sockets.post(new Uint8Array(300), ip('10.2.0.1'), 67, ip('10.0.0.10'), () => {});
    expect(portOf('0.0.0.0')[0]!.sent).toEqual([{ ip: ip('10.2.0.1'), port: 67 }]);
    expect(vipSock.sent).toEqual([]);
    vi.advanceTimersByTime(RETIRE_MS - 1);
    expect(vipSock.closed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(vipSock.closed, `closed ${RETIRE_MS} ms after the VIP left`).toBe(true);
  });

  it('the VIP comes back before its socket closed: that socket serves it again, no second bind', async () => {
    const vipSock = portOf('10.0.0.10')[0]!;
    ifaces = [eth0('10.0.0.2')];
    await sockets.refresh();
    vi.advanceTimersByTime(RETIRE_MS / 2);
    ifaces = [eth0('10.0.0.2', '10.0.0.10')];
    await sockets.ensure([ip('10.0.0.10')]);
    expect(portOf('10.0.0.10')).toHaveLength(1);
    expect(sockets.listening().sort()).toEqual(['10.0.0.10', '10.0.0.2']);
    vi.advanceTimersByTime(RETIRE_MS * 2);
    expect(vipSock.closed, 'the old timer does not close the reused socket').toBe(false);
  });

  it('the VIP comes back after its socket closed: a new socket', async () => {
    ifaces = [eth0('10.0.0.2')];
    await sockets.refresh();
    vi.advanceTimersByTime(RETIRE_MS);
    ifaces = [eth0('10.0.0.2', '10.0.0.10')];
    await sockets.refresh();
    expect(portOf('10.0.0.10').map((p) => p.closed)).toEqual([true, false]);
  });

  it('close() closes the retiring sockets too', async () => {
    ifaces = [eth0('10.0.0.2')];
    await sockets.refresh();
    sockets.close();
    expect(ports.every((p) => p.closed)).toBe(true);
  });
});
