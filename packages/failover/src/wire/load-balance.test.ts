/** RFC 3074 hash with ISC's table, and the hash bucket assignment with ISC's bit meaning. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HBA_LENGTH, primaryBucketCount, primaryServesBucket, servesBucket, splitToHba } from './hba.js';
import { loadBalanceHash, LOADB_MIX_TABLE } from './loadb.js';

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/:/g, ''), 'hex'));

describe('loadBalanceHash (RFC 3074 section 6)', () => {
  it('the mixing table is a permutation of 0..255', () => {
    expect(LOADB_MIX_TABLE).toHaveLength(256);
    expect([...LOADB_MIX_TABLE].sort((a, b) => a - b)).toEqual(Array.from({ length: 256 }, (_, i) => i));
  });

  it("gives ISC's values (computed from ISC's loadb_mx_tbl)", () => {
    expect(loadBalanceHash(bytes('0e'))).toBe(232); // T[1 ^ 0x0e] = T[15]
    expect(loadBalanceHash(bytes('00:11:22:33:44:55'))).toBe(135); // a chaddr: ISC hashes it without htype
    expect(loadBalanceHash(bytes('01:00:11:22:33:44:55'))).toBe(223); // the same MAC as a client identifier
    expect(loadBalanceHash(new Uint8Array(0))).toBe(0);
  });

  it('mixes from the last byte to the first, starting from the length as a byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (key) => {
        let h = key.length % 256;
        for (const b of [...key].reverse()) h = LOADB_MIX_TABLE[h ^ b]!;
        expect(loadBalanceHash(key)).toBe(h);
      }),
    );
  });

  it("explains the capture: udhcpc's client id is in bucket 184, the secondary's under split 128", () => {
    // client-lan.pcap frames 5-8: udhcpc (client id 01:d2:05:11:04:08:34) got its OFFER from the primary, which
    // holds the VIP, only once secs passed `load balance max seconds 3` (secs 6, after ~7 s): with ISC's bit
    // meaning its bucket belongs to the secondary, which the relay never reaches.
    const bucket = loadBalanceHash(bytes('01:d2:05:11:04:08:34'));
    expect(bucket).toBe(184);
    expect(servesBucket(splitToHba(128), bucket, 'primary')).toBe(false);
    expect(servesBucket(splitToHba(128), bucket, 'secondary')).toBe(true);
  });
});

describe('hash bucket assignment', () => {
  it('split 128 is ff x 16 then 00 x 16, as in the captured CONNECT', () => {
    expect(Buffer.from(splitToHba(128)).toString('hex')).toBe('ff'.repeat(16) + '00'.repeat(16));
  });

  it('split N sets buckets 0..N-1, least significant bit first', () => {
    expect([...splitToHba(0)]).toEqual(new Array(HBA_LENGTH).fill(0));
    expect([...splitToHba(1).subarray(0, 2)]).toEqual([0x01, 0x00]);
    expect([...splitToHba(3).subarray(0, 2)]).toEqual([0x07, 0x00]);
    expect([...splitToHba(9).subarray(0, 2)]).toEqual([0xff, 0x01]);
    expect([...splitToHba(256)]).toEqual(new Array(HBA_LENGTH).fill(0xff));
    expect(splitToHba(300)).toEqual(splitToHba(256));
    expect(splitToHba(-1)).toEqual(splitToHba(0));
  });

  it('a set bit means the primary serves the bucket (the reverse of draft-12)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 256 }), fc.integer({ min: 0, max: 255 }), (split, bucket) => {
        const hba = splitToHba(split);
        expect(primaryServesBucket(hba, bucket)).toBe(bucket < split);
        expect(servesBucket(hba, bucket, 'secondary')).toBe(bucket >= split);
        expect(primaryBucketCount(hba)).toBe(split);
      }),
    );
  });

  it('bucket b is bit b & 7 of byte b >> 3', () => {
    const hba = new Uint8Array(HBA_LENGTH);
    hba[23] = 0x01; // bucket 184
    expect(primaryServesBucket(hba, 184)).toBe(true);
    expect(primaryServesBucket(hba, 185)).toBe(false);
    expect(primaryServesBucket(hba, 183)).toBe(false);
  });

  it('a short HBA serves nothing past its end', () => {
    expect(primaryServesBucket(Uint8Array.of(0xff), 7)).toBe(true);
    expect(primaryServesBucket(Uint8Array.of(0xff), 8)).toBe(false);
  });
});
