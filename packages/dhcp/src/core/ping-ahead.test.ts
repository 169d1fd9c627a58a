import { describe, expect, it } from 'vitest';
import { BindingState } from '@hadhcp/leases';
import type { Params } from './config.js';
import { LeaseTable } from './lease-table.js';
import { DhcpServerCore } from './server.js';
import { clientMsg, ConfigBuilder, direct, ip, MessageType } from './test-helpers.js';

const T0 = 1_700_000_000_000;
const SID = '10.1.0.1';
const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';

function setup(global: Params = {}): { c: DhcpServerCore; b: ConfigBuilder } {
  const b = new ConfigBuilder({ defaultLeaseTime: 600, ...global });
  b.subnet('10.1.0.0/24', { pools: [{ ranges: [['10.1.0.50', '10.1.0.59']] }] });
  return { c: new DhcpServerCore(b.build(), new LeaseTable(), { serverId: ip(SID) }), b };
}

const discover = (c: DhcpServerCore, hw: string, t: number) =>
  c.handle(clientMsg(MessageType.DISCOVER, { mac: hw }), direct(), t);

describe('ping-ahead', () => {
  it('asks for the next four addresses of each pool, and not again while the probes are out', () => {
    const { c } = setup();
    expect(c.probesWanted(T0)).toEqual(['10.1.0.50', '10.1.0.51', '10.1.0.52', '10.1.0.53'].map(ip));
    expect(c.probesWanted(T0 + 1000)).toEqual([]);
    // Unanswered for twice the ping timeout (1 s): asked again.
    expect(c.probesWanted(T0 + 2000)).toHaveLength(4);
  });

  it('common case: probed-clear candidates are offered at once', () => {
    const { c } = setup();
    for (const a of c.probesWanted(T0)) c.probeResult(a, false, T0 + 500);
    const d = discover(c, A, T0 + 600);
    expect(d.needsProbe).toBeUndefined();
    expect(d.reply!.msg.yiaddr).toBe(ip('10.1.0.50'));
    // The look-ahead then moves on to the next address.
    expect(c.probesWanted(T0 + 700)).toEqual([ip('10.1.0.54')]);
  });

  it('with no probe ready, the decision asks for one and the offer follows the answer', () => {
    const { c } = setup();
    const first = discover(c, A, T0);
    expect(first.reply).toBeUndefined();
    expect(first.needsProbe).toEqual({ ip: ip('10.1.0.50'), timeoutMs: 1000 });
    expect(first.log).toEqual([`DHCPDISCOVER from ${A} via eth0`]);
    expect(c.probeResult(ip('10.1.0.50'), false, T0 + 1000)).toEqual({ writes: [] });
    expect(discover(c, A, T0 + 1000).reply!.msg.yiaddr).toBe(ip('10.1.0.50'));
  });

  it('an address that answers is abandoned and never offered', () => {
    const { c } = setup();
    const r = c.probeResult(ip('10.1.0.50'), true, T0);
    expect(r.writes).toHaveLength(1);
    expect(r.writes[0]).toMatchObject({ address: ip('10.1.0.50'), state: BindingState.ABANDONED });
    expect(r.log).toEqual(['Abandoning IP address 10.1.0.50: pinged before offer']);
    expect(discover(c, A, T0).needsProbe?.ip).toBe(ip('10.1.0.51'));
    c.probeResult(ip('10.1.0.51'), false, T0 + 1);
    expect(discover(c, A, T0 + 2).reply!.msg.yiaddr).toBe(ip('10.1.0.51'));
    expect(c.probesWanted(T0 + 3)).not.toContain(ip('10.1.0.50'));
  });

  it('a silent probe vouches for an address for 60 s, not a millisecond more', () => {
    const fresh = setup().c;
    fresh.probeResult(ip('10.1.0.50'), false, T0);
    expect(discover(fresh, A, T0 + 59_999).reply?.msg.yiaddr).toBe(ip('10.1.0.50'));
    const stale = setup().c;
    stale.probeResult(ip('10.1.0.50'), false, T0);
    expect(discover(stale, A, T0 + 60_000).needsProbe?.ip).toBe(ip('10.1.0.50'));
  });

  it('an answer from an address bound right now is its owner: nothing is abandoned', () => {
    const { c } = setup();
    c.handle(clientMsg(MessageType.REQUEST, { mac: B, requested: '10.1.0.55', serverId: SID }), direct(), T0);
    expect(c.probeResult(ip('10.1.0.55'), true, T0 + 1).writes).toEqual([]);
    expect(c.table.get(ip('10.1.0.55'))?.state).toBe(BindingState.ACTIVE);
  });

  it("does not ping the client's own bound address nor a reservation", () => {
    const { c, b } = setup();
    c.handle(clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.57', serverId: SID }), direct(), T0);
    expect(discover(c, A, T0 + 100_000).reply?.msg.yiaddr).toBe(ip('10.1.0.57'));
    b.host('r', { hw: B, fixed: ['10.1.0.200'] });
    const withHost = new DhcpServerCore(b.build(), new LeaseTable(), { serverId: ip(SID) });
    expect(discover(withHost, B, T0).reply?.msg.yiaddr).toBe(ip('10.1.0.200'));
  });

  it('pings a long-expired previous lease before giving it back', () => {
    const { c } = setup();
    c.handle(clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.57', serverId: SID }), direct(), T0);
    c.tick(T0 + 600_000);
    expect(discover(c, A, T0 + 700_000).needsProbe?.ip).toBe(ip('10.1.0.57'));
  });

  it('ping-check false: no probes, no waiting', () => {
    const { c } = setup({ pingCheck: false });
    expect(c.probesWanted(T0)).toEqual([]);
    expect(discover(c, A, T0).reply!.msg.yiaddr).toBe(ip('10.1.0.50'));
  });

  it('uses the configured ping-timeout for the rare wait', () => {
    const { c } = setup({ pingTimeout: 2 });
    expect(discover(c, A, T0).needsProbe?.timeoutMs).toBe(2000);
  });
});
