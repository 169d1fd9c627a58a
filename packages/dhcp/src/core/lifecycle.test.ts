import { describe, expect, it } from 'vitest';
import { decodeDhcp } from '../wire/codec.js';
import { encodeDhcp } from '../wire/encode.js';
import { isWireError } from '../wire/errors.js';
import type { DhcpMessage } from '../wire/types.js';
import { BindingState, INFINITE } from '@hadhcp/leases';
import type { Params } from './config.js';
import { LeaseTable } from './lease-table.js';
import { DhcpServerCore } from './server.js';
import { clientMsg, ConfigBuilder, direct, ip, ipBytes, MessageType, optIp } from './test-helpers.js';

const T0 = 1_700_000_000_000;
const NOW = T0 / 1000;
const SID = '10.1.0.1';
const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';

function setup(global: Params = {}): { c: DhcpServerCore; b: ConfigBuilder } {
  const b = new ConfigBuilder({ defaultLeaseTime: 600, pingCheck: false, ...global });
  b.subnet('10.1.0.0/24', {
    options: { 3: ipBytes('10.1.0.1'), 6: ipBytes('10.1.0.1') },
    pools: [
      {
        implicit: true,
        ranges: [
          ['10.1.0.50', '10.1.0.52'],
          ['10.1.0.60', '10.1.0.61', 'dynamic-bootp'],
        ],
      },
    ],
  });
  return { c: new DhcpServerCore(b.build(), new LeaseTable(), { serverId: ip(SID) }), b };
}

function bind(c: DhcpServerCore, hw: string, addr: string, t = T0): void {
  const d = c.handle(
    clientMsg(MessageType.REQUEST, { mac: hw, requested: addr, serverId: SID }),
    direct(),
    t,
  );
  if (!d.reply) throw new Error(`bind failed: ${d.drop?.reason}`);
}

describe('DHCPDECLINE (RFC 2131 4.3.3)', () => {
  it('abandons the address for a day, then it returns to the pool without the client association', () => {
    const { c } = setup();
    bind(c, A, '10.1.0.50');
    const d = c.handle(
      clientMsg(MessageType.DECLINE, { mac: A, requested: '10.1.0.50', serverId: SID }),
      direct(),
      T0 + 1000,
    );
    expect(d.reply).toBeUndefined();
    expect(d.writes).toHaveLength(1);
    expect(d.writes[0]).toMatchObject({
      address: ip('10.1.0.50'),
      state: BindingState.ABANDONED,
      ends: NOW + 1 + 86400,
    });
    expect(d.writes[0]?.hwAddr).toBeUndefined();
    expect(d.log).toEqual([
      'Abandoning IP address 10.1.0.50: declined.',
      `DHCPDECLINE of 10.1.0.50 from ${A} via eth0: abandoned`,
    ]);
    // Neither the decliner nor anyone else gets it while abandoned.
    expect(c.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0 + 2000).reply!.msg.yiaddr).toBe(
      ip('10.1.0.51'),
    );
    expect(c.tick(T0 + 1000 + 86_399_000)).toEqual([]);
    const back = c.tick(T0 + 1000 + 86_400_000);
    expect(back).toHaveLength(1);
    expect(back[0]?.state).toBe(BindingState.FREE);
  });

  it("a client cannot decline someone else's address", () => {
    const { c } = setup();
    bind(c, B, '10.1.0.50');
    const d = c.handle(clientMsg(MessageType.DECLINE, { mac: A, requested: '10.1.0.50' }), direct(), T0);
    expect(d.drop?.reason).toBe('decline-unknown-lease');
    expect(d.log).toEqual([`DHCPDECLINE of 10.1.0.50 from ${A} via eth0: not found`]);
    expect(c.table.get(ip('10.1.0.50'))?.state).toBe(BindingState.ACTIVE);
  });

  it('an address only offered (not yet bound) can be declined by the client it was offered to', () => {
    const { c } = setup();
    c.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0);
    const d = c.handle(clientMsg(MessageType.DECLINE, { mac: A, requested: '10.1.0.50' }), direct(), T0 + 1);
    expect(d.writes[0]?.state).toBe(BindingState.ABANDONED);
  });
});

describe('DHCPRELEASE (RFC 2131 4.3.4)', () => {
  it('frees the binding, keeps the association, and the client gets the same address on its next DISCOVER', () => {
    const { c } = setup();
    bind(c, A, '10.1.0.51');
    const d = c.handle(
      clientMsg(MessageType.RELEASE, { mac: A, ciaddr: '10.1.0.51', serverId: SID }),
      direct(),
      T0 + 5000,
    );
    expect(d.reply).toBeUndefined();
    expect(d.writes[0]).toMatchObject({
      address: ip('10.1.0.51'),
      state: BindingState.RELEASED,
      ends: NOW + 5,
    });
    expect(d.log).toEqual([`DHCPRELEASE of 10.1.0.51 from ${A} via eth0 (found)`]);
    // Another client gets a never-used address first...
    expect(c.handle(clientMsg(MessageType.DISCOVER, { mac: B }), direct(), T0 + 6000).reply!.msg.yiaddr).toBe(
      ip('10.1.0.50'),
    );
    // ...and the releasing client its old one.
    expect(c.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0 + 7000).reply!.msg.yiaddr).toBe(
      ip('10.1.0.51'),
    );
  });

  it("ignores a release of someone else's lease", () => {
    const { c } = setup();
    bind(c, B, '10.1.0.51');
    const d = c.handle(clientMsg(MessageType.RELEASE, { mac: A, ciaddr: '10.1.0.51' }), direct(), T0);
    expect(d.drop?.reason).toBe('release-unknown-lease');
    expect(d.log).toEqual([`DHCPRELEASE of 10.1.0.51 from ${A} via eth0 (not found)`]);
    expect(c.table.get(ip('10.1.0.51'))?.state).toBe(BindingState.ACTIVE);
  });
});

describe('DHCPINFORM (RFC 2131 4.3.5)', () => {
  it('answers options only: no yiaddr, no lease time, to ciaddr', () => {
    const { c } = setup();
    const d = c.handle(
      clientMsg(MessageType.INFORM, { mac: A, ciaddr: '10.1.0.9', prl: [3, 6] }),
      direct(),
      T0,
    );
    const m = d.reply!.msg;
    expect(m.options.find((o) => o.code === 53)?.data[0]).toBe(MessageType.ACK);
    expect(m.yiaddr).toBe(0);
    expect(m.ciaddr).toBe(ip('10.1.0.9'));
    expect(optIp(m, 51)).toBeUndefined();
    expect(optIp(m, 58)).toBeUndefined();
    expect(optIp(m, 3)).toBe(ip('10.1.0.1'));
    expect(d.reply!.to).toEqual({ kind: 'unicast', ip: ip('10.1.0.9'), port: 68 });
    expect(d.writes).toEqual([]);
    expect(d.log).toEqual(['DHCPINFORM from 10.1.0.9 via eth0', `DHCPACK to 10.1.0.9 (${A}) via eth0`]);
  });

  it('drops an INFORM with neither ciaddr nor source address', () => {
    expect(setup().c.handle(clientMsg(MessageType.INFORM), direct(), T0).drop?.reason).toBe(
      'inform-no-address',
    );
  });
});

describe('BOOTP (no option 53)', () => {
  it('a dynamic BOOTP client gets an infinite binding from a dynamic-bootp range only', () => {
    const { c } = setup();
    const d = c.handle(clientMsg(undefined, { mac: A }), direct(), T0);
    const m = d.reply!.msg;
    expect(m.yiaddr).toBe(ip('10.1.0.60'));
    expect(m.options.find((o) => o.code === 53)).toBeUndefined();
    expect(optIp(m, 51)).toBeUndefined();
    expect(d.writes[0]).toMatchObject({ state: BindingState.ACTIVE, ends: INFINITE });
    expect(d.log).toEqual([`BOOTREQUEST from ${A} via eth0`, `BOOTREPLY on 10.1.0.60 to ${A} via eth0`]);
  });

  it('a reserved BOOTP client gets its fixed address with no write', () => {
    const { b } = setup();
    b.host('old-printer', { hw: A, fixed: ['10.1.0.200'] });
    const c = new DhcpServerCore(b.build(), new LeaseTable(), { serverId: ip(SID) });
    const d = c.handle(clientMsg(undefined, { mac: A }), direct(), T0);
    expect(d.reply!.msg.yiaddr).toBe(ip('10.1.0.200'));
    expect(d.writes).toEqual([]);
  });

  it('deny bootp: silence', () => {
    const { c } = setup({ bootp: false });
    expect(c.handle(clientMsg(undefined), direct(), T0).drop?.reason).toBe('bootp-denied');
  });

  it('a range in the subnet without dynamic-bootp, and no reservation: silence', () => {
    // ISC 4.4.3 (real dhcpd in a namespace: `range` in the subnet, the `pool { }` denying dynamic bootp): no reply.
    const b = new ConfigBuilder({ pingCheck: false });
    b.subnet('10.1.0.0/24', {
      pools: [
        { implicit: true, ranges: [['10.1.0.50', '10.1.0.52']] },
        { permits: { allowDynamicBootp: false }, ranges: [['10.1.0.70', '10.1.0.72']] },
      ],
    });
    const c = new DhcpServerCore(b.build(), new LeaseTable(), { serverId: ip(SID) });
    expect(c.handle(clientMsg(undefined), direct(), T0).drop?.reason).toBe('bootp-denied');
  });

  it('a `pool { }` serves BOOTP clients unless it denies dynamic bootp clients (ISC 4.4.3 did, checked)', () => {
    const b = new ConfigBuilder({ pingCheck: false });
    b.subnet('10.1.0.0/24', { pools: [{ ranges: [['10.1.0.50', '10.1.0.52']] }] });
    const c = new DhcpServerCore(b.build(), new LeaseTable(), { serverId: ip(SID) });
    const d = c.handle(clientMsg(undefined, { mac: A }), direct(), T0);
    expect(d.reply!.msg.yiaddr).toBe(ip('10.1.0.50'));
    expect(d.writes[0]).toMatchObject({ state: BindingState.ACTIVE, ends: INFINITE });
    // Again: its own binding back.
    expect(c.handle(clientMsg(undefined, { mac: A }), direct(), T0 + 1000).reply!.msg.yiaddr).toBe(
      ip('10.1.0.50'),
    );
  });

  it('a BOOTP reply: 300 octets (64-octet vend, RFC 951), siaddr the server, host answers in ISC order', () => {
    // ISC 4.4.3 for a host declaration (BOOTREQUEST with an RFC 1048 cookie): 300 octets, siaddr = its address,
    // vend 1,3,6,28,42: options that do not fit whole are left out, no overload.
    const { b } = setup();
    b.host('old-printer', { hw: A, fixed: ['10.1.0.200'] });
    const c = new DhcpServerCore(b.build(), new LeaseTable(), { serverId: ip(SID) });
    const d = c.handle(clientMsg(undefined, { mac: A, prl: [6, 3] }), direct(), T0);
    const m = d.reply!.msg;
    expect(m.siaddr).toBe(ip(SID));
    expect(m.options.map((o) => o.code)).toEqual([1, 3, 6]); // request list ignored, as ISC
    const bytes = encodeDhcp(m, { maxSize: d.reply!.maxSize, allowOverload: true });
    expect(bytes.length).toBe(300);
  });

  it("a larger request widens the vend field to the request's (ISC 4.4.3: a 548-octet request, a 541-octet reply)", () => {
    const b = new ConfigBuilder({ pingCheck: false });
    const t = (n: number): Uint8Array => new Uint8Array(n).fill(0x61);
    b.subnet('10.1.0.0/24', { options: { 3: ipBytes('10.1.0.1'), 14: t(54), 15: t(35), 17: t(91) } });
    b.host('old-printer', { hw: A, fixed: ['10.1.0.200'] });
    const c = new DhcpServerCore(b.build(), new LeaseTable(), { serverId: ip(SID) });
    // A BOOTREQUEST as received: 300 octets (a 64-octet vend area), or padded to 548 (312).
    const received = (size: number) => {
      const bytes = new Uint8Array(size);
      bytes.set(encodeDhcp(clientMsg(undefined, { mac: A })));
      const m = decodeDhcp(bytes);
      if (isWireError(m)) throw new Error(m.detail);
      return m;
    };
    const small = c.handle(received(300), direct(), T0).reply!;
    expect(small.maxSize).toBe(328); // 300 octets + IP and UDP headers
    const r300 = decodeDhcp(encodeDhcp(small.msg, { maxSize: small.maxSize })) as DhcpMessage;
    expect(r300.options.map((o) => o.code)).toEqual([1, 3, 15]); // 17 and 14 do not fit 64 octets
    const big = c.handle(received(548), direct(), T0).reply!;
    expect(big.maxSize).toBe(576);
    const bytes = encodeDhcp(big.msg, { maxSize: big.maxSize });
    const r548 = decodeDhcp(bytes) as DhcpMessage;
    expect(r548.options.map((o) => o.code)).toEqual([1, 3, 17, 14, 15]);
    expect(bytes.length).toBe(236 + 4 + 6 + 6 + 93 + 56 + 37 + 1); // not padded to the request's size, as ISC
    expect(r548.layout!.overload).toBe(0); // never overloaded (RFC 951 clients read file and sname as names)
    // A client naming its maximum (option 57) gets that, as ISC honours it.
    const named = c.handle(clientMsg(undefined, { mac: A, maxSize: 1000 }), direct(), T0).reply!;
    expect(named.maxSize).toBe(1000);
  });
});

describe('bad input', () => {
  it('drops replies and server-only message types under named reasons', () => {
    const { c } = setup();
    const reply = clientMsg(MessageType.DISCOVER);
    reply.op = 2;
    expect(c.handle(reply, direct(), T0).drop?.reason).toBe('not-bootrequest');
    expect(c.handle(clientMsg(MessageType.OFFER), direct(), T0).drop?.reason).toBe('bad-message-type');
    expect(c.counters.get('drop.bad-message-type')).toBe(1);
  });
});

describe('free (lease4-del)', () => {
  it('returns the address to the pool with no client attached, applied to the table at once', () => {
    const { c } = setup();
    bind(c, A, '10.1.0.50');
    const w = c.free(ip('10.1.0.50'), T0 + 5000);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({
      address: ip('10.1.0.50'),
      state: BindingState.FREE,
      starts: NOW + 5,
      ends: 0,
    });
    expect(w[0]?.hwAddr).toBeUndefined();
    expect(c.table.get(ip('10.1.0.50'))?.state).toBe(BindingState.FREE);
    expect(c.free(ip('10.1.0.99'), T0)).toEqual([]);
  });
});

describe('configuration reload (a new core over the same table)', () => {
  it('keeps offers in flight, counters and probe answers: an offered address is not offered to another client', () => {
    const { c: old, b } = setup();
    const table = old.table;
    const offered = old.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0).reply!.msg.yiaddr;
    expect(offered).toBe(ip('10.1.0.50'));

    const fresh = (): DhcpServerCore => new DhcpServerCore(b.build(), table, { serverId: ip(SID) });
    // Without the carry-over the reloaded core would offer the same address to B (what this test guards).
    const naive = fresh();
    expect(
      naive.handle(clientMsg(MessageType.DISCOVER, { mac: B }), direct(), T0 + 100).reply!.msg.yiaddr,
    ).toBe(offered);

    const reloaded = fresh();
    reloaded.carryOver(old);
    const other = reloaded.handle(clientMsg(MessageType.DISCOVER, { mac: B }), direct(), T0 + 100).reply!.msg
      .yiaddr;
    expect(other).not.toBe(offered);
    // A's REQUEST for its offer is acknowledged by the reloaded core.
    const ack = reloaded.handle(
      clientMsg(MessageType.REQUEST, { mac: A, requested: '10.1.0.50', serverId: SID }),
      direct(),
      T0 + 200,
    );
    expect(ack.reply!.msg.yiaddr).toBe(offered);
    expect(reloaded.counters.get('rx.DHCPDISCOVER')).toBe(2); // one before the reload, one after
    expect(reloaded.counters.get('rx.DHCPREQUEST')).toBe(1);
  });

  it('drops a carried-over offer whose address the new configuration no longer pools', () => {
    const { c: old } = setup();
    const offered = old.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0).reply!.msg.yiaddr;
    expect(offered).toBe(ip('10.1.0.50'));
    const nb = new ConfigBuilder({ defaultLeaseTime: 600, pingCheck: false });
    nb.subnet('10.1.0.0/24', { pools: [{ ranges: [['10.1.0.51', '10.1.0.52']] }] });
    const reloaded = new DhcpServerCore(nb.build(), old.table, { serverId: ip(SID) });
    reloaded.carryOver(old);
    // A retransmits its DISCOVER: it gets an address of the new range, not the one the old range offered it.
    const again = reloaded.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0 + 1000).reply!.msg
      .yiaddr;
    expect(again).toBe(ip('10.1.0.51'));
  });

  it('a carried-over offer ends at its own deadline, not 10 s after the reload', () => {
    const { c: old, b } = setup();
    const offered = old.handle(clientMsg(MessageType.DISCOVER, { mac: A }), direct(), T0).reply!.msg.yiaddr;
    const reloaded = new DhcpServerCore(b.build(), old.table, { serverId: ip(SID) });
    reloaded.carryOver(old);
    const at = (t: number, hw: string): number =>
      reloaded.handle(clientMsg(MessageType.DISCOVER, { mac: hw }), direct(), t).reply!.msg.yiaddr;
    expect(at(T0 + 9_000, B)).not.toBe(offered); // still held for A
    expect(at(T0 + 10_001, '52:54:00:00:00:0c')).toBe(offered); // A's hold ran out at T0 + 10 s
  });
});
