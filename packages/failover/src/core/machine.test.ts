import { describe, expect, it } from 'vitest';
import { ServerFlags, ServerState as S } from '../wire/constants.js';
import { initFailover, step } from './machine.js';
import type { FailoverAction, FailoverEvent, FailoverParams, FailoverState } from './machine-types.js';
import { mayServe } from './serve.js';

/*
 * The transition grid: every (my state x event) pair with the state we end in and the key actions, written out
 * from ISC 4.4's server/failover.c rather than computed. Startup appears once per saved state that matters, since
 * ISC decides on the saved state while in startup. The partner's previous state is unknown-state (never heard), so
 * every STATE is news; repeated states have their own table below.
 */

const T0 = 1_795_303_459_000; // ms; the capture's first second
const NOW = T0 + 60_000; // well inside MCLT (3600 s) of T0
const PARAMS: FailoverParams = { name: 'dhcp-failover', role: 'primary', mclt: 3600, autoPartnerDown: 0 };

type Abbr = 'ST' | 'N' | 'CI' | 'PD' | 'PC' | 'R' | 'P' | 'SD' | 'RD' | 'RI' | 'CD' | 'RW';
const ABBR: Record<Abbr, S> = {
  ST: S.STARTUP,
  N: S.NORMAL,
  CI: S.COMMUNICATIONS_INTERRUPTED,
  PD: S.PARTNER_DOWN,
  PC: S.POTENTIAL_CONFLICT,
  R: S.RECOVER,
  P: S.PAUSED,
  SD: S.SHUTDOWN,
  RD: S.RECOVER_DONE,
  RI: S.RESOLUTION_INTERRUPTED,
  CD: S.CONFLICT_DONE,
  RW: S.RECOVER_WAIT,
};

/** A state as the machine would hold it; `saved` only for startup. */
function at(my: S, o: Partial<FailoverState> = {}): FailoverState {
  const base: FailoverState = {
    ...initFailover(PARAMS),
    my,
    since: T0,
    partner: S.UNKNOWN,
    partnerSince: T0,
    connected: true,
    ...o,
  };
  return { ...base, serve: o.serve ?? mayServe(base.my, base.partner) };
}

/** Row label -> the state. "ST>N": startup whose saved state is normal. */
const ROWS: Record<string, (o?: Partial<FailoverState>) => FailoverState> = {};
for (const [label, my] of Object.entries(ABBR) as [Abbr, S][]) {
  if (my === S.STARTUP) continue;
  ROWS[label] = (o) => at(my, o);
}
for (const saved of ['N', 'R', 'CI', 'PD', 'PC'] as Abbr[])
  ROWS[`ST>${saved}`] = (o) => at(S.STARTUP, { saved: ABBR[saved], timers: { startup: T0 + 15_000 }, ...o });

// ---- peer STATE: my state x the partner's new state ----

/**
 * Cell: resulting state ('.' = stays, for startup rows: the saved one) then markers, checked exactly:
 * +all one UPDREQALL (none without it), +req one UPDREQ (none without), +upd queued updates sent before the move,
 * +chk a pool check, ! an error logged (none without).
 */
const PEER_COLUMNS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 254, 99] as const;
// prettier-ignore
const PEER_GRID: Record<string, string[]> = {
  //       unknown  startup  normal     comm-int   p-down    pot-confl  recover    paused   shutdown recov-done res-int    confl-done recov-wait invalid
  'ST>N':  ['N',    'N',     'N+chk',   'N',       'R+all',  'SD!',     'PD',      'CI',    'PD',    'N',       'SD!',     'SD!',     'N',       'SD!'],
  'ST>R':  ['R+all','R+all', 'PC+req',  'R+all',   'R+all',  'PC+req',  'R+all',   'R+all', 'PD',    'R+all',   'PC+req',  'PC+req',  'R+all',   'SD!'],
  'ST>CI': ['CI',   'CI',    'N+upd',   'N+upd',   'PC+req', 'PC+req',  'PD',      'CI',    'PD',    'N+upd',   'PC+req',  'PC+req',  'N+upd',   'SD!'],
  'ST>PD': ['PD',   'PD',    'PC+req',  'PC+req',  'PC+req', 'PC+req',  'PD',      'PD',    'PD',    'N',       'PC+req',  'PC+req',  'PD',      'SD!'],
  'ST>PC': ['PC+req','PC+req','SD!',    'PC+req',  'PC+req', 'PC+req',  'R+all',   'PC+req','PD',    'PC+req',  'PC+req',  'PC+req!', 'PC+req',  'SD!'],
  N:       ['.',    '.',     '.+chk',   '.',       'PC+req', 'SD!',     'PD',      'CI',    'PD',    '.',       'SD!',     'SD!',     '.',       'SD!'],
  CI:      ['.',    '.',     'N+upd',   'N+upd',   'PC+req', 'PC+req',  'PD',      '.',     'PD',    'N+upd',   'PC+req',  'PC+req',  'N+upd',   'SD!'],
  PD:      ['.',    '.',     'PC+req',  'PC+req',  'PC+req', 'PC+req',  '.',       '.',     '.',     'N',       'PC+req',  'PC+req',  '.',       'SD!'],
  PC:      ['.',    '.',     'SD!',     '.',       '.',      '.',       'R+all',   '.',     'PD',    '.',       '.',       '.!',      '.',       'SD!'],
  R:       ['.',    '.',     'PC+req',  '.+all',   '.+all',  'PC+req',  '.+all',   '.',     'PD',    '.',       'PC+req',  'PC+req',  '.',       'SD!'],
  P:       ['.',    '.',     '.',       '.',       '.',      '.',       '.',       '.',     '.',     '.',       '.',       '.',       '.',       'SD!'],
  SD:      ['.',    '.',     '.',       '.',       '.',      '.',       '.',       '.',     '.',     '.',       '.',       '.',       '.',       '.!'],
  RD:      ['.',    '.',     'N',       '.',       '.',      '.',       '.',       '.',     'PD',    'N!',      '.',       '.',       '.',       'SD!'],
  RI:      ['.',    '.',     'PC+req',  'PC+req',  'PC+req', 'PC+req',  'PC+req',  '.',     'PD',    'PC+req',  'PC+req',  'PC+req',  'PC+req',  'SD!'],
  CD:      ['PC+req!','PC+req!','N',    'PC+req!', 'PC+req!','.',       'PC+req!', 'PC+req!','SD',   'PC+req!', '.',       'PC+req!', 'PC+req!', 'SD!'],
  RW:      ['.',    '.',     '.',       '.',       '.',      '.',       '.',       '.',     '.',     '.',       '.',       '.',       '.',       'SD!'],
};

interface Expect {
  to: S;
  all: boolean;
  req: boolean;
  upd: boolean;
  chk: boolean;
  error: boolean;
}

function parseCell(row: string, cell: string): Expect {
  const m = /^(\.|[A-Z]+)((?:\+[a-z]+)*)(!?)$/.exec(cell);
  if (!m) throw new Error(`bad cell ${cell}`);
  const from = row.startsWith('ST>') ? ABBR[row.slice(3) as Abbr] : ABBR[row as Abbr];
  const marks = m[2]!.split('+').filter(Boolean);
  return {
    to: m[1] === '.' ? from : ABBR[m[1] as Abbr],
    all: marks.includes('all'),
    req: marks.includes('req'),
    upd: marks.includes('upd'),
    chk: marks.includes('chk'),
    error: m[3] === '!',
  };
}

const types = (a: FailoverAction[]) => a.map((x) => x.type);
const count = (a: FailoverAction[], t: FailoverAction['type']) => a.filter((x) => x.type === t).length;
const logs = (a: FailoverAction[], level?: 'info' | 'error') =>
  a.flatMap((x) => (x.type === 'log' && (!level || x.level === level) ? [x.message] : []));

function checkPersistBeforeSend(actions: FailoverAction[]): void {
  // Every STATE we send says a state already handed to the io to record: persistState(required) of that very
  // state and STOS comes earlier in the same list.
  actions.forEach((a, i) => {
    if (a.type !== 'sendState') return;
    const before = actions.slice(0, i);
    const recorded = before.some(
      (p) =>
        p.type === 'persistState' &&
        p.required &&
        p.record.my === a.state &&
        Math.floor(p.record.mySince / 1000) === a.stos,
    );
    expect(
      recorded,
      `sendState ${a.state} without a persistState before it in ${types(actions).join(',')}`,
    ).toBe(true);
  });
}

describe('peer STATE grid (my state x partner state), ISC 4.4 dhcp_failover_peer_state_changed', () => {
  const cases = Object.entries(PEER_GRID).flatMap(([row, cells]) =>
    cells.map(
      (cell, i) => [`${row} + peer ${PEER_COLUMNS[i]} -> ${cell}`, row, PEER_COLUMNS[i]!, cell] as const,
    ),
  );
  it.each(cases)('%s', (_name, row, peer, cell) => {
    const e = parseCell(row, cell);
    const { state, actions } = step(ROWS[row]!(), { type: 'peerState', state: peer, flags: 0 }, NOW);
    expect(state.my).toBe(e.to);
    expect(count(actions, 'sendUpdReqAll'), 'UPDREQALL').toBe(e.all ? 1 : 0);
    expect(count(actions, 'sendUpdReq'), 'UPDREQ').toBe(e.req ? 1 : 0);
    expect(logs(actions, 'error').length > 0, logs(actions, 'error').join('; ')).toBe(e.error);
    expect(actions.some((a) => a.type === 'rebalancePools' && a.mode === 'check')).toBe(e.chk);
    const firstMove = actions.findIndex((a) => a.type === 'persistState' && a.required);
    const updates = types(actions).indexOf('sendQueuedUpdates');
    if (e.upd) expect(updates).toBeGreaterThanOrEqual(0);
    if (e.upd) expect(updates).toBeLessThan(firstMove);
    else if (updates >= 0) expect(updates).toBeGreaterThan(firstMove); // only normal's entry work
    expect(state.partner).toBe(peer);
    checkPersistBeforeSend(actions);
    expect(state.serve).toBe(mayServe(state.my, state.partner));
  });

  it('a partner in partner-down ignores STATEs that carry the STARTUP flag (ISC: "other server is starting up")', () => {
    for (const peer of PEER_COLUMNS.slice(0, -1)) {
      const r = step(at(S.PARTNER_DOWN), { type: 'peerState', state: peer, flags: ServerFlags.STARTUP }, NOW);
      expect(r.state.my, `peer ${peer}`).toBe(S.PARTNER_DOWN);
      expect(r.state.partnerStartup).toBe(true);
    }
  });

  it('logs the partner change in ISC words', () => {
    const r = step(
      at(S.NORMAL, { partner: S.NORMAL }),
      { type: 'peerState', state: S.PAUSED, flags: 0 },
      NOW,
    );
    expect(logs(r.actions)).toEqual([
      'failover peer dhcp-failover: peer moves from normal to paused',
      'failover peer dhcp-failover: I move from normal to communications-interrupted',
    ]);
  });

  it('potential-conflict: UPDREQ when the primary moves from potential-conflict to conflict-done', () => {
    const s = at(S.POTENTIAL_CONFLICT, {
      params: { ...PARAMS, role: 'secondary' },
      partner: S.POTENTIAL_CONFLICT,
    });
    const r = step(s, { type: 'peerState', state: S.CONFLICT_DONE, flags: 0 }, NOW);
    expect(types(r.actions)).toContain('sendUpdReq');
    expect(r.state.my).toBe(S.POTENTIAL_CONFLICT);
  });
});

// ---- a STATE repeating what we know ----

describe('a STATE repeating the partner state we know (ISC processes it only in some states)', () => {
  const rows: [string, FailoverState, S, S, FailoverAction['type'][]][] = [
    ['normal ignores normal', at(S.NORMAL, { partner: S.NORMAL }), S.NORMAL, S.NORMAL, []],
    [
      'potential-conflict ignores it',
      at(S.POTENTIAL_CONFLICT, { partner: S.RECOVER_WAIT }),
      S.RECOVER_WAIT,
      S.POTENTIAL_CONFLICT,
      [],
    ],
    [
      'recover-done ignores it',
      at(S.RECOVER_DONE, { partner: S.PARTNER_DOWN }),
      S.PARTNER_DOWN,
      S.RECOVER_DONE,
      [],
    ],
    ['shutdown ignores it', at(S.SHUTDOWN, { partner: S.SHUTDOWN }), S.SHUTDOWN, S.SHUTDOWN, []],
    ['paused ignores it', at(S.PAUSED, { partner: S.NORMAL }), S.NORMAL, S.PAUSED, []],
    ['recover-wait ignores it', at(S.RECOVER_WAIT, { partner: S.RECOVER }), S.RECOVER, S.RECOVER_WAIT, []],
    // The capture: the restarted primary says "normal" twice (with, then without, STARTUP).
    [
      'communications-interrupted goes normal on normal',
      at(S.COMMUNICATIONS_INTERRUPTED, { partner: S.NORMAL }),
      S.NORMAL,
      S.NORMAL,
      ['sendQueuedUpdates'],
    ],
    // The capture: a second UPDREQALL when the partner's "recover" loses its STARTUP flag.
    [
      'recover asks again on recover',
      at(S.RECOVER, { partner: S.RECOVER }),
      S.RECOVER,
      S.RECOVER,
      ['sendUpdReqAll'],
    ],
    [
      'partner-down on partner-down',
      at(S.PARTNER_DOWN, { partner: S.PARTNER_DOWN }),
      S.PARTNER_DOWN,
      S.POTENTIAL_CONFLICT,
      ['sendUpdReq'],
    ],
    [
      'resolution-interrupted on communications-interrupted',
      at(S.RESOLUTION_INTERRUPTED, { partner: S.COMMUNICATIONS_INTERRUPTED }),
      S.COMMUNICATIONS_INTERRUPTED,
      S.POTENTIAL_CONFLICT,
      ['sendUpdReq'],
    ],
    ['conflict-done on normal', at(S.CONFLICT_DONE, { partner: S.NORMAL }), S.NORMAL, S.NORMAL, []],
    [
      'startup returns to its saved state',
      at(S.STARTUP, { saved: S.NORMAL, partner: S.NORMAL }),
      S.NORMAL,
      S.NORMAL,
      ['sendState'],
    ],
    // ISC 4.4: "if we have a peer state we must be connected": resolution-interrupted resumes as potential-conflict.
    [
      'startup saved in resolution-interrupted resumes potential-conflict',
      at(S.STARTUP, { saved: S.RESOLUTION_INTERRUPTED, partner: S.NORMAL }),
      S.NORMAL,
      S.POTENTIAL_CONFLICT,
      ['sendState', 'sendUpdReq'],
    ],
  ];
  it.each(rows)('%s', (_name, from, peer, to, sends) => {
    const r = step(from, { type: 'peerState', state: peer, flags: 0 }, NOW);
    expect(r.state.my).toBe(to);
    for (const t of sends) expect(types(r.actions)).toContain(t);
    // Ignored means ignored: no log, no record, nothing sent.
    if (to === from.my && sends.length === 0) expect(r.actions).toEqual([]);
  });
});

// ---- every other event x my state ----

const ALL_ROWS = Object.keys(ROWS);

/** Expected state after the event per row ('.' = unchanged); rows missing from a column stay, with no state change. */
interface EventColumn {
  name: string;
  event: FailoverEvent;
  /** Overrides of the row's state before the event. */
  given?: Partial<FailoverState>;
  to: Partial<Record<string, Abbr | '.'>>;
  /** Extra checks per row. */
  check?: (row: string, r: { state: FailoverState; actions: FailoverAction[] }, from: FailoverState) => void;
  at?: number;
}

const COLUMNS: EventColumn[] = [
  {
    name: 'connected',
    event: { type: 'connected' },
    given: { connected: false },
    to: {},
    check: (row, r, from) => {
      // The STATE of the state we are in; in startup the saved one with the STARTUP flag (no new record needed).
      const shown = from.my === S.STARTUP ? from.saved! : from.my;
      expect(r.actions).toEqual([
        {
          type: 'sendState',
          state: shown,
          flags: from.my === S.STARTUP ? ServerFlags.STARTUP : 0,
          stos: T0 / 1000,
        },
      ]);
      expect(r.state.connected).toBe(true);
    },
  },
  {
    name: 'disconnected',
    event: { type: 'disconnected', reason: 'close' },
    // ISC's "disconnect" on the saved state while in startup: normal -> comm-int, potential-conflict -> res-int.
    to: { 'ST>N': 'CI', 'ST>R': 'R', 'ST>CI': 'CI', 'ST>PD': 'PD', 'ST>PC': 'RI', N: 'CI', PC: 'RI' },
    check: (row, r) => {
      expect(r.state.connected).toBe(false);
      expect(types(r.actions)).not.toContain('sendState');
      expect(r.state.timers.startup).toBeUndefined();
      expect(logs(r.actions)[0]).toBe('peer dhcp-failover: disconnected');
      // conflict-done stays, but what awaited a BNDACK will be sent again (ISC 4.4 rescinds the updates).
      if (row === 'CD' || row === 'N' || row === 'PC') expect(types(r.actions)[1]).toBe('requeueUnacked');
    },
  },
  {
    name: 'upddone',
    event: { type: 'upddone' },
    // Primary, partner never heard: recover waits for MCLT, potential-conflict is the primary's conflict-done.
    to: { R: 'RW', PC: 'CD' },
    check: (row, r) => {
      expect(logs(r.actions)[0]).toBe('failover peer dhcp-failover: peer update completed.');
      if (row === 'CD') expect(logs(r.actions, 'error')).toEqual(['Spurious update-done message.']);
      if (row === 'R') expect(r.state.timers['recover-wait']).toBe(T0 + 3_600_000);
    },
  },
  {
    name: 'SIGTERM',
    event: { type: 'shutdownRequested', updatesPending: false },
    // Only normal says goodbye (ISC's gentle shutdown); shutdown keeps waiting; every other state just stops.
    to: { N: 'SD' },
    check: (row, r) => {
      const waits = row === 'N' || row === 'SD';
      expect(types(r.actions).includes('shutdownComplete')).toBe(!waits);
      if (waits) expect(r.state.timers.shutdown).toBe(NOW + 5000);
      expect(r.state.stopping).toEqual({ updatesPending: false, done: !waits });
    },
  },
  {
    name: 'adminPartnerDown (disconnected)',
    event: { type: 'adminPartnerDown' },
    given: { connected: false },
    to: { CI: 'PD', RI: 'PD' },
    check: (row, r) => {
      const refused = !['CI', 'RI', 'PD'].includes(row);
      expect(logs(r.actions, 'error').length > 0).toBe(refused);
      if (row === 'CI') expect(r.actions).toContainEqual({ type: 'reclaimExpiredAt', at: NOW / 1000 + 3600 });
    },
  },
  {
    name: 'adminPartnerDown (connected)',
    event: { type: 'adminPartnerDown' },
    to: {},
    check: (row, r) => {
      if (row !== 'PD') expect(logs(r.actions, 'error')[0]).toMatch(/partner-down refused/);
    },
  },
  {
    name: 'resyncRequested',
    event: { type: 'resyncRequested' },
    to: {},
    check: (row, r) => {
      if (row === 'N') expect(types(r.actions)).toEqual(['log', 'sendUpdReqAll']);
      else expect(logs(r.actions, 'error')[0]).toMatch(/resync refused/);
    },
  },
  {
    name: 'start (already started)',
    event: { type: 'start', storeEmpty: true },
    to: {},
    check: (_row, r) =>
      expect(logs(r.actions, 'error')).toEqual([
        'failover peer dhcp-failover: already started, start ignored',
      ]),
  },
  {
    name: 'startup timer, on time',
    event: { type: 'timer', key: 'startup' },
    at: T0 + 15_000,
    // Startup rows carry the timer; it applies the disconnect rules (but the link, if any, stays ours to close).
    to: { 'ST>N': 'CI', 'ST>R': 'R', 'ST>CI': 'CI', 'ST>PD': 'PD', 'ST>PC': 'RI' },
    check: (row, r) => {
      if (!row.startsWith('ST'))
        expect(r.actions).toEqual([]); // no such timer: a stale firing
      else expect(r.state.timers.startup).toBeUndefined();
    },
  },
];

describe('event grid (my state x every other event)', () => {
  const cases = COLUMNS.flatMap((c) => ALL_ROWS.map((row) => [`${row} + ${c.name}`, row, c] as const));
  it.each(cases)('%s', (_name, row, c) => {
    const from = ROWS[row]!(c.given);
    const r = step(from, c.event, c.at ?? NOW);
    const want = c.to[row] ?? '.';
    expect(r.state.my).toBe(want === '.' ? from.my : ABBR[want]);
    if (want === '.') expect(types(r.actions)).not.toContain('stateChanged');
    // (connected re-announces the state recorded when it was entered: checked exactly in its column)
    if (c.event.type !== 'connected') checkPersistBeforeSend(r.actions);
    c.check?.(row, r, from);
  });
});

describe('own timers (the state that arms each one)', () => {
  it('recover-wait at STOS + MCLT -> recover-done, announced', () => {
    const s = at(S.RECOVER_WAIT, { timers: { 'recover-wait': T0 + 3_600_000 } });
    const r = step(s, { type: 'timer', key: 'recover-wait' }, T0 + 3_600_000);
    expect(r.state.my).toBe(S.RECOVER_DONE);
    expect(r.actions).toContainEqual({
      type: 'sendState',
      state: S.RECOVER_DONE,
      flags: 0,
      stos: (T0 + 3_600_000) / 1000,
    });
  });

  it('auto-partner-down -> partner-down (ISC auto-partner-down, off by default)', () => {
    const s = at(S.COMMUNICATIONS_INTERRUPTED, { connected: false, timers: { 'auto-partner-down': NOW } });
    expect(step(s, { type: 'timer', key: 'auto-partner-down' }, NOW).state.my).toBe(S.PARTNER_DOWN);
  });

  it('shutdown wait over -> recover recorded, not announced, io may exit', () => {
    const s = at(S.SHUTDOWN, { stopping: { updatesPending: false, done: false }, timers: { shutdown: NOW } });
    const r = step(s, { type: 'timer', key: 'shutdown' }, NOW);
    expect(r.state.my).toBe(S.RECOVER);
    expect(types(r.actions)).not.toContain('sendState');
    expect(types(r.actions)).not.toContain('sendUpdReqAll');
    expect(types(r.actions).at(-1)).toBe('shutdownComplete');
  });
});

describe('before start', () => {
  const events: FailoverEvent[] = [
    { type: 'connected' },
    { type: 'peerState', state: S.NORMAL, flags: 0 },
    { type: 'disconnected', reason: 'timeout' },
    { type: 'upddone' },
    { type: 'timer', key: 'startup' },
    { type: 'shutdownRequested', updatesPending: false },
    { type: 'adminPartnerDown' },
    { type: 'resyncRequested' },
  ];
  it.each(events.map((e) => [e.type, e] as const))('%s is ignored', (_t, e) => {
    const s = initFailover(PARAMS);
    expect(step(s, e, NOW)).toEqual({ state: s, actions: [] });
  });
});
