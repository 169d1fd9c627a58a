import { formatIp4 } from '@hadhcp/common';
import { effectivePriority, type PriorityContribution } from './params.js';
import type { InstanceState, TimerKey, Transition, VrrpState } from './types.js';

/** What the control socket shows for one instance: plain JSON, addresses as dotted quads. */
export interface VrrpInstanceStatus {
  name: string;
  vrid: number;
  state: VrrpState;
  basePriority: number;
  effectivePriority: number;
  /** Why the effective priority is what it is: one line per weighted tracker. */
  priorityContributions: PriorityContribution[];
  /** Unweighted trackers currently failing (each alone holds the instance in FAULT). */
  faultingTrackers: string[];
  faultBySyncGroup: boolean;
  master?: { address: string; priority?: number };
  ownAddress: string;
  lastTransition?: Transition;
  advertsSent: number;
  advertsReceived: number;
  becameMaster: number;
  releasedMaster: number;
  drops: Record<string, number>;
  timers: Partial<Record<TimerKey, number>>;
}

export function instanceStatus(s: InstanceState): VrrpInstanceStatus {
  const p = s.params;
  const { contributions } = effectivePriority(p, s.trackers, s.external);
  return {
    name: p.name,
    vrid: p.vrid,
    state: s.state,
    basePriority: p.basePriority,
    effectivePriority: s.effectivePriority,
    priorityContributions: contributions,
    faultingTrackers: p.trackers.filter((t) => t.weight === 0 && s.trackers[t.id] === false).map((t) => t.id),
    faultBySyncGroup: s.faultBySync,
    ...(s.masterIp !== undefined
      ? { master: { address: formatIp4(s.masterIp), priority: s.masterPriority } }
      : {}),
    ownAddress: formatIp4(s.ownIp),
    ...(s.lastTransition ? { lastTransition: s.lastTransition } : {}),
    advertsSent: s.stats.advertsSent,
    advertsReceived: s.stats.advertsReceived,
    becameMaster: s.stats.becameMaster,
    releasedMaster: s.stats.releasedMaster,
    drops: Object.fromEntries(Object.entries(s.stats.drops).sort(([a], [b]) => a.localeCompare(b))),
    timers: { ...s.timers },
  };
}
