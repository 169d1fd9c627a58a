import type { Ip4 } from '@hadhcp/common';

/**
 * Ping-check without making clients wait.
 *
 * ISC pings an address before offering it and holds the DHCPOFFER for ping-timeout (1 s by default) on every
 * allocation from the pool. Here the core asks the io layer to probe, ahead of time, the few addresses each pool
 * would hand out next (`probesWanted`), and remembers the answers for a while. A DISCOVER then takes a candidate whose
 * probe came back silent and is answered at once; only when no candidate is ready does the decision carry
 * `needsProbe` and the offer wait, as ISC's always does. An address whose probe was answered is abandoned, as ISC
 * abandons it ("pinged before offer"), and never offered.
 */
export class ProbeTracker {
  private readonly results = new Map<Ip4, { atMs: number; inUse: boolean }>();
  private readonly pending = new Map<Ip4, number>();

  constructor(
    /** How long a silent probe vouches for an address. */
    readonly freshMs: number,
  ) {}

  /** True when a probe of ip came back silent less than freshMs ago. */
  isClear(ip: Ip4, nowMs: number): boolean {
    const r = this.results.get(ip);
    return r !== undefined && !r.inUse && nowMs - r.atMs < this.freshMs;
  }

  /** True when ip has no fresh result and no probe asked for in the last `retryMs`. */
  wants(ip: Ip4, nowMs: number, retryMs: number): boolean {
    if (this.isClear(ip, nowMs)) return false;
    const asked = this.pending.get(ip);
    return asked === undefined || nowMs - asked >= retryMs;
  }

  asked(ip: Ip4, nowMs: number): void {
    this.pending.set(ip, nowMs);
  }

  record(ip: Ip4, inUse: boolean, nowMs: number): void {
    this.pending.delete(ip);
    this.results.set(ip, { atMs: nowMs, inUse });
  }

  /** Takes over another tracker's answers and probes in flight (a configuration reload). */
  carryOver(prev: ProbeTracker): void {
    for (const [ip, r] of prev.results) this.results.set(ip, r);
    for (const [ip, at] of prev.pending) this.pending.set(ip, at);
  }

  /** Forgets what is known about ip: it was just handed out, so the next probe must be new. */
  forget(ip: Ip4): void {
    this.results.delete(ip);
    this.pending.delete(ip);
  }

  /** Drops stale entries so the maps stay as small as the look-ahead window. */
  prune(nowMs: number, retryMs: number): void {
    for (const [ip, r] of this.results) if (nowMs - r.atMs >= this.freshMs) this.results.delete(ip);
    for (const [ip, at] of this.pending) if (nowMs - at >= retryMs) this.pending.delete(ip);
  }
}
