import { describe, expect, it } from 'vitest';
import { FakeClock, KeyedTimers, type Scheduler } from '@hadhcp/common';
import { SlidingDeadline } from './deadline.js';

/** Timers that fire as the test moves the clock. */
function fakeTimers(clock: FakeClock) {
  let pending: Array<{ at: number; fire: () => void; id: number }> = [];
  let ids = 0;
  const scheduler: Scheduler = {
    setTimeout: (fire, delayMs) => {
      const t = { at: clock.now() + delayMs, fire, id: ++ids };
      pending.push(t);
      return t.id;
    },
    clearTimeout: (id) => {
      pending = pending.filter((t) => t.id !== id);
    },
  };
  const advance = (ms: number): void => {
    const end = clock.now() + ms;
    for (;;) {
      const next = pending.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      pending = pending.filter((t) => t !== next);
      clock.set(next.at);
      next.fire();
    }
    clock.set(end);
  };
  return { timers: new KeyedTimers(scheduler), advance, armed: () => pending.length };
}

describe('SlidingDeadline', () => {
  it('fires once, exactly delay after the last push, with one timer however many pushes', () => {
    const clock = new FakeClock();
    const t = fakeTimers(clock);
    const fired: number[] = [];
    const d = new SlidingDeadline(t.timers, clock, 'k', () => fired.push(clock.now()));
    const t0 = clock.now();
    d.push(1000);
    for (let i = 0; i < 5; i++) {
      t.advance(300);
      d.push(1000);
      expect(t.armed()).toBe(1);
    }
    const last = clock.now();
    t.advance(999);
    expect(fired).toEqual([]);
    t.advance(1);
    expect(fired).toEqual([last + 1000]);
    expect(last).toBe(t0 + 1500);
    t.advance(10_000);
    expect(fired).toHaveLength(1);
  });

  it('a shorter delay than the pending one is honoured (sooner), a cancel stops it', () => {
    const clock = new FakeClock();
    const t = fakeTimers(clock);
    const fired: number[] = [];
    const d = new SlidingDeadline(t.timers, clock, 'k', () => fired.push(clock.now()));
    const t0 = clock.now();
    d.push(5000);
    d.push(1000);
    t.advance(999);
    expect(fired).toEqual([]);
    t.advance(1);
    expect(fired).toEqual([t0 + 1000]);
    d.push(1000);
    t.timers.cancel('k');
    t.advance(5000);
    expect(fired).toHaveLength(1);
    d.push(1000);
    t.advance(1000);
    expect(fired).toEqual([t0 + 1000, t0 + 7000]);
  });
});
