import fc from 'fast-check';
import { mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeFrame,
  encodeLeaseBody,
  encodeRecord,
  fileHeader,
  FileKind,
  RecordType,
  type StoreRecord,
} from './codec.js';
import { BindingState } from './lease.js';
import { readStoreFile, readStoreFileFrom, type CorruptionPolicy } from './reader.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hadhcp-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function frame(i: number, n: number): Buffer {
  const recs: Buffer[] = [];
  for (let k = 0; k < n; k++) {
    const body = encodeLeaseBody({
      address: i * 16 + k,
      state: BindingState.ACTIVE,
      starts: i,
      ends: i + 1,
      tstp: 0,
      tsfp: 0,
      atsfp: 0,
      cltt: i,
      hwType: 1,
      hostname: 'h'.repeat((i * 7 + k) % 40),
    });
    recs.push(encodeRecord({ type: RecordType.LEASE, body }));
  }
  if (i % 5 === 0) recs.push(encodeRecord({ type: RecordType.META, key: `k${i}`, value: 'v' }));
  return encodeFrame(recs);
}

/** What a reader reports, with the records as plain data (the chunked reader's views are reused). */
async function outcome(read: (visit: (r: StoreRecord) => void) => unknown): Promise<unknown> {
  const seen: unknown[] = [];
  try {
    const res = await read((r) =>
      seen.push(r.type === RecordType.LEASE ? Buffer.from(r.body).toString('hex') : { ...r }),
    );
    return { res, seen };
  } catch (e) {
    return { error: (e as Error).message, seen };
  }
}

describe('readStoreFileFrom (through a window)', () => {
  it('reports exactly what readStoreFile reports on the whole file, damaged or torn anywhere', async () => {
    const file = join(dir, 'f');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 25 }),
        fc.boolean(),
        fc.constantFrom<CorruptionPolicy>('fail', 'skip'),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }))),
        fc.nat({ max: 40 }),
        fc.integer({ min: 16, max: 600 }),
        async (sizes, snapshot, policy, flip, cut, chunk) => {
          const kind = snapshot ? FileKind.SNAPSHOT : FileKind.JOURNAL;
          const buf = Buffer.concat([fileHeader(kind), ...sizes.map((n, i) => frame(i, n))]);
          if (flip) buf[8 + (flip[0] % (buf.length - 8))] = flip[1];
          const bytes = buf.subarray(0, Math.max(8, buf.length - cut));
          await writeFile(file, bytes);
          const whole = await outcome((v) => readStoreFile(Buffer.from(bytes), file, kind, policy, v));
          const fh = await open(file, 'r');
          // The point of the window: an intact file is never read in a piece larger than the window (or a frame).
          let largestRead = 0;
          const counted = {
            read: (b: Buffer, o: number, n: number, p: number) => {
              largestRead = Math.max(largestRead, n);
              return fh.read(b, o, n, p);
            },
          } as unknown as FileHandle;
          try {
            const windowed = await outcome((v) =>
              readStoreFileFrom(counted, bytes.length, file, kind, policy, v, chunk),
            );
            expect(windowed).toEqual(whole);
            const largestFrame = Math.max(...sizes.map((n, i) => frame(i, n).length));
            if (!flip && cut === 0 && bytes.length > chunk)
              expect(largestRead).toBeLessThanOrEqual(Math.max(chunk, largestFrame));
          } finally {
            await fh.close();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
