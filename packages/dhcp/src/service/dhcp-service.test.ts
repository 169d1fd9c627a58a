import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '@hadhcp/common';
import { BindingState, blankLease, LeaseStore, type Lease, type LeaseStoreOptions } from '@hadhcp/leases';
import { FakeClient, FakeHost, FakeSegment, recordingLog } from '../../test-vectors/service-fakes.js';
import { clientMsg, ConfigBuilder, ip, mac, MessageType } from '../core/test-helpers.js';
import { getMessageType } from '../wire/accessors.js';
import { decodeDhcp } from '../wire/codec.js';
import type { DhcpMessage } from '../wire/types.js';
import { failoverPolicy } from '../core/failover-policy.js';
import { FakeFailoverView } from '../../test-vectors/failover-fakes.js';
import { DhcpService } from './dhcp-service.js';

/** authoritative; default-lease-time 600; subnet 10.9.0.0/24 { [ping-check false;] range 10.9.0.50 10.9.0.60; } */
function conf(pingCheck?: boolean) {
  const b = new ConfigBuilder({ authoritative: true, defaultLeaseTime: 600 });
  b.subnet('10.9.0.0/24', {
    params: pingCheck === undefined ? {} : { pingCheck },
    pools: [{ ranges: [['10.9.0.50', '10.9.0.60']] }],
  });
  return b.build();
}

const IP = ip('10.9.0.50');
const SERVER = '10.9.0.1';
/** Waits on what the test expects to happen (a real disk write), with a limit generous for a loaded machine. */
const soon = { timeout: 10_000 };

const dirs: string[] = [];
const running: DhcpService[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function mkTemp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hadhcp-svc-'));
  dirs.push(dir);
  return dir;
}

async function openStore(opts: LeaseStoreOptions = {}): Promise<{ store: LeaseStore; dir: string }> {
  const dir = await mkTemp();
  return { store: await LeaseStore.open(dir, { log: () => undefined, ...opts }), dir };
}

/** A service over a real store and an in-memory machine (10.9.0.1/24 on eth0), on a segment of its own. */
async function service(store: LeaseStore, pingCheck?: boolean, setup?: (h: FakeHost) => void) {
  const segment = new FakeSegment();
  const host = new FakeHost(segment, '02:00:00:00:00:01', `${SERVER}/24`);
  setup?.(host);
  const logged = recordingLog();
  const clock = new FakeClock();
  const svc = new DhcpService(conf(pingCheck), store, { log: logged.log, clock, io: host.io });
  await svc.start();
  running.push(svc);
  const client = (n: number) => new FakeClient(segment, mac(`02:00:00:00:00:${(0x10 + n).toString(16)}`));
  return { svc, host, segment, client, clock, lines: logged.lines };
}

const discover = (c: FakeClient) =>
  clientMsg(MessageType.DISCOVER, { mac: macOf(c), xid: 0x1000 + c.mac[5]! });
const request = (c: FakeClient, addr: string) =>
  clientMsg(MessageType.REQUEST, {
    mac: macOf(c),
    xid: 0x1000 + c.mac[5]!,
    requested: addr,
    serverId: SERVER,
  });
const macOf = (c: FakeClient) => [...c.mac].map((b) => b.toString(16).padStart(2, '0')).join(':');

function active(hw: number, ends: number): Lease {
  return {
    address: IP,
    state: BindingState.ACTIVE,
    starts: ends - 600,
    ends,
    tstp: 0,
    tsfp: 0,
    atsfp: 0,
    cltt: ends - 600,
    hwType: 1,
    hwAddr: new Uint8Array([2, 0, 0, 0, 0, hw]),
  };
}

/** The journal's writes, held back on request (a slow disk) and refused while `full` (ENOSPC). */
class Disk {
  full = false;
  private held: Array<() => void> | undefined;
  readonly io: LeaseStoreOptions['io'] = {
    write: async (fh, buf, pos) => {
      if (this.held) await new Promise<void>((r) => this.held!.push(r));
      if (this.full) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      await fh.write(buf, 0, buf.length, pos);
    },
  };
  hold(): void {
    this.held ??= [];
  }
  release(): void {
    const waiting = this.held ?? [];
    this.held = undefined;
    for (const r of waiting) r();
  }
}

describe('DhcpService.deleteLease', () => {
  it('an ACK stored while the FREE record is being written is not overwritten by it', async () => {
    const { store } = await openStore();
    const svc = new DhcpService(conf(), store, { log: recordingLog().log });
    await store.write([active(1, 2_000_000_000)]);
    const deleting = svc.deleteLease(IP);
    expect(svc.table.get(IP)!.state).toBe(BindingState.FREE);
    // A REQUEST handled meanwhile binds the address again (the store applies it to the records the table views).
    const acked = store.write([active(2, 2_000_000_600)]);
    await deleting;
    await acked;
    expect(svc.table.get(IP)!.state).toBe(BindingState.ACTIVE);
    expect(svc.table.get(IP)!.hwAddr![5]).toBe(2);
    await store.close();
  });

  it('frees the address with no client attached, durably', async () => {
    const { store } = await openStore();
    const svc = new DhcpService(conf(), store, { log: recordingLog().log });
    await store.write([active(1, 2_000_000_000)]);
    await svc.deleteLease(IP);
    const l = svc.table.get(IP)!;
    expect(l.state).toBe(BindingState.FREE);
    expect(l.hwAddr).toBeUndefined();
    await store.close();
  });
});

describe('DhcpService crash safety', () => {
  it('a throw below the service while a reply leaves costs that reply, counted as drop.internal-error', async () => {
    const { store } = await openStore();
    // Replies through UDP (no frame channel), whose send has no net of its own: the service's is the last one.
    const { svc, host, client } = await service(store, false, (h) => (h.framesAvailable = false));
    host.failSends = new Error('bug below the service');
    const c = client(1);
    c.send(discover(c));
    await expect.poll(() => svc.counters.toJSON()['drop.internal-error'], soon).toBe(1);
    host.failSends = undefined;
    c.send(discover(c));
    await expect.poll(() => c.received.length, soon).toBe(1);
    await svc.stop();
    await store.close();
  });

  it('a failing expiry tick costs that tick, and the service goes on', async () => {
    const { store } = await openStore();
    let broken = false;
    const { svc, clock, client } = await service(store, false, (h) => {
      // No ping-check: only the expiry tick reads the clock while no packet arrives.
      h.io.openPinger = () => {
        throw new Error('no ICMP here');
      };
    });
    const now = clock.now.bind(clock);
    clock.now = () => {
      if (broken) throw new Error('bug in expiry');
      return now();
    };
    broken = true;
    await expect.poll(() => svc.counters.toJSON()['drop.internal-error'], soon).toBeGreaterThanOrEqual(1);
    broken = false;
    const c = client(1);
    c.send(discover(c));
    await expect.poll(() => c.received.length, soon).toBe(1);
    await svc.stop();
    await store.close();
  });
});

describe('DhcpService gate', () => {
  it('an ACK whose write was in flight when the gate closed is stored and still sent (the request reached us)', async () => {
    const disk = new Disk();
    const { store } = await openStore({ io: disk.io });
    const { svc, client } = await service(store);
    svc.setServing(true, 'test: holding the VIP');
    disk.hold();
    const c = client(7);
    c.send(request(c, '10.9.0.50'));
    await expect.poll(() => svc.table.get(IP)?.state, soon).toBe(BindingState.ACTIVE);
    svc.setServing(false, 'test: VIP lost');
    disk.release();
    await expect.poll(() => svc.counters.toJSON()['replies-after-gate-closed'], soon).toBe(1);
    await expect.poll(() => c.received.length, soon).toBe(1);
    // A request that arrives after the gate closed is not answered.
    c.send(request(c, '10.9.0.50'));
    await expect.poll(() => svc.counters.toJSON()['drop.not-vip-holder'], soon).toBe(1);
    expect(c.received).toHaveLength(1);
    await svc.stop();
    await store.close();
  });
});

describe('DhcpService: a relayed packet sent to the VIP', () => {
  it('is answered as the VIP holder answers even once VRRP has moved the VIP away; one to our own address is not', async () => {
    const VIP = '10.9.0.10';
    const b = new ConfigBuilder({ authoritative: true, defaultLeaseTime: 600, pingCheck: false });
    b.subnet('10.9.0.0/24', { pools: [{ ranges: [['10.9.0.50', '10.9.0.60']], failoverPeer: 'f' }] });
    const segment = new FakeSegment();
    const host = new FakeHost(segment, '02:00:00:00:00:01', `${SERVER}/24`);
    host.iface.addresses.push({ ip: ip(VIP), prefix: 24, mask: ip('255.255.255.0') });
    // The relay: it hears the replies on port 67.
    const relay = new FakeHost(segment, '02:00:00:00:00:fe', '10.9.0.254/24');
    const replies: number[] = [];
    await relay.io.openUdp(67, '0.0.0.0').open(
      (data) => replies.push(getMessageType(decodeDhcp(data) as DhcpMessage) ?? 0),
      () => undefined,
    );
    const { store } = await openStore();
    const svc = new DhcpService(b.build(), store, {
      log: recordingLog().log,
      clock: new FakeClock(),
      io: host.io,
    });
    await svc.start();
    running.push(svc);
    // The primary of relationship f in normal: a client whose hash is the secondary's (last octet >= 128), and
    // the secondary has BACKUP leases to give it (else ISC's rule cancels load balancing).
    await svc.applyLeases(
      [58, 59, 60].map((n) => ({ ...blankLease(ip(`10.9.0.${n}`), BindingState.BACKUP), failoverPeer: 'f' })),
    );
    let master = true;
    svc.setFailover(
      failoverPolicy(new Map([['f', new FakeFailoverView('f', 'primary')]]), {
        answerAllRelayed: () => master,
      }),
      undefined,
    );
    svc.setPreferredServerIds([ip(VIP)]);
    svc.setServing(true, 'VRRP master holding the VIP');
    // VRRP steps down: the supervisor says so at once; the kernel still has the VIP for a moment.
    master = false;
    svc.setServing(false, 'VRRP backup');
    svc.setPreferredServerIds([]);
    const c = new FakeClient(segment, mac('02:00:00:00:00:c8'));
    const relayed = {
      ...clientMsg(MessageType.DISCOVER, { mac: '02:00:00:00:00:c8', xid: 9 }),
      giaddr: ip('10.9.0.254'),
    };
    c.send(relayed, ip(VIP));
    await expect.poll(() => replies, soon).toEqual([MessageType.OFFER]);
    // The same DISCOVER sent to this router's own address: not the VIP holder's traffic, and we are not it.
    c.send({ ...relayed, xid: 10 }, ip(SERVER));
    await expect.poll(() => svc.counters.toJSON()['drop.not-vip-holder'], soon).toBe(1);
    expect(svc.counters.toJSON()['drop.load-balanced-to-peer']).toBeUndefined();
    expect(replies).toEqual([MessageType.OFFER]);
    await store.close();
  });
});

describe('DhcpService and a lease store that fails and recovers', () => {
  it('stops answering, counts only stored leases, and serves again by itself once the store has recovered', async () => {
    const disk = new Disk();
    const timers: { ms: number; run: () => void }[] = [];
    const { store, dir } = await openStore({
      io: disk.io,
      setTimer: (run, ms) => (timers.push({ ms, run }), () => undefined),
    });
    const { svc, client } = await service(store, false);
    const health: boolean[] = [];
    svc.onHealth((healthy) => health.push(healthy));
    const sent = () => [...clients.flatMap((c) => c.received)];
    const clients = [1, 2, 3, 4, 5].map(client);
    const [c1, c2, c3, c4, c5] = clients as [FakeClient, FakeClient, FakeClient, FakeClient, FakeClient];

    c1.send(request(c1, '10.9.0.50'));
    await expect.poll(() => c1.received.length, soon).toBe(1); // ACK for .50, stored

    disk.full = true;
    disk.hold();
    c2.send(request(c2, '10.9.0.51'));
    // Applied before the write, as always.
    await expect.poll(() => svc.status().leases, soon).toEqual({ active: 2 });
    // A DISCOVER handled before the write fails: .51 has a record now, so the pool moves past it and offers .52.
    c3.send(discover(c3));
    await expect.poll(() => c3.received.length, soon).toBe(1);
    expect(c3.received[0]!.yiaddr).toBe(ip('10.9.0.52'));
    disk.release();
    await expect.poll(() => health, soon).toEqual([false]); // the write failed...
    await new Promise((r) => setImmediate(r));
    expect(c2.received).toHaveLength(0); // ...and no ACK left without its lease on disk
    expect(svc.status()).toMatchObject({
      serving: false,
      reason: expect.stringMatching(/lease store failed/),
    });
    // The store's reload (at once): the refused lease is not active anywhere.
    timers.shift()!.run();
    await expect.poll(() => svc.table.get(ip('10.9.0.51'))).toBeUndefined();
    expect(svc.status().leases).toEqual({ active: 1 });
    expect(svc.status().reason).toMatch(/retrying: 0 attempt\(s\) so far; next attempt in 1 s/);

    // While failed nothing reaches the core: no OFFER, no lease change, the drop counted.
    c5.send(discover(c5));
    c3.send(request(c3, '10.9.0.52'));
    await expect.poll(() => svc.counters.toJSON()['drop.store-failed'], soon).toBeGreaterThanOrEqual(3);
    expect(sent()).toHaveLength(2);
    expect(svc.table.get(ip('10.9.0.52'))).toBeUndefined();
    await expect(svc.deleteLease(IP)).rejects.toThrow(/lease store failed/);

    disk.full = false;
    timers.shift()!.run();
    await expect.poll(() => health, soon).toEqual([false, true]);
    expect(svc.status()).toMatchObject({ serving: true, leases: { active: 1 } });
    // The core was rebuilt over the reloaded records: .51, whose refused lease is gone, is offered again (the old
    // core's pool had moved past it for good), and .52 is still held for the client it was offered to.
    c4.send(discover(c4));
    await expect.poll(() => c4.received.length, soon).toBe(1);
    expect(c4.received[0]!.yiaddr).toBe(ip('10.9.0.51'));
    c4.send(request(c4, '10.9.0.51'));
    await expect.poll(() => c4.received.length, soon).toBe(2);
    expect(getMessageType(c4.received[1]!)).toBe(MessageType.ACK);
    await svc.stop();
    await store.close();
    const again = await LeaseStore.open(dir, { log: () => undefined });
    expect([...again.leases()].map((l) => l.address).sort()).toEqual([IP, ip('10.9.0.51')]);
    await again.close();
  });
});
