/** The stream framer: captured TCP streams cut at random, hostile streams, and the length limits. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capturedMessages, failoverStreams } from '../../test-vectors/captures.js';
import { takeMessages, type FrameResult } from './frame.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Feeds `data` to the framer in pieces cut at `cuts`, as TCP may deliver it. */
function feed(
  data: Uint8Array,
  cuts: number[],
): { messages: string[]; rest: Uint8Array; error?: FrameResult['error'] } {
  const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const messages: string[] = [];
  let rest: Uint8Array = new Uint8Array(0);
  let prev = 0;
  for (const end of [...at, data.length]) {
    const r = takeMessages(rest, data.subarray(prev, end));
    messages.push(...r.messages.map(hex));
    if (r.error) return { messages, rest: r.rest, error: r.error };
    rest = r.rest;
    prev = end;
  }
  return { messages, rest };
}

const streams = failoverStreams();
const all = capturedMessages();

describe('takeMessages', () => {
  it('cuts each captured stream into the messages found by the capture helper, however TCP splits it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: streams.length - 1 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (i, cuts) => {
          const s = streams[i]!;
          const expected = all.filter((m) => m.direction === s.direction).map((m) => hex(m.bytes));
          const got = feed(s.data, cuts);
          expect(got.error).toBeUndefined();
          expect(got.messages).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('one byte at a time', () => {
    const s = streams.find((x) => x.data.length > 4000)!;
    const got = feed(
      s.data,
      Array.from({ length: s.data.length }, (_, i) => i),
    );
    expect(got.messages).toEqual(all.filter((m) => m.direction === s.direction).map((m) => hex(m.bytes)));
  });

  it('keeps an incomplete message, including a lone first length byte', () => {
    let r = takeMessages(new Uint8Array(0), Uint8Array.of(0x00));
    expect(r).toEqual({ messages: [], rest: Uint8Array.of(0x00) });
    r = takeMessages(r.rest, Uint8Array.of(0x0c, 0x0b, 0x0c, 0, 0, 0, 0, 0, 0, 0));
    expect(r.messages).toEqual([]);
    expect(r.rest).toHaveLength(11);
    r = takeMessages(r.rest, Uint8Array.of(0x05, 0x00, 0x0c));
    expect(r.messages.map(hex)).toEqual(['000c0b0c0000000000000005']);
    expect(r.rest).toEqual(Uint8Array.of(0x00, 0x0c));
  });

  it('refuses a length field outside 12..2048, after handing over the messages before it', () => {
    const contact = Uint8Array.of(0x00, 0x0c, 0x0b, 0x0c, 0, 0, 0, 0, 0, 0, 0, 1);
    for (const bad of [0, 11, 2049, 0xffff]) {
      const r = takeMessages(new Uint8Array(0), Uint8Array.from([...contact, bad >> 8, bad & 255, 0, 0]));
      expect(r.messages.map(hex)).toEqual([hex(contact)]);
      expect(r.error).toMatchObject({ reason: 'bad-length' });
    }
    const max = new Uint8Array(2048);
    max.set([0x08, 0x00]);
    expect(takeMessages(new Uint8Array(0), max).messages).toHaveLength(1);
  });

  it('never throws on random bytes in random pieces; messages it returns carry their own length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 20 }), (data, cuts) => {
        const got = feed(data, cuts);
        for (const m of got.messages) expect(parseInt(m.slice(0, 4), 16)).toBe(m.length / 2);
      }),
      { numRuns: 500 },
    );
  });

  it("does not keep views of the caller's chunk", () => {
    const chunk = Uint8Array.of(0x00, 0x0c, 0x0b, 0x0c, 0, 0, 0, 0, 0, 0, 0, 1, 0x00);
    const r = takeMessages(new Uint8Array(0), chunk);
    chunk.fill(0xee);
    expect(hex(r.messages[0]!)).toBe('000c0b0c0000000000000001');
    expect(r.rest).toEqual(Uint8Array.of(0x00));
  });
});
