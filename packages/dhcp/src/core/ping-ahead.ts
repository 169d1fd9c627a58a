import type { Ip4 } from '@hadhcp/common';

/**
 * Ping-check without making clients wait, at any rate the server can serve.
 *
 * ISC pings an address before offering it and holds the DHCPOFFER for ping-timeout (1 s by default) on every
 * allocation from the pool. Here the core asks the io layer to probe, ahead of time, the addresses each pool would
 * hand out next (`probesWanted`), and remembers the answers for PROBE_FRESH_MS. A DISCOVER takes a candidate whose
 * probe came back silent and is answered at once (`offers.probe-ready`). Only when no candidate is ready (a burst
 * beyond the look-ahead) does the decision carry `needsProbe`: the client waits one ping-timeout for its own
 * address, as ISC's always does (`offers.waited-for-probe`); the address is held for it meanwhile, so the clients
 * of a burst each wait on a different address, in parallel. An address whose probe was answered is abandoned, as
 * ISC abandons it ("pinged before offer"), and never offered.
 *
 * How far ahead: enough addresses to cover what the pool hands out while a probe is out, measured, not guessed:
 *   look-ahead = clamp(ceil(rate x (ping-timeout + PROBE_PERIOD_MS) x LOOKAHEAD_SAFETY), LOOKAHEAD_MIN, LOOKAHEAD_CAP)
 * `rate` is the pool's allocation rate (`RateEstimator`): it follows a rise at once and decays with a 10 s time
 * constant, since a window grown late makes clients wait while one shrunk late only costs a few probes. All probes
 * together stay under MAX_PROBES_PER_S (a token bucket), however many pools ask.
 *
 * A nearly exhausted pool: the window is whatever is left free. Each free address is probed and offered at once;
 * with none left the DISCOVER is dropped as pool-exhausted (ISC's "no free leases"), with no probe and no wait. An
 * OFFER not taken up holds its address for 10 s; then the address is probed again before anyone else gets it.
 * A probe that could not be sent (io/pinger.ts: PingSendError) is unknown: nothing is recorded, so the address is
 * neither vouched for nor abandoned, and it is asked again after the retry time (twice the ping-timeout).
 * The look-ahead runs whatever the supervisor's gate says: a VRRP backup keeps its (idle, LOOKAHEAD_MIN) window
 * probed, so its first DISCOVER after taking the VIP is answered at once.
 */

/** How often the service asks for probes (its probe-ahead timer); part of the time a probe is out. */
export const PROBE_PERIOD_MS = 250;

/**
 * How long a silent probe vouches for an address. Another host (a static address plugged in, a peer without our
 * leases) may start using it at any time, and ISC's promise is that an address answering ping is never offered:
 * ISC's own check is at most ping-timeout old when its OFFER leaves. 5 s keeps that promise nearly as tight while an
 * idle pool's window is re-probed only every few seconds (see `wants`).
 */
export const PROBE_FRESH_MS = 5000;

/**
 * A just-released address is not probed ahead for this long. A client sends DHCPRELEASE and only then removes the
 * address from its interface (dhclient -r runs its hook after the RELEASE left): a look-ahead probe in between finds
 * the releasing client still answering, and would abandon an address that is free. ISC pings only when it offers,
 * which is never that soon after a release; a DISCOVER within this time still probes at offer time, as ISC does.
 */
export const RELEASE_SETTLE_S = 3;

/**
 * The smallest window per pool: what an idle pool keeps probed, so a burst of up to 32 new clients, or a rise from
 * nothing to ~12 new clients/s (25/s without the safety factor), is answered at once, before the measured rate has
 * grown the window; for ~9 probes/s per idle pool (LOOKAHEAD_MIN / (PROBE_FRESH_MS - refresh lead of 1.5 s)).
 */
export const LOOKAHEAD_MIN = 32;

/**
 * The largest window per pool: 16,384 covers ~6,500 new clients/s per pool with the safety factor (13,000/s without
 * it), above what one server completes (docs/benchmarks.md), at ~4,700 re-probes/s when idle at that size.
 */
export const LOOKAHEAD_CAP = 16_384;

/** Twice what the measured rate needs: a rate that doubles between two samples still finds addresses ready. */
export const LOOKAHEAD_SAFETY = 2;

/**
 * All probes of the server together, per second (token bucket, 1 s of burst). 5,000 new clients/s at full window
 * cost ~5,000 first probes + ~3,500 re-probes a second; 20,000 leaves room for several busy pools and stays far
 * below what a LAN notices (64-byte packets: ~10 Mbit/s at the ceiling).
 */
export const MAX_PROBES_PER_S = 20_000;

/**
 * How many of a pool's next candidates a DISCOVER looks through for one probed silent: the front of the window
 * may be out for a re-probe at any moment (those still vouched for are used), so more than one, but not the whole
 * window per packet.
 */
export const DISCOVER_SCAN = 16;

/** Allocation rate samples: one bucket per probe period. */
const BUCKET_MS = PROBE_PERIOD_MS;
/** How fast the rate estimate falls once allocations slow down (time constant). */
const DECAY_MS = 10_000;

/** How many addresses a pool keeps probed ahead, for its measured allocation rate. Pure: the sizing rule above. */
export function lookaheadSize(ratePerS: number, pingTimeoutMs: number): number {
  const need = Math.ceil(((ratePerS * (pingTimeoutMs + PROBE_PERIOD_MS)) / 1000) * LOOKAHEAD_SAFETY);
  return Math.min(LOOKAHEAD_CAP, Math.max(LOOKAHEAD_MIN, need));
}

/**
 * A pool's allocation rate (addresses offered per second) on the caller's clock: counts per BUCKET_MS; a full
 * bucket above the estimate replaces it (fast attack), one below pulls it down with an exponential decay of
 * DECAY_MS (an EWMA over the last ~10 s). The bucket still filling counts too, as a lower bound.
 */
export class RateEstimator {
  private estimate = 0;
  private bucketStart: number | undefined;
  private count = 0;

  note(nowMs: number): void {
    this.roll(nowMs);
    this.count++;
  }

  /** Allocations per second. */
  rate(nowMs: number): number {
    this.roll(nowMs);
    return Math.max(this.estimate, (this.count * 1000) / BUCKET_MS);
  }

  private roll(nowMs: number): void {
    if (this.bucketStart === undefined || nowMs < this.bucketStart) {
      // First sample, or the clock went backwards: start a bucket here, keep the estimate.
      this.bucketStart = nowMs;
      return;
    }
    const buckets = Math.floor((nowMs - this.bucketStart) / BUCKET_MS);
    if (buckets === 0) return;
    const r = (this.count * 1000) / BUCKET_MS;
    const decay = Math.exp(-BUCKET_MS / DECAY_MS);
    this.estimate = r >= this.estimate ? r : r + (this.estimate - r) * decay;
    // Empty buckets after it: the estimate decays towards 0.
    if (buckets > 1) this.estimate *= Math.exp(-((buckets - 1) * BUCKET_MS) / DECAY_MS);
    if (this.estimate < 1e-3) this.estimate = 0;
    this.count = 0;
    this.bucketStart += buckets * BUCKET_MS;
  }
}

/** What an OFFER of a ping-checked address cost its client. */
export type ProbeWait = 'probe-ready' | 'waited-for-probe';

/**
 * Probe bookkeeping: answers by address, probes asked for and not answered yet, which of them a client waits on,
 * each pool's allocation rate and the probe budget. Every call takes the caller's time.
 */
export class ProbeTracker {
  private readonly results = new Map<Ip4, { atMs: number; inUse: boolean }>();
  private readonly pending = new Map<Ip4, number>();
  /** Addresses a client waits on (needsProbe), until offered or forgotten. */
  private readonly waiting = new Set<Ip4>();
  private readonly rates = new Map<number, RateEstimator>();
  private tokens = MAX_PROBES_PER_S;
  private tokensAt: number | undefined;

  constructor(
    /** How long a silent probe vouches for an address. */
    readonly freshMs: number = PROBE_FRESH_MS,
    /** A fixed window instead of the measured one (tests). */
    private readonly fixedLookahead?: number,
  ) {}

  /** True when a probe of ip came back silent less than freshMs ago. */
  isClear(ip: Ip4, nowMs: number): boolean {
    const r = this.results.get(ip);
    return r !== undefined && !r.inUse && nowMs - r.atMs < this.freshMs;
  }

  /**
   * True when ip needs a probe now: no result, or a silent one that would go stale before a new probe could
   * replace it (`leadMs`: a ping-timeout and two probe periods), and no probe asked for in the last `retryMs`.
   * Re-probing ahead of staleness keeps an idle pool's window ready all the time: the old answer vouches while the
   * new probe is out.
   */
  wants(ip: Ip4, nowMs: number, retryMs: number, leadMs = 0): boolean {
    const r = this.results.get(ip);
    if (r !== undefined && !r.inUse && nowMs - r.atMs < this.freshMs - leadMs) return false;
    const asked = this.pending.get(ip);
    return asked === undefined || nowMs - asked >= retryMs;
  }

  /** A probe of ip goes out now. */
  asked(ip: Ip4, nowMs: number): void {
    this.pending.set(ip, nowMs);
  }

  /**
   * A client waits on a probe of ip, from pool `poolId`. It counts towards the pool's rate now, not when it is
   * offered a ping-timeout later: a burst that outruns the window must grow it at once.
   */
  awaiting(ip: Ip4, poolId: number | undefined, nowMs: number): void {
    this.pending.set(ip, nowMs);
    if (!this.waiting.has(ip) && poolId !== undefined) this.rateOf(poolId).note(nowMs);
    this.waiting.add(ip);
  }

  /** True while a client waits on a probe of ip (its DISCOVER comes back once the probe ends). */
  awaited(ip: Ip4): boolean {
    return this.waiting.has(ip);
  }

  record(ip: Ip4, inUse: boolean, nowMs: number): void {
    this.pending.delete(ip);
    this.results.set(ip, { atMs: nowMs, inUse });
  }

  /**
   * ip, probed, is offered from pool `poolId`: counts towards the pool's rate (unless a client waited for it:
   * counted then); says whether one did. What was known about ip is forgotten: it is handed out, so the next probe
   * must be new.
   */
  offered(ip: Ip4, poolId: number, nowMs: number): ProbeWait {
    const waited = this.waiting.has(ip);
    if (!waited) this.rateOf(poolId).note(nowMs);
    this.forget(ip);
    return waited ? 'waited-for-probe' : 'probe-ready';
  }

  /** How many addresses of pool `poolId` to keep probed now (see the sizing rule at the top). */
  lookahead(poolId: number, nowMs: number, pingTimeoutMs: number): number {
    if (this.fixedLookahead !== undefined) return this.fixedLookahead;
    return lookaheadSize(this.rateOf(poolId).rate(nowMs), pingTimeoutMs);
  }

  /** The pool's measured allocation rate (per second). */
  rate(poolId: number, nowMs: number): number {
    return this.rateOf(poolId).rate(nowMs);
  }

  /** How many of `n` probes may go out now under MAX_PROBES_PER_S; the ones granted are spent. */
  budget(n: number, nowMs: number): number {
    if (this.tokensAt !== undefined && nowMs > this.tokensAt)
      this.tokens = Math.min(
        MAX_PROBES_PER_S,
        this.tokens + ((nowMs - this.tokensAt) * MAX_PROBES_PER_S) / 1000,
      );
    this.tokensAt = nowMs;
    const granted = Math.max(0, Math.min(n, Math.floor(this.tokens)));
    this.tokens -= granted;
    return granted;
  }

  private rateOf(poolId: number): RateEstimator {
    let r = this.rates.get(poolId);
    if (!r) this.rates.set(poolId, (r = new RateEstimator()));
    return r;
  }

  /**
   * Takes over another tracker's answers, probes in flight, waiting clients, rates and budget (a configuration
   * reload; pool ids may move with the new configuration, and a rate off by one reload costs a few probes).
   */
  carryOver(prev: ProbeTracker): void {
    for (const [ip, r] of prev.results) this.results.set(ip, r);
    for (const [ip, at] of prev.pending) this.pending.set(ip, at);
    for (const ip of prev.waiting) this.waiting.add(ip);
    for (const [id, r] of prev.rates) this.rates.set(id, r);
    this.tokens = prev.tokens;
    this.tokensAt = prev.tokensAt;
  }

  /** Forgets what is known about ip: it was just handed out, so the next probe must be new. */
  forget(ip: Ip4): void {
    this.results.delete(ip);
    this.pending.delete(ip);
    this.waiting.delete(ip);
  }

  /** Drops stale entries so the maps stay as small as the look-ahead window. */
  prune(nowMs: number, retryMs: number): void {
    for (const [ip, r] of this.results) if (nowMs - r.atMs >= this.freshMs) this.results.delete(ip);
    for (const [ip, at] of this.pending) if (nowMs - at >= retryMs) this.pending.delete(ip);
    // A client waiting on an address that answered, or that never came back: nothing left to vouch for.
    for (const ip of this.waiting)
      if (!this.pending.has(ip) && !this.results.has(ip)) this.waiting.delete(ip);
  }

  /** Sizes of the bookkeeping (tests, status). */
  get size(): { results: number; pending: number; waiting: number } {
    return { results: this.results.size, pending: this.pending.size, waiting: this.waiting.size };
  }
}
