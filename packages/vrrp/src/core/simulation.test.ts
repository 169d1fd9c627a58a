import { describe, expect, it } from 'vitest';
import { formatIp4, type Ip4 } from '@hadhcp/common';
import { decodeAdvert, encodeAdvert, isVrrpWireError } from '../wire/advert.js';
import { initInstance, step } from './machine.js';
import { instanceParams } from './params.js';
import type { InstanceState, VrrpAction, VrrpEvent, VrrpState } from './types.js';
import { config, ip, T0 } from '../../test-vectors/core-fixtures.js';

/**
 * Cores on an in-memory segment: adverts go through the real codec (encode, decode) to every other live node
 * with TTL 255; time jumps from one timer deadline to the next, so the run is exact and instant.
 */
class Segment {
  readonly nodes = new Map<string, { ip: Ip4; state: InstanceState; alive: boolean }>();
  readonly history: { at: number; node: string; from: VrrpState; to: VrrpState }[] = [];
  now = T0;
  /** A cut segment: adverts are lost. */
  partitioned = false;

  add(name: string, address: string, priority: number): void {
    const params = instanceParams(config({ priority }), undefined, []).params;
    this.nodes.set(name, { ip: ip(address), state: initInstance(params), alive: true });
  }

  start(name: string): void {
    const n = this.nodes.get(name)!;
    n.alive = true;
    n.state = initInstance(n.state.params);
    this.feed(name, { type: 'startup', ownIp: n.ip });
  }

  /** kill -9: the node stops sending and leaves its VIPs where they are. */
  kill(name: string): void {
    this.nodes.get(name)!.alive = false;
  }

  feed(name: string, event: VrrpEvent): void {
    const n = this.nodes.get(name)!;
    if (!n.alive) return;
    const r = step(n.state, event, this.now);
    n.state = r.state;
    for (const a of r.actions) this.carry(name, a);
  }

  private carry(from: string, a: VrrpAction): void {
    if (a.type === 'state-changed') this.history.push({ at: this.now, node: from, from: a.from, to: a.to });
    if (a.type !== 'send-advert' || this.partitioned) return;
    const bytes = encodeAdvert(a.advert);
    const src = this.nodes.get(from)!.ip;
    for (const [name, n] of this.nodes) {
      if (name === from || !n.alive) continue;
      const advert = decodeAdvert(bytes);
      if (isVrrpWireError(advert)) throw new Error(advert.detail);
      this.feed(name, { type: 'advert', packet: { advert, srcIp: src, ttl: 255, iface: 'eth0' } });
    }
  }

  /** Fires timers in deadline order until `until`. */
  runUntil(until: number): void {
    for (;;) {
      let next: { name: string; key: keyof InstanceState['timers']; at: number } | undefined;
      for (const [name, n] of this.nodes) {
        if (!n.alive) continue;
        for (const [key, at] of Object.entries(n.state.timers))
          if (at !== undefined && (!next || at < next.at)) next = { name, key: key as never, at };
      }
      if (!next || next.at > until) break;
      this.now = next.at;
      this.feed(next.name, { type: 'timer', key: next.key });
    }
    this.now = until;
  }

  masters(): string[] {
    return [...this.nodes].filter(([, n]) => n.alive && n.state.state === 'MASTER').map(([name]) => name);
  }

  becameMaster(node: string, after: number): number | undefined {
    return this.history.find((h) => h.node === node && h.to === 'MASTER' && h.at >= after)?.at;
  }
}

function pair(prioA: number, prioB: number, ipA = '10.0.0.2', ipB = '10.0.0.3'): Segment {
  const seg = new Segment();
  seg.add('a', ipA, prioA);
  seg.add('b', ipB, prioB);
  seg.start('a');
  seg.start('b');
  return seg;
}

describe('two cores on one segment', () => {
  it('elect exactly one master: the higher priority', () => {
    const seg = pair(150, 100);
    seg.runUntil(T0 + 30_000);
    expect(seg.masters()).toEqual(['a']);
    // It won when its own Master_Down_Interval ran out (3 s + 414 ms), the other never became master.
    expect(seg.becameMaster('a', T0)).toBe(T0 + 3414);
    expect(seg.becameMaster('b', T0)).toBeUndefined();
    expect(formatIp4(seg.nodes.get('b')!.state.masterIp!)).toBe('10.0.0.2');
  });

  it('with equal priorities one master: the first whose timer runs out (RFC 3768 6.4.2: equal is not preempted)', () => {
    const seg = pair(100, 100);
    seg.runUntil(T0 + 30_000);
    expect(seg.masters()).toHaveLength(1);
  });

  it.each([
    ['10.0.0.2', '10.0.0.3', 'b'],
    ['10.0.0.3', '10.0.0.2', 'a'],
  ])(
    'two equal-priority masters after a partition heals: the higher address wins (a=%s, b=%s -> %s)',
    (ipA, ipB, winner) => {
      const seg = new Segment();
      seg.add('a', ipA, 100);
      seg.add('b', ipB, 100);
      seg.partitioned = true;
      seg.start('a');
      seg.start('b');
      seg.runUntil(T0 + 10_000);
      expect(seg.masters().sort()).toEqual(['a', 'b']);
      seg.partitioned = false;
      seg.runUntil(T0 + 30_000);
      expect(seg.masters()).toEqual([winner]);
    },
  );

  it('the backup takes over Master_Down_Interval after the master dies', () => {
    const seg = pair(150, 100);
    seg.runUntil(T0 + 10_000);
    const lastAdvert = seg.nodes.get('a')!.state.timers.advert! - 1000;
    seg.kill('a');
    seg.runUntil(T0 + 30_000);
    expect(seg.masters()).toEqual(['b']);
    // 3 * 1 s + (256 - 100) / 256 s after the last advert it heard.
    expect(seg.becameMaster('b', T0)).toBe(lastAdvert + 3609);
  });

  it('the backup takes over Skew_Time after a graceful stop (priority 0)', () => {
    const seg = pair(150, 100);
    seg.runUntil(T0 + 10_200);
    seg.feed('a', { type: 'shutdown' });
    const stoppedAt = seg.now;
    seg.kill('a');
    seg.runUntil(T0 + 30_000);
    expect(seg.becameMaster('b', T0)).toBe(stoppedAt + 609);
  });

  it('a restarted higher-priority router preempts back, leaving one master', () => {
    const seg = pair(150, 100);
    seg.runUntil(T0 + 10_000);
    seg.kill('a');
    seg.runUntil(T0 + 20_000);
    expect(seg.masters()).toEqual(['b']);
    seg.start('a');
    seg.runUntil(T0 + 40_000);
    expect(seg.masters()).toEqual(['a']);
    const back = seg.history.filter((h) => h.node === 'b' && h.to === 'BACKUP' && h.at > T0 + 20_000);
    expect(back).toHaveLength(1);
  });
});
