import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BindingState, LeaseStore, type Lease } from '@hadhcp/leases';
import { ConfigBuilder } from '../core/test-helpers.js';
import type { DhcpMessage } from '../wire/types.js';
import { DhcpService } from './dhcp-service.js';
import type { DhcpLogger } from './types.js';

/** authoritative; default-lease-time 600; subnet 10.9.0.0/24 { [ping-check false;] range 10.9.0.50 10.9.0.60; } */
function conf(pingCheck?: boolean) {
  const b = new ConfigBuilder({ authoritative: true, defaultLeaseTime: 600 });
  b.subnet('10.9.0.0/24', {
    params: pingCheck === undefined ? {} : { pingCheck },
    pools: [{ ranges: [['10.9.0.50', '10.9.0.60']] }],
  });
  return b.build();
}

const silent: DhcpLogger = { info() {}, warn() {}, error() {}, debug() {}, isLevelEnabled: () => false };
const IP = 0x0a090032; // 10.9.0.50

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function mkTemp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hadhcp-svc-'));
  dirs.push(dir);
  return dir;
}

/** A service over a real store in a temporary directory; never started (no sockets). */
async function service(): Promise<{ svc: DhcpService; store: LeaseStore }> {
  const dir = await mkTemp();
  const store = await LeaseStore.open(dir, { log: () => undefined });
  const svc = new DhcpService(conf(), store, silent, { port: 0 });
  return { svc, store };
}

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

describe('DhcpService.deleteLease', () => {
  it('an ACK stored while the FREE record is being written is not overwritten by it', async () => {
    const { svc, store } = await service();
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
    const { svc, store } = await service();
    await store.write([active(1, 2_000_000_000)]);
    await svc.deleteLease(IP);
    const l = svc.table.get(IP)!;
    expect(l.state).toBe(BindingState.FREE);
    expect(l.hwAddr).toBeUndefined();
    await store.close();
  });
});

/** The private paths a timer or a store callback calls, where a throw would end the process. */
interface Internals {
  process(msg: DhcpMessage, meta: object): void;
  sendNow(...args: unknown[]): void;
  send(reply: DhcpMessage, to: object, maxSize: number, meta: object): void;
  tick(): void;
  core: { tick(nowMs: number): unknown };
}

describe('DhcpService crash safety', () => {
  it('a reply that cannot be encoded costs that reply, counted as drop.internal-error', async () => {
    const { svc, store } = await service();
    const s = svc as unknown as Internals;
    expect(() =>
      s.send({} as DhcpMessage, { kind: 'broadcast', ip: 0, port: 68 }, 576, {
        receivedOn: {},
        srcIp: 0,
        srcPort: 68,
      }),
    ).not.toThrow();
    expect(svc.counters.toJSON()['drop.internal-error']).toBe(1);
    await store.close();
  });

  it('a throwing expiry tick costs that tick', async () => {
    const { svc, store } = await service();
    const s = svc as unknown as Internals;
    s.core.tick = () => {
      throw new Error('bug');
    };
    expect(() => s.tick()).not.toThrow();
    expect(svc.counters.toJSON()['drop.internal-error']).toBe(1);
    await store.close();
  });
});

describe('DhcpService gate', () => {
  it('an ACK whose write was in flight when the gate closed is stored but not sent', async () => {
    const { svc, store } = await service();
    const s = svc as unknown as Internals;
    let sent = 0;
    s.sendNow = () => void sent++;
    svc.setServing(true, 'test: holding the VIP');
    const chaddr = new Uint8Array(16);
    chaddr.set([2, 0, 0, 0, 0, 7]);
    const request: DhcpMessage = {
      op: 1,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: 0x1234,
      secs: 0,
      flags: 0,
      ciaddr: 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: 0,
      chaddr,
      sname: new Uint8Array(64),
      file: new Uint8Array(128),
      hasCookie: true,
      options: [
        { code: 53, data: Uint8Array.of(3) },
        { code: 50, data: Uint8Array.of(10, 9, 0, 50) },
        { code: 54, data: Uint8Array.of(10, 9, 0, 1) },
      ],
    };
    s.process(request, { receivedOn: { iface: 'eth0', localIp: 0x0a090001 }, srcIp: 0, srcPort: 68 });
    expect(svc.table.get(IP)?.state).toBe(BindingState.ACTIVE);
    svc.setServing(false, 'test: VIP lost');
    await store.close(); // waits for the write and its callbacks
    await new Promise((r) => setImmediate(r));
    expect(sent).toBe(0);
    expect(svc.counters.toJSON()['drop.not-vip-holder-after-write']).toBe(1);
    svc.setServing(true, 'test: VIP back');
  });
});

describe('DhcpService and a lease store that fails and recovers', () => {
  function message(type: number, mac: number, extra: DhcpMessage['options'] = []): DhcpMessage {
    const chaddr = new Uint8Array(16);
    chaddr.set([2, 0, 0, 0, 0, mac]);
    return {
      op: 1,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: 0x1000 + mac,
      secs: 0,
      flags: 0,
      ciaddr: 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: 0,
      chaddr,
      sname: new Uint8Array(64),
      file: new Uint8Array(128),
      hasCookie: true,
      options: [{ code: 53, data: Uint8Array.of(type) }, ...extra],
    };
  }
  const request = (mac: number, ip: number[]) =>
    message(3, mac, [
      { code: 50, data: Uint8Array.from(ip) },
      { code: 54, data: Uint8Array.of(10, 9, 0, 1) },
    ]);
  const meta = () => ({ receivedOn: { iface: 'eth0', localIp: 0x0a090001 }, srcIp: 0, srcPort: 68 });

  it('stops answering, counts only stored leases, and serves again by itself once the store has recovered', async () => {
    const dir = await mkTemp();
    let full = false;
    const timers: { ms: number; run: () => void }[] = [];
    const store = await LeaseStore.open(dir, {
      log: () => undefined,
      setTimer: (run, ms) => (timers.push({ ms, run }), () => undefined),
      io: {
        write: async (fh, buf, pos) => {
          if (full) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
          await fh.write(buf, 0, buf.length, pos);
        },
      },
    });
    const svc = new DhcpService(conf(false), store, silent, { port: 0 });
    const s = svc as unknown as Internals;
    const sent: DhcpMessage[] = [];
    s.sendNow = (reply: unknown) => void sent.push(reply as DhcpMessage);
    const health: boolean[] = [];
    svc.onHealth((healthy) => health.push(healthy));
    // Waits on what the test expects to happen (a real disk write), with a limit generous for a loaded machine.
    const soon = { timeout: 10_000 };

    s.process(request(1, [10, 9, 0, 50]), meta());
    await expect.poll(() => sent.length, soon).toBe(1); // ACK for .50, stored

    full = true;
    s.process(request(2, [10, 9, 0, 51]), meta());
    expect(svc.status().leases).toEqual({ active: 2 }); // applied before the write, as always
    // A DISCOVER handled before the write fails: .51 has a record now, so the pool moves past it and offers .52.
    s.process(message(1, 3), meta());
    expect(sent.map((m) => m.yiaddr)).toEqual([0x0a090032, 0x0a090034]);
    await expect.poll(() => health, soon).toEqual([false]); // the write failed...
    expect(sent).toHaveLength(2); // ...and no ACK left without its lease on disk
    expect(svc.status()).toMatchObject({
      serving: false,
      reason: expect.stringMatching(/lease store failed/),
    });
    // The store's reload (at once): the refused lease is not active anywhere.
    timers.shift()!.run();
    await expect.poll(() => svc.table.get(0x0a090033)).toBeUndefined();
    expect(svc.status().leases).toEqual({ active: 1 });
    expect(svc.status().reason).toMatch(/retrying: 0 attempt\(s\) so far; next attempt in 1 s/);

    // While failed nothing reaches the core: no OFFER, no lease change, the drop counted.
    s.process(message(1, 5), meta());
    s.process(request(3, [10, 9, 0, 52]), meta());
    expect(sent).toHaveLength(2);
    expect(svc.table.get(0x0a090034)).toBeUndefined();
    expect(svc.counters.toJSON()['drop.store-failed']).toBeGreaterThanOrEqual(3);
    await expect(svc.deleteLease(0x0a090032)).rejects.toThrow(/lease store failed/);

    full = false;
    timers.shift()!.run();
    await expect.poll(() => health, soon).toEqual([false, true]);
    expect(svc.status()).toMatchObject({ serving: true, leases: { active: 1 } });
    // The core was rebuilt over the reloaded records: .51, whose refused lease is gone, is offered again (the old
    // core's pool had moved past it for good), and .52 is still held for the client it was offered to.
    s.process(message(1, 4), meta());
    expect(sent).toHaveLength(3);
    expect(sent[2]!.yiaddr).toBe(0x0a090033);
    s.process(request(4, [10, 9, 0, 51]), meta());
    await expect.poll(() => sent.length, soon).toBe(4);
    expect(sent[3]!.options.find((o) => o.code === 53)?.data[0]).toBe(5); // DHCPACK
    await store.close();
    const again = await LeaseStore.open(dir, { log: () => undefined });
    expect([...again.leases()].map((l) => l.address).sort()).toEqual([0x0a090032, 0x0a090033]);
    await again.close();
  });
});
