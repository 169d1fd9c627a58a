import { describe, expect, it } from 'vitest';
import { INFINITE } from '@hadhcp/leases';
import { BROADCAST_FLAG } from '../wire/types.js';
import { makeScope, clientMsg, ip, ipBytes, text, MessageType, optU32 } from './test-helpers.js';
import { ScopeView } from './network.js';
import { buildReply, iscHashBucket, renewalTimes, replyOptions } from './reply.js';
import { decodeDhcp } from '../wire/codec.js';
import { encodeDhcpDetailed } from '../wire/encode.js';

const global = makeScope(
  undefined,
  { nextServer: ip('10.1.0.5'), filename: 'pxelinux.0', serverName: 'boot1' },
  {
    3: ipBytes('10.1.0.1'),
    6: ipBytes('10.1.0.2', '10.1.0.3'),
    15: text('lan'),
    42: ipBytes('10.1.0.4'),
    54: ipBytes('9.9.9.9'), // server-controlled: must not override the server identifier
  },
);
const view = new ScopeView([global]);
const base = {
  yiaddr: ip('10.1.0.60'),
  ciaddr: 0,
  serverId: ip('10.1.0.1'),
  scope: view,
  subnetMask: 0xffffff00,
};

describe('replyOptions', () => {
  it('puts 53, 54 and the lease times first, then requested options in request order, the subnet mask in place of the routers', () => {
    const req = clientMsg(MessageType.DISCOVER, { prl: [15, 6, 99, 3] });
    const opts = replyOptions({ ...base, type: MessageType.OFFER, req, leaseTime: 600 });
    // ISC 4.4.3 answered a DISCOVER requesting 3,6,15 with 1,6,15,3: the mask it appends swaps with the routers.
    expect(opts.map((o) => o.code)).toEqual([53, 54, 51, 58, 59, 15, 6, 1, 3]);
    expect(opts.find((o) => o.code === 54)?.data).toEqual(ipBytes('10.1.0.1'));
  });

  it('sends nothing unrequested but the subnet mask when the client sends a request list (as ISC)', () => {
    const req = clientMsg(MessageType.DISCOVER, { prl: [1] });
    const codes = replyOptions({ ...base, type: MessageType.OFFER, req, leaseTime: 600 }).map((o) => o.code);
    expect(codes).not.toContain(42);
    expect(codes).not.toContain(3);
  });

  // Expected orders below: what ISC dhcpd 4.4.3 sent (raw DHCPDISCOVERs from a script to the real dhcpd in a network
  // namespace, dhcpd.conf with routers, domain-name-servers, domain-name, root-path, ntp-servers ...).
  it('RFC 2132 3.3: a request list with 3 before 1 gets the mask first (ISC: 3,1,6 -> 1,3,6)', () => {
    const req = clientMsg(MessageType.DISCOVER, { prl: [3, 1, 6] });
    const codes = replyOptions({ ...base, type: MessageType.OFFER, req, leaseTime: 600 }).map((o) => o.code);
    expect(codes).toEqual([53, 54, 51, 58, 59, 1, 3, 6]);
  });

  it('a request list is followed as given otherwise (ISC: 14,17,18,1,3,6,15,28,42 in that order)', () => {
    const scoped = new ScopeView([
      makeScope(
        undefined,
        {},
        { 3: ipBytes('10.1.0.1'), 14: text('d'), 17: text('r'), 28: ipBytes('10.1.0.255') },
      ),
    ]);
    const req = clientMsg(MessageType.DISCOVER, { prl: [14, 17, 18, 1, 3, 6, 15, 28, 42] });
    const codes = replyOptions({ ...base, scope: scoped, type: MessageType.OFFER, req, leaseTime: 600 }).map(
      (o) => o.code,
    );
    expect(codes).toEqual([53, 54, 51, 58, 59, 14, 17, 1, 3, 28]);
  });

  it('the mask is the lowest priority, when not requested, only for DISCOVER and REQUEST (ISC: not for INFORM or BOOTP)', () => {
    const inform = clientMsg(MessageType.INFORM, { prl: [3, 6] });
    const codes = replyOptions({ ...base, type: MessageType.ACK, req: inform }).map((o) => o.code);
    expect(codes).toEqual([53, 54, 3, 6]);
    const bootp = clientMsg(undefined, { prl: [15, 3] });
    expect(replyOptions({ ...base, type: undefined, req: bootp }).map((o) => o.code)).toEqual([15, 3]);
    // ISC's BOOTP answer for a host declaration ignores the request list: the order without one.
    expect(
      replyOptions({ ...base, type: undefined, req: bootp, ignoreRequestList: true }).map((o) => o.code),
    ).toEqual([1, 3, 6, 42, 15]);
  });

  it("without a request list: 1, 3, 6, 12 first, then every other configured option in ISC's hash order", () => {
    const req = clientMsg(MessageType.DISCOVER);
    const codes = replyOptions({ ...base, type: MessageType.OFFER, req, leaseTime: 600 }).map((o) => o.code);
    // Buckets: 42 -> 11, 15 -> 15.
    expect(codes).toEqual([53, 54, 51, 58, 59, 1, 3, 6, 42, 15]);
  });

  it('T1 = 0.5 and T2 = 0.875 of the lease', () => {
    const msg = buildReply({
      ...base,
      type: MessageType.ACK,
      req: clientMsg(MessageType.REQUEST),
      leaseTime: 7200,
    });
    expect(optU32(msg, 51)).toBe(7200);
    expect(optU32(msg, 58)).toBe(3600);
    expect(optU32(msg, 59)).toBe(6300);
  });

  it('an infinite lease is 0xffffffff with no T1/T2', () => {
    const msg = buildReply({
      ...base,
      type: MessageType.ACK,
      req: clientMsg(MessageType.REQUEST),
      leaseTime: INFINITE,
    });
    expect(optU32(msg, 51)).toBe(0xffffffff);
    expect(optU32(msg, 58)).toBeUndefined();
    expect(optU32(msg, 59)).toBeUndefined();
  });

  it('echoes option 82 verbatim and last, even when the client requests it earlier (RFC 3046 2.2)', () => {
    const agent = Uint8Array.of(1, 3, 0x65, 0x74, 0x30, 2, 2, 0xaa, 0xbb);
    const req = clientMsg(MessageType.DISCOVER, {
      giaddr: '10.2.0.1',
      prl: [82, 3],
      extra: [{ code: 82, data: agent }],
    });
    const opts = replyOptions({ ...base, type: MessageType.OFFER, req, leaseTime: 600 });
    expect(opts.at(-1)).toEqual({ code: 82, data: agent });
    expect(opts.filter((o) => o.code === 82)).toHaveLength(1);
  });

  it('does not echo a malformed option 82', () => {
    const req = clientMsg(MessageType.DISCOVER, { extra: [{ code: 82, data: Uint8Array.of(1, 9, 0) }] });
    expect(
      replyOptions({ ...base, type: MessageType.OFFER, req, leaseTime: 600 }).map((o) => o.code),
    ).not.toContain(82);
  });
});

// ISC dhcpd 4.4's order without a request list: its option hash table, 17 buckets, each listing the option set
// last first (the conformance lab's 'no PRL' scenarios: ISC 4.4.3 sent 1,3,6,17,18,42,28,14,15 for the subnet
// below, where sorting by code gave 14,15,17,18,28,42).
describe("ISC's option order without a parameter request list", () => {
  it('buckets a code by the sum of its 5-bit digits, modulo 17', () => {
    expect([17, 18, 1, 3, 6, 28, 42, 14, 15].map(iscHashBucket)).toEqual([0, 1, 1, 3, 6, 11, 11, 14, 15]);
    expect(iscHashBucket(0)).toBe(0);
    expect(iscHashBucket(43)).toBe(12); // 11 + 1
    expect(iscHashBucket(224)).toBe(7); // 0 + 7
    expect(iscHashBucket(255)).toBe(4); // (31 + 7) % 17
  });

  // The conformance lab's relayed subnet (test/lab/lib/fixtures/conformance/dhcpd.conf), options in the order written.
  const relayed = makeScope(undefined, {}, [
    [3, ipBytes('10.1.2.1')],
    [6, ipBytes('10.0.0.53', '10.0.0.54', '10.0.0.55')],
    [15, text('relayed.conformance.lab.example.org')],
    [28, ipBytes('10.1.2.255')],
    [42, ipBytes('10.0.0.123', '10.0.0.124')],
    [17, text('/srv/nfs/roots/conformance/a-rather-long-root-path-so-that-the-options-overflow/client-root')],
    [14, text('/var/crash/merit-dump-with-a-name-long-enough-to-count')],
    [18, text('/srv/tftp/extensions/a-file-with-a-long-name-for-the-overload-test.ext')],
  ]);
  const relayedSpec = {
    ...base,
    scope: new ScopeView([relayed]),
    type: MessageType.OFFER,
    req: clientMsg(MessageType.DISCOVER, { giaddr: '10.1.2.1' }),
    leaseTime: 600,
  };

  it('walks the buckets in order, the option set last first within one (ISC 4.4.3: 17,18,42,28,14,15)', () => {
    const codes = replyOptions(relayedSpec).map((o) => o.code);
    expect(codes).toEqual([53, 54, 51, 58, 59, 1, 3, 6, 17, 18, 42, 28, 14, 15]);
  });

  it('so at 576 octets the domain name is the one that goes to file, as ISC places it', () => {
    const r = encodeDhcpDetailed(buildReply(relayedSpec), { maxSize: 576, allowOverload: true });
    const m = decodeDhcp(r.bytes);
    if ('reason' in m) throw new Error(m.reason);
    expect(r.overload).toBe(1);
    expect(m.layout!.options.items.map((i) => i.code)).toEqual([
      53, 54, 51, 58, 59, 1, 3, 6, 17, 18, 42, 28, 14, 52, 255,
    ]);
    expect(m.layout!.file!.items.map((i) => `${i.code}/${i.len}`)).toEqual(['15/35', '255/0']);
    // ISC sent 522 octets; 58 and 59 (6 octets each), which ISC sends only when configured, make 534.
    expect(r.bytes.length).toBe(522 + 12);
  });

  it('scopes run outermost first: an option an inner scope sets again keeps the place its first setting gave it', () => {
    const global = makeScope(undefined, {}, [[42, ipBytes('10.9.9.9')]]);
    const subnet = makeScope(global, {}, [
      [28, ipBytes('10.1.2.255')],
      [42, ipBytes('10.0.0.123')],
    ]);
    const host = makeScope(undefined, {}, [[17, text('/root')]]);
    const view = ScopeView.of({ host, subnet, global });
    const opts = replyOptions({ ...base, scope: view, type: MessageType.OFFER, req: relayedSpec.req });
    // 42 (global) was set before 28 (subnet): 28 heads bucket 11. The value is the nearest scope's.
    expect(opts.map((o) => o.code)).toEqual([53, 54, 1, 17, 28, 42]);
    expect(opts.find((o) => o.code === 42)?.data).toEqual(ipBytes('10.0.0.123'));
  });
});

describe('buildReply', () => {
  it('fills PXE fields: siaddr = next-server, file = filename, sname = server-name', () => {
    const msg = buildReply({
      ...base,
      type: MessageType.OFFER,
      req: clientMsg(MessageType.DISCOVER),
      leaseTime: 600,
    });
    expect(msg.siaddr).toBe(ip('10.1.0.5'));
    expect(new TextDecoder().decode(msg.file.subarray(0, 10))).toBe('pxelinux.0');
    expect(msg.file[10]).toBe(0);
    expect(msg.file).toHaveLength(128);
    expect(new TextDecoder().decode(msg.sname.subarray(0, 5))).toBe('boot1');
    expect(msg.sname).toHaveLength(64);
  });

  it('a filename or server name too long for its field is cut, its last octet kept NUL', () => {
    const long = new ScopeView([
      makeScope(undefined, { filename: 'f'.repeat(200), serverName: 's'.repeat(80) }, {}),
    ]);
    const msg = buildReply({
      ...base,
      scope: long,
      type: MessageType.OFFER,
      req: clientMsg(MessageType.DISCOVER),
      leaseTime: 600,
    });
    expect(new TextDecoder().decode(msg.file.subarray(0, 127))).toBe('f'.repeat(127));
    expect(msg.file[127]).toBe(0);
    expect(msg.file).toHaveLength(128);
    expect(new TextDecoder().decode(msg.sname.subarray(0, 63))).toBe('s'.repeat(63));
    expect(msg.sname[63]).toBe(0);
  });

  it('NAK: no addresses, no configuration but its message, broadcast bit set when relayed (RFC 2131 4.3.2)', () => {
    const req = clientMsg(MessageType.REQUEST, { giaddr: '10.2.0.1', ciaddr: '10.2.0.9' });
    const msg = buildReply({
      ...base,
      type: MessageType.NAK,
      req,
      message: 'requested address not available',
    });
    expect(msg.yiaddr).toBe(0);
    expect(msg.ciaddr).toBe(0);
    expect(msg.siaddr).toBe(0);
    expect(msg.flags & BROADCAST_FLAG).toBe(BROADCAST_FLAG);
    // RFC 2131 4.3.1 Table 3: 53, 54 and a message (56, SHOULD); ISC 4.4.3's order.
    expect(msg.options.map((o) => o.code)).toEqual([53, 54, 56]);
    expect(new TextDecoder().decode(msg.options[2]!.data)).toBe('requested address not available');
  });

  it('copies xid, chaddr, giaddr and the broadcast flag', () => {
    const req = clientMsg(MessageType.DISCOVER, { xid: 77, giaddr: '10.2.0.1', broadcast: true });
    const msg = buildReply({ ...base, type: MessageType.OFFER, req, leaseTime: 600 });
    expect([msg.op, msg.xid, msg.giaddr, msg.flags, msg.yiaddr]).toEqual([
      2,
      77,
      ip('10.2.0.1'),
      BROADCAST_FLAG,
      ip('10.1.0.60'),
    ]);
    expect(msg.chaddr).toEqual(req.chaddr);
  });
});

describe('renewalTimes (RFC 2131 4.4.5)', () => {
  const be = (v: number) => Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);

  it('defaults to 0.5 and 0.875 of the lease', () => {
    expect(renewalTimes(3600, undefined, undefined)).toEqual([1800, 3150]);
  });

  it('keeps configured values that fit the lease granted', () => {
    expect(renewalTimes(3600, be(1000), be(2000))).toEqual([1000, 2000]);
  });

  it('configured values beyond a shorter lease are clamped: T1 < T2 < lease', () => {
    expect(renewalTimes(600, be(1800), be(3150))).toEqual([300, 525]);
    const [t1, t2] = renewalTimes(600, be(500), be(3150));
    expect([t1, t2]).toEqual([500, 525]);
    expect(renewalTimes(600, be(400), be(200))).toEqual([Math.floor((200 * 4) / 7), 200]);
  });

  it('a reply for a short lease carries the clamped times', () => {
    const scoped = new ScopeView([makeScope(undefined, {}, { 58: be(1800), 59: be(3150) })]);
    const req = clientMsg(MessageType.REQUEST, { prl: [58, 59] });
    const opts = replyOptions({ ...base, type: MessageType.ACK, req, scope: scoped, leaseTime: 600 });
    expect(optU32({ options: opts } as never, 58)).toBe(300);
    expect(optU32({ options: opts } as never, 59)).toBe(525);
  });
});
