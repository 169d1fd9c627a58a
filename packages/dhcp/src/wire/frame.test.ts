import { formatIp4, formatMac, parseIp4, parseMac } from '@hadhcp/common';
import { describe, expect, it } from 'vitest';
import { capturedDhcp } from '../../test-vectors/captures.js';
import { isWireError, type WireError } from './errors.js';
import { buildUdpFrame, ipChecksum, parseUdpFrame, type UdpFrame } from './frame.js';

const client = capturedDhcp('client-lan.pcap');
const server = capturedDhcp('server-lan.pcap');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function ok(f: Uint8Array): UdpFrame {
  const r = parseUdpFrame(f);
  if (isWireError(r)) throw new Error(`${r.reason}: ${r.detail}`);
  return r;
}
const reason = (f: Uint8Array, verify = false): string | undefined => {
  const r = parseUdpFrame(f, { verifyUdpChecksum: verify });
  return isWireError(r) ? (r as WireError).reason : undefined;
};

const params = {
  srcMac: parseMac('02:00:00:00:00:01')!,
  dstMac: parseMac('52:54:00:7d:2d:b1')!,
  srcIp: parseIp4('10.0.0.10')!,
  dstIp: parseIp4('10.1.0.60')!,
  srcPort: 67,
  dstPort: 68,
  payload: Uint8Array.of(1, 2, 3),
};

describe('ipChecksum', () => {
  it('matches the RFC 1071 3 example (words 0001 f203 f4f5 f6f7 sum to ddf2; checksum 220d)', () => {
    expect(ipChecksum(Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7))).toBe(0x220d);
  });
});

describe('parseUdpFrame on captures', () => {
  it('reads the dhclient DISCOVER (client-lan 1): broadcast from 0.0.0.0:68 to 255.255.255.255:67', () => {
    const f = client[0]!.frame;
    expect(formatMac(f.srcMac)).toBe('52:54:00:7d:2d:b1');
    expect(formatMac(f.dstMac)).toBe('ff:ff:ff:ff:ff:ff');
    expect([formatIp4(f.srcIp), formatIp4(f.dstIp), f.srcPort, f.dstPort]).toEqual([
      '0.0.0.0',
      '255.255.255.255',
      68,
      67,
    ]);
    expect(f.payload.length).toBe(300);
    expect(f.udpChecksum).toBe('ok');
  });

  it('rebuilds every client-segment frame byte for byte from its parsed fields (IP and UDP checksums)', () => {
    for (const p of client) {
      expect(hex(buildUdpFrame({ ...p.frame, payload: p.payload })), `frame ${p.frameNo}`).toBe(hex(p.raw));
    }
  });

  it('reports, and drops only on request, the offloaded UDP checksums captured on the sending veth', () => {
    // server-lan was captured where the kernel had not filled in UDP checksums yet (tshark agrees: "bad").
    expect(server.every((p) => p.frame.udpChecksum === 'bad')).toBe(true);
    expect(reason(server[0]!.raw)).toBeUndefined();
    expect(reason(server[0]!.raw, true)).toBe('bad-udp-checksum');
  });
});

describe('buildUdpFrame / parseUdpFrame', () => {
  it('round trips with an 802.1Q tag and TTL', () => {
    const f = buildUdpFrame({ ...params, vlan: 42, ttl: 16 });
    expect(f.length).toBe(18 + 20 + 8 + 3);
    const r = ok(f);
    expect(r).toMatchObject({ vlan: 42, ttl: 16, srcPort: 67, dstPort: 68, udpChecksum: 'ok' });
    expect(Array.from(r.payload)).toEqual([1, 2, 3]);
  });

  it('accepts Ethernet padding after the datagram (frames shorter than 60 octets are padded)', () => {
    const f = Uint8Array.from([...buildUdpFrame(params), 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(ok(f).payload)).toEqual([1, 2, 3]);
  });

  it('skips IPv4 options using IHL', () => {
    const plain = buildUdpFrame(params);
    const f = new Uint8Array(plain.length + 4);
    f.set(plain.subarray(0, 14));
    f.set(plain.subarray(14, 34), 14);
    f[14] = 0x46; // IHL 6: one word of options
    f.set([1, 1, 1, 0], 34); // NOP NOP NOP EOL
    f.set(plain.subarray(34), 38);
    const total = 20 + 4 + 8 + 3;
    f[16] = total >>> 8;
    f[17] = total & 255;
    f[24] = f[25] = 0;
    const ck = ipChecksum(f.subarray(14, 38));
    f[24] = ck >>> 8;
    f[25] = ck & 255;
    expect(Array.from(ok(f).payload)).toEqual([1, 2, 3]);
  });

  it.each<[string, (f: Uint8Array) => Uint8Array]>([
    ['frame-truncated', (f) => f.subarray(0, 30)],
    ['not-ipv4', (f) => (f.set([0x86, 0xdd], 12), f)],
    ['bad-ip-checksum', (f) => ((f[22] = 1), f)], // TTL changed, checksum not
    ['ip-fragment', (f) => refix((f[20] = 0x20), f)], // MF set
    ['not-udp', (f) => refix((f[23] = 6), f)], // TCP
    ['bad-udp-length', (f) => ((f[38] = 0), (f[39] = 200), f)],
    ['bad-ip-header', (f) => refix((f[14] = 0x65), f)], // version 6 in an IPv4 EtherType
  ])('%s', (want, mutate) => {
    expect(reason(mutate(buildUdpFrame(params)))).toBe(want);
  });
});

/** Recomputes the IPv4 header checksum after a deliberate header change. */
function refix(_: unknown, f: Uint8Array): Uint8Array {
  f[24] = f[25] = 0;
  const ck = ipChecksum(f.subarray(14, 34));
  f[24] = ck >>> 8;
  f[25] = ck & 255;
  return f;
}
