import { describe, expect, it } from 'vitest';
import { BindingState, blankLease, type Lease } from '@hadhcp/leases';
import { getMessageType } from '../wire/accessors.js';
import { LeaseTable } from './lease-table.js';
import { standalonePolicy, type LeasePolicy } from './policy.js';
import { DhcpServerCore } from './server.js';
import { clientMsg, ConfigBuilder, direct, ip, MessageType, optU32 } from './test-helpers.js';

const T0 = 1_700_000_000_000;
const S0 = T0 / 1000;
const SID = ip('10.1.0.1');
const A = '52:54:00:00:00:0a';

/** 10.1.0.50-59 in a pool of relationship "f" (`peer` null: a plain pool too), 10.1.0.60-69 in a plain pool. */
function core(policy?: LeasePolicy, table = new LeaseTable(), peer: string | null = 'f'): DhcpServerCore {
  const b = new ConfigBuilder({ authoritative: true, defaultLeaseTime: 600, pingCheck: false });
  b.subnet('10.1.0.0/24', {
    pools: [
      { ranges: [['10.1.0.50', '10.1.0.59']], ...(peer !== null ? { failoverPeer: peer } : {}) },
      { ranges: [['10.1.0.60', '10.1.0.69']] },
    ],
  });
  return new DhcpServerCore(b.build(), table, { serverId: SID, policy });
}

/** A policy that says what the test wants and records every question. */
function asking(over: Partial<LeasePolicy>): { policy: LeasePolicy; asked: string[] } {
  const asked: string[] = [];
  const policy: LeasePolicy = {
    serves: (peer, msg, type) => (
      asked.push(`serve ${peer} ${type}`),
      over.serves?.(peer, msg, type) ?? 'serve'
    ),
    mayAllocate: (peer, lease, now) => (
      asked.push(`allocate ${peer} ${lease ? lease.address & 255 : 'new'}`),
      over.mayAllocate?.(peer, lease, now) ?? true
    ),
    leaseTime: (peer, desired, lease, now) => (
      asked.push(`lease ${peer} ${desired}`),
      over.leaseTime?.(peer, desired, lease, now) ?? { leaseTime: desired, tstp: 0, tsfp: 0 }
    ),
  };
  return { policy, asked };
}

const discover = () => clientMsg(MessageType.DISCOVER, { mac: A });
const request = (addr: string) =>
  clientMsg(MessageType.REQUEST, { mac: A, requested: addr, serverId: '10.1.0.1' });

function backupAt(n: number): Lease {
  return { ...blankLease(ip(`10.1.0.${n}`), BindingState.BACKUP), starts: S0 - 10 };
}

describe('standalonePolicy', () => {
  it("serves everyone, allocates everything but the secondary's BACKUP, keeps the configured time and the record's times", () => {
    expect(standalonePolicy.serves('f', discover(), MessageType.DISCOVER)).toBe('serve');
    expect(standalonePolicy.mayAllocate('f', undefined, S0)).toBe(true);
    const backup = { address: ip('10.1.0.50'), state: BindingState.BACKUP, tstp: 5, tsfp: 6 } as Lease;
    expect(standalonePolicy.mayAllocate('f', backup, S0)).toBe(false);
    expect(standalonePolicy.leaseTime('f', 600, backup, S0)).toEqual({ leaseTime: 600, tstp: 5, tsfp: 6 });
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

describe('the core asks its LeasePolicy, about addresses of failover pools only', () => {
  it('serves no: counted as received, dropped under the verdict, nothing held', () => {
    const { policy, asked } = asking({ serves: () => 'load-balanced-to-peer' });
    // The partner has a free lease to give (ISC cancels load balancing otherwise): a BACKUP one, we the primary.
    const c = core(policy, LeaseTable.from([{ ...backupAt(59) }]));
    const d = c.handle(discover(), direct(), T0);
    expect(d.reply).toBeUndefined();
    expect(d.drop?.reason).toBe('load-balanced-to-peer');
    expect(d.log?.[0]).toMatch(/: load balance to peer f$/);
    expect(c.counters.toJSON()).toMatchObject({ 'rx.DHCPDISCOVER': 1, 'drop.load-balanced-to-peer': 1 });
    // Asked once the address is known (ISC picks the lease first), once per packet.
    expect(asked.filter((q) => q.startsWith('serve'))).toEqual([`serve f ${MessageType.DISCOVER}`]);
    expect(asked.indexOf(`serve f ${MessageType.DISCOVER}`)).toBeGreaterThan(asked.indexOf('allocate f new'));
    // Nothing was held for this client: another one is offered the same address by a policy that serves.
    const other = core(undefined, c.table);
    expect(other.handle(discover(), direct(), T0).reply?.msg.yiaddr).toBe(ip('10.1.0.50'));
    // Without a free lease on the partner's side, load balancing is cancelled: we answer (ISC dhcpdiscover).
    const alone = core(policy);
    expect(alone.handle(discover(), direct(), T0).reply?.msg.yiaddr).toBe(ip('10.1.0.50'));
    expect(alone.counters.toJSON()['failover.load-balance-cancelled']).toBe(1);
  });

  it('an address of a pool without failover peer is answered as standalone, the policy not asked', () => {
    const { policy, asked } = asking({ serves: () => 'failover-not-serving', mayAllocate: () => false });
    const c = core(policy, new LeaseTable(), null);
    const d = c.handle(discover(), direct(), T0);
    expect(d.reply?.msg.yiaddr).toBe(ip('10.1.0.50'));
    const ack = c.handle(request('10.1.0.50'), direct(), T0);
    expect(getMessageType(ack.reply!.msg)).toBe(MessageType.ACK);
    expect(asked).toEqual([]);
  });

  it('serves failover-not-serving: a REQUEST is not answered, not even NAKed', () => {
    const { policy } = asking({ serves: () => 'failover-not-serving' });
    const c = core(policy);
    const d = c.handle(request('10.1.0.50'), direct(), T0);
    expect(d.reply).toBeUndefined();
    expect(d.drop?.reason).toBe('failover-not-serving');
    expect(d.writes).toEqual([]);
  });

  it("mayAllocate no: a DISCOVER is offered the next address (the plain pool's when the failover pool has none); a REQUEST for a refused one is the partner's: silence", () => {
    const { policy } = asking({ mayAllocate: (_p, l) => l !== undefined });
    const c = core(policy);
    // Never-used addresses refused: the failover pool has nothing for us, the plain pool has.
    expect(c.handle(discover(), direct(), T0).reply?.msg.yiaddr).toBe(ip('10.1.0.60'));
    const d = c.handle(request('10.1.0.51'), direct(), T0);
    expect(d.reply).toBeUndefined();
    expect(d.drop?.reason).toBe('failover-peer-owns');
    expect(d.log?.[0]).toMatch(/lease owned by peer$/);
  });

  it("mayAllocate is not asked for the client's own unexpired lease", () => {
    const table = new LeaseTable();
    core(undefined, table).handle(request('10.1.0.52'), direct(), T0);
    const { policy, asked } = asking({ mayAllocate: () => false });
    const ack = core(policy, table).handle(request('10.1.0.52'), direct(), T0 + 1000_000);
    expect(getMessageType(ack.reply!.msg)).toBe(MessageType.ACK);
    expect(asked.filter((q) => q.startsWith('allocate'))).toEqual([]);
  });

  it('leaseTime: OFFER and ACK carry what the policy allows, and the bound record takes its tstp/tsfp', () => {
    const { policy, asked } = asking({
      leaseTime: (_p, d) => ({ leaseTime: Math.min(d, 300), tstp: S0 + 750, tsfp: 7 }),
    });
    const c = core(policy);
    expect(optU32(c.handle(discover(), direct(), T0).reply!.msg, 51)).toBe(300);
    const ack = c.handle(request('10.1.0.50'), direct(), T0);
    expect(optU32(ack.reply!.msg, 51)).toBe(300);
    expect(ack.writes[0]).toMatchObject({ ends: S0 + 300, tstp: S0 + 750, tsfp: 7, failoverPeer: 'f' });
    expect(asked.filter((q) => q.startsWith('lease'))).toEqual(['lease f 600', 'lease f 600']);
  });

  it('BACKUP addresses are candidates in a failover pool (the policy says whose), never in a plain one', () => {
    const backup = (n: number): Lease => ({
      address: ip(`10.1.0.${n}`),
      state: BindingState.BACKUP,
      starts: S0 - 10,
      ends: 0,
      tstp: 0,
      tsfp: 0,
      atsfp: 0,
      cltt: 0,
      hwType: 1,
    });
    // The secondary: pristine FREE addresses are the primary's, BACKUP ones ours.
    const { policy } = asking({ mayAllocate: (_p, l) => l?.state === BindingState.BACKUP });
    const table = LeaseTable.from([backup(55), backup(65)]);
    const c = core(policy, table);
    expect(c.handle(discover(), direct(), T0).reply?.msg.yiaddr).toBe(ip('10.1.0.55'));
    // The plain pool's BACKUP record (an import) stays taken: a REQUEST for it is NAKed, as before.
    const nak = c.handle(request('10.1.0.65'), direct(), T0);
    expect(getMessageType(nak.reply!.msg)).toBe(MessageType.NAK);
  });

  it('a change of the policy reaches never-used addresses it refused before (the scan did not move past them)', () => {
    let mine = false;
    const { policy } = asking({ mayAllocate: () => mine });
    const c = core(policy, new LeaseTable(), 'f');
    // The only pool here is the failover one: take the plain pool's addresses out of the picture.
    for (let n = 60; n <= 69; n++) c.handle(request(`10.1.0.${n}`), direct(), T0);
    const before = c.handle(clientMsg(MessageType.DISCOVER, { mac: '52:54:00:00:00:0b' }), direct(), T0);
    expect(before.drop?.reason).toBe('pool-exhausted');
    mine = true; // partner-down, MCLT past
    const after = c.handle(clientMsg(MessageType.DISCOVER, { mac: '52:54:00:00:00:0b' }), direct(), T0);
    expect(after.reply?.msg.yiaddr).toBe(ip('10.1.0.50'));
  });
});
