import { describe, expect, it } from 'vitest';
import { reconnectDelayMs } from './reconnect.js';

describe('reconnectDelayMs', () => {
  it('ISC: 5 s after a lost link, 90 s after a failure on this host', () => {
    expect(reconnectDelayMs('lost', 1)).toBe(5_000);
    expect(reconnectDelayMs('lost', 9)).toBe(5_000);
    expect(reconnectDelayMs('local', 1)).toBe(90_000);
  });
  it('refused or unanswered: 5 s, doubling, at most a minute', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map((n) => reconnectDelayMs('network', n))).toEqual([
      5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000,
    ]);
  });
});
