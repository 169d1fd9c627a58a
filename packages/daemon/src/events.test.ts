import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LinkChange, StateChange } from '@hadhcp/failover';
import type { SupervisorDecision } from '@hadhcp/supervisor';
import { EventLog, watchEvents, type FailoverEventSource } from './events.js';

const T0 = Date.parse('2026-12-02T14:00:00Z');

describe('EventLog', () => {
  it('keeps the last N in time order; an event learnt late goes where it happened', () => {
    let t = T0;
    const log = new EventLog(3, () => t);
    for (const n of [1, 2, 3, 4]) {
      t += 1000;
      log.add('daemon', `e${n}`);
    }
    log.add('vrrp', 'late', { at: T0 + 2500, alarm: true });
    expect(log.list().map((e) => e.text)).toEqual(['late', 'e3', 'e4']);
    expect(log.list()[0]).toEqual({
      at: '2026-12-02T14:00:02.500Z',
      kind: 'vrrp',
      text: 'late',
      alarm: true,
    });
    // Older than everything kept, in a full ring: not kept.
    log.add('vrrp', 'ancient', { at: T0 });
    expect(log.list().map((e) => e.text)).toEqual(['late', 'e3', 'e4']);
  });
});

describe('watchEvents', () => {
  afterEach(() => vi.useRealTimers());

  /** The daemon's parts as the watcher sees them, each changed by hand. */
  function parts() {
    const health: Array<(ok: boolean, why: string) => void> = [];
    const state: Array<(e: StateChange) => void> = [];
    const link: Array<(e: LinkChange) => void> = [];
    const vrrp = {
      list: [] as Array<{
        name: string;
        lastTransition?: { from: 'BACKUP' | 'MASTER'; to: 'BACKUP' | 'MASTER'; at: string; reason: string };
      }>,
      status() {
        return this.list;
      },
    };
    let partnerState = 'normal';
    const failover: FailoverEventSource = {
      name: 'dhcp-failover',
      onState: (fn) => void state.push(fn),
      onLink: (fn) => void link.push(fn),
      partnerState: () => partnerState,
      state: () => 'startup',
    };
    const supervisor = { decision: undefined as SupervisorDecision | undefined };
    return {
      src: {
        dhcp: { onHealth: (fn: (ok: boolean, why: string) => void) => void health.push(fn) },
        vrrp,
        failover: [failover],
        supervisor,
      },
      health: (ok: boolean, why: string) => health.forEach((f) => f(ok, why)),
      state: (e: StateChange) => state.forEach((f) => f(e)),
      link: (e: LinkChange) => link.forEach((f) => f(e)),
      vrrp,
      partner: (s: string) => (partnerState = s),
      supervisor,
    };
  }

  const decision = (serve: boolean, reason: string): SupervisorDecision => ({
    serveRelayed: serve,
    answerAllRelayed: serve,
    serveDirect: serve,
    vrrpWeight: serve ? 0 : -253,
    partnerDown: false,
    reason,
    health: serve ? 'able to serve' : reason,
  });

  it('records failover moves and link changes at once, VRRP, the partner and serving at the next poll, the store', () => {
    vi.useFakeTimers({ now: T0 });
    const p = parts();
    const log = new EventLog();
    p.supervisor.decision = decision(
      false,
      'waiting for the VRRP election; failover dhcp-failover: normal, partner normal',
    );
    const stop = watchEvents(log, p.src, 1000);
    // Where failover stands when the watch begins; the supervisor's first decision (not serving) is no news.
    expect(log.list().map((e) => e.text)).toEqual([
      'failover dhcp-failover: startup, partner normal (as the daemon came up)',
    ]);

    p.link({
      relationship: 'dhcp-failover',
      up: false,
      remote: '10.0.0.3:647',
      direction: 'out',
      why: 'timeout',
    });
    p.state({ relationship: 'dhcp-failover', from: 'normal', to: 'communications-interrupted', at: T0 + 5 });
    vi.advanceTimersByTime(1000);
    p.vrrp.list = [
      {
        name: 'VI_DHCP',
        lastTransition: {
          from: 'BACKUP',
          to: 'MASTER',
          at: new Date(T0 + 1500).toISOString(),
          reason: 'master down timer',
        },
      },
    ];
    p.partner('unknown-state');
    p.supervisor.decision = decision(
      true,
      'VRRP master holding 10.0.0.1: answering every relayed client at once; failover dhcp-failover: communications-interrupted, partner normal (link down)',
    );
    vi.advanceTimersByTime(999);
    expect(log.list()).toHaveLength(3); // VRRP, the partner and serving wait for the poll
    vi.advanceTimersByTime(1);
    p.health(
      false,
      'lease store failed: lease store /var/lib/hadhcp failed (ENOSPC: no space left on device, write): whether the last writes reached the disk is unknown',
    );
    p.health(true, 'lease store writable again');
    p.supervisor.decision = decision(
      false,
      'not answering: lease store failed: lease store failed: lease store /var/lib/hadhcp failed (ENOSPC): whether the last writes reached the disk is unknown; failover dhcp-failover: normal',
    );
    vi.advanceTimersByTime(1000);
    stop();
    p.vrrp.list = [
      {
        name: 'VI_DHCP',
        lastTransition: { from: 'MASTER', to: 'BACKUP', at: new Date(T0 + 9000).toISOString(), reason: 'x' },
      },
    ];
    vi.advanceTimersByTime(5000);

    expect(log.list().map((e) => [e.at.slice(11, 23), e.kind, e.text, e.alarm ?? false])).toEqual([
      [
        '14:00:00.000',
        'failover',
        'failover dhcp-failover: startup, partner normal (as the daemon came up)',
        false,
      ],
      ['14:00:00.000', 'link', 'failover dhcp-failover: link to 10.0.0.3:647 down (timeout)', true],
      ['14:00:00.005', 'failover', 'failover dhcp-failover: normal -> communications-interrupted', true],
      // VRRP's transition at its own time, though read at the poll after it.
      ['14:00:01.500', 'vrrp', 'VRRP VI_DHCP BACKUP -> MASTER: master down timer', false],
      ['14:00:02.000', 'failover', 'failover dhcp-failover: partner now unknown-state', false],
      [
        '14:00:02.000',
        'serving',
        'serving: VRRP master holding 10.0.0.1: answering every relayed client at once',
        false,
      ],
      [
        '14:00:02.000',
        'store',
        'lease store /var/lib/hadhcp failed (ENOSPC: no space left on device, write)',
        true,
      ],
      ['14:00:02.000', 'store', 'lease store recovered: writable again', false],
      ['14:00:03.000', 'serving', 'not serving: lease store /var/lib/hadhcp failed (ENOSPC)', true],
    ]);
  });

  it('a node serving from the start says so once; the same decision again is no news', () => {
    vi.useFakeTimers({ now: T0 });
    const p = parts();
    const log = new EventLog();
    p.supervisor.decision = decision(
      true,
      'VRRP master holding 10.0.0.1: answering every relayed client at once',
    );
    const stop = watchEvents(log, p.src, 1000);
    vi.advanceTimersByTime(3000);
    stop();
    expect(log.list().map((e) => e.text)).toEqual([
      'failover dhcp-failover: startup, partner normal (as the daemon came up)',
      'serving: VRRP master holding 10.0.0.1: answering every relayed client at once',
    ]);
  });
});
