import { MAX_MESSAGE_LENGTH, MIN_MESSAGE_LENGTH } from './constants.js';
import { wireError, type FailoverWireError } from './errors.js';

/**
 * Cuts a failover TCP stream into messages. Each message starts with its own u16 length (header included); ISC
 * reads two bytes, checks 12..2048 and drops the connection otherwise, then waits for the rest. Pure: the caller
 * keeps `rest` and hands it back with the next chunk.
 */
export interface FrameResult {
  /** Whole messages, in stream order: views of a buffer the framer allocated, never of the caller's chunk. */
  messages: Uint8Array[];
  /** Bytes of an incomplete message, to pass back with the next chunk. */
  rest: Uint8Array;
  /**
   * The stream is unusable from here on: a length field outside 12..2048. The messages before it are still
   * returned (ISC has processed them by then); the connection must be closed.
   */
  error?: FailoverWireError;
}

const EMPTY = new Uint8Array(0);

export function takeMessages(rest: Uint8Array, chunk: Uint8Array): FrameResult {
  // From Node's Buffer pool (below 4 KiB, a resync's chunk of ten BNDUPDs): no malloc'd memory of its own per
  // chunk for the garbage collector to sweep. Both sets below write every byte of it.
  const pooled = Buffer.allocUnsafe(rest.length + chunk.length);
  // Plain Uint8Array views, not Buffers (whose slice() would be a view too, not a copy).
  const buf = new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.length);
  buf.set(rest, 0);
  buf.set(chunk, rest.length);
  const messages: Uint8Array[] = [];
  let off = 0;
  while (buf.length - off >= 2) {
    const len = (buf[off]! << 8) | buf[off + 1]!;
    if (len < MIN_MESSAGE_LENGTH || len > MAX_MESSAGE_LENGTH) {
      const detail = `length field ${len} at stream offset ${off} is outside ${MIN_MESSAGE_LENGTH}..${MAX_MESSAGE_LENGTH}`;
      return { messages, rest: EMPTY, error: wireError('bad-length', detail) };
    }
    if (buf.length - off < len) break;
    // buf is ours and never written again: views into it are safe to hand out.
    messages.push(new Uint8Array(buf.buffer, buf.byteOffset + off, len));
    off += len;
  }
  return {
    messages,
    rest: off === buf.length ? EMPTY : new Uint8Array(buf.buffer, buf.byteOffset + off, buf.length - off),
  };
}
