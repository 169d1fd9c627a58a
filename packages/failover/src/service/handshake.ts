import type { Role } from '../core/machine-types.js';
import { MessageType, PROTOCOL_VERSION, RejectReason } from '../wire/constants.js';
import type { ConnectAckMessage, ConnectMessage } from '../wire/types.js';
import { bytesEqual, bytesOf, text } from '../wire/values.js';

/*
 * The CONNECT / CONNECTACK exchange that opens a failover link, checked as ISC dhcpd 4.4 checks it
 * (server/failover.c: dhcp_failover_link_signal for CONNECT, dhcp_failover_state_signal for both), in ISC's
 * order, with ISC's reject reasons and words. Pure: the service passes the clock's seconds and whether a link is
 * already up.
 *
 * Whoever opened the TCP connection, the primary sends CONNECT and the secondary answers CONNECTACK; a refused
 * CONNECT gets a CONNECTACK carrying the reject reason, a refused CONNECTACK a DISCONNECT; then the link closes.
 */

/** ISC refuses a CONNECT or CONNECTACK whose header time is more than 60 s from its own clock. */
export const MAX_CLOCK_SKEW_S = 60;

export interface Refusal {
  reason: RejectReason;
  /** ISC's errmsg where ISC has one ("unknown failover relationship name", "time offset too large"...). */
  text: string;
}

export interface HandshakeContext {
  /** Our relationship name, compared byte for byte. */
  name: Uint8Array;
  role: Role;
  /** Our clock, seconds since the epoch. */
  nowSec: number;
  /** A link to the peer is already up (ISC's state->link_to_peer). */
  linked: boolean;
}

/** Seconds between the peer's clock (a header's time) and ours, when more than ISC allows; else undefined. */
export function clockSkew(time: number, nowSec: number): number | undefined {
  const d = time - nowSec;
  return Math.abs(d) > MAX_CLOCK_SKEW_S ? d : undefined;
}

/** The peer's CONNECT: undefined to accept it (answer CONNECTACK, take its MCLT and HBA), or why not. */
export function checkConnect(m: ConnectMessage, c: HandshakeContext): Refusal | undefined {
  // The link layer first (dhcp_failover_link_signal): relationship, clock, HBA.
  const named = checkName(m.relationshipName, c.name);
  if (named) return named;
  const skew = clockSkew(m.time, c.nowSec);
  if (skew !== undefined) return timeRefusal(skew);
  if (m.hba === undefined || m.hba.length !== 32)
    return { reason: RejectReason.HBA_CONFLICT, text: 'invalid HBA' };
  // Not ISC's: ISC's primary would accept a CONNECT and both would think they lead the split. Two primaries are a
  // configuration mistake to name, not a pairing to make.
  if (c.role === 'primary')
    return {
      reason: RejectReason.INVALID_PARTNER,
      text: 'CONNECT received by the primary: both servers are configured as primary',
    };
  // Then the state machine's (dhcp_failover_state_signal): one link per relationship, MCLT present.
  if (c.linked) return { reason: RejectReason.DUP_CONNECTION, text: 'already connected' };
  if (m.mclt === undefined) return { reason: RejectReason.INVALID_MCLT, text: 'no MCLT provided' };
  return undefined;
}

/**
 * The peer's CONNECTACK to our CONNECT, when it carries no reject reason (one that does is the peer refusing us:
 * logged, link closed). Undefined to accept it, or why we refuse it (DISCONNECT).
 */
export function checkConnectAck(m: ConnectAckMessage, c: HandshakeContext): Refusal | undefined {
  if (c.role === 'secondary')
    return {
      reason: RejectReason.INVALID_PARTNER,
      text: 'CONNECTACK received by the secondary: both servers are configured as secondary',
    };
  const named = checkName(m.relationshipName, c.name);
  if (named) return named;
  if (c.linked) return { reason: RejectReason.DUP_CONNECTION, text: 'already connected' };
  const skew = clockSkew(m.time, c.nowSec);
  if (skew !== undefined) return timeRefusal(skew);
  return undefined;
}

function checkName(got: Uint8Array | undefined, ours: Uint8Array): Refusal | undefined {
  if (got === undefined) return { reason: RejectReason.INVALID_PARTNER, text: 'missing relationship-name' };
  if (!bytesEqual(got, ours))
    return {
      reason: RejectReason.INVALID_PARTNER,
      text: `unknown failover relationship name "${text(got)}" (ours: "${text(ours)}")`,
    };
  return undefined;
}

function timeRefusal(skew: number): Refusal {
  return {
    reason: RejectReason.TIMEMISMATCH,
    text: `time offset too large (the peer's clock is ${skew > 0 ? 'ahead' : 'behind'} by ${Math.abs(skew)} s)`,
  };
}

/** What we tell the peer about ourselves in CONNECT and CONNECTACK. */
export interface LinkParams {
  name: Uint8Array;
  /** max-unacked-updates: always sent (ISC sends no BNDUPD to a partner that did not). */
  maxUnacked: number;
  /** Our max-response-delay, sent as receive-timer: always sent (ISC would send CONTACTs at +0 s without). */
  receiveTimer: number;
  vendorClass: Uint8Array;
}

/** The primary's CONNECT, with ISC's options in ISC's order (dhcp_failover_send_connect). */
export function connectMessage(
  p: LinkParams,
  o: { time: number; xid: number; mclt: number; hba: Uint8Array },
): ConnectMessage {
  return {
    type: MessageType.CONNECT,
    time: o.time,
    xid: o.xid,
    relationshipName: p.name,
    maxUnacked: p.maxUnacked,
    receiveTimer: p.receiveTimer,
    vendorClass: p.vendorClass,
    protocolVersion: PROTOCOL_VERSION,
    tlsRequest: 0,
    mclt: o.mclt,
    hba: o.hba,
  };
}

/**
 * The secondary's CONNECTACK (dhcp_failover_send_connectack): the CONNECT's xid, our parameters, TLS-reply 0
 * only if the CONNECT asked, and a reject reason with ISC's message when refusing.
 */
export function connectAckMessage(
  p: LinkParams,
  connect: ConnectMessage,
  o: { time: number; refusal?: Refusal },
): ConnectAckMessage {
  const m: ConnectAckMessage = {
    type: MessageType.CONNECTACK,
    time: o.time,
    xid: connect.xid,
    relationshipName: p.name,
    maxUnacked: p.maxUnacked,
    receiveTimer: p.receiveTimer,
    vendorClass: p.vendorClass,
    protocolVersion: PROTOCOL_VERSION,
  };
  if (connect.tlsRequest !== undefined) m.tlsReply = 0;
  if (o.refusal) {
    m.rejectReason = o.refusal.reason;
    m.message = bytesOf(o.refusal.text);
  }
  return m;
}
