import type { Ip4 } from '@hadhcp/common';
import type { Advert } from '../wire/advert.js';
import type { VirtualAddress } from './config.js';
import type { InstanceParams } from './params.js';

/** RFC 3768 6.4 states plus keepalived's FAULT (a tracked interface or unweighted script failing). */
export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

/** Keyed timers: setting one replaces the pending one with the same key (the io keeps one per key). */
export type TimerKey = 'master-down' | 'advert' | 'preempt-delay' | 'garp-refresh' | 'garp-repeat';

export interface Transition {
  at: number;
  from: VrrpState;
  to: VrrpState;
  reason: string;
}

export interface InstanceStats {
  advertsSent: number;
  advertsReceived: number;
  becameMaster: number;
  releasedMaster: number;
  drops: Readonly<Record<string, number>>;
}

export interface InstanceState {
  readonly params: InstanceParams;
  readonly state: VrrpState;
  /** Our primary address on the interface (or unicast_src_ip): the advert source and the tie-breaker. */
  readonly ownIp: Ip4;
  /** Tracker id -> OK. Trackers never reported count as OK. */
  readonly trackers: Readonly<Record<string, boolean>>;
  readonly effectivePriority: number;
  /** The master as we last saw it (ourselves when MASTER). */
  readonly masterIp?: Ip4;
  readonly masterPriority?: number;
  /** keepalived preempt_delay: until this time a lower-priority master is accepted. */
  readonly preemptUntil?: number;
  /**
   * The supervisor's say in the election (DHCP health), added to the priority like a tracker weight that is
   * always applied; absent when 0.
   */
  readonly external?: ExternalWeight;
  /**
   * The supervisor's death notice (see the `peer-gone` event) while BACKUP: its reason, for the transition it
   * may cause. Cleared by an accepted advert and by every transition.
   */
  readonly peerGone?: string;
  /** Set when a sync group forced FAULT on us though our own trackers are fine. */
  readonly faultBySync: boolean;
  readonly timers: Readonly<Partial<Record<TimerKey, number>>>;
  readonly lastTransition?: Transition;
  readonly stats: InstanceStats;
}

export interface ExternalWeight {
  weight: number;
  reason: string;
}

export interface ReceivedAdvert {
  advert: Advert;
  srcIp: Ip4;
  /** From the IP header; checked against 255 unless unicast (RFC 3768 7.1). */
  ttl: number;
  iface: string;
}

export type VrrpEvent =
  | { type: 'startup'; ownIp: Ip4 }
  | { type: 'advert'; packet: ReceivedAdvert }
  | { type: 'timer'; key: TimerKey }
  | { type: 'tracker'; kind: 'script' | 'interface'; name: string; ok: boolean }
  | { type: 'own-address'; ip: Ip4 }
  /** The supervisor's weight (e.g. -253 while DHCP cannot store leases); 0 removes it. */
  | { type: 'external-weight'; weight: number; reason: string }
  /** A vrrp_sync_group member changed state; this member follows (see syncGroupFollow). */
  | { type: 'sync'; to: 'MASTER' | 'BACKUP' | 'FAULT'; group: string; member: string }
  /**
   * The supervisor's death notice: the peer's daemon is gone though no priority-0 advert came (its failover TCP
   * connection closed without a DISCONNECT: kill -9, crash, OOM). Treated as that advert (RFC 3768 6.4.2).
   */
  | { type: 'peer-gone'; reason: string }
  | { type: 'shutdown' };

export type LogLevel = 'info' | 'warn';

export type VrrpAction =
  | { type: 'send-advert'; advert: Advert }
  | { type: 'add-vips'; addresses: VirtualAddress[] }
  | { type: 'remove-vips'; addresses: VirtualAddress[] }
  /** Gratuitous ARP for each address, `repeat` times. */
  | { type: 'send-garp'; addresses: VirtualAddress[]; repeat: number }
  | { type: 'set-timer'; key: TimerKey; at: number }
  | { type: 'cancel-timer'; key: TimerKey }
  /** Run `script` (a keepalived command line, split by the io) with `args` appended. */
  | { type: 'notify'; script: string; args: string[]; state: VrrpState | 'STOP' }
  | { type: 'log'; level: LogLevel; message: string }
  | { type: 'drop'; reason: string }
  | { type: 'state-changed'; from: VrrpState; to: VrrpState; reason: string };

export interface StepResult {
  state: InstanceState;
  actions: VrrpAction[];
}
