import { describe, expect, it } from 'vitest';
import { BindingState, type Lease } from '@hadhcp/leases';
import { FakeFailoverView } from '../../test-vectors/failover-fakes.js';
import { getMessageType } from '../wire/accessors.js';
import { failoverPolicy, loadBalanceKey } from './failover-policy.js';
import { LeaseTable } from './lease-table.js';
import { DhcpServerCore } from './server.js';
import { clientMsg, ConfigBuilder, direct, ip, MessageType, optU32 } from './test-helpers.js';

const T0 = 1_700_000_000_000;
const S0 = T0 / 1000;
const SID = ip('10.1.0.1');
/** Last octet below 128: the primary's under split 128 (the fake view's stand-in hash); 0xc8 the secondary's. */
const P_MAC = '52:54:00:00:00:0a';
const S_MAC = '52:54:00:00:00:c8';

/**
 * 10.1.0.50-59: pool of relationship "f" (lease time 7200 > the fake's MCLT 3600); 10.1.0.60-69 plain. The
 * secondary's BACKUP leases 10.1.0.55-57 (the primary's pool balancing gave them) are in both tables.
 */
function node(role: 'primary' | 'secondary', table = new LeaseTable()) {
  const view = new FakeFailoverView('f', role);
  const b = new ConfigBuilder({ authoritative: true, defaultLeaseTime: 7200, pingCheck: false });
  b.subnet('10.1.0.0/24', {
    pools: [
      { ranges: [['10.1.0.50', '10.1.0.59']], failoverPeer: 'f' },
      { ranges: [['10.1.0.60', '10.1.0.69']] },
    ],
  });
  // Both sides know which addresses are the secondary's (the primary sent the BNDUPDs).
  if (table.size === 0) for (const n of [55, 56, 57]) table.put(backup(n));
  const core = new DhcpServerCore(b.build(), table, {
    serverId: SID,
    policy: failoverPolicy(new Map([['f', view]])),
  });
  return { view, core, table };
}

function backup(n: number): Lease {
  return {
    address: ip(`10.1.0.${n}`),
    state: BindingState.BACKUP,
    starts: S0 - 100,
    ends: 0,
    tstp: S0 - 100,
    tsfp: 0,
    atsfp: 0,
    cltt: 0,
    hwType: 1,
    failoverPeer: 'f',
  };
}

const discover = (mac: string, secs = 0) => ({ ...clientMsg(MessageType.DISCOVER, { mac }), secs });
const request = (mac: string, addr: string, serverId = '10.1.0.1') =>
  clientMsg(MessageType.REQUEST, { mac, requested: addr, serverId });

describe('loadBalanceKey (ISC load_balance_mine)', () => {
  it('is the client identifier when sent, else chaddr[0..hlen) without htype', () => {
    const plain = clientMsg(MessageType.DISCOVER, { mac: '00:11:22:33:44:55' });
    expect([...loadBalanceKey(plain)]).toEqual([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
    const cid = Uint8Array.of(1, 0, 0x11, 0x22, 0x33, 0x44, 0x55);
    const withId = clientMsg(MessageType.DISCOVER, { mac: '00:11:22:33:44:55', clientId: cid });
    expect([...loadBalanceKey(withId)]).toEqual([...cid]);
  });
});

describe('failoverPolicy: load balancing (RFC 3074) in a cooperating state', () => {
  it('a DISCOVER is answered by the side its hash names only; the other drops it as load-balanced-to-peer', () => {
    const p = node('primary');
    const s = node('secondary');
    expect(p.core.handle(discover(P_MAC), direct(), T0).reply?.msg.yiaddr).toBe(ip('10.1.0.50'));
    const sd = s.core.handle(discover(P_MAC), direct(), T0);
    expect([sd.reply, sd.drop?.reason]).toEqual([undefined, 'load-balanced-to-peer']);
    // The secondary's client: offered one of its BACKUP addresses; the primary stays silent.
    expect(s.core.handle(discover(S_MAC), direct(), T0).reply?.msg.yiaddr).toBe(ip('10.1.0.55'));
    expect(p.core.handle(discover(S_MAC), direct(), T0).drop?.reason).toBe('load-balanced-to-peer');
    expect(p.core.counters.toJSON()['drop.load-balanced-to-peer']).toBe(1);
  });

  it('load balance max seconds: a DISCOVER with secs beyond it is answered whatever its hash', () => {
    const s = node('secondary');
    s.view.maxSecs = 3;
    expect(s.core.handle(discover(P_MAC, 3), direct(), T0).drop?.reason).toBe('load-balanced-to-peer');
    expect(s.core.handle(discover(P_MAC, 4), direct(), T0).reply?.msg.yiaddr).toBe(ip('10.1.0.55'));
  });

  it('behind the VIP (answerAllRelayed): every relayed DISCOVER is ours, whatever its hash; direct ones still balanced', () => {
    const view = new FakeFailoverView('f', 'secondary');
    let holdsVip = true;
    const b = new ConfigBuilder({ authoritative: true, defaultLeaseTime: 7200, pingCheck: false });
    b.subnet('10.1.0.0/24', { pools: [{ ranges: [['10.1.0.50', '10.1.0.59']], failoverPeer: 'f' }] });
    const table = new LeaseTable();
    for (const n of [55, 56, 57]) table.put(backup(n));
    const core = new DhcpServerCore(b.build(), table, {
      serverId: SID,
      policy: failoverPolicy(new Map([['f', view]]), { answerAllRelayed: () => holdsVip }),
    });
    const viaRelay = { ...discover(P_MAC), giaddr: ip('10.1.0.1') };
    expect(core.handle(viaRelay, direct(), T0).reply?.msg.yiaddr).toBe(ip('10.1.0.55'));
    expect(core.handle(discover(P_MAC), direct(), T0).drop?.reason).toBe('load-balanced-to-peer');
    holdsVip = false;
    const again = { ...discover('52:54:00:00:00:0b'), giaddr: ip('10.1.0.1') };
    expect(core.handle(again, direct(), T0).drop?.reason).toBe('load-balanced-to-peer');
    // VRRP has moved the VIP away, but this DISCOVER was sent to the VIP and delivered here while we held it
    // (read from its socket after the step-down): the new holder never saw it, so it is ours, whatever its hash.
    const late = { ...discover('52:54:00:00:00:0c'), giaddr: ip('10.1.0.1') };
    expect(core.handle(late, { ...direct(), toVip: true }, T0).reply?.msg.yiaddr).toBe(ip('10.1.0.56'));
    // Direct (giaddr 0): toVip means nothing there, the hash decides.
    expect(core.handle(discover('52:54:00:00:00:0d'), { ...direct(), toVip: true }, T0).drop?.reason).toBe(
      'load-balanced-to-peer',
    );
  });

  it('DHCPREQUEST is never balanced: a renewal is answered by the server asked', () => {
    const s = node('secondary');
    s.core.handle(discover(P_MAC, 10), direct(), T0);
    const ack = s.core.handle(request(P_MAC, '10.1.0.55'), direct(), T0);
    expect(getMessageType(ack.reply!.msg)).toBe(MessageType.ACK);
    s.view.asked.length = 0;
    const renew = clientMsg(MessageType.REQUEST, { mac: P_MAC, ciaddr: '10.1.0.55' });
    expect(getMessageType(s.core.handle(renew, direct(), T0 + 2000_000).reply!.msg)).toBe(MessageType.ACK);
    expect(s.view.asked).toEqual([]); // the hash was not even asked
  });

  it('an address of a pool without failover peer is answered standalone: no hash, no MCLT', () => {
    const p = node('primary');
    for (let n = 50; n <= 59; n++) p.table.put({ ...backup(n), state: BindingState.ACTIVE, ends: S0 + 9999 });
    const d = p.core.handle(discover(S_MAC), direct(), T0);
    expect(d.reply?.msg.yiaddr).toBe(ip('10.1.0.60'));
    expect(optU32(d.reply!.msg, 51)).toBe(7200);
    expect(p.view.asked).toEqual([]);
  });
});

describe('failoverPolicy: load balancing cancelled (ISC "cancel load balance to peer - no free leases")', () => {
  it("the primary answers the secondary's client while the secondary has no BACKUP lease to give", () => {
    const p = node('primary', LeaseTable.from([{ ...backup(59), state: BindingState.FREE }]));
    expect(p.core.handle(discover(S_MAC), direct(), T0).reply?.msg.yiaddr).toBe(ip('10.1.0.50'));
    expect(p.core.counters.toJSON()['failover.load-balance-cancelled']).toBe(1);
  });

  it("the secondary answers the primary's client once the primary has no FREE lease left", () => {
    const full = Array.from({ length: 10 }, (_, i) => ({
      ...backup(50 + i),
      state: i < 5 ? BindingState.ACTIVE : BindingState.BACKUP,
      ends: S0 + 9999,
    }));
    const s = node('secondary', LeaseTable.from(full));
    expect(s.core.handle(discover(P_MAC), direct(), T0).reply?.msg.yiaddr).toBe(ip('10.1.0.55'));
    // One FREE lease back on the primary's side: the primary's client is its again.
    s.table.put({ ...backup(50), state: BindingState.FREE });
    expect(s.core.handle(discover('52:54:00:00:00:0b'), direct(), T0).drop?.reason).toBe(
      'load-balanced-to-peer',
    );
  });
});

describe('failoverPolicy: scope', () => {
  it("'none': nothing of the relationship's pools is answered, counted as failover-not-serving", () => {
    const p = node('primary');
    p.core.handle(request(P_MAC, '10.1.0.50'), direct(), T0);
    p.view.state = 'recover';
    const d = p.core.handle(discover(P_MAC), direct(), T0);
    expect([d.reply, d.drop?.reason]).toEqual([undefined, 'failover-not-serving']);
    const r = p.core.handle(
      clientMsg(MessageType.REQUEST, { mac: P_MAC, requested: '10.1.0.50' }),
      direct(),
      T0,
    );
    expect([r.reply, r.writes, r.drop?.reason]).toEqual([undefined, [], 'failover-not-serving']);
    expect(p.core.counters.toJSON()['drop.failover-not-serving']).toBe(2);
  });

  it("'own' (communications-interrupted): no load balancing; new bindings on our own addresses only; renewals of ACTIVE leases", () => {
    const s = node('secondary');
    s.view.state = 'communications-interrupted';
    // The primary's client is ours now (no hash), from our BACKUP addresses.
    expect(s.core.handle(discover(P_MAC), direct(), T0).reply?.msg.yiaddr).toBe(ip('10.1.0.55'));
    // A REQUEST for the primary's FREE address is left to the primary.
    expect(s.core.handle(request(S_MAC, '10.1.0.50'), direct(), T0).drop?.reason).toBe('failover-peer-owns');
    // A client's ACTIVE lease from the primary (known by its BNDUPD) is renewed.
    s.table.put({
      ...backup(51),
      state: BindingState.ACTIVE,
      ends: S0 + 600,
      tsfp: S0 + 600,
      hwAddr: Uint8Array.of(0x52, 0x54, 0, 0, 0, 0xc8),
    });
    const renew = clientMsg(MessageType.REQUEST, { mac: S_MAC, ciaddr: '10.1.0.51' });
    expect(getMessageType(s.core.handle(renew, direct(), T0).reply!.msg)).toBe(MessageType.ACK);
  });

  it("partner-down: the partner's FREE addresses become ours MCLT after the later of stos and tsfp", () => {
    const s = node('secondary');
    for (const n of [55, 56, 57]) s.table.put({ ...backup(n), state: BindingState.ACTIVE, ends: S0 + 9999 });
    s.view.state = 'partner-down';
    s.view.partnerDownSince = S0 - 3600;
    // Not yet: the failover pool has nothing for us, so the plain pool answers.
    expect(s.core.handle(discover(S_MAC), direct(), T0).reply?.msg.yiaddr).toBe(ip('10.1.0.60'));
    const other = '52:54:00:00:00:c9';
    expect(s.core.handle(discover(other), direct(), T0 + 1000).reply?.msg.yiaddr).toBe(ip('10.1.0.50'));
  });
});

describe('failoverPolicy: MCLT', () => {
  it('OFFER and ACK give at most MCLT beyond what the partner acknowledged; the record takes tstp/tsfp', () => {
    const p = node('primary');
    expect(optU32(p.core.handle(discover(P_MAC), direct(), T0).reply!.msg, 51)).toBe(3600);
    const ack = p.core.handle(request(P_MAC, '10.1.0.50'), direct(), T0);
    expect(optU32(ack.reply!.msg, 51)).toBe(3600);
    // tstp = now + desired + granted/2 (ISC's guess at the renewal); tsfp stays what the partner acknowledged.
    expect(ack.writes[0]).toMatchObject({
      ends: S0 + 3600,
      tstp: S0 + 7200 + 1800,
      tsfp: 0,
      failoverPeer: 'f',
    });
    // Once the partner acknowledged the potential expiry (tsfp), a renewal may reach tsfp + MCLT.
    p.table.put({ ...ack.writes[0]!, tsfp: S0 + 9000, atsfp: S0 + 9000 });
    const renew = clientMsg(MessageType.REQUEST, { mac: P_MAC, ciaddr: '10.1.0.50' });
    const again = p.core.handle(renew, direct(), T0 + 1000_000);
    expect(optU32(again.reply!.msg, 51)).toBe(7200);
  });
});
