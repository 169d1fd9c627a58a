import { describe, expect, it } from 'vitest';
import { BindingState, INFINITE, type Lease } from '@hadhcp/leases';
import { BROADCAST_FLAG } from '../wire/types.js';
import type { Params } from './config.js';
import { LeaseTable } from './lease-table.js';
import { DhcpServerCore } from './server.js';
import { clientMsg, ConfigBuilder, direct, ip, mac, MessageType, optIp } from './test-helpers.js';

const T0 = 1_700_000_000_000;
const NOW = T0 / 1000;
const SID = '10.1.0.1';
const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';

function setup(global: Params = {}, leases: Lease[] = []): { c: DhcpServerCore; b: ConfigBuilder } {
  const b = new ConfigBuilder({ defaultLeaseTime: 600, maxLeaseTime: 7200, pingCheck: false, ...global });
  b.subnet('10.1.0.0/24', { pools: [{ ranges: [['10.1.0.50', '10.1.0.59']] }] });
  b.subnet('10.2.0.0/24', { pools: [{ ranges: [['10.2.0.50', '10.2.0.59']] }] });
  return { c: new DhcpServerCore(b.build(), LeaseTable.from(leases), { serverId: ip(SID) }), b };
}

function bound(addr: string, hw: string, ends = NOW + 300): Lease {
  return {
    address: ip(addr),
    state: BindingState.ACTIVE,
    starts: NOW - 300,
    ends,
    tstp: 0,
    tsfp: 0,
    atsfp: 0,
    cltt: NOW - 300,
    hwType: 1,
    hwAddr: mac(hw),
  };
}

const kind = (d: ReturnType<DhcpServerCore['handle']>): number | undefined =>
  d.reply?.msg.options.find((o) => o.code === 53)?.data[0];

/** The text of a reply's message option (56). */
const nakMessage = (d: ReturnType<DhcpServerCore['handle']>): string | undefined => {
  const m = d.reply?.msg.options.find((o) => o.code === 56)?.data;
  return m && new TextDecoder().decode(m);
};

describe('DHCPREQUEST in SELECTING (server id present)', () => {
  it('ACKs the offered address and returns the lease write', () => {
    const { c } = setup();
    const offer = c.handle(clientMsg(MessageType.DISCOVER, { mac: A, hostname: 'pc1' }), direct(), T0).reply!
      .msg;
    const req = clientMsg(MessageType.REQUEST, {
      mac: A,
      requested: '10.1.0.50',
      serverId: SID,
      hostname: 'pc1',
    });
    const d = c.handle(req, direct(), T0 + 500);
    expect(offer.yiaddr).toBe(ip('10.1.0.50'));
    expect(kind(d)).toBe(MessageType.ACK);
    expect(d.reply!.msg.yiaddr).toBe(ip('10.1.0.50'));
    expect(d.writes).toHaveLength(1);
    expect(d.writes[0]).toMatchObject({
      address: ip('10.1.0.50'),
      state: BindingState.ACTIVE,
      starts: NOW,
      ends: NOW + 600,
      hostname: 'pc1',
    });
    expect(c.table.get(ip('10.1.0.50'))?.state).toBe(BindingState.ACTIVE);
    expect(d.log).toEqual([
      `DHCPREQUEST for 10.1.0.50 (${SID}) from ${A} via eth0`,
      `DHCPACK on 10.1.0.50 to ${A} (pc1) via eth0`,
    ]);
  });

  it("another server's id: silent, and our offer is forgotten so the address is free again", () => {
    const { c } = setup();
    c.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0);
    const d = c.handle(
      clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.77', serverId: '10.1.0.2' }),
      direct(),
      T0 + 1,
    );
    expect(d.reply).toBeUndefined();
    expect(d.writes).toEqual([]);
    expect(d.drop?.reason).toBe('not-our-server-id');
    expect(c.handle(clientMsg(MessageType.DISCOVER, { mac: B }), direct(), T0 + 2).reply!.msg.yiaddr).toBe(
      ip('10.1.0.50'),
    );
  });

  it('NAKs an address offered to someone else in the meantime', () => {
    const { c } = setup();
    c.handle(clientMsg(MessageType.DISCOVER, { mac: B }), direct(), T0);
    const d = c.handle(
      clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.50', serverId: SID }),
      direct(),
      T0 + 1,
    );
    expect(kind(d)).toBe(MessageType.NAK);
    expect(d.log?.at(-1)).toBe(`DHCPNAK on 10.1.0.50 to ${A} via eth0`);
    expect(nakMessage(d)).toBe('requested address not available');
  });

  it('without a requested address is dropped', () => {
    const { c } = setup();
    expect(
      c.handle(clientMsg(MessageType.REQUEST, { mac: A, serverId: SID }), direct(), T0).drop?.reason,
    ).toBe('request-no-address');
  });
});

describe('DHCPREQUEST in INIT-REBOOT (no server id, ciaddr 0, option 50)', () => {
  it("ACKs the client's own address", () => {
    const { c } = setup({}, [bound('10.1.0.55', A)]);
    const d = c.handle(clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.55' }), direct(), T0);
    expect(kind(d)).toBe(MessageType.ACK);
    expect(d.reply!.to.kind).toBe('l2');
  });

  it('wrong network: NAK when authoritative, silence when not', () => {
    const req = clientMsg(MessageType.REQUEST, { mac: A, requested: '10.2.0.55' });
    const auth = setup({ authoritative: true }).c.handle(req, direct(), T0);
    expect(kind(auth)).toBe(MessageType.NAK);
    expect(auth.reply!.to.kind).toBe('broadcast');
    expect(auth.log).toEqual([
      `DHCPREQUEST for 10.2.0.55 from ${A} via eth0: wrong network.`,
      `DHCPNAK on 10.2.0.55 to ${A} via eth0`,
    ]);
    // ISC 4.4.3 (conformance lab): 53, 54, 56 'requested address not available'.
    expect(auth.reply!.msg.options.map((o) => o.code)).toEqual([53, 54, 56]);
    expect(nakMessage(auth)).toBe('requested address not available');
    const quiet = setup().c.handle(req, direct(), T0);
    expect(quiet.reply).toBeUndefined();
    expect(quiet.drop?.reason).toBe('not-authoritative');
  });

  it('an address in our pool bound to another client: NAK, authoritative or not', () => {
    const { c } = setup({}, [bound('10.1.0.55', B)]);
    const d = c.handle(clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.55' }), direct(), T0);
    expect(kind(d)).toBe(MessageType.NAK);
    expect(nakMessage(d)).toBe('requested address not available');
  });

  it('an address of our subnet outside every pool, from a client with no record: silence, authoritative or not', () => {
    // RFC 2131 4.3.2 ("no record: MUST remain silent"), and what ISC dhcpd 4.4.3 did (authoritative, INIT-REBOOT
    // for an address of the subnet in no range, sent to the real dhcpd in a namespace: no reply, "unknown lease").
    const req = clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.9' });
    const d = setup({ authoritative: true }).c.handle(req, direct(), T0);
    expect(d.reply).toBeUndefined();
    expect(d.drop?.reason).toBe('unknown-lease');
    expect(setup().c.handle(req, direct(), T0).drop?.reason).toBe('unknown-lease');
  });

  it('a free pool address with no record (lease file lost) is ACKed, so clients keep their addresses', () => {
    const { c } = setup();
    const d = c.handle(clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.58' }), direct(), T0);
    expect(kind(d)).toBe(MessageType.ACK);
    expect(d.writes[0]?.address).toBe(ip('10.1.0.58'));
  });

  it('a NAK through a relay goes to the relay with the broadcast bit set', () => {
    const { c } = setup({ authoritative: true });
    const d = c.handle(
      clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.9', giaddr: '10.2.0.1' }),
      direct(),
      T0,
    );
    expect(kind(d)).toBe(MessageType.NAK);
    expect(d.reply!.to.kind).toBe('relay');
    expect(d.reply!.msg.flags & BROADCAST_FLAG).toBe(BROADCAST_FLAG);
  });

  it('a reserved client asking for another address is NAKed towards its reservation', () => {
    const { b } = setup();
    b.host('r', { hw: A, fixed: ['10.1.0.200'] });
    const c2 = new DhcpServerCore(b.build(), new LeaseTable(), { serverId: ip(SID) });
    const d = c2.handle(clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.55' }), direct(), T0);
    expect(kind(d)).toBe(MessageType.NAK);
    // ISC find_lease's text for a fixed-address client asking for another address.
    expect(nakMessage(d)).toBe('requested address is incorrect');
    const ok = c2.handle(clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.200' }), direct(), T0);
    expect(kind(ok)).toBe(MessageType.ACK);
    // ISC never writes fixed-address bindings to dhcpd.leases.
    expect(ok.writes).toEqual([]);
  });
});

describe('DHCPREQUEST in RENEWING (unicast) and REBINDING (broadcast)', () => {
  it('RENEWING: extends the lease and answers unicast to ciaddr', () => {
    const { c } = setup({}, [bound('10.1.0.55', A)]);
    const d = c.handle(
      clientMsg(MessageType.REQUEST, { mac: A, ciaddr: '10.1.0.55' }),
      direct({ srcIp: ip('10.1.0.55') }),
      T0,
    );
    expect(kind(d)).toBe(MessageType.ACK);
    expect(d.reply!.msg.ciaddr).toBe(ip('10.1.0.55'));
    expect(d.reply!.to).toEqual({ kind: 'unicast', ip: ip('10.1.0.55'), port: 68 });
    expect(d.writes[0]).toMatchObject({ ends: NOW + 600, state: BindingState.ACTIVE });
  });

  // dhcp-cache-threshold. ISC dhcpd 4.4.3 (real dhcpd in a namespace, default-lease-time 600, REQUEST in RENEWING
  // 2.5 s after its ACK): DHCPACK with lease time 597 (the time left), dhcpd.leases unchanged.
  it('RENEWING within 25 % of the lease (ISC default): the lease as it stands, its time left, no write', () => {
    const { c } = setup();
    const renew = clientMsg(MessageType.REQUEST, { mac: A, ciaddr: '10.1.0.55' });
    const first = c.handle(clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.55' }), direct(), T0);
    expect(first.writes[0]).toMatchObject({ starts: NOW, ends: NOW + 600 });
    const early = c.handle(renew, direct({ srcIp: ip('10.1.0.55') }), T0 + 2500);
    expect(kind(early)).toBe(MessageType.ACK);
    expect(early.writes).toEqual([]);
    expect(early.reply!.msg.options.find((o) => o.code === 51)?.data).toEqual(Uint8Array.of(0, 0, 2, 86)); // 598
    // 150 s = 25 % of 600: still the same lease; 151 s: renewed, and written.
    const edge = c.handle(renew, direct({ srcIp: ip('10.1.0.55') }), T0 + 150_999);
    expect(edge.writes).toEqual([]);
    const later = c.handle(renew, direct({ srcIp: ip('10.1.0.55') }), T0 + 151_000);
    expect(later.writes[0]).toMatchObject({ starts: NOW + 151, ends: NOW + 751 });
  });

  it('dhcp-cache-threshold 0 turns reuse off; 100 and above mean the default', () => {
    const renew = clientMsg(MessageType.REQUEST, { mac: A, ciaddr: '10.1.0.55' });
    const young = { ...bound('10.1.0.55', A), starts: NOW, ends: NOW + 600 };
    expect(
      setup({ dhcpCacheThreshold: 0 }, [young]).c.handle(renew, direct(), T0 + 1000).writes,
    ).toHaveLength(1);
    expect(setup({ dhcpCacheThreshold: 150 }, [young]).c.handle(renew, direct(), T0 + 1000).writes).toEqual(
      [],
    );
    expect(setup({ dhcpCacheThreshold: 50 }, [young]).c.handle(renew, direct(), T0 + 300_000).writes).toEqual(
      [],
    );
  });

  it('RENEWING trusts ciaddr even when it arrives on another network (routed unicast)', () => {
    const { c } = setup({ authoritative: true }, [bound('10.2.0.55', A)]);
    const d = c.handle(clientMsg(MessageType.REQUEST, { mac: A, ciaddr: '10.2.0.55' }), direct(), T0);
    expect(kind(d)).toBe(MessageType.ACK);
  });

  it('REBINDING checks ciaddr against the network it came from', () => {
    const { c } = setup({ authoritative: true }, [bound('10.2.0.55', A)]);
    const d = c.handle(
      clientMsg(MessageType.REQUEST, { mac: A, ciaddr: '10.2.0.55' }),
      direct({ toBroadcast: true }),
      T0,
    );
    expect(kind(d)).toBe(MessageType.NAK);
    const ok = c.handle(
      clientMsg(MessageType.REQUEST, { mac: A, ciaddr: '10.2.0.55', giaddr: '10.2.0.1' }),
      direct(),
      T0,
    );
    expect(kind(ok)).toBe(MessageType.ACK);
    expect(ok.reply!.to.kind).toBe('relay');
  });

  it('RENEWING an address bound to someone else: NAK', () => {
    const { c } = setup({}, [bound('10.1.0.55', B)]);
    expect(
      kind(c.handle(clientMsg(MessageType.REQUEST, { mac: A, ciaddr: '10.1.0.55' }), direct(), T0)),
    ).toBe(MessageType.NAK);
  });
});

describe('lease times', () => {
  it('an infinite lease: 0xffffffff, no T1/T2, ends never', () => {
    const { c } = setup({ defaultLeaseTime: 'infinite', maxLeaseTime: 'infinite' });
    const d = c.handle(
      clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.50', serverId: SID }),
      direct(),
      T0,
    );
    expect(optIp(d.reply!.msg, 51)).toBe(0xffffffff);
    expect(optIp(d.reply!.msg, 58)).toBeUndefined();
    expect(d.writes[0]?.ends).toBe(INFINITE);
    expect(c.tick(T0 + 10 * 365 * 86400_000)).toEqual([]);
  });

  it('a lease is active until the second before `ends` and expires at `ends`', () => {
    const { c } = setup();
    c.handle(clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.50', serverId: SID }), direct(), T0);
    expect(c.tick(T0 + 599_999)).toEqual([]);
    const w = c.tick(T0 + 600_000);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ address: ip('10.1.0.50'), state: BindingState.FREE, hwAddr: mac(A) });
    expect(c.table.get(ip('10.1.0.50'))?.state).toBe(BindingState.FREE);
    expect(c.tick(T0 + 700_000)).toEqual([]);
  });

  it('an expired lease in a failover pool becomes EXPIRED, not FREE', () => {
    const b = new ConfigBuilder({ defaultLeaseTime: 600, pingCheck: false });
    b.subnet('10.1.0.0/24', { pools: [{ ranges: [['10.1.0.50', '10.1.0.59']], failoverPeer: 'peer' }] });
    const c = new DhcpServerCore(b.build(), new LeaseTable(), { serverId: ip(SID) });
    const d = c.handle(
      clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.50', serverId: SID }),
      direct(),
      T0,
    );
    expect(d.writes[0]?.failoverPeer).toBe('peer');
    expect(c.tick(T0 + 600_000)[0]?.state).toBe(BindingState.EXPIRED);
  });

  it('after expiry the client still gets its old address back', () => {
    const { c } = setup();
    c.handle(clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.53', serverId: SID }), direct(), T0);
    c.tick(T0 + 600_000);
    expect(
      c.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0 + 700_000).reply!.msg.yiaddr,
    ).toBe(ip('10.1.0.53'));
  });
});
