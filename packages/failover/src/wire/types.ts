import type { Ip4 } from '@hadhcp/common';
import type { MessageType } from './constants.js';

/*
 * One shape per message type. Each carries exactly the options ISC 4.4's builders can send for that type
 * (server/failover.c, dhcp_failover_send_*), all optional: which ones a message must have is a protocol rule with
 * its own reject reason (a CONNECT without HBA gets CONNECTACK reject 18, a BNDUPD without binding status gets
 * BNDACK reject 3), decided by the core, not by the codec.
 *
 * Times are u32 seconds since the epoch. Byte-string options stay bytes: ISC compares the relationship name byte
 * for byte, and a lossy text decoding would break the round trip (`text()` / `bytesOf()` convert for logs/config).
 */

export interface MessageHeader {
  /** The sender's clock when it sent the message (ISC: cur_time). ISC drops a CONNECT more than 60 s off. */
  time: number;
  /** Transaction id. Replies (CONNECTACK, BNDACK, UPDDONE, POOLRESP) echo the request's. */
  xid: number;
  /**
   * Options the decoder read past without storing, as ISC's do_a_failover_option does: codes 0 and above 29
   * (`unknown-option`) and known options this type does not carry (`option-not-allowed`). Set by decodeMessage
   * only when there were some; never encoded. The io layer counts them under `why`.
   */
  skipped?: SkippedOption[];
}

export interface SkippedOption {
  code: number;
  length: number;
  why: 'unknown-option' | 'option-not-allowed';
}

/** POOLREQ (1): the secondary asks the primary to rebalance. No options. */
export interface PoolReqMessage extends MessageHeader {
  type: MessageType.POOLREQ;
}

/** POOLRESP (2): xid of the POOLREQ, how many leases were moved. */
export interface PoolRespMessage extends MessageHeader {
  type: MessageType.POOLRESP;
  addressesTransferred?: number;
}

/**
 * BNDUPD (3): one lease, sent by ISC in this order (dhcp_failover_send_bind_update): assigned IP, binding status,
 * client id (if the lease has a uid), chaddr (if known), lease expiration (`ends`), potential expiration (`tstp`),
 * STOS (the lease's `starts`, not a state time), CLTT (if non-zero), IP flags (if non-zero). ISC refuses a message
 * that repeats an option, so one lease per message: draft-12 6.3's batched BNDUPD cannot reach it.
 */
export interface BndUpdMessage extends MessageHeader {
  type: MessageType.BNDUPD;
  assignedIp?: Ip4;
  /** A BindingStatus; kept as a number so that a bad value reaches the core, which rejects it. */
  bindingStatus?: number;
  clientId?: Uint8Array;
  /** The htype byte, then the hardware address (ISC's `hardware_addr.hbuf`): see chaddrOf / chaddrParts. */
  chaddr?: Uint8Array;
  leaseExpiry?: number;
  potentialExpiry?: number;
  stos?: number;
  cltt?: number;
  /** IpFlags bits, a u16 on the wire. ISC clears reserved/bootp on a BNDUPD without it. */
  ipFlags?: number;
}

/**
 * BNDACK (4): xid and assigned IP of the BNDUPD, plus a reject reason and message when refusing it. ISC sends
 * nothing else (the lease fields are `#ifdef DO_BNDACK_SHOULD_NOT`), and neither may we: ISC's BNDACK handler tests
 * the client-id bit where it means potential-expiry, so a client id in a BNDACK sets ISC's tsfp to 0.
 */
export interface BndAckMessage extends MessageHeader {
  type: MessageType.BNDACK;
  assignedIp?: Ip4;
  rejectReason?: number;
  message?: Uint8Array;
}

/** CONNECT (5), sent by the primary only, in ISC's order. */
export interface ConnectMessage extends MessageHeader {
  type: MessageType.CONNECT;
  relationshipName?: Uint8Array;
  /** ISC's `max-unacked-updates`. Always send it: without it ISC never sends a BNDUPD. */
  maxUnacked?: number;
  /** ISC's `max-response-delay`, seconds. Always send it: without it ISC keeps 0 and schedules CONTACT at +0 s. */
  receiveTimer?: number;
  vendorClass?: Uint8Array;
  protocolVersion?: number;
  tlsRequest?: number;
  mclt?: number;
  /** 32 bytes; bit set = the primary serves that bucket, LSB first (see hba.ts). */
  hba?: Uint8Array;
}

/** CONNECTACK (6): xid of the CONNECT. ISC sends TLS-reply only if the CONNECT had TLS-request. */
export interface ConnectAckMessage extends MessageHeader {
  type: MessageType.CONNECTACK;
  relationshipName?: Uint8Array;
  maxUnacked?: number;
  receiveTimer?: number;
  vendorClass?: Uint8Array;
  protocolVersion?: number;
  tlsReply?: number;
  rejectReason?: number;
  message?: Uint8Array;
}

/** UPDREQALL (7): send me every lease. No options. */
export interface UpdReqAllMessage extends MessageHeader {
  type: MessageType.UPDREQALL;
}

/** UPDDONE (8): xid of the UPDREQ or UPDREQALL it completes. No options. */
export interface UpdDoneMessage extends MessageHeader {
  type: MessageType.UPDDONE;
}

/** UPDREQ (9): send me the leases you have not sent. No options. */
export interface UpdReqMessage extends MessageHeader {
  type: MessageType.UPDREQ;
}

/** STATE (10): ISC sends its saved state while in startup, the STARTUP flag, and the state's start time. */
export interface StateMessage extends MessageHeader {
  type: MessageType.STATE;
  /** A ServerState; a number so that an unknown one reaches the core (ISC goes to shutdown on it). */
  serverState?: number;
  serverFlags?: number;
  stos?: number;
}

/** CONTACT (11): keepalive. No options. */
export interface ContactMessage extends MessageHeader {
  type: MessageType.CONTACT;
}

/** DISCONNECT (12): reject reason and message, then the sender closes the connection. */
export interface DisconnectMessage extends MessageHeader {
  type: MessageType.DISCONNECT;
  rejectReason?: number;
  message?: Uint8Array;
}

export type FailoverMessage =
  | PoolReqMessage
  | PoolRespMessage
  | BndUpdMessage
  | BndAckMessage
  | ConnectMessage
  | ConnectAckMessage
  | UpdReqAllMessage
  | UpdDoneMessage
  | UpdReqMessage
  | StateMessage
  | ContactMessage
  | DisconnectMessage;
