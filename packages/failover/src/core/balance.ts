import type { Ip4 } from '@hadhcp/common';
import { BindingState, type Lease } from '@hadhcp/leases';
import { ServerState } from '../wire/constants.js';
import { servesBucket } from '../wire/hba.js';
import { loadBalanceHash } from '../wire/loadb.js';
import { freshLease, type BindingContext } from './bindings.js';
import type { Role } from './machine-types.js';

/*
 * Pool balancing as ISC dhcpd 4.4 does it (server/failover.c: dhcp_failover_pool_dobalance,
 * dhcp_failover_pool_check, peer_wants_lease, secondary_not_hoarding). Every address of a failover pool starts
 * FREE on both servers (FREE = the primary's to give out, BACKUP = the secondary's); the primary hands about half
 * of its FREE leases to the secondary as BACKUP, and a secondary with too many BACKUP leases hands them back as
 * FREE. Pure: the caller stores and sends the moves (one BNDUPD each) and schedules the next check.
 */

/** ISC's failover peer settings (defaults: 15 %, 10 %, 60 s, 3600 s). */
export interface BalanceSettings {
  /** Percent of the pool's free + backup leases the two sides may differ by before a check logs IMBALANCED. */
  maxLeaseMisbalance: number;
  /** Percent of the free + backup leases one side may hold beyond an even split. */
  maxLeaseOwnership: number;
  /** Seconds: the least time between two checks. */
  minBalance: number;
  /** Seconds: the most time between two checks. */
  maxBalance: number;
}

export interface PoolAddresses {
  /** For log lines, e.g. the first range "10.0.0.10 - 10.0.0.200" (where ISC prints the pool's pointer and network). */
  label: string;
  addresses: Array<{ ip: Ip4; lease: Lease | undefined }>;
}

export interface BalanceResult {
  /** The new records (starts = tstp = now, as ISC) to store and send as BNDUPD: FREE->BACKUP on the primary, BACKUP->FREE on the secondary. */
  moves: Lease[];
  /**
   * The secondary asks the primary to rebalance (ISC: lts < -2*thresh -> POOLREQ). ISC has no role test there: a
   * primary short of FREE leases asks too, and the secondary's answer gives BACKUP leases back. Timer only.
   */
  poolReq: boolean;
  /** Before the moves: total = every address of the pool (ISC's lease_count), free, backup, lts. */
  counts: { total: number; free: number; backup: number; lts: number };
  log: string[];
}

/**
 * Why the balance runs, as ISC's three entries: 'timer' (dhcp_failover_pool_rebalance: the only one that may ask
 * for a POOLREQ), 'normal' (entering normal: dhcp_failover_pool_balance) and 'poolreq' (answering the partner's
 * POOLREQ: never a POOLREQ back).
 */
export type BalanceTrigger = 'timer' | 'normal' | 'poolreq';

/** ISC's percentages, rounded to the nearest lease: ((total * pct) + 50) / 100 in integers. */
function percentOf(total: number, pct: number): number {
  return Math.trunc((total * pct + 50) / 100);
}

/** C's integer division (toward zero), as ISC's lts. */
const half = (n: number): number => Math.trunc(n / 2);

/**
 * ISC's peer_wants_lease: does the lease's client hash to the partner's buckets? The key is the client id, else
 * the hardware address without its type byte; a lease with neither (never used) wants nobody, nor does any lease
 * without an HBA.
 */
export function peerWantsLease(lease: Lease, role: Role, hba: Uint8Array): boolean {
  if (hba.length === 0) return false;
  let key: Uint8Array | undefined;
  if (lease.clientId !== undefined && lease.clientId.length > 0) key = lease.clientId;
  else if (lease.hwAddr !== undefined && lease.hwAddr.length > 0) key = lease.hwAddr;
  if (key === undefined) return false;
  return !servesBucket(hba, loadBalanceHash(key), role);
}

/** FREE and BACKUP counts of a pool (an address without a record is FREE). */
export function poolCounts(pool: PoolAddresses): { free: number; backup: number } {
  let free = 0;
  let backup = 0;
  for (const { lease } of pool.addresses) {
    const s = lease?.state ?? BindingState.FREE;
    if (s === BindingState.FREE) free++;
    else if (s === BindingState.BACKUP) backup++;
  }
  return { free, backup };
}

/**
 * ISC's MAC affinity (after accepting an EXPIRED/RELEASED/RESET BNDUPD, and after the ack of our own): the
 * primary moves a FREE lease whose client hashes to the secondary on to BACKUP, unless the secondary already
 * holds its share (secondary_not_hoarding: (free - backup) / 2 > -hold). `counts` are the pool's now. Undefined
 * when ISC would not move it. Store and send the result.
 */
export function affinityMove(
  lease: Lease,
  role: Role,
  hba: Uint8Array,
  counts: { free: number; backup: number },
  settings: BalanceSettings,
  nowSec: number,
): Lease | undefined {
  if (role !== 'primary' || lease.state !== BindingState.FREE || !peerWantsLease(lease, role, hba))
    return undefined;
  const hold = percentOf(counts.free + counts.backup, settings.maxLeaseOwnership);
  if (half(counts.free - counts.backup) <= -hold) return undefined;
  return { ...lease, state: BindingState.BACKUP, tstp: nowSec, starts: nowSec };
}

/**
 * One pool's balance (ISC's dhcp_failover_pool_dobalance), only in normal. The primary gives lts =
 * (free - backup) / 2 FREE leases to the secondary as BACKUP; the secondary gives (backup - free) / 2 BACKUP
 * leases back as FREE. thresh = max-lease-misbalance % and hold = max-lease-ownership % of free + backup.
 * Pass 1 walks the leases oldest first and moves those whose client hashes to the partner, until lts <= -hold;
 * if it gets there, that is all. Pass 2 walks again and moves the oldest, until lts <= hold (a lease used before)
 * or lts <= 0 (a never-used one, ends = 0). "Oldest" is ISC's queue order: by `ends`, then by address.
 * A side short by more than twice thresh (lts < -2 * thresh, or < -1 when thresh is 0) asks for a POOLREQ, on
 * the timer's balance only (normally the secondary: ISC does not test the role).
 */
export function balancePool(
  pool: PoolAddresses,
  role: Role,
  hba: Uint8Array,
  settings: BalanceSettings,
  ctx: BindingContext,
  trigger: BalanceTrigger = 'timer',
): BalanceResult {
  const { free, backup } = poolCounts(pool);
  let lts = role === 'primary' ? half(free - backup) : half(backup - free);
  const counts = { total: pool.addresses.length, free, backup, lts };
  if (ctx.myState !== ServerState.NORMAL) return { moves: [], poolReq: false, counts, log: [] };

  const mine = role === 'primary' ? BindingState.FREE : BindingState.BACKUP;
  const theirs = role === 'primary' ? BindingState.BACKUP : BindingState.FREE;
  const total = free + backup;
  const thresh = percentOf(total, settings.maxLeaseMisbalance);
  const hold = percentOf(total, settings.maxLeaseOwnership);
  const panic = thresh * -2 === 0 ? -1 : thresh * -2;
  const poolReq = trigger === 'timer' && lts < panic;
  const log = [
    `balancing pool ${pool.label}  total ${pool.addresses.length}  free ${free}  backup ${backup}  lts ${lts}  ` +
      `max-own (+/-)${hold}${poolReq ? '  (requesting peer rebalance!)' : ''}`,
  ];

  const queue = pool.addresses
    .map(({ ip, lease }) => lease ?? freshLease(ip, ctx.peerName))
    .filter((l) => l.state === mine)
    .sort((a, b) => a.ends - b.ends || a.address - b.address);
  const moved = new Set<Lease>();
  const moves: Lease[] = [];
  const give = (l: Lease): void => {
    lts--;
    moved.add(l);
    moves.push({ ...l, state: theirs, tstp: ctx.nowSec, starts: ctx.nowSec });
  };

  let done = false;
  for (const l of queue) {
    if (lts <= -hold) {
      done = true;
      break;
    }
    if (peerWantsLease(l, role, hba)) give(l);
  }
  if (!done) {
    for (const l of queue) {
      if (moved.has(l)) continue;
      if (l.ends !== 0 ? lts <= hold : lts <= 0) break;
      give(l);
    }
  }

  const freeAfter = role === 'primary' ? free - moves.length : free + moves.length;
  const backupAfter = role === 'primary' ? backup + moves.length : backup - moves.length;
  log.push(
    `${lts > thresh ? 'IMBALANCED' : 'balanced'} pool ${pool.label}  total ${pool.addresses.length}  ` +
      `free ${freeAfter}  backup ${backupAfter}  lts ${lts}  max-misbal ${thresh}`,
  );
  return { moves, poolReq, counts, log };
}

/**
 * ISC's dhcp_failover_pool_check estimate for one pool (seconds): how long until the imbalance is worth a look,
 * guessed from the age of the oldest FREE and BACKUP lease (now - ends, 0 if none or not yet ended), scaled by
 * max-lease-misbalance %, our own side's doubled (when we would start asking for a POOLREQ); the smaller one.
 * A never-used lease (ends 0) is as old as the epoch, so a fresh pool gets max-balance.
 */
export function balanceEstimate(
  pool: PoolAddresses,
  role: Role,
  settings: BalanceSettings,
  nowSec: number,
): number {
  let oldestFree: number | undefined;
  let oldestBackup: number | undefined;
  for (const { lease } of pool.addresses) {
    const s = lease?.state ?? BindingState.FREE;
    const ends = lease?.ends ?? 0;
    if (s === BindingState.FREE) oldestFree = Math.min(oldestFree ?? ends, ends);
    else if (s === BindingState.BACKUP) oldestBackup = Math.min(oldestBackup ?? ends, ends);
  }
  const age = (ends: number | undefined): number => (ends !== undefined && ends < nowSec ? nowSec - ends : 0);
  let est1 = percentOf(age(oldestFree), settings.maxLeaseMisbalance);
  let est2 = percentOf(age(oldestBackup), settings.maxLeaseMisbalance);
  if (role === 'primary') est1 *= 2;
  else est2 *= 2;
  return Math.min(est1, est2);
}

/**
 * Seconds to the next pool check after a balance: ISC's dhcp_failover_pool_check bounds, the estimate (default:
 * max-balance, as for a fresh pool; see balanceEstimate) capped at max-balance and raised to min-balance (the
 * balance just ran), plus ISC's random() % 5, i.e. 0..4 s from `random01` in [0, 1). ISC only ever moves a
 * scheduled check earlier: the caller keeps the earlier of this and a check already pending.
 */
export function nextBalanceDelay(settings: BalanceSettings, random01: number, estimateSec?: number): number {
  const est = Math.min(estimateSec ?? settings.maxBalance, settings.maxBalance);
  const jitter = Math.min(4, Math.max(0, Math.floor(random01 * 5)));
  return Math.max(est, settings.minBalance) + jitter;
}
