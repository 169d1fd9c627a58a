import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatIp4, pcapRecordToEthernet, readIp4, readPcap } from '@hadhcp/common';
import { decodeAdvert, isVrrpWireError } from '../wire/advert.js';
import { decodeIpPacket } from '../wire/ip.js';
import { step } from './machine.js';
import type { InstanceState } from './types.js';
import { instance, ip } from '../../test-vectors/core-fixtures.js';
import { ipv4Frames } from '../../test-vectors/pcap.js';

const pcap = readFileSync(fileURLToPath(new URL('../../test-vectors/server-lan.pcap', import.meta.url)));

/**
 * Router B of the capture (keepalived 2.2.7, priority 100, garp_master_repeat 3) heard A's adverts and took over
 * after A's graceful stop. A core configured like B, fed A's captured adverts at their capture times, must decide
 * what B did, when B did it (within the few ms keepalived takes to schedule).
 */
describe("replaying router A's adverts into a core configured as router B", () => {
  const frames = ipv4Frames(pcap).flatMap((f) => {
    const p = decodeIpPacket(f.ip);
    if (isVrrpWireError(p) || p.protocol !== 112) return [];
    const a = decodeAdvert(p.payload);
    return isVrrpWireError(a)
      ? []
      : [{ ...f, src: formatIp4(p.srcIp), ttl: p.ttl, srcIp: p.srcIp, advert: a }];
  });

  it('takes over Skew_Time after the priority-0 advert, and repeats GARPs garp_master_delay later', () => {
    const stop = frames.find((f) => f.src === '10.0.0.2' && f.advert.priority === 0)!;
    const fromA = frames.filter((f) => f.src === '10.0.0.2' && f.frame <= stop.frame);
    const bFirst = frames.find((f) => f.src === '10.0.0.3')!;
    let s: InstanceState = step(
      instance({ garpMasterRepeat: 3 }),
      { type: 'startup', ownIp: ip('10.0.0.3') },
      fromA[0]!.tsMs - 1,
    ).state;
    for (const f of fromA) {
      // Timers due before this advert fire first, as they would have on B.
      const due = s.timers['master-down'];
      expect(due === undefined || due > f.tsMs, `B would have taken over before frame ${f.frame}`).toBe(true);
      s = step(
        s,
        { type: 'advert', packet: { advert: f.advert, srcIp: f.srcIp, ttl: f.ttl, iface: 'eth0' } },
        f.tsMs,
      ).state;
      expect(s.state).toBe('BACKUP');
    }
    const takeover = s.timers['master-down']!;
    expect(takeover).toBe(stop.tsMs + 609);
    const r = step(s, { type: 'timer', key: 'master-down' }, takeover);
    expect(r.state.state).toBe('MASTER');
    // keepalived B sent its first advert 613.6 ms after A's priority 0: our deadline is 609 ms.
    expect(Math.abs(bFirst.tsMs - takeover)).toBeLessThan(15);
    expect(r.actions).toContainEqual(expect.objectContaining({ type: 'send-garp', repeat: 3 }));
    // B's second GARP burst (frames 115-117) came 5 s after the first (frames 104-106).
    const garpAt = r.state.timers['garp-repeat']!;
    expect(garpAt - takeover).toBe(5000);
    const vipGarps = readPcap(pcap)
      .map((rec) => ({ tsMs: rec.ts * 1000, eth: pcapRecordToEthernet(rec) }))
      .filter(
        ({ eth }) => eth && eth[12] === 0x08 && eth[13] === 0x06 && readIp4(eth, 28) === ip('10.0.0.10'),
      )
      .filter(({ tsMs }) => tsMs > stop.tsMs && tsMs < stop.tsMs + 8000);
    expect(vipGarps).toHaveLength(6); // 3 at takeover, 3 five seconds later
    expect(Math.abs(vipGarps[3]!.tsMs - garpAt)).toBeLessThan(15);
  });
});
