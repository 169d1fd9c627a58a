import { Counters, formatIp4, KeyedTimers, type Clock, type Ip4 } from '@hadhcp/common';
import type { VirtualAddress, VrrpInstanceConfig } from '../core/config.js';
import {
  effectivePriority,
  EXTERNAL_TRACKER,
  faultingTrackers,
  type InstanceParams,
} from '../core/params.js';
import type { InstanceState, VrrpAction, VrrpEvent, VrrpState } from '../core/types.js';
import { initInstance, step } from '../core/machine.js';
import { encodeAdvert, VRRP_MCAST_GROUP } from '../wire/advert.js';
import type { AddressPort } from '../io/addresses.js';
import type { ScriptResult, ScriptUser } from '../io/exec.js';
import type { GarpPort } from '../io/garp.js';
import type { VrrpTransport } from '../io/vrrp-socket.js';
import { LogLimiter } from './log-limit.js';
import type { ScriptRuns } from './script-runs.js';
import { SerialQueue } from './serial-queue.js';
import type { InstanceStatus, StateChange, VipChange, VrrpLogger } from './types.js';

/** How a notify script went wrong, for the log line. */
export function scriptFailure(r: ScriptResult): string {
  if (r.timedOut) return 'timed out and was killed';
  return `failed: ${r.error ?? `exit ${r.code ?? r.signal}`}`;
}

/** What an instance needs from the service around it: io handles and interface facts. */
export interface InstanceContext {
  /** Monotonic: the core's `now` and every timer. */
  clock: Clock;
  /** Only for the transition times people read (status, state events). */
  wallClock: Clock;
  log: VrrpLogger;
  socket: VrrpTransport;
  addresses: AddressPort;
  garp: GarpPort;
  /** Runs notify scripts; one that cannot be run is logged there once and listed in the status. */
  scripts: ScriptRuns;
  scriptUser: ScriptUser | undefined;
  /**
   * The service's one notify queue: every notify script of every instance and sync group runs through it, in
   * the order the transitions happened, never two at once (keepalived forks them all at once: #1055).
   */
  notifyQueue: SerialQueue;
  /** A notify script still running after this is killed, so a hung one cannot hold up those behind it. */
  notifyTimeoutMs: number;
  /** Scripts of this instance refused by enable_script_security, for the status. */
  disabledScripts: string[];
  ifindex(dev: string): number | undefined;
  mac(dev: string): Uint8Array | undefined;
  onStateChange(change: StateChange): void;
  /** The VIPs this instance holds, when that changes (see VipChange). */
  onVips(change: VipChange): void;
  /** After every step (a sync group re-checks its members' faults, which change without a transition too). */
  onStepped(): void;
}

/**
 * One vrrp_instance at run time: feeds events to the pure core and carries out its actions. Address changes run
 * through one queue so "add the VIPs, then GARP them" happens in that order; notify scripts through another so
 * they run in transition order and never two at once.
 */
export class InstanceRunner {
  private state: InstanceState;
  private readonly timers = new KeyedTimers();
  private readonly io = new SerialQueue();
  /** Drops decided before the core sees a packet (wire decode, unknown VRID). */
  readonly wireDrops = new Counters();
  /** Lines about dropped adverts, per reason: logged, but not once per packet of a flood. */
  readonly dropLog = new LogLimiter();
  private stopped = false;
  /** Wall-clock time of the last transition (the core's lastTransition.at is on the monotonic clock). */
  private lastTransitionWall: number | undefined;
  /**
   * Addresses this instance put on an interface (add() returned true), by `ifindex address/prefix`. Only these
   * are removed when it leaves MASTER: one that was already there (configured by hand, or the host's own) stays,
   * as keepalived removes only what it added.
   */
  private readonly added = new Set<string>();
  /**
   * Counts VIP additions and removals queued: an add that finishes after a later change was queued (MASTER left
   * while netlink was still adding) does not report VIPs the instance no longer holds.
   */
  private vipChanges = 0;

  constructor(
    readonly cfg: VrrpInstanceConfig,
    readonly params: InstanceParams,
    ownIp: Ip4,
    private readonly ctx: InstanceContext,
  ) {
    this.state = initInstance(params, ownIp, ctx.clock.now());
  }

  get current(): InstanceState {
    return this.state;
  }

  feed(event: VrrpEvent): void {
    if (this.stopped) return;
    const now = this.ctx.clock.now();
    const r = step(this.state, event, now);
    this.state = r.state;
    const changes: StateChange[] = [];
    const dropped = r.actions.find((a) => a.type === 'drop');
    for (const a of r.actions) {
      if (a.type === 'state-changed') {
        this.lastTransitionWall = this.ctx.wallClock.now();
        changes.push(this.change(a.from, a.to, a.reason, this.lastTransitionWall));
      } else if (a.type === 'log' && dropped?.type === 'drop')
        this.logDrop(dropped.reason, a.level, a.message, now);
      else this.execute(a, now);
    }
    if (event.type === 'shutdown') this.stopped = true;
    const adding = r.actions.some((a) => a.type === 'add-vips');
    // Reported after this step's actions, so a sync group's followers queue their notify scripts after ours.
    for (const c of changes) {
      // Leaving MASTER: no longer ours from now, though netlink has yet to remove them. Entering it: once added
      // (see execute), or now when there is nothing to add (the owner's VIPs are its own addresses).
      if (c.from === 'MASTER' && c.to !== 'MASTER') this.ctx.onVips({ instance: c.instance, vips: [] });
      else if (c.to === 'MASTER' && !adding) this.ctx.onVips({ instance: c.instance, vips: c.vips });
      this.ctx.onStateChange(c);
    }
    this.ctx.onStepped();
  }

  /** A line about a dropped advert, rate-limited per reason (see LogLimiter). */
  logDrop(reason: string, level: 'info' | 'warn', message: string, now = this.ctx.clock.now()): void {
    const line = this.dropLog.pass(reason, now, message);
    if (line !== undefined) this.ctx.log[level](line);
  }

  private change(from: VrrpState, to: VrrpState, reason: string, at: number): StateChange {
    return {
      instance: this.cfg.name,
      from,
      to,
      at,
      reason,
      vips: to === 'MASTER' ? this.params.vips.map((v) => v.address) : [],
    };
  }

  /** The supervisor's weight (DHCP health): a core event, like any other input to the election. */
  setExternalWeight(weight: number, reason: string): void {
    this.feed({ type: 'external-weight', weight, reason });
  }

  /** Resolves when every queued address change has finished. */
  settleIo(): Promise<void> {
    return this.io.drain();
  }

  /** Resolves when every queued address change and notify script has finished. */
  async settle(): Promise<void> {
    await this.io.drain();
    await this.ctx.notifyQueue.drain();
  }

  close(): void {
    this.stopped = true;
    this.timers.cancelAll();
  }

  private execute(a: VrrpAction, now: number): void {
    const name = this.cfg.name;
    switch (a.type) {
      case 'send-advert': {
        const bytes = encodeAdvert(a.advert);
        const peers = this.cfg.unicastPeers;
        // A transport that throws instead of rejecting (a socket it could not open) costs this advert, not the
        // timer that sent it: counted and logged like a rejected send.
        const send = (dst: Ip4, src?: Ip4): void => {
          try {
            this.ctx.socket.send(bytes, dst, src).catch((err: Error) => this.ioError('send advert', err));
          } catch (err) {
            this.ioError('send advert', err as Error);
          }
        };
        if (peers.length > 0) for (const p of peers) send(p, this.cfg.unicastSrcIp);
        else send(VRRP_MCAST_GROUP);
        return;
      }
      case 'add-vips': {
        const n = ++this.vipChanges;
        const asked = Date.now();
        void this.io.push(async () => {
          const started = Date.now();
          await this.changeVips(a.addresses, 'add');
          // Timestamps of a takeover's last steps (the bench's --debug breakdown reads them).
          this.ctx.log.debug?.(
            `(${name}) VIPs added: ${a.addresses.map((v) => formatIp4(v.address)).join(', ')} (queued ${started - asked} ms, netlink ${Date.now() - started} ms)`,
          );
          // The netlink add has returned: the kernel has the VIPs, a DHCP socket can bind them now (one that
          // failed is logged in changeVips; we are master all the same and say so).
          if (n === this.vipChanges && !this.stopped && this.state.state === 'MASTER')
            this.ctx.onVips({ instance: name, vips: this.params.vips.map((v) => v.address) });
        });
        return;
      }
      case 'remove-vips':
        this.vipChanges++;
        void this.io.push(() => this.changeVips(a.addresses, 'remove'));
        return;
      case 'send-garp':
        void this.io.push(async () => this.garp(a.addresses, a.repeat));
        return;
      case 'set-timer':
        this.timers.set(a.key, a.at - now, () => this.feed({ type: 'timer', key: a.key }));
        return;
      case 'cancel-timer':
        this.timers.cancel(a.key);
        return;
      case 'notify':
        void this.ctx.notifyQueue.push(async () => {
          const r = await this.ctx.scripts.run({
            what: `notify script of ${name}`,
            command: a.script,
            args: a.args,
            user: this.ctx.scriptUser,
            timeoutMs: this.ctx.notifyTimeoutMs,
            instances: [name],
            consequence: 'this notification is lost',
          });
          if (!r.notRun && (r.error || r.code !== 0))
            this.ctx.log.warn(`(${name}) notify script ${a.script} ${scriptFailure(r)}`);
        });
        return;
      case 'log':
        this.ctx.log[a.level](a.message);
        return;
      case 'drop':
        this.ctx.log.debug?.(`(${name}) dropped advert: ${a.reason}`);
        return;
      case 'state-changed':
        return; // see feed()
    }
  }

  private async changeVips(vips: VirtualAddress[], op: 'add' | 'remove'): Promise<void> {
    for (const v of vips) {
      const dev = v.dev ?? this.cfg.interface;
      const ifindex = this.ctx.ifindex(dev);
      if (ifindex === undefined) {
        this.ctx.log.warn(`(${this.cfg.name}) cannot ${op} ${formatIp4(v.address)}: no interface ${dev}`);
        continue;
      }
      const spec = { address: v.address, prefix: v.prefix, ifindex, ...(v.label ? { label: v.label } : {}) };
      const key = `${ifindex} ${v.address}/${v.prefix}`;
      try {
        if (op === 'add') {
          const put = await this.ctx.addresses.add(v.brd !== undefined ? { ...spec, brd: v.brd } : spec);
          if (put) this.added.add(key);
        } else if (this.added.delete(key)) await this.ctx.addresses.remove(spec);
      } catch (err) {
        this.ioError(`${op} ${formatIp4(v.address)}/${v.prefix} on ${dev}`, err as Error);
      }
    }
  }

  private garp(vips: VirtualAddress[], repeat: number): void {
    const byDev = new Map<string, VirtualAddress[]>();
    for (const v of vips) {
      const dev = v.dev ?? this.cfg.interface;
      byDev.set(dev, [...(byDev.get(dev) ?? []), v]);
    }
    for (const [dev, list] of byDev) {
      const mac = this.ctx.mac(dev);
      if (!mac) continue;
      try {
        this.ctx.garp.send(
          dev,
          mac,
          list.map((v) => v.address),
          repeat,
        );
      } catch (err) {
        this.ioError(
          `gratuitous ARP for ${list.map((v) => formatIp4(v.address)).join(', ')} on ${dev}`,
          err as Error,
        );
      }
    }
  }

  private ioError(what: string, err: Error): void {
    this.wireDrops.inc(`io-error`);
    this.ctx.log.error(`(${this.cfg.name}) ${what}: ${err.message}`);
  }

  status(): InstanceStatus {
    const s = this.state;
    const t = s.lastTransition;
    const drops: Record<string, number> = { ...s.stats.drops };
    for (const [k, v] of Object.entries(this.wireDrops.toJSON())) drops[k] = (drops[k] ?? 0) + v;
    const eff = effectivePriority(s.params, s.trackers, s.external);
    const reasons = eff.contributions
      .filter((c) => c.applied !== 0)
      .map((c) => {
        const what = c.tracker === EXTERNAL_TRACKER ? `external: ${s.external?.reason ?? ''}` : c.tracker;
        return `${c.applied > 0 ? '+' : ''}${c.applied} ${what} ${c.ok ? 'ok' : 'failing'}`;
      });
    return {
      name: this.cfg.name,
      interface: this.cfg.interface,
      vrid: this.cfg.vrid,
      state: this.stopped ? 'STOP' : s.state,
      configuredPriority: this.params.basePriority,
      effectivePriority: s.effectivePriority,
      priorityReasons: reasons,
      faults: faultingTrackers(s.params, s.trackers),
      disabledScripts: this.ctx.disabledScripts,
      scriptsNotRun: this.ctx.scripts.notRunFor(this.cfg.name),
      ownAddress: formatIp4(s.ownIp),
      masterAddress: s.masterIp !== undefined ? formatIp4(s.masterIp) : undefined,
      lastTransition: t && {
        from: t.from,
        to: t.to,
        at: new Date(this.lastTransitionWall ?? t.at).toISOString(),
        reason: t.reason,
      },
      advertsSent: s.stats.advertsSent,
      advertsReceived: s.stats.advertsReceived,
      drops,
      vips: s.state === 'MASTER' ? this.params.vips.map((v) => `${formatIp4(v.address)}/${v.prefix}`) : [],
    };
  }
}
