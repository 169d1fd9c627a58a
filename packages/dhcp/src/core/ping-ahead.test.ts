import { describe, expect, it } from 'vitest';
import type { Ip4 } from '@hadhcp/common';
import { BindingState } from '@hadhcp/leases';
import type { Params } from './config.js';
import { LeaseTable } from './lease-table.js';
import {
  LOOKAHEAD_CAP,
  LOOKAHEAD_MIN,
  lookaheadSize,
  MAX_PROBES_PER_S,
  PROBE_FRESH_MS,
  PROBE_PERIOD_MS,
  ProbeTracker,
  RELEASE_SETTLE_S,
  RateEstimator,
} from './ping-ahead.js';
import { DhcpServerCore } from './server.js';
import { clientMsg, ConfigBuilder, direct, ip, MessageType } from './test-helpers.js';

const T0 = 1_700_000_000_000;
const SID = '10.1.0.1';
const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';

function setup(
  global: Params = {},
  range: [string, string] = ['10.1.0.50', '10.1.0.59'],
): { c: DhcpServerCore; b: ConfigBuilder } {
  const b = new ConfigBuilder({ defaultLeaseTime: 600, ...global });
  b.subnet('10.1.0.0/24', { pools: [{ ranges: [range] }] });
  return { c: new DhcpServerCore(b.build(), new LeaseTable(), { serverId: ip(SID) }), b };
}

const discover = (c: DhcpServerCore, hw: string, t: number) =>
  c.handle(clientMsg(MessageType.DISCOVER, { mac: hw }), direct(), t);

describe('ping-ahead', () => {
  it('an idle pool keeps LOOKAHEAD_MIN addresses probed, and does not ask again while the probes are out', () => {
    const { c } = setup({}, ['10.1.0.50', '10.1.0.99']);
    const first = c.probesWanted(T0);
    expect(first).toHaveLength(LOOKAHEAD_MIN);
    expect(first[0]).toBe(ip('10.1.0.50'));
    expect(c.probesWanted(T0 + 1000)).toEqual([]);
    // Unanswered for twice the ping timeout (1 s): asked again.
    expect(c.probesWanted(T0 + 2000)).toHaveLength(LOOKAHEAD_MIN);
  });

  it('a just-released address is not probed ahead for RELEASE_SETTLE_S: its client may still be answering', () => {
    const { c } = setup({}, ['10.1.0.50', '10.1.0.50']);
    for (const a of c.probesWanted(T0)) c.probeResult(a, false, T0 + 100);
    expect(discover(c, A, T0 + 200).reply!.msg.yiaddr).toBe(ip('10.1.0.50'));
    const req = clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.50', serverId: SID });
    expect(c.handle(req, direct(), T0 + 300).writes[0]?.state).toBe(BindingState.ACTIVE);
    const rel = clientMsg(MessageType.RELEASE, { mac: A, ciaddr: '10.1.0.50', serverId: SID });
    const released = T0 + 10_000; // the probe of T0 + 100 is stale by now
    expect(c.handle(rel, direct(), released).writes[0]?.state).toBe(BindingState.RELEASED);
    expect(c.probesWanted(released)).toEqual([]);
    expect(c.probesWanted(released + RELEASE_SETTLE_S * 1000 - 1)).toEqual([]);
    expect(c.probesWanted(released + RELEASE_SETTLE_S * 1000)).toEqual([ip('10.1.0.50')]);
  });

  it('common case: probed-clear candidates are offered at once, counted as probe-ready', () => {
    const { c } = setup();
    for (const a of c.probesWanted(T0)) c.probeResult(a, false, T0 + 500);
    const d = discover(c, A, T0 + 600);
    expect(d.needsProbe).toBeUndefined();
    expect(d.reply!.msg.yiaddr).toBe(ip('10.1.0.50'));
    expect(c.counters.toJSON()).toMatchObject({ 'offers.probe-ready': 1 });
    expect(c.counters.toJSON()['offers.waited-for-probe']).toBeUndefined();
    // The whole pool (10 addresses, fewer than the window) is probed already.
    expect(c.probesWanted(T0 + 700)).toEqual([]);
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

  it(`a silent probe vouches for ${PROBE_FRESH_MS} ms, not a millisecond more`, () => {
    const fresh = setup().c;
    fresh.probeResult(ip('10.1.0.50'), false, T0);
    expect(discover(fresh, A, T0 + PROBE_FRESH_MS - 1).reply?.msg.yiaddr).toBe(ip('10.1.0.50'));
    const stale = setup().c;
    stale.probeResult(ip('10.1.0.50'), false, T0);
    expect(discover(stale, A, T0 + PROBE_FRESH_MS).needsProbe?.ip).toBe(ip('10.1.0.50'));
  });

  it('a stale answer is replaced before it goes stale: re-probed one ping-timeout and two periods early', () => {
    const { c } = setup();
    for (const a of c.probesWanted(T0)) c.probeResult(a, false, T0 + 1000);
    const lead = 1000 + 2 * PROBE_PERIOD_MS;
    // Still far from stale: nothing to ask.
    expect(c.probesWanted(T0 + 1000 + PROBE_FRESH_MS - lead - 1)).toEqual([]);
    // Within the lead: asked again, while the old answer still vouches for the addresses.
    const again = c.probesWanted(T0 + 1000 + PROBE_FRESH_MS - lead);
    expect(again).toContain(ip('10.1.0.50'));
    expect(discover(c, A, T0 + 1000 + PROBE_FRESH_MS - 1).reply?.msg.yiaddr).toBe(ip('10.1.0.50'));
    // The re-probe's answer is what vouches from then on.
    for (const a of again) c.probeResult(a, false, T0 + 1000 + PROBE_FRESH_MS - lead + 1000);
    expect(discover(c, B, T0 + 1000 + PROBE_FRESH_MS + 500).reply?.msg.yiaddr).toBe(ip('10.1.0.51'));
  });

  it('an answer that arrives after the address went stale and was offered does not take it back from a bound client', () => {
    const { c } = setup();
    c.probeResult(ip('10.1.0.50'), false, T0);
    const off = discover(c, A, T0 + 1);
    expect(off.reply?.msg.yiaddr).toBe(ip('10.1.0.50'));
    c.handle(
      clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.50', serverId: SID }),
      direct(),
      T0 + 2,
    );
    // A late echo reply (the client itself, now configured) is its owner's: nothing is abandoned.
    expect(c.probeResult(ip('10.1.0.50'), true, T0 + 3).writes).toEqual([]);
    expect(c.table.get(ip('10.1.0.50'))?.state).toBe(BindingState.ACTIVE);
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

describe('look-ahead sizing', () => {
  it('is rate x (ping-timeout + probe period) x 2, within [LOOKAHEAD_MIN, LOOKAHEAD_CAP]', () => {
    expect(lookaheadSize(0, 1000)).toBe(LOOKAHEAD_MIN);
    expect(lookaheadSize(2, 1000)).toBe(LOOKAHEAD_MIN); // 5 needed
    expect(lookaheadSize(20, 1000)).toBe(50);
    expect(lookaheadSize(100, 1000)).toBe(250);
    expect(lookaheadSize(1000, 1000)).toBe(2500);
    expect(lookaheadSize(5000, 1000)).toBe(12_500);
    expect(lookaheadSize(1000, 2000)).toBe(4500); // a longer ping-timeout keeps more addresses in flight
    expect(lookaheadSize(50_000, 1000)).toBe(LOOKAHEAD_CAP);
  });

  it('the rate follows a rise within one period and falls with a 10 s time constant', () => {
    const r = new RateEstimator();
    for (let t = 0; t < 10_000; t += 500) r.note(T0 + t); // 2/s
    expect(r.rate(T0 + 10_000)).toBeCloseTo(4, 0); // one per 250 ms bucket, every other bucket: 4 or 0, decaying
    expect(r.rate(T0 + 10_000)).toBeLessThanOrEqual(4);
    // 5,000/s from T0 + 10 s: 1,250 per period.
    for (let i = 0; i < 1250; i++) r.note(T0 + 10_000 + i / 5);
    expect(r.rate(T0 + 10_250)).toBe(5000);
    // Silence: after one time constant ~37 % is left, after 60 s nearly nothing.
    expect(r.rate(T0 + 20_250)).toBeGreaterThan(5000 * 0.3);
    expect(r.rate(T0 + 20_250)).toBeLessThan(5000 * 0.4);
    expect(r.rate(T0 + 100_000)).toBeLessThan(1);
  });

  it('all probes together stay under MAX_PROBES_PER_S', () => {
    const t = new ProbeTracker();
    expect(t.budget(MAX_PROBES_PER_S + 5000, T0)).toBe(MAX_PROBES_PER_S);
    expect(t.budget(MAX_PROBES_PER_S, T0)).toBe(0);
    expect(t.budget(MAX_PROBES_PER_S, T0 + 250)).toBe(MAX_PROBES_PER_S / 4);
    expect(t.budget(10, T0 + 10_000)).toBe(10);
  });
});

/**
 * The fake clock drives a /16 pool as the service does: probesWanted every PROBE_PERIOD_MS, every probe answered
 * silent (or, for `answers`, in use) one ping-timeout later, a waiting DISCOVER handled again when its probe ends.
 */
function simulate(
  c: DhcpServerCore,
  phases: Array<{ perS: number; ms: number }>,
  answers = new Set<Ip4>(),
): {
  offers: Array<{ t: number; ip: Ip4; waited: boolean }>;
  maxWindow: number;
  probes: number;
  twice: number;
} {
  // One slot of callbacks per millisecond from T0: nothing is scheduled in the past.
  const slots: Array<Array<() => void>> = [];
  const at = (t: number, run: () => void): void => {
    (slots[t - T0] ??= []).push(run);
  };
  const offers: Array<{ t: number; ip: Ip4; waited: boolean }> = [];
  let probes = 0;
  let twice = 0;
  let maxWindow = 0;
  let n = 0;
  const client = (t: number, hw: string, waited: boolean): void => {
    const d = c.handle(clientMsg(MessageType.DISCOVER, { mac: hw }), relayed(), t);
    if (d.reply) offers.push({ t, ip: d.reply.msg.yiaddr, waited });
    else if (d.needsProbe) {
      if (waited) twice++;
      const p = d.needsProbe;
      at(t + p.timeoutMs, () => {
        c.probeResult(p.ip, answers.has(p.ip), t + p.timeoutMs);
        client(t + p.timeoutMs, hw, true);
      });
    }
  };
  let t = T0;
  for (const ph of phases) {
    const end = t + ph.ms;
    const count = Math.round((ph.ms * ph.perS) / 1000);
    for (let i = 0; i < count; i++) {
      const k = t + (i * 1000) / ph.perS;
      const hw = `02:00:${((n >> 16) & 255).toString(16)}:${((n >> 8) & 255).toString(16)}:${(n & 255).toString(16)}:01`;
      n++;
      at(Math.floor(k), () => client(Math.floor(k), hw, false));
    }
    t = end;
  }
  for (let p = T0; p < t + 2000; p += PROBE_PERIOD_MS)
    at(p, () => {
      for (const ip of c.probesWanted(p)) {
        probes++;
        at(p + 1000, () => c.probeResult(ip, answers.has(ip), p + 1000));
      }
      maxWindow = Math.max(maxWindow, ...c.probeWindows(p).map((w) => w.lookahead));
    });
  // In time order; callbacks scheduled while running join their slot.
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i];
    for (let j = 0; slot && j < slot.length; j++) slot[j]!();
  }
  return { offers, maxWindow, probes, twice };
}

function relayed() {
  return direct({ localIp: '10.2.0.1' });
}

function bigPool(): DhcpServerCore {
  const b = new ConfigBuilder({ defaultLeaseTime: 600 });
  b.subnet('10.2.0.0/16', { pools: [{ ranges: [['10.2.1.0', '10.2.255.254']] }] });
  return new DhcpServerCore(b.build(), new LeaseTable(), { serverId: ip('10.2.0.1') });
}

describe('ping-ahead under load (fake clock)', () => {
  it('a step from 2/s to 5,000/s: the window grows to cover it; only the first second of the step waits, once', () => {
    const c = bigPool();
    // The server starts; probes of the first window are out for a ping-timeout before the first client.
    const r = simulate(c, [
      { perS: 0, ms: 2000 },
      { perS: 2, ms: 10_000 },
      { perS: 5000, ms: 4000 },
    ]);
    const step = T0 + 12_000;
    const slow = r.offers.filter((o) => o.t < step);
    const fast = r.offers.filter((o) => o.t >= step);
    // 2/s: every client answered at once from the minimum window.
    expect(slow.length).toBe(20);
    expect(slow.every((o) => !o.waited)).toBe(true);
    // Every client of the step got an OFFER, each address once, none after waiting twice.
    expect(fast.length).toBe(20_000);
    // (an OFFER not followed by a REQUEST holds its address for 10 s; then it may go to someone else)
    const last = new Map<Ip4, number>();
    for (const o of r.offers) {
      expect(o.t - (last.get(o.ip) ?? -Infinity)).toBeGreaterThanOrEqual(10_000);
      last.set(o.ip, o.t);
    }
    expect(r.twice).toBe(0);
    // The window grew to at least rate x (ping-timeout + period) x 2 (the clients that waited are offered together
    // a ping-timeout later, so the measured rate peaks above 5,000/s for a moment), and no further than the cap.
    expect(r.maxWindow).toBeGreaterThanOrEqual(lookaheadSize(5000, 1000));
    expect(r.maxWindow).toBeLessThanOrEqual(LOOKAHEAD_CAP);
    // Waiting is confined to clients arriving in the first period and ping-timeout of the step (each offered a
    // ping-timeout after it arrived); from then on none waits. (The speed figures belong to the benchmark.)
    const waited = fast.filter((o) => o.waited);
    expect(waited.length).toBeGreaterThan(0);
    expect(Math.max(...waited.map((o) => o.t))).toBeLessThanOrEqual(step + 1000 + 1000 + PROBE_PERIOD_MS);
    const settled = fast.filter((o) => o.t >= step + 2500);
    expect(settled.length).toBeGreaterThan(7000);
    expect(settled.every((o) => !o.waited)).toBe(true);
    // The counters say the same.
    const k = c.counters.toJSON();
    expect(k['offers.waited-for-probe']).toBe(waited.length);
    expect(k['offers.probe-ready']).toBe(r.offers.length - waited.length);
    // Probes: what was offered plus re-probes, within the ceiling.
    expect(r.probes).toBeLessThan(MAX_PROBES_PER_S * 17);
  }, 30_000);

  it('a burst beyond a cold window: each client waits one ping-timeout on its own address, in parallel', () => {
    const { c } = setup({}, ['10.1.0.50', '10.1.0.99']);
    const waits = Array.from({ length: 20 }, (_, i) =>
      discover(c, `02:00:00:00:02:${i.toString(16).padStart(2, '0')}`, T0),
    );
    const ips = waits.map((d) => d.needsProbe?.ip);
    expect(ips.every((x) => x !== undefined)).toBe(true);
    expect(new Set(ips).size).toBe(20);
    // The held addresses are not probed again in the background.
    expect(c.probesWanted(T0 + 1)).not.toContain(ips[0]);
    for (const x of ips) c.probeResult(x!, false, T0 + 1000);
    const offered = ips.map(
      (_, i) => discover(c, `02:00:00:00:02:${i.toString(16).padStart(2, '0')}`, T0 + 1000).reply?.msg.yiaddr,
    );
    expect(offered).toEqual(ips);
    expect(c.counters.toJSON()).toMatchObject({ 'offers.waited-for-probe': 20 });
    expect(c.counters.toJSON()['offers.probe-ready']).toBeUndefined();
  });

  it('an address that answers, at 1,000/s, is abandoned and never offered; a client waiting on it gets another', () => {
    const c = bigPool();
    const answering = new Set([ip('10.2.1.3'), ip('10.2.9.200')]);
    const r = simulate(
      c,
      [
        { perS: 0, ms: 2000 },
        { perS: 1000, ms: 5000 },
      ],
      answering,
    );
    expect(r.offers.length).toBe(5000);
    for (const a of answering) {
      expect(r.offers.map((o) => o.ip)).not.toContain(a);
      expect(c.table.get(a)?.state).toBe(BindingState.ABANDONED);
    }
    expect(c.counters.toJSON()['abandoned.pinged']).toBe(2);
  });

  it('a nearly exhausted pool probes the addresses it has left, offers them at once, then says exhausted', () => {
    const { c } = setup();
    // 7 of the 10 addresses bound.
    for (let i = 0; i < 7; i++)
      c.handle(
        clientMsg(MessageType.REQUEST, {
          mac: `02:00:00:00:03:0${i}`,
          requested: `10.1.0.5${i}`,
          serverId: SID,
        }),
        direct(),
        T0,
      );
    const wanted = c.probesWanted(T0);
    expect(wanted).toEqual(['10.1.0.57', '10.1.0.58', '10.1.0.59'].map(ip));
    for (const a of wanted) c.probeResult(a, false, T0 + 1000);
    const hw = (i: number): string => `02:00:00:00:04:0${i}`;
    for (let i = 0; i < 3; i++) expect(discover(c, hw(i), T0 + 1001).reply?.msg.yiaddr).toBe(wanted[i]);
    // Nothing free: no probe wanted, no wait; the next client is told the pool is exhausted (ISC's line).
    expect(c.probesWanted(T0 + 1002)).toEqual([]);
    const none = discover(c, hw(3), T0 + 1003);
    expect(none.needsProbe).toBeUndefined();
    expect(none.drop?.reason).toBe('pool-exhausted');
    // The offers that were not taken up end (10 s hold): their addresses are probed again before anyone gets them.
    expect(c.probesWanted(T0 + 11_002)).toEqual(wanted);
    expect(discover(c, hw(3), T0 + 11_003).needsProbe?.ip).toBe(wanted[0]);
  });
});
