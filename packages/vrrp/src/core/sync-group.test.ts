import { describe, expect, it } from 'vitest';
import { step } from './machine.js';
import { syncGroupFaults, syncGroupFollow } from './sync-group.js';
import type { InstanceState, VrrpEvent } from './types.js';
import { mastered, started, T0 } from '../../test-vectors/core-fixtures.js';

// One gateway: LAN (VI_1 on eth0) and WAN (VI_2 on eth1) in one vrrp_sync_group, both MASTER at first.
const group = { name: 'G1', instances: ['VI_1', 'VI_2'] };

function gateway() {
  const members = new Map<string, InstanceState>([
    ['VI_1', mastered()],
    ['VI_2', mastered({ name: 'VI_2', interface: 'eth1', vrid: 52, virtualAddresses: [] })],
  ]);
  // What the service does: a member's transitions are followed, then the group's faults re-checked.
  const feed = (name: string, event: VrrpEvent): void => {
    const r = step(members.get(name)!, event, T0 + 10_000);
    members.set(name, r.state);
    for (const a of r.actions)
      if (a.type === 'state-changed')
        for (const f of syncGroupFollow(group, members, { member: name, from: a.from, to: a.to }))
          feed(f.instance, f.event);
    for (const f of syncGroupFaults(group, members)) feed(f.instance, f.event);
  };
  return { members, feed };
}

const link = (m: 'VI_1' | 'VI_2', ok: boolean) => ({
  m,
  ev: { type: 'tracker', kind: 'interface', name: m === 'VI_1' ? 'eth0' : 'eth1', ok } as VrrpEvent,
});

const rows: { name: string; steps: ReturnType<typeof link>[]; after: string[] }[] = [
  {
    name: 'one member fails and recovers',
    steps: [link('VI_2', false), link('VI_2', true)],
    after: ['FAULT FAULT', 'BACKUP BACKUP'],
  },
  {
    name: 'a member held by the group fails itself, the first recovers: the group stays in FAULT',
    steps: [link('VI_2', false), link('VI_1', false), link('VI_2', true), link('VI_1', true)],
    after: ['FAULT FAULT', 'FAULT FAULT', 'FAULT FAULT', 'BACKUP BACKUP'],
  },
  {
    name: 'a member held by the group fails itself and recovers first: still held until the other recovers',
    steps: [link('VI_2', false), link('VI_1', false), link('VI_1', true), link('VI_2', true)],
    after: ['FAULT FAULT', 'FAULT FAULT', 'FAULT FAULT', 'BACKUP BACKUP'],
  },
  {
    name: 'both fail; the first to fail recovers first: it must not elect alone',
    steps: [link('VI_1', false), link('VI_2', false), link('VI_1', true), link('VI_2', true)],
    after: ['FAULT FAULT', 'FAULT FAULT', 'FAULT FAULT', 'BACKUP BACKUP'],
  },
];

describe('vrrp_sync_group faults (core)', () => {
  it.each(rows)('$name', ({ steps, after }) => {
    const { members, feed } = gateway();
    steps.forEach((s, i) => {
      feed(s.m, s.ev);
      const now = [...members.values()].map((st) => st.state).join(' ');
      expect(now, `after step ${i + 1}`).toBe(after[i]);
    });
    // Released: nothing is left marked as held by the group.
    expect([...members.values()].map((st) => st.faultBySync)).toEqual([false, false]);
  });

  it('an instance in INIT is neither a cause nor held', () => {
    const m = new Map([
      ['VI_1', started()],
      ['VI_2', step(started({ name: 'VI_2' }), { type: 'shutdown' }, T0).state],
    ]);
    expect(syncGroupFaults(group, m)).toEqual([]);
  });
});
