import type { FailoverRelationshipJson, PoolUseJson } from '@hadhcp/control';
import { ago, human, iscDate } from './format.js';

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

function serving(f: FailoverRelationshipJson): string {
  if (f.serve === 'none') return 'NONE (answers no client)';
  if (f.serve === 'own') return 'own free leases only (every client, from our own free addresses)';
  if (f.state === 'normal' && f.primaryBuckets !== undefined)
    return `all (load balanced: the primary answers ${f.primaryBuckets} of 256 hash buckets)`;
  return 'all';
}

/**
 * `200 total: 90 free, 95 backup, 15 in use`: free is the primary's to hand out, backup the secondary's (ISC's
 * names); in use is the rest (active, expired, released, abandoned...).
 */
function poolUse(p: PoolUseJson): string {
  return `${p.total} total: ${p.free} free, ${p.backup} backup, ${p.total - p.free - p.backup} in use`;
}

/**
 * The failover section of `hadhcp status` and `hadhcp failover status`: a few lines per relationship
 * (@hadhcp/control's FailoverRelationshipJson, which the daemon fills from FailoverPeerStatus).
 */
export function renderFailover(list: readonly FailoverRelationshipJson[], nowSec: number): string[] {
  const out: string[] = [];
  for (const f of list) {
    const l = f.link;
    out.push(
      `  "${f.name}" (${f.role}): my state ${f.state}${at(f.since, nowSec)}`,
      `    partner state ${f.partnerState}${at(f.partnerSince, nowSec)}`,
      `    link: ${
        f.connected && l
          ? `connected ${l.local} <-> ${l.remote} (${l.direction === 'in' ? 'partner dialled in' : 'we dialled'} ${ago(toSec(l.since), nowSec)})`
          : 'NOT connected'
      }; last contact ${f.lastContact ? ago(toSec(f.lastContact), nowSec) : 'never'}`,
      `    serving: ${serving(f)}; MCLT ${f.mclt}s${f.mclt >= 120 ? ` (${human(f.mclt)})` : ''}`,
      `    updates: ${f.updates.queued} queued, ${f.updates.unacked} unacked${f.updates.lazy ? ' (lazy)' : ''}` +
        (f.updates.requestsOpen ? `, ${f.updates.requestsOpen} partner update requests open` : ''),
    );
    if (f.pool) out.push(`    pool: ${poolUse(f.pool)}`);
    if (f.pools.length > 1) for (const p of f.pools) out.push(`      ${p.label}: ${poolUse(p)}`);
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
