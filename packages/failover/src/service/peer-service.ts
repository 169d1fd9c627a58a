import { EventEmitter } from 'node:events';
import {
  Counters,
  KeyedTimers,
  monotonicClock,
  nodeScheduler,
  RateLimiter,
  systemClock,
  type Clock,
  type Scheduler,
} from '@hadhcp/common';
import type { Lease } from '@hadhcp/leases';
import { mineToAllocate } from '../core/bindings.js';
import { initFailover, step } from '../core/machine.js';
import { ackTimes } from '../core/mclt.js';
import type {
  FailoverAction,
  FailoverEvent,
  FailoverState,
  PersistedFailoverState,
  TimerKey,
} from '../core/machine-types.js';
import { iscStateName } from '../core/serve.js';
import { decodeMessage } from '../wire/codec.js';
import {
  MESSAGE_TYPE_NAMES,
  MessageType,
  RejectReason,
  rejectReasonText,
  ServerState,
} from '../wire/constants.js';
import { disconnectFor, isFailoverWireError, type FailoverWireError } from '../wire/errors.js';
import { primaryBucketCount, servesBucket } from '../wire/hba.js';
import { loadBalanceHash } from '../wire/loadb.js';
import type { ConnectAckMessage, ConnectMessage, DisconnectMessage, FailoverMessage } from '../wire/types.js';
import { bytesOf, text } from '../wire/values.js';
import type { StateStore } from '../io/state-file.js';
import type { PeerConnection, PeerTransport } from '../io/transport.js';
import {
  checkConnect,
  checkConnectAck,
  connectAckMessage,
  connectMessage,
  type LinkParams,
  type Refusal,
} from './handshake.js';
import { SlidingDeadline } from './deadline.js';
import { BindingSync, type UpdateEvent } from './binding-sync.js';
import { Dialer } from './dialer.js';
import { Link, LINK_STARTUP_MS } from './link.js';
import { disconnectMessage, poolRespFor } from './replies.js';
import type {
  FailoverLogger,
  FailoverPeerSettings,
  FailoverPeerStatus,
  FailoverView,
  LeaseBook,
  LinkChange,
  ServeChange,
  StateChange,
} from './types.js';

/*
 * One failover relationship at run time (one `failover peer` block): the link to the peer and the state machine.
 *
 * - Link: both sides listen and dial (io/transport.ts). On every new connection the primary sends CONNECT; the
 *   secondary checks it and answers CONNECTACK (handshake.ts). The first link to finish the exchange is THE link;
 *   a CONNECT or CONNECTACK on any other while it is up is refused with reason 7, as ISC does.
 * - Keepalive (ISC: dhcp_failover_send_contact, dhcp_failover_timeout): every message we send re-arms a CONTACT
 *   at a third of the partner's receive-timer; every message we receive re-arms our own max-response-delay, and
 *   when that passes in silence the link is dropped ("timeout waiting for failover peer").
 * - Bad input has one path: counted under its reason, logged (rate-limited), answered by a DISCONNECT carrying a
 *   reject reason, link closed. Nothing the peer sends can throw out of here.
 * - The machine (core/machine.ts) gets connected / disconnected / peerState / upddone / timer events; its actions
 *   run in order, and a state is written to the StateStore (fsync'd) before the STATE announcing it goes out.
 *   Events run one at a time through one queue, so a STATE that arrives while a state is being written waits.
 * - Lease sync (ISC's update and ack queues): binding-sync.ts, over this service's link and machine. Every lease
 *   change the DHCP service makes durable in a pool of this relationship comes in through committed() and leaves
 *   as a BNDUPD; the DHCPACK that made it is released on the BNDACK (zero loss). The partner's BNDUPDs are checked
 *   by ISC's rules, stored, and BNDACKed once durable. UPDREQ / UPDREQALL / UPDDONE, and the pool balance.
 */

export interface FailoverPeerDeps {
  log: FailoverLogger;
  transport: PeerTransport;
  store: StateStore;
  /** The DHCP server's leases (the daemon: @hadhcp/dhcp's failoverLeaseBook; tests: MemoryLeaseBook). */
  leases: LeaseBook;
  /** The wall clock: STOS and header times go on the wire as seconds since the epoch, and ISC compares them. */
  clock?: Clock;
  scheduler?: Scheduler;
  /** Sent as vendor-class in CONNECT and CONNECTACK (ISC sends "isc-4.4.3-P1"; nobody checks it). */
  vendorClass?: string;
}

export interface FailoverPeerEvents {
  state: [StateChange];
  serve: [ServeChange];
  link: [LinkChange];
  /** The partner's BNDUPD, after ISC's checks: accepted (and then stored), or refused with its reason. */
  update: [UpdateEvent];
}

/** The counters of messages in and out by type (`in.BNDUPD`), named once: a resync counts thousands a second. */
const IN_COUNTER: Record<number, string> = {};
const OUT_COUNTER: Record<number, string> = {};
for (const [type, name] of Object.entries(MESSAGE_TYPE_NAMES)) {
  IN_COUNTER[Number(type)] = `in.${name}`;
  OUT_COUNTER[Number(type)] = `out.${name}`;
}

/** At most one line per reason per minute about bad input from the peer. */
const BAD_INPUT_LOG_INTERVAL_MS = 60_000;
/** SIGTERM's gentle shutdown waits this long at most for the machine to be done (its own wait is 5 s). */
const SHUTDOWN_LIMIT_MS = 7_000;

export class FailoverPeerService extends EventEmitter<FailoverPeerEvents> {
  private core: FailoverState;
  private readonly clock: Clock;
  private readonly timers: KeyedTimers;
  private readonly counters = new Counters();
  private readonly badInputLog = new RateLimiter(BAD_INPUT_LOG_INTERVAL_MS);
  private readonly params: LinkParams;
  private readonly label: string;
  private readonly links = new Set<Link>();
  private readonly dialer: Dialer;
  /** Lease sync: BNDUPD / BNDACK, UPDREQ(ALL) / UPDDONE, pool balance (binding-sync.ts). */
  private readonly sync: BindingSync;
  /** Our max-response-delay after the peer's last message, and the CONTACT after our own last one (keyed timers). */
  private readonly receiveDeadline: SlidingDeadline;
  private readonly contactDeadline: SlidingDeadline;
  private linked: Link | undefined;
  private linkSince = 0;
  private lastContact: number | undefined;
  private partner: { maxUnacked?: number; receiveTimer?: number; vendorClass?: string } = {};
  /** The HBA in force: ours on a primary, the primary's from CONNECT on a secondary. */
  private hba: Uint8Array | undefined;
  private xid = 0;
  private nextLinkId = 0;
  private running = false;
  private queue: Promise<void> = Promise.resolve();
  private whenShutDown: (() => void) | undefined;
  /** Partner-down: when the partner's expired leases become ours (s), ISC's STOS + MCLT. */
  private reclaimAt: number | undefined;

  constructor(
    readonly settings: FailoverPeerSettings,
    private readonly deps: FailoverPeerDeps,
  ) {
    super();
    this.clock = deps.clock ?? systemClock;
    this.timers = new KeyedTimers(deps.scheduler ?? nodeScheduler);
    this.label = `failover peer ${settings.name}`;
    this.params = {
      name: bytesOf(settings.name),
      maxUnacked: settings.maxUnackedUpdates,
      receiveTimer: settings.maxResponseDelay,
      vendorClass: bytesOf(deps.vendorClass ?? 'hadhcp'),
    };
    if (settings.role === 'primary') this.hba = settings.hba ?? new Uint8Array(32);
    // The timers' own time: a test's scheduler moves with its clock; real timers with the monotonic one (a step of
    // the wall clock must neither drop the link nor hold a CONTACT back).
    const timerClock = deps.scheduler ? this.clock : monotonicClock;
    this.receiveDeadline = new SlidingDeadline(this.timers, timerClock, 'receive', () =>
      this.silenceTimeout(),
    );
    this.contactDeadline = new SlidingDeadline(this.timers, timerClock, 'contact', () => {
      void this.enqueue(() => this.sendOnLink({ type: MessageType.CONTACT, ...this.header() }));
    });
    this.dialer = new Dialer(deps.transport, this.timers, this.counters, deps.log, this.label, {
      adopt: (c) => this.adopt(c),
      busy: () => this.linked !== undefined || [...this.links].some((l) => l.conn.direction === 'out'),
      unreachable: () => void this.enqueue(() => this.feed({ type: 'disconnected', reason: 'timeout' })),
      note: (key, level, line) => this.noteBadInput(key, level, line),
    });
    this.sync = new BindingSync({
      settings,
      leases: deps.leases,
      log: deps.log,
      counters: this.counters,
      label: this.label,
      timers: this.timers,
      core: () => this.core,
      linked: () => this.linked,
      partnerMaxUnacked: () => this.partner.maxUnacked,
      hba: () => this.hba,
      send: (link, m) => this.send(link, m),
      sendOnLink: (m) => this.sendOnLink(m),
      header: () => this.header(),
      dropLink: (why) =>
        void this.enqueue(() => {
          const l = this.linked;
          if (l) return this.lose(l, why, true);
        }),
      nextXid: () => this.nextXid(),
      nowSec: () => this.nowSec(),
      enqueue: (job) => this.enqueue(job),
      noteBadInput: (key, level, line) => this.noteBadInput(key, level, line),
      updateListened: () => this.listenerCount('update') > 0,
      updated: (e) => void this.emit('update', e),
    });
    this.view = {
      name: this.settings.name,
      scope: () => this.core.serve,
      // ISC: "load balancing will be disabled ... because its load balance max secs is 0" (its default): then
      // both servers answer every client.
      loadBalancing: () =>
        (this.settings.loadBalanceMaxSeconds ?? 0) > 0 &&
        this.core.my === ServerState.NORMAL &&
        this.core.partner === ServerState.NORMAL,
      servesKey: (key) =>
        this.hba === undefined || servesBucket(this.hba, loadBalanceHash(key), this.settings.role),
      loadBalanceMaxSeconds: () => this.settings.loadBalanceMaxSeconds ?? 0,
      mayAllocate: (lease, nowSec) => mineToAllocate(lease, this.sync.bindingContext(nowSec)),
      ackTimes: (desired, lease, nowSec) =>
        ackTimes({ desired, now: nowSec, tsfp: lease?.tsfp ?? 0, mclt: this.core.mclt }),
    };
    this.core = initFailover({
      name: settings.name,
      role: settings.role,
      mclt: settings.mclt ?? 0,
      autoPartnerDown: settings.autoPartnerDown,
    });
  }

  /** Reads the recorded state, starts the machine, listens, and dials the peer. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    let saved: PersistedFailoverState | undefined;
    try {
      saved = await this.deps.store.load();
    } catch (err) {
      this.deps.log.error(`${this.label}: cannot read the recorded state, starting without it: ${msg(err)}`);
    }
    await this.enqueue(() => this.feed({ type: 'start', saved, storeEmpty: this.deps.leases.isEmpty() }));
    await this.dialer.start();
  }

  /** Drops the links and stops; the recorded state stays as it is (ISC's stock builds stop this way). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.dialer.stop();
    this.timers.cancelAll();
    for (const l of [...this.links]) l.close();
    this.links.clear();
    this.linked = undefined;
    await this.deps.transport.close();
    await this.queue;
  }

  /**
   * SIGTERM, gently (ISC's shutdown countdown): normal announces shutdown and waits up to 5 s for the partner's
   * partner-down, then records recover; other states stop as they are. Then stop().
   */
  async shutdown(updatesPending = this.sync.outbox.pending > 0): Promise<void> {
    if (!this.running) return;
    const done = new Promise<void>((resolve) => {
      this.whenShutDown = resolve;
      this.timers.set('shutdown-limit', SHUTDOWN_LIMIT_MS, resolve);
    });
    await this.enqueue(() => this.feed({ type: 'shutdownRequested', updatesPending }));
    await done;
    await this.stop();
  }

  /**
   * The operator's `hadhcp partner-down` (ISC users do it with omshell): the partner is known to be down. Taken
   * only from communications-interrupted or resolution-interrupted with the link down. Returns our state after.
   */
  async partnerDown(): Promise<string> {
    await this.enqueue(() => this.feed({ type: 'adminPartnerDown' }));
    return iscStateName(this.core.my);
  }

  /** The operator's `hadhcp failover resync`: ask the partner for every binding (UPDREQALL) without leaving normal. */
  async resync(): Promise<boolean> {
    if (!this.linked) return false;
    await this.enqueue(() => this.feed({ type: 'resyncRequested' }));
    return true;
  }

  /** Resolves once every event queued so far has been handled (tests, and stop()). */
  settle(): Promise<void> {
    return this.queue;
  }

  /**
   * The start line's facts (role, state, where it listens), without status()'s walk of every pool address: on a
   * /15 that walk took ~28 ms of a restarted node's way into recover.
   */
  startLine(): string {
    const l = this.linked;
    return `failover peer ${this.settings.name}: ${this.settings.role}, listening on ${l?.conn.local ?? 'its address'}; state ${iscStateName(this.core.my)}`;
  }

  status(): FailoverPeerStatus {
    const c = this.core;
    const l = this.linked;
    const counters: Record<string, number> = { ...this.counters.toJSON() };
    for (const [k, v] of Object.entries(this.deps.transport.counters())) counters[`transport.${k}`] = v;
    return {
      name: this.settings.name,
      role: this.settings.role,
      state: iscStateName(c.my),
      since: iso(c.since),
      partnerState: iscStateName(c.partner),
      partnerSince: iso(c.partnerSince),
      mclt: c.mclt,
      serve: c.serve,
      connected: l !== undefined,
      link: l && {
        local: l.conn.local,
        remote: l.conn.remote,
        direction: l.conn.direction,
        since: iso(this.linkSince),
      },
      lastContact: this.lastContact === undefined ? undefined : iso(this.lastContact),
      partner: {
        maxUnacked: this.partner.maxUnacked,
        receiveTimer: this.partner.receiveTimer,
        vendorClass: this.partner.vendorClass,
      },
      primaryBuckets: this.hba && primaryBucketCount(this.hba),
      updates: {
        queued: this.sync.outbox.queued,
        unacked: this.sync.outbox.unacked,
        requestsOpen: this.sync.outbox.requestsOpen,
        lazy: this.settings.lazyUpdates === true,
      },
      ...this.sync.poolSummary(),
      reclaimAt: this.reclaimAt === undefined ? undefined : iso(this.reclaimAt * 1000),
      counters,
    };
  }

  /** The machine's state, for tests and the daemon. */
  get machine(): FailoverState {
    return this.core;
  }

  // ---- the queue and the machine ----

  /** Runs `job` after everything queued before it. A job that throws is logged, never rethrown. */
  private enqueue(job: () => Promise<void> | void): Promise<void> {
    const run = this.queue.then(job).catch((err: unknown) => this.internalError(err));
    this.queue = run;
    return run;
  }

  private internalError(err: unknown): void {
    this.counters.inc('internal-errors');
    this.deps.log.error(
      `${this.label}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : msg(err)}`,
    );
  }

  private async feed(event: FailoverEvent): Promise<void> {
    // The partner's updates of this turn are stored first, under the state that accepted them (an UPDDONE follows
    // the last of them; a step into recover must not acknowledge early what came before it). In recover they are
    // acknowledged before they are durable (binding-sync.ts), so no step is taken (leaving recover above all)
    // before they are; when one was not stored, the link is being dropped and only its disconnect is heard.
    this.sync.storeUpdates();
    if (this.core.my === ServerState.RECOVER && event.type !== 'disconnected') {
      if (!(await this.sync.earlyAcksSettled())) {
        this.deps.log.warn(`${this.label}: ${event.type} not acted on: the link is being dropped`);
        return;
      }
    }
    const before = this.core;
    const r = step(before, event, this.clock.now());
    this.core = r.state;
    for (const a of r.actions) {
      if (a.type !== 'persistState') {
        this.execute(a);
        continue;
      }
      try {
        await this.deps.store.write(a.record);
      } catch (err) {
        this.counters.inc('state-write-failed');
        this.deps.log.error(`Unable to record current failover state for ${this.settings.name}: ${msg(err)}`);
        if (a.required) {
          // ISC's set_state: a state that cannot be recorded is not entered. Back to where this step began.
          this.core = before;
          this.rearmMachineTimers(before);
          return;
        }
      }
    }
    this.sync.pump();
  }

  private execute(a: Exclude<FailoverAction, { type: 'persistState' }>): void {
    const now = this.clock.now();
    switch (a.type) {
      case 'sendState':
        return this.sendOnLink({
          type: MessageType.STATE,
          ...this.header(),
          serverState: a.state,
          serverFlags: a.flags,
          stos: a.stos,
        });
      case 'sendUpdReq':
        return this.sendOnLink({ type: MessageType.UPDREQ, ...this.header() });
      case 'sendUpdReqAll':
        return this.sendOnLink({ type: MessageType.UPDREQALL, ...this.header() });
      case 'sendQueuedUpdates':
        return this.sync.queueUnsent();
      case 'requeueUnacked':
        this.sync.outbox.requeue();
        return;
      case 'rebalancePools':
        this.sync.balance(a.mode === 'balance' ? 'normal' : 'timer');
        return;
      case 'reclaimExpiredAt':
        this.reclaimAt = a.at;
        return;
      case 'setTimer':
        return this.timers.set(`machine.${a.key}`, a.at - now, () => this.machineTimer(a.key));
      case 'clearTimer':
        return this.timers.cancel(`machine.${a.key}`);
      case 'mayServe':
        this.emit('serve', {
          relationship: this.settings.name,
          scope: a.scope,
          was: a.was,
          reason: a.reason,
        });
        return;
      case 'stateChanged':
        // A DHCPACK waits for the partner only while updates flow to it.
        if (!this.sync.sending()) this.sync.outbox.releaseAll();
        this.emit('state', {
          relationship: this.settings.name,
          from: iscStateName(a.from),
          to: iscStateName(a.to),
          at: now,
        });
        return;
      case 'log':
        return this.deps.log[a.level](a.message);
      case 'shutdownComplete':
        this.whenShutDown?.();
        return;
    }
  }

  private machineTimer(key: TimerKey): void {
    void this.enqueue(() => this.feed({ type: 'timer', key }));
  }

  private rearmMachineTimers(s: FailoverState): void {
    const now = this.clock.now();
    for (const k of this.timers.keys())
      if (k.startsWith('machine.') && s.timers[k.slice(8) as TimerKey] === undefined) this.timers.cancel(k);
    for (const [key, at] of Object.entries(s.timers) as [TimerKey, number][])
      this.timers.set(`machine.${key}`, at - now, () => this.machineTimer(key));
  }

  // ---- connections ----

  /** A new TCP connection, ours or the peer's: frame its bytes, start the handshake. */
  private adopt(conn: PeerConnection): void {
    const link = new Link(++this.nextLinkId, conn);
    this.links.add(link);
    this.counters.inc(`connections.${conn.direction}`);
    this.deps.log.debug?.(`${this.label}: TCP ${conn.direction === 'in' ? 'from' : 'to'} ${conn.remote}`);
    conn.onData((chunk) => this.onBytes(link, chunk));
    conn.onClose((why) => void this.enqueue(() => this.lose(link, why ? `closed: ${why}` : 'closed')));
    // ISC gives the peer 15 s to finish CONNECT/CONNECTACK on a new connection.
    this.timers.set(`startup.${link.id}`, LINK_STARTUP_MS, () => {
      void this.enqueue(() => {
        if (link.phase !== 'handshake') return;
        this.counters.inc('links.startup-timeout');
        this.deps.log.info(`${this.label}: no CONNECT/CONNECTACK from ${conn.remote} within 15 s, closing`);
        return this.lose(link, 'startup timeout', true);
      });
    });
    if (this.settings.role === 'primary') {
      void this.enqueue(() => {
        if (link.phase !== 'handshake') return;
        this.send(
          link,
          connectMessage(this.params, { ...this.header(), mclt: this.core.mclt, hba: this.hba! }),
        );
      });
    }
  }

  /** Cuts the stream into messages here, in arrival order; they are handled in the queue, as one job. */
  private onBytes(link: Link, chunk: Uint8Array): void {
    if (link.phase === 'closed') return;
    const r = link.take(chunk);
    if (r.messages.length > 0) {
      const ms = r.messages;
      void this.enqueue(() => this.onMessages(link, ms, 0));
    }
    if (r.error) {
      const err = r.error;
      void this.enqueue(() => this.malformed(link, err));
    }
  }

  /**
   * ms[from..] in order, each as if it were its own job of the queue (an internal error is logged and the next is
   * handled), without a promise for those handled at once: a resync's chunk carries hundreds of BNDUPDs or BNDACKs,
   * and a job each was a promise and a turn of the microtask queue each. One that waits (a step of the machine)
   * holds the rest until it is done.
   */
  private onMessages(link: Link, ms: Uint8Array[], from: number): Promise<void> | void {
    // The peer is heard once per run of messages handled at once (one instant: the silence timer is re-armed
    // from the same time by each), not once per message: two clock reads each, thousands a second in a resync.
    let heard = false;
    for (let i = from; i < ms.length; i++) {
      let r: Promise<void> | void;
      try {
        r = this.onMessage(link, ms[i]!, heard);
      } catch (err) {
        this.internalError(err);
        continue;
      } finally {
        heard ||= link === this.linked;
      }
      if (r)
        return r.then(
          () => this.onMessages(link, ms, i + 1),
          (err: unknown) => {
            this.internalError(err);
            return this.onMessages(link, ms, i + 1);
          },
        );
    }
  }

  /** `heard`: the peer was heard at this instant already (onMessages). */
  private onMessage(link: Link, bytes: Uint8Array, heard = false): Promise<void> | void {
    if (link.phase === 'closed') return;
    const m = decodeMessage(bytes);
    if (isFailoverWireError(m)) return this.malformed(link, m);
    this.counters.inc(IN_COUNTER[m.type] ?? `in.${m.type}`);
    for (const s of m.skipped ?? []) this.counters.inc(`skipped.${s.why}`);
    if (link === this.linked && !heard) this.heard();
    if (m.type === MessageType.CONNECT) return this.onConnect(link, m);
    if (m.type === MessageType.CONNECTACK) return this.onConnectAck(link, m);
    if (m.type === MessageType.DISCONNECT) return this.onDisconnect(link, m);
    if (link.phase !== 'up') {
      this.counters.inc('protocol.before-connect');
      const what = `${MESSAGE_TYPE_NAMES[m.type]} before CONNECT/CONNECTACK`;
      this.noteBadInput(
        'before-connect',
        'warn',
        `${this.label}: ${what} from ${link.conn.remote}, disconnecting`,
      );
      return this.refuseWithDisconnect(link, { reason: RejectReason.UNKNOWN, text: what }, 'protocol');
    }
    return this.onLinkMessage(link, m);
  }

  /** The peer said something: its silence timer starts again (ISC: dhcp_failover_timeout re-armed on receipt). */
  private heard(): void {
    this.lastContact = this.clock.now();
    this.receiveDeadline.push(this.settings.maxResponseDelay * 1000);
  }

  private silenceTimeout(): void {
    void this.enqueue(() => {
      const l = this.linked;
      if (!l) return;
      this.counters.inc('links.timeout');
      this.deps.log.error(`timeout waiting for failover peer ${this.settings.name}`);
      return this.lose(l, 'timeout', true);
    });
  }

  // ---- handshake ----

  private async onConnect(link: Link, m: ConnectMessage): Promise<void> {
    const refusal = checkConnect(m, this.handshakeContext());
    if (refusal) {
      this.countRefusal('connect', refusal);
      this.deps.log.error(
        `${this.label}: CONNECT from ${link.conn.remote} refused: ${rejectReasonText(refusal.reason)} (${refusal.text})`,
      );
      this.send(link, connectAckMessage(this.params, m, { time: this.nowSec(), refusal }));
      return this.lose(link, `refused CONNECT (${refusal.text})`, true);
    }
    this.send(link, connectAckMessage(this.params, m, { time: this.nowSec() }));
    this.hba = m.hba;
    this.up(link, m);
    await this.feed({ type: 'connected', mclt: m.mclt });
  }

  private async onConnectAck(link: Link, m: ConnectAckMessage): Promise<void> {
    if (m.rejectReason !== undefined && m.rejectReason !== 0) {
      // The peer refused our CONNECT (ISC: "Failover CONNECT to A.B.C.D rejected: ...").
      this.counters.inc(`peer-refused-connect.${m.rejectReason}`);
      const why = m.message ? ` (${text(m.message)})` : '';
      this.noteBadInput(
        `peer-refused.${m.rejectReason}`,
        'error',
        `${this.label}: CONNECT to ${link.conn.remote} rejected: ${rejectReasonText(m.rejectReason)}${why}`,
      );
      return this.lose(link, `CONNECT rejected by the peer: ${rejectReasonText(m.rejectReason)}`, true);
    }
    const refusal = checkConnectAck(m, this.handshakeContext());
    if (refusal) {
      this.countRefusal('connectack', refusal);
      this.deps.log.error(
        `${this.label}: CONNECTACK from ${link.conn.remote} refused: ${rejectReasonText(refusal.reason)} (${refusal.text})`,
      );
      return this.refuseWithDisconnect(link, refusal, 'refused CONNECTACK');
    }
    this.up(link, m);
    await this.feed({ type: 'connected' });
  }

  private up(link: Link, m: ConnectMessage | ConnectAckMessage): void {
    link.phase = 'up';
    this.linked = link;
    this.linkSince = this.clock.now();
    this.dialer.linked();
    this.timers.cancel(`startup.${link.id}`);
    // ISC adopts the partner's numbers only when present; we always send ours.
    this.partner = {
      maxUnacked: m.maxUnacked,
      receiveTimer: m.receiveTimer,
      vendorClass: m.vendorClass && text(m.vendorClass),
    };
    this.deps.log.info(
      `${this.label}: connected to ${link.conn.remote} (${link.conn.direction === 'in' ? 'they' : 'we'} connected; ${this.partner.vendorClass ?? 'no vendor class'})`,
    );
    this.emit('link', {
      relationship: this.settings.name,
      up: true,
      remote: link.conn.remote,
      direction: link.conn.direction,
    });
    this.heard();
    this.armContact();
  }

  private handshakeContext() {
    return {
      name: this.params.name,
      role: this.settings.role,
      nowSec: this.nowSec(),
      linked: this.linked !== undefined,
    };
  }

  // ---- messages on the link ----

  private onLinkMessage(link: Link, m: FailoverMessage): Promise<void> | void {
    switch (m.type) {
      case MessageType.STATE:
        if (m.serverState === undefined) {
          this.counters.inc('protocol.state-without-server-state');
          return this.noteBadInput(
            'no-server-state',
            'warn',
            `${this.label}: STATE without server-state, ignored`,
          );
        }
        return this.feed({ type: 'peerState', state: m.serverState, flags: m.serverFlags ?? 0 });
      case MessageType.CONTACT:
        return;
      case MessageType.BNDUPD:
        return this.sync.onBndUpd(link, m);
      case MessageType.BNDACK:
        return this.sync.onBndAck(link, m);
      case MessageType.UPDREQ:
      case MessageType.UPDREQALL:
        return this.sync.onUpdateRequest(link, m);
      case MessageType.UPDDONE:
        this.deps.log.info(`${this.label}: update done from the peer`);
        return this.feed({ type: 'upddone' });
      case MessageType.POOLREQ: {
        // ISC: the primary balances at once and says how many leases it gave; a secondary gives none.
        const moved = this.sync.balance('poolreq');
        this.deps.log.info(`${this.label}: pool request from the peer: ${moved} leases given`);
        this.send(link, poolRespFor(m, moved, this.nowSec()));
        return;
      }
      case MessageType.POOLRESP:
        this.deps.log.info(`${this.label}: pool response: ${m.addressesTransferred ?? 0} leases`);
        return;
    }
  }

  // ---- lease sync (binding-sync.ts) ----

  /**
   * The DHCP service's LeaseSync (@hadhcp/dhcp): `leases` are durable here. Those of this relationship's pools go
   * to the partner; `released` runs once the partner has acknowledged every one of them (no DHCPACK leaves for a
   * binding the partner does not have), or at once when it cannot be waited for: no link, a state that sends no
   * updates, or lazy updates configured (ISC's behaviour).
   */
  committed(leases: readonly Lease[], released?: () => void): void {
    this.sync.committed(leases, released);
  }

  /** What the DHCP core asks this relationship (@hadhcp/dhcp's FailoverView). */
  readonly view: FailoverView;

  private onDisconnect(link: Link, m: DisconnectMessage): Promise<void> {
    const reason = m.rejectReason === undefined ? 'no reason given' : rejectReasonText(m.rejectReason);
    const detail = m.message ? ` (${text(m.message)})` : '';
    this.counters.inc(`peer-disconnect.${m.rejectReason ?? 0}`);
    this.deps.log.error(`${this.label}: DISCONNECT from ${link.conn.remote}: ${reason}${detail}`);
    return this.lose(link, 'disconnect', true);
  }

  // ---- bad input and link loss ----

  /** One path for bad input: count, log (rate-limited), DISCONNECT with a reject reason, close. */
  private malformed(link: Link, err: FailoverWireError): Promise<void> {
    if (link.phase === 'closed') return Promise.resolve();
    this.counters.inc(`malformed.${err.reason}`);
    const type =
      err.type === undefined ? '' : ` (type ${MESSAGE_TYPE_NAMES[err.type as MessageType] ?? err.type})`;
    this.noteBadInput(
      `malformed.${err.reason}`,
      'error',
      `${this.label}: malformed message from ${link.conn.remote}${type}: ${err.reason}: ${err.detail}; disconnecting`,
    );
    this.send(link, disconnectFor(err, this.header()));
    return this.lose(link, 'malformed', true);
  }

  private refuseWithDisconnect(link: Link, r: Refusal, why: string): Promise<void> {
    this.send(link, disconnectMessage(r, this.header()));
    return this.lose(link, why, true);
  }

  /**
   * The end of a link, whoever ended it (`close`: we do, after what was sent). The link to the peer going down is
   * the machine's "disconnected"; a link that never finished its handshake just goes.
   */
  private async lose(link: Link, why: string, close = false): Promise<void> {
    if (link.phase === 'closed') return;
    const wasUp = link === this.linked;
    link.phase = 'closed';
    this.links.delete(link);
    this.timers.cancel(`startup.${link.id}`);
    if (close) link.close();
    if (!wasUp) {
      this.dialer.after('network');
      return;
    }
    this.linked = undefined;
    this.timers.cancel('contact');
    this.timers.cancel('receive');
    this.timers.cancel('balance');
    // Nothing in flight will be acknowledged now: sent again after the next connect; the partner asks again.
    this.sync.linkLost();
    this.deps.log.info(`${this.label}: link to ${link.conn.remote} lost: ${why}`);
    this.emit('link', {
      relationship: this.settings.name,
      up: false,
      remote: link.conn.remote,
      direction: link.conn.direction,
      why,
    });
    const reason = why === 'timeout' ? 'timeout' : why === 'disconnect' ? 'disconnect-msg' : 'close';
    await this.feed({ type: 'disconnected', reason });
    this.dialer.after('lost');
  }

  // ---- sending ----

  private send(link: Link, m: FailoverMessage): void {
    let bytes: Uint8Array;
    try {
      bytes = link.encode(m);
    } catch (err) {
      // Only a bug of ours can get here (a message over 2048 bytes): ISC would drop the link on it.
      this.counters.inc('encode-errors');
      this.deps.log.error(`${this.label}: cannot encode ${MESSAGE_TYPE_NAMES[m.type]}: ${msg(err)}`);
      return;
    }
    link.conn.send(bytes);
    this.counters.inc(OUT_COUNTER[m.type] ?? `out.${m.type}`);
    if (link === this.linked && !this.contactPending) {
      // Once per turn, after its sends (the same instant, to the millisecond): a resync's turn sends a window of
      // BNDUPDs or BNDACKs, and a clock read and a timer push each were ~2 % of a node's work.
      this.contactPending = true;
      process.nextTick(this.armContactNow);
    }
  }

  private sendOnLink(m: FailoverMessage): void {
    if (this.linked) this.send(this.linked, m);
  }

  /** An armContact is due at the end of this turn (send). */
  private contactPending = false;
  private readonly armContactNow = (): void => {
    this.contactPending = false;
    if (this.linked) this.armContact();
  };

  /**
   * ISC re-arms its CONTACT at every send, at a third of the partner's receive-timer (whole seconds there; a
   * partner that sent none would get one every 0 s from ISC: we keep at least a second).
   */
  private armContact(): void {
    const every = Math.max(1000, ((this.partner.receiveTimer ?? this.settings.maxResponseDelay) * 1000) / 3);
    this.contactDeadline.push(every);
  }

  private header(): { time: number; xid: number } {
    return { time: this.nowSec(), xid: this.nextXid() };
  }

  private nextXid(): number {
    // ISC: link->xid++ for each request; never 0 here, so an echo of 0 is visibly not ours.
    this.xid = (this.xid + 1) >>> 0 || 1;
    return this.xid;
  }

  private nowSec(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  private countRefusal(what: 'connect' | 'connectack', r: Refusal): void {
    this.counters.inc(`refused-${what}.${r.reason}`);
  }

  private noteBadInput(key: string, level: 'info' | 'warn' | 'error', line: string): void {
    const held = this.badInputLog.allow(key, this.clock.now());
    if (held === undefined) return;
    this.deps.log[level](held > 0 ? `${line} (${held} more like it not logged)` : line);
  }
}

function iso(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : '';
}

function msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
