import { BindingState as BindingStatus, BINDING_STATE_NAMES } from '@hadhcp/leases';

/**
 * Numbers of the DHCP failover protocol as ISC dhcpd 4.4 speaks it (draft-ietf-dhc-failover-12, ISC's
 * `includes/failover.h` and `server/stables.c`). Where ISC and the draft differ, ISC wins: it is the only peer.
 */

/** Every message starts with a 12-byte header: length u16, type u8, payload offset u8, time u32, xid u32. */
export const HEADER_LENGTH = 12;
/**
 * ISC always sends payload offset 12 and skips `offset - 12` bytes before the options. Draft-12 6.1 says 8, a bug
 * in the draft: a payload offset under 12 would make ISC skip a negative count (unsigned underflow).
 */
export const PAYLOAD_OFFSET = 12;
/** ISC's DHCP_FAILOVER_MIN/MAX_MESSAGE_SIZE: a length field outside 12..2048 makes it drop the connection. */
export const MIN_MESSAGE_LENGTH = 12;
export const MAX_MESSAGE_LENGTH = 2048;
/** The option header: code u16, length u16. */
export const OPTION_HEADER_LENGTH = 4;
export const FAILOVER_PORT = 647;
/** The only protocol version (option 20) anybody sends; ISC never checks it. */
export const PROTOCOL_VERSION = 1;

/** Draft-12 6.1 message types (ISC's FTM_*). Wireshark's dissector swaps the labels of 7 and 9: trust these. */
export enum MessageType {
  POOLREQ = 1,
  POOLRESP = 2,
  BNDUPD = 3,
  BNDACK = 4,
  CONNECT = 5,
  CONNECTACK = 6,
  UPDREQALL = 7,
  UPDDONE = 8,
  UPDREQ = 9,
  STATE = 10,
  CONTACT = 11,
  DISCONNECT = 12,
}

export const MESSAGE_TYPE_NAMES: Readonly<Record<MessageType, string>> = {
  [MessageType.POOLREQ]: 'POOLREQ',
  [MessageType.POOLRESP]: 'POOLRESP',
  [MessageType.BNDUPD]: 'BNDUPD',
  [MessageType.BNDACK]: 'BNDACK',
  [MessageType.CONNECT]: 'CONNECT',
  [MessageType.CONNECTACK]: 'CONNECTACK',
  [MessageType.UPDREQALL]: 'UPDREQALL',
  [MessageType.UPDDONE]: 'UPDDONE',
  [MessageType.UPDREQ]: 'UPDREQ',
  [MessageType.STATE]: 'STATE',
  [MessageType.CONTACT]: 'CONTACT',
  [MessageType.DISCONNECT]: 'DISCONNECT',
};

export function isMessageType(n: number): n is MessageType {
  return Number.isInteger(n) && n >= MessageType.POOLREQ && n <= MessageType.DISCONNECT;
}

/** Draft-12 section 12 option codes (ISC's FTO_*), numbered after the draft alphabetized them. */
export enum OptionCode {
  ADDRESSES_TRANSFERRED = 1,
  ASSIGNED_IP_ADDRESS = 2,
  BINDING_STATUS = 3,
  CLIENT_IDENTIFIER = 4,
  /** ISC sends its `hardware_addr.hbuf`: the htype byte, then the hardware address. */
  CHADDR = 5,
  CLTT = 6,
  REPLY_OPTIONS = 7,
  REQUEST_OPTIONS = 8,
  DDNS = 9,
  DELAYED_SERVICE = 10,
  /** Hash bucket assignment: ISC requires exactly 32 bytes in every CONNECT, even without load balancing. */
  HBA = 11,
  /** u16 in ISC (the draft's table says 1 byte). */
  IP_FLAGS = 12,
  LEASE_EXPIRY = 13,
  MAX_UNACKED = 14,
  MCLT = 15,
  MESSAGE = 16,
  MESSAGE_DIGEST = 17,
  POTENTIAL_EXPIRY = 18,
  RECEIVE_TIMER = 19,
  PROTOCOL_VERSION = 20,
  REJECT_REASON = 21,
  /** Compared byte for byte with the configured peer name; sent without a NUL. */
  RELATIONSHIP_NAME = 22,
  SERVER_FLAGS = 23,
  SERVER_STATE = 24,
  STOS = 25,
  TLS_REPLY = 26,
  TLS_REQUEST = 27,
  VENDOR_CLASS = 28,
  VENDOR_OPTIONS = 29,
}

/** ISC's FTO_MAX: codes above it (and 0) are skipped unread. */
export const MAX_OPTION_CODE = OptionCode.VENDOR_OPTIONS;

/** The names ISC's `ft_options[]` prints. */
export const OPTION_NAMES: Readonly<Record<OptionCode, string>> = {
  [OptionCode.ADDRESSES_TRANSFERRED]: 'addresses-transferred',
  [OptionCode.ASSIGNED_IP_ADDRESS]: 'assigned-IP-address',
  [OptionCode.BINDING_STATUS]: 'binding-status',
  [OptionCode.CLIENT_IDENTIFIER]: 'client-identifier',
  [OptionCode.CHADDR]: 'client-hardware-address',
  [OptionCode.CLTT]: 'client-last-transaction-time',
  [OptionCode.REPLY_OPTIONS]: 'client-reply-options',
  [OptionCode.REQUEST_OPTIONS]: 'client-request-options',
  [OptionCode.DDNS]: 'DDNS',
  [OptionCode.DELAYED_SERVICE]: 'delayed-service',
  [OptionCode.HBA]: 'hash-bucket-assignment',
  [OptionCode.IP_FLAGS]: 'IP-flags',
  [OptionCode.LEASE_EXPIRY]: 'lease-expiration-time',
  [OptionCode.MAX_UNACKED]: 'max-unacked-bndupd',
  [OptionCode.MCLT]: 'MCLT',
  [OptionCode.MESSAGE]: 'message',
  [OptionCode.MESSAGE_DIGEST]: 'message-digest',
  [OptionCode.POTENTIAL_EXPIRY]: 'potential-expiration-time',
  [OptionCode.RECEIVE_TIMER]: 'receive-timer',
  [OptionCode.PROTOCOL_VERSION]: 'protocol-version',
  [OptionCode.REJECT_REASON]: 'reject-reason',
  [OptionCode.RELATIONSHIP_NAME]: 'relationship-name',
  [OptionCode.SERVER_FLAGS]: 'server-flags',
  [OptionCode.SERVER_STATE]: 'server-state',
  [OptionCode.STOS]: 'start-time-of-state',
  [OptionCode.TLS_REPLY]: 'TLS-reply',
  [OptionCode.TLS_REQUEST]: 'TLS-request',
  [OptionCode.VENDOR_CLASS]: 'vendor-class-identifier',
  [OptionCode.VENDOR_OPTIONS]: 'vendor-specific-options',
};

export function optionName(code: number): string {
  return OPTION_NAMES[code as OptionCode] ?? `option-${code}`;
}

/**
 * Failover server states (ISC's `enum failover_state`; draft-12 12.24). The draft describes RECOVER-WAIT but gives
 * it no value; ISC uses 254 (as ISC 3.0 did), and a state value ISC does not know sends it to shutdown.
 */
export enum ServerState {
  UNKNOWN = 0,
  STARTUP = 1,
  NORMAL = 2,
  COMMUNICATIONS_INTERRUPTED = 3,
  PARTNER_DOWN = 4,
  POTENTIAL_CONFLICT = 5,
  RECOVER = 6,
  PAUSED = 7,
  SHUTDOWN = 8,
  RECOVER_DONE = 9,
  RESOLUTION_INTERRUPTED = 10,
  CONFLICT_DONE = 11,
  RECOVER_WAIT = 254,
}

/** The names dhcpd.leases uses for states (`my state normal at ...`), also what we log. */
export const SERVER_STATE_NAMES: Readonly<Record<ServerState, string>> = {
  [ServerState.UNKNOWN]: 'unknown-state',
  [ServerState.STARTUP]: 'startup',
  [ServerState.NORMAL]: 'normal',
  [ServerState.COMMUNICATIONS_INTERRUPTED]: 'communications-interrupted',
  [ServerState.PARTNER_DOWN]: 'partner-down',
  [ServerState.POTENTIAL_CONFLICT]: 'potential-conflict',
  [ServerState.RECOVER]: 'recover',
  [ServerState.PAUSED]: 'paused',
  [ServerState.SHUTDOWN]: 'shutdown',
  [ServerState.RECOVER_DONE]: 'recover-done',
  [ServerState.RESOLUTION_INTERRUPTED]: 'resolution-interrupted',
  [ServerState.CONFLICT_DONE]: 'conflict-done',
  [ServerState.RECOVER_WAIT]: 'recover-wait',
};

export function serverStateName(n: number): string {
  return SERVER_STATE_NAMES[n as ServerState] ?? `state-${n}`;
}

/** Option 23 bits (draft-12 12.23). ISC sets STARTUP while its service state is startup. */
export const ServerFlags = { STARTUP: 0x01 } as const;

/**
 * Binding status (option 3; ISC's FTS_*): the lease store's binding states, whose numbers are these codes. ISC
 * aborts (`log_fatal`, "Impossible case") on a value outside 1..7 in its transition checks: the core must never
 * send one.
 */
export { BindingStatus };
export const BINDING_STATUS_NAMES: Readonly<Record<BindingStatus, string>> = BINDING_STATE_NAMES;

export function isBindingStatus(n: number): n is BindingStatus {
  return Number.isInteger(n) && n >= BindingStatus.FREE && n <= BindingStatus.BACKUP;
}

/** Option 12 bits (ISC's FTF_IP_FLAG_*), sent as a u16 and only when non-zero. */
export const IpFlags = { RESERVE: 0x0001, BOOTP: 0x0002 } as const;

/** Reject reasons (option 21; draft-12 12.21, ISC's FTR_*). */
export enum RejectReason {
  ILLEGAL_IP_ADDR = 1,
  FATAL_CONFLICT = 2,
  MISSING_BINDINFO = 3,
  TIMEMISMATCH = 4,
  INVALID_MCLT = 5,
  MISC_REJECT = 6,
  DUP_CONNECTION = 7,
  INVALID_PARTNER = 8,
  TLS_UNSUPPORTED = 9,
  TLS_UNCONFIGURED = 10,
  TLS_REQUIRED = 11,
  DIGEST_UNSUPPORTED = 12,
  DIGEST_UNCONFIGURED = 13,
  VERSION_MISMATCH = 14,
  OUTDATED_BIND_INFO = 15,
  LESS_CRIT_BIND_INFO = 16,
  NO_TRAFFIC = 17,
  HBA_CONFLICT = 18,
  IP_NOT_RESERVED = 19,
  IP_DIGEST_FAILURE = 20,
  IP_MISSING_DIGEST = 21,
  UNKNOWN = 254,
}

/** The text ISC logs for each reason (`dhcp_failover_reject_reason_print`), the draft's descriptions. */
export const REJECT_REASON_TEXT: Readonly<Record<RejectReason, string>> = {
  [RejectReason.ILLEGAL_IP_ADDR]: 'Illegal IP address (not part of any address pool).',
  [RejectReason.FATAL_CONFLICT]: 'Fatal conflict exists: address in use by other client.',
  [RejectReason.MISSING_BINDINFO]: 'Missing binding information.',
  [RejectReason.TIMEMISMATCH]: 'Connection rejected, time mismatch too great.',
  [RejectReason.INVALID_MCLT]: 'Connection rejected, invalid MCLT.',
  [RejectReason.MISC_REJECT]: 'Connection rejected, unknown reason.',
  [RejectReason.DUP_CONNECTION]: 'Connection rejected, duplicate connection.',
  [RejectReason.INVALID_PARTNER]: 'Connection rejected, invalid failover partner.',
  [RejectReason.TLS_UNSUPPORTED]: 'TLS not supported.',
  [RejectReason.TLS_UNCONFIGURED]: 'TLS supported but not configured.',
  [RejectReason.TLS_REQUIRED]: 'TLS required but not supported by partner.',
  [RejectReason.DIGEST_UNSUPPORTED]: 'Message digest not supported.',
  [RejectReason.DIGEST_UNCONFIGURED]: 'Message digest not configured.',
  [RejectReason.VERSION_MISMATCH]: 'Protocol version mismatch.',
  [RejectReason.OUTDATED_BIND_INFO]: 'Outdated binding information.',
  [RejectReason.LESS_CRIT_BIND_INFO]: 'Less critical binding information.',
  [RejectReason.NO_TRAFFIC]: 'No traffic within sufficient time.',
  [RejectReason.HBA_CONFLICT]: 'Hash bucket assignment conflict.',
  [RejectReason.IP_NOT_RESERVED]: 'IP not reserved on this server.',
  [RejectReason.IP_DIGEST_FAILURE]: 'Message digest failed to compare.',
  [RejectReason.IP_MISSING_DIGEST]: 'Missing message digest.',
  [RejectReason.UNKNOWN]: 'Unknown: Error occurred but does not match any reason code.',
};

export function rejectReasonText(n: number): string {
  return REJECT_REASON_TEXT[n as RejectReason] ?? `Undefined reject reason ${n}.`;
}
