import { describe, expect, it } from 'vitest';
import { BindingState, type Lease } from '@hadhcp/leases';
import type { Params } from './config.js';
import { LeaseTable } from './lease-table.js';
import { DhcpServerCore } from './server.js';
import {
  clientMsg,
  ConfigBuilder,
  direct,
  ip,
  ipBytes,
  mac,
  MessageType,
  optIp,
  text,
} from './test-helpers.js';

const T0 = 1_700_000_000_000;
const SID = ip('10.1.0.1');

function lan(global: Params = {}, pool: Params = {}): ConfigBuilder {
  const b = new ConfigBuilder({ defaultLeaseTime: 600, maxLeaseTime: 7200, pingCheck: false, ...global });
  b.subnet('10.1.0.0/24', {
    options: { 3: ipBytes('10.1.0.1'), 6: ipBytes('10.1.0.1') },
    pools: [{ ranges: [['10.1.0.50', '10.1.0.59']], params: pool }],
  });
  return b;
}

function core(b: ConfigBuilder, leases: Lease[] = []): DhcpServerCore {
  return new DhcpServerCore(b.build(), LeaseTable.from(leases), { serverId: SID });
}

function prior(
  addr: string,
  hw: string,
  state: BindingState,
  ends: number,
  over: Partial<Lease> = {},
): Lease {
  return {
    address: ip(addr),
    state,
    starts: ends - 600,
    ends,
    tstp: 0,
    tsfp: 0,
    atsfp: 0,
    cltt: ends - 600,
    hwType: 1,
    hwAddr: mac(hw),
    ...over,
  };
}

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';

describe('DHCPDISCOVER -> DHCPOFFER (RFC 2131 4.3.1)', () => {
  it('offers the first pool address, with options, server id and lease time, and writes nothing', () => {
    const c = core(lan());
    const d = c.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0);
    expect(d.drop).toBeUndefined();
    const r = d.reply!;
    expect(r.msg.yiaddr).toBe(ip('10.1.0.50'));
    expect(optIp(r.msg, 54)).toBe(SID);
    expect(optIp(r.msg, 51)).toBe(600);
    expect(optIp(r.msg, 1)).toBe(0xffffff00);
    expect(optIp(r.msg, 3)).toBe(ip('10.1.0.1'));
    expect(r.maxSize).toBe(576);
    expect(d.writes).toEqual([]);
    expect(d.log).toEqual([`DHCPDISCOVER from ${A} via eth0`, `DHCPOFFER on 10.1.0.50 to ${A} via eth0`]);
  });

  it('names the relay in log lines and picks the relay network', () => {
    const b = lan();
    b.subnet('10.2.0.0/24', { pools: [{ ranges: [['10.2.0.100', '10.2.0.110']] }] });
    const d = core(b).handle(
      clientMsg(MessageType.DISCOVER, { mac: A, giaddr: '10.2.0.1', hostname: 'pc1' }),
      direct(),
      T0,
    );
    expect(d.reply!.msg.yiaddr).toBe(ip('10.2.0.100'));
    expect(d.reply!.to).toMatchObject({ kind: 'relay', ip: ip('10.2.0.1'), port: 67 });
    expect(d.log).toEqual([
      `DHCPDISCOVER from ${A} via 10.2.0.1`,
      `DHCPOFFER on 10.2.0.100 to ${A} (pc1) via 10.2.0.1`,
    ]);
  });

  it('honours subnet selection (option 118) over giaddr', () => {
    const b = lan();
    b.subnet('10.3.0.0/24', { pools: [{ ranges: [['10.3.0.10', '10.3.0.20']] }] });
    const msg = clientMsg(MessageType.DISCOVER, { giaddr: '10.1.0.1', subnetSelection: '10.3.0.0' });
    expect(core(b).handle(msg, direct(), T0).reply!.msg.yiaddr).toBe(ip('10.3.0.10'));
  });

  it('drops a packet from an unknown network', () => {
    const c = core(lan());
    const d = c.handle(clientMsg(MessageType.DISCOVER), direct({ localIp: '192.168.9.1' }), T0);
    expect(d.drop?.reason).toBe('no-subnet');
    expect(d.reply).toBeUndefined();
    expect(c.counters.get('drop.no-subnet')).toBe(1);
  });

  it('a reservation wins over the pool and over a previous lease', () => {
    const b = lan();
    b.host('printer', { hw: A, fixed: ['10.1.0.200'] });
    const c = core(b, [prior('10.1.0.55', A, BindingState.ACTIVE, T0 / 1000 + 300)]);
    const d = c.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0);
    expect(d.reply!.msg.yiaddr).toBe(ip('10.1.0.200'));
  });

  it('a reservation by client identifier matches whatever the hardware address', () => {
    const b = lan();
    b.host('vm', { clientId: Uint8Array.of(0, 1, 2, 3), fixed: ['10.1.0.201'] });
    const d = core(b).handle(
      clientMsg(MessageType.DISCOVER, { mac: B, clientId: Uint8Array.of(0, 1, 2, 3) }),
      direct(),
      T0,
    );
    expect(d.reply!.msg.yiaddr).toBe(ip('10.1.0.201'));
  });

  it('a reservation on another network does not apply here', () => {
    const b = lan();
    b.host('elsewhere', { hw: A, fixed: ['10.9.0.5'] });
    expect(core(b).handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0).reply!.msg.yiaddr).toBe(
      ip('10.1.0.50'),
    );
  });

  it("re-offers the client's current lease, then its last expired one", () => {
    const now = T0 / 1000;
    const active = core(lan(), [prior('10.1.0.57', A, BindingState.ACTIVE, now + 100)]);
    expect(active.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0).reply!.msg.yiaddr).toBe(
      ip('10.1.0.57'),
    );
    const old = core(lan(), [prior('10.1.0.58', A, BindingState.FREE, now - 5000)]);
    expect(old.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0).reply!.msg.yiaddr).toBe(
      ip('10.1.0.58'),
    );
  });

  it('does not give one client the lease of another that shares nothing but the address', () => {
    const now = T0 / 1000;
    const c = core(lan(), [prior('10.1.0.50', A, BindingState.ACTIVE, now + 100)]);
    expect(c.handle(clientMsg(MessageType.DISCOVER, { mac: B }), direct(), T0).reply!.msg.yiaddr).toBe(
      ip('10.1.0.51'),
    );
  });

  it('a lease recorded with a client id belongs to that id, not to the hardware address', () => {
    const now = T0 / 1000;
    const c = core(lan(), [
      prior('10.1.0.55', A, BindingState.ACTIVE, now + 100, { clientId: Uint8Array.of(1, 2) }),
    ]);
    const other = c.handle(
      clientMsg(MessageType.DISCOVER, { mac: A, clientId: Uint8Array.of(9) }),
      direct(),
      T0,
    );
    expect(other.reply!.msg.yiaddr).not.toBe(ip('10.1.0.55'));
    const same = c.handle(
      clientMsg(MessageType.DISCOVER, { mac: B, clientId: Uint8Array.of(1, 2) }),
      direct(),
      T0,
    );
    expect(same.reply!.msg.yiaddr).toBe(ip('10.1.0.55'));
  });

  it('offers a free requested address (option 50) from the pool, but not one outside the pools', () => {
    const c = core(lan());
    expect(
      c.handle(clientMsg(MessageType.DISCOVER, { mac: A, requested: '10.1.0.56' }), direct(), T0).reply!.msg
        .yiaddr,
    ).toBe(ip('10.1.0.56'));
    expect(
      c.handle(clientMsg(MessageType.DISCOVER, { mac: B, requested: '10.1.0.10' }), direct(), T0).reply!.msg
        .yiaddr,
    ).toBe(ip('10.1.0.50'));
  });

  it("does not offer a requested address that is someone else's", () => {
    const now = T0 / 1000;
    const c = core(lan(), [prior('10.1.0.56', B, BindingState.ACTIVE, now + 100)]);
    const d = c.handle(clientMsg(MessageType.DISCOVER, { mac: A, requested: '10.1.0.56' }), direct(), T0);
    expect(d.reply!.msg.yiaddr).toBe(ip('10.1.0.50'));
  });

  it('takes never-used addresses first, then the reusable lease that ended longest ago', () => {
    const now = T0 / 1000;
    const b = new ConfigBuilder({ pingCheck: false });
    b.subnet('10.1.0.0/24', { pools: [{ ranges: [['10.1.0.50', '10.1.0.53']] }] });
    const c = core(b, [
      prior('10.1.0.50', '02:00:00:00:00:01', BindingState.FREE, now - 100),
      prior('10.1.0.51', '02:00:00:00:00:02', BindingState.RELEASED, now - 900),
      prior('10.1.0.52', '02:00:00:00:00:03', BindingState.EXPIRED, now - 500),
    ]);
    const got = ['aa', 'bb', 'cc', 'dd'].map((x, i) => {
      const d = c.handle(clientMsg(MessageType.DISCOVER, { mac: `52:54:00:00:00:${x}` }), direct(), T0 + i);
      return d.reply!.msg.yiaddr;
    });
    expect(got).toEqual([ip('10.1.0.53'), ip('10.1.0.51'), ip('10.1.0.52'), ip('10.1.0.50')]);
  });

  it('reports pool exhaustion by name', () => {
    const b = new ConfigBuilder({ pingCheck: false });
    b.subnet('10.1.0.0/24', { pools: [{ ranges: [['10.1.0.50', '10.1.0.50']] }] });
    const c = core(b);
    expect(c.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0).reply).toBeDefined();
    const d = c.handle(clientMsg(MessageType.DISCOVER, { mac: B }), direct(), T0);
    expect(d.drop?.reason).toBe('pool-exhausted');
    expect(d.log?.[0]).toBe(`DHCPDISCOVER from ${B} via eth0: network 10.1.0.0: no free leases`);
  });

  it('holds an offered address for exactly the offer time (10 s by default)', () => {
    const b = new ConfigBuilder({ pingCheck: false });
    b.subnet('10.1.0.0/24', { pools: [{ ranges: [['10.1.0.50', '10.1.0.51']] }] });
    const offerTo = (c: DhcpServerCore, m: string, t: number): number =>
      c.handle(clientMsg(MessageType.DISCOVER, { mac: m }), direct(), t).reply!.msg.yiaddr;
    const before = core(b);
    expect(offerTo(before, A, T0)).toBe(ip('10.1.0.50'));
    expect(offerTo(before, B, T0 + 9_999)).toBe(ip('10.1.0.51'));
    const at = core(b);
    expect(offerTo(at, A, T0)).toBe(ip('10.1.0.50'));
    expect(offerTo(at, B, T0 + 10_000)).toBe(ip('10.1.0.50'));
  });

  it('a retransmitted DISCOVER gets the same offer', () => {
    const c = core(lan());
    c.handle(clientMsg(MessageType.DISCOVER, { mac: A, requested: '10.1.0.57' }), direct(), T0);
    const again = c.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0 + 4_000);
    expect(again.reply!.msg.yiaddr).toBe(ip('10.1.0.57'));
  });

  it('deny unknown-clients: a client without a host declaration gets nothing, a known one gets a pool address', () => {
    const b = lan({ unknownClients: false });
    b.host('known', { hw: B });
    const c = core(b);
    const d = c.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0);
    expect(d.drop?.reason).toBe('unknown-client-denied');
    expect(d.reply).toBeUndefined();
    expect(c.handle(clientMsg(MessageType.DISCOVER, { mac: B }), direct(), T0).reply!.msg.yiaddr).toBe(
      ip('10.1.0.50'),
    );
  });

  it('pool permits: known clients in one pool, unknown in another', () => {
    const b = new ConfigBuilder({ pingCheck: false });
    b.subnet('10.1.0.0/24', {
      pools: [
        { ranges: [['10.1.0.10', '10.1.0.19']], permits: { allowKnownClients: true } },
        { ranges: [['10.1.0.100', '10.1.0.109']], permits: { allowUnknownClients: true } },
      ],
    });
    b.host('known', { hw: B });
    const c = core(b);
    expect(c.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0).reply!.msg.yiaddr).toBe(
      ip('10.1.0.100'),
    );
    expect(c.handle(clientMsg(MessageType.DISCOVER, { mac: B }), direct(), T0).reply!.msg.yiaddr).toBe(
      ip('10.1.0.10'),
    );
  });

  it('honours the lease time the client asks for within min/max', () => {
    const c = core(lan({ minLeaseTime: 300 }));
    const ask = (t: number, m: string): number | undefined =>
      optIp(c.handle(clientMsg(MessageType.DISCOVER, { mac: m, leaseTime: t }), direct(), T0).reply!.msg, 51);
    expect(ask(1000, '02:00:00:00:00:01')).toBe(1000);
    expect(ask(99999, '02:00:00:00:00:02')).toBe(7200);
    expect(ask(10, '02:00:00:00:00:03')).toBe(300);
  });

  it('a request for 0 seconds, or below an unset min-lease-time, gets default-lease-time (ISC)', () => {
    const c = core(lan());
    const def = optIp(c.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0).reply!.msg, 51);
    const got = optIp(
      c.handle(clientMsg(MessageType.DISCOVER, { mac: B, leaseTime: 0 }), direct(), T0).reply!.msg,
      51,
    );
    expect(def).toBeGreaterThan(0);
    expect(got).toBe(def);
  });

  it('passes the client maximum message size (option 57) to the encoder', () => {
    const d = core(lan()).handle(clientMsg(MessageType.DISCOVER, { maxSize: 1500 }), direct(), T0);
    expect(d.reply!.maxSize).toBe(1500);
  });

  it('use-host-decl-names: the host name goes out as option 12', () => {
    const b = lan({ useHostDeclNames: true });
    b.host('kitchen-pi', { hw: A });
    const d = core(b).handle(clientMsg(MessageType.DISCOVER, { mac: A, prl: [1, 3, 12] }), direct(), T0);
    expect(new TextDecoder().decode(d.reply!.msg.options.find((o) => o.code === 12)!.data)).toBe(
      'kitchen-pi',
    );
  });

  it('an option host-name in the host declaration is sent', () => {
    const b = lan();
    b.host('x', { hw: A, options: { 12: text('from-host') } });
    const d = core(b).handle(clientMsg(MessageType.DISCOVER, { mac: A, prl: [12] }), direct(), T0);
    expect(new TextDecoder().decode(d.reply!.msg.options.find((o) => o.code === 12)!.data)).toBe('from-host');
  });

  it('deny booting in a host declaration silences the client', () => {
    const b = lan();
    b.host('banned', { hw: A, params: { booting: false } });
    expect(core(b).handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0).drop?.reason).toBe(
      'booting-denied',
    );
  });

  it('PXE: next-server, filename and server-name from the scope land in siaddr, file and sname', () => {
    const b = lan({ nextServer: ip('10.1.0.5'), filename: 'pxelinux.0', serverName: 'tftp1' });
    const m = core(b).handle(clientMsg(MessageType.DISCOVER), direct(), T0).reply!.msg;
    expect(m.siaddr).toBe(ip('10.1.0.5'));
    expect(new TextDecoder().decode(m.file).replace(/\0+$/, '')).toBe('pxelinux.0');
    expect(new TextDecoder().decode(m.sname).replace(/\0+$/, '')).toBe('tftp1');
  });

  it('uses the server identifier the supervisor sets (the VIP)', () => {
    const c = core(lan());
    c.setServerId(ip('10.1.0.254'));
    expect(optIp(c.handle(clientMsg(MessageType.DISCOVER), direct(), T0).reply!.msg, 54)).toBe(
      ip('10.1.0.254'),
    );
  });

  it('never offers the fixed address of another host from the pool', () => {
    const b = lan();
    b.host('h', { hw: B, fixed: ['10.1.0.50'] });
    expect(core(b).handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0).reply!.msg.yiaddr).toBe(
      ip('10.1.0.51'),
    );
  });
});
