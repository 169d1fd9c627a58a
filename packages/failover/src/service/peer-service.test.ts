import { describe, expect, it } from 'vitest';
import { BindingStatus, MessageType, RejectReason, ServerState } from '../wire/constants.js';
import { splitToHba } from '../wire/hba.js';
import type { ConnectAckMessage, ConnectMessage } from '../wire/types.js';
import { encodeMessage } from '../wire/codec.js';
import { bytesOf, text } from '../wire/values.js';
import {
  A,
  B,
  ip,
  makeNode,
  NAME,
  settings,
  world,
  type Node,
  type RawPeer,
} from '../../test-vectors/service-fakes.js';

/*
 * Issue 7 point 2 (the connection) on an in-memory network with a fake clock: two services joined to each other,
 * and one service against the test playing the peer by hand, message by message and byte by byte.
 */

const MRD_MS = 6_000; // settings(): max-response-delay 6 on both sides

async function pair(o: { b?: Parameters<typeof settings>[1] } = {}) {
  const w = world();
  const a = makeNode(w.net, w.sched, 'A', settings('primary'));
  const b = makeNode(w.net, w.sched, 'B', settings('secondary', o.b));
  await a.svc.start();
  await b.svc.start();
  return { ...w, a, b };
}

const state = (n: Node) => n.svc.status().state;
const bothNormal = (a: Node, b: Node) => () => state(a) === 'normal' && state(b) === 'normal';

/** The CONNECT an ISC primary sends (server-lan frame 8's fields), at `time` (seconds). */
function connect(time: number, o: Partial<ConnectMessage> = {}): ConnectMessage {
  return {
    type: MessageType.CONNECT,
    time,
    xid: 100,
    relationshipName: bytesOf(NAME),
    maxUnacked: 10,
    receiveTimer: 6,
    vendorClass: bytesOf('isc-4.4.3-P1'),
    protocolVersion: 1,
    tlsRequest: 0,
    mclt: 3600,
    hba: splitToHba(128),
    ...o,
  };
}

function connectAck(time: number, xid: number, o: Partial<ConnectAckMessage> = {}): ConnectAckMessage {
  return {
    type: MessageType.CONNECTACK,
    time,
    xid,
    relationshipName: bytesOf(NAME),
    maxUnacked: 10,
    receiveTimer: 6,
    vendorClass: bytesOf('isc-4.4.3-P1'),
    protocolVersion: 1,
    ...o,
  };
}

/** A secondary alone, and the test as its primary on a connection from A's address. */
async function secondaryAndRawPrimary() {
  const w = world();
  const b = makeNode(w.net, w.sched, 'B', settings('secondary'));
  await b.svc.start();
  const raw = w.net.connect(A, B, w.clock);
  await w.sched.advance(0);
  const nowSec = () => Math.floor(w.clock.now() / 1000);
  return { ...w, b, raw, nowSec };
}

/** A primary alone, and the test as its secondary on a connection from B's address; A's CONNECT received. */
async function primaryAndRawSecondary() {
  const w = world();
  const a = makeNode(w.net, w.sched, 'A', settings('primary'));
  await a.svc.start();
  const raw = w.net.connect(B, A, w.clock);
  await w.sched.advance(0);
  const sent = raw.ofType(MessageType.CONNECT)[0]!;
  const nowSec = () => Math.floor(w.clock.now() / 1000);
  return { ...w, a, raw, sent, nowSec };
}

async function handshake(raw: RawPeer, sched: { advance(ms: number): Promise<void> }, time: number) {
  raw.send(connect(time));
  await sched.advance(0);
  const ack = raw.ofType(MessageType.CONNECTACK)[0];
  expect(ack?.rejectReason).toBeUndefined();
}

describe('two services on one network', () => {
  it('connect and reach normal from fresh stores (both recover -> recover-done -> normal), logging what ISC logs', async () => {
    const { a, b, sched, net } = await pair();
    await sched.until(bothNormal(a, b), 30_000);
    for (const n of [a, b]) {
      expect(n.messages()).toContain('failover peer dhcp-failover: I move from recover to startup');
      expect(n.messages()).toContain('failover peer dhcp-failover: I move from recover-done to normal');
      expect(n.messages()).toContain('failover peer dhcp-failover: peer moves from recover-done to normal');
      expect(n.svc.status().connected).toBe(true);
      expect(n.svc.status().serve).toBe('all');
    }
    // The primary sent CONNECT, the secondary answered: one of each, whoever dialled.
    expect(net.trace.filter((l) => l.endsWith('CONNECT'))).toEqual(['A> CONNECT']);
    expect(net.trace.filter((l) => l.endsWith('CONNECTACK'))).toEqual(['B> CONNECTACK']);
    // The secondary took MCLT and HBA from the CONNECT; each side knows the other's receive timer.
    expect(b.svc.status()).toMatchObject({ mclt: 3600, primaryBuckets: 128, partner: { receiveTimer: 6 } });
    expect(a.svc.status()).toMatchObject({ mclt: 3600, primaryBuckets: 128, partner: { maxUnacked: 10 } });
  });

  it('writes every state before the STATE announcing it leaves', async () => {
    const { a, b, sched, net } = await pair();
    await sched.until(bothNormal(a, b), 30_000);
    let states = 0;
    for (const tag of ['A', 'B']) {
      let recorded: string | undefined;
      for (const line of net.trace) {
        if (line.startsWith(`${tag} persist `)) recorded = line.slice(`${tag} persist `.length);
        const m = /^(\w)> STATE (\S+)/.exec(line);
        if (m?.[1] === tag) {
          states++;
          expect(recorded, line).toBe(m[2]);
        }
      }
    }
    expect(states).toBeGreaterThanOrEqual(6);
  });

  it('keeps the link up with CONTACTs at a third of the partner receive-timer, for minutes of quiet', async () => {
    const { a, b, sched } = await pair();
    await sched.until(bothNormal(a, b), 30_000);
    await sched.advance(10_000);
    const before = a.svc.status().counters['out.CONTACT'] ?? 0;
    await sched.advance(120_000);
    // 6 s / 3 = one every 2 s, and nothing else to send.
    expect((a.svc.status().counters['out.CONTACT'] ?? 0) - before).toBe(60);
    expect(state(a)).toBe('normal');
    expect(state(b)).toBe('normal');
    expect(b.svc.status().counters['links.timeout']).toBeUndefined();
  });

  it('silence for max-response-delay drops the link (1 ms early: still up), both go communications-interrupted, and reconnect to normal', async () => {
    const { a, b, sched, clock, net } = await pair();
    await sched.until(bothNormal(a, b), 30_000);
    await sched.advance(3_000);
    net.partition();
    const heard = Date.parse(b.svc.status().lastContact!);
    await sched.advance(heard + MRD_MS - 1 - clock.now());
    expect(b.svc.status().connected).toBe(true);
    expect(state(b)).toBe('normal');
    await sched.advance(1);
    expect(b.svc.status().connected).toBe(false);
    expect(state(b)).toBe('communications-interrupted');
    expect(b.messages()).toContain('timeout waiting for failover peer dhcp-failover');
    expect(b.messages()).toContain(
      'failover peer dhcp-failover: I move from normal to communications-interrupted',
    );
    await sched.advance(MRD_MS);
    expect(state(a)).toBe('communications-interrupted');
    expect(b.svc.status().serve).toBe('own');

    net.heal();
    const took = await sched.until(bothNormal(a, b), 30_000);
    // Dialled again 5 s after the link was lost (ISC's delay), then CONNECT, STATE, normal.
    expect(took).toBeLessThanOrEqual(5_100);
    expect(a.messages()).toContain(
      'failover peer dhcp-failover: peer moves from communications-interrupted to normal',
    );
    expect(a.messages()).toContain(
      'failover peer dhcp-failover: I move from communications-interrupted to normal',
    );
    expect(b.svc.status().counters['links.timeout']).toBe(1);
  });

  it('a link closed by the peer is a disconnect at once; a restart without leases recovers, waiting out MCLT', async () => {
    const { a, b, sched, net, clock } = await pair();
    await sched.until(bothNormal(a, b), 30_000);
    await b.svc.stop();
    await sched.advance(0);
    expect(state(a)).toBe('communications-interrupted');
    expect(b.store.record?.my).toBe(2); // normal, as recorded: stop() does not change it
    // B comes back with its record but no leases (the recorder keeps them in memory): recover. A, which had been
    // cut off, hears recover and goes partner-down (ISC's rule); B catches up with UPDREQALL, then must wait out
    // MCLT from when it entered recover before serving again, because its partner did not recover with it.
    const b2 = makeNode(net, sched, 'B2', settings('secondary'), { store: b.store });
    await b2.svc.start();
    await sched.until(() => state(b2) === 'recover-wait', 30_000);
    expect(state(a)).toBe('partner-down');
    expect(b2.messages()).toContain(
      'failover peer dhcp-failover: lease store empty, recorded state normal ignored',
    );
    const waitEnds = Date.parse(b2.svc.status().since) + 3_600_000;
    await sched.advance(waitEnds - 1 - clock.now());
    expect(state(b2)).toBe('recover-wait');
    await sched.advance(1);
    await sched.until(bothNormal(a, b2), 30_000);
  });

  it('SIGTERM in normal (shutdown()): says shutdown, the partner goes partner-down, recover is recorded, then stops', async () => {
    const { a, b, sched } = await pair();
    await sched.until(bothNormal(a, b), 30_000);
    const done = a.svc.shutdown();
    await sched.advance(1_000);
    await done;
    expect(a.messages()).toContain('failover peer dhcp-failover: I move from normal to shutdown');
    expect(state(b)).toBe('partner-down');
    expect(a.store.record?.my).toBe(6); // recover, recorded as ISC does on its way out
    await sched.advance(0);
    expect(b.svc.status().connected).toBe(false);
  });

  it('a state that cannot be written is not entered (ISC: "Unable to record current failover state")', async () => {
    const { a, b, sched, net } = await pair();
    await sched.until(bothNormal(a, b), 30_000);
    a.store.failing = true;
    net.partition();
    await sched.advance(MRD_MS + 100);
    expect(a.svc.status().connected).toBe(false);
    expect(state(a)).toBe('normal');
    expect(a.messages()).toContain(
      'Unable to record current failover state for dhcp-failover: ENOSPC: no space left on device',
    );
    expect(a.svc.status().counters['state-write-failed']).toBeGreaterThanOrEqual(1);
  });
});

describe('CONNECT checks on the secondary, in ISC order, each with its reject reason', () => {
  const cases: [string, (t: number) => ConnectMessage, RejectReason, RegExp][] = [
    [
      'another relationship name',
      (t) => connect(t, { relationshipName: bytesOf('dhcp-failover2') }),
      8,
      /unknown failover relationship name "dhcp-failover2"/,
    ],
    [
      'no relationship name',
      (t) => connect(t, { relationshipName: undefined }),
      8,
      /missing relationship-name/,
    ],
    ['a clock 61 s ahead', (t) => connect(t + 61), 4, /time offset too large .*ahead by 61 s/],
    ['a clock 61 s behind', (t) => connect(t - 61), 4, /behind by 61 s/],
    ['no HBA', (t) => connect(t, { hba: undefined }), 18, /invalid HBA/],
    ['an HBA of 31 bytes', (t) => connect(t, { hba: new Uint8Array(31) }), 18, /invalid HBA/],
    ['no MCLT', (t) => connect(t, { mclt: undefined }), 5, /no MCLT provided/],
  ];
  for (const [what, make, reason, detail] of cases) {
    it(`${what}: CONNECTACK reject ${reason}, logged, counted, closed; the machine never connected`, async () => {
      const { b, raw, sched, nowSec } = await secondaryAndRawPrimary();
      raw.send(make(nowSec()));
      await sched.advance(0);
      const ack = raw.ofType(MessageType.CONNECTACK)[0]!;
      expect(ack.rejectReason).toBe(reason);
      expect(ack.xid).toBe(100);
      expect(text(ack.message)).toMatch(detail);
      expect(raw.closedByOther).toBe(true);
      expect(b.svc.status().counters[`refused-connect.${reason}`]).toBe(1);
      expect(b.svc.status().connected).toBe(false);
      expect(b.svc.machine.connected).toBe(false);
      expect(
        b.lines.some((l) => l.level === 'error' && /CONNECT from 10\.0\.0\.2:\d+ refused/.test(l.msg)),
      ).toBe(true);
    });
  }

  it('a clock exactly 60 s off is accepted: CONNECTACK (xid echoed, TLS-reply 0), then STATE with STARTUP', async () => {
    const { b, raw, sched, nowSec } = await secondaryAndRawPrimary();
    raw.send(connect(nowSec() + 60));
    await sched.advance(0);
    const [ack, st] = raw.received;
    expect(ack).toMatchObject({
      type: MessageType.CONNECTACK,
      xid: 100,
      tlsReply: 0,
      maxUnacked: 10,
      receiveTimer: 6,
    });
    expect((ack as ConnectAckMessage).rejectReason).toBeUndefined();
    expect(st).toMatchObject({ type: MessageType.STATE, serverState: 6, serverFlags: 1 });
    expect(b.svc.status()).toMatchObject({ connected: true, mclt: 3600, primaryBuckets: 128 });
  });

  it('a second CONNECT while linked (another connection) gets reject 7 "already connected"; the link stays', async () => {
    const { b, raw, sched, net, nowSec } = await secondaryAndRawPrimary();
    await handshake(raw, sched, nowSec());
    const second = net.connect(A, B, sched.clock);
    await sched.advance(0);
    second.send(connect(nowSec(), { xid: 200 }));
    await sched.advance(0);
    expect(second.ofType(MessageType.CONNECTACK)[0]).toMatchObject({ xid: 200, rejectReason: 7 });
    expect(second.closedByOther).toBe(true);
    expect(b.svc.status().connected).toBe(true);
    expect(b.svc.status().counters['refused-connect.7']).toBe(1);
  });

  it('a CONNECT to a primary is refused (both configured primary)', async () => {
    const { a, nowSec, raw, sched } = await primaryAndRawSecondary();
    raw.send(connect(nowSec()));
    await sched.advance(0);
    const ack = raw.ofType(MessageType.CONNECTACK)[0]!;
    expect(ack.rejectReason).toBe(8);
    expect(text(ack.message)).toMatch(/both servers are configured as primary/);
    expect(a.svc.status().connected).toBe(false);
  });
});

describe('CONNECTACK checks on the primary', () => {
  it('sends CONNECT with every option ISC sends: name, max-unacked, receive-timer, vendor class, version, TLS 0, MCLT, HBA', async () => {
    const { sent, nowSec } = await primaryAndRawSecondary();
    expect(sent).toMatchObject({
      time: nowSec(),
      maxUnacked: 10,
      receiveTimer: 6,
      protocolVersion: 1,
      tlsRequest: 0,
      mclt: 3600,
      hba: splitToHba(128),
    });
    expect(text(sent.relationshipName)).toBe(NAME);
    expect(text(sent.vendorClass)).toBe('hadhcp');
  });

  it('takes a good CONNECTACK (60 s off is still good) and sends STATE', async () => {
    const { a, raw, sent, sched, nowSec } = await primaryAndRawSecondary();
    raw.send(connectAck(nowSec() - 60, sent.xid));
    await sched.advance(0);
    expect(a.svc.status().connected).toBe(true);
    expect(raw.last()).toMatchObject({ type: MessageType.STATE, serverState: 6, serverFlags: 1 });
  });

  const refusals: [string, (t: number, xid: number) => ConnectAckMessage, RejectReason][] = [
    ['another name', (t, x) => connectAck(t, x, { relationshipName: bytesOf('x') }), 8],
    ['no name', (t, x) => connectAck(t, x, { relationshipName: undefined }), 8],
    ['a clock 61 s behind', (t, x) => connectAck(t - 61, x), 4],
  ];
  for (const [what, make, reason] of refusals) {
    it(`${what}: DISCONNECT with reject ${reason}, closed, not connected`, async () => {
      const { a, raw, sent, sched, nowSec } = await primaryAndRawSecondary();
      raw.send(make(nowSec(), sent.xid));
      await sched.advance(0);
      expect(raw.last()).toMatchObject({ type: MessageType.DISCONNECT, rejectReason: reason });
      expect(raw.closedByOther).toBe(true);
      expect(a.svc.status().connected).toBe(false);
      expect(a.svc.status().counters[`refused-connectack.${reason}`]).toBe(1);
    });
  }

  it('a CONNECTACK carrying a reject reason: logged in ISC words, closed without DISCONNECT', async () => {
    const { a, raw, sent, sched, nowSec } = await primaryAndRawSecondary();
    raw.send(connectAck(nowSec(), sent.xid, { rejectReason: 4, message: bytesOf('time offset too large') }));
    await sched.advance(0);
    expect(raw.ofType(MessageType.DISCONNECT)).toEqual([]);
    expect(raw.closedByOther).toBe(true);
    expect(a.messages()).toContain(
      `failover peer dhcp-failover: CONNECT to ${B}:${raw.conn.local.split(':')[1]} rejected: Connection rejected, time mismatch too great. (time offset too large)`,
    );
  });

  it('no CONNECTACK within 15 s: the connection is closed (ISC link startup timeout), 1 ms early it is not', async () => {
    const { a, raw, sched } = await primaryAndRawSecondary();
    await sched.advance(15_000 - 1);
    expect(raw.closedByOther).toBe(false);
    await sched.advance(1);
    expect(raw.closedByOther).toBe(true);
    expect(a.svc.status().counters['links.startup-timeout']).toBe(1);
  });
});

describe('messages on the link', () => {
  it('BNDUPD -> BNDACK with the xid and address only, recorded; without binding status -> reject 3', async () => {
    const { b, raw, sched, nowSec } = await secondaryAndRawPrimary();
    await handshake(raw, sched, nowSec());
    const lease = ip('10.0.0.120');
    raw.send({
      type: MessageType.BNDUPD,
      time: nowSec(),
      xid: 41,
      assignedIp: lease,
      bindingStatus: BindingStatus.BACKUP,
      leaseExpiry: 0,
      potentialExpiry: 0,
      stos: nowSec(),
    });
    raw.send({ type: MessageType.BNDUPD, time: nowSec(), xid: 42, assignedIp: ip('10.0.0.121') });
    await sched.advance(0);
    // By xid: a refusal leaves at once, an acceptance once stored (with the others of its turn).
    const acks = raw.ofType(MessageType.BNDACK).sort((x, y) => x.xid - y.xid);
    expect(acks).toHaveLength(2);
    expect(acks[0]).toEqual({ type: MessageType.BNDACK, time: nowSec(), xid: 41, assignedIp: lease });
    expect(acks[1]).toMatchObject({ xid: 42, assignedIp: ip('10.0.0.121'), rejectReason: 3 });
    expect(text(acks[1]!.message)).toBe('binding update lacks required options');
    expect(b.leases.leases.get(lease)?.state).toBe(BindingStatus.BACKUP);
    expect(b.svc.status().counters).toMatchObject({ 'bndupd.acked': 1, 'bndupd.rejected.3': 1 });
  });

  it('one chunk of three BNDUPDs: an internal error while handling the second is logged and counted, the first and third are handled', async () => {
    const { b, raw, sched, nowSec } = await secondaryAndRawPrimary();
    await handshake(raw, sched, nowSec());
    const upd = (xid: number, addr: string): Uint8Array =>
      encodeMessage({
        type: MessageType.BNDUPD,
        time: nowSec(),
        xid,
        assignedIp: ip(addr),
        bindingStatus: BindingStatus.BACKUP,
        leaseExpiry: 0,
        potentialExpiry: 0,
        stos: nowSec(),
      });
    b.svc.on('update', (e: { ip?: number }) => {
      if (e.ip === ip('10.0.0.131')) throw new Error('a listener bug');
    });
    raw.sendBytes([...upd(51, '10.0.0.130'), ...upd(52, '10.0.0.131'), ...upd(53, '10.0.0.132')]);
    await sched.advance(0);
    expect(raw.ofType(MessageType.BNDACK).map((a) => a.xid)).toEqual([51, 53]);
    expect(b.svc.status().counters['internal-errors']).toBe(1);
    expect(b.messages().join('\n')).toMatch(/internal error: Error: a listener bug/);
    expect(b.leases.leases.get(ip('10.0.0.132'))?.state).toBe(BindingStatus.BACKUP);
  });

  it("the partner's updates of one turn are stored by one apply, in order; when it is refused each is stored alone, and only the refused one goes unacknowledged", async () => {
    const { b, raw, sched, nowSec } = await secondaryAndRawPrimary();
    await handshake(raw, sched, nowSec());
    const applies: string[][] = [];
    const apply = b.leases.apply.bind(b.leases);
    const unstorable = ip('10.0.0.122');
    b.leases.apply = (leases) => {
      applies.push(leases.map((l) => `${l.address - ip('10.0.0.0')}:${l.state}`));
      if (leases.some((l) => l.address === unstorable)) return Promise.reject(new Error('record too long'));
      return apply(leases);
    };
    const upd = (xid: number, addr: string, status: number) =>
      raw.send({
        type: MessageType.BNDUPD,
        time: nowSec(),
        xid,
        assignedIp: ip(addr),
        bindingStatus: status,
        leaseExpiry: 0,
        potentialExpiry: 0,
        stos: nowSec(),
      });
    upd(51, '10.0.0.120', BindingStatus.BACKUP);
    upd(52, '10.0.0.121', BindingStatus.BACKUP);
    upd(53, '10.0.0.122', BindingStatus.BACKUP);
    upd(54, '10.0.0.120', BindingStatus.FREE);
    await sched.advance(0);
    const { BACKUP, FREE } = BindingStatus;
    expect(applies).toEqual([
      [`120:${BACKUP}`, `121:${BACKUP}`, `122:${BACKUP}`, `120:${FREE}`],
      [`120:${BACKUP}`],
      [`121:${BACKUP}`],
      [`122:${BACKUP}`],
      [`120:${FREE}`],
    ]);
    const acked = raw
      .ofType(MessageType.BNDACK)
      .map((m) => m.xid)
      .sort();
    expect(acked).toEqual([51, 52, 54]);
    expect(b.leases.leases.get(ip('10.0.0.120'))?.state).toBe(FREE);
    expect(b.leases.leases.has(unstorable)).toBe(false);
    expect(b.svc.status().counters).toMatchObject({ 'bndupd.acked': 3, 'bndupd.store-failed': 1 });
  });

  it('an update is checked against one of the same address accepted earlier in the same turn, not yet stored', async () => {
    const { b, raw, sched, nowSec } = await secondaryAndRawPrimary();
    await handshake(raw, sched, nowSec());
    const t = nowSec();
    const addr = ip('10.0.0.125');
    const chaddr = Uint8Array.from([1, 0, 0x11, 0x22, 0x33, 0x44, 0x55]);
    raw.send({
      type: MessageType.BNDUPD,
      time: t,
      xid: 61,
      assignedIp: addr,
      bindingStatus: BindingStatus.ACTIVE,
      chaddr,
      leaseExpiry: t + 600,
      potentialExpiry: t + 900,
      stos: t,
      cltt: t,
    });
    // An EXPIRED for a binding that ended before the one just accepted: stale (the client renewed since).
    raw.send({
      type: MessageType.BNDUPD,
      time: t,
      xid: 62,
      assignedIp: addr,
      bindingStatus: BindingStatus.EXPIRED,
      chaddr,
      leaseExpiry: t + 100,
      potentialExpiry: t + 100,
      stos: t,
      cltt: t,
    });
    await sched.advance(0);
    const acks = raw.ofType(MessageType.BNDACK);
    expect(acks.find((m) => m.xid === 61)?.rejectReason).toBeUndefined();
    expect(acks.find((m) => m.xid === 62)?.rejectReason).toBe(RejectReason.LESS_CRIT_BIND_INFO);
    expect(b.leases.leases.get(addr)).toMatchObject({ state: BindingStatus.ACTIVE, ends: t + 600 });
  });

  /** A fresh secondary (empty store: recover) linked to the test as its primary in partner-down; B asked for all. */
  /** The test, as a primary in partner-down, links to B over `raw` (CONNECT, then STATE partner-down). */
  async function linkInPartnerDown(raw: RawPeer, sched: { advance(ms: number): Promise<void> }, now: number) {
    await handshake(raw, sched, now);
    raw.send({
      type: MessageType.STATE,
      time: now,
      xid: 200,
      serverState: ServerState.PARTNER_DOWN,
      serverFlags: 0,
      stos: now,
    });
    await sched.advance(0);
  }

  async function recoveringSecondary() {
    const w = await secondaryAndRawPrimary();
    w.b.leases.holdDurable = true; // a slow disk: nothing B stores is durable until releaseDurable()
    await linkInPartnerDown(w.raw, w.sched, w.nowSec());
    expect(state(w.b)).toBe('recover');
    expect(w.raw.ofType(MessageType.UPDREQALL).length).toBeGreaterThan(0);
    const backup = (xid: number, last: number) =>
      w.raw.send({
        type: MessageType.BNDUPD,
        time: w.nowSec(),
        xid,
        assignedIp: ip(`10.0.0.${last}`),
        bindingStatus: BindingStatus.BACKUP,
        leaseExpiry: 0,
        potentialExpiry: 0,
        stos: w.nowSec(),
      });
    return { ...w, backup };
  }

  it('in recover, BNDACKs leave before the updates are durable, and recover is left (UPDDONE) only once they are', async () => {
    const { b, raw, sched, nowSec, backup } = await recoveringSecondary();
    for (let i = 0; i < 5; i++) backup(300 + i, 130 + i);
    await sched.advance(0);
    // Acknowledged at once (a resync is paced by the window, not by a disk sync per window), and readable.
    expect(raw.ofType(MessageType.BNDACK).map((m) => m.xid)).toEqual([300, 301, 302, 303, 304]);
    expect(raw.ofType(MessageType.BNDACK).every((m) => m.rejectReason === undefined)).toBe(true);
    expect(b.leases.leases.get(ip('10.0.0.134'))?.state).toBe(BindingStatus.BACKUP);
    raw.send({ type: MessageType.UPDDONE, time: nowSec(), xid: 400 });
    await sched.advance(1000);
    // Not durable yet: B stays in recover (a crash now brings it back in recover, asking for everything again).
    expect(state(b)).toBe('recover');
    expect(b.store.record?.my).toBe(ServerState.RECOVER);
    b.leases.releaseDurable();
    await sched.advance(0);
    expect(state(b)).toBe('recover-wait');
    expect(b.svc.status().counters).toMatchObject({ 'bndupd.acked': 5, 'bndupd.acked-before-durable': 5 });
  });

  it('in recover, updates acknowledged but then not stored: the link is dropped, recover is kept, and the next link asks for everything again', async () => {
    const { b, raw, sched, nowSec, backup, net, clock } = await recoveringSecondary();
    backup(310, 135);
    backup(311, 136);
    await sched.advance(0);
    expect(raw.ofType(MessageType.BNDACK).map((m) => m.xid)).toEqual([310, 311]);
    raw.send({ type: MessageType.UPDDONE, time: nowSec(), xid: 401 });
    await sched.advance(0);
    b.leases.releaseDurable(new Error('EIO: i/o error, fdatasync'));
    await sched.advance(0);
    expect(raw.closedByOther).toBe(true);
    expect(state(b)).toBe('recover');
    expect(b.store.record?.my).toBe(ServerState.RECOVER);
    expect(b.svc.status().counters).toMatchObject({ 'bndupd.store-failed': 1 });
    expect(b.messages().join('\n')).toMatch(/acknowledged in recover.*EIO.*dropping the link/);
    // The primary connects again: B, still in recover, asks for every lease again.
    b.leases.holdDurable = false;
    const raw2 = net.connect(A, B, clock);
    await sched.advance(0);
    await linkInPartnerDown(raw2, sched, nowSec());
    expect(raw2.ofType(MessageType.UPDREQALL).length).toBeGreaterThan(0);
    expect(state(b)).toBe('recover');
  });

  it('outside recover (startup here), a BNDACK waits for the disk', async () => {
    const { b, raw, sched, nowSec } = await secondaryAndRawPrimary();
    b.leases.holdDurable = true;
    await handshake(raw, sched, nowSec());
    expect(state(b)).toBe('startup');
    raw.send({
      type: MessageType.BNDUPD,
      time: nowSec(),
      xid: 320,
      assignedIp: ip('10.0.0.130'),
      bindingStatus: BindingStatus.BACKUP,
      leaseExpiry: 0,
      potentialExpiry: 0,
      stos: nowSec(),
    });
    await sched.advance(100);
    expect(raw.ofType(MessageType.BNDACK)).toEqual([]);
    b.leases.releaseDurable();
    await sched.advance(0);
    expect(raw.ofType(MessageType.BNDACK).map((m) => m.xid)).toEqual([320]);
  });

  it('in recover, a failed write of updates acknowledged on a link already gone: recover goes on with the next link', async () => {
    const { b, raw, sched, nowSec, backup, net, clock } = await recoveringSecondary();
    backup(330, 137);
    await sched.advance(0);
    expect(raw.ofType(MessageType.BNDACK).map((m) => m.xid)).toEqual([330]);
    raw.close(); // the primary goes away first
    await sched.advance(0);
    b.leases.releaseDurable(new Error('EIO: i/o error, fdatasync'));
    await sched.advance(0);
    expect(b.messages().join('\n')).toMatch(/acknowledged in recover.*EIO.*their link is gone/);
    // The primary is back: B asks for everything, and its UPDDONE ends recover.
    const raw2 = net.connect(A, B, clock);
    await sched.advance(0);
    await linkInPartnerDown(raw2, sched, nowSec());
    expect(raw2.ofType(MessageType.UPDREQALL).length).toBeGreaterThan(0);
    raw2.send({ type: MessageType.UPDDONE, time: nowSec(), xid: 402 });
    await sched.advance(0);
    expect(state(b)).toBe('recover-wait');
  });

  it('UPDREQALL and UPDREQ -> UPDDONE with their xid; POOLREQ -> POOLRESP 0', async () => {
    const { raw, sched, nowSec } = await secondaryAndRawPrimary();
    await handshake(raw, sched, nowSec());
    raw.send({ type: MessageType.UPDREQALL, time: nowSec(), xid: 7 });
    raw.send({ type: MessageType.UPDREQ, time: nowSec(), xid: 9 });
    raw.send({ type: MessageType.POOLREQ, time: nowSec(), xid: 11 });
    await sched.advance(0);
    expect(raw.ofType(MessageType.UPDDONE).map((m) => m.xid)).toEqual([7, 9]);
    expect(raw.ofType(MessageType.POOLRESP)).toEqual([
      { type: MessageType.POOLRESP, time: nowSec(), xid: 11, addressesTransferred: 0 },
    ]);
  });

  it('a silent peer gets CONTACTs every receive-timer / 3 and is dropped after our max-response-delay', async () => {
    const { b, raw, sched, clock, nowSec } = await secondaryAndRawPrimary();
    raw.send(connect(nowSec(), { receiveTimer: 3 }));
    await sched.advance(0);
    const t0 = clock.now();
    await sched.advance(MRD_MS - 1);
    expect(raw.closedByOther).toBe(false);
    const contacts = raw.received.flatMap((m, i) =>
      m.type === MessageType.CONTACT ? [raw.receivedAt[i]! - t0] : [],
    );
    expect(contacts).toEqual([1000, 2000, 3000, 4000, 5000]);
    await sched.advance(1);
    expect(raw.closedByOther).toBe(true);
    expect(b.svc.status().counters['links.timeout']).toBe(1);
  });

  it('a DISCONNECT from the peer: logged with its reason, link closed, the machine told', async () => {
    const { b, raw, sched, nowSec } = await secondaryAndRawPrimary();
    await handshake(raw, sched, nowSec());
    raw.send({
      type: MessageType.DISCONNECT,
      time: nowSec(),
      xid: 3,
      rejectReason: 17,
      message: bytesOf('bye'),
    });
    await sched.advance(0);
    expect(b.svc.status().connected).toBe(false);
    expect(b.messages()).toContain(
      `failover peer dhcp-failover: DISCONNECT from ${A}:${raw.conn.local.split(':')[1]}: No traffic within sufficient time. (bye)`,
    );
    expect(b.svc.status().counters['peer-disconnect.17']).toBe(1);
  });
});

describe('bad input: counted by reason, answered by DISCONNECT, never a throw', () => {
  // A STATE (10) with server-state twice: ISC refuses a repeated option.
  // prettier-ignore
  const DUPLICATE_OPTION = [
    0x00, 0x16, 0x0a, 0x0c, 0, 0, 0, 1, 0, 0, 0, 5, // length 22, STATE, offset 12, time 1, xid 5
    0x00, 0x18, 0x00, 0x01, 0x02, // server-state normal
    0x00, 0x18, 0x00, 0x01, 0x02, // server-state again
  ];
  // prettier-ignore
  const UNKNOWN_TYPE = [0x00, 0x0c, 0x0d, 0x0c, 0, 0, 0, 1, 0, 0, 0, 6]; // type 13
  // prettier-ignore
  const BAD_LENGTH = [0x00, 0x05, 0x0a, 0x0c]; // length 5: below the 12-byte header

  const cases: [string, number[], string, number][] = [
    ['a repeated option', DUPLICATE_OPTION, 'duplicate-option', 254],
    ['an unknown message type', UNKNOWN_TYPE, 'unknown-type', 14],
    ['a length field under 12', BAD_LENGTH, 'bad-length', 254],
  ];
  for (const [what, bytes, reason, reject] of cases) {
    it(`${what}: DISCONNECT reject ${reject} with the reason as text, link closed, malformed.${reason} counted`, async () => {
      const { b, raw, sched, nowSec } = await secondaryAndRawPrimary();
      await handshake(raw, sched, nowSec());
      raw.sendBytes(bytes);
      await sched.advance(0);
      const d = raw.ofType(MessageType.DISCONNECT)[0]!;
      expect(d.rejectReason).toBe(reject);
      expect(text(d.message)).toMatch(new RegExp(`^${reason}: `));
      expect(raw.closedByOther).toBe(true);
      expect(b.svc.status().counters[`malformed.${reason}`]).toBe(1);
      expect(b.svc.status().connected).toBe(false);
      expect(b.lines.some((l) => l.level === 'error' && l.msg.includes(`malformed message from ${A}`))).toBe(
        true,
      );
    });
  }

  it('a STATE before CONNECT: DISCONNECT, counted', async () => {
    const { b, raw, sched, nowSec } = await secondaryAndRawPrimary();
    raw.send({ type: MessageType.STATE, time: nowSec(), xid: 1, serverState: 2, serverFlags: 0, stos: 0 });
    await sched.advance(0);
    expect(raw.last()).toMatchObject({ type: MessageType.DISCONNECT, rejectReason: 254 });
    expect(b.svc.status().counters['protocol.before-connect']).toBe(1);
  });

  it('many streams of random bytes: the service never throws and keeps listening', async () => {
    const { b, net, sched, nowSec } = await secondaryAndRawPrimary();
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 200; i++) {
      const r = net.connect(A, B, sched.clock);
      if (i % 2) r.send(connect(nowSec()));
      const n = 1 + Math.floor(rnd() * 64);
      // A plausible length first, so some of the junk gets past the framer into the decoder.
      const junk = Array.from({ length: n }, (_, k) =>
        k === 0 ? 0 : k === 1 ? 12 + Math.floor(rnd() * 40) : Math.floor(rnd() * 256),
      );
      r.sendBytes(junk);
      await sched.advance(0);
    }
    await sched.advance(20_000);
    const c = b.svc.status().counters;
    expect(c['internal-errors']).toBeUndefined();
    expect(Object.keys(c).some((k) => k.startsWith('malformed.'))).toBe(true);
    // Still up for a well-behaved primary.
    const good = net.connect(A, B, sched.clock);
    await sched.advance(0);
    good.send(connect(nowSec(), { xid: 9999 }));
    await sched.advance(0);
    expect(good.ofType(MessageType.CONNECTACK)[0]).toMatchObject({ xid: 9999 });
    expect(good.ofType(MessageType.CONNECTACK)[0]?.rejectReason).toBeUndefined();
  });
});

describe('dialling the peer', () => {
  it('retries a refused connect 5 s after the first failure, then 10, 20, 40, 60, 60 s (4999 ms: not yet)', async () => {
    const w = world();
    const a = makeNode(w.net, w.sched, 'A', settings('primary'));
    await a.svc.start();
    const failures = () => a.svc.status().counters['dial-failed.network'] ?? 0;
    expect(failures()).toBe(1);
    await w.sched.advance(4_999);
    expect(failures()).toBe(1);
    await w.sched.advance(1);
    expect(failures()).toBe(2);
    const at: number[] = [];
    const t0 = w.clock.now();
    let seen = failures();
    while (at.length < 5) {
      await w.sched.advance(500);
      if (failures() > seen) {
        seen = failures();
        at.push(Math.round((w.clock.now() - t0) / 1000));
      }
    }
    expect(at).toEqual([10, 30, 70, 130, 190]);
    expect(a.messages()).toContain(
      'failover peer dhcp-failover: connect to 10.0.0.3:647 failed: ECONNREFUSED; next attempt in 5 s',
    );
  });
});
