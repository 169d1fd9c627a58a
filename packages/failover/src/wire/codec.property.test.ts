/** Property tests: the decoder survives anything, and encode/decode agree on every message they accept. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capturedMessages } from '../../test-vectors/captures.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { MessageType } from './constants.js';
import { isFailoverWireError } from './errors.js';
import { MESSAGE_OPTIONS, type OptionDef } from './options.js';
import type { FailoverMessage } from './types.js';

const captured = capturedMessages().map((c) => c.bytes);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A whole message's options as [code, data-hex] in wire order, read without the codec. */
function rawOptions(bytes: Uint8Array): [number, string][] {
  const out: [number, string][] = [];
  for (let off = bytes[3]!; off + 4 <= bytes.length;) {
    const len = (bytes[off + 2]! << 8) | bytes[off + 3]!;
    out.push([(bytes[off]! << 8) | bytes[off + 1]!, hex(bytes.subarray(off + 4, off + 4 + len))]);
    off += 4 + len;
  }
  return out;
}

const setLength = (b: Uint8Array): Uint8Array => {
  if (b.length >= 2) [b[0], b[1]] = [(b.length >> 8) & 255, b.length & 255];
  return b;
};

/** A captured message, then byte flips, a cut and/or extra bytes; the length field fixed up half of the time. */
const mutated = fc
  .record({
    base: fc.integer({ min: 0, max: captured.length - 1 }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    cut: fc.option(fc.nat({ max: 200 })),
    tail: fc.uint8Array({ maxLength: 40 }),
    fixLength: fc.boolean(),
  })
  .map(({ base, flips, cut, tail, fixLength }) => {
    const b = Uint8Array.from(captured[base]!);
    for (const [pos, val] of flips) b[pos % b.length] = val;
    const cutAt = cut === null ? b.length : Math.min(cut, b.length);
    const out = Uint8Array.from([...b.subarray(0, cutAt), ...tail]);
    return fixLength ? setLength(out) : out;
  });

/** A valid header of any type, then option-shaped bytes: codes 0..35, lengths mostly right, sometimes not. */
const optionSoup = fc
  .record({
    type: fc.integer({ min: 0, max: 14 }),
    payoff: fc.constantFrom(12, 12, 12, 16),
    options: fc.array(
      fc.record({
        code: fc.integer({ min: 0, max: 35 }),
        data: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 1 }), fc.uint8Array({ maxLength: 6 })),
        lie: fc.option(fc.integer({ min: 0, max: 8 }), { freq: 8 }),
      }),
      { maxLength: 10 },
    ),
  })
  .map(({ type, payoff, options }) => {
    const body = options.flatMap(({ code, data, lie }) => {
      const len = lie ?? data.length;
      return [0, code, len >> 8, len & 255, ...data];
    });
    return setLength(
      Uint8Array.from([
        0,
        0,
        type,
        payoff,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        2,
        ...new Array(payoff - 12).fill(0),
        ...body,
      ]),
    );
  });

describe('decodeMessage on hostile input', () => {
  it('never throws; whatever decodes re-encodes to the same message, and to the same bytes when canonical', () => {
    fc.assert(
      fc.property(fc.oneof(mutated, optionSoup, fc.uint8Array({ maxLength: 100 })), (bytes) => {
        const m = decodeMessage(bytes);
        if (isFailoverWireError(m)) {
          expect(typeof m.reason).toBe('string');
          return;
        }
        const again = encodeMessage(m);
        const { skipped, ...kept } = m;
        expect(decodeMessage(again)).toEqual(kept);
        // Nothing skipped, no extra header bytes: the same options come back, in ISC's order.
        if (skipped === undefined && bytes[3] === 12) {
          expect(again.length).toBe(bytes.length);
          const sorted = (b: Uint8Array) => rawOptions(b).sort((x, y) => x[0] - y[0]);
          expect(sorted(again)).toEqual(sorted(bytes));
          const order = MESSAGE_OPTIONS[m.type].map((d) => d.code as number);
          const codes = rawOptions(bytes).map(([c]) => order.indexOf(c));
          if (codes.every((c, i) => i === 0 || c > codes[i - 1]!)) expect(hex(again)).toBe(hex(bytes));
        }
      }),
      { numRuns: 5000 },
    );
  });
});

function valueOf(def: OptionDef): fc.Arbitrary<number | Uint8Array> {
  switch (def.kind) {
    case 'u8':
      return fc.integer({ min: 0, max: 0xff });
    case 'u16':
      return fc.integer({ min: 0, max: 0xffff });
    case 'u32':
    case 'ip':
      return fc.nat({ max: 0xffffffff });
    case 'bytes':
      return fc.uint8Array({ maxLength: 64 });
  }
}

const TYPES = Object.keys(MESSAGE_OPTIONS).map(Number) as MessageType[];

/** Any message of any type, with any subset of the options that type carries. */
const message: fc.Arbitrary<FailoverMessage> = fc.constantFrom(...TYPES).chain((type) =>
  fc
    .record({
      time: fc.nat({ max: 0xffffffff }),
      xid: fc.nat({ max: 0xffffffff }),
      options: fc.record(Object.fromEntries(MESSAGE_OPTIONS[type].map((d) => [d.field, valueOf(d)])), {
        requiredKeys: [],
      }),
    })
    .map(({ time, xid, options }) => ({ type, time, xid, ...options }) as FailoverMessage),
);

describe('encodeMessage', () => {
  it('decode(encode(m)) = m for every message of every type', () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = encodeMessage(m);
        expect(bytes[3]).toBe(12);
        expect((bytes[0]! << 8) | bytes[1]!).toBe(bytes.length);
        expect(decodeMessage(bytes)).toEqual(m);
      }),
      { numRuns: 3000 },
    );
  });

  // It encodes into memory from Node's Buffer pool, which holds whatever was there before: every byte must be the
  // message's. The same message after the pool was filled with 0x00 and with 0xff is the same bytes.
  it('every byte is written: the same bytes whatever the pooled memory held', () => {
    const poisoned = (fill: number, m: FailoverMessage): Uint8Array => {
      for (let i = 0; i < 64; i++) Buffer.allocUnsafe(128).fill(fill);
      return Uint8Array.from(encodeMessage(m));
    };
    fc.assert(
      fc.property(message, (m) => {
        expect(poisoned(0x00, m)).toEqual(poisoned(0xff, m));
      }),
      { numRuns: 1000 },
    );
  });
});
