import { describe, expect, it } from 'vitest';
import { BindingState, type Lease } from '@hadhcp/leases';
import { LeaseTable } from './lease-table.js';
import { DhcpServerCore } from './server.js';
import { clientMsg, ConfigBuilder, direct, ip, MessageType } from './test-helpers.js';

const T0 = 1_700_000_000_000;

describe('a million leases', () => {
  it('builds a core over them, allocates past them and expires them', () => {
    const base = ip('10.0.0.0');
    const now = T0 / 1000;
    function* many(): Generator<Lease> {
      for (let i = 0; i < 1_000_000; i++)
        yield {
          address: base + i,
          state: BindingState.ACTIVE,
          starts: now - 100,
          ends: now + 100 + (i % 1000),
          tstp: 0,
          tsfp: 0,
          atsfp: 0,
          cltt: now - 100,
          hwType: 1,
          hwAddr: Uint8Array.of(2, 0, 0, (i >>> 16) & 255, (i >>> 8) & 255, i & 255),
        };
    }
    const b = new ConfigBuilder({ pingCheck: false });
    b.subnet('10.0.0.0/8', { pools: [{ ranges: [['10.0.0.0', '10.15.255.255']] }] });
    const core = new DhcpServerCore(b.build(), LeaseTable.from(many()), { serverId: ip('10.0.0.1') });
    const d = core.handle(
      clientMsg(MessageType.DISCOVER, { mac: '52:54:00:aa:bb:cc' }),
      direct({ localIp: '10.0.0.1' }),
      T0,
    );
    expect(d.reply!.msg.yiaddr).toBe(base + 1_000_000);
    // The first thousand distinct `ends` seconds: leases with i % 1000 === 0 expire first.
    expect(core.tick(T0 + 100_000)).toHaveLength(1000);
  }, 120_000);
});
