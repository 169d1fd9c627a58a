import {
  FILE_HEADER_LEN,
  FILE_MAGIC,
  FORMAT_VERSION,
  FRAME_HEADER_LEN,
  FRAME_MAGIC,
  FileKind,
  RecordError,
  decodeRecords,
  frameAt,
  type StoreRecord,
} from './codec.js';

/** What to do with damage found in the middle of a file (intact frames after a bad one). */
export type CorruptionPolicy = 'fail' | 'skip';

export class StoreCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly length: number,
    detail: string,
  ) {
    super(
      `${file}: damaged data at byte ${offset} (${length} bytes) followed by intact records: ${detail}. ` +
        `Acknowledged leases may be lost. Keep a copy of the directory, then open with ` +
        `{ onCorruption: 'skip' } to load everything else and rewrite the store.`,
    );
    this.name = 'StoreCorruptError';
  }
}

export interface ReadResult {
  /** Offset just past the last intact frame: where the next append goes. */
  validEnd: number;
  /** Bytes cut from a torn tail (0 if none). */
  tornBytes: number;
  /** Regions skipped under the 'skip' policy. */
  skipped: { offset: number; length: number }[];
  frames: number;
}

const MAGIC_BYTES = (() => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(FRAME_MAGIC, 0);
  return b;
})();

/** The next offset >= from where an intact frame starts, or -1. */
function nextIntactFrame(buf: Buffer, from: number): number {
  for (let at = buf.indexOf(MAGIC_BYTES, from); at >= 0; at = buf.indexOf(MAGIC_BYTES, at + 1)) {
    if (frameAt(buf, at) !== undefined) return at;
  }
  return -1;
}

/**
 * Reads a whole journal or snapshot and feeds its records to visit, in order.
 *
 * Policy. A crash (kill -9, power loss) can only damage what was being appended, and nothing in that append
 * was acknowledged: its sync had not returned. So a bad frame with no intact frame after it is a torn tail
 * and is cut off. A bad frame with intact frames after it cannot come from a crash of ours (bit rot, a
 * foreign writer, a disk lying about flushes): acknowledged leases are gone, so we refuse to open ('fail',
 * the default) unless the operator asked to 'skip' the damage. A snapshot is complete before it is renamed
 * into place, so any bad frame in a snapshot is damage, even at its end.
 */
export function readStoreFile(
  buf: Buffer,
  file: string,
  kind: FileKind,
  policy: CorruptionPolicy,
  visit: (r: StoreRecord) => void,
): ReadResult {
  const res: ReadResult = { validEnd: FILE_HEADER_LEN, tornBytes: 0, skipped: [], frames: 0 };
  if (buf.length < FILE_HEADER_LEN) {
    // A journal torn while its header was being written holds nothing acknowledged.
    if (kind === FileKind.JOURNAL) return { ...res, tornBytes: buf.length };
    throw new StoreCorruptError(file, 0, buf.length, 'snapshot shorter than its header');
  }
  if (buf.readUInt32BE(0) !== FILE_MAGIC || buf[4] !== kind || buf[5] !== FORMAT_VERSION) {
    throw new StoreCorruptError(
      file,
      0,
      FILE_HEADER_LEN,
      'not a hadhcp lease store file of this kind/version',
    );
  }
  let off = FILE_HEADER_LEN;
  while (off < buf.length) {
    const len = frameAt(buf, off);
    if (len !== undefined) {
      try {
        decodeRecords(buf.subarray(off + FRAME_HEADER_LEN, off + FRAME_HEADER_LEN + len), visit);
      } catch (e) {
        if (!(e instanceof RecordError)) throw e;
        // The checksum matched, so this was written whole: a malformed record is damage, not a torn tail.
        throw new StoreCorruptError(file, off, FRAME_HEADER_LEN + len, e.message);
      }
      off += FRAME_HEADER_LEN + len;
      res.frames++;
      res.validEnd = off;
      continue;
    }
    const next = nextIntactFrame(buf, off + 1);
    if (next < 0 && kind === FileKind.JOURNAL) {
      res.tornBytes = buf.length - off;
      return res;
    }
    const length = (next < 0 ? buf.length : next) - off;
    if (policy === 'fail') throw new StoreCorruptError(file, off, length, 'checksum or framing mismatch');
    res.skipped.push({ offset: off, length });
    if (next < 0) return res;
    off = next;
  }
  return res;
}
