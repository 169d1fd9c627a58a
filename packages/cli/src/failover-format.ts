import { ago, human, iscDate } from './format.js';

/**
 * One failover relationship as `status-get` and `failover-status` send it: @hadhcp/failover's FailoverPeerStatus,
 * the fields this command reads (the CLI does not import the protocol package; failover-format.test.ts checks
 * that the real type still fits this one).
 */
export interface FailoverStatus {
  name: string;
  role: string;
  state: string;
  since: string;
  partnerState: string;
  partnerSince: string;
  mclt: number;
  serve: string;
  connected: boolean;
  link: { local: string; remote: string; direction: 'in' | 'out'; since: string } | undefined;
  lastContact: string | undefined;
  primaryBuckets: number | undefined;
  updates: { queued: number; unacked: number; requestsOpen: number; lazy: boolean };
  pool: { total: number; free: number; backup: number } | undefined;
  pools: Array<{ label: string; total: number; free: number; backup: number }>;
  reclaimAt: string | undefined;
  counters: Record<string, number>;
}

/** The counters worth a line at 3 a.m.: updates acknowledged, refused either way, bad messages, failed writes. */
const KEY_COUNTERS = [
  /^bndupd\.acked$/,
  /^bndupd\.rejected\./,
  /^bndack\.rejected\./,
  /^malformed\./,
  /-failed$/,
  /^internal-errors$/,
];

const toSec = (iso: string | undefined): number => (iso ? Math.floor(Date.parse(iso) / 1000) || 0 : 0);

/** ` at 2026/12/02 11:00:00 UTC (3h ago)`, dhcpd.leases' `my state normal at ...` form; empty when unknown. */
function at(iso: string | undefined, nowSec: number): string {
  const t = toSec(iso);
  return t > 0 ? ` at ${iscDate(t, false)} UTC (${ago(t, nowSec)})` : '';
}

function serving(f: FailoverStatus): string {
  if (f.serve === 'none') return 'NONE (answers no client)';
  if (f.serve === 'own') return 'own free leases only (every client, from our own free addresses)';
  if (f.state === 'normal' && f.primaryBuckets !== undefined)
    return `all (load balanced: the primary answers ${f.primaryBuckets} of 256 hash buckets)`;
  return 'all';
}

/** The failover section of `hadhcp status` and `hadhcp failover status`: a few lines per relationship. */
export function renderFailover(list: readonly FailoverStatus[], nowSec: number): string[] {
  const out: string[] = [];
  for (const f of list) {
    const l = f.link;
    out.push(
      `  "${f.name}" (${f.role}): my state ${f.state}${at(f.since, nowSec)}`,
      `    partner state ${f.partnerState}${at(f.partnerSince, nowSec)}`,
      `    link: ${
        f.connected && l
          ? `connected ${l.local} <-> ${l.remote} (${l.direction === 'in' ? 'partner dialled in' : 'we dialled'})${at(l.since, nowSec)}`
          : 'NOT connected'
      }; last contact ${f.lastContact ? ago(toSec(f.lastContact), nowSec) : 'never'}`,
      `    serving: ${serving(f)}; MCLT ${f.mclt}s${f.mclt >= 120 ? ` (${human(f.mclt)})` : ''}`,
      `    updates: ${f.updates.queued} queued, ${f.updates.unacked} unacked${f.updates.lazy ? ' (lazy)' : ''}` +
        (f.updates.requestsOpen ? `, ${f.updates.requestsOpen} partner update requests open` : ''),
    );
    if (f.pool) out.push(`    pool: ${f.pool.total} total, ${f.pool.free} free, ${f.pool.backup} backup`);
    if (f.pools.length > 1)
      for (const p of f.pools)
        out.push(`      ${p.label}: ${p.total} total, ${p.free} free, ${p.backup} backup`);
    if (f.reclaimAt) out.push(`    partner's expired leases ours${at(f.reclaimAt, nowSec)}`);
    const key = Object.entries(f.counters)
      .filter(([k]) => KEY_COUNTERS.some((re) => re.test(k)))
      .sort(([a], [b]) => a.localeCompare(b));
    if (!key.some(([k]) => k === 'bndupd.acked')) key.unshift(['bndupd.acked', 0]);
    out.push(`    counters: ${key.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (!f.connected && (f.state === 'communications-interrupted' || f.state === 'resolution-interrupted'))
      out.push(
        `    partner unreachable. Only if it is known to be down: hadhcp partner-down ${f.name} (read --help first)`,
      );
  }
  return out;
}
