/*
 * What the daemon's commands answer, as JSON: typed once here, shared by the daemon (which must fill them: its
 * producers are declared to return these types) and by the CLI (which reads them). This package sits below the
 * protocol packages, so the shapes are written as plain JSON types (addresses as dotted strings, times as ISO 8601
 * strings, absent instead of undefined); the daemon's assignments are where tsc checks that the real types fit.
 */

/** `status-get`: the whole node on one page. */
export interface StatusReport {
  pid: number;
  version: string;
  /** Seconds since the daemon started. */
  uptime: number;
  /** Absent without a dhcpd.conf. */
  dhcp?: DhcpStatusJson;
  /** Absent without a keepalived.conf. */
  vrrp?: VrrpInstanceJson[];
  /** The supervisor's decision in force (VRRP beside DHCP only). */
  supervisor?: SupervisorDecisionJson;
  /** Absent without a `failover peer` block. */
  failover?: FailoverRelationshipJson[];
  store?: StoreStatsJson;
  /** The last notable events, oldest first. */
  events?: EventJson[];
}

export interface DhcpStatusJson {
  serving: boolean;
  /** Why serving or not: the supervisor's reason, or the lease store's failure. */
  reason?: string;
  /** The server identifier of relayed replies (the VIP while held). */
  serverId?: string;
  /** Interfaces with directly attached clients served. */
  interfaces: string[];
  /** Lease records by binding state (ISC's names: free, active, backup...); states with none are absent. */
  leases: Record<string, number>;
  /** Packets not answered, by reason. */
  drops: Record<string, number>;
  counters: Record<string, number>;
}

export type VrrpStateJson = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

/** One VRRP instance (@hadhcp/vrrp's InstanceStatus, plus `priority`, the configured one). */
export interface VrrpInstanceJson {
  name: string;
  interface: string;
  vrid: number;
  state: VrrpStateJson;
  /** The configured priority (the same as configuredPriority; the name keepalived users look for). */
  priority: number;
  configuredPriority: number;
  effectivePriority: number;
  /** Why effective differs from configured ("-20 script:chk_gw failing"). */
  priorityReasons: string[];
  /** What holds the instance in FAULT. */
  faults: string[];
  disabledScripts: string[];
  scriptsNotRun: ScriptNotRunJson[];
  ownAddress: string;
  masterAddress?: string;
  lastTransition?: { from: VrrpStateJson; to: VrrpStateJson; at: string; reason: string };
  advertsSent: number;
  advertsReceived: number;
  drops: Record<string, number>;
  vips: string[];
}

export interface ScriptNotRunJson {
  script: string;
  command: string;
  user?: string;
  reason: string;
  fix: string;
  attempts: number;
  since: string;
  last: string;
}

/** One failover relationship (@hadhcp/failover's FailoverPeerStatus). */
export interface FailoverRelationshipJson {
  name: string;
  role: 'primary' | 'secondary';
  /** ISC's state names (`normal`, `communications-interrupted`, `recover-wait`...). */
  state: string;
  since: string;
  partnerState: string;
  partnerSince: string;
  /** Seconds. */
  mclt: number;
  serve: 'all' | 'own' | 'none';
  connected: boolean;
  link?: { local: string; remote: string; direction: 'in' | 'out'; since: string };
  lastContact?: string;
  partner: { maxUnacked?: number; receiveTimer?: number; vendorClass?: string };
  /** Hash buckets (of 256) the primary answers. */
  primaryBuckets?: number;
  updates: { queued: number; unacked: number; requestsOpen: number; lazy: boolean };
  pool?: PoolUseJson;
  pools: Array<PoolUseJson & { label: string }>;
  /** Partner-down: when the partner's expired leases become ours. */
  reclaimAt?: string;
  counters: Record<string, number>;
}

export interface PoolUseJson {
  total: number;
  free: number;
  backup: number;
}

/** @hadhcp/supervisor's SupervisorDecision, the server identifier as a dotted address. */
export interface SupervisorDecisionJson {
  serveRelayed: boolean;
  answerAllRelayed: boolean;
  serveDirect: boolean;
  serverId?: string;
  vrrpWeight: number;
  partnerDown: boolean;
  /** Serving or not, and why. */
  reason: string;
  /** Why the VRRP weight is what it is. */
  health: string;
}

/** @hadhcp/leases' LeaseStoreStats. */
export interface StoreStatsJson {
  leases: number;
  metaKeys: number;
  generation: number;
  journalBytes: number;
  liveBytes: number;
  commits: number;
  syncs: number;
  compactions: number;
  openMs: number;
  tornBytesAtOpen: number;
  skippedAtOpen: { file: string; offset: number; length: number }[];
  recoveries: number;
  /** Set while the store refuses writes. */
  failed?: string;
  recovery?: { attempts: number; lastError?: string; nextAttemptInMs: number };
}

export type EventKind = 'daemon' | 'vrrp' | 'failover' | 'link' | 'serving' | 'store' | 'handover';

/** One notable event: a VRRP transition, a failover state or link change, serving on or off, the store... */
export interface EventJson {
  /** ISO 8601. */
  at: string;
  kind: EventKind;
  text: string;
  /** Something an operator should look at (lost the VIP, link down, store failed, partner-down). */
  alarm?: boolean;
}

/**
 * One lease as lease4-get and lease4-get-all show it: Kea's lease4 names where Kea has one, plus the failover
 * binding state and times ISC users know from dhcpd.leases. Times are epoch seconds.
 */
export interface LeaseJson {
  'ip-address': string;
  /** '' when the record has none. */
  'hw-address': string;
  'client-id'?: string;
  hostname: string;
  /** ISC's binding state name: free, active, expired, released, abandoned, reset, backup. */
  'binding-state': string;
  /** Kea's: 0 default, 1 declined, 2 expired-reclaimed. */
  state: 0 | 1 | 2;
  cltt: number;
  'valid-lft': number;
  starts: number;
  ends: number | 'never';
  tstp?: number | 'never';
  tsfp?: number | 'never';
  atsfp?: number | 'never';
  /**
   * The class a dhcpd.conf `lease limit` bills the lease to, in dhcpd.leases words: `class "NAME"` or
   * `subclass "NAME" "value"` (colon hex when the value is not printable). Absent when none does.
   */
  billing?: string;
}

/** The `arguments` of each command's successful answer. */
export interface CommandResults {
  'status-get': StatusReport;
  'lease4-get': LeaseJson;
  'lease4-get-all': { leases: LeaseJson[] };
  'lease4-get-page': { leases: LeaseJson[]; count: number };
  'vrrp-status-get': { instances: VrrpInstanceJson[] };
  'failover-status': { relationships: FailoverRelationshipJson[] };
}
