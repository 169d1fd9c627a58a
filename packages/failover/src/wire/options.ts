import { MessageType, OptionCode } from './constants.js';

/**
 * How each option is laid out (ISC's `ft_options[]`): fixed-size numbers, an IPv4 address, or a byte string of any
 * length. A fixed-size option of another length is a protocol error for ISC ("option size (x:y)"): it drops the
 * connection, and so do we.
 */
export type OptionKind = 'u8' | 'u16' | 'u32' | 'ip' | 'bytes';

export const KIND_SIZE: Readonly<Record<Exclude<OptionKind, 'bytes'>, number>> = {
  u8: 1,
  u16: 2,
  u32: 4,
  ip: 4,
};

/** The message field an option is stored in. */
export type OptionField =
  | 'addressesTransferred'
  | 'assignedIp'
  | 'bindingStatus'
  | 'clientId'
  | 'chaddr'
  | 'cltt'
  | 'hba'
  | 'ipFlags'
  | 'leaseExpiry'
  | 'maxUnacked'
  | 'mclt'
  | 'message'
  | 'potentialExpiry'
  | 'receiveTimer'
  | 'protocolVersion'
  | 'rejectReason'
  | 'relationshipName'
  | 'serverFlags'
  | 'serverState'
  | 'stos'
  | 'tlsReply'
  | 'tlsRequest'
  | 'vendorClass';

export interface OptionDef {
  code: OptionCode;
  field: OptionField;
  kind: OptionKind;
}

const def = (code: OptionCode, field: OptionField, kind: OptionKind): OptionDef => ({ code, field, kind });

/** The options some message type carries. Options 7-10, 17 and 29 are in no ISC builder: always skipped. */
const D = {
  addressesTransferred: def(OptionCode.ADDRESSES_TRANSFERRED, 'addressesTransferred', 'u32'),
  assignedIp: def(OptionCode.ASSIGNED_IP_ADDRESS, 'assignedIp', 'ip'),
  bindingStatus: def(OptionCode.BINDING_STATUS, 'bindingStatus', 'u8'),
  clientId: def(OptionCode.CLIENT_IDENTIFIER, 'clientId', 'bytes'),
  chaddr: def(OptionCode.CHADDR, 'chaddr', 'bytes'),
  cltt: def(OptionCode.CLTT, 'cltt', 'u32'),
  hba: def(OptionCode.HBA, 'hba', 'bytes'),
  ipFlags: def(OptionCode.IP_FLAGS, 'ipFlags', 'u16'),
  leaseExpiry: def(OptionCode.LEASE_EXPIRY, 'leaseExpiry', 'u32'),
  maxUnacked: def(OptionCode.MAX_UNACKED, 'maxUnacked', 'u32'),
  mclt: def(OptionCode.MCLT, 'mclt', 'u32'),
  message: def(OptionCode.MESSAGE, 'message', 'bytes'),
  potentialExpiry: def(OptionCode.POTENTIAL_EXPIRY, 'potentialExpiry', 'u32'),
  receiveTimer: def(OptionCode.RECEIVE_TIMER, 'receiveTimer', 'u32'),
  protocolVersion: def(OptionCode.PROTOCOL_VERSION, 'protocolVersion', 'u8'),
  rejectReason: def(OptionCode.REJECT_REASON, 'rejectReason', 'u8'),
  relationshipName: def(OptionCode.RELATIONSHIP_NAME, 'relationshipName', 'bytes'),
  serverFlags: def(OptionCode.SERVER_FLAGS, 'serverFlags', 'u8'),
  serverState: def(OptionCode.SERVER_STATE, 'serverState', 'u8'),
  stos: def(OptionCode.STOS, 'stos', 'u32'),
  tlsReply: def(OptionCode.TLS_REPLY, 'tlsReply', 'u8'),
  tlsRequest: def(OptionCode.TLS_REQUEST, 'tlsRequest', 'u8'),
  vendorClass: def(OptionCode.VENDOR_CLASS, 'vendorClass', 'bytes'),
} as const;

/**
 * Per message type, the options it carries in the order ISC's builder puts them on the wire (checked against the
 * captured messages). decodeMessage stores these and skips the rest; encodeMessage writes these, in this order.
 */
export const MESSAGE_OPTIONS: Readonly<Record<MessageType, readonly OptionDef[]>> = {
  [MessageType.POOLREQ]: [],
  [MessageType.POOLRESP]: [D.addressesTransferred],
  // dhcp_failover_send_bind_update
  [MessageType.BNDUPD]: [
    D.assignedIp,
    D.bindingStatus,
    D.clientId,
    D.chaddr,
    D.leaseExpiry,
    D.potentialExpiry,
    D.stos,
    D.cltt,
    D.ipFlags,
  ],
  // dhcp_failover_send_bind_ack
  [MessageType.BNDACK]: [D.assignedIp, D.rejectReason, D.message],
  // dhcp_failover_send_connect
  [MessageType.CONNECT]: [
    D.relationshipName,
    D.maxUnacked,
    D.receiveTimer,
    D.vendorClass,
    D.protocolVersion,
    D.tlsRequest,
    D.mclt,
    D.hba,
  ],
  // dhcp_failover_send_connectack
  [MessageType.CONNECTACK]: [
    D.relationshipName,
    D.maxUnacked,
    D.receiveTimer,
    D.vendorClass,
    D.protocolVersion,
    D.tlsReply,
    D.rejectReason,
    D.message,
  ],
  [MessageType.UPDREQALL]: [],
  [MessageType.UPDDONE]: [],
  [MessageType.UPDREQ]: [],
  // dhcp_failover_send_state
  [MessageType.STATE]: [D.serverState, D.serverFlags, D.stos],
  [MessageType.CONTACT]: [],
  // dhcp_failover_send_disconnect
  [MessageType.DISCONNECT]: [D.rejectReason, D.message],
};

/** MESSAGE_OPTIONS indexed by type, then by option code, for the decoder. */
const BY_CODE: ReadonlyMap<number, OptionDef>[] = [];
for (const [type, defs] of Object.entries(MESSAGE_OPTIONS)) {
  BY_CODE[Number(type)] = new Map(defs.map((d) => [d.code as number, d]));
}

/** The definition of `code` if messages of `type` carry it. */
export function optionDefFor(type: MessageType, code: number): OptionDef | undefined {
  return BY_CODE[type]?.get(code);
}
