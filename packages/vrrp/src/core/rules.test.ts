import { describe, expect, it } from 'vitest';
import { checkAdvert } from './check.js';
import { step } from './machine.js';
import { effectivePriority, instanceParams } from './params.js';
import { syncGroupFollow, syncGroupNotifies, syncGroupStartup, syncGroupState } from './sync-group.js';
import type { InstanceState, VrrpEvent } from './types.js';
import {
  advert,
  chkDhcp,
  config,
  ip,
  mastered,
  OWN,
  rx,
  started,
  T0,
} from '../../test-vectors/core-fixtures.js';

describe('checkAdvert (RFC 3768 7.1)', () => {
  const p = instanceParams(config(), undefined, []).params;
  const pkt = (over: Parameters<typeof advert>[1] = {}, ttl = 255, src = '10.0.0.3', prio = 150) => ({
    advert: advert(prio, over),
    srcIp: ip(src),
    ttl,
    iface: 'eth0',
  });
  const reason = (x: ReturnType<typeof checkAdvert>) => (x.ok ? 'ok' : x.reason);

  it('accepts the seeds advert (VRID 51, PASS 1111, 1 s, VIP 10.0.0.10)', () => {
    expect(checkAdvert(p, pkt(), { ownIp: OWN })).toEqual({ ok: true, logs: [] });
  });

  it('names each failure', () => {
    expect(reason(checkAdvert(p, pkt({}, 254), { ownIp: OWN }))).toBe('ttl-not-255');
    expect(reason(checkAdvert(p, pkt({ vrid: 52 }), { ownIp: OWN }))).toBe('vrid-mismatch');
    expect(reason(checkAdvert(p, pkt({ authType: 0 }), { ownIp: OWN }))).toBe('auth-mismatch');
    const wrongPass = new TextEncoder().encode('1112\0\0\0\0');
    expect(reason(checkAdvert(p, pkt({ authData: wrongPass }), { ownIp: OWN }))).toBe('auth-mismatch');
    expect(reason(checkAdvert(p, pkt({ advertInt: 2 }), { ownIp: OWN }))).toBe('advert-interval-mismatch');
    expect(reason(checkAdvert(p, pkt({ addresses: [ip('10.0.0.11')] }), { ownIp: OWN }))).toBe(
      'addr-list-mismatch',
    );
    expect(reason(checkAdvert(p, pkt({ addresses: [] }), { ownIp: OWN }))).toBe('addr-list-mismatch');
    expect(reason(checkAdvert(p, pkt({}, 255, '10.0.0.2'), { ownIp: OWN }))).toBe('own-advert');
  });

  it("logs keepalived's interval mismatch line", () => {
    const r = checkAdvert(p, pkt({ advertInt: 2 }), { ownIp: OWN });
    expect(!r.ok && r.log).toBe("(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec");
  });

  it('only logs an address mismatch from the address owner (priority 255)', () => {
    const r = checkAdvert(p, pkt({ addresses: [ip('10.0.0.11')] }, 255, '10.0.0.3', 255), { ownIp: OWN });
    expect(r.ok).toBe(true);
    expect(r.ok && r.logs[0]).toMatch(/not present in MASTER advert : 10\.0\.0\.10/);
  });

  it('skips the TTL check in unicast mode (keepalived)', () => {
    const u = instanceParams(config({ unicastPeers: [ip('10.0.0.3')] }), undefined, []).params;
    expect(checkAdvert(u, pkt({}, 64), { ownIp: OWN }).ok).toBe(true);
  });

  it('counts drops per reason in the instance stats', () => {
    let s = started();
    s = step(s, rx(150, '10.0.0.3', { advertInt: 3 }), T0 + 1).state;
    s = step(s, rx(150, '10.0.0.3', { advertInt: 3 }), T0 + 2).state;
    s = step(s, rx(150, '10.0.0.3', {}, 1), T0 + 3).state;
    expect(s.stats.drops).toEqual({ 'advert-interval-mismatch': 2, 'ttl-not-255': 1 });
    expect(s.timers['master-down']).toBe(T0 + 3609);
  });
});

describe('effective priority (keepalived track weights)', () => {
  const params = (priority: number, weights: number[]) =>
    instanceParams(
      config({ priority, trackScripts: weights.map((_, i) => ({ name: `s${i}` })) }),
      undefined,
      weights.map((w, i) => ({ ...chkDhcp(w), name: `s${i}` })),
    ).params;

  it('adds positive weights while OK and negative weights while failing', () => {
    const p = params(100, [10, -60]);
    expect(effectivePriority(p, {}).priority).toBe(110);
    expect(effectivePriority(p, { 'script:s0': false }).priority).toBe(100);
    expect(effectivePriority(p, { 'script:s1': false }).priority).toBe(50);
    expect(effectivePriority(p, { 'script:s0': false, 'script:s1': false }).priority).toBe(40);
  });

  it('clamps to 1..254 and never moves the owner', () => {
    expect(effectivePriority(params(250, [20]), {}).priority).toBe(254);
    expect(effectivePriority(params(10, [-60]), { 'script:s0': false }).priority).toBe(1);
    expect(effectivePriority(params(255, [-60]), { 'script:s0': false }).priority).toBe(255);
  });

  it('uses the weight given in track_script over the script’s own', () => {
    const p = instanceParams(config({ trackScripts: [{ name: 'chk_dhcp', weight: -10 }] }), undefined, [
      chkDhcp(-60),
    ]).params;
    expect(effectivePriority(p, { 'script:chk_dhcp': false }).priority).toBe(90);
  });

  it('a weighted tracker drop makes the master lose to a backup of higher priority', () => {
    // site-a (150, chk_dhcp weight -60) vs site-b (100): a failing chk_dhcp puts a at 90, below b.
    let a = mastered({ priority: 150, trackScripts: [{ name: 'chk_dhcp' }] }, [chkDhcp(-60)]);
    a = step(a, { type: 'tracker', kind: 'script', name: 'chk_dhcp', ok: false }, T0 + 5000).state;
    expect(a.effectivePriority).toBe(90);
    const r = step(a, { type: 'timer', key: 'advert' }, a.timers.advert!);
    expect(r.actions).toContainEqual(
      expect.objectContaining({ advert: expect.objectContaining({ priority: 90 }) }),
    );
    expect(step(r.state, rx(100, '10.0.0.3'), r.state.timers.advert!).state.state).toBe('BACKUP');
  });
});

describe('instanceParams (keepalived start-up rules)', () => {
  it('clears nopreempt and preempt_delay with initial state MASTER, with keepalived warnings', () => {
    const { params, warnings } = instanceParams(
      config({ initialState: 'MASTER', preempt: false, preemptDelay: 5 }),
      undefined,
      [],
    );
    expect(params.preempt).toBe(true);
    expect(params.preemptDelay).toBe(0);
    expect(warnings).toContain(
      '(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing',
    );
  });

  it('applies global GARP settings unless the instance overrides them', () => {
    const g = { garpMasterDelay: 5, garpMasterRepeat: 3, garpMasterRefresh: 0, garpMasterRefreshRepeat: 1 };
    expect(instanceParams(config(), g, []).params.garp).toEqual({
      delay: 5,
      repeat: 3,
      refresh: 0,
      refreshRepeat: 1,
    });
    expect(instanceParams(config({ garpMasterDelay: 1 }), g, []).params.garp.delay).toBe(1);
    expect(instanceParams(config(), undefined, []).params.garp.repeat).toBe(5);
  });
});

describe('notify scripts (keepalived arguments)', () => {
  it('runs notify_master with no added arguments, then notify with INSTANCE name MASTER priority', () => {
    const b = started({ notifyMaster: '/etc/keepalived/master.sh arg', notify: '/etc/keepalived/notify.sh' });
    const r = step(b, { type: 'timer', key: 'master-down' }, b.timers['master-down']!);
    const notifies = r.actions.filter((a) => a.type === 'notify');
    expect(notifies).toEqual([
      { type: 'notify', script: '/etc/keepalived/master.sh arg', args: [], state: 'MASTER' },
      {
        type: 'notify',
        script: '/etc/keepalived/notify.sh',
        args: ['INSTANCE', 'VI_1', 'MASTER', '100'],
        state: 'MASTER',
      },
    ]);
  });

  it('runs notify_stop and notify ... STOP on shutdown', () => {
    const m = mastered({ notifyStop: '/stop.sh', notify: '/n.sh' });
    const r = step(m, { type: 'shutdown' }, T0 + 9000);
    expect(
      r.actions.filter((a) => a.type === 'notify').map((a) => a.type === 'notify' && [a.script, ...a.args]),
    ).toEqual([['/stop.sh'], ['/n.sh', 'INSTANCE', 'VI_1', 'STOP', '100']]);
  });
});

describe('vrrp_sync_group', () => {
  const group = { name: 'G1', instances: ['VI_1', 'VI_2'], notify: '/g.sh', pos: config().pos };
  const named = (name: string, s: InstanceState): InstanceState => ({ ...s, params: { ...s.params, name } });

  function follow(members: Map<string, InstanceState>, member: string, ev: VrrpEvent, at: number) {
    const before = members.get(member)!;
    const r = step(before, ev, at);
    members.set(member, r.state);
    const queue = [{ member, from: before.state, to: r.state.state }];
    while (queue.length) {
      const c = queue.shift()!;
      if (c.from === c.to) continue;
      for (const f of syncGroupFollow(group, members, c)) {
        const prev = members.get(f.instance)!;
        const next = step(prev, f.event, at).state;
        members.set(f.instance, next);
        queue.push({ member: f.instance, from: prev.state, to: next.state });
      }
    }
  }

  it('moves all members to MASTER, FAULT and back to BACKUP together', () => {
    const members = new Map([
      ['VI_1', named('VI_1', started())],
      ['VI_2', named('VI_2', started({ vrid: 52 }))],
    ]);
    follow(members, 'VI_1', { type: 'timer', key: 'master-down' }, T0 + 3609);
    expect([...members.values()].map((m) => m.state)).toEqual(['MASTER', 'MASTER']);
    expect(syncGroupState(group, members)).toBe('MASTER');

    follow(members, 'VI_2', { type: 'tracker', kind: 'interface', name: 'eth0', ok: false }, T0 + 5000);
    expect([...members.values()].map((m) => m.state)).toEqual(['FAULT', 'FAULT']);
    expect(members.get('VI_1')!.faultBySync).toBe(true);

    follow(members, 'VI_2', { type: 'tracker', kind: 'interface', name: 'eth0', ok: true }, T0 + 6000);
    expect([...members.values()].map((m) => m.state)).toEqual(['BACKUP', 'BACKUP']);
    expect(syncGroupNotifies(group, 'BACKUP')).toEqual([
      { type: 'notify', script: '/g.sh', args: ['GROUP', 'G1', 'BACKUP'], state: 'BACKUP' },
    ]);
  });

  it('one member losing the election takes the others to BACKUP', () => {
    const members = new Map([
      ['VI_1', named('VI_1', mastered())],
      ['VI_2', named('VI_2', mastered({ vrid: 52 }))],
    ]);
    follow(members, 'VI_1', rx(150, '10.0.0.3'), T0 + 5000);
    expect([...members.values()].map((m) => m.state)).toEqual(['BACKUP', 'BACKUP']);
  });

  it('does not follow start-up: a member entering BACKUP leaves one already MASTER alone', () => {
    const members = new Map([
      ['VI_1', named('VI_1', mastered())],
      ['VI_2', named('VI_2', started({ vrid: 52 }))],
    ]);
    expect(syncGroupFollow(group, members, { member: 'VI_2', from: 'INIT', to: 'BACKUP' })).toEqual([]);
  });

  it('aligns the group once all have started: FAULT wins over MASTER, MASTER pulls BACKUP', () => {
    const down: VrrpEvent = { type: 'tracker', kind: 'interface', name: 'eth0', ok: false };
    const faulty = named('VI_2', step(started({ vrid: 52 }), down, T0).state);
    const withFault = new Map([
      ['VI_1', named('VI_1', mastered())],
      ['VI_2', faulty],
    ]);
    expect(syncGroupStartup(group, withFault)).toEqual([
      { instance: 'VI_1', event: { type: 'sync', to: 'FAULT', group: 'G1', member: 'VI_2' } },
    ]);
    const withMaster = new Map([
      ['VI_1', named('VI_1', mastered())],
      ['VI_2', named('VI_2', started({ vrid: 52 }))],
    ]);
    expect(syncGroupStartup(group, withMaster)).toEqual([
      { instance: 'VI_2', event: { type: 'sync', to: 'MASTER', group: 'G1', member: 'VI_1' } },
    ]);
    const allBackup = new Map([
      ['VI_1', named('VI_1', started())],
      ['VI_2', named('VI_2', started({ vrid: 52 }))],
    ]);
    expect(syncGroupStartup(group, allBackup)).toEqual([]);
  });

  it('ignores instances outside the group', () => {
    const members = new Map([['VI_1', started()]]);
    expect(syncGroupFollow(group, members, { member: 'VI_9', from: 'BACKUP', to: 'MASTER' })).toEqual([]);
  });
});
