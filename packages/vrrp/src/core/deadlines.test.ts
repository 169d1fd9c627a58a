import { describe, expect, it } from 'vitest';
import { step } from './machine.js';
import { masterDownMs, skewMs } from './params.js';
import type { InstanceState, TimerKey } from './types.js';
import { logs, mastered, rx, run, started, T0, types } from '../../test-vectors/core-fixtures.js';

const fire = (s: InstanceState, key: TimerKey, at: number) => step(s, { type: 'timer', key }, at);

describe('RFC 3768 timers', () => {
  it('computes Skew_Time and Master_Down_Interval from our own priority (RFC 3768 6.1, keepalived)', () => {
    expect(skewMs(100)).toBe(609); // 156/256 s
    expect(skewMs(150)).toBe(414);
    expect(skewMs(254)).toBe(7);
    expect(masterDownMs(1, 100)).toBe(3609);
    expect(masterDownMs(3, 100)).toBe(9609);
  });

  it('fires master-down at exactly 3 * advert_int + skew after startup, not 1 ms before', () => {
    const b = started();
    const deadline = T0 + 3609;
    const early = fire(b, 'master-down', deadline - 1);
    expect(early.state.state).toBe('BACKUP');
    // The io fired early: the core re-arms the same deadline instead of losing the timer.
    expect(early.actions).toEqual([{ type: 'set-timer', key: 'master-down', at: deadline }]);
    expect(fire(early.state, 'master-down', deadline).state.state).toBe('MASTER');
  });

  it('restarts Master_Down_Interval from each accepted advert', () => {
    const b = run(started(), [[rx(150, '10.0.0.3'), T0 + 2000]]).state;
    expect(fire(b, 'master-down', T0 + 3609).state.state).toBe('BACKUP');
    expect(fire(b, 'master-down', T0 + 2000 + 3608).state.state).toBe('BACKUP');
    expect(fire(b, 'master-down', T0 + 2000 + 3609).state.state).toBe('MASTER');
  });

  it('takes over Skew_Time after a priority-0 advert', () => {
    const b = run(started(), [
      [rx(150, '10.0.0.3'), T0 + 1000],
      [rx(0, '10.0.0.3'), T0 + 1200],
    ]).state;
    expect(fire(b, 'master-down', T0 + 1200 + 608).state.state).toBe('BACKUP');
    const m = fire(b, 'master-down', T0 + 1200 + 609);
    expect(m.state.state).toBe('MASTER');
    expect(m.state.lastTransition?.reason).toBe('master sent priority 0');
  });

  describe('peer gone (the supervisor saw the failover link close)', () => {
    const gone = { type: 'peer-gone', reason: 'failover link closed' } as const;
    const heard = () => run(started(), [[rx(150, '10.0.0.3'), T0 + 1000]]).state;

    it('takes over Skew_Time after the notice, not 1 ms before', () => {
      const b = step(heard(), gone, T0 + 1200).state;
      expect(fire(b, 'master-down', T0 + 1200 + 608).state.state).toBe('BACKUP');
      const m = fire(b, 'master-down', T0 + 1200 + 609);
      expect(m.state.state).toBe('MASTER');
      expect(types(m.actions)).toContain('add-vips');
      expect(m.state.lastTransition?.reason).toBe('peer gone (failover link closed)');
    });

    it('uses our own effective priority for Skew_Time (150: 414 ms)', () => {
      const b = step(
        run(started({ priority: 150 }), [[rx(200, '10.0.0.3'), T0 + 1000]]).state,
        gone,
        T0 + 1200,
      );
      expect(logs(b.actions)).toEqual(['(VI_1) peer gone (failover link closed): master down in 0.414 s']);
      expect(fire(b.state, 'master-down', T0 + 1200 + 413).state.state).toBe('BACKUP');
      expect(fire(b.state, 'master-down', T0 + 1200 + 414).state.state).toBe('MASTER');
    });

    it('an advert from the master 1 ms before Skew_Time undoes a spurious notice', () => {
      const b = run(heard(), [
        [gone, T0 + 1200],
        [rx(150, '10.0.0.3'), T0 + 1200 + 608],
      ]).state;
      expect(b.peerGone).toBeUndefined();
      expect(fire(b, 'master-down', T0 + 1200 + 609).state.state).toBe('BACKUP');
      expect(fire(b, 'master-down', T0 + 1808 + 3608).state.state).toBe('BACKUP');
      const m = fire(b, 'master-down', T0 + 1808 + 3609);
      expect(m.state.state).toBe('MASTER');
      expect(m.state.lastTransition?.reason).toBe('master down timer');
    });

    it('after a takeover on a spurious notice, the live higher-priority peer takes the VIP back', () => {
      const m = fire(step(heard(), gone, T0 + 1200).state, 'master-down', T0 + 1809).state;
      const back = step(m, rx(150, '10.0.0.3'), T0 + 2000);
      expect(back.state.state).toBe('BACKUP');
      expect(types(back.actions)).toContain('remove-vips');
    });
  });

  it('sends the second GARP burst garp_master_delay after becoming master, refreshes every garp_master_refresh', () => {
    const m = mastered({
      garpMasterDelay: 5,
      garpMasterRepeat: 3,
      garpMasterRefresh: 60,
      garpMasterRefreshRepeat: 2,
    });
    const became = m.lastTransition!.at;
    expect(fire(m, 'garp-repeat', became + 4999).actions.some((a) => a.type === 'send-garp')).toBe(false);
    expect(fire(m, 'garp-repeat', became + 5000).actions).toContainEqual(
      expect.objectContaining({ type: 'send-garp', repeat: 3 }),
    );
    expect(fire(m, 'garp-refresh', became + 59_999).actions.some((a) => a.type === 'send-garp')).toBe(false);
    const r = fire(m, 'garp-refresh', became + 60_000);
    expect(r.actions).toContainEqual(expect.objectContaining({ type: 'send-garp', repeat: 2 }));
    expect(r.state.timers['garp-refresh']).toBe(became + 120_000);
  });

  it('has no GARP refresh timer when garp_master_refresh is off (the default)', () => {
    expect(mastered().timers['garp-refresh']).toBeUndefined();
    expect(mastered().timers['garp-repeat']).toBeDefined();
  });

  it('ignores a timer that was replaced or cancelled', () => {
    const m = mastered();
    const b = step(m, rx(150, '10.0.0.3'), T0 + 4000).state; // back to BACKUP: advert timer cancelled
    const r = fire(b, 'advert', T0 + 5000);
    expect(r.actions).toEqual([]);
    expect(r.state).toEqual(b);
  });
});

describe('preempt_delay (keepalived)', () => {
  // preempt_delay 10: a lower-priority master is tolerated for 10 s from the first of its adverts we see.
  const cfg = { preemptDelay: 10 };

  it('accepts a lower-priority master until the delay ends, then lets master-down run out', () => {
    let s = started(cfg);
    let t = T0 + 500;
    s = step(s, rx(90, '10.0.0.3'), t).state;
    expect(s.preemptUntil).toBe(T0 + 500 + 10_000);
    // Adverts every second keep us BACKUP during the delay.
    for (t = T0 + 1500; t < T0 + 10_500; t += 1000) s = step(s, rx(90, '10.0.0.3'), t).state;
    const lastAccepted = t - 1000; // T0 + 9500
    expect(s.timers['master-down']).toBe(lastAccepted + 3609);
    s = fire(s, 'preempt-delay', T0 + 10_500).state;
    // At exactly the end of the delay the next lower advert is discarded: master-down is not re-armed.
    const r = step(s, rx(90, '10.0.0.3'), T0 + 10_500);
    expect(logs(r.actions)).toContain(
      '(VI_1) received lower priority (90) advert from 10.0.0.3 - discarding',
    );
    expect(r.state.timers['master-down']).toBe(lastAccepted + 3609);
    expect(fire(r.state, 'master-down', lastAccepted + 3609).state.state).toBe('MASTER');
  });

  it('1 ms before the delay ends, a lower advert still re-arms master-down', () => {
    let s = step(started(cfg), rx(90, '10.0.0.3'), T0 + 500).state;
    s = step(s, rx(90, '10.0.0.3'), T0 + 10_499).state;
    expect(s.timers['master-down']).toBe(T0 + 10_499 + 3609);
  });

  it('a higher-priority advert stops the delay', () => {
    let s = step(started(cfg), rx(90, '10.0.0.3'), T0 + 500).state;
    const r = step(s, rx(150, '10.0.0.4'), T0 + 1500);
    s = r.state;
    expect(s.preemptUntil).toBeUndefined();
    expect(types(r.actions)).toContain('cancel-timer');
  });
});

describe('nopreempt', () => {
  it('a nopreempt backup with higher priority never takes over from a live lower-priority master', () => {
    let s = started({ preempt: false, priority: 200 });
    for (let t = T0 + 500; t < T0 + 60_000; t += 1000) {
      s = step(s, rx(90, '10.0.0.3'), t).state;
      expect(fire(s, 'master-down', t + 999).state.state).toBe('BACKUP');
    }
    expect(s.masterIp).toBeDefined();
  });
});
