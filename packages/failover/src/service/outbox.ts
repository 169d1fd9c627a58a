import type { Ip4 } from '@hadhcp/common';
import type { Lease } from '@hadhcp/leases';

/**
 * The BNDUPDs of one relationship on their way to the partner (ISC's update queue and ack queue, failover.c
 * dhcp_failover_queue_update / dhcp_failover_send_updates / dhcp_failover_process_bind_ack):
 *
 * - `queue`: addresses whose record changed and was not sent yet, oldest change first. A second change of an
 *   address before it was sent replaces the first (the partner needs the record, not its history).
 * - `flying`: BNDUPDs sent and not acknowledged, by xid; at most the partner's max-unacked (ISC: a partner that
 *   did not say how many gets none). One per address: a change made while its update flies waits in the queue
 *   for the BNDACK, so BNDACKs can never be matched to the wrong version of a record.
 * - waiters: what is held until the partner has the record (the DHCPACK that made it, zero loss), released on
 *   the BNDACK of an update that carries that change or a later one, on a reject, or when the link is lost.
 * - requests: an UPDREQ / UPDREQALL answered by the updates queued for it; its UPDDONE goes once every address
 *   of it has been acknowledged. An UPDREQALL walks the book as the window opens instead of queuing every record
 *   up front: a resync of 100,000 leases queued them all (a Map, a FIFO and a Set of 100,000+ entries each) before
 *   its first BNDUPD could leave.
 *
 * Pure bookkeeping: sending and the clock are the caller's (peer-service.ts).
 */

export interface Flying {
  xid: number;
  ip: Ip4;
  /** The record as sent. */
  sent: Lease;
  /** NO_WAITERS (shared, never changed) or an array of this update's own. */
  waiters: Array<() => void>;
}

/**
 * The waiters of an update nobody waits for, shared by all of them: a resync queues 100,000+ such addresses, and an
 * object and an array each were most of what answering UPDREQALL allocated. Never pushed to: `withWaiter` makes an
 * array of the update's own. Frozen, so a push by mistake throws instead of waking strangers.
 */
const NO_WAITERS: Array<() => void> = Object.freeze([]) as unknown as Array<() => void>;

/** `waiters` with `w` added: the same array, or a new one in place of NO_WAITERS. */
function withWaiter(waiters: Array<() => void>, w: () => void): Array<() => void> {
  if (waiters === NO_WAITERS) return [w];
  waiters.push(w);
  return waiters;
}

/** The waiters of both lists, in order; one of them as it is when the other is empty (NO_WAITERS stays shared). */
function joined(a: Array<() => void>, b: Array<() => void>): Array<() => void> {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return [...a, ...b];
}

/** Runs each waiter once (the array is emptied first: a waiter may add to the outbox). */
function release(waiters: Array<() => void>): void {
  if (waiters.length === 0) return;
  for (const w of waiters.splice(0)) w();
}

interface Request {
  xid: number;
  kind: 'UPDREQ' | 'UPDREQALL';
  /** Addresses still to be acknowledged for it: all of an UPDREQ's; those an UPDREQALL's walk has reached. */
  left: Set<Ip4>;
  /** UPDREQALL: the walk over the records not reached yet, `next` its address after the last one taken. */
  walk?: Iterator<Ip4>;
  next?: Ip4;
  /** Addresses the walk has reached. */
  reached: number;
  /** A later UPDREQALL that took over this one's walk: this one is done when that one is. */
  joined?: Request;
}

/** How many updates leave `flying` between two renewals of its maps (Outbox.landed). */
const FLYING_RENEW = 256;

/** Every address of the request reached and acknowledged. */
const isDone = (r: Request): boolean =>
  r.left.size === 0 && r.walk === undefined && (r.joined === undefined || isDone(r.joined));

const NONE_DONE: ReadonlyArray<{ xid: number; kind: 'UPDREQ' | 'UPDREQALL'; reached: number }> = [];

export class Outbox {
  /** Address -> the waiters of its queued change (NO_WAITERS when none). */
  private readonly queue = new Map<Ip4, Array<() => void>>();
  private flying = new Map<number, Flying>();
  private flyingByIp = new Map<Ip4, number>();
  /** Updates taken off `flying` since both maps were last made anew (see landed). */
  private landings = 0;
  private requests: Request[] = [];
  /** xids of updates the partner's own update overtook: their BNDACK is expected and ignored. */
  private readonly overtaken = new Set<number>();
  /**
   * Queued addresses whose update does not fly, oldest first (may hold stale entries: skipped when taken). A
   * FIFO instead of walking `queue` from its start on every BNDACK: a resync queues every record (100,000+), and
   * a Map walked from its start passes every entry deleted since its last rehash.
   */
  private ready: Ip4[] = [];
  private readyHead = 0;

  /** Changes waiting to be sent, and the next record of each UPDREQALL still walking (its count is not known). */
  get queued(): number {
    let walking = 0;
    for (const r of this.requests) if (r.walk) walking++;
    return this.queue.size + walking;
  }

  get unacked(): number {
    return this.flying.size;
  }

  /** BNDUPDs queued (as `queued` counts them) or awaiting a BNDACK (SIGTERM's "updates pending"). */
  get pending(): number {
    return this.queued + this.flying.size;
  }

  /** Our own update of `ip` sent and not yet acknowledged (ISC's "lease on the ack queue"), as sent. */
  flyingRecord(ip: Ip4): Lease | undefined {
    const xid = this.flyingByIp.get(ip);
    return xid === undefined ? undefined : this.flying.get(xid)?.sent;
  }

  /**
   * The record of `ip` changed: send it. `waiter` runs once the partner has it (or cannot be waited for). Given
   * `record`, and that very record already flies (queued twice by two paths: entering normal and a pool balance),
   * nothing more is sent: the waiter waits for the BNDACK in flight.
   */
  add(ip: Ip4, waiter?: () => void, record?: Lease): void {
    if (record !== undefined && !this.queue.has(ip)) {
      const xid = this.flyingByIp.get(ip);
      const f = xid === undefined ? undefined : this.flying.get(xid);
      if (f && f.sent === record) {
        if (waiter) f.waiters = withWaiter(f.waiters, waiter);
        return;
      }
    }
    const q = this.queue.get(ip);
    if (q === undefined) {
      this.queue.set(ip, waiter ? [waiter] : NO_WAITERS);
      if (!this.flyingByIp.has(ip)) this.ready.push(ip);
    } else if (waiter) {
      const next = withWaiter(q, waiter);
      if (next !== q) this.queue.set(ip, next);
    }
  }

  /**
   * The next address to send, or undefined when none may go now: at most `window` BNDUPDs fly unacknowledged,
   * and an address whose update still flies waits. The caller builds and sends its BNDUPD, then calls `sent`
   * before asking again. (A method, not a generator: a resync asks once per BNDACK, 100,000+ times.)
   */
  nextSendable(window: number): Ip4 | undefined {
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    if (this.flying.size >= window) return undefined;
    while (this.readyHead < this.ready.length) {
      const ip = this.ready[this.readyHead++]!;
      // Stale: sent since, superseded, or its update flies again (it comes back when that is acknowledged).
      if (!this.queue.has(ip) || this.flyingByIp.has(ip)) continue;
      return ip;
    }
    // Then the next records of an UPDREQALL, once our own changes have gone.
    for (const r of this.requests) {
      for (let ip = this.walkNext(r); ip !== undefined; ip = this.walkNext(r)) {
        r.left.add(ip);
        // Queued already: it goes from `ready`, or once its update in flight lands; that BNDACK settles it.
        if (this.queue.has(ip)) continue;
        this.queue.set(ip, NO_WAITERS);
        // Its update flies: sent again when that one is acknowledged (acked() readies it), as add() does.
        if (this.flyingByIp.has(ip)) continue;
        return ip;
      }
    }
    return undefined;
  }

  /** The next address of `r`'s walk, or undefined (and the walk ended) when it has reached every record. */
  private walkNext(r: Request): Ip4 | undefined {
    const ip = r.next;
    if (ip === undefined) return undefined;
    r.reached++;
    const n = r.walk!.next();
    if (n.done) {
      r.walk = undefined;
      r.next = undefined;
    } else r.next = n.value;
    return ip;
  }

  /** `ip`'s BNDUPD went out with `xid`, carrying `record`. An address with no record (pristine) is just dropped. */
  sent(ip: Ip4, xid: number, record: Lease | undefined): void {
    const q = this.queue.get(ip);
    this.queue.delete(ip);
    if (!record) {
      // Nothing to tell: it counts as acknowledged for the requests that wanted it.
      if (q) release(q);
      this.settleRequests(ip);
      return;
    }
    this.flying.set(xid, { xid, ip, sent: record, waiters: q ?? NO_WAITERS });
    this.flyingByIp.set(ip, xid);
  }

  /**
   * The partner's BNDACK for `xid` (accepted or rejected): the update it answers, with its waiters released, or
   * undefined when no update of ours has that xid (ISC logs and ignores it). `ip` must match the one sent.
   */
  acked(xid: number, ip: Ip4 | undefined): Flying | 'superseded' | undefined {
    if (this.overtaken.delete(xid)) return 'superseded';
    const f = this.flying.get(xid);
    if (!f || (ip !== undefined && ip !== f.ip)) return undefined;
    this.flying.delete(xid);
    if (this.flyingByIp.get(f.ip) === xid) this.flyingByIp.delete(f.ip);
    this.landed();
    // A change made while this update flew may go now.
    if (this.queue.has(f.ip)) this.ready.push(f.ip);
    release(f.waiters);
    this.settleRequests(f.ip);
    return f;
  }

  /**
   * The partner's update of `ip` won over ours in flight (ISC takes ours off the ack queue): the BNDACK that may
   * still come for it is ignored (`acked` returns 'superseded'), its waiters are released.
   */
  dropFlying(ip: Ip4): void {
    const xid = this.flyingByIp.get(ip);
    if (xid === undefined) return;
    const f = this.flying.get(xid)!;
    this.flying.delete(xid);
    this.flyingByIp.delete(ip);
    this.landed();
    this.overtaken.add(xid);
    if (this.queue.has(ip)) this.ready.push(ip);
    release(f.waiters);
    this.settleRequests(ip);
  }

  /**
   * An update left `flying`. Every FLYING_RENEW of them, both maps are made anew (they hold at most a window's worth).
   * V8 moves a Map whose entries come and go to a new table every few entries and leaves the old table linked to
   * the new one, still holding what it held. Once one of those tables has been promoted (the Map sat through two
   * scavenges, idle between bursts), the chain from it kept every update sent since, with the record it carries,
   * alive through each scavenge until the next full GC: a resync of 100,000 leases spent 80 ms in scavenges on the
   * primary instead of 11, its heap 64 MB at the end instead of 37 (--trace-gc).
   */
  private landed(): void {
    if (++this.landings < FLYING_RENEW) return;
    this.landings = 0;
    this.flying = new Map(this.flying);
    this.flyingByIp = new Map(this.flyingByIp);
  }

  /** ISC's requeue on leaving a sending state or losing the link: what flies is sent again. */
  requeue(): void {
    if (this.flying.size === 0) return;
    const again = new Map<Ip4, Array<() => void>>();
    for (const f of this.flying.values()) again.set(f.ip, f.waiters);
    for (const [ip, q] of this.queue) {
      const a = again.get(ip);
      if (a) again.set(ip, joined(a, q));
      else again.set(ip, q);
    }
    this.queue.clear();
    for (const [ip, q] of again) this.queue.set(ip, q);
    this.flying = new Map();
    this.flyingByIp = new Map();
    this.overtaken.clear();
    this.ready = [...this.queue.keys()];
    this.readyHead = 0;
  }

  /**
   * The partner's update of `ip` was accepted: our own change of it that was not sent yet is superseded (sending
   * it would only echo the partner's record back). Its waiters are released.
   */
  superseded(ip: Ip4): void {
    const q = this.queue.get(ip);
    if (!q) return;
    this.queue.delete(ip);
    release(q);
    this.settleRequests(ip);
  }

  /** Releases every waiter (the partner cannot be waited for: link lost, or a state that sends nothing). */
  releaseAll(): void {
    for (const q of this.queue.values()) release(q);
    for (const f of this.flying.values()) release(f.waiters);
  }

  /**
   * An UPDREQ(ALL) from the partner, answered by `addresses`: an UPDREQ's are queued here, and it also waits for
   * what already flies; an UPDREQALL's are walked as the window opens (after our own queued changes), so the
   * iterable must read the records as it goes. Its UPDDONE is due (takeDone) once all of them are acknowledged:
   * at once when there are none.
   */
  request(xid: number, kind: 'UPDREQ' | 'UPDREQALL', addresses: Iterable<Ip4>): void {
    if (kind === 'UPDREQALL') {
      // Walked as the window opens (nextSendable); done at once when there is nothing to walk.
      const walk = addresses[Symbol.iterator]();
      const first = walk.next();
      const r: Request = first.done
        ? { xid, kind, left: new Set(), reached: 0 }
        : { xid, kind, left: new Set(), walk, next: first.value, reached: 0 };
      // An earlier UPDREQALL still walking stops, and is done with this one, whose walk sends every record anyway
      // (ISC regenerates one update queue). Two walks would send the records twice: a partner in recover asks
      // again on each STATE it hears, and the second walk doubled a first sync of 100,000 leases.
      for (const o of this.requests)
        if (o.walk) {
          o.walk = undefined;
          o.next = undefined;
          o.joined = r;
        }
      this.requests.push(r);
      return;
    }
    const left = new Set<Ip4>();
    for (const ip of addresses) {
      this.add(ip);
      left.add(ip);
    }
    for (const f of this.flying.values()) left.add(f.ip);
    this.requests.push({ xid, kind, left, reached: left.size });
  }

  /** Requests whose every address has been acknowledged, oldest first; removed from here. */
  takeDone(): ReadonlyArray<{ xid: number; kind: 'UPDREQ' | 'UPDREQALL'; reached: number }> {
    let any = false;
    for (const r of this.requests) if (isDone(r)) any = true;
    if (!any) return NONE_DONE; // asked after every BNDACK: no array made for nothing
    const done = this.requests.filter(isDone);
    if (done.length > 0) this.requests = this.requests.filter((r) => !isDone(r));
    return done.map(({ xid, kind, reached }) => ({ xid, kind, reached }));
  }

  /**
   * The link is gone: the partner will ask again (a node in recover asks on each connect); its requests are
   * dropped, an UPDREQALL's walk with them. What it had queued of our own changes stays queued.
   */
  dropRequests(): void {
    this.requests = [];
  }

  get requestsOpen(): number {
    return this.requests.length;
  }

  private settleRequests(ip: Ip4): void {
    for (const r of this.requests) r.left.delete(ip);
  }
}
