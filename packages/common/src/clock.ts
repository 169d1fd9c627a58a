/** Milliseconds since the Unix epoch. Every core takes `now` from its caller; nothing in a core reads the wall clock. */
export type Millis = number;

export interface Clock {
  now(): Millis;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that never steps: near the epoch time when the process started, then moving with the monotonic clock,
 * so an NTP step (or `date -s`) neither delays nor hastens a timer. For deadlines; not for times shown to people.
 */
export const monotonicClock: Clock = { now: () => performance.timeOrigin + performance.now() };

/** A clock for tests: time moves only when the test says so. */
export class FakeClock implements Clock {
  constructor(private t: Millis = 1_700_000_000_000) {}
  now(): Millis {
    return this.t;
  }
  advance(ms: Millis): Millis {
    this.t += ms;
    return this.t;
  }
  set(ms: Millis): void {
    this.t = ms;
  }
}

export const seconds = (s: number): Millis => s * 1000;
