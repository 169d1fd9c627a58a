import { describe, expect, it } from 'vitest';
import { BindingState, type Lease } from '@hadhcp/leases';
import { LeaseTable } from './lease-table.js';
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
    const l = lease('10.0.0.5', { clientId: Uint8Array.of(1, 0x52, 0x54) });
    t.put(l);
    expect(t.get(ip('10.0.0.5'))).toBe(l);
    expect(t.byClientId(Uint8Array.of(1, 0x52, 0x54))).toEqual([l]);
    expect(t.byHardware(1, mac('52:54:00:00:00:01'))).toEqual([l]);
    expect(t.byHardware(6, mac('52:54:00:00:00:01'))).toEqual([]);
    expect(t.size).toBe(1);
  });

  it('re-indexes when a record for the same address changes hands, the later record winning', () => {
    const t = LeaseTable.from([
      lease('10.0.0.5', { hwAddr: mac('aa:aa:aa:aa:aa:aa') }),
      lease('10.0.0.5', { hwAddr: mac('bb:bb:bb:bb:bb:bb') }),
    ]);
    expect(t.size).toBe(1);
    expect(t.byHardware(1, mac('aa:aa:aa:aa:aa:aa'))).toEqual([]);
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

  it('tells its one listener about every put with the replaced record', () => {
    const t = new LeaseTable();
    const seen: Array<[number, number | undefined]> = [];
    t.setListener((l, prev) => seen.push([l.state, prev?.state]));
    t.put(lease('10.0.0.5'));
    t.put(lease('10.0.0.5', { state: BindingState.FREE }));
    expect(seen).toEqual([
      [BindingState.ACTIVE, undefined],
      [BindingState.FREE, BindingState.ACTIVE],
    ]);
  });

  it('builds from a million leases', () => {
    function* many(): Generator<Lease> {
      const base = ip('10.0.0.0');
      for (let i = 0; i < 1_000_000; i++) {
        const hw = Uint8Array.of(0x52, 0x54, 0, (i >>> 16) & 255, (i >>> 8) & 255, i & 255);
        yield lease('0.0.0.0', { address: base + i, hwAddr: hw });
      }
    }
    const t = LeaseTable.from(many());
    expect(t.size).toBe(1_000_000);
    expect(t.get(ip('10.15.66.63'))?.address).toBe(ip('10.15.66.63'));
    expect(t.byHardware(1, Uint8Array.of(0x52, 0x54, 0, 0x0f, 0x42, 0x3f))[0]?.address).toBe(
      ip('10.15.66.63'),
    );
  }, 60_000);
});
