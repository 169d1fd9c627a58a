import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BindingState, LeaseStore, type Lease } from '@hadhcp/leases';
import { identifierHash, LeaseTable } from './lease-table.js';
import { ip, mac } from './test-helpers.js';

function lease(addr: string, over: Partial<Lease> = {}): Lease {
  return {
    address: ip(addr),
    state: BindingState.ACTIVE,
    starts: 100,
    ends: 200,
    tstp: 0,
    tsfp: 0,
    atsfp: 0,
    cltt: 100,
    hwType: 1,
    hwAddr: mac('52:54:00:00:00:01'),
    ...over,
  };
}

describe('LeaseTable', () => {
  it('finds a lease by address, client id and hardware address', () => {
    const t = new LeaseTable();
    const l = lease('10.0.0.5', { clientId: Uint8Array.of(1, 0x52, 0x54), hostname: 'pc-ü1' });
    t.put(l);
    expect(t.get(ip('10.0.0.5'))).toEqual(l);
    expect(t.byClientId(Uint8Array.of(1, 0x52, 0x54))).toEqual([l]);
    expect(t.byClientId(Uint8Array.of(1, 0x52))).toEqual([]);
    expect(t.byHardware(1, mac('52:54:00:00:00:01'))).toEqual([l]);
    expect(t.byHardware(6, mac('52:54:00:00:00:01'))).toEqual([]);
    expect(t.stateOf(ip('10.0.0.5'))).toBe(BindingState.ACTIVE);
    expect(t.endsOf(ip('10.0.0.5'))).toBe(200);
    expect(t.stateOf(ip('10.0.0.6'))).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it('holds addresses above 127.255.255.255 (signed keys inside) and hands them back unsigned', () => {
    const t = LeaseTable.from([
      lease('192.168.1.10'),
      lease('255.255.255.254', { hwAddr: mac('aa:00:00:00:00:01') }),
    ]);
    expect(t.get(ip('192.168.1.10'))?.address).toBe(ip('192.168.1.10'));
    expect(t.byHardware(1, mac('aa:00:00:00:00:01'))[0]?.address).toBe(ip('255.255.255.254'));
    expect([...t.addresses()].sort()).toEqual([ip('192.168.1.10'), ip('255.255.255.254')].sort());
  });

  it('re-indexes when a record for the same address changes hands, the later record winning', () => {
    const t = LeaseTable.from([
      lease('10.0.0.5', { hwAddr: mac('aa:aa:aa:aa:aa:aa'), clientId: Uint8Array.of(1, 2) }),
      lease('10.0.0.5', { hwAddr: mac('bb:bb:bb:bb:bb:bb') }),
    ]);
    expect(t.size).toBe(1);
    expect(t.byHardware(1, mac('aa:aa:aa:aa:aa:aa'))).toEqual([]);
    expect(t.byClientId(Uint8Array.of(1, 2))).toEqual([]);
    expect(t.byHardware(1, mac('bb:bb:bb:bb:bb:bb')).map((l) => l.address)).toEqual([ip('10.0.0.5')]);
  });

  it('keeps every lease of a client that holds several (one per network)', () => {
    const t = LeaseTable.from([lease('10.0.0.5'), lease('10.9.0.5')]);
    expect(
      t
        .byHardware(1, mac('52:54:00:00:00:01'))
        .map((l) => l.address)
        .sort(),
    ).toEqual([ip('10.0.0.5'), ip('10.9.0.5')]);
    t.put(lease('10.0.0.5', { hwAddr: mac('cc:cc:cc:cc:cc:cc') }));
    expect(t.byHardware(1, mac('52:54:00:00:00:01')).map((l) => l.address)).toEqual([ip('10.9.0.5')]);
  });

  it('tells its one listener about every change, and not about a put that changes nothing', () => {
    const t = new LeaseTable();
    const seen: Array<[number, BindingState, number]> = [];
    t.setListener((a, state, ends) => seen.push([a, state, ends]));
    t.put(lease('10.0.0.5'));
    t.put(lease('10.0.0.5'));
    t.put(lease('10.0.0.5', { state: BindingState.FREE, ends: 300 }));
    expect(seen).toEqual([
      [ip('10.0.0.5'), BindingState.ACTIVE, 200],
      [ip('10.0.0.5'), BindingState.FREE, 300],
    ]);
  });

  it('counts records per binding state as they change', () => {
    const t = LeaseTable.from([lease('10.0.0.5'), lease('10.0.0.6'), lease('10.0.0.7')]);
    expect(t.stateCounts()).toEqual({ active: 3 });
    t.put(lease('10.0.0.6', { state: BindingState.RELEASED }));
    t.put(lease('10.0.0.7', { state: BindingState.ABANDONED }));
    t.put(lease('10.0.0.8', { state: BindingState.FREE }));
    expect(t.stateCounts()).toEqual({ active: 1, released: 1, abandoned: 1, free: 1 });
    t.records.delete(ip('10.0.0.5'));
    expect(t.stateCounts()).toEqual({ released: 1, abandoned: 1, free: 1 });
    expect(
      t
        .byHardware(1, mac('52:54:00:00:00:01'))
        .map((l) => l.address)
        .sort(),
    ).toEqual([ip('10.0.0.6'), ip('10.0.0.7'), ip('10.0.0.8')].sort());
  });

  it('refuses a lease the store cannot hold and stays as it was', () => {
    const t = LeaseTable.from([lease('10.0.0.5')]);
    expect(() => t.put(lease('10.0.0.5', { hwAddr: new Uint8Array(17) }))).toThrow(RangeError);
    expect(t.byHardware(1, mac('52:54:00:00:00:01')).map((l) => l.address)).toEqual([ip('10.0.0.5')]);
    expect(t.stateCounts()).toEqual({ active: 1 });
  });

  it('is a view over the lease store: one copy, writes from either side indexed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hadhcp-table-'));
    try {
      const s1 = await LeaseStore.open(dir, { log: () => {} });
      await s1.write([lease('10.0.0.5', { clientId: Uint8Array.of(1, 9) }), lease('10.0.0.6')]);
      await s1.close();

      const store = await LeaseStore.open(dir, { log: () => {} });
      const t = new LeaseTable(store.records);
      expect(t.size).toBe(2);
      expect(t.byClientId(Uint8Array.of(1, 9)).map((l) => l.address)).toEqual([ip('10.0.0.5')]);
      expect(t.stateCounts()).toEqual({ active: 2 });
      // A second table over the same records would leave this one's indexes stale.
      expect(() => new LeaseTable(store.records)).toThrow(/already have an observer/);
      const seen: number[] = [];
      t.setListener((a) => seen.push(a));

      // The core puts first and the daemon writes the same lease: visible at once, indexed and counted once.
      const renewed = lease('10.0.0.6', { ends: 900, hwAddr: mac('dd:dd:dd:dd:dd:dd') });
      t.put(renewed);
      expect(store.get(ip('10.0.0.6'))).toEqual(renewed);
      await store.write([renewed]);
      // A write straight to the store (lease4-del's path) is indexed too, with the record it replaced.
      await store.write([lease('10.0.0.5', { state: BindingState.FREE, hwAddr: undefined })]);
      expect(seen).toEqual([ip('10.0.0.6'), ip('10.0.0.5')]);
      expect(t.byClientId(Uint8Array.of(1, 9))).toEqual([]);
      expect(t.byHardware(1, mac('52:54:00:00:00:01'))).toEqual([]);
      expect(t.byHardware(1, mac('dd:dd:dd:dd:dd:dd'))).toEqual([renewed]);
      expect(t.stateCounts()).toEqual({ active: 1, free: 1 });
      await store.close();

      const reopened = await LeaseStore.open(dir, { log: () => {} });
      expect(new LeaseTable(reopened.records).get(ip('10.0.0.6'))).toEqual(renewed);
      await reopened.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('tells apart identifiers whose index hashes collide', () => {
    // The index keys are 32-bit hashes; find two hardware addresses (seeded pseudo-random) sharing one.
    let seed = 12345;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    const seen = new Map<number, Uint8Array>();
    let pair: [Uint8Array, Uint8Array] | undefined;
    while (!pair) {
      const m = Uint8Array.of(rnd(), rnd(), rnd(), rnd(), rnd(), rnd());
      const h = identifierHash(1, m);
      const other = seen.get(h);
      if (other && other.join() !== m.join()) pair = [other, m];
      else seen.set(h, m);
    }
    const [a, b] = pair;
    const t = LeaseTable.from([
      lease('10.0.0.1', { hwAddr: a, clientId: a }),
      lease('10.0.0.2', { hwAddr: b, clientId: b }),
    ]);
    expect(identifierHash(1, a)).toBe(identifierHash(1, b));
    expect(t.byHardware(1, a).map((l) => l.address)).toEqual([ip('10.0.0.1')]);
    expect(t.byHardware(1, b).map((l) => l.address)).toEqual([ip('10.0.0.2')]);
    t.put(lease('10.0.0.1', { hwAddr: mac('02:00:00:00:00:01') }));
    expect(t.byHardware(1, a)).toEqual([]);
    expect(t.byHardware(1, b).map((l) => l.address)).toEqual([ip('10.0.0.2')]);
  });

  it('builds from a million leases', () => {
    const base = ip('10.0.0.0');
    function* many(): Generator<Lease> {
      for (let i = 0; i < 1_000_000; i++) {
        const hw = Uint8Array.of(0x52, 0x54, 0, (i >>> 16) & 255, (i >>> 8) & 255, i & 255);
        yield lease('0.0.0.0', { address: base + i, hwAddr: hw });
      }
    }
    const t = LeaseTable.from(many());
    expect(t.size).toBe(1_000_000);
    expect(t.stateCounts()).toEqual({ active: 1_000_000 });
    expect(t.get(ip('10.15.66.63'))?.address).toBe(ip('10.15.66.63'));
    expect(t.byHardware(1, Uint8Array.of(0x52, 0x54, 0, 0x0f, 0x42, 0x3f))[0]?.address).toBe(
      ip('10.15.66.63'),
    );
  }, 60_000);
});
