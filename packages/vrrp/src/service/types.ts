import type { Ip4 } from '@hadhcp/common';

/** pino's call shape (message only), so a pino logger or a console shim can be passed in. */
export interface VrrpLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug?(msg: string): void;
}

export type VrrpStateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

export interface StateChange {
  instance: string;
  from: VrrpStateName;
  to: VrrpStateName;
  /** Milliseconds since the epoch. */
  at: number;
  reason: string;
  /** The VIPs this node holds after the change (empty unless MASTER). */
  vips: Ip4[];
}

/**
 * The VIPs an instance holds, told when that changes: on becoming MASTER once its netlink add of the VIPs has
 * returned (the kernel has them: a socket can bind them now), or at once for the address owner (its VIPs are its
 * own addresses); on leaving MASTER at the transition, before they are removed.
 */
export interface VipChange {
  instance: string;
  vips: Ip4[];
}

export interface InstanceStatus {
  name: string;
  interface: string;
  vrid: number;
  state: VrrpStateName;
  configuredPriority: number;
  effectivePriority: number;
  /** Why effective differs from configured, and what holds the instance in FAULT. */
  priorityReasons: string[];
  faults: string[];
  /** Scripts refused by enable_script_security ("track script chk", "notify script of VI_1"): never run. */
  disabledScripts: string[];
  /** Scripts that could not be run when their turn came (each such run counted as failed), and why. */
  scriptsNotRun: ScriptNotRun[];
  /** Where our adverts come from: the interface's primary address (followed through netlink), or unicast_src_ip. */
  ownAddress: string;
  /** The current master as far as we know: us when MASTER, else the last advert's source. */
  masterAddress: string | undefined;
  lastTransition: { from: VrrpStateName; to: VrrpStateName; at: string; reason: string } | undefined;
  advertsSent: number;
  advertsReceived: number;
  drops: Record<string, number>;
  vips: string[];
}

/** A script that could not be run at its last attempt: who it was to run as, why not, and what to change. */
export interface ScriptNotRun {
  /** "track script chk_dhcp", "notify script of VI_1". */
  script: string;
  command: string;
  /** The user it was to run as; undefined: the daemon's own. */
  user: string | undefined;
  reason: string;
  fix: string;
  /** Runs that could not start since `since` (wall clock, ISO 8601); the latest at `last`. */
  attempts: number;
  since: string;
  last: string;
}
