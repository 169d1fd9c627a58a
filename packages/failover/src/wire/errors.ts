import { MessageType, RejectReason } from './constants.js';
import type { DisconnectMessage } from './types.js';

/**
 * Why a failover message (or the stream carrying it) could not be read. Each reason is also the counter name the
 * io layer bumps (STYLE.md: one path for bad input). ISC treats each of these as a protocol error and drops the
 * connection; we do the same after sending a DISCONNECT carrying `rejectReasonFor(reason)`.
 */
export type FailoverWireReason =
  | 'short-header' // fewer than the 12 header bytes
  | 'bad-length' // length field outside 12..2048, or not the number of bytes handed to the decoder
  | 'bad-payload-offset' // payload offset under 12 (ISC would underflow) or past the end of the message
  | 'unknown-type' // message type 0 or above 12
  | 'truncated-option' // fewer than 4 bytes left for an option's code and length
  | 'option-overrun' // an option's length runs past the end of the message
  | 'bad-option-length' // a fixed-size option (u8, u16 IP flags, u32, address) of another length
  | 'duplicate-option'; // an option repeated in one message: ISC refuses it (so no batched BNDUPDs)

export interface FailoverWireError {
  error: true;
  reason: FailoverWireReason;
  detail: string;
  /** Header fields when they could be read, for the log line. */
  type?: number;
  xid?: number;
}

export function wireError(
  reason: FailoverWireReason,
  detail: string,
  header?: { type: number; xid: number },
): FailoverWireError {
  return header
    ? { error: true, reason, detail, type: header.type, xid: header.xid }
    : { error: true, reason, detail };
}

export function isFailoverWireError(v: unknown): v is FailoverWireError {
  return typeof v === 'object' && v !== null && (v as { error?: unknown }).error === true;
}

/**
 * The reject reason a DISCONNECT carries for each wire error. The draft has no code for "malformed message", so
 * those get 254 (ISC prints "Error occurred but does not match any reason code"); a message type we do not know
 * means the peer speaks another protocol revision: version mismatch (14). The message option says what was wrong.
 */
export const REJECT_REASON_FOR: Readonly<Record<FailoverWireReason, RejectReason>> = {
  'short-header': RejectReason.UNKNOWN,
  'bad-length': RejectReason.UNKNOWN,
  'bad-payload-offset': RejectReason.UNKNOWN,
  'unknown-type': RejectReason.VERSION_MISMATCH,
  'truncated-option': RejectReason.UNKNOWN,
  'option-overrun': RejectReason.UNKNOWN,
  'bad-option-length': RejectReason.UNKNOWN,
  'duplicate-option': RejectReason.UNKNOWN,
};

export function rejectReasonFor(reason: FailoverWireReason): RejectReason {
  return REJECT_REASON_FOR[reason];
}

/** Long enough for any detail we write; keeps the DISCONNECT far below the 2048-byte limit. */
const MAX_DISCONNECT_TEXT = 200;

/**
 * The DISCONNECT that answers a malformed message: reject reason and message (ISC's dhcp_failover_send_disconnect
 * order), xid from the sender's own counter as ISC does (`link->xid++`), time from the caller's clock.
 */
export function disconnectFor(err: FailoverWireError, at: { time: number; xid: number }): DisconnectMessage {
  const text = new TextEncoder().encode(`${err.reason}: ${err.detail}`);
  return {
    type: MessageType.DISCONNECT,
    time: at.time,
    xid: at.xid,
    rejectReason: rejectReasonFor(err.reason),
    message: text.subarray(0, MAX_DISCONNECT_TEXT),
  };
}
