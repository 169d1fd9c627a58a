import { describe, expect, it } from 'vitest';
import * as A from './accessors.js';
import { MessageType, type DhcpMessage } from './types.js';

function msg(options: [number, number[]][], extra: Partial<DhcpMessage> = {}): DhcpMessage {
  return {
    ...{
      op: 1,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: 0,
      secs: 0,
      flags: 0,
      ciaddr: 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: 0,
    },
    chaddr: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16),
    sname: new Uint8Array(64),
    file: new Uint8Array(128),
    hasCookie: true,
    options: options.map(([code, data]) => ({ code, data: Uint8Array.from(data) })),
    ...extra,
  };
}

describe('accessors', () => {
  it('read well-formed options', () => {
    const m = msg([
      [53, [3]],
      [50, [10, 1, 0, 60]],
      [54, [10, 0, 0, 2]],
      [57, [5, 192]],
      [51, [0, 0, 3, 132]],
      [12, [0x76, 0x6d, 0]], // "vm" with a NUL terminator
      [55, [1, 3, 6]],
      [118, [10, 1, 0, 0]],
      [81, [0, 0, 0, 0x61]],
    ]);
    expect(A.getMessageType(m)).toBe(MessageType.REQUEST);
    expect(A.getRequestedIp(m)).toBe(0x0a01003c);
    expect(A.getServerId(m)).toBe(0x0a000002);
    expect(A.getMaxMessageSize(m)).toBe(1472);
    expect(A.getLeaseTime(m)).toBe(900);
    expect(A.getHostName(m)).toBe('vm');
    expect(A.getParameterRequestList(m)).toEqual([1, 3, 6]);
    expect(A.getSubnetSelection(m)).toBe(0x0a010000);
    expect(A.getFqdn(m)?.length).toBe(4);
  });

  it('treat malformed lengths and out-of-range values as absent', () => {
    const m = msg([
      [53, [9]], // no message type 9
      [50, [10, 1, 0]], // 3-octet address
      [54, []],
      [57, [1, 0]], // 256 < 576, illegal (RFC 2132 9.10)
      [51, [0, 0, 3]],
      [12, [0, 0]], // only NULs
      [61, []],
      [81, [0, 0]],
    ]);
    expect(A.getMessageType(m)).toBeUndefined();
    expect(A.getRequestedIp(m)).toBeUndefined();
    expect(A.getServerId(m)).toBeUndefined();
    expect(A.getMaxMessageSize(m)).toBeUndefined();
    expect(A.getLeaseTime(m)).toBeUndefined();
    expect(A.getHostName(m)).toBeUndefined();
    expect(A.getClientId(m)).toBeUndefined();
    expect(A.getFqdn(m)).toBeUndefined();
    expect(A.getVendorClass(m)).toBeUndefined();
  });

  it('hwAddress honours hlen (capped at 16) and isBroadcast reads the top flag bit only', () => {
    expect(Array.from(A.hwAddress(msg([])))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(A.hwAddress(msg([], { hlen: 20 })).length).toBe(16);
    expect(A.isBroadcast(msg([], { flags: 0x8000 }))).toBe(true);
    expect(A.isBroadcast(msg([], { flags: 0x7fff }))).toBe(false);
  });
});

describe('getHostName bounds', () => {
  it('never returns more than 255 bytes of UTF-8, even for invalid bytes that decode to U+FFFD', () => {
    const name = A.getHostName(msg([[12, new Array(255).fill(0xff)]]))!;
    expect(Buffer.byteLength(name, 'utf8')).toBeLessThanOrEqual(255);
    expect(name.length).toBe(85);
  });
});
