import { describe, expect, it } from 'vitest';
import { renderLeases, renderStatus } from './client-commands.js';

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

describe('hadhcp leases output', () => {
  const now = Date.parse('2026-12-02T14:00:00Z') / 1000;
  const lease = (ip: string, extra: Record<string, unknown> = {}) => ({
    'ip-address': ip,
    'hw-address': '52:54:00:7d:2d:b1',
    hostname: 'pc1',
    'binding-state': 'active',
    cltt: now - 300,
    starts: now - 300,
    ends: now + 3300,
    ...extra,
  });

  it('lists leases in address order with ends and cltt, relative to now; no failover columns without failover', () => {
    const lines = renderLeases(
      [lease('10.1.0.60'), lease('10.1.0.9', { hostname: '', ends: 'never' })],
      now,
    ).split('\n');
    expect(lines[0]).toMatch(/^address\s+state\s+hardware\s+hostname\s+ends\s+cltt$/);
    expect(lines[1]).toMatch(/^10\.1\.0\.9\s+active\s+52:54:00:7d:2d:b1\s+-\s+never\s+5m ago$/);
    expect(lines[2]).toMatch(/^10\.1\.0\.60\s+active\s+52:54:00:7d:2d:b1\s+pc1\s+in 55m\s+5m ago$/);
  });

  it('adds tstp, tsfp and atsfp (dhcpd.leases words) when a lease has them; --utc writes times as dhcpd.leases does', () => {
    const leases = [
      lease('10.1.0.60', { tstp: now + 3300, tsfp: now + 1800, atsfp: now + 1800 }),
      lease('10.1.0.61'),
    ];
    const lines = renderLeases(leases, now).split('\n');
    expect(lines[0]).toMatch(/ends\s+cltt\s+tstp\s+tsfp\s+atsfp$/);
    expect(lines[1]).toMatch(/pc1\s+in 55m\s+5m ago\s+in 55m\s+in 30m\s+in 30m$/);
    expect(lines[2]).toMatch(/pc1\s+in 55m\s+5m ago\s+-\s+-\s+-$/);
    const utc = renderLeases(leases, now, true).split('\n');
    // 2026-12-02 is a Wednesday: dhcpd.leases writes `3 2026/12/02 14:55:00`.
    expect(utc[1]).toMatch(
      /pc1\s+3 2026\/12\/02 14:55:00\s+3 2026\/12\/02 13:55:00\s+3 2026\/12\/02 14:55:00\s+3 2026\/12\/02 14:30:00\s+3 2026\/12\/02 14:30:00$/,
    );
  });
});
