import { describe, expect, it } from 'vitest';
import { ServerFlags, ServerState as S } from '../wire/constants.js';
import { initFailover, step } from './machine.js';
import type {
  FailoverAction,
  FailoverEvent,
  FailoverParams,
  FailoverState,
  PersistedFailoverState,
  StepResult,
} from './machine-types.js';

/*
 * The rules of issue 7 point 3 played as event sequences: the empty store starts in recover, catch-up with
 * UPDREQALL, recover-wait for MCLT (both sides of every deadline: 1 ms early and exactly on time), both-in-recover,
 * persist before STATE, SIGTERM -> shutdown, the guard against states that make ISC exit.
 */

const T0 = 1_795_303_459_000;
const MCLT_MS = 3_600_000;
const P: FailoverParams = { name: 'dhcp-failover', role: 'primary', mclt: 3600, autoPartnerDown: 0 };
const NAME = 'failover peer dhcp-failover';

const types = (a: FailoverAction[]) => a.map((x) => x.type);
const sent = (a: FailoverAction[]) =>
  a.flatMap((x) => (x.type === 'sendState' ? [[x.state, x.flags, x.stos]] : []));
const persisted = (a: FailoverAction[]) =>
  a.flatMap((x) => (x.type === 'persistState' && x.required ? [x.record] : []));
const peer = (state: S, flags = 0): FailoverEvent => ({ type: 'peerState', state, flags });

function run(s: FailoverState, events: [FailoverEvent, number][]): StepResult {
  const actions: FailoverAction[] = [];
  for (const [e, t] of events) {
    const r = step(s, e, t);
    s = r.state;
    actions.push(...r.actions);
  }
  return { state: s, actions };
}

const start = (saved?: PersistedFailoverState, storeEmpty = false, params = P): StepResult =>
  step(initFailover(params), { type: 'start', saved, storeEmpty }, T0);

function record(my: S, mySince: number, partner: S = S.NORMAL): PersistedFailoverState {
  return { my, mySince, partner, partnerSince: mySince, mclt: 3600 };
}

describe('start: an empty store starts in recover, as ISC does (confpars.c: no state in dhcpd.leases)', () => {
  it('records recover, moves to startup and arms the 15 s startup timer', () => {
    const r = start(undefined, true);
    expect(r.state.my).toBe(S.STARTUP);
    expect(r.state.saved).toBe(S.RECOVER);
    expect(r.actions).toEqual([
      {
        type: 'persistState',
        record: { my: S.RECOVER, mySince: T0, partner: S.UNKNOWN, partnerSince: 0, mclt: 3600 },
        required: true,
      },
      { type: 'log', level: 'info', message: `${NAME}: I move from recover to startup` },
      { type: 'stateChanged', from: S.RECOVER, to: S.STARTUP },
      { type: 'setTimer', key: 'startup', at: T0 + 15_000 },
    ]);
  });

  it('says recover with the STARTUP flag once connected', () => {
    const r = step(start(undefined, true).state, { type: 'connected' }, T0 + 10);
    expect(r.actions).toEqual([
      { type: 'sendState', state: S.RECOVER, flags: ServerFlags.STARTUP, stos: T0 / 1000 },
    ]);
  });

  it('an empty store wins over a recorded state; no record at all is recover too', () => {
    const lost = start(record(S.NORMAL, T0 - 86_400_000), true);
    expect(lost.state.saved).toBe(S.RECOVER);
    expect(lost.state.since).toBe(T0);
    expect(lost.state.partner).toBe(S.UNKNOWN);
    expect(lost.actions[0]).toEqual({
      type: 'log',
      level: 'info',
      message: `${NAME}: lease store empty, recorded state normal ignored`,
    });
    expect(start(undefined, false).state.saved).toBe(S.RECOVER);
  });

  it('a store with a record resumes it: state, STOS and partner state', () => {
    const r = start(record(S.COMMUNICATIONS_INTERRUPTED, T0 - 5000));
    expect(r.state).toMatchObject({ my: S.STARTUP, saved: S.COMMUNICATIONS_INTERRUPTED, since: T0 - 5000 });
    expect(r.state.partner).toBe(S.NORMAL);
  });

  it('a secondary restores the MCLT its primary sent; a primary keeps its configured one', () => {
    const rec = { ...record(S.NORMAL, T0), mclt: 1800 };
    expect(start(rec, false, { ...P, role: 'secondary' }).state.mclt).toBe(1800);
    expect(start(rec).state.mclt).toBe(3600);
    const s = step(
      start(undefined, true, { ...P, role: 'secondary' }).state,
      { type: 'connected', mclt: 600 },
      T0,
    );
    expect(s.state.mclt).toBe(600);
  });

  it('a record left in shutdown (we died before recording recover) resumes as recover from that time', () => {
    const r = start(record(S.SHUTDOWN, T0 - 2000));
    expect(r.state.saved).toBe(S.RECOVER);
    expect(r.state.since).toBe(T0 - 2000);
  });
});

describe('startup timer (15 s): the disconnect rules on the saved state', () => {
  it('1 ms early it re-arms the same deadline; on time normal becomes communications-interrupted', () => {
    const s = start(record(S.NORMAL, T0 - 60_000)).state;
    const early = step(s, { type: 'timer', key: 'startup' }, T0 + 14_999);
    expect(early.state.my).toBe(S.STARTUP);
    expect(early.actions).toEqual([{ type: 'setTimer', key: 'startup', at: T0 + 15_000 }]);
    const due = step(early.state, { type: 'timer', key: 'startup' }, T0 + 15_000);
    expect(due.state.my).toBe(S.COMMUNICATIONS_INTERRUPTED);
    expect(due.state.serve).toBe('own');
    // Out of startup the STOS is kept: a lone restarted server has been cut off since it last was normal.
    expect(due.state.since).toBe(T0 - 60_000);
  });

  it('recover stays recover, and asks nothing of a partner it is not connected to', () => {
    const due = step(start(undefined, true).state, { type: 'timer', key: 'startup' }, T0 + 15_000);
    expect(due.state.my).toBe(S.RECOVER);
    expect(types(due.actions)).not.toContain('sendUpdReqAll');
  });

  it('a STATE from the partner before the deadline ends startup and clears the timer', () => {
    const r = run(start(record(S.NORMAL, T0 - 60_000)).state, [
      [{ type: 'connected' }, T0 + 100],
      [peer(S.NORMAL, ServerFlags.STARTUP), T0 + 101],
    ]);
    expect(r.state.my).toBe(S.NORMAL);
    expect(r.state.timers.startup).toBeUndefined();
    expect(r.actions).toContainEqual({ type: 'clearTimer', key: 'startup' });
    expect(step(r.state, { type: 'timer', key: 'startup' }, T0 + 15_000).actions).toEqual([]);
  });
});

describe('recover: catch up with UPDREQALL, then recover-wait (254) for MCLT before normal', () => {
  // Us with an empty store; the partner (ISC) ran alone in partner-down meanwhile.
  const caughtUp = () =>
    run(start(undefined, true).state, [
      [{ type: 'connected' }, T0 + 1000],
      [peer(S.PARTNER_DOWN), T0 + 1000],
      [{ type: 'upddone' }, T0 + 20_000],
    ]);

  it('leaves startup for recover, sends exactly one UPDREQALL, and enters recover-wait on UPDDONE', () => {
    const r = caughtUp();
    expect(types(r.actions).filter((t) => t === 'sendUpdReqAll')).toHaveLength(1);
    expect(sent(r.actions)).toEqual([
      [S.RECOVER, ServerFlags.STARTUP, T0 / 1000],
      [S.RECOVER, 0, T0 / 1000],
      [S.RECOVER_WAIT, 0, T0 / 1000], // STOS kept: the wait counts from when recover began
    ]);
    expect(r.state.my).toBe(S.RECOVER_WAIT);
    expect(r.state.timers['recover-wait']).toBe(T0 + MCLT_MS);
    expect(r.state.serve).toBe('none');
  });

  it('recover-wait: 1 ms before STOS + MCLT nothing but the same deadline; exactly then recover-done', () => {
    const s = caughtUp().state;
    const early = step(s, { type: 'timer', key: 'recover-wait' }, T0 + MCLT_MS - 1);
    expect(early.state.my).toBe(S.RECOVER_WAIT);
    expect(early.actions).toEqual([{ type: 'setTimer', key: 'recover-wait', at: T0 + MCLT_MS }]);
    const due = step(early.state, { type: 'timer', key: 'recover-wait' }, T0 + MCLT_MS);
    expect(due.state.my).toBe(S.RECOVER_DONE);
    expect(sent(due.actions)).toEqual([[S.RECOVER_DONE, 0, (T0 + MCLT_MS) / 1000]]);
    // ISC in partner-down hears recover-done and goes normal; so do we when it says so.
    const normal = step(due.state, peer(S.NORMAL), T0 + MCLT_MS + 5);
    expect(normal.state.my).toBe(S.NORMAL);
    expect(normal.state.serve).toBe('all');
  });

  it('recover-wait ignores the partner meanwhile (ISC: "just wait")', () => {
    const s = caughtUp().state;
    expect(step(s, peer(S.NORMAL), T0 + 30_000).state.my).toBe(S.RECOVER_WAIT);
  });

  it('UPDDONE at or after STOS + MCLT goes straight to recover-done', () => {
    const s = run(start(undefined, true).state, [
      [{ type: 'connected' }, T0 + 1000],
      [peer(S.PARTNER_DOWN), T0 + 1000],
    ]).state;
    expect(step(s, { type: 'upddone' }, T0 + MCLT_MS - 1).state.my).toBe(S.RECOVER_WAIT);
    const r = step(s, { type: 'upddone' }, T0 + MCLT_MS);
    expect(r.state.my).toBe(S.RECOVER_DONE);
    expect(r.state.timers['recover-wait']).toBeUndefined();
  });

  it('restarted in recover-wait: waits out what is left, or is done at once', () => {
    const left = run(start(record(S.RECOVER_WAIT, T0 - 1000, S.PARTNER_DOWN)).state, [
      [{ type: 'connected' }, T0 + 10],
      [peer(S.PARTNER_DOWN), T0 + 10],
    ]);
    expect(left.state.my).toBe(S.RECOVER_WAIT);
    expect(left.state.timers['recover-wait']).toBe(T0 - 1000 + MCLT_MS);
    const over = run(start(record(S.RECOVER_WAIT, T0 - MCLT_MS, S.PARTNER_DOWN)).state, [
      [{ type: 'connected' }, T0 + 10],
      [peer(S.PARTNER_DOWN), T0 + 10],
    ]);
    expect(over.state.my).toBe(S.RECOVER_DONE);
  });
});

describe('both nodes started in recover: no recover-wait (ISC: "a newly-configured failover pair")', () => {
  it.each([
    ['partner in recover', S.RECOVER],
    ['partner already recover-done', S.RECOVER_DONE],
  ])('%s at UPDDONE -> recover-done at once, then normal', (_n, partnerAtUpdDone) => {
    const r = run(start(undefined, true).state, [
      [{ type: 'connected' }, T0 + 1000],
      [peer(S.RECOVER, ServerFlags.STARTUP), T0 + 1000],
      [peer(S.RECOVER), T0 + 1001],
      ...(partnerAtUpdDone === S.RECOVER
        ? []
        : [[peer(partnerAtUpdDone), T0 + 1002] as [FailoverEvent, number]]),
      [{ type: 'upddone' }, T0 + 1050],
    ]);
    // One UPDREQALL on entering recover, one more when the partner's recover lost its STARTUP flag (as captured).
    expect(types(r.actions).filter((t) => t === 'sendUpdReqAll')).toHaveLength(2);
    expect(r.state.my).toBe(S.RECOVER_DONE);
    expect(r.actions.some((a) => a.type === 'setTimer' && a.key === 'recover-wait')).toBe(false);
    const done = step(r.state, peer(partnerAtUpdDone === S.RECOVER ? S.RECOVER_DONE : S.NORMAL), T0 + 1100);
    expect(done.state.my).toBe(S.NORMAL);
  });
});

describe('persist before STATE', () => {
  it('communications-interrupted -> normal, in order: record, log, service, STATE, entry work', () => {
    const cut = run(start(record(S.NORMAL, T0 - 60_000)).state, [
      [{ type: 'connected' }, T0 + 100],
      [peer(S.NORMAL), T0 + 100],
      [{ type: 'disconnected', reason: 'timeout' }, T0 + 5000],
      [{ type: 'connected' }, T0 + 9000],
    ]).state;
    expect(cut.my).toBe(S.COMMUNICATIONS_INTERRUPTED);
    const r = step(cut, peer(S.NORMAL, ServerFlags.STARTUP), T0 + 9001);
    expect(r.actions).toEqual([
      { type: 'log', level: 'info', message: `${NAME}: peer moves from normal to normal` },
      {
        type: 'persistState',
        record: {
          my: S.COMMUNICATIONS_INTERRUPTED,
          mySince: T0 + 5000,
          partner: S.NORMAL,
          partnerSince: T0 + 9001,
          mclt: 3600,
        },
        required: false,
      },
      { type: 'sendQueuedUpdates' },
      {
        type: 'persistState',
        record: { my: S.NORMAL, mySince: T0 + 9001, partner: S.NORMAL, partnerSince: T0 + 9001, mclt: 3600 },
        required: true,
      },
      { type: 'log', level: 'info', message: `${NAME}: I move from communications-interrupted to normal` },
      { type: 'log', level: 'info', message: `${NAME}: Both servers normal` },
      { type: 'stateChanged', from: S.COMMUNICATIONS_INTERRUPTED, to: S.NORMAL },
      { type: 'mayServe', scope: 'all', was: 'own', reason: '' },
      { type: 'sendState', state: S.NORMAL, flags: 0, stos: Math.floor((T0 + 9001) / 1000) },
      { type: 'rebalancePools', mode: 'balance' },
      { type: 'sendQueuedUpdates' },
    ]);
  });

  it('never records startup: the saved state is what goes to disk while starting up', () => {
    const r = run(start(record(S.PARTNER_DOWN, T0 - 1000, S.COMMUNICATIONS_INTERRUPTED)).state, [
      [{ type: 'connected' }, T0 + 10],
      [peer(S.RECOVER, ServerFlags.STARTUP), T0 + 10],
    ]);
    for (const a of r.actions) if (a.type === 'persistState') expect(a.record.my).not.toBe(S.STARTUP);
  });
});

describe('SIGTERM: normal -> shutdown, wait up to 5 s for partner-down, record recover (ISC gentle shutdown)', () => {
  const t = T0 + 100_000;
  const normal = () =>
    run(start(record(S.NORMAL, T0 - 60_000)).state, [
      [{ type: 'connected' }, T0 + 100],
      [peer(S.NORMAL), T0 + 100],
    ]).state;

  it('announces shutdown after recording it, and stops serving first', () => {
    const r = step(normal(), { type: 'shutdownRequested', updatesPending: false }, t);
    expect(r.state.my).toBe(S.SHUTDOWN);
    expect(types(r.actions)).toEqual([
      'requeueUnacked',
      'persistState',
      'log',
      'stateChanged',
      'mayServe',
      'sendState',
      'setTimer',
    ]);
    expect(r.state.timers.shutdown).toBe(t + 5000);
  });

  it('partner-down heard, nothing pending: recover recorded with STOS back-dated by MCLT, not announced', () => {
    const r = run(normal(), [
      [{ type: 'shutdownRequested', updatesPending: false }, t],
      [peer(S.PARTNER_DOWN), t + 300],
    ]);
    expect(r.state.my).toBe(S.RECOVER);
    expect(persisted(r.actions).at(-1)).toMatchObject({ my: S.RECOVER, mySince: t + 300 - MCLT_MS });
    expect(sent(r.actions)).toEqual([[S.SHUTDOWN, 0, t / 1000]]);
    expect(types(r.actions)).not.toContain('sendUpdReqAll');
    expect(types(r.actions).at(-1)).toBe('shutdownComplete');
    expect(r.state.timers).toEqual({});
    // Done: whatever comes next is not ours to handle.
    expect(step(r.state, peer(S.NORMAL), t + 400).actions).toEqual([]);
  });

  it('... and the next start skips recover-wait: the back-dated STOS + MCLT is already past', () => {
    const stopped = run(normal(), [
      [{ type: 'shutdownRequested', updatesPending: false }, t],
      [peer(S.PARTNER_DOWN), t + 300],
    ]);
    const rec = persisted(stopped.actions).at(-1)!;
    const back = run(
      step(initFailover(P), { type: 'start', saved: rec, storeEmpty: false }, t + 10_000).state,
      [
        [{ type: 'connected' }, t + 10_100],
        [peer(S.PARTNER_DOWN), t + 10_100],
        [{ type: 'upddone' }, t + 12_000],
      ],
    );
    expect(types(back.actions).filter((x) => x === 'sendUpdReqAll')).toHaveLength(1);
    expect(back.state.my).toBe(S.RECOVER_DONE);
  });

  it('updates still unacknowledged: recover from now (the next start waits MCLT)', () => {
    const r = run(normal(), [
      [{ type: 'shutdownRequested', updatesPending: true }, t],
      [peer(S.PARTNER_DOWN), t + 300],
    ]);
    expect(persisted(r.actions).at(-1)).toMatchObject({ my: S.RECOVER, mySince: t + 300 });
  });

  it('no partner-down: 1 ms before 5 s still waiting, at 5 s recover and done', () => {
    const s = step(normal(), { type: 'shutdownRequested', updatesPending: false }, t).state;
    const early = step(s, { type: 'timer', key: 'shutdown' }, t + 4999);
    expect(early.state.my).toBe(S.SHUTDOWN);
    expect(early.actions).toEqual([{ type: 'setTimer', key: 'shutdown', at: t + 5000 }]);
    const due = step(early.state, { type: 'timer', key: 'shutdown' }, t + 5000);
    expect(due.state.my).toBe(S.RECOVER);
    expect(due.state.since).toBe(t + 5000);
    expect(types(due.actions).at(-1)).toBe('shutdownComplete');
  });

  it('the link lost while waiting: nobody can answer any more, done at once', () => {
    const r = run(normal(), [
      [{ type: 'shutdownRequested', updatesPending: false }, t],
      [{ type: 'disconnected', reason: 'close' }, t + 50],
    ]);
    expect(r.state.my).toBe(S.RECOVER);
    expect(r.state.stopping?.done).toBe(true);
  });

  it('in any other state nothing is said or recorded: the io may exit at once', () => {
    const cut = step(normal(), { type: 'disconnected', reason: 'close' }, t - 1000).state;
    const r = step(cut, { type: 'shutdownRequested', updatesPending: false }, t);
    expect(r.actions).toEqual([{ type: 'shutdownComplete' }]);
    expect(r.state.my).toBe(S.COMMUNICATIONS_INTERRUPTED);
  });
});

describe('auto-partner-down (ISC option, 0 = off)', () => {
  it('armed on entering communications-interrupted; 1 ms early nothing, on time partner-down', () => {
    const params = { ...P, autoPartnerDown: 600 };
    const cut = run(start(record(S.NORMAL, T0 - 60_000), false, params).state, [
      [{ type: 'connected' }, T0 + 100],
      [peer(S.NORMAL), T0 + 100],
      [{ type: 'disconnected', reason: 'close' }, T0 + 1000],
    ]).state;
    expect(cut.timers['auto-partner-down']).toBe(T0 + 601_000);
    expect(step(cut, { type: 'timer', key: 'auto-partner-down' }, T0 + 600_999).state.my).toBe(
      S.COMMUNICATIONS_INTERRUPTED,
    );
    expect(step(cut, { type: 'timer', key: 'auto-partner-down' }, T0 + 601_000).state.my).toBe(
      S.PARTNER_DOWN,
    );
    // Back to normal first: any state change cancels it.
    const back = run(cut, [
      [{ type: 'connected' }, T0 + 2000],
      [peer(S.NORMAL), T0 + 2000],
    ]);
    expect(back.state.timers['auto-partner-down']).toBeUndefined();
    expect(back.actions).toContainEqual({ type: 'clearTimer', key: 'auto-partner-down' });
  });

  it('is off by default', () => {
    const cut = run(start(record(S.NORMAL, T0 - 60_000)).state, [
      [{ type: 'disconnected', reason: 'close' }, T0 + 1000],
    ]).state;
    expect(cut.timers['auto-partner-down']).toBeUndefined();
  });
});

describe('the guard: no STATE that would make ISC exit', () => {
  it('holds back partner-down towards a partner last seen in conflict-done, then follows its STATE', () => {
    // We are the secondary, resolving; the link drops while the primary (ISC) is in conflict-done.
    const resolving = run(
      start(record(S.POTENTIAL_CONFLICT, T0 - 1000, S.CONFLICT_DONE), false, { ...P, role: 'secondary' })
        .state,
      [
        [{ type: 'timer', key: 'startup' }, T0 + 15_000], // no partner: disconnect rules -> resolution-interrupted
        [{ type: 'adminPartnerDown' }, T0 + 20_000],
      ],
    ).state;
    expect(resolving.my).toBe(S.PARTNER_DOWN);
    const r = step(resolving, { type: 'connected' }, T0 + 30_000);
    expect(types(r.actions)).not.toContain('sendState');
    expect(r.actions).toContainEqual({
      type: 'log',
      level: 'error',
      message: `${NAME}: not sending state partner-down: a partner in conflict-done would exit on it`,
    });
    // ISC repeats conflict-done on connecting; partner-down processes it and resolves again, which ISC accepts.
    const next = step(r.state, peer(S.CONFLICT_DONE), T0 + 30_001);
    expect(next.state.my).toBe(S.POTENTIAL_CONFLICT);
    expect(sent(next.actions)).toEqual([[S.POTENTIAL_CONFLICT, 0, Math.floor((T0 + 30_001) / 1000)]]);
    expect(types(next.actions)).toContain('sendUpdReq'); // the secondary asks once the primary is conflict-done
  });
});
