import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ControlServer, Result } from '@hadhcp/control';
import type { FailoverPeerStatus } from '@hadhcp/failover';
import { renderStatus, runFailoverAction, runFailoverStatus } from './client-commands.js';
import { renderFailover } from './failover-format.js';
import { peerStatusFixture } from '../../failover/test-vectors/status-fixture.js';

const now = Date.parse('2026-12-02T14:00:00Z') / 1000;

/** Typed as the daemon sends it: if FailoverPeerStatus changes so that the CLI's reading no longer fits, this fails. */
const normal: FailoverPeerStatus = peerStatusFixture('dhcp-failover', {
  lastContact: '2026-12-02T13:59:58.000Z',
  updates: { queued: 2, unacked: 1, requestsOpen: 0, lazy: false },
  pool: { total: 200, free: 90, backup: 95 },
  pools: [{ label: '10.0.0.100 - 10.0.0.299', total: 200, free: 90, backup: 95 }],
  counters: {
    'in.BNDUPD': 40,
    'out.BNDACK': 38,
    'bndupd.acked': 38,
    'bndupd.rejected.15': 2,
    'bndack.rejected.2': 1,
    'malformed.truncated': 3,
    'transport.accepted': 1,
  },
});

const interrupted: FailoverPeerStatus = {
  ...normal,
  state: 'communications-interrupted',
  since: '2026-12-02T13:55:00.000Z',
  partnerState: 'normal',
  serve: 'own',
  connected: false,
  link: undefined,
  lastContact: '2026-12-02T13:54:00.000Z',
  updates: { queued: 5, unacked: 0, requestsOpen: 0, lazy: true },
  pool: undefined,
  counters: { 'bndupd.acked': 0 },
};

describe('hadhcp status: failover', () => {
  it('shows a relationship in normal: states with their times, the link, serving, MCLT, updates, pool, key counters', () => {
    expect(renderFailover([normal], now)).toEqual([
      '  "dhcp-failover" (primary): my state normal at 2026/12/02 11:00:00 UTC (3h ago)',
      '    partner state normal at 2026/12/02 11:00:01 UTC (3h ago)',
      '    link: connected 10.0.0.2:647 <-> 10.0.0.3:40112 (partner dialled in 3h ago); last contact 2s ago',
      '    serving: all (load balanced: the primary answers 128 of 256 hash buckets); MCLT 3600s (60m)',
      '    updates: 2 queued, 1 unacked',
      '    pool: 200 total: 90 free, 95 backup, 15 in use',
      '    counters: bndack.rejected.2 1, bndupd.acked 38, bndupd.rejected.15 2, malformed.truncated 3',
    ]);
  });

  it('says the link is down, what is served, and the way out when the partner is unreachable', () => {
    const out = renderFailover([interrupted], now);
    expect(out[0]).toBe(
      '  "dhcp-failover" (primary): my state communications-interrupted at 2026/12/02 13:55:00 UTC (5m ago)',
    );
    expect(out).toContain('    link: NOT connected; last contact 6m ago');
    expect(out).toContain(
      '    serving: own free leases only (every client, from our own free addresses); MCLT 3600s (60m)',
    );
    expect(out).toContain('    updates: 5 queued, 0 unacked (lazy)');
    expect(out).toContain('    counters: bndupd.acked 0');
    expect(out.at(-1)).toBe(
      '    partner unreachable. Only if it is known to be down: hadhcp partner-down dhcp-failover (read --help first)',
    );
    expect(out.join('\n')).not.toContain('pool:');
  });

  it('in partner-down, says when the partner leases become ours; a partner never heard has no time', () => {
    const out = renderFailover(
      [
        {
          ...interrupted,
          state: 'partner-down',
          serve: 'all',
          partnerState: 'unknown-state',
          partnerSince: '1970-01-01T00:00:00.000Z',
          lastContact: undefined,
          reclaimAt: '2026-12-02T15:00:00.000Z',
        },
      ],
      now,
    );
    expect(out).toContain('    partner state unknown-state');
    expect(out).toContain('    link: NOT connected; last contact never');
    expect(out).toContain('    serving: all; MCLT 3600s (60m)');
    expect(out).toContain("    partner's expired leases ours at 2026/12/02 15:00:00 UTC (in 60m)");
    expect(out.join('\n')).not.toContain('partner-down dhcp-failover');
  });

  it('is a section of hadhcp status, after VRRP', () => {
    const out = renderStatus({ pid: 1, uptime: 5, version: '0.1.0', failover: [normal, interrupted] }, now);
    const lines = out.split('\n');
    const i = lines.indexOf('Failover:');
    expect(i).toBeGreaterThan(0);
    expect(lines[i + 1]).toMatch(/^ {2}"dhcp-failover" \(primary\): my state normal/);
    expect(lines.filter((l) => l.startsWith('  "dhcp-failover"'))).toHaveLength(2);
    expect(renderStatus({ pid: 1, uptime: 5, version: '0.1.0' }, now)).not.toContain('Failover');
  });
});

describe('hadhcp partner-down, failover resync, failover status', () => {
  const servers: ControlServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    vi.restoreAllMocks();
  });

  /** A daemon's control socket answering the failover commands as commands.ts does; records what was asked. */
  async function daemon(asked: unknown[]): Promise<string> {
    const s = new ControlServer(join(mkdtempSync(join(tmpdir(), 'hadhcp-cli-')), 'ctl.sock'));
    s.register('failover-status', (a) => {
      asked.push(['failover-status', a]);
      if (a.relationship === 'nope')
        return { result: Result.ERROR, text: 'no failover relationship "nope"; known: "dhcp-failover"' };
      return { result: Result.SUCCESS, text: 'failover status', arguments: { relationships: [normal] } };
    });
    s.register('failover-partner-down', (a) => {
      asked.push(['failover-partner-down', a]);
      return { result: Result.ERROR, text: 'failover peer "dhcp-failover" stays in normal: ...' };
    });
    s.register('failover-resync', (a) => {
      asked.push(['failover-resync', a]);
      return {
        result: Result.SUCCESS,
        text: 'failover peer "dhcp-failover": asked the partner for every binding.',
      };
    });
    await s.listen();
    servers.push(s);
    return s.path;
  }

  function capture() {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((m: string) => void out.push(m));
    vi.spyOn(console, 'error').mockImplementation((m: string) => void err.push(m));
    return { out, err };
  }

  it('sends the relationship named (or none), prints the answer, exits 0 done / 1 refused', async () => {
    const asked: unknown[] = [];
    const socket = await daemon(asked);
    const io = capture();
    expect(await runFailoverAction('failover-partner-down', 'dhcp-failover', { socket })).toBe(1);
    expect(await runFailoverAction('failover-resync', undefined, { socket })).toBe(0);
    expect(await runFailoverStatus(undefined, { socket })).toBe(0);
    expect(await runFailoverStatus('dhcp-failover', { socket, json: true })).toBe(0);
    expect(await runFailoverStatus('nope', { socket })).toBe(1);
    expect(asked).toEqual([
      ['failover-partner-down', { relationship: 'dhcp-failover' }],
      ['failover-resync', {}],
      ['failover-status', {}],
      ['failover-status', { relationship: 'dhcp-failover' }],
      ['failover-status', { relationship: 'nope' }],
    ]);
    expect(io.err).toEqual([
      'hadhcp: failover peer "dhcp-failover" stays in normal: ...',
      'hadhcp: no failover relationship "nope"; known: "dhcp-failover"',
    ]);
    expect(io.out[0]).toBe('failover peer "dhcp-failover": asked the partner for every binding.');
    expect(io.out[1]).toContain('"dhcp-failover" (primary): my state normal');
    expect(JSON.parse(io.out[2]!)).toMatchObject({
      result: 0,
      arguments: { relationships: [{ name: 'dhcp-failover' }] },
    });
  });
});
