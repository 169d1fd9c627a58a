import { describe, expect, it } from 'vitest';
import type { EventJson, StatusReport, SupervisorDecisionJson } from '@hadhcp/control';
import type { FailoverPeerStatus } from '@hadhcp/failover';
import type { InstanceStatus } from '@hadhcp/vrrp';
import { renderStatus, SCREEN } from './status-format.js';

/*
 * `hadhcp status` for the pair behind `ip helper-address 10.0.0.1`: rta (10.0.0.2, primary) and rtb (10.0.0.3,
 * secondary). The parts are typed as the daemon's producers return them (InstanceStatus, FailoverPeerStatus):
 * if one changes so that the report no longer fits @hadhcp/control's StatusReport, this file stops compiling.
 */

const now = Date.parse('2026-12-02T14:00:00Z') / 1000;
const iso = (hhmmss: string) => `2026-12-02T${hhmmss}.000Z`;

const POOLS = [
  { label: '10.1.0.100 - 10.1.0.249', total: 150, free: 40, backup: 45 },
  { label: '10.2.0.100 - 10.2.0.249', total: 150, free: 48, backup: 50 },
];

const vrrpMaster: InstanceStatus & { priority: number } = {
  name: 'VI_DHCP',
  interface: 'eth0',
  vrid: 53,
  state: 'MASTER',
  priority: 150,
  configuredPriority: 150,
  effectivePriority: 150,
  priorityReasons: [],
  faults: [],
  disabledScripts: [],
  scriptsNotRun: [],
  ownAddress: '10.0.0.2',
  masterAddress: '10.0.0.2',
  lastTransition: { from: 'BACKUP', to: 'MASTER', at: iso('11:00:04'), reason: 'master down timer' },
  advertsSent: 10796,
  advertsReceived: 3,
  drops: {},
  vips: ['10.0.0.1/24'],
};

const failoverNormal: FailoverPeerStatus = {
  name: 'dhcp-failover',
  role: 'primary',
  state: 'normal',
  since: iso('11:00:02'),
  partnerState: 'normal',
  partnerSince: iso('11:00:02'),
  mclt: 3600,
  serve: 'all',
  connected: true,
  link: { local: '10.0.0.2:647', remote: '10.0.0.3:40112', direction: 'in', since: iso('11:00:01') },
  lastContact: iso('13:59:58'),
  partner: { maxUnacked: 10, receiveTimer: 60, vendorClass: 'hadhcp-0.1.0' },
  primaryBuckets: 128,
  updates: { queued: 0, unacked: 0, requestsOpen: 0, lazy: false },
  pool: { total: 300, free: 88, backup: 95 },
  pools: POOLS,
  reclaimAt: undefined,
  counters: { 'bndupd.acked': 1204, 'in.BNDUPD': 610, 'out.BNDUPD': 1204 },
};

const MASTER_REASON =
  'VRRP master holding 10.0.0.1: answering every relayed client at once; failover dhcp-failover: normal, partner normal';

const decisionMaster: SupervisorDecisionJson = {
  serveRelayed: true,
  answerAllRelayed: true,
  serveDirect: true,
  serverId: '10.0.0.1',
  vrrpWeight: 0,
  partnerDown: false,
  reason: MASTER_REASON,
  health: 'able to serve',
};

const ev = (hhmmss: string, kind: EventJson['kind'], text: string, alarm = false): EventJson => ({
  at: iso(hhmmss),
  kind,
  text,
  ...(alarm ? { alarm } : {}),
});

const store = {
  leases: 300,
  metaKeys: 2,
  generation: 3,
  journalBytes: 48_213,
  liveBytes: 30_000,
  commits: 1210,
  syncs: 800,
  compactions: 2,
  openMs: 12,
  tornBytesAtOpen: 0,
  skippedAtOpen: [],
  recoveries: 0,
};

const master: StatusReport = {
  pid: 4242,
  version: '0.1.0',
  uptime: 3 * 3600,
  dhcp: {
    serving: true,
    reason: MASTER_REASON,
    serverId: '10.0.0.1',
    interfaces: ['eth1'],
    leases: { free: 88, active: 112, expired: 5, backup: 95 },
    drops: { 'not-ours-by-hash': 14 },
    counters: { 'packets-received': 5210 },
  },
  vrrp: [vrrpMaster],
  supervisor: decisionMaster,
  failover: [failoverNormal],
  store,
  events: [
    ev('11:00:00', 'daemon', 'hadhcp 0.1.0 started'),
    ev('11:00:00', 'vrrp', 'VRRP VI_DHCP INIT -> BACKUP: startup'),
    ev('11:00:01', 'link', 'failover dhcp-failover: link up with 10.0.0.3:40112 (partner dialled in)'),
    ev('11:00:02', 'failover', 'failover dhcp-failover: startup -> normal'),
    ev('11:00:04', 'vrrp', 'VRRP VI_DHCP BACKUP -> MASTER: master down timer'),
    ev(
      '11:00:04',
      'serving',
      'serving: VRRP master holding 10.0.0.1: answering every relayed client at once',
    ),
  ],
};

const NOT_CAUGHT_UP = 'failover dhcp-failover in recover-wait: not resynchronised with the partner yet';
const BACKUP_REASON = `not answering: ${NOT_CAUGHT_UP}; failover dhcp-failover: recover-wait, partner partner-down`;

/** rtb came back with an empty disk: failover recovers, the supervisor keeps it off the VIP and silent. */
const backupRecovering: StatusReport = {
  pid: 977,
  version: '0.1.0',
  uptime: 240,
  dhcp: {
    serving: false,
    reason: BACKUP_REASON,
    interfaces: ['eth1'],
    leases: { free: 90, active: 110, backup: 95 },
    drops: { 'not-serving': 31 },
    counters: {},
  },
  vrrp: [
    {
      ...vrrpMaster,
      state: 'BACKUP',
      priority: 100,
      configuredPriority: 100,
      effectivePriority: 1,
      priorityReasons: [`-253 external: ${NOT_CAUGHT_UP} failing`],
      ownAddress: '10.0.0.3',
      masterAddress: '10.0.0.2',
      lastTransition: { from: 'INIT', to: 'BACKUP', at: iso('13:56:00'), reason: 'startup' },
      advertsSent: 0,
      advertsReceived: 240,
      vips: [],
    } satisfies InstanceStatus & { priority: number },
  ],
  supervisor: {
    serveRelayed: false,
    answerAllRelayed: false,
    serveDirect: false,
    vrrpWeight: -253,
    partnerDown: false,
    reason: BACKUP_REASON,
    health: NOT_CAUGHT_UP,
  },
  failover: [
    {
      ...failoverNormal,
      role: 'secondary',
      state: 'recover-wait',
      since: iso('13:57:10'),
      partnerState: 'partner-down',
      partnerSince: iso('12:10:00'),
      serve: 'none',
      link: { local: '10.0.0.3:40112', remote: '10.0.0.2:647', direction: 'out', since: iso('13:56:01') },
      primaryBuckets: undefined,
      updates: { queued: 0, unacked: 0, requestsOpen: 0, lazy: false },
      counters: { 'bndupd.acked': 0, 'in.BNDUPD': 205 },
    } satisfies FailoverPeerStatus,
  ],
  store: { ...store, leases: 205, generation: 1, journalBytes: 21_000 },
  events: [
    ev('13:56:00', 'daemon', 'hadhcp 0.1.0 started'),
    ev('13:56:00', 'vrrp', 'VRRP VI_DHCP INIT -> BACKUP: startup'),
    ev('13:56:01', 'link', 'failover dhcp-failover: link up with 10.0.0.2:647 (we dialled)'),
    ev('13:56:01', 'failover', 'failover dhcp-failover: startup -> recover', true),
    ev('13:57:10', 'failover', 'failover dhcp-failover: recover -> recover-wait'),
  ],
};

const STORE_ERR =
  'lease store /var/lib/hadhcp failed (ENOSPC: no space left on device, write): whether the last writes reached ' +
  'the disk is unknown, so no write is accepted until the store is reopened (it retries by itself)';
const STORE_REASON = `lease store failed: ${STORE_ERR} (retrying: 7 attempt(s) so far, last: ENOSPC: no space left on device, write; next attempt in 4 s)`;
const STORE_DECISION_REASON = `not answering: lease store failed: ${STORE_ERR}; failover dhcp-failover: normal, partner normal`;

/** rta's disk filled up: no lease can be stored, so it answers nobody and gives the VIP to rtb. */
const storeFailed: StatusReport = {
  ...master,
  dhcp: { ...master.dhcp!, serving: false, reason: STORE_REASON, drops: { 'store-failed': 12 } },
  vrrp: [
    {
      ...vrrpMaster,
      state: 'BACKUP',
      effectivePriority: 1,
      priorityReasons: [`-253 external: lease store failed: ${STORE_ERR} failing`],
      masterAddress: '10.0.0.3',
      lastTransition: {
        from: 'MASTER',
        to: 'BACKUP',
        at: iso('13:58:01'),
        reason: 'advert from 10.0.0.3 priority 100',
      },
      vips: [],
    },
  ],
  supervisor: {
    serveRelayed: false,
    answerAllRelayed: false,
    serveDirect: false,
    vrrpWeight: -253,
    partnerDown: false,
    reason: STORE_DECISION_REASON,
    health: `lease store failed: ${STORE_ERR}`,
  },
  store: {
    ...store,
    failed: STORE_ERR,
    recovery: { attempts: 7, lastError: 'ENOSPC: no space left on device, write', nextAttemptInMs: 3_600 },
  },
  events: [
    ...master.events!,
    ev(
      '13:58:00',
      'store',
      'lease store /var/lib/hadhcp failed (ENOSPC: no space left on device, write)',
      true,
    ),
    ev(
      '13:58:00',
      'serving',
      'not serving: lease store /var/lib/hadhcp failed (ENOSPC: no space left on device, write)',
      true,
    ),
    ev('13:58:01', 'vrrp', 'VRRP VI_DHCP MASTER -> BACKUP: advert from 10.0.0.3 priority 100', true),
  ],
};

/** Every line fits the screen, the page too. */
function fitsScreen(text: string): void {
  const lines = text.split('\n');
  expect(lines.filter((l) => l.length > SCREEN.columns)).toEqual([]);
  expect(lines.length).toBeLessThanOrEqual(SCREEN.rows);
}

describe('hadhcp status: one screen', () => {
  it('a master in normal: serving, why, what it answers as which server id; VRRP; failover; pools; events', () => {
    const out = renderStatus(master, now);
    fitsScreen(out);
    expect(out.split('\n')).toEqual([
      'hadhcp 0.1.0, pid 4242, up 3h',
      '',
      'DHCP: serving',
      '  why: VRRP master holding 10.0.0.1: answering every relayed client at once',
      '       failover dhcp-failover: normal, partner normal',
      '  answers: relayed clients every one, as 10.0.0.1; directly attached clients by the failover hash',
      '  direct interfaces: eth1',
      '  leases: free 88, active 112, expired 5, backup 95',
      '  dropped packets: not-ours-by-hash 14',
      '  lease store: 300 records, generation 3, journal 48 kB',
      '',
      'VRRP:',
      '  instance  state   prio  effective (why)',
      '  VI_DHCP   MASTER  150   150',
      '    master: this node (10.0.0.2), holding 10.0.0.1/24; adverts 10796 sent, 3 received',
      '    last change BACKUP->MASTER 3h ago: master down timer',
      '',
      'Failover:',
      '  "dhcp-failover" (primary): my state normal at 2026/12/02 11:00:02 UTC (3h ago)',
      '    partner state normal at 2026/12/02 11:00:02 UTC (3h ago)',
      '    link: connected 10.0.0.2:647 <-> 10.0.0.3:40112 (partner dialled in 3h ago); last contact 2s ago',
      '    serving: all (load balanced: the primary answers 128 of 256 hash buckets); MCLT 3600s (60m)',
      '    updates: 0 queued, 0 unacked',
      '    pool: 300 total: 88 free, 95 backup, 117 in use',
      '      10.1.0.100 - 10.1.0.249: 150 total: 40 free, 45 backup, 65 in use',
      '      10.2.0.100 - 10.2.0.249: 150 total: 48 free, 50 backup, 52 in use',
      '    counters: bndupd.acked 1204',
      '',
      'Last events (UTC):',
      '  11:00:00   3h ago   hadhcp 0.1.0 started',
      '  11:00:00   3h ago   VRRP VI_DHCP INIT -> BACKUP: startup',
      '  11:00:01   3h ago   failover dhcp-failover: link up with 10.0.0.3:40112 (partner dialled in)',
      '  11:00:02   3h ago   failover dhcp-failover: startup -> normal',
      '  11:00:04   3h ago   VRRP VI_DHCP BACKUP -> MASTER: master down timer',
      '  11:00:04   3h ago   serving: VRRP master holding 10.0.0.1: answering every relayed client at once',
    ]);
  });

  it('a backup not resynchronised: NOT serving, why, its priority given up and why, both failover states', () => {
    const out = renderStatus(backupRecovering, now);
    fitsScreen(out);
    const lines = out.split('\n');
    expect(lines.slice(2, 9)).toEqual([
      'DHCP: NOT serving',
      '  why: not answering: failover dhcp-failover in recover-wait: not resynchronised with the partner',
      '         yet',
      '       failover dhcp-failover: recover-wait, partner partner-down',
      '  answers: relayed clients none; directly attached clients none',
      '  VRRP priority -253 on every instance, so the peer takes the VIP',
      '  direct interfaces: eth1',
    ]);
    // The supervisor's weight points at the reason above instead of repeating it.
    expect(lines).toContain('  VI_DHCP   BACKUP  100   1 (-253 from the supervisor: see DHCP)');
    expect(lines).toContain('    master: 10.0.0.2; adverts 0 sent, 240 received');
    expect(lines).toContain(
      '  "dhcp-failover" (secondary): my state recover-wait at 2026/12/02 13:57:10 UTC (3m ago)',
    );
    expect(lines).toContain('    partner state partner-down at 2026/12/02 12:10:00 UTC (110m ago)');
    expect(lines).toContain('    serving: NONE (answers no client); MCLT 3600s (60m)');
    expect(lines).toContain('  13:56:01   4m ago ! failover dhcp-failover: startup -> recover');
  });

  it('the store failed: NOT serving because of it, the error whole, the retries, the VIP given away', () => {
    const out = renderStatus(storeFailed, now);
    fitsScreen(out);
    const lines = out.split('\n');
    expect(lines[2]).toBe('DHCP: NOT serving');
    expect(lines[3]).toBe(
      '  why: lease store failed: lease store /var/lib/hadhcp failed (ENOSPC: no space left on device,',
    );
    expect(lines.slice(4, 7)).toEqual([
      '         write): whether the last writes reached the disk is unknown, so no write is accepted until',
      '         the store is reopened (it retries by itself) (retrying: 7 attempt(s) so far, last: ENOSPC:',
      '         no space left on device, write; next attempt in 4 s)',
    ]);
    // The supervisor's health repeats the store error already given: not said twice, nor in VRRP's row.
    expect(lines).toContain('  VRRP priority -253 on every instance, so the peer takes the VIP');
    expect(lines).toContain(
      '  lease store: FAILED, refusing every write; retrying by itself: 7 attempts so far, next in 4s',
    );
    expect(lines).toContain('  VI_DHCP   BACKUP  150   1 (-253 from the supervisor: see DHCP)');
    expect(lines).toContain('    last change MASTER->BACKUP 119s ago: advert from 10.0.0.3 priority 100');
    // An event longer than the screen wraps under itself.
    expect(lines.slice(-4)).toEqual([
      '  13:58:00   2m ago ! lease store /var/lib/hadhcp failed (ENOSPC: no space left on device, write)',
      '  13:58:00   2m ago ! not serving: lease store /var/lib/hadhcp failed (ENOSPC: no space left on',
      '                        device, write)',
      '  13:58:01 119s ago ! VRRP VI_DHCP MASTER -> BACKUP: advert from 10.0.0.3 priority 100',
    ]);
  });

  it('without failover the VIP holder answers every client, direct ones too (the databases are separate)', () => {
    const lines = renderStatus({ ...master, failover: undefined }, now).split('\n');
    expect(lines).toContain(
      '  answers: relayed clients every one, as 10.0.0.1; directly attached clients every one',
    );
    expect(lines).not.toContain('Failover:');
  });

  it('a backup in normal: not serving relayed clients, its directly attached ones by the failover hash', () => {
    const lines = renderStatus(
      {
        ...master,
        dhcp: {
          ...master.dhcp!,
          serving: false,
          reason: 'VRRP backup: the VIP holder answers relayed clients',
        },
        supervisor: { ...decisionMaster, serveRelayed: false, answerAllRelayed: false, serverId: undefined },
      },
      now,
    ).split('\n');
    expect(lines.slice(2, 5)).toEqual([
      'DHCP: NOT serving relayed clients',
      '  why: VRRP backup: the VIP holder answers relayed clients',
      '  answers: relayed clients none; directly attached clients by the failover hash',
    ]);
  });

  it('shows the newest events that fit the screen and says how many older ones --json has', () => {
    const many = Array.from({ length: 20 }, (_, n) =>
      ev(`13:${String(30 + n).padStart(2, '0')}:00`, 'link', `event ${n}`),
    );
    const lines = renderStatus({ ...master, events: many }, now).split('\n');
    expect(lines.length).toBe(SCREEN.rows);
    const title = lines.findIndex((l) => l.startsWith('Last events'));
    const shown = lines.length - title - 1;
    expect(lines[title]).toBe(`Last events (UTC), ${20 - shown} older in hadhcp status --json:`);
    expect(lines.at(-1)).toMatch(/ event 19$/);
  });

  it('a VRRP-only node, and scripts it cannot run: as whom, how often, why, and the fix', () => {
    const out = renderStatus(
      {
        pid: 1,
        uptime: 30,
        version: '0.1.0',
        vrrp: [
          {
            ...vrrpMaster,
            state: 'FAULT',
            faults: ['track_interface eth1 down'],
            disabledScripts: ['track script chk_dhcp'],
            drops: { 'auth-mismatch': 2 },
            scriptsNotRun: [
              {
                script: 'track script chk_gw',
                command: '/etc/hadhcp/chk_gw.sh',
                user: 'root',
                reason: 'cannot switch to user root (uid 0, gid 0): hadhcp runs as hadhcp (uid 998)',
                fix: 'add CAP_SETUID CAP_SETGID to AmbientCapabilities= ...',
                attempts: 25,
                since: new Date((now - 25) * 1000).toISOString(),
                last: new Date(now * 1000).toISOString(),
              },
            ],
          },
        ],
      },
      now,
    );
    expect(out).not.toContain('DHCP:');
    expect(out).toContain('  VI_DHCP drops: auth-mismatch 2');
    expect(out).toContain('  VI_DHCP in FAULT because: track_interface eth1 down');
    expect(out).toContain(
      '  VI_DHCP scripts refused by enable_script_security (never run; see the log): track script chk_dhcp',
    );
    expect(out).toContain(
      '  VI_DHCP cannot run track script chk_gw (/etc/hadhcp/chk_gw.sh) as root (25 attempts, first 25s ago): cannot switch to user root (uid 0, gid 0): hadhcp runs as hadhcp (uid 998)\n    fix: add CAP_SETUID CAP_SETGID to AmbientCapabilities= ...',
    );
  });
});
