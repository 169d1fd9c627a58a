/**
 * The codec against real peers' packets (ISC dhcpd 4.4.3-P1 via dhcrelay; dhclient, udhcpc 1.35.0, dhcpcd).
 * Expected values were read off `tshark -r packages/dhcp/test-vectors/<file> -O dhcp`.
 */
import { formatIp4, formatMac, parseIp4 } from '@hadhcp/common';
import { describe, expect, it } from 'vitest';
import { allCapturedDhcp, capturedDhcp } from '../../test-vectors/captures.js';
import {
  getClientId,
  getHostName,
  getLeaseTime,
  getMaxMessageSize,
  getMessageType,
  getParameterRequestList,
  getRelayAgentInfo,
  getRequestedIp,
  getServerId,
  getVendorClass,
  hwAddress,
  isBroadcast,
} from './accessors.js';
import { decodeDhcp, encodeDhcp } from './codec.js';
import { isWireError } from './errors.js';
import { MessageType, type DhcpMessage } from './types.js';

const ip = (s: string): number => parseIp4(s)!;
const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

function decodeOk(payload: Uint8Array): DhcpMessage {
  const m = decodeDhcp(payload);
  if (isWireError(m)) throw new Error(`${m.reason}: ${m.detail}`);
  return m;
}

const client = capturedDhcp('client-lan.pcap');
const server = capturedDhcp('server-lan.pcap');
const frame = (list: typeof client, n: number): DhcpMessage =>
  decodeOk(list.find((p) => p.frameNo === n)!.payload);

describe('captured DHCP packets', () => {
  it('finds every DHCP packet tshark shows (11 on the client segment, 18 relayed on the router segment)', () => {
    expect(client).toHaveLength(11);
    expect(server).toHaveLength(18);
  });

  it('decodes every captured packet without error', () => {
    for (const p of allCapturedDhcp()) {
      const m = decodeDhcp(p.payload);
      expect(isWireError(m), `${p.file} frame ${p.frameNo}: ${JSON.stringify(m)}`).toBe(false);
    }
  });

  it('dhclient DISCOVER (client-lan 1): reserved MAC, host name "vm", 13 requested parameters', () => {
    const m = frame(client, 1);
    expect(m.op).toBe(1);
    expect(getMessageType(m)).toBe(MessageType.DISCOVER);
    expect(formatMac(hwAddress(m))).toBe('52:54:00:7d:2d:b1');
    expect(m.xid).toBe(0x4a35b005);
    expect(getHostName(m)).toBe('vm');
    expect(getParameterRequestList(m)).toEqual([1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42]);
    expect(getClientId(m)).toBeUndefined(); // dhclient sends none by default
    expect(isBroadcast(m)).toBe(false);
    expect(m.hasCookie).toBe(true);
  });

  it('ISC dhcpd OFFER to dhclient (client-lan 2): reserved address, next-server and filename, relayed', () => {
    const m = frame(client, 2);
    expect(m.op).toBe(2);
    expect(getMessageType(m)).toBe(MessageType.OFFER);
    expect(formatIp4(m.yiaddr)).toBe('10.1.0.60');
    expect(formatIp4(m.siaddr)).toBe('10.0.0.69');
    expect(formatIp4(m.giaddr)).toBe('10.1.0.1');
    expect(m.hops).toBe(1);
    expect(getServerId(m)).toBe(ip('10.0.0.2'));
    expect(getLeaseTime(m)).toBe(900);
    expect(text(m.file.subarray(0, m.file.indexOf(0)))).toBe('pxelinux.0');
    expect(text(m.options.find((o) => o.code === 15)?.data)).toBe('corp.example.net');
    expect(getHostName(m)).toBe('bootstrap');
  });

  it('udhcpc DISCOVER retries (client-lan 5-7): secs 0, 3, 6; max size 576; vendor class; client id', () => {
    const msgs = [5, 6, 7].map((n) => frame(client, n));
    expect(msgs.map((m) => m.secs)).toEqual([0, 3, 6]);
    const m = msgs[0]!;
    expect(getMaxMessageSize(m)).toBe(576);
    expect(getHostName(m)).toBe('laptop-1');
    expect(text(getVendorClass(m))).toBe('udhcp 1.35.0');
    // RFC 2132 9.14: type 1 (Ethernet) followed by the MAC
    expect(formatMac(getClientId(m)!)).toBe('01:d2:05:11:04:08:34');
  });

  it('udhcpc REQUEST (client-lan 9) asks for the offered address from the server that offered it', () => {
    const m = frame(client, 9);
    expect(getMessageType(m)).toBe(MessageType.REQUEST);
    expect(getRequestedIp(m)).toBe(ip('10.1.0.75'));
    expect(getServerId(m)).toBe(ip('10.0.0.2'));
  });

  it('dhcpcd DISCOVER (client-lan 11): RFC 4361 client id (IAID + DUID), max size 1472', () => {
    const m = frame(client, 11);
    expect(getMaxMessageSize(m)).toBe(1472);
    const cid = getClientId(m)!;
    expect(cid.length).toBe(19);
    expect(cid[0]).toBe(255); // RFC 4361 6.1: type 255, then IAID (4) and DUID
    expect(formatMac(cid.subarray(1, 5))).toBe('e0:98:16:f6');
    expect(m.options.map((o) => o.code)).toEqual([53, 55, 57, 61, 116, 145]);
  });

  it('relayed copies on the router segment carry giaddr 10.1.0.1 and hops 1, and no option 82', () => {
    for (const p of server) {
      const m = decodeOk(p.payload);
      expect(formatIp4(m.giaddr)).toBe('10.1.0.1');
      expect(m.hops).toBe(1);
      expect(getRelayAgentInfo(m)).toBeUndefined(); // dhcrelay ran without -a
    }
    // Frame 122 is the OFFER from the secondary (10.0.0.3) after router A stopped.
    expect(getServerId(frame(server, 122))).toBe(ip('10.0.0.3'));
  });
});

describe('round trip on captured packets', () => {
  it('decode -> encode reproduces every captured packet byte for byte', () => {
    for (const p of allCapturedDhcp()) {
      const bytes = encodeDhcp(decodeOk(p.payload));
      expect(Buffer.from(bytes).toString('hex'), `${p.file} frame ${p.frameNo}`).toBe(
        Buffer.from(p.payload).toString('hex'),
      );
    }
  });

  it('the canonical encoding (no layout hint) matches ISC dhcpd and the clients when they put 53/54 first', () => {
    // Our canonical form: 53, 54, rest in order, end, zero padding to 300. udhcpc puts 50 before 54, so its
    // REQUESTs are only compared semantically.
    let exact = 0;
    for (const p of allCapturedDhcp()) {
      const m = decodeOk(p.payload);
      const { layout: _ignored, ...bare } = m;
      const bytes = encodeDhcp(bare);
      const again = decodeOk(bytes);
      expect(again.options).toEqual(
        [...m.options].sort(
          (a, b) => rank(a.code) - rank(b.code) || m.options.indexOf(a) - m.options.indexOf(b),
        ),
      );
      const codes = m.options.map((o) => o.code);
      const conventional = codes[0] === 53 && (!codes.includes(54) || codes[1] === 54);
      if (conventional) {
        expect(Buffer.from(bytes).toString('hex'), `${p.file} ${p.frameNo}`).toBe(
          Buffer.from(p.payload).toString('hex'),
        );
        exact++;
      }
    }
    expect(exact).toBeGreaterThan(20);
  });
});

function rank(code: number): number {
  return code === 53 ? 0 : code === 54 ? 1 : 2;
}
