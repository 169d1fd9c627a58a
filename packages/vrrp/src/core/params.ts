import { AUTH_AH, AUTH_NONE, AUTH_PASS, passwordAuthData } from '../wire/advert.js';
import type { GlobalDefs, VirtualAddress, VrrpInstanceConfig, VrrpScript } from './config.js';

/**
 * What one instance's state machine needs from the configuration, resolved once: tracker weights looked up,
 * global GARP defaults applied, keepalived's start-up corrections made (with the warnings it would log).
 */
export interface TrackerSpec {
  /** 'script:<name>' or 'interface:<name>'. */
  id: string;
  kind: 'script' | 'interface';
  name: string;
  /** 0 = no weight: failing puts the instance in FAULT. Otherwise added to the priority (see effectivePriority). */
  weight: number;
}

export interface GarpParams {
  /** Seconds after becoming master before the second burst; 0 = none. */
  delay: number;
  repeat: number;
  /** Seconds between refresh bursts while master; 0 = off. */
  refresh: number;
  refreshRepeat: number;
}

export interface InstanceParams {
  name: string;
  vrid: number;
  basePriority: number;
  /** Seconds. */
  advertInt: number;
  authType: number;
  /** 8 bytes, as sent and as expected in received adverts. */
  authData: Uint8Array;
  /** Advertised and added when master. */
  vips: VirtualAddress[];
  /** Added when master, not advertised (virtual_ipaddress_excluded). */
  excludedVips: VirtualAddress[];
  preempt: boolean;
  /** Seconds. */
  preemptDelay: number;
  /** keepalived: `state MASTER`, or the address owner: go master at start without waiting Master_Down_Interval. */
  startAsMaster: boolean;
  garp: GarpParams;
  /** Unicast mode (unicast_peer): no TTL check (keepalived). */
  unicast: boolean;
  trackers: TrackerSpec[];
  notify: { master?: string; backup?: string; fault?: string; stop?: string; any?: string };
}

export const PRIO_OWNER = 255;
/** The contribution name of the supervisor's weight (see the `external-weight` event). */
export const EXTERNAL_TRACKER = 'external';
export const PRIO_STOP = 0;

/** keepalived's defaults when global_defs says nothing (vrrp_garp_master_delay 5, repeat 5, refresh off, 1). */
export const DEFAULT_GARP: GarpParams = { delay: 5, repeat: 5, refresh: 0, refreshRepeat: 1 };

export function instanceParams(
  cfg: VrrpInstanceConfig,
  global?: Pick<
    GlobalDefs,
    'garpMasterDelay' | 'garpMasterRepeat' | 'garpMasterRefresh' | 'garpMasterRefreshRepeat'
  >,
  scripts: VrrpScript[] = [],
): { params: InstanceParams; warnings: string[] } {
  const warnings: string[] = [];
  const n = cfg.name;
  let preempt = cfg.preempt;
  let preemptDelay = cfg.preemptDelay;
  if (cfg.priority === PRIO_OWNER && !preempt) {
    warnings.push(`(${n}) nopreempt is incompatible with priority ${PRIO_OWNER} - resetting nopreempt`);
    preempt = true;
  }
  const startAsMaster = cfg.initialState === 'MASTER' || cfg.priority === PRIO_OWNER;
  if (startAsMaster && !preempt) {
    warnings.push(`(${n}) Warning - nopreempt will not work with initial state MASTER - clearing`);
    preempt = true;
  }
  if (startAsMaster && preemptDelay > 0) {
    warnings.push(`(${n}) Warning - preempt delay will not work with initial state MASTER - clearing`);
    preemptDelay = 0;
  }
  if (!preempt && preemptDelay > 0) {
    warnings.push(`(${n}) preempt_delay is incompatible with nopreempt mode - resetting`);
    preemptDelay = 0;
  }

  const trackers: TrackerSpec[] = [];
  // keepalived tracks the instance's own interface without weight: it going down means FAULT.
  trackers.push({ id: `interface:${cfg.interface}`, kind: 'interface', name: cfg.interface, weight: 0 });
  for (const t of cfg.trackInterfaces) {
    if (t.name === cfg.interface && t.weight === undefined) continue;
    const id = `interface:${t.name}`;
    const spec: TrackerSpec = { id, kind: 'interface', name: t.name, weight: t.weight ?? 0 };
    const i = trackers.findIndex((x) => x.id === id);
    if (i >= 0) trackers[i] = spec;
    else trackers.push(spec);
  }
  for (const t of cfg.trackScripts) {
    const script = scripts.find((s) => s.name === t.name);
    if (!script) warnings.push(`(${n}) track_script ${t.name} not found, ignoring`);
    else
      trackers.push({
        id: `script:${t.name}`,
        kind: 'script',
        name: t.name,
        weight: t.weight ?? script.weight,
      });
  }
  if (cfg.priority === PRIO_OWNER && trackers.some((t) => t.weight !== 0))
    warnings.push(`(${n}) tracker weights are ignored for the address owner (priority ${PRIO_OWNER})`);

  const g = {
    delay: global?.garpMasterDelay ?? DEFAULT_GARP.delay,
    repeat: global?.garpMasterRepeat ?? DEFAULT_GARP.repeat,
    refresh: global?.garpMasterRefresh ?? DEFAULT_GARP.refresh,
    refreshRepeat: global?.garpMasterRefreshRepeat ?? DEFAULT_GARP.refreshRepeat,
  };
  const authType = !cfg.auth ? AUTH_NONE : cfg.auth.type === 'PASS' ? AUTH_PASS : AUTH_AH;
  if (authType === AUTH_AH) warnings.push(`(${n}) auth_type AH is not supported; adverts will not verify`);
  return {
    warnings,
    params: {
      name: n,
      vrid: cfg.vrid,
      basePriority: cfg.priority,
      advertInt: cfg.advertInt,
      authType,
      authData: cfg.auth?.type === 'PASS' ? passwordAuthData(cfg.auth.pass) : new Uint8Array(8),
      vips: cfg.virtualAddresses,
      excludedVips: cfg.virtualAddressesExcluded,
      preempt,
      preemptDelay,
      startAsMaster,
      garp: {
        delay: cfg.garpMasterDelay ?? g.delay,
        repeat: cfg.garpMasterRepeat ?? g.repeat,
        refresh: cfg.garpMasterRefresh ?? g.refresh,
        refreshRepeat: cfg.garpMasterRefreshRepeat ?? g.refreshRepeat,
      },
      unicast: cfg.unicastPeers.length > 0,
      trackers,
      notify: {
        master: cfg.notifyMaster,
        backup: cfg.notifyBackup,
        fault: cfg.notifyFault,
        stop: cfg.notifyStop,
        any: cfg.notify,
      },
    },
  };
}

export interface PriorityContribution {
  tracker: string;
  ok: boolean;
  weight: number;
  /** What it adds now: weight > 0 counts while OK, weight < 0 while failing (keepalived). */
  applied: number;
}

/**
 * keepalived's effective priority: base + positive weights of trackers that are OK + negative weights of
 * trackers that fail, clamped to 1..254. The address owner (255) never changes, and no sum reaches 255:
 * only the owner may claim it (RFC 3768 5.3.4).
 */
export function effectivePriority(
  p: InstanceParams,
  trackerOk: Readonly<Record<string, boolean>>,
  external?: { weight: number },
): { priority: number; contributions: PriorityContribution[] } {
  const contributions: PriorityContribution[] = p.trackers
    .filter((t) => t.weight !== 0)
    .map((t) => {
      const ok = trackerOk[t.id] ?? true;
      const applied = (t.weight > 0 && ok) || (t.weight < 0 && !ok) ? t.weight : 0;
      return { tracker: t.id, ok, weight: t.weight, applied };
    });
  // The supervisor's weight applies as given: negative while something it watches is unhealthy.
  if (external && external.weight !== 0)
    contributions.push({
      tracker: EXTERNAL_TRACKER,
      ok: external.weight > 0,
      weight: external.weight,
      applied: external.weight,
    });
  if (p.basePriority === PRIO_OWNER) return { priority: PRIO_OWNER, contributions };
  const sum = contributions.reduce((acc, c) => acc + c.applied, p.basePriority);
  return { priority: Math.min(254, Math.max(1, sum)), contributions };
}

/** The unweighted trackers that are failing: any one of them holds the instance in FAULT. */
export function faultingTrackers(p: InstanceParams, trackerOk: Readonly<Record<string, boolean>>): string[] {
  return p.trackers.filter((t) => t.weight === 0 && trackerOk[t.id] === false).map((t) => t.id);
}

/** RFC 3768 6.1: Skew_Time = (256 - Priority) / 256 seconds; whole milliseconds, rounded down. */
export function skewMs(priority: number): number {
  return Math.floor(((256 - priority) * 1000) / 256);
}

/**
 * RFC 3768 6.1: Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time. keepalived computes the skew from
 * its own effective priority (as the RFC does), not the master's, and uses its own advert_int (VRRPv2 requires
 * both sides to match).
 */
export function masterDownMs(advertIntS: number, priority: number): number {
  return 3 * advertIntS * 1000 + skewMs(priority);
}
