import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, formatIp4 } from '@hadhcp/common';
import { BindingState, LeaseStore, type Lease, type LeaseStoreOptions } from '@hadhcp/leases';
import { FakeFailoverView } from '../../test-vectors/failover-fakes.js';
import { FakeClient, FakeHost, FakeSegment, recordingLog } from '../../test-vectors/service-fakes.js';
import { failoverPolicy } from '../core/failover-policy.js';
import { clientMsg, ConfigBuilder, ip, mac, MessageType, optIp } from '../core/test-helpers.js';
import { getMessageType } from '../wire/accessors.js';
import { DhcpService } from './dhcp-service.js';
import { failoverLeaseBook } from './failover-book.js';
import type { LeaseCause, LeaseSync } from './lease-writer.js';

/**
 * The DHCP side of failover, in process: two DhcpServices (a primary and a secondary of relationship "f") on one
 * in-memory segment, each with a fake FailoverView (split 128 over the client's last MAC octet, a stand-in for
 * the RFC 3074 hash, which is the failover package's) and a LeaseSync the test controls.
 */

const soon = { timeout: 10_000 };
const S0 = 1_700_000_000;
const conf = () => {
  const b = new ConfigBuilder({ authoritative: true, defaultLeaseTime: 600, pingCheck: false });
  b.subnet('10.9.0.0/24', {
    pools: [
      { ranges: [['10.9.0.50', '10.9.0.59']], failoverPeer: 'f' },
      { ranges: [['10.9.0.70', '10.9.0.71']], failoverPeer: 'g' },
      { ranges: [['10.9.0.60', '10.9.0.69']] },
    ],
  });
  return b.build();
};

const dirs: string[] = [];
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** The partner's hook: records every change and releases it at once, unless the test holds it. */
class TestSync implements LeaseSync {
  readonly seen: Array<{ cause: LeaseCause; leases: readonly Lease[] }> = [];
  holding = false;
  readonly held: Array<() => void> = [];
  committed(leases: readonly Lease[], cause: LeaseCause, released: () => void): void {
    this.seen.push({ cause, leases });
    if (this.holding) this.held.push(released);
    else released();
  }
}

async function node(
  segment: FakeSegment,
  n: number,
  role: 'primary' | 'secondary',
  clock: FakeClock,
  io?: LeaseStoreOptions['io'],
) {
  const dir = await mkdtemp(join(tmpdir(), `hadhcp-fo${n}-`));
  dirs.push(dir);
  const store = await LeaseStore.open(dir, { log: () => undefined, ...(io ? { io } : {}) });
  const host = new FakeHost(segment, `02:00:00:00:00:0${n}`, `10.9.0.${n}/24`);
  const svc = new DhcpService(conf(), store, { log: recordingLog().log, clock, io: host.io });
  await svc.start();
  cleanup.push(async () => {
    await svc.stop();
    await store.close();
  });
  // As the daemon does it: the failover service is built after the DHCP service, then handed over.
  const view = new FakeFailoverView('f', role);
  const sync = new TestSync();
  svc.setFailover(failoverPolicy(new Map([['f', view]])), sync);
  return { svc, store, view, sync, book: failoverLeaseBook(svc, 'f') };
}

async function pair() {
  const segment = new FakeSegment();
  const clock = new FakeClock(S0 * 1000);
  const p = await node(segment, 1, 'primary', clock);
  const s = await node(segment, 2, 'secondary', clock);
  // The primary's pool balancing gives the secondary 10.9.0.55-59 (BACKUP), on both sides.
  const moved = [55, 56, 57, 58, 59].map((n) => backup(`10.9.0.${n}`));
  await p.svc.applyLeases(moved);
  await s.svc.applyLeases(moved);
  return { segment, clock, p, s };
}

function backup(addr: string): Lease {
  return {
    address: ip(addr),
    state: BindingState.BACKUP,
    starts: S0,
    ends: 0,
    tstp: S0,
    tsfp: S0,
    atsfp: S0,
    cltt: 0,
    hwType: 1,
    failoverPeer: 'f',
  };
}

const hex = (c: FakeClient) => [...c.mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
/** Last octet below 128: the primary's client; from 128: the secondary's. */
const P_CLIENT = '02:00:00:00:00:0a';
const S_CLIENT = '02:00:00:00:00:c8';

describe('two failover servers in one process', () => {
  it('a DISCOVER is answered by exactly the side its hash names; the REQUEST by the server it names', async () => {
    const { segment, p, s } = await pair();
    const c = new FakeClient(segment, mac(S_CLIENT));
    c.send(clientMsg(MessageType.DISCOVER, { mac: hex(c), xid: 1 }));
    await expect.poll(() => c.received.length, soon).toBe(1);
    await expect.poll(() => p.svc.counters.toJSON()['drop.load-balanced-to-peer'], soon).toBe(1);
    const offer = c.received[0]!;
    expect([offer.yiaddr, optIp(offer, 54)]).toEqual([ip('10.9.0.55'), ip('10.9.0.2')]);

    c.send(
      clientMsg(MessageType.REQUEST, { mac: hex(c), xid: 2, requested: '10.9.0.55', serverId: '10.9.0.2' }),
    );
    await expect.poll(() => c.received.length, soon).toBe(2);
    expect(getMessageType(c.received[1]!)).toBe(MessageType.ACK);
    await expect.poll(() => p.svc.counters.toJSON()['drop.not-our-server-id'], soon).toBe(1);
    // The binding went to the secondary's partner hook, with its MCLT times.
    const told = s.sync.seen.find((x) => x.cause === 'packet')!;
    expect(told.leases[0]).toMatchObject({
      address: ip('10.9.0.55'),
      state: BindingState.ACTIVE,
      failoverPeer: 'f',
    });
    expect(told.leases[0]!.tstp).toBe(S0 + 600 + 300);
    // The partner's own updates (applyLeases) were never told back.
    expect(p.sync.seen.filter((x) => x.cause === 'partner')).toEqual([]);
    expect(s.sync.seen.map((x) => x.cause)).toEqual(['packet']);
    await new Promise((r) => setTimeout(r, 20));
    expect(c.received).toHaveLength(2);

    const other = new FakeClient(segment, mac(P_CLIENT));
    other.send(clientMsg(MessageType.DISCOVER, { mac: hex(other), xid: 3 }));
    await expect.poll(() => other.received.length, soon).toBe(1);
    await expect.poll(() => s.svc.counters.toJSON()['drop.load-balanced-to-peer'], soon).toBe(1);
    expect([other.received[0]!.yiaddr, optIp(other.received[0]!, 54)]).toEqual([
      ip('10.9.0.50'),
      ip('10.9.0.1'),
    ]);
  });

  it("scope 'none' on both: nothing of the relationship's pools is answered", async () => {
    const { segment, p, s } = await pair();
    p.view.state = 'recover';
    s.view.state = 'recover';
    const c = new FakeClient(segment, mac(S_CLIENT));
    c.send(clientMsg(MessageType.DISCOVER, { mac: hex(c), xid: 1 }));
    c.send(clientMsg(MessageType.REQUEST, { mac: hex(c), xid: 2, requested: '10.9.0.55' }));
    for (const n of [p, s])
      await expect.poll(() => n.svc.counters.toJSON()['drop.failover-not-serving'], soon).toBe(2);
    expect(c.received).toEqual([]);
  });

  it("the ACK waits for the partner's release (its BNDACK), then leaves", async () => {
    const { segment, s } = await pair();
    const c = new FakeClient(segment, mac(S_CLIENT));
    s.sync.holding = true;
    c.send(clientMsg(MessageType.REQUEST, { mac: hex(c), xid: 2, requested: '10.9.0.56' }));
    await expect.poll(() => s.sync.held.length, soon).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.received).toEqual([]); // on disk, but not yet the partner's
    s.sync.held.shift()!();
    await expect.poll(() => c.received.length, soon).toBe(1);
    expect([getMessageType(c.received[0]!), c.received[0]!.yiaddr]).toEqual([
      MessageType.ACK,
      ip('10.9.0.56'),
    ]);
  });
});

describe("applyLeases: the partner's leases", () => {
  it('reach the allocator at once: FREE -> ACTIVE is not offered, an offer we hold on it ends; BACKUP -> FREE and back', async () => {
    const { segment, p } = await pair();
    const c = new FakeClient(segment, mac(P_CLIENT));
    c.send(clientMsg(MessageType.DISCOVER, { mac: hex(c), xid: 1 }));
    await expect.poll(() => c.received.length, soon).toBe(1);
    expect(c.received[0]!.yiaddr).toBe(ip('10.9.0.50'));
    // Meanwhile the secondary (partner-down before we came back, say) bound 10.9.0.50 and 51 to other clients.
    const active = (addr: string, last: number): Lease => ({
      ...backup(addr),
      state: BindingState.ACTIVE,
      ends: S0 + 600,
      cltt: S0,
      hwAddr: Uint8Array.of(2, 0, 0, 0, 1, last),
    });
    await p.svc.applyLeases([active('10.9.0.50', 1), active('10.9.0.51', 2)]);
    expect(p.svc.table.get(ip('10.9.0.50'))?.state).toBe(BindingState.ACTIVE);
    // Our client asks again: the hold is gone, the address is someone else's; it gets the next FREE one.
    c.send(clientMsg(MessageType.DISCOVER, { mac: hex(c), xid: 2 }));
    await expect.poll(() => c.received.length, soon).toBe(2);
    expect(c.received[1]!.yiaddr).toBe(ip('10.9.0.52'));
    // A REQUEST for the address the partner bound is NAKed (bound to another client).
    c.send(clientMsg(MessageType.REQUEST, { mac: hex(c), xid: 3, requested: '10.9.0.50' }));
    await expect.poll(() => c.received.length, soon).toBe(3);
    expect(getMessageType(c.received[2]!)).toBe(MessageType.NAK);

    // The secondary's BACKUP addresses handed back as FREE (pool balancing): ours to give. And FREE -> BACKUP.
    const freed = (addr: string): Lease => ({ ...backup(addr), state: BindingState.FREE });
    await p.svc.applyLeases([freed('10.9.0.55'), ...['10.9.0.52', '10.9.0.53', '10.9.0.54'].map(backup)]);
    const d = new FakeClient(segment, mac('02:00:00:00:00:0b'));
    d.send(clientMsg(MessageType.DISCOVER, { mac: hex(d), xid: 4 }));
    await expect.poll(() => d.received.length, soon).toBe(1);
    expect(d.received[0]!.yiaddr).toBe(ip('10.9.0.55'));
  });

  it("resolve once on disk, are never told to the partner hook; reject with the store's error, and at once while it is failed", async () => {
    const segment = new FakeSegment();
    const disk = { full: false };
    const io: LeaseStoreOptions['io'] = {
      write: async (fh, buf, pos) => {
        if (disk.full) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        await fh.write(buf, 0, buf.length, pos);
      },
    };
    const n = await node(segment, 1, 'primary', new FakeClock(S0 * 1000), io);
    await n.svc.applyLeases([backup('10.9.0.52')]);
    expect(n.store.get(ip('10.9.0.52'))?.state).toBe(BindingState.BACKUP);
    expect(n.sync.seen).toEqual([]);
    disk.full = true;
    await expect(n.svc.applyLeases([backup('10.9.0.53')])).rejects.toThrow(/ENOSPC/);
    await expect(n.svc.applyLeases([backup('10.9.0.54')])).rejects.toThrow(/lease store failed: .*ENOSPC/);
    expect(n.sync.seen).toEqual([]);
  });
});

describe('applyLeasesNow: the two steps of applyLeases (failover in recover acknowledges after the first)', () => {
  it('in the table when it returns, durable only when `durable` resolves; a record the store cannot hold stops the batch and is reported apart', async () => {
    const segment = new FakeSegment();
    // A slow disk: each sync waits for the test.
    const syncs: Array<() => void> = [];
    const io: LeaseStoreOptions['io'] = {
      datasync: async (fh) => {
        await new Promise<void>((r) => syncs.push(r));
        await fh.datasync();
      },
    };
    const n = await node(segment, 1, 'primary', new FakeClock(S0 * 1000), io);
    const unstorable: Lease = { ...backup('10.9.0.53'), ends: -1 }; // not a u32: the store's format cannot hold it
    const r = n.svc.applyLeasesNow([
      backup('10.9.0.51'),
      backup('10.9.0.52'),
      unstorable,
      backup('10.9.0.54'),
    ]);
    expect(r.applied).toBe(2);
    expect(String(r.bad)).toMatch(/not a u32/);
    // Readable at once, while the write waits for its sync.
    expect(n.svc.table.get(ip('10.9.0.52'))?.state).toBe(BindingState.BACKUP);
    expect(n.svc.table.get(ip('10.9.0.53'))).toBeUndefined();
    expect(n.svc.table.get(ip('10.9.0.54'))).toBeUndefined();
    let durable = false;
    void r.durable.then(() => (durable = true));
    await expect.poll(() => syncs.length).toBe(1);
    expect(durable).toBe(false);
    syncs.shift()!();
    // The records applied are durable; the one that stopped the batch is not the durable promise's business.
    await expect(r.durable).resolves.toBeUndefined();
    expect(n.store.get(ip('10.9.0.52'))?.state).toBe(BindingState.BACKUP);
    // applyLeases (one step) still rejects for that record.
    const whole = n.svc.applyLeases([backup('10.9.0.54'), unstorable]);
    await expect.poll(() => syncs.length).toBe(1);
    syncs.shift()!();
    await expect(whole).rejects.toThrow(/not a u32/);
    expect(n.store.get(ip('10.9.0.54'))?.state).toBe(BindingState.BACKUP);
  });
});

describe('failoverLeaseBook', () => {
  it("is the service's leases as relationship f sees them", async () => {
    const segment = new FakeSegment();
    const n = await node(segment, 1, 'primary', new FakeClock(S0 * 1000));
    expect(n.book.isEmpty()).toBe(true);
    expect(n.book.inRelationship(ip('10.9.0.50'))).toBe(true);
    expect(n.book.inRelationship(ip('10.9.0.59'))).toBe(true);
    expect(n.book.inRelationship(ip('10.9.0.60'))).toBe(false); // plain pool
    expect(n.book.inRelationship(ip('10.9.0.70'))).toBe(false); // relationship g
    expect([...n.book.addresses()].map(formatIp4)).toEqual(
      Array.from({ length: 10 }, (_, i) => `10.9.0.${50 + i}`),
    );
    await n.book.apply([backup('10.9.0.57')]);
    expect(n.book.isEmpty()).toBe(false);
    expect(n.book.get(ip('10.9.0.57'))).toMatchObject({ state: BindingState.BACKUP });
    expect(n.book.get(ip('10.9.0.58'))).toBeUndefined();
    // A reload that moves the pool: the book follows the configuration in force.
    const b = new ConfigBuilder({ authoritative: true, pingCheck: false });
    b.subnet('10.9.0.0/24', { pools: [{ ranges: [['10.9.0.80', '10.9.0.81']], failoverPeer: 'f' }] });
    n.svc.reconfigure(b.build());
    expect([...n.book.addresses()].map(formatIp4)).toEqual(['10.9.0.80', '10.9.0.81']);
    expect(n.book.inRelationship(ip('10.9.0.50'))).toBe(false);
  });

  it('applyNow (recover) writes lazily: batches of separate turns share one sync', async () => {
    const segment = new FakeSegment();
    const n = await node(segment, 1, 'secondary', new FakeClock(S0 * 1000));
    const before = n.store.stats().syncs;
    const durable: Promise<void>[] = [];
    for (const a of ['10.9.0.51', '10.9.0.52', '10.9.0.53']) {
      const r = n.book.applyNow([backup(a)]);
      expect(r.applied).toBe(1);
      durable.push(r.durable);
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(durable);
    // An eager write would have synced the first batch at once, alone.
    expect(n.store.stats().syncs - before).toBe(1);
    expect(n.store.get(ip('10.9.0.53'))?.state).toBe(BindingState.BACKUP);
  });
});
