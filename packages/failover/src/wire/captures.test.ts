/**
 * The codec against ISC dhcpd 4.4.3-P1's own failover messages (test-vectors/server-lan.pcap), compared field by
 * field with what Wireshark's dissector shows for them (test-vectors/server-lan.dhcpfo.json).
 */
import { formatIp4 } from '@hadhcp/common';
import { describe, expect, it } from 'vitest';
import { capturedMessages, tsharkMessages, type TsharkOption } from '../../test-vectors/captures.js';
import { decodeMessage, encodeMessage } from './codec.js';
import {
  BindingStatus,
  MessageType,
  OptionCode,
  RejectReason,
  ServerFlags,
  ServerState,
} from './constants.js';
import { isFailoverWireError } from './errors.js';
import { splitToHba } from './hba.js';
import type { FailoverMessage } from './types.js';
import { text } from './values.js';

const captured = capturedMessages();
const tshark = tsharkMessages();
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

function decodeOk(bytes: Uint8Array): FailoverMessage {
  const m = decodeMessage(bytes);
  if (isFailoverWireError(m)) throw new Error(`${m.reason}: ${m.detail}`);
  return m;
}

const decoded = captured.map((c) => ({ ...c, msg: decodeOk(c.bytes) }));
const inFrame = (frame: number) => decoded.filter((d) => d.frame === frame).map((d) => d.msg);
const ofType = <T extends MessageType>(type: T) =>
  decoded.map((d) => d.msg).filter((m): m is Extract<FailoverMessage, { type: T }> => m.type === type);

/** What tshark shows for each option, read off our decoded message (independent of our encoder). */
const SHOWN: Partial<Record<OptionCode, (m: Record<string, unknown>, o: TsharkOption) => [string, string]>> =
  {
    [OptionCode.ASSIGNED_IP_ADDRESS]: (m, o) => [
      formatIp4(m.assignedIp as number),
      o.fields.assignedipaddress!.show,
    ],
    [OptionCode.BINDING_STATUS]: (m, o) => [String(m.bindingStatus), o.fields.bindingstatus!.show],
    [OptionCode.CLIENT_IDENTIFIER]: (m, o) => [
      hex(m.clientId as Uint8Array),
      o.fields.clientidentifier!.value,
    ],
    [OptionCode.CHADDR]: (m, o) => [
      hex(m.chaddr as Uint8Array),
      o.fields.clienthardwaretype!.value + o.fields.clienthardwareaddress!.value,
    ],
    [OptionCode.CLTT]: (m, o) => [String(m.cltt), o.fields.clientlasttransactiontime!.show],
    [OptionCode.HBA]: (m, o) => [hex(m.hba as Uint8Array), o.fields.hashbucketassignment!.value],
    [OptionCode.LEASE_EXPIRY]: (m, o) => [String(m.leaseExpiry), o.fields.leaseexpirationtime!.show],
    [OptionCode.MAX_UNACKED]: (m, o) => [String(m.maxUnacked), o.fields.maxunackedbndupd!.show],
    [OptionCode.MCLT]: (m, o) => [String(m.mclt), o.fields.mclt!.show],
    [OptionCode.MESSAGE]: (m, o) => [text(m.message as Uint8Array), o.fields.message!.show],
    [OptionCode.POTENTIAL_EXPIRY]: (m, o) => [
      String(m.potentialExpiry),
      o.fields.potentialexpirationtime!.show,
    ],
    [OptionCode.RECEIVE_TIMER]: (m, o) => [String(m.receiveTimer), o.fields.receivetimer!.show],
    [OptionCode.PROTOCOL_VERSION]: (m, o) => [String(m.protocolVersion), o.fields.protocolversion!.show],
    [OptionCode.REJECT_REASON]: (m, o) => [String(m.rejectReason), o.fields.rejectreason!.show],
    [OptionCode.RELATIONSHIP_NAME]: (m, o) => [
      text(m.relationshipName as Uint8Array),
      o.fields.relationshipname!.show,
    ],
    [OptionCode.SERVER_FLAGS]: (m, o) => [String(m.serverFlags), o.fields.serverflag!.show],
    [OptionCode.SERVER_STATE]: (m, o) => [String(m.serverState), o.fields.serverstatus!.show],
    [OptionCode.STOS]: (m, o) => [String(m.stos), o.fields.starttimeofstate!.show],
    [OptionCode.TLS_REPLY]: (m, o) => [String(m.tlsReply), o.fields.tls_reply!.show],
    [OptionCode.TLS_REQUEST]: (m, o) => [String(m.tlsRequest), o.fields.tls_request!.show],
    [OptionCode.VENDOR_CLASS]: (m, o) => [text(m.vendorClass as Uint8Array), o.fields.vendorclass!.show],
  };

describe('ISC failover messages captured between two dhcpd 4.4.3-P1', () => {
  it('finds the 282 messages tshark shows, in the same frames and order', () => {
    expect(captured).toHaveLength(282);
    expect(captured.map((c) => c.frame)).toEqual(tshark.map((t) => t.frame));
  });

  it('covers eight of the twelve types: 126 BNDUPD, 126 BNDACK, 17 STATE, 4 UPDREQALL, 3 CONNECT, ...', () => {
    const count = (t: MessageType) => decoded.filter((d) => d.msg.type === t).length;
    expect(count(MessageType.BNDUPD)).toBe(126);
    expect(count(MessageType.BNDACK)).toBe(126);
    expect(count(MessageType.STATE)).toBe(17);
    expect(count(MessageType.UPDREQALL)).toBe(4);
    expect(count(MessageType.CONNECT)).toBe(3);
    expect(count(MessageType.CONNECTACK)).toBe(3);
    expect(count(MessageType.UPDDONE)).toBe(2);
    expect(count(MessageType.CONTACT)).toBe(1);
  });

  it('every message decodes with nothing skipped, header and options as tshark shows them', () => {
    captured.forEach((c, i) => {
      const t = tshark[i]!;
      const m = decodeOk(c.bytes);
      const where = `frame ${c.frame} message ${i}`;
      expect(c.bytes.length, where).toBe(t.length);
      expect(t.poffset, where).toBe(12);
      expect(m.type, where).toBe(t.type);
      expect(m.time.toString(16).padStart(8, '0'), where).toBe(t.time);
      expect(m.xid.toString(16).padStart(8, '0'), where).toBe(t.xid);
      expect(m.skipped, where).toBeUndefined();
      for (const o of t.options) {
        const shown = SHOWN[o.code as OptionCode];
        expect(shown, `${where}: option ${o.code} has no check`).toBeDefined();
        const [ours, theirs] = shown!(m as unknown as Record<string, unknown>, o);
        expect(ours, `${where} option ${o.code}`).toBe(theirs);
      }
    });
  });

  it('re-encodes every message byte for byte (ISC option order, payload offset 12)', () => {
    for (const d of decoded) expect(hex(encodeMessage(d.msg)), `frame ${d.frame}`).toBe(hex(d.bytes));
  });

  it('CONNECT (frame 8): name, max-unacked 10, receive-timer 30, vendor class, version 1, TLS 0, MCLT, split 128', () => {
    const [connect] = inFrame(8);
    expect(connect).toEqual({
      type: MessageType.CONNECT,
      time: 0x6b022823,
      xid: 0,
      relationshipName: new TextEncoder().encode('dhcp-failover'),
      maxUnacked: 10,
      receiveTimer: 30,
      vendorClass: new TextEncoder().encode('isc-4.4.3-P1'),
      protocolVersion: 1,
      tlsRequest: 0,
      mclt: 3600,
      hba: splitToHba(128),
    });
  });

  it('CONNECTACK (frame 10) echoes the CONNECT xid and answers TLS-request with TLS-reply 0, no reject', () => {
    const [ack, state] = inFrame(10);
    expect(ack).toMatchObject({
      type: MessageType.CONNECTACK,
      xid: 0,
      maxUnacked: 10,
      receiveTimer: 30,
      tlsReply: 0,
    });
    expect(ack).not.toHaveProperty('rejectReason');
    // The secondary's first STATE goes out with the CONNECTACK: recover (fresh lease file), STARTUP flag.
    expect(state).toMatchObject({ type: MessageType.STATE, serverState: ServerState.RECOVER });
    expect(state).toMatchObject({ serverFlags: ServerFlags.STARTUP });
  });

  it('type 7 is UPDREQALL (tshark labels it "Update request"); UPDDONE echoes the last UPDREQALL xid', () => {
    const fromPrimary = decoded.filter((d) => d.direction.startsWith('10.0.0.2:51951'));
    const fromSecondary = decoded.filter((d) => d.direction.startsWith('10.0.0.3:647'));
    const xids = (list: typeof decoded, t: MessageType) =>
      list.filter((d) => d.msg.type === t).map((d) => d.msg.xid);
    expect(xids(fromPrimary, MessageType.UPDREQALL)).toEqual([3, 4]);
    expect(xids(fromSecondary, MessageType.UPDDONE)).toEqual([4]);
    expect(xids(fromSecondary, MessageType.UPDREQALL)).toEqual([2, 3]);
    expect(xids(fromPrimary, MessageType.UPDDONE)).toEqual([3]);
    expect(ofType(MessageType.UPDREQ)).toHaveLength(0);
  });

  it('BNDUPD during recovery: one lease each, FREE, ends/tstp/starts 0, no chaddr, xids never 0', () => {
    const bndupds = ofType(MessageType.BNDUPD);
    expect(bndupds.every((m) => m.xid !== 0)).toBe(true);
    const [first] = inFrame(13).filter((m) => m.type === MessageType.BNDUPD);
    expect(first).toEqual({
      type: MessageType.BNDUPD,
      time: 0x6b022823,
      xid: 4,
      assignedIp: 0x0a010032, // 10.1.0.50
      bindingStatus: BindingStatus.FREE,
      leaseExpiry: 0,
      potentialExpiry: 0,
      stos: 0,
    });
  });

  it('BNDUPD for an ACTIVE lease (frame 83): client id, chaddr with htype, ends, tstp, starts, cltt', () => {
    const [m] = inFrame(83);
    expect(m).toEqual({
      type: MessageType.BNDUPD,
      time: 1795303477,
      xid: 3,
      assignedIp: 0x0a01004b, // 10.1.0.75
      bindingStatus: BindingStatus.ACTIVE,
      clientId: Uint8Array.of(0x01, 0xd2, 0x05, 0x11, 0x04, 0x08, 0x34), // udhcpc: htype 1 + MAC
      chaddr: Uint8Array.of(0x01, 0xd2, 0x05, 0x11, 0x04, 0x08, 0x34), // ISC's hbuf: htype 1 + MAC
      leaseExpiry: 1795303477 + 900, // default-lease-time 900
      potentialExpiry: 1795303477 + 900 + 450, // tstp = now + desired + granted/2
      stos: 1795303477, // the lease's starts, not a state time
      cltt: 1795303477,
    });
  });

  it("BNDACK: assigned IP only, or with reject 16 and ISC's message; never a client id", () => {
    const acks = ofType(MessageType.BNDACK);
    expect(acks.every((m) => m.assignedIp !== undefined && !('clientId' in m))).toBe(true);
    const rejects = acks.filter((m) => m.rejectReason !== undefined);
    expect(rejects).toHaveLength(50);
    expect(rejects.every((m) => m.rejectReason === RejectReason.LESS_CRIT_BIND_INFO)).toBe(true);
    expect(text(rejects[0]!.message)).toBe('incoming update is less critical than outgoing update');
    const [plain] = inFrame(89);
    expect(plain).toEqual({ type: MessageType.BNDACK, time: 1795303479, xid: 3, assignedIp: 0x0a01004b });
  });

  it('CONTACT (frame 86) is a bare header', () => {
    const [contact] = inFrame(86);
    expect(contact).toEqual({ type: MessageType.CONTACT, time: contact!.time, xid: 3 });
    expect(captured.find((c) => c.frame === 86)!.bytes).toHaveLength(12);
  });
});
