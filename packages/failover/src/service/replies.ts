import { MessageType } from '../wire/constants.js';
import type {
  BndAckMessage,
  BndUpdMessage,
  DisconnectMessage,
  PoolReqMessage,
  PoolRespMessage,
  UpdDoneMessage,
  UpdReqAllMessage,
  UpdReqMessage,
} from '../wire/types.js';
import { bytesOf } from '../wire/values.js';
import type { Refusal } from './handshake.js';
import type { LeaseVerdict } from './types.js';

/*
 * The answers to the peer's requests, as ISC builds them (server/failover.c dhcp_failover_send_*): each echoes the
 * request's xid. Pure.
 */

/**
 * BNDACK (dhcp_failover_send_bind_ack): the BNDUPD's xid and address, and a reject reason and message when
 * refusing. Nothing else: ISC reads a client id in a BNDACK as a potential-expiry (FACTS 4.1).
 */
export function bndAckFor(m: BndUpdMessage, verdict: LeaseVerdict, time: number): BndAckMessage {
  const ack: BndAckMessage = { type: MessageType.BNDACK, time, xid: m.xid, assignedIp: m.assignedIp };
  if (!verdict.accept) {
    ack.rejectReason = verdict.reason;
    ack.message = bytesOf(verdict.message);
  }
  return ack;
}

/** UPDDONE: everything asked for by this UPDREQ / UPDREQALL has been sent. */
export function updDoneFor(m: UpdReqMessage | UpdReqAllMessage, time: number): UpdDoneMessage {
  return { type: MessageType.UPDDONE, time, xid: m.xid };
}

/** POOLRESP: how many leases the pool balance gave the asking secondary. */
export function poolRespFor(m: PoolReqMessage, transferred: number, time: number): PoolRespMessage {
  return { type: MessageType.POOLRESP, time, xid: m.xid, addressesTransferred: transferred };
}

/** DISCONNECT with the reason and ISC's words for it (dhcp_failover_send_disconnect). */
export function disconnectMessage(r: Refusal, header: { time: number; xid: number }): DisconnectMessage {
  return { type: MessageType.DISCONNECT, ...header, rejectReason: r.reason, message: bytesOf(r.text) };
}
