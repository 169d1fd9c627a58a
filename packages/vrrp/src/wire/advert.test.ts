import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatIp4, parseIp4 } from '@hadhcp/common';
import {
  AUTH_PASS,
  authDataText,
  decodeAdvert,
  encodeAdvert,
  isVrrpWireError,
  passwordAuthData,
  VRRP_PROTOCOL,
  type Advert,
} from './advert.js';
import { decodeIpPacket } from './ip.js';
import { internetChecksum } from './checksum.js';
import { ipv4Frames } from '../../test-vectors/pcap.js';

const pcap = readFileSync(fileURLToPath(new URL('../../test-vectors/server-lan.pcap', import.meta.url)));

/** Every VRRP packet in the capture of two keepalived 2.2.7 routers (site-a prio 150, site-b prio 100). */
function captured() {
  return ipv4Frames(pcap)
    .map((f) => ({ ...f, pkt: decodeIpPacket(f.ip) }))
    .filter((f) => !isVrrpWireError(f.pkt) && f.pkt.protocol === VRRP_PROTOCOL)
    .map((f) => {
      if (isVrrpWireError(f.pkt)) throw new Error('unreachable');
      return { frame: f.frame, tsMs: f.tsMs, ip: f.pkt };
    });
}

// Frame 33 of server-lan.pcap, VRRP part (after the 20-byte IP header).
const FRAME_33 = Uint8Array.from([
  0x21, // version 2, type 1 (advertisement)
  0x33, // VRID 51
  0x96, // priority 150
  0x01, // one address
  0x01, // auth type 1 (simple text password)
  0x01, // advert interval 1 s
  0xdb,
  0x5d, // checksum
  0x0a,
  0x00,
  0x00,
  0x0a, // 10.0.0.10
  0x31,
  0x31,
  0x31,
  0x31,
  0x00,
  0x00,
  0x00,
  0x00, // "1111" NUL-padded
]);

describe('VRRPv2 advert codec on keepalived 2.2.7 captures', () => {
  const frames = captured();

  it('finds the adverts of both routers, including the priority-0 one of the graceful stop', () => {
    expect(frames.length).toBe(32);
    const bySrc = new Map<string, Set<number>>();
    for (const f of frames) {
      const a = decodeAdvert(f.ip.payload);
      if (isVrrpWireError(a)) throw new Error(`frame ${f.frame}: ${a.reason} ${a.detail}`);
      const src = formatIp4(f.ip.srcIp);
      bySrc.set(src, (bySrc.get(src) ?? new Set()).add(a.priority));
      expect(f.ip.ttl).toBe(255);
      expect(formatIp4(f.ip.dstIp)).toBe('224.0.0.18');
      expect(a.vrid).toBe(51);
      expect(a.advertInt).toBe(1);
      expect(a.authType).toBe(AUTH_PASS);
      expect(authDataText(a.authData)).toBe('1111');
      expect(a.authData).toEqual(passwordAuthData('1111'));
      expect(a.addresses.map(formatIp4)).toEqual(['10.0.0.10']);
    }
    expect([...bySrc.get('10.0.0.2')!].sort()).toEqual([0, 150]);
    expect([...bySrc.get('10.0.0.3')!]).toEqual([100]);
  });

  it('re-encodes every captured advert byte for byte', () => {
    for (const f of frames) {
      const a = decodeAdvert(f.ip.payload) as Advert;
      expect(Buffer.from(encodeAdvert(a)).toString('hex'), `frame ${f.frame}`).toBe(
        Buffer.from(f.ip.payload).toString('hex'),
      );
    }
  });

  it('decodes the hand-annotated frame 33 and verifies its checksum', () => {
    expect(decodeAdvert(FRAME_33)).toEqual({
      vrid: 51,
      priority: 150,
      authType: 1,
      advertInt: 1,
      addresses: [parseIp4('10.0.0.10')],
      authData: passwordAuthData('1111'),
    });
    expect(internetChecksum(FRAME_33)).toBe(0);
  });

  it('computes the priority-0 checksum keepalived sent at graceful stop (frame 99: 0x715e)', () => {
    const a = decodeAdvert(FRAME_33) as Advert;
    const bytes = encodeAdvert({ ...a, priority: 0 });
    expect((bytes[6]! << 8) | bytes[7]!).toBe(0x715e);
  });
});

describe('VRRPv2 advert errors', () => {
  const reason = (b: Uint8Array) => {
    const r = decodeAdvert(b);
    return isVrrpWireError(r) ? r.reason : 'ok';
  };
  const mutate = (f: (b: Uint8Array) => void) => {
    const b = FRAME_33.slice();
    f(b);
    return b;
  };

  it('rejects a flipped bit anywhere as bad-checksum', () => {
    for (let i = 8; i < FRAME_33.length; i++)
      expect(reason(mutate((b) => (b[i]! ^= 0x01)))).toBe('bad-checksum');
    expect(reason(mutate((b) => (b[2] = 149)))).toBe('bad-checksum');
  });

  it('names truncation, length, version and type problems', () => {
    expect(reason(FRAME_33.subarray(0, 7))).toBe('truncated');
    expect(reason(FRAME_33.subarray(0, 19))).toBe('bad-length');
    expect(reason(Uint8Array.from([...FRAME_33, 0]))).toBe('bad-length');
    expect(reason(mutate((b) => (b[3] = 2)))).toBe('bad-length');
    expect(reason(mutate((b) => (b[0] = 0x11)))).toBe('bad-version');
    expect(reason(mutate((b) => (b[0] = 0x22)))).toBe('bad-type');
  });

  it('recognises a VRRPv3 advert (RFC 5798) well enough to log it', () => {
    // version 3 type 1, VRID 51, prio 100, 1 addr, rsvd+interval 100 cs, checksum, 10.0.0.10
    const v3 = Uint8Array.from([0x31, 51, 100, 1, 0x00, 0x64, 0x12, 0x34, 10, 0, 0, 10]);
    const r = decodeAdvert(v3);
    expect(isVrrpWireError(r) && r.reason).toBe('version-mismatch-v3');
    expect(isVrrpWireError(r) && r.v3).toEqual({ vrid: 51, priority: 100, maxAdvertIntCs: 100, count: 1 });
  });

  it('never throws on arbitrary bytes and round-trips whatever it accepts', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const r = decodeAdvert(b);
        if (!isVrrpWireError(r)) expect(encodeAdvert(r)).toEqual(b);
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        decodeIpPacket(b);
      }),
    );
  });

  it('round-trips any well-formed advert', () => {
    const advert = fc.record({
      vrid: fc.integer({ min: 1, max: 255 }),
      priority: fc.integer({ min: 0, max: 255 }),
      authType: fc.constantFrom(0, 1),
      advertInt: fc.integer({ min: 1, max: 255 }),
      addresses: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 20 }),
      authData: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    });
    fc.assert(
      fc.property(advert, (a) => {
        expect(decodeAdvert(encodeAdvert(a))).toEqual(a);
      }),
    );
  });
});

describe('decodeIpPacket', () => {
  const frame33 = ipv4Frames(pcap).find((f) => f.frame === 33)!.ip;

  it('splits the header of a captured advert', () => {
    const p = decodeIpPacket(frame33);
    if (isVrrpWireError(p)) throw new Error(p.detail);
    expect(formatIp4(p.srcIp)).toBe('10.0.0.2');
    expect(p.ttl).toBe(255);
    expect(p.protocol).toBe(112);
    expect(p.tos).toBe(0xc0);
    expect(Uint8Array.from(p.payload)).toEqual(FRAME_33);
  });

  it('trims link padding and rejects bad headers', () => {
    const padded = Uint8Array.from([...frame33, 0, 0, 0, 0, 0, 0]);
    const p = decodeIpPacket(padded);
    expect(!isVrrpWireError(p) && p.payload.length).toBe(20);
    const bad = (f: (b: Uint8Array) => void) => {
      const b = Uint8Array.from(frame33);
      f(b);
      const r = decodeIpPacket(b);
      return isVrrpWireError(r) ? r.reason : 'ok';
    };
    expect(bad((b) => (b[0] = 0x65))).toBe('bad-ip-header');
    expect(bad((b) => (b[0] = 0x44))).toBe('bad-ip-header');
    expect(bad((b) => (b[3] = 0x30))).toBe('truncated');
    expect(bad((b) => (b[3] = 0x10))).toBe('bad-ip-header');
    expect(bad((b) => (b[6] = 0x20))).toBe('bad-ip-header');
    expect(isVrrpWireError(decodeIpPacket(frame33.subarray(0, 19)))).toBe(true);
  });
});
