import { writeIp4 } from '@hadhcp/common';
import { FIELD } from './constants.js';
import type { DhcpMessage } from './types.js';

/** Writes the 236-octet fixed header (RFC 2131 2, figure 1). */
export function writeHeader(out: Uint8Array, msg: DhcpMessage): void {
  out[0] = msg.op;
  out[1] = msg.htype;
  out[2] = msg.hlen;
  out[3] = msg.hops;
  writeIp4(out, 4, msg.xid >>> 0);
  out[8] = (msg.secs >>> 8) & 255;
  out[9] = msg.secs & 255;
  out[10] = (msg.flags >>> 8) & 255;
  out[11] = msg.flags & 255;
  writeIp4(out, 12, msg.ciaddr);
  writeIp4(out, 16, msg.yiaddr);
  writeIp4(out, 20, msg.siaddr);
  writeIp4(out, 24, msg.giaddr);
  out.set(msg.chaddr.subarray(0, 16), 28);
  out.set(msg.sname.subarray(0, FIELD.SNAME_LEN), FIELD.SNAME_OFF);
  out.set(msg.file.subarray(0, FIELD.FILE_LEN), FIELD.FILE_OFF);
}

export function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * n zero bytes. Small messages come from Node's Buffer pool (a view into a shared 8 KiB slab) instead of one
 * malloc'd backing store each: a busy server encodes thousands of replies a second.
 */
export function zeroed(n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n).fill(0);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** A private copy of bytes, from the same pool as zeroed(). */
export function copyBytes(src: Uint8Array): Uint8Array {
  const b = Buffer.allocUnsafe(src.length);
  b.set(src);
  return new Uint8Array(b.buffer, b.byteOffset, src.length);
}
