import { describe, expect, it } from 'vitest';
import { CLIENT_PORT, LIMITED_BROADCAST, replyDestination, SERVER_PORT } from './addressing.js';
import { clientMsg, ip, mac, MessageType } from './test-helpers.js';

const on = { iface: 'eth0', localIp: ip('10.1.0.1') };
const yi = ip('10.1.0.60');

describe('replyDestination (RFC 2131 4.1)', () => {
  it('relayed: to giaddr port 67, from the address the relay sent to', () => {
    const req = clientMsg(MessageType.DISCOVER, { giaddr: '10.2.0.1', broadcast: true, ciaddr: '10.2.0.9' });
    expect(replyDestination(req, yi, 'offer-ack', on)).toEqual({
      kind: 'relay',
      ip: ip('10.2.0.1'),
      port: SERVER_PORT,
      src: ip('10.1.0.1'),
    });
  });

  it('ciaddr set and no relay: unicast to ciaddr port 68', () => {
    const req = clientMsg(MessageType.REQUEST, { ciaddr: '10.1.0.60', broadcast: true });
    expect(replyDestination(req, yi, 'offer-ack', on)).toEqual({
      kind: 'unicast',
      ip: ip('10.1.0.60'),
      port: CLIENT_PORT,
    });
  });

  it('broadcast flag: limited broadcast on the receiving interface', () => {
    const req = clientMsg(MessageType.DISCOVER, { broadcast: true });
    expect(replyDestination(req, yi, 'offer-ack', on)).toEqual({
      kind: 'broadcast',
      ip: LIMITED_BROADCAST,
      port: CLIENT_PORT,
      iface: 'eth0',
    });
  });

  it('otherwise: to yiaddr at chaddr without ARP', () => {
    const req = clientMsg(MessageType.DISCOVER, { mac: '52:54:00:7d:2d:b1' });
    expect(replyDestination(req, yi, 'offer-ack', on)).toEqual({
      kind: 'l2',
      ip: yi,
      port: CLIENT_PORT,
      mac: mac('52:54:00:7d:2d:b1'),
      iface: 'eth0',
    });
  });

  it('a client without a usable hardware address gets a broadcast', () => {
    const req = clientMsg(MessageType.DISCOVER);
    req.hlen = 0;
    expect(replyDestination(req, yi, 'offer-ack', on).kind).toBe('broadcast');
  });

  it('NAK without relay: broadcast, even when ciaddr is set (4.3.2)', () => {
    const req = clientMsg(MessageType.REQUEST, { ciaddr: '10.1.0.60' });
    expect(replyDestination(req, 0, 'nak', on)).toEqual({
      kind: 'broadcast',
      ip: LIMITED_BROADCAST,
      port: CLIENT_PORT,
      iface: 'eth0',
    });
  });

  it('NAK via a relay: to the relay', () => {
    const req = clientMsg(MessageType.REQUEST, { giaddr: '10.2.0.1' });
    expect(replyDestination(req, 0, 'nak', on).kind).toBe('relay');
  });

  it('INFORM: to ciaddr even when relayed; to the source address when ciaddr is empty', () => {
    const relayed = clientMsg(MessageType.INFORM, { ciaddr: '10.2.0.9', giaddr: '10.2.0.1' });
    expect(replyDestination(relayed, 0, 'inform', on)).toEqual({
      kind: 'unicast',
      ip: ip('10.2.0.9'),
      port: CLIENT_PORT,
    });
    const bare = clientMsg(MessageType.INFORM);
    expect(replyDestination(bare, 0, 'inform', on, ip('10.1.0.77'))).toEqual({
      kind: 'unicast',
      ip: ip('10.1.0.77'),
      port: CLIENT_PORT,
    });
  });

  it('omits the source when the receiving address is unknown', () => {
    const req = clientMsg(MessageType.DISCOVER, { giaddr: '10.2.0.1' });
    expect(replyDestination(req, yi, 'offer-ack', {}).src).toBeUndefined();
  });
});
