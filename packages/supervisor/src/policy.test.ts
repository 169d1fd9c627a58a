import { describe, expect, it } from 'vitest';
import { parseIp4 } from '@hadhcp/common';
import {
  decide,
  isDeathNotice,
  UNHEALTHY_WEIGHT,
  type FailoverSignal,
  type SupervisorDecision,
  type SupervisorInput,
  type VrrpSignal,
} from './policy.js';

/* Issue 8 point 1: the supervisor's policy as a grid, one row per rule. */

const VIP = parseIp4('10.0.0.10')!;
const master: VrrpSignal = { state: 'MASTER', vips: [VIP], peerHeard: true };
const backup: VrrpSignal = { state: 'BACKUP', vips: [], peerHeard: true };
const normal: FailoverSignal = { name: 'fo', my: 'normal', partner: 'normal', connected: true, scope: 'all' };
const commInt: FailoverSignal = {
  name: 'fo',
  my: 'communications-interrupted',
  partner: 'normal',
  connected: false,
  scope: 'own',
};
const base: SupervisorInput = { dhcp: {}, peerGoneMs: 0 };

type Row = [string, Partial<SupervisorInput>, Partial<SupervisorDecision>, RegExp?];

const rows: Row[] = [
  [
    'alone (no VRRP, no failover): answers everyone',
    {},
    { serveRelayed: true, serveDirect: true, answerAllRelayed: false, vrrpWeight: 0, serverId: undefined },
  ],
  [
    'VIP holder with failover normal: every relayed client at once, VIP as server id, direct by hash',
    { vrrp: master, failover: normal },
    { serveRelayed: true, answerAllRelayed: true, serveDirect: true, serverId: VIP, vrrpWeight: 0 },
    /VRRP master holding 10\.0\.0\.10/,
  ],
  [
    'backup with failover: nothing relayed (keeps syncing), direct by hash',
    { vrrp: backup, failover: normal },
    { serveRelayed: false, answerAllRelayed: false, serveDirect: true, serverId: undefined, vrrpWeight: 0 },
    /VRRP backup: the VIP holder answers relayed clients; directly attached clients by the failover hash/,
  ],
  [
    'backup without failover: silent (separate databases)',
    { vrrp: backup },
    { serveRelayed: false, serveDirect: false, vrrpWeight: 0 },
  ],
  [
    'MASTER whose VIP is not bound yet: not yet answering relayed clients',
    { vrrp: { state: 'MASTER', vips: [], peerHeard: false }, failover: normal },
    { serveRelayed: false, answerAllRelayed: false, serverId: undefined },
  ],
  [
    'INIT: waiting for the election',
    { vrrp: { state: 'INIT', vips: [], peerHeard: false }, failover: normal },
    { serveRelayed: false, serveDirect: true },
    /waiting for the VRRP election/,
  ],
  [
    'FAULT: no relayed clients',
    { vrrp: { state: 'FAULT', vips: [], peerHeard: true }, failover: normal },
    { serveRelayed: false },
    /VRRP FAULT/,
  ],
  [
    'store not writable: gives up the VIP, answers nothing',
    { vrrp: master, failover: normal, dhcp: { storeFailure: 'ENOSPC' } },
    { serveRelayed: false, serveDirect: false, vrrpWeight: UNHEALTHY_WEIGHT },
    /not answering: lease store failed: ENOSPC/,
  ],
  [
    'overloaded: gives up the VIP',
    { vrrp: master, dhcp: { overloaded: 'shedding 40 % of requests' } },
    { serveRelayed: false, vrrpWeight: UNHEALTHY_WEIGHT },
    /overloaded/,
  ],
  [
    'recover not finished: never takes the VIP from a healthy peer',
    { vrrp: backup, failover: { ...normal, my: 'recover-wait', partner: 'partner-down', scope: 'none' } },
    { serveRelayed: false, serveDirect: false, vrrpWeight: UNHEALTHY_WEIGHT },
    /failover fo in recover-wait: not resynchronised with the partner yet/,
  ],
  [
    'a failover state that must not serve (potential-conflict)',
    { vrrp: master, failover: { ...normal, my: 'potential-conflict', scope: 'none' } },
    { serveRelayed: false, vrrpWeight: UNHEALTHY_WEIGHT },
    /no client may be answered/,
  ],
  [
    'communications-interrupted VIP holder: serves (its own free leases), weight 0',
    { vrrp: master, failover: commInt },
    { serveRelayed: true, answerAllRelayed: true, vrrpWeight: 0, partnerDown: false },
    /link down/,
  ],
  [
    'communications-interrupted backup: directly attached clients still answered (its own free leases), nothing relayed',
    { vrrp: backup, failover: commInt },
    { serveRelayed: false, answerAllRelayed: false, serveDirect: true, vrrpWeight: 0 },
    /directly attached clients by the failover hash/,
  ],
  [
    'partner-down survivor holding the VIP: every relayed and directly attached client',
    {
      vrrp: { ...master, peerHeard: false },
      failover: { ...commInt, my: 'partner-down', partner: 'communications-interrupted', scope: 'all' },
    },
    { serveRelayed: true, answerAllRelayed: true, serveDirect: true, vrrpWeight: 0, partnerDown: false },
  ],
  [
    'handover: keeps answering while it holds the VIP, gives up its priority so the peer takes it',
    { vrrp: master, failover: normal, handover: true },
    {
      serveRelayed: true,
      answerAllRelayed: true,
      vrrpWeight: UNHEALTHY_WEIGHT,
      health: 'handing over to the peer (hadhcp handover)',
    },
    /handing over to the peer/,
  ],
  [
    'handover done: backup, silent to relayed clients, still away from the VIP',
    { vrrp: backup, failover: normal, handover: true },
    { serveRelayed: false, serveDirect: true, vrrpWeight: UNHEALTHY_WEIGHT },
  ],
];

describe('decide: one row per rule', () => {
  it.each(rows)('%s', (_name, input, want, reason) => {
    const d = decide({ ...base, ...input });
    expect(d).toMatchObject(want);
    if (reason) expect(d.reason).toMatch(reason);
  });
});

describe('automatic partner-down: only when both signals agree, after the safety delay', () => {
  const gone: SupervisorInput = {
    ...base,
    vrrp: { ...master, peerHeard: false },
    failover: commInt,
    peerGoneMs: 5_000,
    partnerDownAfterMs: 5_000,
  };
  it('failover link down AND no advert, for the delay: partner-down', () => {
    expect(decide(gone).partnerDown).toBe(true);
  });
  it('1 ms before the delay: not yet', () => {
    expect(decide({ ...gone, peerGoneMs: 4_999 }).partnerDown).toBe(false);
  });
  it('VRRP still hears the peer (failover link alone is down): communications-interrupted stays', () => {
    expect(decide({ ...gone, vrrp: master }).partnerDown).toBe(false);
  });
  it('failover link up (VRRP alone lost): no partner-down', () => {
    expect(decide({ ...gone, failover: { ...commInt, connected: true } }).partnerDown).toBe(false);
  });
  it('not configured: never automatic', () => {
    expect(decide({ ...gone, partnerDownAfterMs: undefined }).partnerDown).toBe(false);
  });
  it('only from communications-interrupted or resolution-interrupted', () => {
    expect(decide({ ...gone, failover: { ...commInt, my: 'normal' } }).partnerDown).toBe(false);
    expect(decide({ ...gone, failover: { ...commInt, my: 'resolution-interrupted' } }).partnerDown).toBe(
      true,
    );
    expect(decide({ ...gone, failover: { ...commInt, my: 'partner-down' } }).partnerDown).toBe(false);
  });
  it('without VRRP there is no second signal: never automatic (ISC auto-partner-down is the failover setting)', () => {
    expect(decide({ ...gone, vrrp: undefined }).partnerDown).toBe(false);
  });
});

describe('death notice: the partner daemon died, its host lives', () => {
  it.each([
    ['closed', 'normal', false, true],
    ['closed: read ECONNRESET', 'normal', false, true],
    ['timeout', 'normal', false, false],
    ['disconnect', 'normal', false, false],
    ['malformed', 'normal', false, false],
    [undefined, 'normal', false, false],
    ['closed', 'shutdown', false, false],
    ['closed', 'normal', true, false],
  ] as const)('why %s, partner %s, stopping %s -> %s', (why, partnerState, stopping, want) => {
    expect(isDeathNotice({ why, partnerState, stopping })).toBe(want);
  });
});
