import { describe, expect, it } from 'vitest';
import type { Ip4 } from '@hadhcp/common';
import { BindingState } from '@hadhcp/leases';
import { getMessageType } from '../wire/accessors.js';
import { LeaseTable } from './lease-table.js';
import { standalonePolicy, type LeasePolicy } from './policy.js';
import { DhcpServerCore } from './server.js';
import { clientMsg, ConfigBuilder, direct, ip, MessageType, optU32 } from './test-helpers.js';

const T0 = 1_700_000_000_000;
const SID = ip('10.1.0.1');
const A = '52:54:00:00:00:0a';

function core(policy?: LeasePolicy): DhcpServerCore {
  const b = new ConfigBuilder({ authoritative: true, defaultLeaseTime: 600, pingCheck: false });
  b.subnet('10.1.0.0/24', { pools: [{ ranges: [['10.1.0.50', '10.1.0.59']] }] });
  return new DhcpServerCore(b.build(), new LeaseTable(), { serverId: SID, policy });
}

/** A policy that says what the test wants and records every question. */
function asking(over: Partial<LeasePolicy>): { policy: LeasePolicy; asked: string[] } {
  const asked: string[] = [];
  const policy: LeasePolicy = {
    mayServe: (msg, type, meta) => (asked.push(`serve ${type}`), over.mayServe?.(msg, type, meta) ?? true),
    mayAllocate: (a: Ip4, state, now) => (
      asked.push(`allocate ${a & 255}`),
      over.mayAllocate?.(a, state, now) ?? true
    ),
    leaseTime: (granted, a, now) => (
      asked.push(`lease ${granted}`),
      over.leaseTime?.(granted, a, now) ?? granted
    ),
  };
  return { policy, asked };
}

const discover = () => clientMsg(MessageType.DISCOVER, { mac: A });
const request = (addr: string) =>
  clientMsg(MessageType.REQUEST, { mac: A, requested: addr, serverId: '10.1.0.1' });

describe('standalonePolicy', () => {
  it('serves everyone, allocates everything, grants what the configuration grants', () => {
    expect(standalonePolicy.mayServe(discover(), MessageType.DISCOVER, direct())).toBe(true);
    expect(standalonePolicy.mayAllocate(ip('10.1.0.50'), BindingState.FREE, T0)).toBe(true);
    expect(standalonePolicy.leaseTime(600, ip('10.1.0.50'), T0)).toBe(600);
  });

  it('is the default: decisions are the same with it named or not', () => {
    const a = core();
    const b = core(standalonePolicy);
    for (const msg of [discover(), request('10.1.0.50')]) {
      const da = a.handle(msg, direct(), T0);
      const db = b.handle(msg, direct(), T0);
      expect(db.reply?.msg).toEqual(da.reply?.msg);
      expect(db.writes).toEqual(da.writes);
    }
  });
});

describe('the core asks its LeasePolicy', () => {
  it('mayServe no: the packet is counted as received, then dropped as load-balanced-to-peer, unanswered', () => {
    const { policy, asked } = asking({ mayServe: () => false });
    const c = core(policy);
    const d = c.handle(discover(), direct(), T0);
    expect(d.reply).toBeUndefined();
    expect(d.drop?.reason).toBe('load-balanced-to-peer');
    expect(c.counters.toJSON()).toMatchObject({ 'rx.DHCPDISCOVER': 1, 'drop.load-balanced-to-peer': 1 });
    expect(asked).toEqual([`serve ${MessageType.DISCOVER}`]);
  });

  it('mayAllocate no: a DISCOVER is offered the next address; a REQUEST for the refused one is NAKed', () => {
    const { policy } = asking({ mayAllocate: (a) => a !== ip('10.1.0.50') });
    const c = core(policy);
    expect(c.handle(discover(), direct(), T0).reply?.msg.yiaddr).toBe(ip('10.1.0.51'));
    const nak = c.handle(request('10.1.0.50'), direct(), T0);
    expect(getMessageType(nak.reply!.msg)).toBe(MessageType.NAK);
    expect(nak.writes).toEqual([]);
  });

  it("mayAllocate is not asked for the client's own unexpired lease", () => {
    const { policy, asked } = asking({ mayAllocate: () => false });
    // Bound once by a standalone core over the same table, then renewed under a policy that allocates nothing.
    const table = new LeaseTable();
    const b = new ConfigBuilder({ authoritative: true, defaultLeaseTime: 600, pingCheck: false });
    b.subnet('10.1.0.0/24', { pools: [{ ranges: [['10.1.0.50', '10.1.0.59']] }] });
    new DhcpServerCore(b.build(), table, { serverId: SID }).handle(request('10.1.0.52'), direct(), T0);
    const renewing = new DhcpServerCore(b.build(), table, { serverId: SID, policy });
    const ack = renewing.handle(request('10.1.0.52'), direct(), T0 + 1000);
    expect(getMessageType(ack.reply!.msg)).toBe(MessageType.ACK);
    expect(asked.filter((q) => q.startsWith('allocate'))).toEqual([]);
  });

  it('leaseTime: OFFER and ACK carry what the policy allows, and the lease ends then', () => {
    const { policy, asked } = asking({ leaseTime: (g) => Math.min(g, 300) });
    const c = core(policy);
    expect(optU32(c.handle(discover(), direct(), T0).reply!.msg, 51)).toBe(300);
    const ack = c.handle(request('10.1.0.50'), direct(), T0);
    expect(optU32(ack.reply!.msg, 51)).toBe(300);
    expect(ack.writes[0]!.ends).toBe(T0 / 1000 + 300);
    expect(asked.filter((q) => q.startsWith('lease'))).toEqual(['lease 600', 'lease 600']);
  });
});
