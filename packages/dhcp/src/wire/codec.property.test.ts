/** Property tests: the decoder survives anything, and encode/decode agree on every valid message. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allCapturedDhcp } from '../../test-vectors/captures.js';
import { decodeDhcp, encodeDhcp, encodeDhcpDetailed } from './codec.js';
import { isWireError } from './errors.js';
import type { DhcpMessage, DhcpOption } from './types.js';

const captured = allCapturedDhcp().map((p) => p.payload);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A captured packet, then byte flips, a truncation or an extension. */
const mutated = fc
  .record({
    base: fc.integer({ min: 0, max: captured.length - 1 }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
    cut: fc.option(fc.nat({ max: 400 })),
    tail: fc.uint8Array({ maxLength: 300 }),
  })
  .map(({ base, flips, cut, tail }) => {
    const b = Uint8Array.from(captured[base]!);
    for (const [pos, val] of flips) b[pos % b.length] = val;
    const cutAt = cut === null ? b.length : Math.min(cut, b.length);
    return Uint8Array.from([...b.subarray(0, cutAt), ...tail]);
  });

/** A valid header + cookie followed by random option bytes (options area, and file/sname areas too). */
const randomOptions = fc
  .record({
    base: fc.integer({ min: 0, max: captured.length - 1 }),
    file: fc.uint8Array({ minLength: 128, maxLength: 128 }),
    sname: fc.uint8Array({ minLength: 64, maxLength: 64 }),
    area: fc.uint8Array({ maxLength: 600 }),
    overload: fc.constantFrom([], [52, 1, 1], [52, 1, 2], [52, 1, 3]),
  })
  .map(({ base, file, sname, area, overload }) => {
    const b = Uint8Array.from([...captured[base]!.subarray(0, 240), ...overload, ...area]);
    b.set(sname, 44);
    b.set(file, 108);
    return b;
  });

describe('decodeDhcp on hostile input', () => {
  it('never throws on mutated captures, and whatever decodes re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(fc.oneof(mutated, randomOptions, fc.uint8Array({ maxLength: 700 })), (bytes) => {
        const m = decodeDhcp(bytes);
        if (isWireError(m)) {
          expect(typeof m.reason).toBe('string');
          return;
        }
        expect(hex(encodeDhcp(m))).toBe(hex(bytes));
      }),
      { numRuns: 3000 },
    );
  });
});

const EXCLUDED = new Set([0, 52, 53, 255]);
const option: fc.Arbitrary<DhcpOption> = fc.record({
  code: fc.integer({ min: 1, max: 254 }).filter((c) => !EXCLUDED.has(c)),
  data: fc.uint8Array({ maxLength: 300 }),
});
const zeroOr = (n: number) =>
  fc.oneof(fc.constant(new Uint8Array(n)), fc.uint8Array({ minLength: n, maxLength: n }));

const message: fc.Arbitrary<DhcpMessage> = fc
  .record({
    op: fc.constantFrom(1, 2),
    htype: fc.integer({ min: 0, max: 255 }),
    hlen: fc.integer({ min: 0, max: 16 }),
    hops: fc.integer({ min: 0, max: 16 }),
    xid: fc.nat({ max: 0xffffffff }),
    secs: fc.nat({ max: 0xffff }),
    flags: fc.nat({ max: 0xffff }),
    ciaddr: fc.nat({ max: 0xffffffff }),
    yiaddr: fc.nat({ max: 0xffffffff }),
    siaddr: fc.nat({ max: 0xffffffff }),
    giaddr: fc.nat({ max: 0xffffffff }),
    chaddr: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    sname: zeroOr(64),
    file: zeroOr(128),
    type: fc.option(fc.integer({ min: 1, max: 8 })),
    rest: fc.uniqueArray(option, { selector: (o) => o.code, maxLength: 8 }),
  })
  .map(({ type, rest, ...h }) => ({
    ...h,
    hasCookie: true,
    options: type === null ? rest : [{ code: 53, data: Uint8Array.of(type) }, ...rest],
  }));

/** The encoder's documented order: 53, then 54, then the rest as given, relay agent information (82) last. */
function conventional(options: DhcpOption[]): DhcpOption[] {
  const rank = (c: number): number => (c === 53 ? 0 : c === 54 ? 1 : c === 82 ? 3 : 2);
  return [...options].sort((a, b) => rank(a.code) - rank(b.code) || options.indexOf(a) - options.indexOf(b));
}

describe('decode(encode(m))', () => {
  it('gives m back (options in conventional order) when the client accepts large messages', () => {
    fc.assert(
      fc.property(message, (m) => {
        const back = decodeDhcp(encodeDhcp(m, { maxSize: 65535 }));
        if (isWireError(back)) throw new Error(back.detail);
        const { layout: _l, ...rest } = back;
        expect(rest).toEqual({ ...m, options: conventional(m.options) });
      }),
      { numRuns: 1000 },
    );
  });

  it('within 576 octets: fits, keeps everything not reported as dropped, and never touches a named file/sname', () => {
    fc.assert(
      fc.property(message, fc.boolean(), (m, allowOverload) => {
        const r = encodeDhcpDetailed(m, { allowOverload });
        expect(r.bytes.length).toBeLessThanOrEqual(548);
        const back = decodeDhcp(r.bytes);
        if (isWireError(back)) throw new Error(back.detail);
        // Options the options field had no room for may sit in file/sname, after later ones (RFC 3396 5 order).
        const kept = conventional(m.options).filter((o) => !r.dropped.includes(o.code));
        const byCode = (xs: typeof kept) => [...xs].sort((a, b) => a.code - b.code);
        expect(byCode(back.options)).toEqual(byCode(kept));
        expect(back.sname).toEqual(m.sname);
        expect(back.file).toEqual(m.file);
        if (r.overload & 1) expect(m.file.every((b) => b === 0)).toBe(true);
        if (r.overload & 2) expect(m.sname.every((b) => b === 0)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('every area in use ends with the end option (RFC 2131 4.1), whatever the size and overload', () => {
    const ends = (items: Array<{ code: number }> | undefined): boolean =>
      items !== undefined && items.at(-1)?.code === 255;
    // Values of any length up to 300, not mostly short ones: crowded replies that split and overload.
    const long: fc.Arbitrary<DhcpOption> = fc.record({
      code: fc.integer({ min: 1, max: 254 }).filter((c) => !EXCLUDED.has(c)),
      data: fc.integer({ min: 0, max: 300 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
    });
    const crowded = fc
      .tuple(message, fc.uniqueArray(long, { selector: (o) => o.code, minLength: 1, maxLength: 8 }))
      .map(([m, more]) => ({
        ...m,
        options: [...m.options, ...more.filter((o) => !m.options.some((x) => x.code === o.code))],
      }));
    fc.assert(
      fc.property(
        fc.oneof(message, crowded),
        fc.boolean(),
        fc.option(fc.integer({ min: 300, max: 1500 })),
        (m, allowOverload, maxSize) => {
          const r = encodeDhcpDetailed(m, { allowOverload, ...(maxSize === null ? {} : { maxSize }) });
          const back = decodeDhcp(r.bytes);
          if (isWireError(back)) throw new Error(back.detail);
          const layout = back.layout!;
          expect(layout.overload).toBe(r.overload);
          expect(ends(layout.options.items)).toBe(true);
          if (r.overload & 1) expect(ends(layout.file?.items)).toBe(true);
          if (r.overload & 2) expect(ends(layout.sname?.items)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
