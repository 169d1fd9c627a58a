// The service's side of ping-check ahead (core/ping-ahead.ts): the look-ahead keeps probing while the supervisor's
// gate is shut (a VRRP backup), so the first DISCOVER after it takes the VIP is answered at once; and a probe that
// could not be sent is unknown: the address is neither offered on it nor abandoned, and is probed again.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, type Ip4 } from '@hadhcp/common';
import { BindingState, LeaseStore } from '@hadhcp/leases';
import { FakeClient, FakeSegment, FakeHost, recordingLog } from '../../test-vectors/service-fakes.js';
import { clientMsg, ConfigBuilder, ip, mac, MessageType } from '../core/test-helpers.js';
import { PROBE_FRESH_MS } from '../core/ping-ahead.js';
import { PingSendError, type PingPort } from '../io/pinger.js';
import { getMessageType } from '../wire/accessors.js';
import { DhcpService } from './dhcp-service.js';

/** Probes recorded; `failing`: every echo request fails to send (ENOBUFS); `inUse`: those answer. */
class ScriptedPinger implements PingPort {
  readonly pinged: Ip4[] = [];
  readonly inUse = new Set<Ip4>();
  failing = false;
  async ping(addr: Ip4): Promise<boolean> {
    this.pinged.push(addr);
    if (this.failing) throw new PingSendError(addr, Object.assign(new Error('ENOBUFS'), { code: 'ENOBUFS' }));
    return this.inUse.has(addr);
  }
  close(): void {}
}

const soon = { timeout: 10_000 };
const dirs: string[] = [];
const running: Array<{ svc: DhcpService; store: LeaseStore }> = [];
afterEach(async () => {
  for (const { svc, store } of running.splice(0)) {
    await svc.stop();
    await store.close();
  }
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** ping-check on (the default), one pool of 4 addresses: 10.9.0.50-53. */
async function service() {
  const b = new ConfigBuilder({ authoritative: true, defaultLeaseTime: 600 });
  b.subnet('10.9.0.0/24', { pools: [{ ranges: [['10.9.0.50', '10.9.0.53']] }] });
  const dir = await mkdtemp(join(tmpdir(), 'hadhcp-ping-svc-'));
  dirs.push(dir);
  const store = await LeaseStore.open(dir, { log: () => undefined });
  const segment = new FakeSegment();
  const host = new FakeHost(segment, '02:00:00:00:00:01', '10.9.0.1/24');
  const pinger = new ScriptedPinger();
  host.io.openPinger = () => pinger;
  const clock = new FakeClock();
  const svc = new DhcpService(b.build(), store, { log: recordingLog().log, clock, io: host.io });
  // The supervisor shuts the gate before the service starts (daemon.ts: waiting for the VRRP election).
  svc.setServing(false, 'test: VRRP backup');
  await svc.start();
  running.push({ svc, store });
  // What statistic-get-all shows: the service's counters (ping.*, drop.*) and the core's (offers.*, rx.*).
  const counters = (): Record<string, number> => ({
    ...(svc.counters.toJSON() as Record<string, number>),
    ...svc.coreCounters(),
  });
  return { svc, pinger, clock, segment, counters };
}

const discover = (c: FakeClient) => {
  const hw = [...c.mac].map((x) => x.toString(16).padStart(2, '0')).join(':');
  return clientMsg(MessageType.DISCOVER, { mac: hw, xid: 0x2000 + c.mac[5]! });
};
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ping-ahead in the service', () => {
  it('a backup (gate shut) keeps its window probed, re-probing stale answers, and answers the first DISCOVER after it takes the VIP at once', async () => {
    const { svc, pinger, clock, segment, counters } = await service();
    // The 4 addresses were probed at start although the gate is shut.
    await expect.poll(() => counters()['ping.silent'], soon).toBe(4);
    expect(new Set(pinger.pinged).size).toBe(4);
    // Nothing more while the answers are fresh: a backup's look-ahead costs the idle window only.
    await settle(600);
    expect(pinger.pinged).toHaveLength(4);
    // The answers go stale while the node is still a backup: they are probed again, still gated.
    clock.advance(PROBE_FRESH_MS);
    await expect.poll(() => counters()['ping.silent'], soon).toBe(8);
    expect(counters()['rx.DHCPDISCOVER'] ?? 0).toBe(0);

    svc.setServing(true, 'test: VIP taken');
    const c = new FakeClient(segment, mac('02:00:00:00:00:20'));
    c.send(discover(c));
    await expect.poll(() => c.received.length, soon).toBe(1);
    expect(getMessageType(c.received[0]!)).toBe(MessageType.OFFER);
    // Offered on the backup's own probes: no wait.
    expect(counters()['offers.probe-ready']).toBe(1);
    expect(counters()['offers.waited-for-probe'] ?? 0).toBe(0);
    expect(pinger.pinged.length).toBeLessThanOrEqual(9); // no probe of its own before the OFFER
  });

  it('a probe that cannot be sent is unknown: not offered on it, not abandoned; probed again once sends work', async () => {
    const { svc, pinger, clock, segment, counters } = await service();
    await expect.poll(() => counters()['ping.silent'], soon).toBe(4);
    svc.setServing(true, 'test: VIP taken');
    pinger.failing = true;
    // The answers go stale; their re-probes fail to send.
    clock.advance(PROBE_FRESH_MS);
    await expect.poll(() => counters()['ping.unknown'], soon).toBe(4);
    expect(counters()['ping.answered'] ?? 0).toBe(0);

    // A new client: no address is vouched for, so it waits on a probe of its own, which fails too: no OFFER.
    const c = new FakeClient(segment, mac('02:00:00:00:00:21'));
    c.send(discover(c));
    await expect.poll(() => counters()['drop.no-probed-address'], soon).toBe(1);
    expect(c.received).toHaveLength(0);
    expect(counters()['abandoned.pinged'] ?? 0).toBe(0);
    for (let i = 0; i < 4; i++)
      expect(svc.table.get(ip(`10.9.0.5${i}`))?.state ?? BindingState.FREE).not.toBe(BindingState.ABANDONED);

    // Sends work again: the look-ahead asks again after its retry time, and the client's retransmission is
    // answered at once.
    pinger.failing = false;
    clock.advance(2_000);
    await expect.poll(() => counters()['ping.silent'], soon).toBeGreaterThanOrEqual(7);
    c.send(discover(c));
    await expect.poll(() => c.received.length, soon).toBe(1);
    expect(getMessageType(c.received[0]!)).toBe(MessageType.OFFER);
  });
});
