import type { Clock, KeyedTimers } from '@hadhcp/common';

/**
 * A keyed timer pushed back by every message (the CONTACT after our own silence, the timeout after the peer's),
 * kept as one timer: a push only moves the due time, and the timer, when it fires early, waits the rest. Re-arming
 * a timer per message cost a resync more than its own timer work (profile, docs/benchmarks.md: thousands of
 * messages a second each way). Fires at the same instant as re-arming on every push would. Cancelled with
 * `timers.cancel(key)` like any other keyed timer.
 */
export class SlidingDeadline {
  private due = 0;
  /** When the pending timer fires (meaningful only while `timers.has(key)`). */
  private firesAt = 0;

  constructor(
    private readonly timers: KeyedTimers,
    private readonly clock: Clock,
    private readonly key: string,
    private readonly fire: () => void,
  ) {}

  /** Due `delayMs` from now, whatever was due before. */
  push(delayMs: number): void {
    const now = this.clock.now();
    this.due = now + Math.max(0, delayMs);
    // A pending timer that fires before the new due time waits the rest then; a later one is set again.
    if (this.timers.has(this.key) && this.firesAt <= this.due) return;
    this.arm(now);
  }

  private arm(now: number): void {
    this.firesAt = this.due;
    this.timers.set(this.key, this.due - now, () => {
      const t = this.clock.now();
      if (t < this.due) return this.arm(t);
      this.fire();
    });
  }
}
