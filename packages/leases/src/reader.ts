import type { FileHandle } from 'node:fs/promises';
import {
  FILE_HEADER_LEN,
  FILE_MAGIC,
  FORMAT_VERSION,
  FRAME_HEADER_LEN,
  FRAME_MAGIC,
  FileKind,
  MAX_FRAME_PAYLOAD,
  RecordError,
  recordObjects,
  visitRecords,
  type RecordVisitor,
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
 *
 * visit gets views of buf: it must copy what it keeps.
 */
export function readStoreFile(
  buf: Buffer,
  file: string,
  kind: FileKind,
  policy: CorruptionPolicy,
  visitor: RecordVisitor | ((r: StoreRecord) => void),
): ReadResult {
  const visit = typeof visitor === 'function' ? recordObjects(visitor) : visitor;
  const res: ReadResult = { validEnd: FILE_HEADER_LEN, tornBytes: 0, skipped: [], frames: 0 };
  if (buf.length < FILE_HEADER_LEN) {
    // A journal torn while its header was being written holds nothing acknowledged.
    if (kind === FileKind.JOURNAL) return { ...res, tornBytes: buf.length };
    throw new StoreCorruptError(file, 0, buf.length, 'snapshot shorter than its header');
  }
  checkHeader(buf, file, kind);
  scanFrames(buf, FILE_HEADER_LEN, 0, file, kind, policy, visit, res);
  return res;
}

function checkHeader(buf: Buffer, file: string, kind: FileKind): void {
  if (buf.readUInt32BE(0) !== FILE_MAGIC || buf[4] !== kind || buf[5] !== FORMAT_VERSION) {
    throw new StoreCorruptError(
      file,
      0,
      FILE_HEADER_LEN,
      'not a hadhcp lease store file of this kind/version',
    );
  }
}

function visitFrame(
  buf: Buffer,
  at: number,
  len: number,
  file: string,
  fileOffset: number,
  visit: RecordVisitor,
): void {
  try {
    visitRecords(buf.subarray(at + FRAME_HEADER_LEN, at + FRAME_HEADER_LEN + len), visit);
  } catch (e) {
    if (!(e instanceof RecordError)) throw e;
    // The checksum matched, so this was written whole: a malformed record is damage, not a torn tail.
    throw new StoreCorruptError(file, fileOffset, FRAME_HEADER_LEN + len, e.message);
  }
}

/** The frames of buf from off to its end; buf starts at byte `base` of the file and ends where the file ends. */
function scanFrames(
  buf: Buffer,
  off: number,
  base: number,
  file: string,
  kind: FileKind,
  policy: CorruptionPolicy,
  visit: RecordVisitor,
  res: ReadResult,
): void {
  while (off < buf.length) {
    const len = frameAt(buf, off);
    if (len !== undefined) {
      visitFrame(buf, off, len, file, base + off, visit);
      off += FRAME_HEADER_LEN + len;
      res.frames++;
      res.validEnd = base + off;
      continue;
    }
    const next = nextIntactFrame(buf, off + 1);
    if (next < 0 && kind === FileKind.JOURNAL) {
      res.tornBytes = buf.length - off;
      return;
    }
    const length = (next < 0 ? buf.length : next) - off;
    if (policy === 'fail')
      throw new StoreCorruptError(file, base + off, length, 'checksum or framing mismatch');
    res.skipped.push({ offset: base + off, length });
    if (next < 0) return;
    off = next;
  }
}

/** Bytes read at a time by readStoreFileFrom. */
export const READ_CHUNK = 4 * 1024 * 1024;

/**
 * readStoreFile over an open file of `size` bytes, read through a window of `chunk` bytes (grown for a larger
 * frame) instead of all at once, so a 200 MB journal never sits in memory whole. Same results and errors as
 * readStoreFile on the whole file: intact frames are read in order through the window; at the first bad frame
 * (damage or a torn tail: rare) the rest of the file is read whole and readStoreFile's own scan decides.
 * visit gets views of a buffer that is reused: it must copy what it keeps.
 */
export async function readStoreFileFrom(
  fh: FileHandle,
  size: number,
  file: string,
  kind: FileKind,
  policy: CorruptionPolicy,
  visitor: RecordVisitor | ((r: StoreRecord) => void),
  chunk = READ_CHUNK,
): Promise<ReadResult> {
  const visit = typeof visitor === 'function' ? recordObjects(visitor) : visitor;
  if (size <= chunk) return readStoreFile(await readAt(fh, 0, size), file, kind, policy, visit);
  checkHeader(await readAt(fh, 0, FILE_HEADER_LEN), file, kind);
  const res: ReadResult = { validEnd: FILE_HEADER_LEN, tornBytes: 0, skipped: [], frames: 0 };
  let win = Buffer.allocUnsafe(chunk);
  let base = 0;
  let have = 0;
  /** Makes file bytes [off, off + n) readable at win[off - base]; false when the file ends before. */
  const ensure = async (off: number, n: number): Promise<boolean> => {
    if (off + n > size) return false;
    if (off >= base && off + n <= base + have) return true;
    if (n > win.length) win = Buffer.allocUnsafe(n);
    have = Math.min(win.length, size - off);
    base = off;
    await readInto(fh, win, have, off);
    return true;
  };
  let off = FILE_HEADER_LEN;
  while (off < size) {
    if (await ensure(off, FRAME_HEADER_LEN)) {
      const at = off - base;
      const len = win.readUInt32BE(at + 4);
      const fits =
        win.readUInt32BE(at) === FRAME_MAGIC &&
        len <= MAX_FRAME_PAYLOAD &&
        (await ensure(off, FRAME_HEADER_LEN + len));
      if (fits && frameAt(win, off - base) === len) {
        visitFrame(win, off - base, len, file, off, visit);
        off += FRAME_HEADER_LEN + len;
        res.frames++;
        res.validEnd = off;
        continue;
      }
    }
    scanFrames(await readAt(fh, off, size - off), 0, off, file, kind, policy, visit, res);
    return res;
  }
  return res;
}

async function readInto(fh: FileHandle, buf: Buffer, n: number, position: number): Promise<void> {
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, position + got);
    if (bytesRead === 0)
      throw new Error(`unexpected end of file at ${position + got} (file changed while read?)`);
    got += bytesRead;
  }
}

async function readAt(fh: FileHandle, position: number, n: number): Promise<Buffer> {
  const b = Buffer.allocUnsafe(n);
  await readInto(fh, b, n, position);
  return b;
}
