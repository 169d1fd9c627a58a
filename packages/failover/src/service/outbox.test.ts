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
    expect(o.takeDone()).toEqual([{ xid: 99, kind: 'UPDREQALL' }]);
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
