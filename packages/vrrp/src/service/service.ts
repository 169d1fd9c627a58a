import { EventEmitter } from 'node:events';
import { formatIp4, monotonicClock, systemClock, type Clock, type Ip4 } from '@hadhcp/common';
import type { KeepalivedConfig, VrrpScript, VrrpSyncGroup } from '../core/config.js';
import { instanceParams } from '../core/params.js';
import {
  syncGroupFaults,
  syncGroupFollow,
  syncGroupNotifies,
  syncGroupStartup,
  syncGroupState,
} from '../core/sync-group.js';
import type { InstanceState, VrrpState } from '../core/types.js';
import { decodeAdvert, isVrrpWireError, type VrrpWireError } from '../wire/advert.js';
import {
  Addresses,
  type AddressInfo,
  type AddressPort,
  type LinkInfo,
  type NetEvent,
} from '../io/addresses.js';
import {
  processIdentity,
  resolveUser,
  ShellScriptRunner,
  type ProcessIdentity,
  type ScriptRunner,
  type ScriptUser,
} from '../io/exec.js';
import { Garp, type GarpPort } from '../io/garp.js';
import {
  VrrpSocket,
  type VrrpPacketIn,
  type VrrpSocketOptions,
  type VrrpTransport,
} from '../io/vrrp-socket.js';
import { InstanceRunner, scriptFailure } from './instance.js';
import { ScriptRuns } from './script-runs.js';
import { SerialQueue } from './serial-queue.js';
import {
  applyScriptSecurity,
  refusedMessage,
  type RefusedScript,
  type RunAs,
  type ScriptGuard,
} from './script-policy.js';
import { initialTrack, trackResult, type TrackState } from './tracker.js';
import type { InstanceStatus, StateChange, VipChange, VrrpLogger } from './types.js';

/**
 * The running VRRP side of the daemon: one InstanceRunner per vrrp_instance, one socket per interface, the
 * vrrp_script loops and interface tracking that feed them, and the operations the supervisor and the control
 * socket use (status, external weight, graceful stop).
 */
export interface VrrpServiceDeps {
  log: VrrpLogger;
  /** For the timers and the election (default: monotonic, so an NTP step never delays Master_Down or adverts). */
  clock?: Clock;
  /** For what people read: the time of the last transition (default: the wall clock). */
  wallClock?: Clock;
  addresses?: AddressPort;
  openSocket?: (opts: VrrpSocketOptions) => VrrpTransport;
  garp?: GarpPort;
  scripts?: ScriptRunner;
  /**
   * enable_script_security's check (who could modify a script that runs as root): @hadhcp/config's
   * checkScriptSecurity, injected by the daemon. Absent: no script is refused.
   */
  scriptGuard?: ScriptGuard;
  /** A notify script still running after this is killed (default NOTIFY_TIMEOUT_MS). */
  notifyTimeoutMs?: number;
  /** stop() waits at most this long for queued notify scripts (default STOP_NOTIFY_WAIT_MS). */
  stopNotifyWaitMs?: number;
  /** uid/gid of a script user (default: /etc/passwd and /etc/group). */
  resolveUser?: (u: ScriptUser) => RunAs | string;
  /** Who this process is, to explain a script user it cannot switch to (default: processIdentity()). */
  identity?: ProcessIdentity;
}

/**
 * keepalived gives notify scripts no limit of its own, and forks them all at once; we run them one at a time
 * (#1055), so one that hangs would hold up every later notify and SIGTERM. Like a vrrp_script past its `timeout`,
 * one past this is killed (with what it started) and logged.
 */
export const NOTIFY_TIMEOUT_MS = 30_000;
/** SIGTERM: the priority-0 advert and the VIP removal always happen; queued notifies get this long at most. */
export const STOP_NOTIFY_WAIT_MS = 35_000;

export interface VrrpServiceEvents {
  state: [StateChange];
  /** The VIPs an instance holds, once the kernel has them (see VipChange). */
  vips: [VipChange];
}

interface ScriptLoop {
  script: VrrpScript;
  track: TrackState;
  timer: NodeJS.Timeout | undefined;
}

export class VrrpService extends EventEmitter<VrrpServiceEvents> {
  private readonly clock: Clock;
  private readonly wallClock: Clock;
  private readonly log: VrrpLogger;
  private readonly addresses: AddressPort;
  private readonly garp: GarpPort;
  /** Every script run; the ones that could not start are logged once there and listed in the status. */
  private readonly scripts: ScriptRuns;
  private readonly openSocket: (opts: VrrpSocketOptions) => VrrpTransport;
  private readonly instances = new Map<string, InstanceRunner>();
  private readonly sockets = new Map<string, VrrpTransport>();
  private readonly scriptLoops: ScriptLoop[] = [];
  private readonly notifyQueue = new SerialQueue();
  /** Each vrrp_sync_group's state when its members last agreed (for the group's notify scripts). */
  private readonly groupStates = new Map<string, VrrpState>();
  private links = new Map<string, LinkInfo>();
  /** IPv4 addresses on the interfaces, kept current from netlink notifications. */
  private addrs: AddressInfo[] = [];
  private readonly primaries = new Map<string, Ip4 | undefined>();
  /** The supervisor's weight for every instance; kept so instances created later (start) begin with it. */
  private external: { weight: number; reason: string } | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private running = false;
  /** The configuration as run: scripts refused by enable_script_security taken out (see script-policy.ts). */
  private config: KeepalivedConfig;
  private refused: RefusedScript[] = [];
  private defaultScriptUser: ScriptUser | undefined;
  private readonly scriptGuard: ScriptGuard | undefined;
  private readonly resolveUser: (u: ScriptUser) => RunAs | string;
  private readonly notifyTimeoutMs: number;
  private readonly stopNotifyWaitMs: number;

  constructor(config: KeepalivedConfig, deps: VrrpServiceDeps) {
    super();
    this.config = config;
    this.scriptGuard = deps.scriptGuard;
    this.resolveUser = deps.resolveUser ?? resolveUser;
    this.log = deps.log;
    this.notifyTimeoutMs = deps.notifyTimeoutMs ?? NOTIFY_TIMEOUT_MS;
    this.stopNotifyWaitMs = deps.stopNotifyWaitMs ?? STOP_NOTIFY_WAIT_MS;
    this.clock = deps.clock ?? monotonicClock;
    this.wallClock = deps.wallClock ?? systemClock;
    this.addresses = deps.addresses ?? new Addresses();
    this.garp = deps.garp ?? new Garp();
    const runner: ScriptRunner = deps.scripts ?? new ShellScriptRunner();
    this.scripts = new ScriptRuns({
      runner,
      log: this.log,
      wallClock: this.wallClock,
      self: deps.identity ?? processIdentity(),
      resolve: this.resolveUser,
    });
    this.openSocket = deps.openSocket ?? ((o) => new VrrpSocket(o));
  }

  /** Cleans leftover VIPs, opens sockets, starts every instance and the trackers. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.applyScriptSecurity();
    this.addresses.on('event', (e) => this.onNetEvent(e));
    if (this.addresses instanceof Addresses) this.addresses.watch();
    this.links = new Map((await this.addresses.links()).map((l) => [l.name, l]));
    const addrs = await this.addresses.list();
    await this.removeLeftovers(addrs);
    this.addrs = addrs;

    for (const cfg of this.config.instances) {
      const link = this.links.get(cfg.interface);
      if (!link) throw new Error(`(${cfg.name}) interface ${cfg.interface} does not exist`);
      const primary = this.primaryOf(link.index);
      this.primaries.set(cfg.interface, primary);
      // No address yet: the instance starts in FAULT (see ifaceOk) and follows when one is added.
      const own = cfg.unicastSrcIp ?? primary ?? 0;
      const { params, warnings } = instanceParams(cfg, this.config.global, this.config.scripts);
      for (const w of warnings) this.log.warn(w);
      const runner = new InstanceRunner(cfg, params, own, {
        clock: this.clock,
        wallClock: this.wallClock,
        log: this.log,
        socket: this.socketFor(cfg.interface, link, primary ?? 0),
        addresses: this.addresses,
        garp: this.garp,
        scripts: this.scripts,
        scriptUser: this.defaultScriptUser,
        notifyQueue: this.notifyQueue,
        notifyTimeoutMs: this.notifyTimeoutMs,
        disabledScripts: this.refused.filter((x) => x.instances.includes(cfg.name)).map((x) => x.what),
        ifindex: (dev) => this.links.get(dev)?.index,
        // No MAC while the link is down: no GARP is attempted then (it could not go out, and see io/garp.ts).
        mac: (dev) => {
          const l = this.links.get(dev);
          return l?.up ? l.mac : undefined;
        },
        onStateChange: (c) => this.onStateChange(c),
        onVips: (c) => this.emit('vips', c),
        onStepped: () => this.syncGroupFaults(cfg.name),
      });
      this.instances.set(cfg.name, runner);
    }
    // Interface state first, so an instance whose interface is down starts in FAULT rather than flapping.
    for (const r of this.instances.values()) {
      for (const t of r.params.trackers.filter((x) => x.kind === 'interface'))
        r.feed({ type: 'tracker', kind: 'interface', name: t.name, ok: this.ifaceOk(r, t.name) });
    }
    // init_fail: the script counts as failed from the start (keepalived), until `rise` successes say otherwise.
    for (const sc of this.config.scripts.filter((x) => x.initFail))
      for (const r of this.instances.values())
        if (r.cfg.trackScripts.some((t) => t.name === sc.name))
          r.feed({ type: 'tracker', kind: 'script', name: sc.name, ok: false });
    // The supervisor's weight before the first election, so an unhealthy node does not win it first.
    if (this.external)
      for (const r of this.instances.values())
        r.setExternalWeight(this.external.weight, this.external.reason);
    for (const r of this.instances.values()) r.feed({ type: 'startup', ownIp: r.current.ownIp });
    for (const g of this.config.syncGroups) {
      for (const f of syncGroupStartup(g, this.memberStates(g)))
        this.instances.get(f.instance)?.feed(f.event);
    }
    this.startScripts();
  }

  /**
   * keepalived's default script user is script_user, else `keepalived_script` when that user exists, else root.
   * With enable_script_security each script is checked once for the user it runs as; a refused one is logged
   * once, with the reason and the fix, and taken out of the configuration as keepalived does.
   */
  private applyScriptSecurity(): void {
    const g = this.config.global;
    this.defaultScriptUser =
      g.scriptUser ??
      (typeof this.resolveUser({ user: 'keepalived_script' }) === 'string'
        ? undefined
        : { user: 'keepalived_script' });
    const policy = applyScriptSecurity({
      config: this.config,
      guard: this.scriptGuard,
      resolve: this.resolveUser,
      defaultUser: this.defaultScriptUser,
    });
    this.config = policy.config;
    this.refused = policy.refused;
    for (const r of policy.refused) this.log.error(refusedMessage(r));
  }

  private onStateChange(c: StateChange): void {
    this.emit('state', c);
    this.followSyncGroups(c);
  }

  /**
   * vrrp_sync_group: when one member moves, the core says where the others go (syncGroupFollow); their own
   * transitions come back here and cause nothing more. When all members agree on a new state, the group's notify
   * scripts run (after the members', through the same ordered queue).
   */
  private followSyncGroups(c: StateChange): void {
    if (c.from === 'STOP' || c.to === 'STOP') return;
    for (const g of this.config.syncGroups) {
      if (!g.instances.includes(c.instance)) continue;
      const change = { member: c.instance, from: c.from, to: c.to };
      for (const f of syncGroupFollow(g, this.memberStates(g), change))
        this.instances.get(f.instance)?.feed(f.event);
      const agreed = syncGroupState(g, this.memberStates(g));
      if (agreed === undefined || agreed === 'INIT' || agreed === this.groupStates.get(g.name)) continue;
      this.groupStates.set(g.name, agreed);
      this.log.info(`VRRP_Group(${g.name}) Syncing instances to ${agreed} state`);
      for (const a of syncGroupNotifies(g, agreed)) {
        if (a.type === 'notify') this.queueNotify(g, a.script, a.args);
      }
    }
  }

  /** A member's own fault holds its group in FAULT until no member has one (see syncGroupFaults). */
  private syncGroupFaults(instance: string): void {
    if (!this.running) return;
    for (const g of this.config.syncGroups) {
      if (!g.instances.includes(instance)) continue;
      for (const f of syncGroupFaults(g, this.memberStates(g))) this.instances.get(f.instance)?.feed(f.event);
    }
  }

  private memberStates(g: VrrpSyncGroup): Map<string, InstanceState> {
    const m = new Map<string, InstanceState>();
    for (const name of g.instances) {
      const r = this.instances.get(name);
      if (r) m.set(name, r.current);
    }
    return m;
  }

  private queueNotify(g: VrrpSyncGroup, script: string, args: string[]): void {
    const who = `VRRP_Group(${g.name})`;
    void this.notifyQueue.push(async () => {
      const r = await this.scripts.run({
        what: `notify script of ${g.name}`,
        command: script,
        args,
        user: this.defaultScriptUser,
        timeoutMs: this.notifyTimeoutMs,
        instances: g.instances,
        consequence: 'this notification is lost',
      });
      if (!r.notRun && (r.error || r.code !== 0))
        this.log.warn(`${who} notify script ${script} ${scriptFailure(r)}`);
    });
  }

  /**
   * A kill -9 leaves VIPs on the interfaces; the next start must not act as if it held them (keepalived #2361).
   * Every configured VIP found on its interface is removed before any election.
   */
  private async removeLeftovers(addrs: AddressInfo[]): Promise<void> {
    // The address owner's VIP is its own address (RFC 3768 priority 255): never taken away.
    for (const cfg of this.config.instances.filter((i) => i.priority !== 255)) {
      for (const v of [...cfg.virtualAddresses, ...cfg.virtualAddressesExcluded]) {
        const dev = v.dev ?? cfg.interface;
        const ifindex = this.links.get(dev)?.index;
        if (ifindex === undefined || !addrs.some((a) => a.ifindex === ifindex && a.address === v.address))
          continue;
        this.log.info(`(${cfg.name}) removing leftover VIP ${formatIp4(v.address)}/${v.prefix} from ${dev}`);
        await this.addresses.remove({ address: v.address, prefix: v.prefix, ifindex });
      }
    }
  }

  private socketFor(iface: string, link: LinkInfo, primaryIp: Ip4): VrrpTransport {
    let s = this.sockets.get(iface);
    if (s) return s;
    s = this.openSocket({ iface, ifindex: link.index, primaryIp });
    s.on('packet', (p) => this.onPacket(p));
    s.on('malformed', (reason) =>
      this.dropOnIface(iface, undefined, { reason, detail: 'malformed IP packet' }),
    );
    s.on('error', (err) => this.log.error(`VRRP socket on ${iface}: ${err.message}`));
    this.sockets.set(iface, s);
    return s;
  }

  private onPacket(p: VrrpPacketIn): void {
    const advert = decodeAdvert(p.payload);
    if (isVrrpWireError(advert)) {
      this.dropOnIface(p.iface, p.payload[1], advert, formatIp4(p.srcIp));
      return;
    }
    const target = [...this.instances.values()].find(
      (r) => r.cfg.interface === p.iface && r.cfg.vrid === advert.vrid,
    );
    if (!target) {
      // keepalived counts these per interface; we show them on every instance of that interface. Not logged:
      // other VRRP routers on the segment are normal.
      this.dropOnIface(p.iface, undefined, { reason: 'vrid-not-configured', detail: '' });
      return;
    }
    target.feed({ type: 'advert', packet: { advert, srcIp: p.srcIp, ttl: p.ttl, iface: p.iface } });
  }

  /**
   * Counts a packet dropped before the core saw it, on the instance its VRID names or on all of the interface,
   * and logs it (rate-limited) unless it is merely another router's VRID.
   */
  private dropOnIface(
    iface: string,
    vrid: number | undefined,
    e: { reason: string; detail: string; v3?: VrrpWireError['v3'] },
    src = 'an unknown source',
  ): void {
    const onIface = [...this.instances.values()].filter((r) => r.cfg.interface === iface);
    const exact = onIface.filter((r) => r.cfg.vrid === vrid);
    for (const r of exact.length > 0 ? exact : onIface) {
      r.wireDrops.inc(e.reason);
      if (e.reason === 'vrid-not-configured') continue;
      const n = r.cfg.name;
      r.logDrop(
        e.reason,
        'warn',
        e.v3
          ? // keepalived's words, then who is speaking VRRPv3 (RFC 5798) on this segment.
            `(${n}) wrong version. Received 3 and expect 2 - VRRPv3 advert from ${src}, VRID ${e.v3.vrid} priority ${e.v3.priority}, ignored`
          : `(${n}) dropped advert from ${src}: ${e.reason} (${e.detail})`,
      );
    }
  }

  private onNetEvent(e: NetEvent): void {
    if (!this.running) return;
    if (e.kind === 'address') {
      this.refreshAddresses();
      return;
    }
    if (e.kind === 'lost') {
      this.log.error(`netlink notifications may be lost (${e.error}): re-reading links and addresses`);
      void this.resync();
      return;
    }
    this.applyLink(e.op, e.link);
  }

  /** After lost notifications: the kernel's view of the links and addresses, applied as if notified. */
  private async resync(): Promise<void> {
    try {
      const links = await this.addresses.links();
      if (!this.running) return;
      const now = new Set(links.map((l) => l.name));
      for (const name of [...this.links.keys()].filter((n) => !now.has(n)))
        this.applyLink('del', this.links.get(name)!);
      for (const l of links) this.applyLink('new', l);
      this.refreshAddresses();
    } catch (err) {
      this.log.error(`re-reading links: ${(err as Error).message}`);
    }
  }

  private applyLink(op: 'new' | 'del', link: LinkInfo): void {
    const prev = this.links.get(link.name);
    const wasOk = prev !== undefined && prev.up && prev.running;
    if (op === 'del') this.links.delete(link.name);
    else this.links.set(link.name, link);
    const ok = op === 'new' && link.up && link.running;
    if (ok === wasOk) return;
    this.log.info(`Netlink reports ${link.name} ${ok ? 'up' : 'down'}`);
    this.feedInterface(link.name);
  }

  /** Tells every instance tracking `name` (its own interface included) whether it is usable now. */
  private feedInterface(name: string): void {
    for (const r of this.instances.values()) {
      if (r.params.trackers.some((t) => t.kind === 'interface' && t.name === name))
        r.feed({ type: 'tracker', kind: 'interface', name, ok: this.ifaceOk(r, name) });
    }
  }

  /**
   * An interface is usable when it is up with carrier; the instance's own interface must also have an IPv4
   * address to advertise from (keepalived: FAULT while the interface has no address).
   */
  private ifaceOk(r: InstanceRunner, name: string): boolean {
    const l = this.links.get(name);
    if (!l || !l.up || !l.running) return false;
    return (
      name !== r.cfg.interface || r.cfg.unicastSrcIp !== undefined || this.primaries.get(name) !== undefined
    );
  }

  /**
   * Address notifications: re-read the addresses (the kernel's own view, so a primary deleted and a secondary
   * promoted in its place read as one change), one dump at a time.
   */
  private refreshAddresses(): void {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        const addrs = await this.addresses.list();
        if (!this.running) return;
        this.addrs = addrs;
        this.applyPrimaries();
      } while (this.refreshAgain);
    })()
      .catch((err: Error) => this.log.error(`reading interface addresses: ${err.message}`))
      .finally(() => {
        this.refreshing = undefined;
      });
  }

  /**
   * RFC 3768 5.1.1.1: adverts leave from the interface's primary address. When it changes the socket's source and
   * group membership follow, and the core learns its new address (tie-breaks and own-advert detection use it).
   */
  private applyPrimaries(): void {
    for (const [iface, sock] of this.sockets) {
      const link = this.links.get(iface);
      if (!link) continue;
      const p = this.primaryOf(link.index);
      if (p === this.primaries.get(iface)) continue;
      this.primaries.set(iface, p);
      if (p === undefined) this.log.warn(`Netlink reports ${iface} has no IPv4 address left`);
      else {
        this.log.info(`Netlink reports ${iface} primary address now ${formatIp4(p)}`);
        try {
          sock.setPrimary(p);
        } catch (err) {
          this.log.error(
            `VRRP socket on ${iface}: cannot move to ${formatIp4(p)}: ${(err as Error).message}`,
          );
        }
        for (const r of this.instances.values())
          if (r.cfg.interface === iface && r.cfg.unicastSrcIp === undefined)
            r.feed({ type: 'own-address', ip: p });
      }
      this.feedInterface(iface);
    }
  }

  /**
   * The primary address: the kernel's primary unless it is one of our VIPs (they come and go, and the kernel
   * promotes a VIP when the primary of its subnet is deleted), then any other; a VIP only when nothing else is
   * left (the address owner's VIP is its own address).
   */
  private primaryOf(ifindex: number): Ip4 | undefined {
    const on = this.addrs.filter((a) => a.ifindex === ifindex);
    const own = on.filter((a) => !this.isVip(a));
    return (own.find((a) => !a.secondary) ?? own[0] ?? on.find((a) => !a.secondary))?.address;
  }

  private isVip(a: AddressInfo): boolean {
    return this.config.instances.some((i) =>
      [...i.virtualAddresses, ...i.virtualAddressesExcluded].some((v) => v.address === a.address),
    );
  }

  private startScripts(): void {
    const used = new Set(this.config.instances.flatMap((i) => i.trackScripts.map((t) => t.name)));
    for (const script of this.config.scripts.filter((s) => used.has(s.name))) {
      const track: TrackState = script.initFail ? { status: 'bad', streak: 0 } : initialTrack;
      const loop: ScriptLoop = { script, track, timer: undefined };
      this.scriptLoops.push(loop);
      void this.runScript(loop);
    }
  }

  /**
   * One run of a vrrp_script, then the next one `interval` later. A script that cannot be started is a failed
   * check (keepalived's consequence: its weight, or FAULT), explained once by ScriptRuns.
   */
  private async runScript(loop: ScriptLoop): Promise<void> {
    const s = loop.script;
    const tracking = this.config.instances.filter((i) => i.trackScripts.some((t) => t.name === s.name));
    const r = await this.scripts.run({
      what: `track script ${s.name}`,
      command: s.script,
      args: [],
      user: s.user ?? this.defaultScriptUser,
      timeoutMs: s.timeout * 1000,
      instances: tracking.map((i) => i.name),
      consequence: 'each run counts as a failed check (its weight applies, or FAULT where it has none)',
    });
    if (!this.running) return;
    if (r.timedOut) this.log.warn(`Script \`${s.name}\` timed out`);
    const before = loop.track.status;
    loop.track = trackResult(loop.track, r.code === 0 && !r.timedOut, s.rise, s.fall);
    if (loop.track.status !== before) {
      const ok = loop.track.status === 'good';
      this.log.info(`Script \`${s.name}\` now returning ${ok ? 0 : (r.code ?? 'no exit code')}`);
      for (const inst of this.instances.values()) {
        if (inst.cfg.trackScripts.some((t) => t.name === s.name))
          inst.feed({ type: 'tracker', kind: 'script', name: s.name, ok });
      }
    }
    loop.timer = setTimeout(() => void this.runScript(loop), s.interval * 1000);
  }

  /** The supervisor's say in the election (e.g. -50 while DHCP is unhealthy); 0 removes it. */
  setExternalWeight(instance: string, weight: number, reason: string): void {
    const r = this.instances.get(instance);
    if (!r) throw new Error(`no VRRP instance ${instance}`);
    r.setExternalWeight(weight, reason);
  }

  /** The supervisor's weight for every instance, now and for those started later; 0 removes it. */
  setExternalWeightAll(weight: number, reason: string): void {
    this.external = weight === 0 ? undefined : { weight, reason };
    for (const r of this.instances.values()) r.setExternalWeight(weight, reason);
  }

  /**
   * The supervisor's death notice: the peer's daemon is gone (its failover connection closed without a
   * DISCONNECT). Every BACKUP instance takes over after its Skew_Time unless the master advertises first (the
   * core's `peer-gone`); sync groups follow as for any takeover.
   */
  peerGone(reason: string): void {
    if (!this.running) return;
    this.log.debug?.(`peer gone (${reason})`);
    for (const r of this.instances.values()) r.feed({ type: 'peer-gone', reason });
  }

  status(): InstanceStatus[] {
    return [...this.instances.values()].map((r) => r.status());
  }

  /** SIGTERM: priority-0 advert and VIP removal (core's shutdown), notify_stop, then close everything. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const l of this.scriptLoops) if (l.timer) clearTimeout(l.timer);
    for (const r of this.instances.values()) r.feed({ type: 'shutdown' });
    await Promise.all([...this.instances.values()].map((r) => r.settleIo()));
    let waited: NodeJS.Timeout | undefined;
    const gaveUp = await Promise.race([
      this.notifyQueue.drain().then(() => false),
      new Promise<boolean>((res) => (waited = setTimeout(() => res(true), this.stopNotifyWaitMs))),
    ]);
    clearTimeout(waited);
    if (gaveUp) this.log.warn(`stopping without waiting for ${this.notifyQueue.size} notify script(s)`);
    for (const r of this.instances.values()) r.close();
    // Let the priority-0 adverts leave before the sockets close.
    await new Promise((res) => setTimeout(res, 20));
    for (const s of this.sockets.values()) s.close();
    this.garp.close();
    this.addresses.close();
  }
}
