import type { Ip4 } from '@hadhcp/common';

/**
 * The VRRP configuration model: what a keepalived.conf means (global_defs, vrrp_script, vrrp_instance,
 * vrrp_sync_group), independent of its syntax. The config package's reader builds it; the VRRP core and io use it.
 */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export interface GlobalDefs {
  routerId?: string;
  enableScriptSecurity: boolean;
  scriptUser?: { user: string; group?: string };
  /** Seconds; keepalived defaults: delay 5, repeat 5, refresh 0 (off), refresh repeat 1. */
  garpMasterDelay: number;
  garpMasterRepeat: number;
  garpMasterRefresh: number;
  garpMasterRefreshRepeat: number;
  /** Anything accepted but without effect, for `status` and the config check to report. */
  ignored: string[];
}

export interface VrrpScript {
  name: string;
  script: string;
  /** Seconds. keepalived defaults: interval 1, timeout = interval, weight 0, rise 1, fall 1. */
  interval: number;
  timeout: number;
  weight: number;
  rise: number;
  fall: number;
  user?: { user: string; group?: string };
  /** `init_fail`: the script starts in the failed state (keepalived), so its weight/FAULT applies until it first passes. */
  initFail?: boolean;
  pos: SourcePos;
}

export interface VirtualAddress {
  address: Ip4;
  prefix: number;
  /** Interface to add it on; the instance's interface when absent. */
  dev?: string;
  label?: string;
  brd?: Ip4;
  scope?: string;
  pos: SourcePos;
}

export interface TrackScriptRef {
  name: string;
  /** Overrides the script's own weight when given in the track_script block. */
  weight?: number;
}

export interface TrackInterfaceRef {
  name: string;
  weight?: number;
}

export interface VrrpInstanceConfig {
  name: string;
  /** `state MASTER|BACKUP`: the initial wish only; the election decides. */
  initialState: 'MASTER' | 'BACKUP';
  interface: string;
  vrid: number;
  /** 1-255, default 100. 255 = address owner. */
  priority: number;
  /** Seconds (VRRPv2 carries whole seconds). */
  advertInt: number;
  auth?: { type: 'PASS' | 'AH'; pass: string };
  virtualAddresses: VirtualAddress[];
  virtualAddressesExcluded: VirtualAddress[];
  /** Preempt is on unless nopreempt. */
  preempt: boolean;
  /** Seconds. */
  preemptDelay: number;
  garpMasterDelay?: number;
  garpMasterRepeat?: number;
  garpMasterRefresh?: number;
  garpMasterRefreshRepeat?: number;
  unicastSrcIp?: Ip4;
  unicastPeers: Ip4[];
  trackInterfaces: TrackInterfaceRef[];
  trackScripts: TrackScriptRef[];
  notifyMaster?: string;
  notifyBackup?: string;
  notifyFault?: string;
  notifyStop?: string;
  notify?: string;
  pos: SourcePos;
}

export interface VrrpSyncGroup {
  name: string;
  instances: string[];
  notifyMaster?: string;
  notifyBackup?: string;
  notifyFault?: string;
  notify?: string;
  pos: SourcePos;
}

export interface KeepalivedConfig {
  global: GlobalDefs;
  scripts: VrrpScript[];
  instances: VrrpInstanceConfig[];
  syncGroups: VrrpSyncGroup[];
  files: string[];
}
