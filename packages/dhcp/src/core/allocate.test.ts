import { describe, expect, it } from 'vitest';
import { LeaseTable } from './lease-table.js';
import { DhcpServerCore } from './server.js';
import { clientMsg, ConfigBuilder, direct, ip, MessageType } from './test-helpers.js';

const T0 = 1_700_000_000_000;
const SID = ip('10.1.0.1');

function macOf(n: number): string {
  return `52:54:00:${((n >> 16) & 255).toString(16).padStart(2, '0')}:${((n >> 8) & 255)
    .toString(16)
    .padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
}

function core(
  ranges: Array<[string, string]>,
  offerHoldMs = 10_000,
  table = new LeaseTable(),
): DhcpServerCore {
  const b = new ConfigBuilder({ defaultLeaseTime: 600, maxLeaseTime: 7200, pingCheck: false });
  b.subnet('10.1.0.0/16', { pools: [{ ranges }] });
  return new DhcpServerCore(b.build(), table, { serverId: SID, offerHoldMs });
}

function offer(c: DhcpServerCore, n: number, nowMs: number): number | undefined {
  return c.handle(clientMsg(MessageType.DISCOVER, { mac: macOf(n) }), direct(), nowMs).reply?.msg.yiaddr;
}

describe('PoolAllocator under many outstanding offers', () => {
  it('offers in ascending order past thousands of held addresses without walking them each time', () => {
    // Counted, not timed: every address the allocator looks at is checked against the lease table once.
    const table = new LeaseTable();
    const has = table.has.bind(table);
    let looked = 0;
    table.has = (a) => {
      looked++;
      return has(a);
    };
    const c = core([['10.1.0.1', '10.1.255.254']], 10_000, table);
    const n = 20_000;
    for (let i = 0; i < n; i++) expect(offer(c, i, T0)).toBe(ip('10.1.0.1') + i);
    // Walking every held address per DISCOVER would look at ~n^2/2 = 2e8 addresses here; a few per DISCOVER is
    // what keeps a burst of new clients cheap.
    expect(looked).toBeLessThan(20 * n);
  });

  it('offers an address again the moment its hold runs out, lowest first, before never-offered ones', () => {
    const c = core([['10.1.0.10', '10.1.0.20']], 10_000);
    expect(offer(c, 1, T0)).toBe(ip('10.1.0.10'));
    expect(offer(c, 2, T0 + 1)).toBe(ip('10.1.0.11'));
    expect(offer(c, 3, T0 + 2)).toBe(ip('10.1.0.12'));
    // 1 ms before the first hold ends: still held.
    expect(offer(c, 4, T0 + 9_999)).toBe(ip('10.1.0.13'));
    // Holds of .10 and .11 have run out (.12's not yet): .10 first, then .11, then past .13.
    expect(offer(c, 5, T0 + 10_001)).toBe(ip('10.1.0.10'));
    expect(offer(c, 6, T0 + 10_001)).toBe(ip('10.1.0.11'));
    expect(offer(c, 7, T0 + 10_001)).toBe(ip('10.1.0.14'));
  });

  it('a client choosing another server frees its offer for the next client at once', () => {
    const c = core([['10.1.0.10', '10.1.0.20']]);
    expect(offer(c, 1, T0)).toBe(ip('10.1.0.10'));
    expect(offer(c, 2, T0)).toBe(ip('10.1.0.11'));
    const req = clientMsg(MessageType.REQUEST, {
      mac: macOf(1),
      requested: '10.1.0.10',
      serverId: '10.9.9.9',
    });
    expect(c.handle(req, direct(), T0 + 5).drop?.reason).toBe('not-our-server-id');
    expect(offer(c, 3, T0 + 6)).toBe(ip('10.1.0.10'));
  });

  it('an acknowledged offer is never offered again', () => {
    const c = core([['10.1.0.10', '10.1.0.20']], 1000);
    expect(offer(c, 1, T0)).toBe(ip('10.1.0.10'));
    const req = clientMsg(MessageType.REQUEST, {
      mac: macOf(1),
      requested: '10.1.0.10',
      serverId: '10.1.0.1',
    });
    expect(c.handle(req, direct(), T0 + 5).reply?.msg.yiaddr).toBe(ip('10.1.0.10'));
    expect(offer(c, 2, T0 + 5_000)).toBe(ip('10.1.0.11'));
  });
});
