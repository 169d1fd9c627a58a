import { describe, expect, it } from 'vitest';
import { BindingState, type Lease } from '@hadhcp/leases';
import { Outbox } from './outbox.js';

/*
 * The outbox's waiters: what holds a DHCPACK until the partner has its record (zero loss). Each waiter runs once,
 * when the update that carries its change (or a later one) is acknowledged, rejected, overtaken, or when the link
 * is lost; an address nobody waits for shares one empty list with the others (a resync queues 100,000+ of them).
 */

const rec = (address: number, ends = 1000): Lease => ({
  address,
  state: BindingState.ACTIVE,
  starts: 0,
  ends,
  tstp: ends,
  tsfp: 0,
  atsfp: 0,
  cltt: 0,
  hwType: 1,
});

/** Sends whatever may go now (window 10), recording xid -> address; `record` is what each carries. */
function sendAll(
  o: Outbox,
  sent: Map<number, number>,
  xid: { n: number },
  record: (ip: number) => Lease = rec,
): void {
  for (let ip = o.nextSendable(10); ip !== undefined; ip = o.nextSendable(10)) {
    const x = ++xid.n;
    sent.set(x, ip);
    o.sent(ip, x, record(ip));
  }
}

describe('Outbox waiters', () => {
  it('a waiter added to a change queued without one runs once, on the BNDACK of the update carrying it', () => {
    const o = new Outbox();
    const runs: string[] = [];
    o.add(1); // nobody waits (a resync's record)
    o.add(2);
    o.add(1, () => runs.push('one'));
    const sent = new Map<number, number>();
    const xid = { n: 0 };
    sendAll(o, sent, xid);
    expect(runs).toEqual([]);
    const x1 = [...sent].find(([, ip]) => ip === 1)![0];
    const x2 = [...sent].find(([, ip]) => ip === 2)![0];
    o.acked(x2, 2);
    expect(runs).toEqual([]);
    o.acked(x1, 1);
    expect(runs).toEqual(['one']);
    o.releaseAll();
    expect(runs).toEqual(['one']);
    expect(o.pending).toBe(0);
  });

  it('waiters on the same record in flight, and on a change queued behind it, each run once', () => {
    const o = new Outbox();
    const runs: string[] = [];
    const first = rec(7, 100);
    o.add(7, undefined, first);
    const sent = new Map<number, number>();
    const xid = { n: 0 };
    sendAll(o, sent, xid, () => first);
    // The same record queued again by another path (entering normal, a balance) waits for the BNDACK in flight.
    o.add(7, () => runs.push('same record'), first);
    // A later change waits behind it.
    o.add(7, () => runs.push('later change'), rec(7, 200));
    expect(o.unacked).toBe(1);
    expect(o.queued).toBe(1);
    o.acked(1, 7);
    expect(runs).toEqual(['same record']);
    sendAll(o, sent, xid);
    o.acked(2, 7);
    expect(runs).toEqual(['same record', 'later change']);
  });

  it('requeue after a lost link keeps the waiters of the update in flight and of the change behind it', () => {
    const o = new Outbox();
    const runs: string[] = [];
    o.add(3, () => runs.push('flying'));
    o.add(4); // flying, nobody waits
    const sent = new Map<number, number>();
    const xid = { n: 0 };
    sendAll(o, sent, xid);
    o.add(3, () => runs.push('queued'));
    o.add(4, () => runs.push('queued behind a waiterless update'));
    o.requeue();
    expect(o.unacked).toBe(0);
    expect(o.queued).toBe(2);
    sent.clear();
    sendAll(o, sent, xid);
    expect(sent.size).toBe(2);
    for (const [x, ip] of sent) o.acked(x, ip);
    expect(runs.sort()).toEqual(['flying', 'queued', 'queued behind a waiterless update']);
  });

  it('UPDREQALL of many waiterless addresses: each sent once, done when the last is acknowledged', () => {
    const o = new Outbox();
    const all = Array.from({ length: 1000 }, (_, i) => i + 1);
    o.request(99, 'UPDREQALL', all);
    const sent = new Map<number, number>();
    const xid = { n: 0 };
    const seen = new Set<number>();
    while (o.pending > 0) {
      sent.clear();
      sendAll(o, sent, xid);
      expect(o.takeDone()).toEqual([]);
      for (const [x, ip] of sent) {
        expect(seen.has(ip)).toBe(false);
        seen.add(ip);
        o.acked(x, ip);
      }
    }
    expect(seen.size).toBe(1000);
    expect(o.takeDone()).toEqual([{ xid: 99, kind: 'UPDREQALL', reached: 1000 }]);
  });

  it('UPDREQALL is walked as the window opens: records added or removed meanwhile are seen as they are then', () => {
    const o = new Outbox();
    const book = new Set(Array.from({ length: 50 }, (_, i) => i + 1));
    // As binding-sync's walk: the book's addresses that have a record when the walk reaches them.
    function* walk(): Generator<number> {
      for (let ip = 1; ip <= 100; ip++) if (book.has(ip)) yield ip;
    }
    o.request(7, 'UPDREQALL', walk());
    // Nothing queued up front; the walk's next record counts as queued (status: never 0 while a walk remains).
    expect(o.queued).toBe(1);
    expect(o.pending).toBe(1);
    const sent = new Map<number, number>();
    const xid = { n: 0 };
    sendAll(o, sent, xid);
    expect([...sent.values()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    book.delete(30); // gone before the walk reaches it: never sent
    book.add(80); // new, ahead of the walk: sent
    const seen: number[] = [...sent.values()];
    while (o.pending > 0) {
      for (const [x, ip] of sent) o.acked(x, ip);
      sent.clear();
      sendAll(o, sent, xid);
      seen.push(...sent.values());
    }
    expect(seen).toEqual([...Array.from({ length: 50 }, (_, i) => i + 1).filter((ip) => ip !== 30), 80]);
    expect(o.takeDone()).toEqual([{ xid: 7, kind: 'UPDREQALL', reached: 50 }]);
  });

  it('UPDREQALL: our own queued changes go first; one also reached by the walk goes once, and waits for it', () => {
    const o = new Outbox();
    const runs: string[] = [];
    o.add(3, () => runs.push('ack of 3'));
    o.request(8, 'UPDREQALL', [1, 2, 3, 4]);
    const sent = new Map<number, number>();
    const xid = { n: 0 };
    sendAll(o, sent, xid);
    expect([...sent.values()]).toEqual([3, 1, 2, 4]);
    expect(o.takeDone()).toEqual([]);
    for (const [x, ip] of sent) if (ip !== 3) o.acked(x, ip);
    expect(o.takeDone()).toEqual([]); // 3 is not acknowledged yet
    const x3 = [...sent].find(([, ip]) => ip === 3)![0];
    o.acked(x3, 3);
    expect(runs).toEqual(['ack of 3']);
    expect(o.takeDone()).toEqual([{ xid: 8, kind: 'UPDREQALL', reached: 4 }]);
  });

  it('UPDREQALL reaching an address whose update flies: that BNDACK settles it, and it is sent again after', () => {
    // As when the request queued every address up front: the update in flight carries the record.
    const o = new Outbox();
    o.add(5);
    const sent = new Map<number, number>();
    const xid = { n: 0 };
    sendAll(o, sent, xid); // 5 flies
    o.request(9, 'UPDREQALL', [5, 6]);
    const first = new Map(sent);
    sent.clear();
    sendAll(o, sent, xid);
    expect([...sent.values()]).toEqual([6]);
    for (const [x, ip] of sent) o.acked(x, ip);
    expect(o.takeDone()).toEqual([]);
    for (const [x, ip] of first) o.acked(x, ip);
    expect(o.takeDone()).toEqual([{ xid: 9, kind: 'UPDREQALL', reached: 2 }]);
    sent.clear();
    sendAll(o, sent, xid);
    expect([...sent.values()]).toEqual([5]);
  });

  it('a second UPDREQALL while one walks: every record goes once more, not twice, and both are done together', () => {
    const o = new Outbox();
    const all = Array.from({ length: 40 }, (_, i) => i + 1);
    o.request(1, 'UPDREQALL', all);
    const sent = new Map<number, number>();
    const xid = { n: 0 };
    sendAll(o, sent, xid); // 1..10 fly
    o.request(2, 'UPDREQALL', all);
    const counts = new Map<number, number>();
    for (const ip of sent.values()) counts.set(ip, 1);
    const done: Array<{ xid: number }> = [];
    while (o.pending > 0) {
      for (const [x, ip] of sent) o.acked(x, ip);
      done.push(...o.takeDone());
      sent.clear();
      sendAll(o, sent, xid);
      for (const ip of sent.values()) counts.set(ip, (counts.get(ip) ?? 0) + 1);
    }
    done.push(...o.takeDone());
    // The ten that flew when the second came are sent again (it asked after they left); the rest once.
    expect([...counts].filter(([, n]) => n === 2).map(([ip]) => ip)).toEqual(all.slice(0, 10));
    expect([...counts].filter(([, n]) => n === 1).map(([ip]) => ip)).toEqual(all.slice(10));
    expect(done.map((d) => d.xid)).toEqual([1, 2]);
  });

  it('an UPDREQALL with nothing to send is done at once, even with the window full; a lost link drops a walk', () => {
    const o = new Outbox();
    for (let ip = 1; ip <= 10; ip++) o.add(ip);
    sendAll(o, new Map(), { n: 0 }); // the window is full
    o.request(10, 'UPDREQALL', []);
    expect(o.takeDone()).toEqual([{ xid: 10, kind: 'UPDREQALL', reached: 0 }]);
    o.request(11, 'UPDREQALL', [20, 21]);
    expect(o.pending).toBe(11);
    o.dropRequests();
    expect(o.pending).toBe(10);
    expect(o.requestsOpen).toBe(0);
  });

  it('updates in flight while thousands are acknowledged keep their records and waiters (the maps are renewed)', () => {
    const o = new Outbox();
    const runs = new Map<number, number>();
    const n = 3000;
    for (let ip = 1; ip <= n; ip++) o.add(ip, () => runs.set(ip, (runs.get(ip) ?? 0) + 1));
    const inFlight: Array<[number, number]> = [];
    const xid = { n: 0 };
    let acked = 0;
    while (acked < n) {
      for (let ip = o.nextSendable(10); ip !== undefined; ip = o.nextSendable(10)) {
        o.sent(ip, ++xid.n, rec(ip, 5000 + ip));
        inFlight.push([xid.n, ip]);
      }
      // Half the window is acknowledged each round: the other half flies on across each renewal.
      for (const [x, ip] of inFlight.splice(0, 5)) {
        expect(o.flyingRecord(ip)?.ends).toBe(5000 + ip);
        const f = o.acked(x, ip);
        expect(f !== undefined && f !== 'superseded' && f.sent.ends).toBe(5000 + ip);
        acked++;
      }
      expect(o.unacked).toBe(inFlight.length);
    }
    expect(runs.size).toBe(n);
    expect([...runs.values()].every((c) => c === 1)).toBe(true);
    expect(o.pending).toBe(0);
  });

  it('overtaken and superseded updates release their waiters once', () => {
    const o = new Outbox();
    const runs: string[] = [];
    o.add(5, () => runs.push('flying'));
    const sent = new Map<number, number>();
    sendAll(o, sent, { n: 0 });
    o.add(5, () => runs.push('queued'));
    o.dropFlying(5); // the partner's update won over ours in flight
    expect(runs).toEqual(['flying']);
    o.superseded(5); // and over the change queued behind it
    expect(runs).toEqual(['flying', 'queued']);
    expect(o.acked(1, 5)).toBe('superseded');
    o.releaseAll();
    expect(runs).toEqual(['flying', 'queued']);
  });
});
