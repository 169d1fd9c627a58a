import { crc32 } from 'node:zlib';
import type { Ip4 } from '@hadhcp/common';
import { BindingState, type Lease } from './lease.js';

/*
 * On-disk format of the store (journal and snapshot files share it).
 *
 * File   = header(8) frame*
 * header = "HDLS" kind(u8: 1 journal, 2 snapshot) version(u8 = 1) reserved(u16 = 0)
 * frame  = magic(u32 FRAME_MAGIC) length(u32) crc32(u32 over length bytes + payload) payload(length)
 * payload = record+            -- one frame is one atomic unit: one write() call, or one snapshot chunk
 * record = LEASE(1) body | DELETE(2) address(u32) | META(3) keyLen(u16) key valueLen(u32) value
 *
 * The magic lets the reader look for a later intact frame after a bad one, which is how it tells a torn tail
 * (nothing intact follows: cut it off) from damage in the middle (intact frames follow: report it).
 * All integers big-endian.
 */

export const FILE_MAGIC = 0x48444c53; // "HDLS"
export const FRAME_MAGIC = 0x4c465231; // "LFR1"
export const FILE_HEADER_LEN = 8;
export const FRAME_HEADER_LEN = 12;
export const FORMAT_VERSION = 1;
/**
 * The largest frame a write may produce and the reader accepts (a longer length field is damage). 256 MiB holds
 * an import of several million leases in one atomic write.
 */
export const MAX_FRAME_PAYLOAD = 256 * 1024 * 1024;

export enum FileKind {
  JOURNAL = 1,
  SNAPSHOT = 2,
}

export enum RecordType {
  LEASE = 1,
  DELETE = 2,
  META = 3,
}

const FLAG_CLIENT_ID = 1;
const FLAG_HW_ADDR = 2;
const FLAG_HOSTNAME = 4;
const FLAG_PEER = 8;
/** `billing`: the class name (text); with FLAG_BILLING_SUBCLASS also the subclass's match value (bytes). */
const FLAG_BILLING = 16;
const FLAG_BILLING_SUBCLASS = 32;
/** address, state, six times, hwType, flags. */
const LEASE_FIXED_LEN = 4 + 1 + 6 * 4 + 1 + 1;

export type StoreRecord =
  | { type: RecordType.LEASE; body: Uint8Array }
  | { type: RecordType.DELETE; address: Ip4 }
  | { type: RecordType.META; key: string; value: string };

export class RecordError extends Error {}

function u8Field(name: string, v: Uint8Array | undefined, max: number): Uint8Array | undefined {
  if (v !== undefined && v.length > max)
    throw new RangeError(`lease ${name} is ${v.length} bytes, max ${max}`);
  return v;
}

function checkText(name: string, v: string | undefined): void {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: a string of up to 85 units fits without counting.
  if (v !== undefined && v.length > 85) {
    const n = Buffer.byteLength(v, 'utf8');
    if (n > 255) throw new RangeError(`lease ${name} is ${n} bytes, max 255`);
  }
}

function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new RangeError(`lease ${name} ${v} is not a u32`);
}

/**
 * Where encodeLease builds a body: the longest fits (31 fixed bytes and six fields of at most 256), so encoding
 * allocates only its result. The process is single-threaded and encodeLease does not re-enter.
 */
const scratch = Buffer.allocUnsafe(2048);

/** Encodes `l` into `scratch`, returning the length. Throws RangeError (having checked before writing) when a value
 * does not fit the format. */
function encodeLease(l: Lease): number {
  const cid = u8Field('clientId', l.clientId, 255);
  const hw = u8Field('hwAddr', l.hwAddr, 16);
  checkText('hostname', l.hostname);
  checkText('failoverPeer', l.failoverPeer);
  const billClass = l.billing?.className;
  checkText('billing.className', billClass);
  const billSub = billClass !== undefined ? u8Field('billing.subclass', l.billing?.subclass, 255) : undefined;
  checkU32('address', l.address);
  checkU32('time', l.starts);
  checkU32('time', l.ends);
  checkU32('time', l.tstp);
  checkU32('time', l.tsfp);
  checkU32('time', l.atsfp);
  checkU32('time', l.cltt);
  if (l.state < BindingState.FREE || l.state > BindingState.BACKUP)
    throw new RangeError(`bad state ${l.state}`);
  const b = scratch;
  b.writeUInt32BE(l.address >>> 0, 0);
  b[4] = l.state;
  b.writeUInt32BE(l.starts, 5);
  b.writeUInt32BE(l.ends, 9);
  b.writeUInt32BE(l.tstp, 13);
  b.writeUInt32BE(l.tsfp, 17);
  b.writeUInt32BE(l.atsfp, 21);
  b.writeUInt32BE(l.cltt, 25);
  b[29] = l.hwType & 255;
  b[30] =
    (cid ? FLAG_CLIENT_ID : 0) |
    (hw ? FLAG_HW_ADDR : 0) |
    (l.hostname !== undefined ? FLAG_HOSTNAME : 0) |
    (l.failoverPeer !== undefined ? FLAG_PEER : 0) |
    (billClass !== undefined ? FLAG_BILLING : 0) |
    (billSub ? FLAG_BILLING_SUBCLASS : 0);
  let off = LEASE_FIXED_LEN;
  if (cid) off = putBytes(b, off, cid);
  if (hw) off = putBytes(b, off, hw);
  if (l.hostname !== undefined) off = putText(b, off, l.hostname);
  if (l.failoverPeer !== undefined) off = putText(b, off, l.failoverPeer);
  if (billClass !== undefined) off = putText(b, off, billClass);
  if (billSub) off = putBytes(b, off, billSub);
  return off;
}

function putBytes(b: Buffer, off: number, v: Uint8Array): number {
  b[off] = v.length;
  b.set(v, off + 1);
  return off + 1 + v.length;
}

function putText(b: Buffer, off: number, v: string): number {
  const n = b.write(v, off + 1, 'utf8'); // checkText made sure it is at most 255 bytes
  b[off] = n;
  return off + 1 + n;
}

/** Encodes a lease (without record type byte). Throws RangeError for values that do not fit the format. */
export function encodeLeaseBody(l: Lease): Buffer {
  const n = encodeLease(l);
  return Buffer.from(scratch.subarray(0, n));
}

/** encodeLeaseBody as a Latin-1 string (how the live records hold it), without the Buffer in between. */
export function encodeLeaseString(l: Lease): string {
  const n = encodeLease(l);
  return scratch.toString('latin1', 0, n);
}

/** Address of an encoded lease body, without decoding the rest. */
export function leaseBodyAddress(body: Uint8Array): Ip4 {
  return ((body[0]! << 24) | (body[1]! << 16) | (body[2]! << 8) | body[3]!) >>> 0;
}

/** Decodes a lease body; throws RecordError when it is malformed (the frame checksum passed, so: a bug). */
export function decodeLeaseBody(body: Uint8Array): Lease {
  if (body.length < LEASE_FIXED_LEN) throw new RecordError('lease body too short');
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const state = body[4]!;
  if (state < BindingState.FREE || state > BindingState.BACKUP)
    throw new RecordError(`bad binding state ${state}`);
  const l: Lease = {
    address: v.getUint32(0),
    state,
    starts: v.getUint32(5),
    ends: v.getUint32(9),
    tstp: v.getUint32(13),
    tsfp: v.getUint32(17),
    atsfp: v.getUint32(21),
    cltt: v.getUint32(25),
    hwType: body[29]!,
  };
  const flags = body[30]!;
  let off = LEASE_FIXED_LEN;
  const take = (): Uint8Array => {
    const n = body[off];
    if (n === undefined || off + 1 + n > body.length) throw new RecordError('lease field overruns body');
    // A plain Uint8Array copy: callers keep it, and it must not pin the whole file buffer.
    const out = new Uint8Array(body.subarray(off + 1, off + 1 + n));
    off += 1 + n;
    return out;
  };
  if (flags & FLAG_CLIENT_ID) l.clientId = take();
  if (flags & FLAG_HW_ADDR) l.hwAddr = take();
  if (flags & FLAG_HOSTNAME) l.hostname = Buffer.from(take()).toString('utf8');
  if (flags & FLAG_PEER) l.failoverPeer = Buffer.from(take()).toString('utf8');
  if (flags & FLAG_BILLING) {
    l.billing = { className: Buffer.from(take()).toString('utf8') };
    if (flags & FLAG_BILLING_SUBCLASS) l.billing.subclass = take();
  }
  if (off !== body.length) throw new RecordError('trailing bytes in lease body');
  return l;
}

/*
 * The same lease body held as a Latin-1 string (one char per byte): how the live state keeps it in memory
 * (records.ts). These read it in place, so a lookup decodes one record and an index scan decodes none.
 */

/** Decodes a lease body held as a Latin-1 string; the same result as decodeLeaseBody on its bytes. */
export function decodeLeaseString(s: string): Lease {
  if (s.length < LEASE_FIXED_LEN) throw new RecordError('lease body too short');
  const state = s.charCodeAt(4);
  if (state < BindingState.FREE || state > BindingState.BACKUP)
    throw new RecordError(`bad binding state ${state}`);
  const l: Lease = {
    address: u32At(s, 0),
    state,
    starts: u32At(s, 5),
    ends: u32At(s, 9),
    tstp: u32At(s, 13),
    tsfp: u32At(s, 17),
    atsfp: u32At(s, 21),
    cltt: u32At(s, 25),
    hwType: s.charCodeAt(29),
  };
  const flags = s.charCodeAt(30);
  at = LEASE_FIXED_LEN;
  if (flags & FLAG_CLIENT_ID) l.clientId = nextBytes(s);
  if (flags & FLAG_HW_ADDR) l.hwAddr = nextBytes(s);
  if (flags & FLAG_HOSTNAME) l.hostname = nextText(s);
  if (flags & FLAG_PEER) l.failoverPeer = nextText(s);
  if (flags & FLAG_BILLING) {
    l.billing = { className: nextText(s) };
    if (flags & FLAG_BILLING_SUBCLASS) l.billing.subclass = nextBytes(s);
  }
  if (at !== s.length) throw new RecordError('trailing bytes in lease body');
  return l;
}

/**
 * decodeLeaseString's read position: field by field without closures or tuples (a resync or a busy server decodes
 * one record per lookup). Module state: the decoder is synchronous and never re-entered.
 */
let at = 0;

/** The length byte of the field at `at`, checked against the end of the record. */
function nextLength(s: string): number {
  const n = s.charCodeAt(at);
  if (Number.isNaN(n) || at + 1 + n > s.length) throw new RecordError('lease field overruns body');
  return n;
}

function nextBytes(s: string): Uint8Array {
  const n = nextLength(s);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = s.charCodeAt(at + 1 + i);
  at += 1 + n;
  return out;
}

function nextText(s: string): string {
  const n = nextLength(s);
  const t = s.substring(at + 1, at + 1 + n);
  at += 1 + n;
  // ASCII (nearly every hostname) is its own UTF-8; anything else goes through the real decoder.
  for (let i = 0; i < n; i++) if (t.charCodeAt(i) > 0x7f) return Buffer.from(t, 'latin1').toString('utf8');
  return t;
}

function u32At(s: string, i: number): number {
  return (
    ((s.charCodeAt(i) << 24) |
      (s.charCodeAt(i + 1) << 16) |
      (s.charCodeAt(i + 2) << 8) |
      s.charCodeAt(i + 3)) >>>
    0
  );
}

/** Binding state of a lease body string (no validation: the string came from encodeLeaseBody or a checked frame). */
export function leaseStringState(s: string): BindingState {
  return s.charCodeAt(4);
}

/** Does a lease body string carry a billing (`Lease.billing`)? Read without decoding, for the start-up scan. */
export function leaseStringBilled(s: string): boolean {
  return (s.charCodeAt(30) & FLAG_BILLING) !== 0;
}

/** `ends` of a lease body string. */
export function leaseStringEnds(s: string): number {
  return u32At(s, 9);
}

/**
 * Where the client id and the hardware address sit in a lease body string: out = [cidStart, cidEnd, hwStart,
 * hwEnd], -1 for an absent field. Writes into the caller's array, so scanning a million records allocates nothing.
 */
export function leaseStringIds(s: string, out: Int32Array): void {
  const flags = s.charCodeAt(30);
  let off = LEASE_FIXED_LEN;
  out[0] = out[1] = out[2] = out[3] = -1;
  if (flags & FLAG_CLIENT_ID) {
    out[0] = off + 1;
    out[1] = off + 1 + s.charCodeAt(off);
    off = out[1];
  }
  if (flags & FLAG_HW_ADDR) {
    out[2] = off + 1;
    out[3] = off + 1 + s.charCodeAt(off);
  }
}

export function encodeRecord(r: StoreRecord): Buffer {
  switch (r.type) {
    case RecordType.LEASE: {
      const b = Buffer.allocUnsafe(3 + r.body.length);
      b[0] = RecordType.LEASE;
      b.writeUInt16BE(r.body.length, 1);
      b.set(r.body, 3);
      return b;
    }
    case RecordType.DELETE: {
      const b = Buffer.allocUnsafe(5);
      b[0] = RecordType.DELETE;
      b.writeUInt32BE(r.address >>> 0, 1);
      return b;
    }
    case RecordType.META: {
      const k = Buffer.from(r.key, 'utf8');
      const val = Buffer.from(r.value, 'utf8');
      if (k.length > 0xffff) throw new RangeError('meta key longer than 65535 bytes');
      const b = Buffer.allocUnsafe(1 + 2 + k.length + 4 + val.length);
      b[0] = RecordType.META;
      b.writeUInt16BE(k.length, 1);
      b.set(k, 3);
      b.writeUInt32BE(val.length, 3 + k.length);
      b.set(val, 7 + k.length);
      return b;
    }
  }
}

/**
 * What a reader does with each record of a frame, without a record object or a body view per record: a lease
 * body is `payload[start, end)` (at least the fixed part long, so its address can be read), valid only during
 * the call.
 */
export interface RecordVisitor {
  lease(payload: Buffer, start: number, end: number): void;
  delete(address: Ip4): void;
  meta(key: string, value: string): void;
}

/** Splits a frame payload into records. Throws RecordError on a malformed payload. */
export function visitRecords(p: Buffer, v: RecordVisitor): void {
  let off = 0;
  while (off < p.length) {
    const type = p[off]!;
    if (type === RecordType.LEASE) {
      if (off + 3 > p.length) throw new RecordError('truncated lease record');
      const n = p.readUInt16BE(off + 1);
      if (off + 3 + n > p.length) throw new RecordError('lease record overruns frame');
      if (n < LEASE_FIXED_LEN) throw new RecordError('lease body too short');
      v.lease(p, off + 3, off + 3 + n);
      off += 3 + n;
    } else if (type === RecordType.DELETE) {
      if (off + 5 > p.length) throw new RecordError('truncated delete record');
      v.delete(p.readUInt32BE(off + 1));
      off += 5;
    } else if (type === RecordType.META) {
      if (off + 3 > p.length) throw new RecordError('truncated meta record');
      const kl = p.readUInt16BE(off + 1);
      if (off + 7 + kl > p.length) throw new RecordError('meta key overruns frame');
      const vl = p.readUInt32BE(off + 3 + kl);
      if (off + 7 + kl + vl > p.length) throw new RecordError('meta value overruns frame');
      const key = p.toString('utf8', off + 3, off + 3 + kl);
      const value = p.toString('utf8', off + 7 + kl, off + 7 + kl + vl);
      v.meta(key, value);
      off += 7 + kl + vl;
    } else {
      throw new RecordError(`unknown record type ${type}`);
    }
  }
}

/** The same as visitRecords, with one StoreRecord object per record. */
export function decodeRecords(p: Buffer, visit: (r: StoreRecord) => void): void {
  visitRecords(p, recordObjects(visit));
}

/** A RecordVisitor that hands each record on as a StoreRecord (the body a view of the payload). */
export function recordObjects(visit: (r: StoreRecord) => void): RecordVisitor {
  return {
    lease: (p, start, end) => visit({ type: RecordType.LEASE, body: p.subarray(start, end) }),
    delete: (address) => visit({ type: RecordType.DELETE, address }),
    meta: (key, value) => visit({ type: RecordType.META, key, value }),
  };
}

export function fileHeader(kind: FileKind): Buffer {
  const b = Buffer.alloc(FILE_HEADER_LEN);
  b.writeUInt32BE(FILE_MAGIC, 0);
  b[4] = kind;
  b[5] = FORMAT_VERSION;
  return b;
}

/** Wraps encoded records into one checksummed frame. */
export function encodeFrame(records: Buffer[]): Buffer {
  let len = 0;
  for (const r of records) len += r.length;
  if (len > MAX_FRAME_PAYLOAD)
    throw new RangeError(`one write of ${len} bytes exceeds ${MAX_FRAME_PAYLOAD}: split it`);
  const b = Buffer.allocUnsafe(FRAME_HEADER_LEN + len);
  let off = FRAME_HEADER_LEN;
  for (const r of records) {
    b.set(r, off);
    off += r.length;
  }
  return sealFrame(b);
}

/** Writes the frame header (magic, length, checksum) of a buffer whose payload starts at FRAME_HEADER_LEN. */
export function sealFrame(b: Buffer): Buffer {
  const len = b.length - FRAME_HEADER_LEN;
  b.writeUInt32BE(FRAME_MAGIC, 0);
  b.writeUInt32BE(len, 4);
  b.writeUInt32BE(frameCrc(b, 4, len), 8);
  return b;
}

/** CRC-32 over the length field and the payload, so a damaged length is caught too. */
export function frameCrc(buf: Buffer, lenOff: number, len: number): number {
  return crc32(buf.subarray(lenOff + 8, lenOff + 8 + len), crc32(buf.subarray(lenOff, lenOff + 4))) >>> 0;
}

/** Checks for an intact frame at off; returns its payload length, or undefined. Never throws. */
export function frameAt(buf: Buffer, off: number): number | undefined {
  if (off + FRAME_HEADER_LEN > buf.length) return undefined;
  if (buf.readUInt32BE(off) !== FRAME_MAGIC) return undefined;
  const len = buf.readUInt32BE(off + 4);
  if (len > MAX_FRAME_PAYLOAD || off + FRAME_HEADER_LEN + len > buf.length) return undefined;
  return frameCrc(buf, off + 4, len) === buf.readUInt32BE(off + 8) ? len : undefined;
}
