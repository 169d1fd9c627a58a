/**
 * DHCP failover message codec, as ISC dhcpd 4.4 reads and writes messages (server/failover.c:
 * dhcp_failover_link_signal and do_a_failover_option to read, dhcp_failover_put_message and the
 * dhcp_failover_send_* builders to write). Pure: no sockets, no clock, no configuration. decodeMessage never throws.
 *
 *   u16 length (whole message, 12..2048) | u8 type | u8 payload offset (12) | u32 time | u32 xid
 *   options: u16 code | u16 length | data ...
 */
import { ByteReader, readIp4 } from '@hadhcp/common';
import {
  HEADER_LENGTH,
  isMessageType,
  MAX_MESSAGE_LENGTH,
  MAX_OPTION_CODE,
  MESSAGE_TYPE_NAMES,
  MIN_MESSAGE_LENGTH,
  OPTION_HEADER_LENGTH,
  optionName,
  PAYLOAD_OFFSET,
} from './constants.js';
import { wireError, type FailoverWireError } from './errors.js';
import { copyOf } from './values.js';
import { KIND_SIZE, MESSAGE_OPTIONS, optionDefFor, type OptionDef, type OptionField } from './options.js';
import type { FailoverMessage, SkippedOption } from './types.js';

type OptionValue = number | Uint8Array;
type Fields = Partial<Record<OptionField, OptionValue>>;

/**
 * Decodes one whole message (its length field must equal `bytes.length`; the framer cuts a TCP stream into such
 * messages). The rules are ISC's, in ISC's order: header, length 12..2048, payload offset (bytes between 12 and the
 * offset are skipped), then each option: code 0 or above 29 skipped, a repeat of a stored option refused, an option
 * this type does not carry skipped, a fixed-size option of the wrong size refused. Byte-string values are copies.
 */
export function decodeMessage(bytes: Uint8Array): FailoverMessage | FailoverWireError {
  if (bytes.length < HEADER_LENGTH) {
    return wireError('short-header', `${bytes.length} byte(s), the header alone is ${HEADER_LENGTH}`);
  }
  const r = new ByteReader(bytes);
  const length = r.u16();
  const type = r.u8();
  const payloadOffset = r.u8();
  const time = r.u32();
  const xid = r.u32();
  const hdr = { type, xid };
  if (length < MIN_MESSAGE_LENGTH || length > MAX_MESSAGE_LENGTH) {
    return wireError(
      'bad-length',
      `length field ${length} is outside ${MIN_MESSAGE_LENGTH}..${MAX_MESSAGE_LENGTH}`,
      hdr,
    );
  }
  if (length !== bytes.length) {
    return wireError('bad-length', `length field ${length} but the message has ${bytes.length} byte(s)`, hdr);
  }
  if (!isMessageType(type)) return wireError('unknown-type', `message type ${type}`, hdr);
  if (payloadOffset < PAYLOAD_OFFSET || payloadOffset > length) {
    return wireError(
      'bad-payload-offset',
      `payload offset ${payloadOffset} in a ${length}-byte message`,
      hdr,
    );
  }
  r.skip(payloadOffset - HEADER_LENGTH);

  // The fields go straight into the message (no second object): a resync decodes thousands a second.
  const msg = { type, time, xid } as FailoverMessage;
  const fields = msg as unknown as Fields;
  let seen = 0; // bit per stored option code (1..29), ISC's options_present
  let skipped: SkippedOption[] | undefined;
  while (r.remaining > 0) {
    const at = r.offset;
    if (r.remaining < OPTION_HEADER_LENGTH) {
      return wireError(
        'truncated-option',
        `${r.remaining} byte(s) left at offset ${at}, an option header is 4`,
        hdr,
      );
    }
    const code = r.u16();
    const len = r.u16();
    if (len > r.remaining) {
      const what = `option ${code} (${optionName(code)}) at offset ${at}`;
      return wireError('option-overrun', `${what}: length ${len}, ${r.remaining} byte(s) left`, hdr);
    }
    // Values are read where they lie (no view per option: each typed-array view is an allocation).
    const start = r.offset;
    r.skip(len);
    if (code === 0 || code > MAX_OPTION_CODE) {
      (skipped ??= []).push({ code, length: len, why: 'unknown-option' });
      continue;
    }
    const def = optionDefFor(type, code);
    if (!def) {
      (skipped ??= []).push({ code, length: len, why: 'option-not-allowed' });
      continue;
    }
    const bit = 1 << code;
    if (seen & bit) {
      return wireError(
        'duplicate-option',
        `option ${code} (${optionName(code)}) repeated at offset ${at}`,
        hdr,
      );
    }
    if (def.kind !== 'bytes' && len !== KIND_SIZE[def.kind]) {
      const what = `option ${code} (${optionName(code)}) at offset ${at}`;
      return wireError('bad-option-length', `${what}: length ${len}, must be ${KIND_SIZE[def.kind]}`, hdr);
    }
    fields[def.field] = readValue(def, bytes, start, len);
    seen |= bit;
  }
  if (skipped) msg.skipped = skipped;
  return msg;
}

/** The value of an option whose data is `len` bytes of `b` at `at` (in bounds: checked by the caller). */
function readValue(def: OptionDef, b: Uint8Array, at: number, len: number): OptionValue {
  switch (def.kind) {
    case 'u8':
      return b[at]!;
    case 'u16':
      return (b[at]! << 8) | b[at + 1]!;
    case 'u32':
    case 'ip':
      return readIp4(b, at); // a big-endian u32 either way
    case 'bytes':
      // A copy: callers hand us Node Buffers, whose views keep (and see changes to) the receive buffer.
      return copyOf(b, at, at + len);
  }
}

function valueLength(def: OptionDef, v: OptionValue): number {
  return def.kind === 'bytes' ? (v as Uint8Array).length : KIND_SIZE[def.kind];
}

function fieldsOf(m: FailoverMessage): Fields {
  return m as unknown as Fields;
}

function optionDefs(m: FailoverMessage): readonly OptionDef[] {
  const defs = isMessageType(m.type) ? MESSAGE_OPTIONS[m.type] : undefined;
  if (!defs) throw new RangeError(`failover: cannot encode message type ${String(m.type)}`);
  return defs;
}

/** The length encodeMessage will give this message (header + the options present). */
export function encodedLength(m: FailoverMessage): number {
  const f = fieldsOf(m);
  let size = HEADER_LENGTH;
  for (const def of optionDefs(m)) {
    const v = f[def.field];
    if (v !== undefined) size += OPTION_HEADER_LENGTH + valueLength(def, v);
  }
  return size;
}

/**
 * Encodes a message the way ISC does: payload offset 12, the type's options in ISC's builder order, absent ones
 * left out; `skipped` is not encoded. Numbers are cut to their wire widths. Throws RangeError for a message over
 * 2048 bytes (ISC would drop the connection): the core builds messages from bounded data, so that is a bug there.
 */
export function encodeMessage(m: FailoverMessage): Uint8Array {
  const defs = optionDefs(m);
  const size = encodedLength(m);
  if (size > MAX_MESSAGE_LENGTH) {
    throw new RangeError(
      `failover: ${MESSAGE_TYPE_NAMES[m.type]} of ${size} bytes exceeds ${MAX_MESSAGE_LENGTH}`,
    );
  }
  // Byte by byte rather than through a DataView: one allocation per message less (thousands a second in a resync).
  // From Node's Buffer pool: a Uint8Array of over 64 bytes (a BNDUPD) is memory of its own, from malloc, that the
  // garbage collector must then sweep. Every byte is written below (`size` counts exactly what is written).
  const out = Buffer.allocUnsafe(size);
  put16(out, 0, size);
  out[2] = m.type;
  out[3] = PAYLOAD_OFFSET;
  put32(out, 4, m.time);
  put32(out, 8, m.xid);
  const f = fieldsOf(m);
  let off = HEADER_LENGTH;
  for (const def of defs) {
    const v = f[def.field];
    if (v === undefined) continue;
    const len = valueLength(def, v);
    put16(out, off, def.code);
    put16(out, off + 2, len);
    off += OPTION_HEADER_LENGTH;
    const n = v as number;
    switch (def.kind) {
      case 'u8':
        out[off] = n & 0xff;
        break;
      case 'u16':
        put16(out, off, n);
        break;
      case 'u32':
      case 'ip':
        put32(out, off, n);
        break;
      case 'bytes':
        out.set(v as Uint8Array, off);
        break;
    }
    off += len;
  }
  return out;
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}
