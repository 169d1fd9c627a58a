import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AddressInfo } from '../io/addresses.js';
import { config, ip, link, make, primary, stopped, VIP } from '../../test-vectors/service-fakes.js';

const addr = (a: string, secondary = false): AddressInfo => ({
  ifindex: 2,
  address: ip(a),
  prefix: 24,
  label: 'eth0',
  secondary,
});

describe('following the interface through netlink', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lost notifications (ENOBUFS): logs, re-reads the links and follows what changed meanwhile', async () => {
    const { svc, addresses, lines } = make(config());
    await svc.start();
    addresses.linkList = [link('eth0', 2, false)];
    addresses.event({ kind: 'lost', error: 'ENOBUFS' });
    await vi.advanceTimersByTimeAsync(1);
    expect(svc.status()[0]!.state).toBe('FAULT');
    expect(lines.some((l) => l.level === 'error' && l.msg.includes('ENOBUFS'))).toBe(true);
    addresses.linkList = [link('eth0', 2, true)];
    addresses.event({ kind: 'lost', error: 'ENOBUFS' });
    await vi.advanceTimersByTimeAsync(1);
    expect(svc.status()[0]!.state).toBe('BACKUP');
    await stopped(svc);
  });

  it('a new primary address moves the socket and the core (advert source, tie-break) to it', async () => {
    const { svc, addresses, socket } = make(config());
    await svc.start();
    expect(socket().primaryIp).toBe(ip('10.0.0.2'));
    // Primary deleted, a secondary promoted in its place: two notifications, one new view.
    addresses.addrs = [addr('10.0.0.20')];
    addresses.event({ kind: 'address', op: 'del', addr: primary });
    addresses.event({ kind: 'address', op: 'new', addr: addr('10.0.0.20') });
    await vi.advanceTimersByTimeAsync(1);
    expect(socket().primaryIp).toBe(ip('10.0.0.20'));
    expect(svc.status()[0]).toMatchObject({ ownAddress: '10.0.0.20', state: 'BACKUP' });
    // Our old address may be a peer's now: its advert counts (equal priority, lower address: we stay master);
    // one from our new address is our own, looped back.
    await vi.advanceTimersByTimeAsync(3700);
    socket().receive({ priority: 100 }, '10.0.0.2');
    socket().receive({ priority: 100 }, '10.0.0.20');
    expect(svc.status()[0]).toMatchObject({
      state: 'MASTER',
      advertsReceived: 1,
      drops: { 'own-advert': 1 },
    });
    await stopped(svc);
  });

  it('never takes one of its own VIPs for the primary, even when the kernel promoted it', async () => {
    const { svc, addresses, socket } = make(config());
    await svc.start();
    addresses.addrs = [{ ...addr('10.0.0.10'), address: VIP }, addr('10.0.0.30', true)];
    addresses.event({ kind: 'address', op: 'del', addr: primary });
    await vi.advanceTimersByTimeAsync(1);
    expect(socket().primaryIp).toBe(ip('10.0.0.30'));
    await stopped(svc);
  });

  it('no IPv4 address left on the VRRP interface -> FAULT (VIPs released); one added -> BACKUP again', async () => {
    const { svc, addresses } = make(config({ initialState: 'MASTER' }));
    await svc.start();
    expect(svc.status()[0]!.state).toBe('MASTER');
    addresses.addrs = [];
    addresses.event({ kind: 'address', op: 'del', addr: primary });
    await vi.advanceTimersByTimeAsync(1);
    expect(svc.status()[0]!.state).toBe('FAULT');
    expect(addresses.ops.at(-1)).toBe(`remove ${VIP}`);
    addresses.addrs = [addr('10.0.0.5')];
    addresses.event({ kind: 'address', op: 'new', addr: addr('10.0.0.5') });
    await vi.advanceTimersByTimeAsync(1);
    expect(svc.status()[0]).toMatchObject({ state: 'BACKUP', ownAddress: '10.0.0.5' });
    await stopped(svc);
  });

  it('the VRRP interface going down -> FAULT; up -> BACKUP, then the election (master when no one else)', async () => {
    const { svc, addresses } = make(config({ initialState: 'MASTER' }));
    await svc.start();
    addresses.event({ kind: 'link', op: 'new', link: link('eth0', 2, false) });
    expect(svc.status()[0]).toMatchObject({ state: 'FAULT', faults: ['interface:eth0'] });
    addresses.event({ kind: 'link', op: 'new', link: link('eth0', 2, true) });
    expect(svc.status()[0]!.state).toBe('BACKUP');
    // Master_Down_Interval for priority 100: 3609 ms.
    await vi.advanceTimersByTimeAsync(3608);
    expect(svc.status()[0]!.state).toBe('BACKUP');
    await vi.advanceTimersByTimeAsync(2);
    expect(svc.status()[0]!.state).toBe('MASTER');
    await stopped(svc);
  });

  it('starts in FAULT on an interface without an address instead of refusing to start', async () => {
    const { svc } = make(config(), []);
    await svc.start();
    expect(svc.status()[0]).toMatchObject({ state: 'FAULT', faults: ['interface:eth0'] });
    await stopped(svc);
  });
});
