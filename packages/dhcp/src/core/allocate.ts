import type { Ip4 } from '@hadhcp/common';
import { BindingState } from '@hadhcp/leases';
import type { Range } from './config.js';
import { NumberHeap } from './heap.js';
import type { LeaseTable } from './lease-table.js';
import type { PoolInfo } from './network.js';

/** States whose address may go to a new client (the old client association is only a preference). */
export function isReusable(state: BindingState): boolean {
  return state === BindingState.FREE || state === BindingState.EXPIRED || state === BindingState.RELEASED;
}

/**
 * States whose address a pool may hand out: the reusable ones, and in a failover pool BACKUP too (the
 * secondary's free addresses; the LeasePolicy says whose each one is).
 */
export function isCandidate(state: BindingState, failover: boolean): boolean {
  return isReusable(state) || (failover && state === BindingState.BACKUP);
}

/**
 * Chooses the next addresses of one pool, in ISC's order: addresses that never had a lease first, then free,
 * expired and released ones, the one that ended longest ago first, so a client coming back finds its old address
 * still unused as long as possible.
 *
 * Never-used addresses are found with a cursor that only moves forward (an address gets a lease record once and keeps
 * it), so a full scan of the pool costs O(pool) once in the life of the process. Reusable leases sit in a min-heap by
 * `ends`, validated when they surface.
 *
 * Addresses held by offers in flight sit just past that cursor. A second cursor (`scan`) moves forward past them as
 * well, so a DISCOVER does not walk over every outstanding offer (thousands when many exchanges fail: a collapse, as
 * each slower DISCOVER made more exchanges fail). An address passed while held comes back when its hold ends: the
 * core reports it (`released`), and it waits in a min-heap by address, ahead of the scan, so the order stays
 * ascending.
 */
export class PoolAllocator {
  private rangeIdx = 0;
  private next: Ip4;
  /** (ends, address) of reusable leases; the core fills it in bulk at start-up. */
  readonly reusable = new NumberHeap();
  /** Position past `next` before which every never-used address was held when last looked at. */
  private scanIdx = 0;
  private scan: Ip4;
  /** (address, address) of never-used addresses whose hold ended behind `scan`. */
  private readonly returned = new NumberHeap();
  /** A pool with a failover peer: BACKUP leases are candidates too. */
  private readonly failover: boolean;
  /** Records of the pool's addresses by binding state (failover: who has free leases to give). */
  private readonly counts = new Int32Array(BindingState.BACKUP + 1);
  private records = 0;
  /** Addresses in the pool's ranges. */
  private readonly size: number;

  constructor(
    readonly info: PoolInfo,
    private readonly table: LeaseTable,
    private readonly fixed: ReadonlySet<Ip4>,
  ) {
    this.next = info.ranges[0]?.start ?? 0;
    this.scan = this.next;
    this.failover = info.pool.failoverPeer !== undefined;
    this.size = info.ranges.reduce((n, r) => n + (r.end >>> 0) - (r.start >>> 0) + 1, 0);
  }

  /** How many of the pool's records are in `state`. */
  count(state: BindingState): number {
    return this.counts[state]!;
  }

  /** Addresses of the pool with no record yet (pristine FREE in a failover pool). */
  neverUsed(): number {
    return this.size - this.records;
  }

  /** An offer's hold on ip ended without a lease (it expired, or the client went elsewhere): offer it again. */
  released(ip: Ip4): void {
    ip = ip >>> 0;
    if (!this.table.has(ip)) this.returned.push(ip, ip);
  }

  /** Tells the allocator a lease of this pool changed (from `prev`; undefined: new); reusable ones join the heap. */
  note(ip: Ip4, state: BindingState, ends: number, prev?: BindingState): void {
    if (prev === undefined) this.records++;
    else this.counts[prev]!--;
    this.counts[state]!++;
    if (isCandidate(state, this.failover)) this.reusable.push(ends, ip >>> 0);
  }

  /**
   * Up to k addresses in the order they would be handed out, without taking them. `blocked` skips addresses held
   * for someone else right now (offers in flight, probes); `rangeOk` restricts ranges (dynamic-bootp).
   * `untouched` false leaves out every never-used address: in a failover pool they are pristine FREE leases, all
   * the primary's or all not (the LeasePolicy's answer is the same for each), and `blocked` must never be what
   * keeps them out, since the scan moves past blocked ones for good (a hold's end brings its address back; a
   * change of the failover state would not).
   */
  candidates(
    k: number,
    blocked: (ip: Ip4) => boolean,
    rangeOk?: (r: Range) => boolean,
    untouched = true,
  ): Ip4[] {
    const out: Ip4[] = [];
    const seen = new Set<Ip4>();
    this.advanceCursor();
    if (untouched) {
      this.takeReturned(k, blocked, rangeOk, out, seen);
      if (out.length < k) this.scanUnused(k, blocked, rangeOk, out, seen);
    }
    if (out.length < k) this.scanReusable(k, blocked, rangeOk, out, seen);
    return out;
  }

  /** Moves the persistent cursor past addresses that now have a record or are reserved: they never come back. */
  private advanceCursor(): void {
    const ranges = this.info.ranges;
    while (this.rangeIdx < ranges.length) {
      const r = ranges[this.rangeIdx]!;
      while (this.next <= r.end >>> 0 && (this.table.has(this.next) || this.fixed.has(this.next)))
        this.next++;
      if (this.next <= r.end >>> 0) break;
      this.rangeIdx++;
      this.next = ranges[this.rangeIdx]?.start ?? 0;
    }
    if (this.scanIdx < this.rangeIdx || (this.scanIdx === this.rangeIdx && this.scan < this.next)) {
      this.scanIdx = this.rangeIdx;
      this.scan = this.next;
    }
  }

  /**
   * Never-used addresses behind `scan` whose hold ended, lowest first. An entry now leased, reserved or held
   * again is dropped: a hold that ends reports its address anew.
   */
  private takeReturned(
    k: number,
    blocked: (ip: Ip4) => boolean,
    rangeOk: ((r: Range) => boolean) | undefined,
    out: Ip4[],
    seen: Set<Ip4>,
  ): void {
    const keep: number[] = [];
    while (out.length < k) {
      const e = this.returned.pop();
      if (!e) break;
      const ip = e.value;
      if (this.table.has(ip) || this.fixed.has(ip) || seen.has(ip) || blocked(ip)) continue;
      seen.add(ip);
      keep.push(ip);
      if (rangeOk && !this.rangeAllows(ip, rangeOk)) continue;
      out.push(ip);
    }
    for (const ip of keep) this.returned.push(ip, ip);
  }

  private scanUnused(
    k: number,
    blocked: (ip: Ip4) => boolean,
    rangeOk: ((r: Range) => boolean) | undefined,
    out: Ip4[],
    seen: Set<Ip4>,
  ): void {
    const ranges = this.info.ranges;
    // While every address looked at is leased, reserved or held, `scan` follows: they are not looked at again
    // (a held one returns through released()). A range left out by rangeOk breaks that run.
    let dead = true;
    for (let ri = this.scanIdx; ri < ranges.length && out.length < k; ri++) {
      const r = ranges[ri]!;
      if (rangeOk && !rangeOk(r)) {
        dead = false;
        continue;
      }
      for (
        let ip = ri === this.scanIdx ? this.scan : r.start >>> 0;
        ip <= r.end >>> 0 && out.length < k;
        ip++
      ) {
        if (this.table.has(ip) || this.fixed.has(ip) || blocked(ip)) {
          if (dead) this.moveScan(ri, ip + 1);
          continue;
        }
        dead = false;
        if (seen.has(ip)) continue;
        seen.add(ip);
        out.push(ip);
      }
    }
  }

  private moveScan(ri: number, ip: Ip4): void {
    const ranges = this.info.ranges;
    if (ip > ranges[ri]!.end >>> 0) {
      ri++;
      ip = ranges[ri]?.start ?? 0;
    }
    this.scanIdx = ri;
    this.scan = ip >>> 0;
  }

  private scanReusable(
    k: number,
    blocked: (ip: Ip4) => boolean,
    rangeOk: ((r: Range) => boolean) | undefined,
    out: Ip4[],
    seen: Set<Ip4>,
  ): void {
    const keep: Array<{ key: number; value: number }> = [];
    while (out.length < k) {
      const e = this.reusable.pop();
      if (!e) break;
      const state = this.table.stateOf(e.value);
      // Stale entry: the lease moved on since it was pushed; drop it for good.
      if (state === undefined || !isCandidate(state, this.failover) || this.table.endsOf(e.value) !== e.key)
        continue;
      if (this.fixed.has(e.value)) continue;
      if (seen.has(e.value)) continue;
      keep.push(e);
      seen.add(e.value);
      if (blocked(e.value)) continue;
      if (rangeOk && !this.rangeAllows(e.value, rangeOk)) continue;
      out.push(e.value);
    }
    for (const e of keep) this.reusable.push(e.key, e.value);
  }

  private rangeAllows(ip: Ip4, rangeOk: (r: Range) => boolean): boolean {
    const r = this.info.ranges.find((x) => ip >= x.start >>> 0 && ip <= x.end >>> 0);
    return r !== undefined && rangeOk(r);
  }
}
