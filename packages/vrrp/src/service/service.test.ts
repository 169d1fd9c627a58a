import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AddressInfo } from '../io/addresses.js';
import type { VrrpPacketIn } from '../io/vrrp-socket.js';
import { encodeAdvert, passwordAuthData } from '../wire/advert.js';
import { config, FakeSocket, ip, make, primary, stopped, VIP } from '../../test-vectors/service-fakes.js';

describe('VrrpService', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('removes a VIP left on the interface before electing, and re-adds it only as master', async () => {
    const leftover: AddressInfo = { ifindex: 2, address: VIP, prefix: 24, label: undefined, secondary: true };
    const { svc, addresses } = make(config(), [primary, leftover]);
    await svc.start();
    expect(addresses.ops).toEqual([`remove ${VIP}`]);
    expect(svc.status()[0]!.state).toBe('BACKUP');
    // No master heard: Master_Down_Interval (3 s + Skew(100) = 609 ms) later it takes over.
    await vi.advanceTimersByTimeAsync(3608);
    expect(svc.status()[0]!.state).toBe('BACKUP');
    await vi.advanceTimersByTimeAsync(2);
    expect(svc.status()[0]!.state).toBe('MASTER');
    expect(addresses.ops).toEqual([`remove ${VIP}`, `add ${VIP}`]);
    await stopped(svc);
  });

  it('runs notify scripts one at a time in transition order, and stop() sends priority 0 and removes the VIP', async () => {
    const { svc, scripts, socket, addresses } = make(config({ initialState: 'MASTER', notify: '/bin/n' }));
    // The first (MASTER) notify is slow: a later one must still wait for it.
    scripts.delayMs = (_c, n) => (n === 1 ? 500 : 1);
    const states: string[] = [];
    svc.on('state', (c) => states.push(c.to));
    await svc.start();
    expect(states).toEqual(['BACKUP', 'MASTER']);
    const stopping = svc.stop();
    await vi.advanceTimersByTimeAsync(1000);
    await stopping;
    const starts = scripts.log.filter((l) => l.startsWith('start'));
    expect(starts.at(-1)).toBe('start /bin/n INSTANCE VI_1 STOP 100');
    // Never two at once: every start is followed by its own end.
    for (let i = 0; i < scripts.log.length; i += 2) expect(scripts.log[i + 1]).toMatch(/^end /);
    const last = socket().sent.at(-1)!.payload;
    expect(last[2]).toBe(0); // priority byte of the final advert
    expect(addresses.ops.at(-1)).toBe(`remove ${VIP}`);
  });

  it('on leaving MASTER removes only the VIPs it added, not one that was already there', async () => {
    const { svc, addresses } = make(config({ initialState: 'MASTER' }));
    addresses.present.add(VIP);
    await svc.start();
    await stopped(svc);
    expect(addresses.ops).toEqual([`add ${VIP}`]);
  });

  it('an NTP step backwards does not delay Master_Down; the status still shows wall-clock times', async () => {
    const { svc } = make(config());
    await svc.start();
    await vi.advanceTimersByTimeAsync(2000);
    vi.setSystemTime(Date.now() - 3_600_000);
    await vi.advanceTimersByTimeAsync(1610);
    const st = svc.status()[0]!;
    expect(st.state).toBe('MASTER');
    expect(Date.now() - Date.parse(st.lastTransition!.at)).toBeLessThan(1000);
    await stopped(svc);
  });

  it('a hung notify script is killed after the notify timeout, and the ones behind it run', async () => {
    const { svc, scripts, lines } = make(config({ initialState: 'MASTER', notify: '/bin/n' }));
    scripts.delayMs = (_c, n) => (n === 1 ? 1e9 : 1);
    await svc.start();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(scripts.log).toEqual(['start /bin/n INSTANCE VI_1 BACKUP 100']);
    await vi.advanceTimersByTimeAsync(2);
    expect(scripts.log).toContain('start /bin/n INSTANCE VI_1 MASTER 100');
    expect(lines.map((l) => l.msg)).toContain('(VI_1) notify script /bin/n timed out and was killed');
    await stopped(svc);
  });

  it('stop() sends priority 0 and removes the VIP, then waits for notify scripts only so long', async () => {
    const { svc, scripts, socket, addresses, lines } = make(
      config({ initialState: 'MASTER', notify: '/bin/n' }),
      undefined,
      { notifyTimeoutMs: 1e9, stopNotifyWaitMs: 500 },
    );
    scripts.delayMs = (_c, n) => (n === 1 ? 1e8 : 1);
    await svc.start();
    let done = false;
    const stopping = svc.stop().then(() => (done = true));
    await vi.advanceTimersByTimeAsync(499);
    expect(done).toBe(false);
    expect(socket().sent.at(-1)!.payload[2]).toBe(0);
    expect(addresses.ops.at(-1)).toBe(`remove ${VIP}`);
    await vi.advanceTimersByTimeAsync(30);
    await stopping;
    expect(lines.map((l) => l.msg)).toContain('stopping without waiting for 3 notify script(s)');
  });

  it('init_fail: a tracked script counts as failed before the first election, until rise successes', async () => {
    const chk = {
      name: 'chk',
      script: '/bin/chk',
      interval: 1,
      timeout: 1,
      weight: 0,
      rise: 2,
      fall: 1,
      initFail: true,
      pos: { file: 't', line: 1, col: 1 },
    };
    const { svc, addresses } = make(
      config({ initialState: 'MASTER', trackScripts: [{ name: 'chk' }] }, { scripts: [chk] }),
    );
    await svc.start();
    expect(svc.status()[0]!.state).toBe('FAULT');
    await vi.advanceTimersByTimeAsync(10); // first success: 1 of 2
    expect(svc.status()[0]!.state).toBe('FAULT');
    await vi.advanceTimersByTimeAsync(1000); // second
    expect(svc.status()[0]!.state).toBe('BACKUP');
    expect(addresses.ops).toEqual([]);
    await stopped(svc);
  });

  it('counts an advert for a VRID not configured here and does not act on it', async () => {
    const { svc, socket } = make(config());
    await svc.start();
    const advert = encodeAdvert({
      vrid: 52,
      priority: 254,
      authType: 1,
      advertInt: 1,
      addresses: [VIP],
      authData: passwordAuthData('secret'),
    });
    const pkt: VrrpPacketIn = {
      iface: 'eth0',
      srcIp: ip('10.0.0.9'),
      dstIp: ip('224.0.0.18'),
      ttl: 255,
      payload: advert,
    };
    socket().emit('packet', pkt);
    expect(svc.status()[0]!.drops).toEqual({ 'vrid-not-configured': 1 });
    expect(svc.status()[0]!.advertsReceived).toBe(0);
    await stopped(svc);
  });

  it('applies the external weight to the effective priority and says why', async () => {
    const { svc } = make(config({ priority: 100 }));
    await svc.start();
    svc.setExternalWeight('VI_1', -30, 'dhcp unhealthy');
    expect(svc.status()[0]).toMatchObject({
      effectivePriority: 70,
      priorityReasons: ['-30 external: dhcp unhealthy failing'],
    });
    svc.setExternalWeight('VI_1', 0, 'dhcp healthy');
    expect(svc.status()[0]).toMatchObject({ effectivePriority: 100, priorityReasons: [] });
    await stopped(svc);
  });

  it('a weight for all instances given before start applies before the first election', async () => {
    const { svc } = make(config({ priority: 100 }));
    svc.setExternalWeightAll(-30, 'dhcp unhealthy');
    await svc.start();
    expect(svc.status()[0]).toMatchObject({ state: 'BACKUP', effectivePriority: 70 });
    await stopped(svc);
  });

  it('counts and logs a VRRPv3 advert as a version mismatch, and changes nothing', async () => {
    const { svc, socket, lines } = make(config({ initialState: 'MASTER' }));
    await svc.start();
    socket().receive({ priority: 254 }, '10.0.0.9', 255, 3);
    const st = svc.status()[0]!;
    expect(st).toMatchObject({ state: 'MASTER', advertsReceived: 0, drops: { 'version-mismatch-v3': 1 } });
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
      '(VI_1) wrong version. Received 3 and expect 2 - VRRPv3 advert from 10.0.0.9, VRID 51 priority 254, ignored',
    ]);
    await stopped(svc);
  });

  it('logs a flood of bad adverts once per 10 s per reason, counting every one', async () => {
    const { svc, socket, lines } = make(config({ initialState: 'MASTER' }));
    await svc.start();
    const bad = () => socket().receive({ priority: 254, authData: passwordAuthData('wrong') }, '10.0.0.9');
    for (let i = 0; i < 20; i++) bad();
    socket().receive({ priority: 254 }, '10.0.0.9', 255, 3);
    const warned = () => lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    expect(warned()).toEqual(['(VI_1) received an invalid passwd!', expect.stringMatching(/wrong version/)]);
    await vi.advanceTimersByTimeAsync(9999);
    bad();
    expect(warned()).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    bad();
    expect(warned()[2]).toBe('(VI_1) received an invalid passwd! (20 more like it not logged)');
    expect(svc.status()[0]!.drops).toEqual({ 'auth-mismatch': 22, 'version-mismatch-v3': 1 });
    await stopped(svc);
  });

  it('a transport that throws on send (a socket it cannot open at run time) costs the advert, not the process', async () => {
    class Refusing extends FakeSocket {
      override send(): Promise<void> {
        throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
      }
    }
    const { svc, lines } = make(config({ initialState: 'MASTER' }), undefined, {
      openSocket: (o) => new Refusing(o.iface, o),
    });
    await svc.start();
    await vi.advanceTimersByTimeAsync(3000); // three more adverts, each from a timer
    const st = svc.status()[0]!;
    expect(st.state).toBe('MASTER');
    expect(st.drops['io-error']).toBeGreaterThanOrEqual(4);
    expect(lines).toContainEqual({ level: 'error', msg: '(VI_1) send advert: EMFILE: too many open files' });
    await stopped(svc);
  });
});
