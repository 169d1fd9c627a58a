/** Hand-written failover messages, a comment per field, and every way a message can be malformed. */
import { describe, expect, it } from 'vitest';
import { capturedMessages } from '../../test-vectors/captures.js';
import { decodeMessage, encodedLength, encodeMessage } from './codec.js';
import { BindingStatus, IpFlags, MessageType, RejectReason, ServerState } from './constants.js';
import { disconnectFor, isFailoverWireError, rejectReasonFor, type FailoverWireReason } from './errors.js';
import type { BndUpdMessage, FailoverMessage } from './types.js';
import { bytesOf, text } from './values.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): number[] => [...Buffer.from(s, 'latin1')];
const captured = (frame: number, index = 0): Uint8Array =>
  capturedMessages().filter((c) => c.frame === frame)[index]!.bytes;

function decodeOk(bytes: Uint8Array | number[]): FailoverMessage {
  const m = decodeMessage(Uint8Array.from(bytes));
  if (isFailoverWireError(m)) throw new Error(`${m.reason}: ${m.detail}`);
  return m;
}

function reason(bytes: number[]): FailoverWireReason | undefined {
  const m = decodeMessage(Uint8Array.from(bytes));
  return isFailoverWireError(m) ? m.reason : undefined;
}

/** A 12-byte header: length, type, payload offset, time 1, xid 2. */
const header = (length: number, type = 0x0a, payoff = 0x0c): number[] => [
  ...[length >> 8, length & 255, type, payoff],
  ...[0, 0, 0, 1],
  ...[0, 0, 0, 2],
];

// ISC's CONNECT from the primary (server-lan frame 8).
// prettier-ignore
const CONNECT = [
  0x00, 0x73, // length 115, header included
  0x05, // type CONNECT
  0x0c, // payload offset 12 (draft-12 says 8; ISC sends 12)
  0x6b, 0x02, 0x28, 0x23, // time 1795303459
  0x00, 0x00, 0x00, 0x00, // xid 0: ISC's link->xid starts at 0
  0x00, 0x16, 0x00, 0x0d, ...ascii('dhcp-failover'), // relationship-name, no NUL
  0x00, 0x0e, 0x00, 0x04, 0x00, 0x00, 0x00, 0x0a, // max-unacked-bndupd 10
  0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x1e, // receive-timer 30 (max-response-delay)
  0x00, 0x1c, 0x00, 0x0c, ...ascii('isc-4.4.3-P1'), // vendor-class
  0x00, 0x14, 0x00, 0x01, 0x01, // protocol-version 1
  0x00, 0x1b, 0x00, 0x01, 0x00, // TLS-request 0
  0x00, 0x0f, 0x00, 0x04, 0x00, 0x00, 0x0e, 0x10, // MCLT 3600
  0x00, 0x0b, 0x00, 0x20, ...new Array<number>(16).fill(0xff), ...new Array<number>(16).fill(0x00), // HBA, split 128
];

// ISC's BNDUPD for udhcpc's new lease (server-lan frame 83).
// prettier-ignore
const BNDUPD_ACTIVE = [
  0x00, 0x4f, // length 79
  0x03, // type BNDUPD
  0x0c, // payload offset 12
  0x6b, 0x02, 0x28, 0x35, // time 1795303477
  0x00, 0x00, 0x00, 0x03, // xid 3 (lease->last_xid)
  0x00, 0x02, 0x00, 0x04, 0x0a, 0x01, 0x00, 0x4b, // assigned-IP-address 10.1.0.75
  0x00, 0x03, 0x00, 0x01, 0x02, // binding-status ACTIVE
  0x00, 0x04, 0x00, 0x07, 0x01, 0xd2, 0x05, 0x11, 0x04, 0x08, 0x34, // client-identifier (option 61 as sent)
  0x00, 0x05, 0x00, 0x07, 0x01, 0xd2, 0x05, 0x11, 0x04, 0x08, 0x34, // chaddr: htype 1, then the MAC
  0x00, 0x0d, 0x00, 0x04, 0x6b, 0x02, 0x2b, 0xb9, // lease-expiration-time (ends)
  0x00, 0x12, 0x00, 0x04, 0x6b, 0x02, 0x2d, 0x7b, // potential-expiration-time (tstp)
  0x00, 0x19, 0x00, 0x04, 0x6b, 0x02, 0x28, 0x35, // start-time-of-state = the lease's starts
  0x00, 0x06, 0x00, 0x04, 0x6b, 0x02, 0x28, 0x35, // client-last-transaction-time
];

// The primary refusing one of the secondary's recovery BNDUPDs (server-lan frame 14, first BNDACK).
// prettier-ignore
const BNDACK_REJECT = [
  0x00, 0x52, // length 82
  0x04, // type BNDACK
  0x0c, // payload offset 12
  0x6b, 0x02, 0x28, 0x23, // time
  0x00, 0x00, 0x00, 0x04, // xid of the BNDUPD it answers
  0x00, 0x02, 0x00, 0x04, 0x0a, 0x01, 0x00, 0x32, // assigned-IP-address 10.1.0.50
  0x00, 0x15, 0x00, 0x01, 0x10, // reject-reason 16, less critical binding information
  0x00, 0x10, 0x00, 0x35, ...ascii('incoming update is less critical than outgoing update'), // message
];

// The secondary's STATE after the primary came back (server-lan frame 130, second message).
// prettier-ignore
const STATE = [
  0x00, 0x1e, // length 30
  0x0a, // type STATE
  0x0c, // payload offset 12
  0x6b, 0x02, 0x28, 0x41, // time
  0x00, 0x00, 0x00, 0x00, // xid
  0x00, 0x18, 0x00, 0x01, 0x03, // server-state communications-interrupted
  0x00, 0x17, 0x00, 0x01, 0x00, // server-flags: none
  0x00, 0x19, 0x00, 0x04, 0x6b, 0x02, 0x28, 0x3b, // start-time-of-state
];

describe('decodeMessage on hand-written messages', () => {
  it('the hand-written CONNECT, BNDUPD, BNDACK and STATE are the captured bytes', () => {
    expect(hex(Uint8Array.from(CONNECT))).toBe(hex(captured(8)));
    expect(hex(Uint8Array.from(BNDUPD_ACTIVE))).toBe(hex(captured(83)));
    expect(hex(Uint8Array.from(BNDACK_REJECT))).toBe(hex(captured(14, 11)));
    expect(hex(Uint8Array.from(STATE))).toBe(hex(captured(130, 1)));
  });

  it('CONNECT', () => {
    const m = decodeOk(CONNECT);
    expect(m.type).toBe(MessageType.CONNECT);
    if (m.type !== MessageType.CONNECT) return;
    expect(text(m.relationshipName)).toBe('dhcp-failover');
    expect([m.maxUnacked, m.receiveTimer, m.protocolVersion, m.tlsRequest, m.mclt]).toEqual([
      10, 30, 1, 0, 3600,
    ]);
    expect(text(m.vendorClass)).toBe('isc-4.4.3-P1');
    expect(m.hba).toHaveLength(32);
  });

  it('BNDUPD', () => {
    expect(decodeOk(BNDUPD_ACTIVE)).toMatchObject({
      type: MessageType.BNDUPD,
      xid: 3,
      assignedIp: 0x0a01004b,
      bindingStatus: BindingStatus.ACTIVE,
      leaseExpiry: 0x6b022bb9,
      potentialExpiry: 0x6b022d7b,
      stos: 0x6b022835,
      cltt: 0x6b022835,
    });
  });

  it('BNDACK with a reject', () => {
    const m = decodeOk(BNDACK_REJECT);
    expect(m).toMatchObject({ type: MessageType.BNDACK, xid: 4, assignedIp: 0x0a010032, rejectReason: 16 });
    if (m.type === MessageType.BNDACK) expect(text(m.message)).toMatch(/^incoming update is less critical/);
  });

  it('STATE', () => {
    expect(decodeOk(STATE)).toEqual({
      type: MessageType.STATE,
      time: 0x6b022841,
      xid: 0,
      serverState: ServerState.COMMUNICATIONS_INTERRUPTED,
      serverFlags: 0,
      stos: 0x6b02283b,
    });
  });

  it('IP flags are two bytes (the draft table says one: ISC would drop that connection)', () => {
    const ip = [0x00, 0x02, 0x00, 0x04, 10, 1, 0, 60]; // assigned-IP-address 10.1.0.60
    const flags = [0x00, 0x0c, 0x00, 0x02, 0x00, 0x03]; // IP-flags RESERVE | BOOTP
    expect(decodeOk([...header(26, 3), ...ip, ...flags])).toMatchObject({
      ipFlags: IpFlags.RESERVE | IpFlags.BOOTP,
    });
    expect(reason([...header(25, 3), ...ip, 0x00, 0x0c, 0x00, 0x01, 0x03])).toBe('bad-option-length');
  });

  it('skips the bytes between 12 and a larger payload offset, as ISC does', () => {
    const extra = [0xde, 0xad, 0xbe, 0xef];
    const state = [0x00, 0x18, 0x00, 0x01, 0x02]; // server-state normal
    const m = decodeOk([...header(21, 0x0a, 16), ...extra, ...state]);
    expect(m).toEqual({ type: MessageType.STATE, time: 1, xid: 2, serverState: ServerState.NORMAL });
  });

  it('skips unknown codes (0, above 29) and options the type does not carry, and says so', () => {
    // prettier-ignore
    const m = decodeOk([
      ...header(48, 4), // BNDACK
      0x00, 0x00, 0x00, 0x00, // code 0, empty: unknown
      0x00, 0x02, 0x00, 0x04, 10, 1, 0, 60, // assigned-IP-address 10.1.0.60
      0x00, 0x04, 0x00, 0x02, 0xaa, 0xbb, // client-identifier: ISC never sends it in a BNDACK
      0x00, 0x1e, 0x00, 0x01, 0x07, // code 30: unknown
      0x00, 0x11, 0x00, 0x04, 1, 2, 3, 4, // message-digest: no type carries it
      0x00, 0x0f, 0x00, 0x01, 0x01, // MCLT, and of the wrong size: not carried by BNDACK, so not checked
    ]);
    expect(m).toEqual({
      type: MessageType.BNDACK,
      time: 1,
      xid: 2,
      assignedIp: 0x0a01003c,
      skipped: [
        { code: 0, length: 0, why: 'unknown-option' },
        { code: 4, length: 2, why: 'option-not-allowed' },
        { code: 30, length: 1, why: 'unknown-option' },
        { code: 17, length: 4, why: 'option-not-allowed' },
        { code: 15, length: 1, why: 'option-not-allowed' },
      ],
    });
  });

  it('a repeated option the type does not carry is skipped twice, not refused (ISC never marks it present)', () => {
    const vendorOptions = [0x00, 0x1d, 0x00, 0x01, 0x01];
    const m = decodeOk([...header(22), ...vendorOptions, ...vendorOptions]);
    expect(m.skipped).toEqual([
      { code: 29, length: 1, why: 'option-not-allowed' },
      { code: 29, length: 1, why: 'option-not-allowed' },
    ]);
  });

  it('copies byte strings out of the input', () => {
    const bytes = Uint8Array.from(CONNECT);
    const m = decodeOk(bytes);
    bytes.fill(0);
    if (m.type === MessageType.CONNECT) expect(text(m.relationshipName)).toBe('dhcp-failover');
  });
});

describe('decodeMessage on malformed messages', () => {
  const serverState = (len: number, ...v: number[]) => [0x00, 0x18, len >> 8, len & 255, ...v];
  const ip = (last: number) => [0x00, 0x02, 0x00, 0x04, 10, 1, 0, last];

  it.each<{ what: string; bytes: number[]; expected: FailoverWireReason }>([
    { what: '11 bytes', bytes: header(12).slice(0, 11), expected: 'short-header' },
    { what: 'length field 11', bytes: [...header(11), 0], expected: 'bad-length' },
    {
      what: 'length field 2049',
      bytes: [...header(2049), ...new Array<number>(2037).fill(0)],
      expected: 'bad-length',
    },
    { what: 'length field larger than the bytes', bytes: header(13), expected: 'bad-length' },
    { what: 'length field smaller than the bytes', bytes: [...header(12), 0], expected: 'bad-length' },
    { what: 'type 0', bytes: header(12, 0), expected: 'unknown-type' },
    { what: 'type 13', bytes: header(12, 13), expected: 'unknown-type' },
    { what: "payload offset 8 (the draft's)", bytes: header(12, 10, 8), expected: 'bad-payload-offset' },
    { what: 'payload offset past the end', bytes: header(12, 10, 13), expected: 'bad-payload-offset' },
    {
      what: '3 bytes after the header',
      bytes: [...header(15), 0x00, 0x18, 0x00],
      expected: 'truncated-option',
    },
    {
      what: 'option length past the end',
      bytes: [...header(17), ...serverState(2, 2)],
      expected: 'option-overrun',
    },
    {
      what: 'server-state of 2 bytes',
      bytes: [...header(18), ...serverState(2, 0, 2)],
      expected: 'bad-option-length',
    },
    {
      what: 'STOS of 2 bytes',
      bytes: [...header(18), 0x00, 0x19, 0x00, 0x02, 0, 2],
      expected: 'bad-option-length',
    },
    {
      what: 'two server-states',
      bytes: [...header(22), ...serverState(1, 2), ...serverState(1, 3)],
      expected: 'duplicate-option',
    },
    // draft-12 6.3 allows several leases in one BNDUPD; ISC refuses the repeated option.
    {
      what: 'a batched BNDUPD',
      bytes: [...header(28, 3), ...ip(50), ...ip(51)],
      expected: 'duplicate-option',
    },
  ])('$what -> $expected', ({ bytes, expected }) => {
    expect(reason(bytes)).toBe(expected);
  });

  it('errors carry the header for the log and map to the reject reason a DISCONNECT sends', () => {
    const err = decodeMessage(Uint8Array.from([...header(18), ...serverState(2, 0, 2)]));
    expect(err).toMatchObject({ error: true, reason: 'bad-option-length', type: 10, xid: 2 });
    expect(rejectReasonFor('bad-option-length')).toBe(RejectReason.UNKNOWN);
    expect(rejectReasonFor('unknown-type')).toBe(RejectReason.VERSION_MISMATCH);
  });

  it('disconnectFor: reject reason and message, in ISC order', () => {
    const err = decodeMessage(Uint8Array.from(header(12, 13)));
    if (!isFailoverWireError(err)) throw new Error('expected an error');
    const d = disconnectFor(err, { time: 100, xid: 7 });
    expect(hex(encodeMessage(d))).toBe(
      '0032' + // length 50
        '0c' + // DISCONNECT
        '0c' + // payload offset 12
        '00000064' + // time 100
        '00000007' + // xid 7, our own counter
        '00150001' +
        '0e' + // reject-reason 14, protocol version mismatch
        '0010001d' +
        hex(bytesOf('unknown-type: message type 13')), // message
    );
    expect(decodeOk(encodeMessage(d))).toEqual(d);
  });
});

describe('encodeMessage', () => {
  it("writes the options in ISC's order whatever the object's key order, absent ones left out", () => {
    const m: BndUpdMessage = {
      cltt: 0x6b022835,
      stos: 0x6b022835,
      potentialExpiry: 0x6b022d7b,
      leaseExpiry: 0x6b022bb9,
      chaddr: Uint8Array.of(0x01, 0xd2, 0x05, 0x11, 0x04, 0x08, 0x34),
      clientId: Uint8Array.of(0x01, 0xd2, 0x05, 0x11, 0x04, 0x08, 0x34),
      bindingStatus: BindingStatus.ACTIVE,
      assignedIp: 0x0a01004b,
      xid: 3,
      time: 0x6b022835,
      type: MessageType.BNDUPD,
      skipped: [{ code: 30, length: 1, why: 'unknown-option' }],
    };
    expect(hex(encodeMessage(m))).toBe(hex(Uint8Array.from(BNDUPD_ACTIVE)));
    expect(encodedLength(m)).toBe(79);
  });

  it('a message without options is the 12-byte header', () => {
    const bytes = encodeMessage({ type: MessageType.UPDDONE, time: 0xfffffffe, xid: 0x80000001 });
    expect(hex(bytes)).toBe('000c080cfffffffe80000001');
  });

  it('POOLRESP carries addresses-transferred as a u32', () => {
    const bytes = encodeMessage({ type: MessageType.POOLRESP, time: 1, xid: 9, addressesTransferred: 25 });
    expect(hex(bytes)).toBe('0014020c0000000100000009' + '00010004' + '00000019');
  });

  it('cuts numbers to their wire widths', () => {
    const bytes = encodeMessage({
      type: MessageType.STATE,
      time: 2 ** 32 + 5,
      xid: -1,
      serverState: 0x1fe,
      stos: 2 ** 32,
    });
    expect(decodeOk(bytes)).toEqual({
      type: MessageType.STATE,
      time: 5,
      xid: 0xffffffff,
      serverState: 0xfe,
      stos: 0,
    });
  });

  it('2048 bytes is the limit: one more byte throws (ISC would drop the connection)', () => {
    const fits = {
      type: MessageType.DISCONNECT,
      time: 0,
      xid: 0,
      message: new Uint8Array(2048 - 16),
    } as const;
    expect(encodeMessage(fits)).toHaveLength(2048);
    expect(() => encodeMessage({ ...fits, message: new Uint8Array(2048 - 15) })).toThrow(RangeError);
  });
});
