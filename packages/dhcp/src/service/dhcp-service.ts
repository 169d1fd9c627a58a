import {
  Counters,
  formatIp4,
  monotonicClock,
  RateLimiter,
  systemClock,
  type Clock,
  type Ip4,
} from '@hadhcp/common';
import type { Lease, LeaseStore, WriteOptions } from '@hadhcp/leases';
import { peekMessageType } from '../wire/codec.js';
import { MessageType, type DhcpMessage } from '../wire/types.js';
import type { DhcpServerConfig } from '../core/config.js';
import { DhcpServerCore } from '../core/server.js';
import { AdmissionQueue, Lane, type AdmissionOptions } from '../core/admission.js';
import { LeaseTable } from '../core/lease-table.js';
import { PROBE_FRESH_MS, PROBE_PERIOD_MS } from '../core/ping-ahead.js';
import type { LeasePolicy } from '../core/policy.js';
import type { Decision, Destination, RequestMeta } from '../core/types.js';
import { nodeDhcpIo, type DhcpIo } from '../io/machine.js';
import type { PingPort } from '../io/pinger.js';
import { LeaseWriter, type LeaseSync } from './lease-writer.js';
import { decodeOrDrop, DhcpLinks, type Received } from './links.js';
import type { DhcpLogger } from './types.js';

export interface DhcpServiceOptions {
  interfaces?: string[];
  serverId?: Ip4;
  /** UDP port to listen on (67; tests may use another). */
  port?: number;
  /** Longest waits in the receive queue before a request is shed (drop.overload). */
  queue?: AdmissionOptions;
}

export interface DhcpServiceDeps {
  log: DhcpLogger;
  /** The time lease decisions are made at (default: the wall clock; lease times are wall-clock seconds). */
  clock?: Clock;
  /** For how long requests waited and how long a turn took (default: monotonic). */
  monotonic?: Clock;
  /** Sockets, frames, pinger and interfaces (default: the real ones, nodeDhcpIo); tests pass in-memory ones. */
  io?: Partial<DhcpIo>;
  /**
   * Told about every lease change once it is on disk (failover's partner), releases its reply; default: nobody.
   * Also settable later: setFailover().
   */
  sync?: LeaseSync;
  /** Whom the core serves, what it allocates, how long it grants (default: standalonePolicy). Also setFailover(). */
  policy?: LeasePolicy;
  /** Runs the events' `execute(...)` commands (default: none; execute is off unless the daemon enables it). */
  execute?: (argv: string[]) => void;
}

type Meta = RequestMeta;

/**
 * How long one turn of the event loop may spend answering queued requests before it lets the loop read more
 * packets (Node reads at most 32 datagrams per socket per turn): under overload, packets keep being read, so the
 * queue, not the kernel's socket buffer, is where they wait, and where REQUESTs can overtake DISCOVERs and
 * requests that waited too long are shed.
 */
const TURN_BUDGET_MS = 1;

/** REQUEST, DECLINE and RELEASE finish or free something already handed out: they go first when behind. */
function laneOf(type: number | undefined): Lane {
  return type === MessageType.REQUEST || type === MessageType.DECLINE || type === MessageType.RELEASE
    ? Lane.FINISH
    : Lane.START;
}

/** Ahead-of-time probes use ISC's default ping-timeout; a waiting client's probe uses the configured one. */
const PING_TIMEOUT_MS = 1000;

/**
 * The DHCP server process side: sockets in, decisions from the pure core, lease writes made durable, replies out.
 * Order matters: a reply that commits a lease leaves only after the store has said the write is on disk, and
 * never when the write failed.
 */
export class DhcpService {
  readonly counters = new Counters();
  private readonly limiter = new RateLimiter(10_000);
  readonly table: LeaseTable;
  private core: DhcpServerCore;
  private readonly links: DhcpLinks;
  private pinger: PingPort | undefined;
  private readonly log: DhcpLogger;
  private readonly clock: Clock;
  private readonly monotonic: Clock;
  private readonly io: DhcpIo;
  private policy: LeasePolicy | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private preferredServerIds: Ip4[] = [];
  /** Every VIP the supervisor has told us we held: a packet the kernel delivered to one was sent while we held it. */
  private readonly vipsSeen = new Set<Ip4>();
  /** Set by the supervisor when VRRP runs beside DHCP: only the VIP holder answers (undefined = always serve). */
  private gate: { serving: boolean; direct: boolean; reason: string } | undefined;
  private readonly writer: LeaseWriter;
  /** Probes out, by address: a client that needs one already out waits for it instead of sending another. */
  private readonly probing = new Map<Ip4, Promise<void>>();
  private readonly queue: AdmissionQueue<Received>;
  private draining = false;
  private readonly drainNow = (): void => this.drain();
  private readonly shed = (q: Received, lane: Lane, waitedMs: number): void =>
    this.drop(
      'overload',
      () =>
        `${lane === Lane.FINISH ? 'request' : 'new exchange'} waited ${Math.round(waitedMs)} ms in the queue`,
      q.meta.srcIp,
    );
  private readonly dropFn = this.drop.bind(this);

  constructor(
    private config: DhcpServerConfig,
    store: LeaseStore,
    deps: DhcpServiceDeps,
    private readonly opts: DhcpServiceOptions = {},
  ) {
    this.log = deps.log;
    this.clock = deps.clock ?? systemClock;
    this.monotonic = deps.monotonic ?? monotonicClock;
    this.io = { ...nodeDhcpIo, ...deps.io };
    this.policy = deps.policy;
    // The table is a view over the store's live records (one copy of each lease in memory) plus its indexes.
    this.table = new LeaseTable(store.records);
    this.core = new DhcpServerCore(config, this.table, this.coreOptions(opts.serverId));
    for (const n of this.core.notices) this.log.warn(n);
    this.writer = new LeaseWriter({
      store,
      log: this.log,
      counters: this.counters,
      sync: deps.sync,
      recovered: () => this.replaceCore(this.config),
      internalError: (where, e) => this.internalError(where, e),
      ...(deps.execute && { execute: deps.execute }),
    });
    this.queue = new AdmissionQueue(opts.queue);
    this.links = new DhcpLinks({
      io: this.io,
      log: this.log,
      counters: this.counters,
      drop: this.dropFn,
      received: (r) => this.enqueue(r, peekMessageType(r.data)),
      port: opts.port ?? 67,
      interfaces: opts.interfaces,
    });
  }

  /**
   * A silent ping vouches for an address for PROBE_FRESH_MS (core/ping-ahead.ts says why); the candidates are
   * re-probed in the background before that runs out, so an OFFER still leaves at once.
   */
  private coreOptions(serverId: Ip4 | undefined) {
    // ISC's log lines cost string formatting per packet: leave them out when nobody reads them.
    const logLines = this.log.isLevelEnabled?.('info') ?? true;
    return { serverId, probeFreshMs: PROBE_FRESH_MS, logLines, policy: this.policy };
  }

  async start(): Promise<void> {
    await this.links.open(this.config.subnets);
    try {
      this.pinger = this.io.openPinger();
    } catch (e) {
      this.pinger = undefined;
      this.log.warn(`ping-check disabled: cannot open an ICMP socket (${(e as Error).message}); run as root`);
    }
    this.tickTimer = setInterval(() => this.tick(), 1000);
    this.probeTimer = setInterval(() => this.probeAhead(), PROBE_PERIOD_MS);
    this.probeAhead();
    this.log.info(
      `DHCP listening on UDP ${this.opts.port ?? 67}; ${this.table.size} lease records loaded; ` +
        `direct clients on ${this.links.frameInterfaces().join(', ') || 'no interface'}`,
    );
  }

  /** The supervisor tells us the VIPs we hold: replies to relays then carry the VIP as server identifier. */
  setPreferredServerIds(ips: Ip4[]): void {
    this.preferredServerIds = ips;
    for (const ip of ips) this.vipsSeen.add(ip);
    this.core.setServerId(ips[0] ?? this.opts.serverId);
    this.links.ensure(ips);
  }

  /**
   * The supervisor's gate: with VRRP beside DHCP, the node holding the VIP answers relayed clients (giaddr set)
   * and the other stays silent to them; `direct` (default: the same) is for clients on attached segments, which
   * hear both routers: with failover both answer them by its load-balancing hash, without it only the VIP holder
   * (two separate lease databases must never answer the same client).
   */
  setServing(serving: boolean, reason: string, direct = serving): void {
    if (this.gate?.serving !== serving || this.gate.direct !== direct || this.gate.reason !== reason)
      this.log.info(
        `DHCP ${serving ? 'serving' : 'silent'}${direct !== serving ? ` (direct clients: ${direct ? 'served' : 'silent'})` : ''}: ${reason}`,
      );
    this.gate = { serving, direct, reason };
  }

  /** gated() on the raw packet: giaddr is octets 24-27 of the BOOTP header (too short: the decoder drops it). */
  private gatedRaw(q: Received): boolean {
    const g = this.gate!;
    const d = q.data;
    const relayed = q.msg ? q.msg.giaddr !== 0 : d.length >= 28 && (d[24]! | d[25]! | d[26]! | d[27]!) !== 0;
    if (!relayed) return !g.direct;
    // Addressed to a VIP and delivered here: the VIP was still ours when it arrived (the supervisor hears of a
    // move a moment before the kernel drops the address, and the VIP's socket is read a moment after): ours to
    // answer, the new holder never saw it.
    if (q.meta.toVip === true) return false;
    return !g.serving;
  }

  /** Shut by the supervisor's gate for this packet's kind (relayed or direct)? */
  private gated(msg: DhcpMessage): boolean {
    const g = this.gate;
    return g !== undefined && !(msg.giaddr !== 0 ? g.serving : g.direct);
  }

  /** DHCP health for the supervisor (e.g. to lower the VRRP priority when leases cannot be stored). */
  onHealth(listener: (healthy: boolean, reason: string) => void): void {
    this.writer.onHealth(listener);
  }

  reconfigure(config: DhcpServerConfig): void {
    this.config = config;
    this.replaceCore(config);
    // Said at start and for each new configuration, not again when failover or a store recovery rebuilds the core.
    for (const n of this.core.notices) this.log.warn(n);
    this.log.info('DHCP configuration replaced; leases, counters and offers in flight kept');
  }

  /** A new core over the table, keeping the old one's counters, offers in flight and probe answers. */
  private replaceCore(config: DhcpServerConfig): void {
    const prev = this.core;
    this.core = new DhcpServerCore(
      config,
      this.table,
      this.coreOptions(this.preferredServerIds[0] ?? this.opts.serverId),
    );
    this.core.carryOver(prev);
  }

  /**
   * Failover joins in: the daemon builds the failover services after this one (they need its lease book), then
   * hands over their policy (failoverPolicy over their views) and their LeaseSync. The core is rebuilt with the
   * policy at once, keeping counters, offers in flight and probe answers; writes committed from now on wait for
   * the new sync's release. `undefined` goes back to standalone.
   */
  setFailover(policy: LeasePolicy | undefined, sync: LeaseSync | undefined): void {
    this.policy = policy;
    this.writer.setSync(sync);
    this.replaceCore(this.config);
  }

  /** The configuration in force (failover's lease book reads its pools). */
  get configuration(): DhcpServerConfig {
    return this.config;
  }

  /**
   * The failover partner's leases (its BNDUPDs, BACKUP moves, acknowledged times): into the table at once (the
   * core's pool and expiry indexes follow through the table's listener; an offer we hold on an address that is
   * no longer ours to give ends), then made durable with cause 'partner', which is never told back to the
   * partner. Resolves once on disk; rejects with the store's error when refused, at once while the store is failed.
   */
  async applyLeases(leases: Lease[]): Promise<void> {
    const r = this.applyLeasesNow(leases);
    await r.durable;
    if (r.applied < leases.length) throw r.bad;
  }

  /**
   * applyLeases in its two steps: the records are in the table when this returns (`applied`: how many, in order;
   * fewer than given when one cannot be stored, `bad` saying why, which stops the batch), and durable once
   * `durable` resolves (it rejects when the store refused them). The failover peer in recover acknowledges the
   * partner's updates after the first step (@hadhcp/failover, binding-sync.ts). `lazy`: nobody waits on `durable`
   * soon (a node in recover serves no client), so the store may hold their sync up to its lazySyncMs.
   */
  applyLeasesNow(
    leases: Lease[],
    opts?: WriteOptions,
  ): { applied: number; durable: Promise<void>; bad?: unknown } {
    if (this.writer.failed) {
      const err = new Error(`lease store failed: ${this.writer.failed}`);
      return { applied: 0, durable: Promise.reject(err), bad: err };
    }
    if (leases.length === 0) return { applied: 0, durable: Promise.resolve() };
    // The store's rule for its live records: whoever puts a lease in them writes it in the same turn. A record
    // the store's format cannot hold (table.put throws, changing nothing) stops the batch after those before it.
    const put: Lease[] = [];
    let bad: unknown;
    for (const l of leases) {
      try {
        this.table.put(l);
        put.push(l);
      } catch (e) {
        bad = e;
        break;
      }
    }
    this.core.partnerApplied(put, this.clock.now());
    if (put.length === 0) return { applied: 0, durable: Promise.resolve(), bad };
    const durable = this.writer.settled(put, 'partner', opts).then((refused) => {
      if (refused) throw refused;
    });
    return { applied: put.length, durable, bad };
  }

  /** lease4-del: the core frees the address; durable before the command answers. */
  async deleteLease(ip: Ip4): Promise<void> {
    if (this.writer.failed) throw new Error(`lease store failed: ${this.writer.failed}`);
    const writes = this.core.free(ip, this.clock.now());
    // No table.put after the write: the core applied the record already, and an ACK for the address made while
    // the write was in flight must not be overwritten.
    if (writes.length === 0) return;
    const refused = await this.writer.settled(writes, 'lease4-del');
    if (refused) throw refused;
  }

  /**
   * The core's own counters (messages in by type, replies out by type, addresses abandoned by ping). Its drop
   * counts are left out: the service counts every drop it is handed, so they would appear twice.
   */
  coreCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.core.counters.toJSON())) if (!k.startsWith('drop.')) out[k] = v;
    return out;
  }

  status(): Record<string, unknown> {
    const byState = this.table.stateCounts();
    const drops: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.counters.toJSON()))
      if (k.startsWith('drop.')) drops[k.slice(5)] = v;
    const failed = this.writer.failed;
    const serving = failed === undefined && (this.gate?.serving ?? true);
    return {
      serving,
      reason: failed ? `lease store failed: ${failed}${this.writer.retrying()}` : this.gate?.reason,
      serverId: this.preferredServerIds[0] !== undefined ? formatIp4(this.preferredServerIds[0]) : undefined,
      interfaces: this.links.frameInterfaces(),
      leases: byState,
      drops,
      counters: this.counters.toJSON(),
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.tickTimer);
    clearInterval(this.probeTimer);
    this.links.close();
    this.pinger?.close();
  }

  // --- packets in -------------------------------------------------------------------------------------------

  private enqueue(q: Received, type: number | undefined): void {
    // Sent to a VIP and delivered here: the VIP was ours when it arrived (the core answers it as the holder).
    const to = q.meta.receivedOn.localIp;
    if (to !== undefined && this.vipsSeen.has(to)) q.meta.toVip = true;
    // The gate is judged when the packet arrives: one that reached us while we held the VIP is ours to answer
    // even if the VIP moves while it waits in the queue (the new holder never saw it).
    if (this.gate && this.gatedRaw(q)) {
      this.counters.inc('drop.not-vip-holder');
      return;
    }
    const lane = laneOf(type);
    if (!this.queue.push(q, lane, this.monotonic.now())) {
      const what = lane === Lane.FINISH ? 'request' : 'new exchange';
      return this.drop('overload', () => `${what} refused: the queue is full`, q.meta.srcIp);
    }
    if (this.draining) return;
    this.draining = true;
    setImmediate(this.drainNow);
  }

  /** Answers queued requests, REQUESTs first, for at most TURN_BUDGET_MS, then lets the loop read again. */
  private drain(): void {
    const t0 = this.monotonic.now();
    let now = t0;
    for (;;) {
      const q = this.queue.take(now, this.shed);
      if (!q) break;
      const msg = q.msg ?? decodeOrDrop(q.data, q.meta, this.dropFn);
      if (msg) this.process(msg, q.meta);
      now = this.monotonic.now();
      if (now - t0 >= TURN_BUDGET_MS) break;
    }
    if (this.queue.length > 0) setImmediate(this.drainNow);
    else this.draining = false;
  }

  /**
   * The one path for a packet not answered: count it, log it rate-limited. `detail` and `from` are formatted only
   * for the lines that are logged (under overload thousands a second are shed, one line per 10 s is printed).
   */
  private drop(reason: string, detail: string | (() => string), from: string | Ip4): void {
    this.counters.inc(`drop.${reason}`);
    const suppressed = this.limiter.allow(reason, this.monotonic.now());
    if (suppressed !== undefined) {
      const text = typeof detail === 'string' ? detail : detail();
      const src = typeof from === 'string' ? from : formatIp4(from);
      this.log.warn(
        `dropped packet from ${src}: ${reason}: ${text}` +
          (suppressed ? ` (${suppressed} more like it since the last report)` : ''),
      );
    }
  }

  /**
   * One request: the core decides; writes are made durable, then the reply leaves. Synchronous up to the store
   * write (no Promise per packet); the reply of a decision with writes leaves from the store's callback.
   */
  private process(msg: DhcpMessage, meta: Meta, probed = false): void {
    // The supervisor's gate was applied on arrival (enqueue).
    // Not even an OFFER: the core would hold or change leases that cannot be stored (see LeaseWriter).
    const failed = this.writer.failed;
    if (failed) return this.drop('store-failed', failed, meta.srcIp);
    let d: Decision;
    try {
      d = this.core.handle(msg, meta, this.clock.now());
    } catch (e) {
      // A bug must cost one packet, not the service.
      this.drop('internal-error', (e as Error).stack ?? String(e), meta.srcIp);
      return;
    }
    if (d.needsProbe !== undefined && !probed) {
      // The same packet is handled again once the ping has answered or timed out; it logs then.
      // A probe of that address already out (the look-ahead's) ends sooner than a new one would.
      const again = (): void => this.process(msg, meta, true);
      const { ip, timeoutMs } = d.needsProbe;
      void (this.probing.get(ip) ?? this.probe(ip, timeoutMs)).then(again);
      return;
    }
    if (d.needsProbe !== undefined) {
      // Its one ping-timeout is spent and still no address vouched for: the probe could not be sent (unknown:
      // neither offered nor abandoned on it), or the address answered and no other one is probed yet. Not a second
      // wait (no client waits more than one ping-timeout, as with ISC): the address stays held for the client, and
      // its retransmitted DISCOVER probes it again.
      const ip = formatIp4(d.needsProbe.ip);
      return this.drop('no-probed-address', () => `no silent probe of ${ip} held for the client`, meta.srcIp);
    }
    if (d.drop) this.drop(d.drop.reason, d.drop.detail, meta.srcIp);
    const reply = d.reply;
    if (d.writes.length === 0) {
      if (d.log) for (const line of d.log) this.log.info(line);
      if (reply) this.send(reply.msg, reply.to, reply.maxSize, meta);
      if (d.events) this.writer.runEvents(d.events);
      return;
    }
    // Group commit: writes queued while a sync is in flight share the next one. The reply waits for it, and so
    // do the log lines: `DHCPACK on ...` is written only for an ACK that leaves.
    this.writer.commit(d.writes, 'packet', (refused) => {
      if (refused) {
        // A store failure reaches the writer's health from the store itself, before this refusal.
        this.logUnsent(d.log, refused.message);
        this.drop('store-failed', refused.message, meta.srcIp);
        return;
      }
      // The gate may have closed while the write was in flight (the VIP moved away). The request reached us, not
      // the new holder, and the lease is stored here and (failover) on the partner: answering it loses nothing
      // and tells the client nothing the new holder would contradict; dropping it lost the exchange (a handover
      // under load dropped the REQUESTs in flight). The reply may still fail if the VIP is already gone.
      if (this.gated(msg)) this.counters.inc('replies-after-gate-closed');
      if (d.log) for (const line of d.log) this.log.info(line);
      if (reply) this.send(reply.msg, reply.to, reply.maxSize, meta);
      if (d.events) this.writer.runEvents(d.events);
    });
  }

  /** The request line as it was; the reply line says it did not leave, and why. */
  private logUnsent(lines: string[] | undefined, why: string): void {
    for (const line of lines ?? []) {
      if (/^DHCP(ACK|OFFER|NAK) /.test(line))
        this.log.error(`${line}: not sent, the lease could not be stored (${why})`);
      else this.log.info(line);
    }
  }

  // --- packets out ------------------------------------------------------------------------------------------

  /**
   * Called from the store's callbacks too, where a throw would become an unhandled rejection (fatal on Node 20):
   * a bug must cost one reply, not the process.
   */
  private send(reply: DhcpMessage, to: Destination, maxSize: number, meta: Meta): void {
    try {
      this.links.send(reply, to, maxSize, meta);
    } catch (e) {
      this.drop('internal-error', (e as Error).stack ?? String(e), to.ip);
    }
  }

  // --- time -------------------------------------------------------------------------------------------------

  /** A bug in expiry costs one tick (the next one retries), not the process: timers' throws are fatal. */
  private tick(): void {
    // Expiry waits for the store: the leases it would end cannot be stored now (the next tick catches up).
    if (this.writer.failed) return;
    let writes: Lease[];
    try {
      writes = this.core.tick(this.clock.now());
    } catch (e) {
      this.internalError('expiry tick', e);
      return;
    }
    // A refused write: the store reports its failure itself (the writer's health) and puts back what is on disk.
    // `on expiry` runs once the expiry is stored.
    const events = this.core.takeExpiryEvents();
    if (writes.length > 0)
      this.writer.commit(writes, 'expiry', (refused) => {
        if (!refused && events.length > 0) this.writer.runEvents(events);
      });
  }

  /** A failure outside any packet: counted with the packets' internal errors, logged rate-limited. */
  private internalError(where: string, e: unknown): void {
    this.counters.inc('drop.internal-error');
    const suppressed = this.limiter.allow(`internal-error:${where}`, this.monotonic.now());
    if (suppressed !== undefined)
      this.log.error(
        `${where} failed: ${(e as Error).stack ?? String(e)}` +
          (suppressed ? ` (${suppressed} more like it since the last report)` : ''),
      );
  }

  /** Ping-check ahead of time: the addresses the core will offer next are probed now, not while a client waits. */
  private probeAhead(): void {
    if (!this.pinger || this.writer.failed) return;
    let wanted: Ip4[];
    try {
      wanted = this.core.probesWanted(this.clock.now());
    } catch (e) {
      this.internalError('ping-ahead', e);
      return;
    }
    for (const ip of wanted) {
      if (this.probing.has(ip)) continue;
      void this.probe(ip);
    }
  }

  private probe(ip: Ip4, timeoutMs = PING_TIMEOUT_MS): Promise<void> {
    const p = this.pingAndRecord(ip, timeoutMs).finally(() => {
      if (this.probing.get(ip) === p) this.probing.delete(ip);
    });
    this.probing.set(ip, p);
    return p;
  }

  private async pingAndRecord(ip: Ip4, timeoutMs: number): Promise<void> {
    try {
      // ping.sent / ping.silent / ping.answered: what ping-check costs the network, seen in statistic-get-all.
      if (this.pinger) this.counters.inc('ping.sent');
      let inUse = false;
      if (this.pinger)
        try {
          inUse = await this.pinger.ping(ip, timeoutMs);
        } catch (e) {
          // Not sent: unknown. Nothing recorded, so the address is neither vouched for nor abandoned, and the
          // look-ahead asks again once its retry time has passed (ping.unknown).
          this.counters.inc('ping.unknown');
          const suppressed = this.limiter.allow('ping-unknown', this.monotonic.now());
          if (suppressed !== undefined)
            this.log.warn(
              `ping-check: ${(e as Error).message}` +
                (suppressed ? ` (${suppressed} more like it since the last report)` : ''),
            );
          return;
        }
      if (this.pinger) this.counters.inc(inUse ? 'ping.answered' : 'ping.silent');
      // The answer may abandon the address: not while that cannot be stored (it is probed again later).
      if (this.writer.failed) return;
      const r = this.core.probeResult(ip, inUse, this.clock.now());
      for (const line of r.log ?? []) this.log.warn(line);
      if (r.writes.length) await this.writer.settled(r.writes, 'ping');
    } catch (e) {
      this.log.error(`ping-check of ${formatIp4(ip)} failed: ${(e as Error).message}`);
    }
  }
}
