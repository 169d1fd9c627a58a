import { describe, expect, it } from 'vitest';
import type { LeaseJson } from '@hadhcp/control';
import { renderLeases } from './client-commands.js';

describe('hadhcp leases output', () => {
  const now = Date.parse('2026-12-02T14:00:00Z') / 1000;
  const lease = (ip: string, extra: Partial<LeaseJson> = {}): LeaseJson => ({
    'ip-address': ip,
    'hw-address': '52:54:00:7d:2d:b1',
    hostname: 'pc1',
    'binding-state': 'active',
    state: 0,
    cltt: now - 300,
    'valid-lft': 3600,
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
