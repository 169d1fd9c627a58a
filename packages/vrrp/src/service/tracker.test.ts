import { describe, expect, it } from 'vitest';
import { initialTrack, trackResult, type TrackState } from './tracker.js';

const run = (results: boolean[], rise: number, fall: number): TrackState =>
  results.reduce((s, ok) => trackResult(s, ok, rise, fall), initialTrack);

describe('trackResult', () => {
  it('lets the first result decide', () => {
    expect(run([false], 3, 3).status).toBe('bad');
    expect(run([true], 3, 3).status).toBe('good');
  });

  it('needs fall consecutive failures to turn bad: fall-1 is not enough', () => {
    expect(run([true, false, false], 2, 3).status).toBe('good');
    expect(run([true, false, false, false], 2, 3).status).toBe('bad');
  });

  it('restarts the count when a result agrees with the status', () => {
    expect(run([true, false, false, true, false], 1, 3).status).toBe('good');
  });

  it('needs rise consecutive successes to turn good again', () => {
    expect(run([false, true], 2, 1).status).toBe('bad');
    expect(run([false, true, true], 2, 1).status).toBe('good');
  });
});
