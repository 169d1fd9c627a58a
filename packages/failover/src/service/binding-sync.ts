import type { Counters, Ip4, KeyedTimers } from '@hadhcp/common';
import { formatIp4 } from '@hadhcp/common';
import { BindingState, type Lease } from '@hadhcp/leases';
import { balancePool, nextBalanceDelay, type BalanceSettings, type BalanceTrigger } from '../core/balance.js';
import {
  ackProvesNothingNew,
  applyAck,
  applyUpdate,
  bndUpdFor,
  needsUpdate,
  type BindingContext,
  type UpdateVerdict,
} from '../core/bindings.js';
import type { FailoverState } from '../core/machine-types.js';
import { MessageType, RejectReason, rejectReasonText, ServerState } from '../wire/constants.js';
import type {
  BndAckMessage,
  BndUpdMessage,
  FailoverMessage,
  UpdReqAllMessage,
  UpdReqMessage,
} from '../wire/types.js';
import { text } from '../wire/values.js';
import type { Link } from './link.js';
import { Outbox } from './outbox.js';
import { bndAckFor } from './replies.js';
import type { FailoverLogger, FailoverPeerSettings, FailoverPeerStatus, LeaseBook } from './types.js';

/*
 * Lease sync of one relationship (ISC's update and ack queues, failover.c): the peer service's link, machine and
 * timers are its host (peer-service.ts); this is what goes over the link about bindings.
 *
 * - Ours: every lease change the DHCP service makes durable in a pool of this relationship comes in through
 *   committed() and leaves as a BNDUPD (outbox.ts), at most the partner's max-unacked in flight; the DHCPACK that
 *   made it is released on the BNDACK (zero loss). What a BNDACK proves (tsfp/atsfp) is stored once a turn.
 * - The partner's: each BNDUPD is checked by ISC's rules (core/bindings.ts); those accepted in one turn are stored
 *   by one apply and BNDACKed once that is durable (a refused write is never acknowledged).
 * - UPDREQ / UPDREQALL are answered by the updates they ask for, then UPDDONE once all are acknowledged.
 * - The primary balances the pools in normal (core/balance.ts), and answers POOLREQ.
 */

/** What lease sync uses of its peer service. */
export interface BindingSyncHost {
  readonly settings: FailoverPeerSettings;
  readonly leases: LeaseBook;
  readonly log: FailoverLogger;
  readonly counters: Counters;
  readonly label: string;
  readonly timers: KeyedTimers;
  /** The machine's state now. */
  core(): FailoverState;
  /** THE link to the peer, once its handshake is done. */
  linked(): Link | undefined;
  /** The max-unacked the partner gave in CONNECT / CONNECTACK (none: no BNDUPD may go). */
  partnerMaxUnacked(): number | undefined;
  /** The HBA in force (undefined on a secondary before the primary's CONNECT). */
  hba(): Uint8Array | undefined;
  send(link: Link, m: FailoverMessage): void;
  sendOnLink(m: FailoverMessage): void;
  header(): { time: number; xid: number };
  /** Ends THE link (after what was sent), as a malformed message would: the machine hears "disconnected". */
  dropLink(why: string): void;
  nextXid(): number;
  nowSec(): number;
  enqueue(job: () => Promise<void> | void): Promise<void>;
  noteBadInput(key: string, level: 'info' | 'warn' | 'error', line: string): void;
  /** The peer service's 'update' event: whether anyone listens, and telling them. */
  updateListened(): boolean;
  updated(e: UpdateEvent): void;
}

/** The partner's BNDUPD, after ISC's checks: accepted (and then stored), or refused with its reason. */
export interface UpdateEvent {
  ip: Ip4 | undefined;
  status: number | undefined;
  accepted: boolean;
  reason?: number;
}

export class BindingSync {
  readonly outbox = new Outbox();
  /** BNDACKs of ours whose proof (tsfp/atsfp, EXPIRED -> FREE) is stored at the end of the turn (recordAck). */
  private ackWrites: Array<{ ip: Ip4; sent: Lease }> = [];
  /**
   * The partner's accepted updates of this turn, stored together in one apply (storeUpdates) and BNDACKed once
   * that is durable. `staged` holds their records by address until then, so the checks of later updates (and any
   * read of ours) see them.
   */
  private updates: Array<{ link: Link; m: BndUpdMessage; lease: Lease }> = [];
  private staged = new Map<Ip4, Lease>();
  private readonly balanceSettings: BalanceSettings;

  constructor(private readonly host: BindingSyncHost) {
    const s = host.settings;
    this.balanceSettings = {
      maxLeaseMisbalance: s.maxLeaseMisbalance ?? 15,
      maxLeaseOwnership: s.maxLeaseOwnership ?? 10,
      minBalance: s.minBalance ?? 60,
      maxBalance: s.maxBalance ?? 3600,
    };
  }

  /** The link is gone: nothing in flight will be acknowledged now; sent again after the next connect. */
  linkLost(): void {
    // A failed early acknowledgement is answered by this loss: the next link starts with UPDREQALL again.
    this.early.failed = undefined;
    this.outbox.releaseAll();
    this.outbox.requeue();
    this.outbox.dropRequests();
  }

  /**
   * The DHCP service's LeaseSync (@hadhcp/dhcp): `leases` are durable here. Those of this relationship's pools go
   * to the partner; `released` runs once the partner has acknowledged every one of them (no DHCPACK leaves for a
   * binding the partner does not have), or at once when it cannot be waited for: no link, a state that sends no
   * updates, or lazy updates configured (ISC's behaviour).
   */
  committed(leases: readonly Lease[], released?: () => void): void {
    const mine: Lease[] = [];
    for (const l of leases) if (this.ours(l)) mine.push(l);
    const wait = released !== undefined && mine.length > 0 && this.waitable();
    let left = mine.length;
    const waiter = wait ? () => void (--left === 0 && released()) : undefined;
    for (const l of mine) this.outbox.add(l.address, waiter, l);
    if (!wait) released?.();
    if (mine.length > 0) this.pump();
  }

  private ours(l: Lease): boolean {
    return l.failoverPeer === this.host.settings.name || this.host.leases.inRelationship(l.address);
  }

  /** ISC sends updates in the states that serve with a partner to tell (and leaves them queued otherwise). */
  sending(): boolean {
    const my = this.host.core().my;
    return (
      my === ServerState.NORMAL ||
      my === ServerState.POTENTIAL_CONFLICT ||
      my === ServerState.PARTNER_DOWN ||
      my === ServerState.CONFLICT_DONE
    );
  }

  private waitable(): boolean {
    return this.host.settings.lazyUpdates !== true && this.host.linked() !== undefined && this.sending();
  }

  bindingContext(nowSec = this.host.nowSec()): BindingContext {
    return {
      role: this.host.settings.role,
      myState: this.host.core().my,
      nowSec,
      mclt: this.host.core().mclt,
      peerName: this.host.settings.name,
      stos: Math.floor(this.host.core().since / 1000),
      partnerState: this.host.core().partner,
    };
  }

  /** Sends what the outbox holds, as far as the partner's max-unacked allows; then the UPDDONEs that are due. */
  pump(): void {
    const link = this.host.linked();
    if (!link || link.phase !== 'up') return;
    if (this.sending() || this.outbox.requestsOpen > 0) {
      // ISC never sends a BNDUPD to a partner that did not say how many it may have unacknowledged.
      const window = this.host.partnerMaxUnacked() ?? 0;
      // sent() takes each address off the queue before the next is chosen (a duplicate entry is then stale).
      const time = this.host.nowSec();
      for (
        let ip = this.outbox.nextSendable(window);
        ip !== undefined;
        ip = this.outbox.nextSendable(window)
      ) {
        const rec = this.lease(ip);
        const xid = this.host.nextXid();
        if (rec) this.host.send(link, bndUpdFor(rec, time, xid));
        this.outbox.sent(ip, xid, rec);
      }
    }
    for (const r of this.outbox.takeDone()) {
      this.host.send(link, { type: MessageType.UPDDONE, time: this.host.nowSec(), xid: r.xid });
      if (r.kind === 'UPDREQALL')
        this.host.log.info(
          `${this.host.label}: update request all answered: ${r.reached} leases acknowledged`,
        );
      this.host.log.info(`Sent update done message to ${this.host.settings.name}`);
    }
  }

  /** Entering normal (ISC): every record the partner has not acknowledged, or that moved on since, is sent. */
  queueUnsent(): void {
    const now = this.host.nowSec();
    const book = this.host.leases;
    for (const ip of book.addresses()) {
      const l = this.lease(ip);
      if (l && needsUpdate(l, now)) this.outbox.add(ip);
    }
  }

  onUpdateRequest(link: Link, m: UpdReqMessage | UpdReqAllMessage): void {
    const book = this.host.leases;
    if (m.type === MessageType.UPDREQALL) {
      // Every record, each read when its turn to be sent comes: the outbox walks them as the window opens.
      this.host.log.info(`${this.host.label}: update request all from the peer: sending every lease`);
      this.outbox.request(m.xid, 'UPDREQALL', this.everyRecord());
    } else {
      // Those the partner has not acknowledged.
      const now = this.host.nowSec();
      const ips: Ip4[] = [];
      for (const ip of book.addresses()) {
        const l = this.lease(ip);
        if (l && needsUpdate(l, now)) ips.push(ip);
      }
      this.host.log.info(`${this.host.label}: update request from the peer: sending ${ips.length} leases`);
      this.outbox.request(m.xid, 'UPDREQ', ips);
    }
    this.pump();
  }

  /** The addresses of this relationship that have a record, each looked at when the walk reaches it. */
  private *everyRecord(): Generator<Ip4> {
    const book = this.host.leases;
    for (const ip of book.addresses()) {
      // No decoding where the book can say (decoding 100,000+ records twice cost a resync ~10 % of the primary).
      if (
        this.staged.has(ip) ||
        (book.stateOf ? book.stateOf(ip) !== undefined : book.get(ip) !== undefined)
      ) {
        yield ip;
      }
    }
  }

  onBndAck(link: Link, m: BndAckMessage): void {
    const f = this.outbox.acked(m.xid, m.assignedIp);
    if (f === 'superseded') {
      // The partner's own update of that address won over ours while ours was in flight (ISC's duel).
      this.host.counters.inc('bndack.superseded');
    } else if (!f) {
      // ISC logs and ignores a BNDACK that matches no update of its (a restarted sender's old xid).
      this.host.counters.inc('protocol.unexpected-bndack');
      this.host.noteBadInput(
        'unexpected-bndack',
        'warn',
        `${this.host.label}: BNDACK xid ${m.xid} matches no update in flight, ignored`,
      );
    } else if (m.rejectReason !== undefined && m.rejectReason !== 0) {
      // ISC never sends a rejected update again, and neither do we: the partner's record stands.
      this.host.counters.inc(`bndack.rejected.${m.rejectReason}`);
      const why = m.message ? ` (${text(m.message)})` : '';
      this.host.noteBadInput(
        `bndack-rejected.${m.rejectReason}`,
        'warn',
        `${this.host.label}: bind update on ${formatIp4(f.ip)} rejected by the peer: ${rejectReasonText(m.rejectReason)}${why}`,
      );
    } else {
      this.host.counters.inc('bndack.accepted');
      this.recordAck(f.ip, f.sent);
    }
    if (link.phase === 'up') this.pump();
  }

  /**
   * What a BNDACK proved (tsfp/atsfp, EXPIRED -> FREE), stored with the others of the same turn in one write: a
   * resync acknowledges thousands a second, and one apply per BNDACK made the sender's store the bottleneck.
   * Worked out from the record as it is when the write goes (a DHCP renewal or the partner's update may have
   * changed it since the BNDACK). Nothing waits for these writes (ISC defers this commit too); a lost one only
   * means a shorter lease later.
   */
  private recordAck(ip: Ip4, sent: Lease): void {
    // A resync resends records the partner had acknowledged already: nothing to read back for those.
    if (ackProvesNothingNew(sent)) return;
    this.ackWrites.push({ ip, sent });
    if (this.ackWrites.length > 1) return;
    setImmediate(() => {
      const acks = this.ackWrites;
      this.ackWrites = [];
      this.storeUpdates();
      const ctx = this.bindingContext();
      const batch: Lease[] = [];
      for (const a of acks) {
        const cur = this.lease(a.ip);
        const next = cur && applyAck(cur, a.sent, ctx);
        if (next) batch.push(next);
      }
      if (batch.length === 0) return;
      this.host.leases.apply(batch).catch((err: unknown) => {
        this.host.counters.inc('ack-write-failed');
        this.host.noteBadInput(
          'ack-write-failed',
          'error',
          `${this.host.label}: cannot record the peer's acknowledgement of ${batch.length} lease(s): ${msg(err)}`,
        );
      });
    });
  }

  /**
   * The partner's binding: ISC's checks (core/bindings.ts), then stored; the BNDACK leaves once the record is
   * durable, and never when the store refused it (the partner sends it again after the next connect).
   */
  onBndUpd(link: Link, m: BndUpdMessage): void {
    const book = this.host.leases;
    const ip = m.assignedIp;
    let verdict: UpdateVerdict;
    try {
      verdict =
        ip === undefined
          ? applyUpdate(m, undefined, false, undefined, this.bindingContext())
          : applyUpdate(
              m,
              this.lease(ip),
              book.inRelationship(ip),
              this.outbox.flyingRecord(ip),
              this.bindingContext(),
            );
    } catch (err) {
      this.host.counters.inc('internal-errors');
      this.host.log.error(`${this.host.label}: could not check the peer's binding update: ${msg(err)}`);
      verdict = { accept: false, reason: RejectReason.UNKNOWN, message: 'could not check the update' };
    }
    if (this.host.updateListened())
      this.host.updated({
        ip,
        status: m.bindingStatus,
        accepted: verdict.accept,
        reason: verdict.accept ? undefined : verdict.reason,
      });
    if (!verdict.accept) {
      this.host.counters.inc(`bndupd.rejected.${verdict.reason}`);
      const at = ip === undefined ? 'no address' : formatIp4(ip);
      this.host.noteBadInput(
        `bndupd-rejected.${verdict.reason}`,
        'warn',
        `${this.host.label}: BNDUPD ${at} rejected: ${rejectReasonText(verdict.reason)} (${verdict.message})`,
      );
      this.host.send(link, bndAckFor(m, verdict, this.host.nowSec()));
      if (verdict.tellOurs && ip !== undefined) {
        this.outbox.add(ip);
        this.pump();
      }
      return;
    }
    const lease = verdict.lease;
    this.outbox.superseded(lease.address);
    if (verdict.supersedesPending) this.outbox.dropFlying(lease.address);
    this.staged.set(lease.address, lease);
    this.updates.push({ link, m, lease });
    // After the other messages of this turn (a tick queued from a promise job runs once the queue of jobs is
    // empty, before any I/O): a resync's chunk of hundreds of BNDUPDs becomes one apply and one store commit.
    if (this.updates.length === 1) process.nextTick(() => this.storeUpdates());
  }

  /** The partner's record of `ip` as accepted this turn, or the book's. */
  private lease(ip: Ip4): Lease | undefined {
    return this.staged.get(ip) ?? this.host.leases.get(ip);
  }

  /**
   * Stores the partner's updates accepted so far in one apply, then BNDACKs each once it is durable. When that
   * apply is refused, each is stored on its own, so that one record the store cannot take (or a failed store)
   * leaves unacknowledged only what was not stored, as one apply per update did. Runs before any other apply of
   * ours, so they land in the order they were decided.
   *
   * In recover, a BNDACK leaves once the record is in the book, before it is durable (see earlyAcksSettled): a
   * resync is then paced by the partner's window and not by one disk sync per window's worth of updates. The peer
   * service calls this before each step of its machine, so updates are stored under the state that accepted them.
   */
  storeUpdates(): void {
    const batch = this.updates;
    if (batch.length === 0) return;
    this.updates = [];
    // A new Map, not clear(): V8's clear() leaves the old table holding its entries, linked to the new one. Once one
    // such table had been promoted, the chain from it kept every staged record (and the client id and chaddr bytes
    // they share with their messages) alive through each scavenge: a resync of 100,000 updates promoted 42-46 MB
    // and spent 210-230 ms in scavenges; with a Map per batch, 10-11 MB and 100-120 ms (--trace-gc-nvp).
    this.staged = new Map();
    const book = this.host.leases;
    const acked = (u: { link: Link; m: BndUpdMessage }, time = this.host.nowSec()): void => {
      this.host.counters.inc('bndupd.acked');
      if (u.link.phase === 'up') this.host.send(u.link, bndAckFor(u.m, { accept: true }, time));
    };
    const oneByOne = (rest: typeof batch): void => {
      for (const u of rest)
        book.apply([u.lease]).then(
          () => acked(u),
          (err: unknown) => {
            this.host.counters.inc('bndupd.store-failed');
            this.host.noteBadInput(
              'bndupd-store-failed',
              'error',
              `${this.host.label}: cannot store the peer's update of ${formatIp4(u.lease.address)}, not acknowledged: ${msg(err)}`,
            );
          },
        );
    };
    if (book.applyNow && this.host.core().my === ServerState.RECOVER) {
      const { applied, durable } = book.applyNow(batch.map((u) => u.lease));
      const now = this.host.nowSec(); // one clock read for the batch's BNDACKs, which leave in this turn
      for (let i = 0; i < applied; i++) acked(batch[i]!, now);
      this.host.counters.inc('bndupd.acked-before-durable', applied);
      this.early.pending++;
      const link = batch[0]!.link;
      durable.then(
        () => this.earlySettled(undefined, link),
        (err: unknown) => this.earlySettled(applied > 0 ? err : undefined, link),
      );
      // A record the book could not take stopped the batch: it and those after it go the one-by-one way.
      if (applied < batch.length) oneByOne(batch.slice(applied));
      return;
    }
    book.apply(batch.map((u) => u.lease)).then(
      () => batch.forEach((u) => acked(u)),
      () => oneByOne(batch),
    );
  }

  /**
   * Updates acknowledged in recover before they were durable. Safe because a node in recover serves no client and
   * comes back in recover after a crash (its state is recorded), asking for everything again; what must hold is
   * that it leaves recover only once they are durable (the peer service asks earlyAcksSettled before each step of
   * its machine in recover), and that a failed write is asked for again: the link is dropped, and the next one
   * starts with UPDREQALL, as recover does.
   */
  private early = { pending: 0, failed: undefined as unknown, waiters: [] as Array<() => void> };

  private earlySettled(err: unknown, link: Link): void {
    this.early.pending--;
    if (err !== undefined) {
      this.host.counters.inc('bndupd.store-failed');
      // Acknowledged on a link that is gone: the next link asks for everything anyway (we are in recover). On
      // THE link: it is dropped, and what it says until then is not acted on.
      const current = link === this.host.linked() && link.phase === 'up';
      if (current && this.early.failed === undefined) {
        this.early.failed = err;
        this.host.dropLink('updates acknowledged in recover were not stored');
      }
      this.host.noteBadInput(
        'bndupd-store-failed',
        'error',
        `${this.host.label}: cannot store the peer's updates acknowledged in recover: ${msg(err)}; ${current ? 'dropping the link to ask for every lease again' : 'their link is gone, the next one asks for every lease again'}`,
      );
    }
    if (this.early.pending === 0) for (const w of this.early.waiters.splice(0)) w();
  }

  /**
   * Resolves once every update acknowledged in recover is durable: true, or false when one was not (the link is
   * being dropped; the machine must not leave recover on what that link said). At once when none is pending.
   */
  async earlyAcksSettled(): Promise<boolean> {
    if (this.early.pending > 0) await new Promise<void>((r) => this.early.waiters.push(r));
    return this.early.failed === undefined;
  }

  /**
   * ISC's pool balance, each pool on its own (primary in normal: FREE -> BACKUP so the secondary has addresses;
   * secondary: BACKUP -> FREE when it hoards, POOLREQ when short), then the next check between min-balance and
   * max-balance. Returns the leases moved.
   */
  balance(trigger: BalanceTrigger): number {
    const hba = this.host.hba();
    if (this.host.core().my !== ServerState.NORMAL || !hba) return 0;
    this.storeUpdates(); // the moves are decided on, and stored after, the partner's updates of this turn
    const book = this.host.leases;
    const moves: Lease[] = [];
    let poolReq = false;
    for (const p of book.pools()) {
      const addresses = p.addresses.map((ip) => ({ ip, lease: book.get(ip) }));
      const r = balancePool(
        { label: p.label, addresses },
        this.host.settings.role,
        hba,
        this.balanceSettings,
        this.bindingContext(),
        trigger,
      );
      for (const line of r.log) this.host.log.info(line);
      // Not push(...r.moves): a pool of 262,144 moves 131,072 leases, past V8's limit on spread arguments (the
      // balance threw and a fresh pair on such a pool never balanced).
      for (const l of r.moves) moves.push(l);
      poolReq ||= r.poolReq;
    }
    if (moves.length > 0) {
      book.apply(moves).then(
        () => {
          for (const l of moves) this.outbox.add(l.address, undefined, this.host.leases.get(l.address));
          this.pump();
        },
        (err: unknown) => {
          this.host.counters.inc('balance-write-failed');
          this.host.log.error(`${this.host.label}: pool balance not stored: ${msg(err)}`);
        },
      );
    }
    if (poolReq && this.host.linked())
      this.host.sendOnLink({ type: MessageType.POOLREQ, ...this.host.header() });
    const next = nextBalanceDelay(this.balanceSettings, Math.random());
    this.host.timers.set(
      'balance',
      next * 1000,
      () => void this.host.enqueue(() => void this.balance('timer')),
    );
    return moves.length;
  }

  poolSummary(): Pick<FailoverPeerStatus, 'pool' | 'pools'> {
    const pools = this.poolStatus();
    if (pools.length === 0) return { pool: undefined, pools };
    const sum = (k: 'total' | 'free' | 'backup') => pools.reduce((n, p) => n + p[k], 0);
    return { pool: { total: sum('total'), free: sum('free'), backup: sum('backup') }, pools };
  }

  /** Free and backup counts of each pool now (the status; ISC prints them in its balance lines). */
  private poolStatus(): Array<{ label: string; total: number; free: number; backup: number }> {
    const book = this.host.leases;
    return book.pools().map((p) => {
      // States only: decoding every record of a /15 took a status-get 1.3 s.
      let free = 0;
      let backup = 0;
      for (const ip of p.addresses) {
        const st = book.stateOf ? book.stateOf(ip) : book.get(ip)?.state;
        if (st === undefined || st === BindingState.FREE) free++;
        else if (st === BindingState.BACKUP) backup++;
      }
      return { label: p.label, total: p.addresses.length, free, backup };
    });
  }
}

function msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
