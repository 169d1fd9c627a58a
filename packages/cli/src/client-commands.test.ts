import { describe, expect, it } from 'vitest';
import { renderStatus } from './client-commands.js';

describe('hadhcp status output', () => {
  const now = 1_800_000_000;
  const status = {
    pid: 42,
    uptime: 10,
    version: '0.1.0',
    dhcp: {
      serving: false,
      reason: 'VRRP backup: the VIP holder answers',
      leases: { active: 3, abandoned: 1 },
      drops: { 'not-vip-holder': 7 },
    },
    vrrp: [
      {
        name: 'VI_1',
        state: 'FAULT',
        priority: 150,
        effectivePriority: 150,
        priorityReasons: [],
        masterAddress: '10.0.0.3',
        lastTransition: {
          at: new Date((now - 30) * 1000).toISOString(),
          from: 'MASTER',
          to: 'FAULT',
          reason: 'eth1 down',
        },
        advertsSent: 12,
        advertsReceived: 4,
        drops: { 'auth-mismatch': 2 },
        faults: ['track_interface eth1 down'],
        disabledScripts: ['track script chk_dhcp'],
        scriptsNotRun: [
          {
            script: 'track script chk_gw',
            command: '/etc/hadhcp/chk_gw.sh',
            user: 'root',
            reason:
              'cannot switch to user root (uid 0, gid 0): hadhcp runs as hadhcp (uid 998) without CAP_SETUID and CAP_SETGID (spawn EPERM)',
            fix: 'add CAP_SETUID CAP_SETGID to AmbientCapabilities= ...',
            attempts: 25,
            since: new Date((now - 25) * 1000).toISOString(),
            last: new Date(now * 1000).toISOString(),
          },
        ],
      },
    ],
  };

  it('says whether DHCP serves and why, with leases by state and drops by reason', () => {
    const out = renderStatus(status, now);
    expect(out).toContain('DHCP: NOT serving (VRRP backup: the VIP holder answers)');
    expect(out).toContain('leases: active 3, abandoned 1');
    expect(out).toContain('dropped packets: not-vip-holder 7');
  });

  it('shows each VRRP instance: state, priorities, master, last change with its age and reason, faults, refused scripts', () => {
    const out = renderStatus(status, now);
    expect(out).toMatch(/VI_1\s+FAULT\s+150\s+150\s+10\.0\.0\.3\s+MASTER->FAULT 30s ago: eth1 down\s+12\/4/);
    expect(out).toContain('VI_1 drops: auth-mismatch 2');
    expect(out).toContain('VI_1 in FAULT because: track_interface eth1 down');
    expect(out).toContain(
      'VI_1 scripts refused by enable_script_security (never run; see the log): track script chk_dhcp',
    );
  });

  it('lists the scripts it could not run, as whom, how often, why, and the fix', () => {
    const lines = renderStatus(status, now).split('\n');
    const i = lines.findIndex((l) => l.includes('cannot run'));
    expect(lines[i]).toBe(
      '  VI_1 cannot run track script chk_gw (/etc/hadhcp/chk_gw.sh) as root (25 attempts, first 25s ago): cannot switch to user root (uid 0, gid 0): hadhcp runs as hadhcp (uid 998) without CAP_SETUID and CAP_SETGID (spawn EPERM)',
    );
    expect(lines[i + 1]).toBe('    fix: add CAP_SETUID CAP_SETGID to AmbientCapabilities= ...');
  });
});
