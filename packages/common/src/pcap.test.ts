import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  pcapRecordToEthernet,
  readPcap,
} from './pcap.js';

const vectors = new URL('../../dhcp/test-vectors/', import.meta.url);
const load = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, vectors)));

/** Builds a pcap file by hand: header fields in the given byte order and magic. */
function makePcap(
  opts: { le: boolean; nano: boolean; linkType: number },
  records: [number, number, number[]][],
) {
  const parts: number[] = [];
  const u32 = (v: number): void => {
    const b = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
    parts.push(...(opts.le ? b.reverse() : b));
  };
  const u16 = (v: number): void => {
    const b = [v >>> 8, v & 255];
    parts.push(...(opts.le ? b.reverse() : b));
  };
  u32(opts.nano ? 0xa1b23c4d : 0xa1b2c3d4);
  u16(2); // version major
  u16(4); // version minor
  u32(0); // thiszone
  u32(0); // sigfigs
  u32(65535); // snaplen
  u32(opts.linkType);
  for (const [sec, frac, data] of records) {
    u32(sec);
    u32(frac);
    u32(data.length); // incl_len
    u32(data.length); // orig_len
    parts.push(...data);
  }
  return Uint8Array.from(parts);
}

describe('readPcap', () => {
  it('reads the captured client segment: 11 Ethernet frames in time order', () => {
    const recs = readPcap(load('client-lan.pcap'));
    expect(recs).toHaveLength(11); // capinfos says 11
    expect(recs.every((r) => r.linkType === LINKTYPE_ETHERNET)).toBe(true);
    expect(recs[0]!.data.length).toBe(342); // tshark: frame 1 is 342 bytes on wire
    for (let i = 1; i < recs.length; i++) expect(recs[i]!.ts).toBeGreaterThanOrEqual(recs[i - 1]!.ts);
    // frame 2 follows frame 1 by 0.000877 s (tshark relative time)
    expect(recs[1]!.ts - recs[0]!.ts).toBeCloseTo(0.000877, 6);
  });

  it('reads the captured router segment: 139 frames', () => {
    expect(readPcap(load('server-lan.pcap'))).toHaveLength(139);
  });

  it('reads both byte orders and both time resolutions', () => {
    for (const le of [true, false]) {
      for (const nano of [true, false]) {
        const recs = readPcap(
          makePcap({ le, nano, linkType: 1 }, [[100, nano ? 500_000_000 : 500_000, [1, 2, 3]]]),
        );
        expect(recs).toEqual([{ ts: 100.5, linkType: 1, data: Uint8Array.of(1, 2, 3) }]);
      }
    }
  });

  it('ignores a truncated last record and rejects a non-pcap file', () => {
    const f = makePcap({ le: true, nano: false, linkType: 1 }, [
      [1, 0, [9]],
      [2, 0, [1, 2, 3, 4]],
    ]);
    expect(readPcap(f.subarray(0, f.length - 1))).toHaveLength(1);
    expect(() => readPcap(new Uint8Array(24))).toThrow(/bad magic/);
  });
});

describe('pcapRecordToEthernet', () => {
  const ipPayload = [0x45, 0, 0, 20];
  it('rewrites a Linux cooked (SLL) header into Ethernet, keeping source MAC and EtherType', () => {
    // packet type 4 (outgoing), ARPHRD_ETHER 1, addr len 6, addr (8 bytes, 2 unused), protocol 0x0800
    const sll = [0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00, ...ipPayload];
    const eth = pcapRecordToEthernet({ ts: 0, linkType: LINKTYPE_LINUX_SLL, data: Uint8Array.from(sll) });
    expect(Array.from(eth!)).toEqual([0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 0x08, 0x00, ...ipPayload]);
  });
  it('rewrites an SLL2 header into Ethernet', () => {
    // protocol 0x0800, reserved, ifindex 3, ARPHRD_ETHER 1, packet type 0, addr len 6, addr (8 bytes)
    const sll2 = [0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, ...ipPayload];
    const eth = pcapRecordToEthernet({ ts: 0, linkType: LINKTYPE_LINUX_SLL2, data: Uint8Array.from(sll2) });
    expect(Array.from(eth!)).toEqual([0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 0x08, 0x00, ...ipPayload]);
  });
  it('returns undefined for unknown link types and short cooked headers', () => {
    expect(pcapRecordToEthernet({ ts: 0, linkType: 101, data: new Uint8Array(40) })).toBeUndefined();
    expect(
      pcapRecordToEthernet({ ts: 0, linkType: LINKTYPE_LINUX_SLL, data: new Uint8Array(15) }),
    ).toBeUndefined();
  });
});
