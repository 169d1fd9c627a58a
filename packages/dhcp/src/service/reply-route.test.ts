import { describe, expect, it } from 'vitest';
import { routeReply } from './reply-route.js';

const MAC = new Uint8Array([2, 0, 0, 0, 0, 1]);
const YI = 0x0a000032;

describe('routeReply', () => {
  it('an l2 reply without a frame channel is broadcast by the kernel, never a unicast needing ARP', () => {
    expect(routeReply({ kind: 'l2', ip: YI, port: 68, mac: MAC }, false)).toEqual({
      via: 'udp',
      ip: 0xffffffff,
    });
  });

  it('an l2 reply with a frame channel goes to the client MAC and yiaddr', () => {
    expect(routeReply({ kind: 'l2', ip: YI, port: 68, mac: MAC }, true)).toEqual({
      via: 'frame',
      dstMac: MAC,
      dstIp: YI,
    });
  });

  it('broadcasts go as frames when possible, else through the kernel', () => {
    expect(routeReply({ kind: 'broadcast', ip: 0, port: 68 }, true)).toEqual({
      via: 'frame',
      dstIp: 0xffffffff,
    });
    expect(routeReply({ kind: 'broadcast', ip: 0, port: 68 }, false)).toEqual({ via: 'udp', ip: 0xffffffff });
  });

  it('relays and clients with an address are reached by the kernel from the chosen source', () => {
    expect(routeReply({ kind: 'relay', ip: 0x0a010001, port: 67, src: 0x0a000001 }, true)).toEqual({
      via: 'udp',
      ip: 0x0a010001,
      src: 0x0a000001,
    });
    expect(routeReply({ kind: 'unicast', ip: YI, port: 68 }, true)).toEqual({
      via: 'udp',
      ip: YI,
      src: undefined,
    });
  });
});
