import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeLeaseBody,
  decodeLeaseString,
  decodeRecords,
  encodeFrame,
  encodeLeaseBody,
  encodeLeaseString,
  encodeRecord,
  FileKind,
  fileHeader,
  leaseStringBilled,
  leaseStringEnds,
  leaseStringIds,
  leaseStringState,
  RecordType,
} from './codec.js';
import { blankLease, BindingState, type Lease } from './lease.js';
import { readStoreFile, StoreCorruptError } from './reader.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const leaseArb: fc.Arbitrary<Lease> = fc.record(
  {
    address: u32,
    state: fc.integer({ min: BindingState.FREE, max: BindingState.BACKUP }),
    starts: u32,
    ends: u32,
    tstp: u32,
    tsfp: u32,
    atsfp: u32,
    cltt: u32,
    hwType: fc.integer({ min: 0, max: 255 }),
    clientId: fc.uint8Array({ maxLength: 255 }),
    hwAddr: fc.uint8Array({ maxLength: 16 }),
    hostname: fc.string({ maxLength: 60 }),
    failoverPeer: fc.string({ maxLength: 30 }),
    billing: fc.record(
      { className: fc.string({ maxLength: 40 }), subclass: fc.uint8Array({ maxLength: 255 }) },
      { requiredKeys: ['className'] },
    ),
  },
  { requiredKeys: ['address', 'state', 'starts', 'ends', 'tstp', 'tsfp', 'atsfp', 'cltt', 'hwType'] },
);

describe('lease codec', () => {
  it('decode(encode(lease)) is the lease, for any lease the format can hold', () => {
    fc.assert(
      fc.property(leaseArb, (l) => {
        expect(decodeLeaseBody(encodeLeaseBody(l))).toEqual(l);
      }),
    );
  });

  it('a body held as a Latin-1 string decodes to the same lease, fields read in place', () => {
    fc.assert(
      fc.property(leaseArb, (l) => {
        const s = encodeLeaseBody(l).toString('latin1');
        expect(decodeLeaseString(s)).toEqual(l);
        expect(leaseStringState(s)).toBe(l.state);
        expect(leaseStringEnds(s)).toBe(l.ends);
        expect(leaseStringBilled(s)).toBe(l.billing !== undefined);
        const sp = new Int32Array(4);
        leaseStringIds(s, sp);
        const bytes = (a: number, b: number) =>
          a < 0 ? undefined : Uint8Array.from(s.slice(a, b), (c) => c.charCodeAt(0));
        expect(bytes(sp[0]!, sp[1]!)).toEqual(l.clientId);
        expect(bytes(sp[2]!, sp[3]!)).toEqual(l.hwAddr);
      }),
    );
  });

  it('encodeLeaseString is the body as Latin-1; text fields of any script up to 255 UTF-8 bytes, longer refused', () => {
    const unicode = fc.string({ unit: 'binary', maxLength: 140 });
    const arb = fc.tuple(leaseArb, unicode, unicode, unicode);
    fc.assert(
      fc.property(arb, ([base, hostname, failoverPeer, className]) => {
        const l: Lease = { ...base, hostname, failoverPeer, billing: { className } };
        const fits = [hostname, failoverPeer, className].every((t) => Buffer.byteLength(t) <= 255);
        if (!fits) {
          expect(() => encodeLeaseBody(l)).toThrow(RangeError);
          expect(() => encodeLeaseString(l)).toThrow(/is \d+ bytes, max 255/);
          return;
        }
        const s = encodeLeaseString(l);
        expect(s).toBe(encodeLeaseBody(l).toString('latin1'));
        expect(decodeLeaseString(s)).toEqual(l);
      }),
    );
    const base = blankLease(1, BindingState.ACTIVE);
    expect(decodeLeaseString(encodeLeaseString({ ...base, hostname: 'é'.repeat(127) + 'a' })).hostname).toBe(
      'é'.repeat(127) + 'a',
    ); // 255 bytes
    expect(() => encodeLeaseString({ ...base, hostname: 'é'.repeat(127) + 'ab' })).toThrow(/256 bytes/);
    expect(
      decodeLeaseString(encodeLeaseString({ ...base, hostname: 'a'.repeat(255) })).hostname,
    ).toHaveLength(255);
    expect(() => encodeLeaseString({ ...base, failoverPeer: 'a'.repeat(256) })).toThrow(
      /failoverPeer is 256 bytes/,
    );
  });

  it('the string decoder accepts and refuses exactly what the byte decoder does', () => {
    const outcome = (f: () => Lease): Lease | string => {
      try {
        return f();
      } catch (e) {
        return (e as Error).message;
      }
    };
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      fc
        .tuple(leaseArb, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 3 }))
        .map(([l, pos, byte, cut]) => {
          const b = encodeLeaseBody(l);
          b[pos % b.length] = byte;
          return b.subarray(0, b.length - cut);
        }),
    );
    fc.assert(
      fc.property(bodies, (b) => {
        const buf = Buffer.from(b);
        expect(outcome(() => decodeLeaseString(buf.toString('latin1')))).toEqual(
          outcome(() => decodeLeaseBody(buf)),
        );
      }),
    );
  });

  it('reads a lease record written before billing was stored', () => {
    // The body as the store wrote it until now: flags 1|2|4|8, no billing bits.
    // prettier-ignore
    const old = Buffer.from([
      0x0a, 0x00, 0x00, 0x07, // address 10.0.0.7
      0x02, // state ACTIVE
      0x00, 0x00, 0x03, 0xe8, // starts 1000
      0x00, 0x00, 0x07, 0xd0, // ends 2000
      0x00, 0x00, 0x00, 0x00, // tstp
      0x00, 0x00, 0x00, 0x00, // tsfp
      0x00, 0x00, 0x00, 0x00, // atsfp
      0x00, 0x00, 0x03, 0xe8, // cltt 1000
      0x01, // hwType Ethernet
      0x0f, // flags: client id, hardware address, hostname, failover peer
      0x02, 0x01, 0x02, // client id 01:02
      0x06, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, // hardware address
      0x02, 0x70, 0x63, // hostname "pc"
      0x01, 0x66, // failover peer "f"
    ]);
    const l: Lease = {
      address: 0x0a000007,
      state: BindingState.ACTIVE,
      starts: 1000,
      ends: 2000,
      tstp: 0,
      tsfp: 0,
      atsfp: 0,
      cltt: 1000,
      hwType: 1,
      clientId: Uint8Array.of(1, 2),
      hwAddr: Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff),
      hostname: 'pc',
      failoverPeer: 'f',
    };
    expect(decodeLeaseBody(old)).toEqual(l);
    expect(decodeLeaseString(old.toString('latin1'))).toEqual(l);
    expect(leaseStringBilled(old.toString('latin1'))).toBe(false);
    // And a lease without billing is still written byte for byte as before.
    expect(encodeLeaseBody(l)).toEqual(old);
  });

  it('stores a billing class, and a billing subclass with its match value, after the other fields', () => {
    const base = blankLease(0x0a000007, BindingState.ACTIVE);
    const cls = encodeLeaseBody({ ...base, billing: { className: 'x' } });
    // prettier-ignore
    expect([...cls.subarray(30)]).toEqual([
      0x10, // flags: billing
      0x01, 0x78, // class "x"
    ]);
    const sub = { ...base, billing: { className: 'cm', subclass: Uint8Array.of(1, 0, 0x5e) } };
    const b = encodeLeaseBody(sub);
    // prettier-ignore
    expect([...b.subarray(30)]).toEqual([
      0x30, // flags: billing, billing subclass
      0x02, 0x63, 0x6d, // class "cm"
      0x03, 0x01, 0x00, 0x5e, // the subclass's match value
    ]);
    expect(decodeLeaseBody(b)).toEqual(sub);
    expect(decodeLeaseString(b.toString('latin1'))).toEqual(sub);
  });

  it('frames carry lease, delete and meta records in order', () => {
    const l = blankLease(1);
    const frame = encodeFrame([
      encodeRecord({ type: RecordType.LEASE, body: encodeLeaseBody(l) }),
      encodeRecord({ type: RecordType.DELETE, address: 0xffffffff }),
      encodeRecord({ type: RecordType.META, key: 'k', value: 'välue' }),
    ]);
    const seen: unknown[] = [];
    decodeRecords(frame.subarray(12), (r) =>
      seen.push(r.type === RecordType.LEASE ? decodeLeaseBody(r.body) : r),
    );
    expect(seen).toEqual([
      l,
      { type: RecordType.DELETE, address: 0xffffffff },
      { type: RecordType.META, key: 'k', value: 'välue' },
    ]);
  });

  it('the file reader never throws anything but StoreCorruptError on arbitrary bytes after a header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (tail, snapshot) => {
        const kind = snapshot ? FileKind.SNAPSHOT : FileKind.JOURNAL;
        const buf = Buffer.concat([fileHeader(kind), tail]);
        try {
          const r = readStoreFile(buf, 'f', kind, 'fail', () => undefined);
          expect(r.validEnd + r.tornBytes).toBe(buf.length);
        } catch (e) {
          expect(e).toBeInstanceOf(StoreCorruptError);
        }
      }),
    );
  });
});
