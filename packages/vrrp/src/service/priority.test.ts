import { describe, expect, it } from 'vitest';
import { effectivePriority } from './priority.js';

describe('effectivePriority', () => {
  it('adds a positive weight only while the tracker is good', () => {
    expect(effectivePriority(90, [{ name: 'script a', weight: 20, ok: true }]).priority).toBe(110);
    expect(effectivePriority(90, [{ name: 'script a', weight: 20, ok: false }]).priority).toBe(90);
  });

  it('subtracts a negative weight only while the tracker is bad, and says why', () => {
    const v = effectivePriority(100, [{ name: 'script chk', weight: -20, ok: false }]);
    expect(v.priority).toBe(80);
    expect(v.reasons).toEqual(['-20 script chk down']);
    expect(effectivePriority(100, [{ name: 'script chk', weight: -20, ok: true }]).priority).toBe(100);
  });

  it('puts the instance in fault for a failing unweighted tracker', () => {
    const v = effectivePriority(100, [{ name: 'interface eth1', weight: 0, ok: false }]);
    expect(v.faults).toEqual(['interface eth1']);
    expect(effectivePriority(100, [{ name: 'interface eth1', weight: 0, ok: true }]).faults).toEqual([]);
  });

  it('ignores a script that has not reported yet', () => {
    expect(effectivePriority(100, [{ name: 's', weight: 0, ok: undefined }]).faults).toEqual([]);
  });

  it('clamps to 1..254 and never moves an owner', () => {
    expect(effectivePriority(250, [{ name: 'a', weight: 50, ok: true }]).priority).toBe(254);
    expect(effectivePriority(10, [{ name: 'a', weight: -50, ok: false }]).priority).toBe(1);
    expect(effectivePriority(255, [{ name: 'a', weight: -50, ok: false }]).priority).toBe(255);
  });

  it('applies the external weight with its reason', () => {
    const v = effectivePriority(100, [], { weight: -30, reason: 'dhcp unhealthy' });
    expect(v).toEqual({ priority: 70, faults: [], reasons: ['-30 dhcp unhealthy'] });
  });
});
