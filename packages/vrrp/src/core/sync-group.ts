import type { VrrpSyncGroup } from './config.js';
import { faultingTrackers } from './params.js';
import type { InstanceState, VrrpAction, VrrpEvent, VrrpState } from './types.js';

/**
 * vrrp_sync_group (keepalived): the members move together, so routers never split a group's addresses (say the
 * LAN and WAN sides of one gateway) between them. When one member becomes MASTER, BACKUP or FAULT, the others
 * are told to follow; the io feeds the returned events to their cores. Transitions those events cause come
 * back here and produce no further events, because every member is then already where it should be.
 */
export function syncGroupFollow(
  group: Pick<VrrpSyncGroup, 'name' | 'instances'>,
  members: ReadonlyMap<string, InstanceState>,
  changed: { member: string; from: VrrpState; to: VrrpState },
): { instance: string; event: VrrpEvent }[] {
  if (!group.instances.includes(changed.member)) return [];
  // Start-up is not a transition to follow: members start one after another, and a member just entering BACKUP
  // must not pull down one already MASTER (state MASTER). syncGroupStartup aligns the group once all have started.
  if (changed.from === 'INIT') return [];
  const others = group.instances
    .filter((name) => name !== changed.member)
    .flatMap((name) => {
      const st = members.get(name);
      return st ? [{ name, st }] : [];
    });
  const ev = (to: 'MASTER' | 'BACKUP' | 'FAULT'): VrrpEvent => ({
    type: 'sync',
    to,
    group: group.name,
    member: changed.member,
  });
  switch (changed.to) {
    case 'MASTER':
      return others
        .filter((o) => o.st.state === 'BACKUP')
        .map((o) => ({ instance: o.name, event: ev('MASTER') }));
    case 'FAULT':
      return others
        .filter((o) => o.st.state === 'MASTER' || o.st.state === 'BACKUP')
        .map((o) => ({ instance: o.name, event: ev('FAULT') }));
    case 'BACKUP': {
      // A member recovering from FAULT releases the group only when no member is still faulty on its own.
      if (changed.from === 'FAULT' && others.some((o) => ownFault(o.st))) return [];
      return others
        .filter((o) => o.st.state === 'MASTER' || (o.st.state === 'FAULT' && o.st.faultBySync))
        .map((o) => ({ instance: o.name, event: ev('BACKUP') }));
    }
    case 'INIT':
      return [];
  }
}

/** A fault of the member's own (a tracker), as opposed to one the group put on it; INIT has none yet. */
export function ownFault(st: InstanceState): boolean {
  return st.state !== 'INIT' && faultingTrackers(st.params, st.trackers).length > 0;
}

/**
 * The group's FAULT, as keepalived keeps it: while any member has a fault of its own, every other member is held
 * in FAULT by the group (faultBySync), so a member that recovers first stays in FAULT instead of electing alone and
 * splitting the group's addresses between routers; once no member has one, every member is released and leaves
 * FAULT unless its own trackers still fail. The io calls this after every step of a member; it returns nothing
 * once the flags agree, so it settles.
 */
export function syncGroupFaults(
  group: Pick<VrrpSyncGroup, 'name' | 'instances'>,
  members: ReadonlyMap<string, InstanceState>,
): { instance: string; event: VrrpEvent }[] {
  const present = group.instances.flatMap((name) => {
    const st = members.get(name);
    return st && st.state !== 'INIT' ? [{ name, st }] : [];
  });
  const faulty = present.filter((m) => ownFault(m.st)).map((m) => m.name);
  const ev = (to: 'BACKUP' | 'FAULT', member: string): VrrpEvent => ({
    type: 'sync',
    to,
    group: group.name,
    member,
  });
  if (faulty.length === 0)
    return present
      .filter((m) => m.st.faultBySync)
      .map((m) => ({
        instance: m.name,
        event: ev('BACKUP', present.find((o) => o.name !== m.name)?.name ?? m.name),
      }));
  return present.flatMap((m) => {
    const cause = faulty.find((f) => f !== m.name);
    return cause !== undefined && !m.st.faultBySync ? [{ instance: m.name, event: ev('FAULT', cause) }] : [];
  });
}

/**
 * Once every member has started: a member in FAULT of its own takes the others to FAULT (keepalived: a group
 * is only as healthy as its weakest member); otherwise a member already MASTER (state MASTER, or the owner)
 * takes the BACKUP ones to MASTER.
 */
export function syncGroupStartup(
  group: Pick<VrrpSyncGroup, 'name' | 'instances'>,
  members: ReadonlyMap<string, InstanceState>,
): { instance: string; event: VrrpEvent }[] {
  const present = group.instances.filter((n) => members.has(n));
  const lead =
    present.find((n) => members.get(n)!.state === 'FAULT' && !members.get(n)!.faultBySync) ??
    present.find((n) => members.get(n)!.state === 'MASTER');
  if (lead === undefined) return [];
  const to = members.get(lead)!.state;
  return syncGroupFollow(group, members, { member: lead, from: 'BACKUP', to });
}

/** The group's state when all members agree, for the group's own notify scripts. */
export function syncGroupState(
  group: Pick<VrrpSyncGroup, 'instances'>,
  members: ReadonlyMap<string, InstanceState>,
): VrrpState | undefined {
  const states = new Set(group.instances.map((n) => members.get(n)?.state));
  const [only] = states;
  return states.size === 1 && only !== undefined ? only : undefined;
}

/** keepalived's group notifies: notify_<state> with no arguments added, then `notify` with GROUP name STATE. */
export function syncGroupNotifies(group: VrrpSyncGroup, state: VrrpState): VrrpAction[] {
  const specific =
    state === 'MASTER' ? group.notifyMaster : state === 'BACKUP' ? group.notifyBackup : group.notifyFault;
  if (state === 'INIT') return [];
  const out: VrrpAction[] = [];
  if (specific) out.push({ type: 'notify', script: specific, args: [], state });
  if (group.notify)
    out.push({ type: 'notify', script: group.notify, args: ['GROUP', group.name, state], state });
  return out;
}
