import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { VipChange } from './types.js';
import { config, make, stopped, VIP } from '../../test-vectors/service-fakes.js';

/** A netlink add that returns only when the test says so. */
function slowAdds(addresses: { add: (...a: never[]) => Promise<boolean>; ops: string[] }) {
  const pending: Array<() => void> = [];
  addresses.add = ((s: { address: number }) => {
    addresses.ops.push(`add ${s.address}`);
    return new Promise<boolean>((res) => pending.push(() => res(true)));
  }) as never;
  return () => pending.splice(0).forEach((f) => f());
}

describe('VrrpService.peerGone (the supervisor saw the failover link close)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a BACKUP that hears a master takes over Skew_Time after the notice, not 1 ms before', async () => {
    const { svc, socket, addresses, lines } = make(config({ priority: 100 }));
    await svc.start();
    await vi.advanceTimersByTimeAsync(1000);
    socket().receive({ priority: 150 }, '10.0.0.3');
    svc.peerGone('failover link closed');
    expect(lines.map((l) => l.msg)).toContain(
      '(VI_1) peer gone (failover link closed): master down in 0.609 s',
    );
    await vi.advanceTimersByTimeAsync(608);
    expect(svc.status()[0]!.state).toBe('BACKUP');
    await vi.advanceTimersByTimeAsync(1);
    expect(svc.status()[0]).toMatchObject({
      state: 'MASTER',
      lastTransition: { reason: 'peer gone (failover link closed)' },
    });
    expect(addresses.ops).toEqual([`add ${VIP}`]);
    await stopped(svc);
  });

  it('an advert from the live master before Skew_Time undoes a spurious notice', async () => {
    const { svc, socket } = make(config({ priority: 100 }));
    await svc.start();
    socket().receive({ priority: 150 }, '10.0.0.3');
    svc.peerGone('failover link closed');
    await vi.advanceTimersByTimeAsync(500);
    socket().receive({ priority: 150 }, '10.0.0.3');
    await vi.advanceTimersByTimeAsync(3608);
    expect(svc.status()[0]!.state).toBe('BACKUP');
    await vi.advanceTimersByTimeAsync(1);
    expect(svc.status()[0]).toMatchObject({
      state: 'MASTER',
      lastTransition: { reason: 'master down timer' },
    });
    await stopped(svc);
  });

  it('changes nothing on a MASTER', async () => {
    const { svc, socket } = make(config({ initialState: 'MASTER' }));
    await svc.start();
    const sent = socket().sent.length;
    svc.peerGone('failover link closed');
    expect(svc.status()[0]!.state).toBe('MASTER');
    expect(socket().sent).toHaveLength(sent);
    await stopped(svc);
  });
});

describe("VrrpService 'vips' (what DHCP binds)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('tells the VIPs once the netlink add has returned, not at the transition', async () => {
    const { svc, addresses } = make(config({ initialState: 'MASTER' }));
    const release = slowAdds(addresses);
    const told: VipChange[] = [];
    const states: string[] = [];
    svc.on('vips', (c) => told.push(c));
    svc.on('state', (c) => states.push(c.to));
    await svc.start();
    expect(states).toEqual(['BACKUP', 'MASTER']);
    expect(addresses.ops).toEqual([`add ${VIP}`]);
    expect(told).toEqual([]);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(told).toEqual([{ instance: 'VI_1', vips: [VIP] }]);
    // Leaving MASTER: at the transition, before the removal.
    const stopping = svc.stop();
    expect(told.at(-1)).toEqual({ instance: 'VI_1', vips: [] });
    await vi.advanceTimersByTimeAsync(1000);
    await stopping;
  });

  it('an add that returns after MASTER was left tells nothing', async () => {
    const { svc, addresses, socket } = make(config({ initialState: 'MASTER' }));
    const release = slowAdds(addresses);
    const told: VipChange[] = [];
    svc.on('vips', (c) => told.push(c));
    await svc.start();
    socket().receive({ priority: 150 }, '10.0.0.3');
    expect(svc.status()[0]!.state).toBe('BACKUP');
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(told).toEqual([{ instance: 'VI_1', vips: [] }]);
    await stopped(svc);
  });

  it('the address owner holds its VIPs at the transition (its own addresses: nothing to add)', async () => {
    const { svc } = make(config({ priority: 255 }));
    const told: VipChange[] = [];
    svc.on('vips', (c) => told.push(c));
    await svc.start();
    expect(told).toEqual([{ instance: 'VI_1', vips: [VIP] }]);
    await stopped(svc);
  });
});
