import { describe, expect, it } from 'vitest';
import { step } from './machine.js';
import type { InstanceState, VrrpAction, VrrpEvent, VrrpState } from './types.js';
import {
  chkDhcp,
  instance,
  logs,
  mastered,
  OWN,
  rx,
  sentPriorities,
  started,
  T0,
  types,
} from '../../test-vectors/core-fixtures.js';

const MDI = 3000 + 609; // 3 * advert_int + (256 - 100) / 256 s, in whole ms
const NOW = T0 + 1500;

const fault = (): InstanceState =>
  step(started(), { type: 'tracker', kind: 'interface', name: 'eth0', ok: false }, T0 + 100).state;
const ifaceDown: VrrpEvent = { type: 'tracker', kind: 'interface', name: 'eth0', ok: false };
const ifaceUp: VrrpEvent = { type: 'tracker', kind: 'interface', name: 'eth0', ok: true };
const scriptFail: VrrpEvent = { type: 'tracker', kind: 'script', name: 'chk_dhcp', ok: false };
const timer = (key: 'master-down' | 'advert' | 'garp-repeat'): VrrpEvent => ({ type: 'timer', key });

interface Row {
  name: string;
  from: () => InstanceState;
  event: VrrpEvent;
  at?: number;
  to: VrrpState;
  /** Action types that must appear, in this order (others may be interleaved). */
  actions?: VrrpAction['type'][];
  /** Action types that must not appear. */
  never?: VrrpAction['type'][];
  sent?: number[];
  log?: string;
  timer?: { key: string; at: number | undefined };
  /** Effective priority after the event. */
  priority?: number;
}

const peerGone: VrrpEvent = { type: 'peer-gone', reason: 'failover link closed' };
/** A death notice changes nothing outside BACKUP. */
const unmoved: VrrpAction['type'][] = [
  'send-advert',
  'set-timer',
  'cancel-timer',
  'add-vips',
  'remove-vips',
  'log',
];

const external = (weight: number, reason = 'dhcp store failing'): VrrpEvent => ({
  type: 'external-weight',
  weight,
  reason,
});

const grid: Row[] = [
  // INIT
  {
    name: 'INIT + startup -> BACKUP, master-down armed',
    from: () => instance(),
    event: { type: 'startup', ownIp: OWN },
    at: T0,
    to: 'BACKUP',
    log: '(VI_1) Entering BACKUP STATE (init)',
    timer: { key: 'master-down', at: T0 + MDI },
    never: ['send-advert', 'add-vips'],
  },
  {
    name: 'INIT + startup as owner (255) -> MASTER at once, its own address is not added',
    from: () => instance({ priority: 255 }),
    event: { type: 'startup', ownIp: OWN },
    to: 'MASTER',
    actions: ['send-advert', 'send-garp', 'set-timer'],
    never: ['add-vips'],
    sent: [255],
  },
  {
    name: 'owner MASTER + interface down -> FAULT, its own address stays on the interface',
    from: () => mastered({ priority: 255 }),
    event: ifaceDown,
    to: 'FAULT',
    actions: ['send-advert'],
    never: ['remove-vips'],
    sent: [0],
  },
  {
    name: 'owner MASTER + shutdown -> priority 0, its own address stays on the interface',
    from: () => mastered({ priority: 255 }),
    event: { type: 'shutdown' },
    to: 'INIT',
    never: ['remove-vips'],
    sent: [0],
  },
  {
    name: 'MASTER + shutdown -> priority 0, VIPs removed',
    from: () => mastered(),
    event: { type: 'shutdown' },
    to: 'INIT',
    actions: ['send-advert', 'remove-vips'],
    sent: [0],
  },
  {
    name: 'INIT + startup with state MASTER -> MASTER at once (keepalived)',
    from: () => instance({ initialState: 'MASTER' }),
    event: { type: 'startup', ownIp: OWN },
    to: 'MASTER',
    sent: [100],
  },
  {
    name: "INIT + startup with state MASTER while the supervisor's weight holds it back -> BACKUP (the election decides)",
    from: () => step(instance({ initialState: 'MASTER' }), external(-253, 'not resynchronised'), T0).state,
    event: { type: 'startup', ownIp: OWN },
    at: T0,
    to: 'BACKUP',
    log: '(VI_1) initial state MASTER held back: not resynchronised',
    // Effective priority 1 (100 - 253, at least 1): Skew_Time (256 - 1) / 256 s.
    timer: { key: 'master-down', at: T0 + 3000 + 996 },
    never: ['send-advert', 'add-vips'],
  },
  {
    name: 'INIT + startup with interface already down -> FAULT',
    from: () => step(instance(), ifaceDown, T0).state,
    event: { type: 'startup', ownIp: OWN },
    to: 'FAULT',
    log: '(VI_1) Entering FAULT STATE',
    never: ['send-advert', 'set-timer'],
  },
  {
    name: 'INIT + advert -> dropped',
    from: () => instance(),
    event: rx(150, '10.0.0.3'),
    to: 'INIT',
    actions: ['drop'],
  },
  {
    name: 'INIT + timer -> ignored',
    from: () => instance(),
    event: timer('master-down'),
    to: 'INIT',
    never: ['log'],
  },
  {
    name: 'INIT + peer gone -> nothing',
    from: () => instance(),
    event: peerGone,
    to: 'INIT',
    never: unmoved,
  },
  { name: 'INIT + shutdown -> nothing', from: () => instance(), event: { type: 'shutdown' }, to: 'INIT' },
  {
    name: 'INIT + external weight -> INIT, priority lowered before the first election',
    from: () => instance(),
    event: external(-30),
    to: 'INIT',
    priority: 70,
    never: ['send-advert', 'set-timer'],
  },

  // BACKUP
  {
    name: 'BACKUP + higher priority -> re-arm master-down',
    from: () => started(),
    event: rx(150, '10.0.0.3'),
    to: 'BACKUP',
    timer: { key: 'master-down', at: NOW + MDI },
  },
  {
    name: 'BACKUP + equal priority, higher source -> stays, re-arms',
    from: () => started(),
    event: rx(100, '10.0.0.3'),
    to: 'BACKUP',
    timer: { key: 'master-down', at: NOW + MDI },
  },
  {
    name: 'BACKUP + equal priority, lower source -> stays, re-arms (RFC 6.4.2: >= local)',
    from: () => started(),
    event: rx(100, '10.0.0.1'),
    to: 'BACKUP',
    timer: { key: 'master-down', at: NOW + MDI },
  },
  {
    name: 'BACKUP + lower priority with preempt -> discarded, master-down keeps running',
    from: () => started(),
    event: rx(90, '10.0.0.3'),
    to: 'BACKUP',
    log: '(VI_1) received lower priority (90) advert from 10.0.0.3 - discarding',
    timer: { key: 'master-down', at: T0 + MDI },
    never: ['set-timer'],
  },
  {
    name: 'BACKUP + lower priority with nopreempt -> accepted, re-arms',
    from: () => started({ preempt: false }),
    event: rx(90, '10.0.0.3'),
    to: 'BACKUP',
    timer: { key: 'master-down', at: NOW + MDI },
  },
  {
    name: 'BACKUP + lower priority within preempt_delay -> accepted, delay starts',
    from: () => started({ preemptDelay: 10 }),
    event: rx(90, '10.0.0.3'),
    to: 'BACKUP',
    timer: { key: 'preempt-delay', at: NOW + 10_000 },
  },
  {
    name: 'BACKUP + priority 0 -> master-down = Skew_Time',
    from: () => started(),
    event: rx(0, '10.0.0.3'),
    to: 'BACKUP',
    timer: { key: 'master-down', at: NOW + 609 },
  },
  {
    name: 'BACKUP + peer gone (failover link closed) -> master-down = Skew_Time, as for priority 0',
    from: () => step(started(), rx(150, '10.0.0.3'), T0 + 1000).state,
    event: peerGone,
    to: 'BACKUP',
    actions: ['log', 'set-timer'],
    never: ['send-advert', 'add-vips', 'state-changed'],
    log: '(VI_1) peer gone (failover link closed): master down in 0.609 s',
    timer: { key: 'master-down', at: NOW + 609 },
  },
  {
    name: 'BACKUP + peer gone with the master already silent -> master-down stays (never postponed)',
    from: () => started(),
    event: peerGone,
    at: T0 + MDI - 100,
    to: 'BACKUP',
    log: '(VI_1) peer gone (failover link closed): master down in 0.100 s',
    timer: { key: 'master-down', at: T0 + MDI },
  },
  {
    name: 'BACKUP after peer gone + advert from the live master -> master-down re-armed in full',
    from: () => step(started(), peerGone, NOW - 100).state,
    event: rx(150, '10.0.0.3'),
    to: 'BACKUP',
    timer: { key: 'master-down', at: NOW + MDI },
  },
  {
    name: 'BACKUP after peer gone + lower-priority advert with preempt -> discarded, Skew_Time still runs',
    from: () => step(started(), peerGone, NOW - 100).state,
    event: rx(90, '10.0.0.3'),
    to: 'BACKUP',
    never: ['set-timer'],
    timer: { key: 'master-down', at: NOW - 100 + 609 },
  },
  {
    name: 'BACKUP + master-down timer -> MASTER: advert, VIPs, GARPs, timers, notify',
    from: () => started({ notifyMaster: '/etc/k/master.sh', notify: '/etc/k/any.sh' }),
    event: timer('master-down'),
    at: T0 + MDI,
    to: 'MASTER',
    actions: [
      'send-advert',
      'log',
      'add-vips',
      'send-garp',
      'set-timer',
      'state-changed',
      'notify',
      'notify',
    ],
    log: '(VI_1) Entering MASTER STATE',
    timer: { key: 'advert', at: T0 + MDI + 1000 },
  },
  {
    name: 'BACKUP + weighted script fails -> BACKUP, lower priority',
    from: () => started({ trackScripts: [{ name: 'chk_dhcp' }] }, [chkDhcp(-60)]),
    event: scriptFail,
    to: 'BACKUP',
    log: '(VI_1) Changing effective priority from 100 to 40',
  },
  {
    name: 'BACKUP + external weight -> BACKUP, lower priority, master-down unchanged',
    from: () => started(),
    event: external(-60),
    to: 'BACKUP',
    priority: 40,
    log: '(VI_1) Changing effective priority from 100 to 40',
    timer: { key: 'master-down', at: T0 + MDI },
    never: ['set-timer', 'send-advert'],
  },
  {
    name: 'BACKUP + own address changes -> BACKUP, nothing sent',
    from: () => started(),
    event: { type: 'own-address', ip: OWN + 10 },
    to: 'BACKUP',
    never: ['send-advert', 'set-timer', 'log'],
  },
  {
    name: 'BACKUP + unweighted script fails -> FAULT',
    from: () => started({ trackScripts: [{ name: 'chk_dhcp' }] }, [chkDhcp(0)]),
    event: scriptFail,
    to: 'FAULT',
    actions: ['cancel-timer', 'state-changed'],
    never: ['send-advert'],
  },
  {
    name: 'BACKUP + interface down -> FAULT',
    from: () => started(),
    event: ifaceDown,
    to: 'FAULT',
  },
  {
    name: 'BACKUP + shutdown -> INIT, timers cancelled, no advert',
    from: () => started({ notifyStop: '/stop.sh' }),
    event: { type: 'shutdown' },
    to: 'INIT',
    actions: ['cancel-timer', 'state-changed', 'notify'],
    never: ['send-advert', 'remove-vips'],
  },
  {
    name: 'BACKUP + wrong password -> dropped',
    from: () => started(),
    event: rx(150, '10.0.0.3', { authData: new Uint8Array([0x31, 0x31, 0x31, 0x32, 0, 0, 0, 0]) }),
    to: 'BACKUP',
    actions: ['drop'],
    log: '(VI_1) received an invalid passwd!',
    never: ['set-timer'],
  },

  // MASTER
  {
    name: 'MASTER + higher priority -> BACKUP, VIPs removed',
    from: () => mastered(),
    event: rx(150, '10.0.0.3'),
    to: 'BACKUP',
    actions: ['cancel-timer', 'remove-vips', 'set-timer', 'state-changed'],
    never: ['send-advert'],
    log: '(VI_1) Master received advert from 10.0.0.3 with higher priority 150, ours 100',
    timer: { key: 'master-down', at: NOW + MDI },
  },
  {
    name: 'MASTER + equal priority, higher source -> BACKUP',
    from: () => mastered(),
    event: rx(100, '10.0.0.3'),
    to: 'BACKUP',
    log: '(VI_1) Master received advert from 10.0.0.3 with same priority 100 but higher IP address than ours',
  },
  {
    name: 'MASTER + equal priority, lower source -> stays, advertises',
    from: () => mastered(),
    event: rx(100, '10.0.0.1'),
    to: 'MASTER',
    sent: [100],
    log: '(VI_1) Received advert from 10.0.0.1 with lower priority 100, ours 100, forcing new election',
  },
  {
    name: 'MASTER + lower priority -> stays, advertises, GARPs now and again after garp_master_delay',
    from: () => mastered(),
    event: rx(90, '10.0.0.3'),
    at: NOW,
    to: 'MASTER',
    actions: ['send-advert', 'send-garp', 'set-timer'],
    timer: { key: 'garp-repeat', at: NOW + 5000 },
    sent: [100],
    log: '(VI_1) Received advert from 10.0.0.3 with lower priority 90, ours 100, forcing new election',
  },
  {
    name: 'MASTER + priority 0 -> advertises at once',
    from: () => mastered(),
    event: rx(0, '10.0.0.3'),
    to: 'MASTER',
    sent: [100],
  },
  {
    name: 'MASTER + own advert looped back -> ignored',
    from: () => mastered(),
    event: rx(100, '10.0.0.2'),
    to: 'MASTER',
    actions: ['drop'],
    never: ['send-advert', 'log'],
  },
  {
    name: 'MASTER + advert timer -> advert, re-armed',
    from: () => mastered(),
    event: timer('advert'),
    at: T0 + MDI + 1000,
    to: 'MASTER',
    sent: [100],
    timer: { key: 'advert', at: T0 + MDI + 2000 },
  },
  {
    name: 'MASTER + garp-repeat timer -> second GARP burst',
    from: () => mastered(),
    event: timer('garp-repeat'),
    at: T0 + MDI + 5000,
    to: 'MASTER',
    actions: ['send-garp'],
  },
  {
    name: 'MASTER + unweighted tracker fails -> FAULT, priority 0 sent, VIPs removed',
    from: () => mastered({ notifyFault: '/fault.sh' }),
    event: ifaceDown,
    to: 'FAULT',
    actions: ['log', 'send-advert', 'remove-vips', 'state-changed', 'notify'],
    sent: [0],
    log: '(VI_1) Entering FAULT STATE',
  },
  {
    name: 'MASTER + weighted script fails -> MASTER with lower priority',
    from: () => mastered({ trackScripts: [{ name: 'chk_dhcp' }] }, [chkDhcp(-60)]),
    event: scriptFail,
    to: 'MASTER',
    log: '(VI_1) Changing effective priority from 100 to 40',
    never: ['send-advert'],
  },
  {
    name: 'MASTER + external weight -> MASTER with lower priority (the next advert carries it)',
    from: () => mastered(),
    event: external(-253),
    to: 'MASTER',
    priority: 1,
    log: '(VI_1) Changing effective priority from 100 to 1',
    never: ['send-advert', 'remove-vips'],
  },
  {
    name: 'MASTER + peer gone -> MASTER, nothing sent or changed',
    from: () => mastered(),
    event: peerGone,
    to: 'MASTER',
    never: unmoved,
  },
  {
    name: 'MASTER + shutdown -> INIT, priority 0, VIPs removed',
    from: () => mastered(),
    event: { type: 'shutdown' },
    to: 'INIT',
    actions: ['cancel-timer', 'send-advert', 'remove-vips', 'state-changed'],
    sent: [0],
  },

  // FAULT
  {
    name: 'FAULT + tracker recovers -> BACKUP, master-down armed',
    from: fault,
    event: ifaceUp,
    to: 'BACKUP',
    log: '(VI_1) Entering BACKUP STATE',
    timer: { key: 'master-down', at: NOW + MDI },
  },
  {
    name: 'FAULT + advert -> ignored',
    from: fault,
    event: rx(150, '10.0.0.3'),
    to: 'FAULT',
    never: ['set-timer', 'send-advert'],
  },
  {
    name: 'FAULT + stale timer -> ignored',
    from: fault,
    event: timer('master-down'),
    to: 'FAULT',
    never: ['log'],
  },
  {
    name: 'FAULT + external weight -> FAULT, priority recorded for after recovery',
    from: fault,
    event: external(-20),
    to: 'FAULT',
    priority: 80,
    never: ['send-advert', 'set-timer'],
  },
  {
    name: 'FAULT + peer gone -> FAULT, no timer (the trackers decide)',
    from: fault,
    event: peerGone,
    to: 'FAULT',
    never: unmoved,
    timer: { key: 'master-down', at: undefined },
  },
  {
    name: 'FAULT + shutdown -> INIT',
    from: fault,
    event: { type: 'shutdown' },
    to: 'INIT',
    never: ['send-advert'],
  },
];

describe('VRRP transition grid (state x event)', () => {
  it.each(grid.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const { state, actions } = step(r.from(), r.event, r.at ?? NOW);
    expect(state.state).toBe(r.to);
    if (r.actions) {
      let i = 0;
      for (const t of types(actions)) if (t === r.actions[i]) i++;
      expect(i, `expected ${r.actions.join(',')} in ${types(actions).join(',')}`).toBe(r.actions.length);
    }
    for (const t of r.never ?? []) expect(types(actions)).not.toContain(t);
    if (r.sent) expect(sentPriorities(actions)).toEqual(r.sent);
    if (r.log) expect(logs(actions)).toContain(r.log);
    if (r.timer) expect(state.timers[r.timer.key as 'master-down']).toBe(r.timer.at);
    if (r.priority !== undefined) expect(state.effectivePriority).toBe(r.priority);
  });
});

describe('external weight (the supervisor)', () => {
  it('a lowered master advertises its new priority and loses to a preempting backup; 0 restores it', () => {
    let m = step(mastered(), external(-60), NOW).state;
    const adv = step(m, timer('advert'), m.timers.advert!);
    expect(sentPriorities(adv.actions)).toEqual([40]);
    m = adv.state;
    // A backup of 90 now preempts: its advert makes us step down.
    const lost = step(m, rx(90, '10.0.0.3'), m.timers.advert! - 1);
    expect(lost.state.state).toBe('BACKUP');
    const back = step(lost.state, external(0, 'dhcp store healthy'), NOW + 5000);
    expect(back.state.effectivePriority).toBe(100);
    expect(back.state.external).toBeUndefined();
    expect(logs(back.actions)).toEqual([
      '(VI_1) external weight 0: dhcp store healthy',
      '(VI_1) Changing effective priority from 40 to 100',
    ]);
  });

  it('adds to tracker weights, clamps to 1..254, and never moves the address owner', () => {
    const s = started({ trackScripts: [{ name: 'chk_dhcp' }] }, [chkDhcp(-60)]);
    const both = step(step(s, scriptFail, NOW).state, external(-30), NOW).state;
    expect(both.effectivePriority).toBe(10);
    expect(step(s, external(200), NOW).state.effectivePriority).toBe(254);
    const owner = mastered({ priority: 255 });
    const r = step(owner, external(-253), NOW);
    expect(r.state.effectivePriority).toBe(255);
    expect(logs(r.actions).filter((l) => l.includes('Changing effective priority'))).toEqual([]);
  });

  it('the same weight again changes and logs nothing', () => {
    const once = step(started(), external(-30), NOW).state;
    expect(step(once, external(-30), NOW + 1).actions).toEqual([]);
  });
});
