import { describe, expect, it } from 'vitest';
import { SERVER_STATE_NAMES, ServerState as S } from '../wire/constants.js';
import { iscStateName, iscWouldExit, isKnownState, mayServe, serviceOf } from './serve.js';

const ALL = Object.keys(SERVER_STATE_NAMES).map(Number) as S[];

describe('mayServe: ISC set_service_state and the checks dhcp.c makes with it', () => {
  // prettier-ignore
  const own: [S, 'all' | 'own' | 'none', string][] = [
    [S.NORMAL, 'all', ''],                          // cooperating: load-balanced DISCOVERs
    [S.PARTNER_DOWN, 'all', ''],                    // service_partner_down
    [S.COMMUNICATIONS_INTERRUPTED, 'own', ''],      // not_cooperating: answered, from our own free leases
    [S.STARTUP, 'none', 'startup'],                 // service_startup is dropped like not_responding
    [S.RECOVER, 'none', 'recovering'],
    [S.RECOVER_WAIT, 'none', 'recover wait'],
    [S.RECOVER_DONE, 'none', 'recover done'],
    [S.POTENTIAL_CONFLICT, 'none', 'resolving conflicts'],
    [S.RESOLUTION_INTERRUPTED, 'none', 'resolving conflicts'],
    [S.CONFLICT_DONE, 'none', 'resolving conflicts'],
    [S.SHUTDOWN, 'none', 'shut down'],
    [S.PAUSED, 'none', 'paused'],
    [S.UNKNOWN, 'none', 'my state unknown'],
  ];
  it.each(own)('my state %s with the partner normal: %s', (my, scope, reason) => {
    expect(serviceOf(my, S.NORMAL)).toEqual({ scope, reason });
  });

  it('a partner in partner-down or a conflict state silences us, whatever our state', () => {
    for (const my of [S.NORMAL, S.PARTNER_DOWN, S.COMMUNICATIONS_INTERRUPTED]) {
      expect(serviceOf(my, S.PARTNER_DOWN)).toEqual({ scope: 'none', reason: 'peer demands: recovering' });
      for (const p of [S.POTENTIAL_CONFLICT, S.CONFLICT_DONE, S.RESOLUTION_INTERRUPTED])
        expect(serviceOf(my, p)).toEqual({ scope: 'none', reason: 'peer demands: resolving conflicts' });
    }
  });

  it('other partner states (and the last one heard while cut off) change nothing', () => {
    for (const p of [
      S.UNKNOWN,
      S.STARTUP,
      S.COMMUNICATIONS_INTERRUPTED,
      S.RECOVER,
      S.RECOVER_WAIT,
      S.SHUTDOWN,
      99,
    ])
      expect(mayServe(S.COMMUNICATIONS_INTERRUPTED, p)).toBe('own');
  });
});

describe('state names as ISC logs them', () => {
  it('are the dhcpd.leases names, and unknown-state for any value ISC does not know', () => {
    for (const s of ALL) expect(iscStateName(s)).toBe(SERVER_STATE_NAMES[s]);
    expect(iscStateName(12)).toBe('unknown-state');
    expect(iscStateName(253)).toBe('unknown-state');
  });

  it('isKnownState: the 13 states, recover-wait being 254', () => {
    expect(ALL.every(isKnownState)).toBe(true);
    for (const n of [-1, 12, 13, 100, 253, 255, 1.5]) expect(isKnownState(n), String(n)).toBe(false);
  });
});

describe('iscWouldExit: what a partner in conflict-done accepts (ISC 4.4 log_fatal otherwise)', () => {
  it('normal, shutdown, potential-conflict, resolution-interrupted only', () => {
    const ok = ALL.filter((s) => !iscWouldExit(s, S.CONFLICT_DONE));
    expect(ok.sort((a, b) => a - b)).toEqual([
      S.NORMAL,
      S.POTENTIAL_CONFLICT,
      S.SHUTDOWN,
      S.RESOLUTION_INTERRUPTED,
    ]);
  });

  it('any other partner state accepts every state we can be in', () => {
    for (const p of ALL.filter((s) => s !== S.CONFLICT_DONE))
      for (const s of ALL) expect(iscWouldExit(s, p)).toBe(false);
  });
});
