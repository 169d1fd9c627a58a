import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildGarp, isGratuitous, parseArp } from './arp.js';
import { parseIp4, parseMac } from './ipv4.js';
import { readPcap } from './pcap.js';

const capture = readPcap(
  new Uint8Array(readFileSync(new URL('../../dhcp/test-vectors/server-lan.pcap', import.meta.url))),
);

describe('buildGarp', () => {
  it('reproduces keepalived 2.2.7 gratuitous ARP for the VIP byte for byte (server-lan frame 34)', () => {
    const captured = capture[33]!.data;
    const built = buildGarp({ mac: parseMac('d2:a5:25:61:55:91')!, ip: parseIp4('10.0.0.10')! });
    expect(Array.from(built)).toEqual(Array.from(captured));
  });

  it('reply form differs only in the opcode', () => {
    const mac = parseMac('02:00:00:00:00:01')!;
    const req = buildGarp({ mac, ip: parseIp4('192.0.2.1')! });
    const rep = buildGarp({ mac, ip: parseIp4('192.0.2.1')!, op: 'reply' });
    const p = parseArp(rep)!;
    expect(p.op).toBe(2);
    expect(isGratuitous(p)).toBe(true);
    expect(Array.from(rep.subarray(0, 21))).toEqual(Array.from(req.subarray(0, 21)));
    expect(Array.from(rep.subarray(22))).toEqual(Array.from(req.subarray(22)));
  });
});

describe('parseArp', () => {
  it('tells a router ARP request (frame 1) from a gratuitous one', () => {
    const p = parseArp(capture[0]!.data)!;
    expect(p.op).toBe(1);
    expect(isGratuitous(p)).toBe(false);
    expect(p.targetIp).toBe(parseIp4('10.0.0.2'));
  });
  it('rejects non-ARP and short frames', () => {
    expect(parseArp(new Uint8Array(41))).toBeUndefined();
    const ip = new Uint8Array(60);
    ip[12] = 0x08;
    expect(parseArp(ip)).toBeUndefined();
  });
});
