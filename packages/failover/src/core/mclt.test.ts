/** The MCLT rule, both sides of each edge, and ISC's own BNDUPD from the capture. */
import { describe, expect, it } from 'vitest';
import { capturedMessages } from '../../test-vectors/captures.js';
import { decodeMessage } from '../wire/codec.js';
import { MessageType } from '../wire/constants.js';
import { ackTimes, allowedLeaseTime } from './mclt.js';

const NOW = 1_800_000_000;
const MCLT = 3600;

describe('allowedLeaseTime', () => {
  it('a desired time up to MCLT is given whatever the partner knows', () => {
    expect(allowedLeaseTime({ desired: MCLT, now: NOW, tsfp: 0, mclt: MCLT })).toBe(MCLT);
    expect(allowedLeaseTime({ desired: 900, now: NOW, tsfp: 0, mclt: MCLT })).toBe(900);
    expect(allowedLeaseTime({ desired: MCLT + 1, now: NOW, tsfp: 0, mclt: MCLT })).toBe(MCLT);
  });

  it('beyond MCLT: only MCLT while the acknowledged potential expiry is not in the future', () => {
    const desired = 7200;
    expect(allowedLeaseTime({ desired, now: NOW, tsfp: NOW - 1, mclt: MCLT })).toBe(MCLT);
    expect(allowedLeaseTime({ desired, now: NOW, tsfp: NOW, mclt: MCLT })).toBe(MCLT);
    expect(allowedLeaseTime({ desired, now: NOW, tsfp: NOW + 1, mclt: MCLT })).toBe(MCLT + 1);
  });

  it('beyond MCLT with tsfp in the future: the desired time if it ends by tsfp + MCLT, else up to it', () => {
    const tsfp = NOW + 1000;
    const edge = tsfp + MCLT - NOW; // 4600: ends exactly at tsfp + MCLT
    expect(allowedLeaseTime({ desired: edge - 1, now: NOW, tsfp, mclt: MCLT })).toBe(edge - 1);
    expect(allowedLeaseTime({ desired: edge, now: NOW, tsfp, mclt: MCLT })).toBe(edge);
    expect(allowedLeaseTime({ desired: edge + 1, now: NOW, tsfp, mclt: MCLT })).toBe(edge);
    expect(allowedLeaseTime({ desired: 86400, now: NOW, tsfp, mclt: MCLT })).toBe(edge);
  });
});

describe('ackTimes', () => {
  it('tstp = now + desired + half the granted time (rounded down)', () => {
    expect(ackTimes({ desired: 7200, now: NOW, tsfp: 0, mclt: MCLT })).toEqual({
      leaseTime: MCLT,
      tstp: NOW + 7200 + 1800,
      tsfp: 0,
    });
    expect(ackTimes({ desired: 901, now: NOW, tsfp: 0, mclt: MCLT }).tstp).toBe(NOW + 901 + 450);
  });

  it('lowers tsfp to tstp when tstp is earlier, and only then', () => {
    const tstp = NOW + 900 + 450;
    expect(ackTimes({ desired: 900, now: NOW, tsfp: tstp + 1, mclt: MCLT }).tsfp).toBe(tstp);
    expect(ackTimes({ desired: 900, now: NOW, tsfp: tstp, mclt: MCLT }).tsfp).toBe(tstp);
    expect(ackTimes({ desired: 900, now: NOW, tsfp: tstp - 1, mclt: MCLT }).tsfp).toBe(tstp - 1);
  });

  it('never goes past what a u32 carries', () => {
    expect(ackTimes({ desired: 0xffffffff, now: NOW, tsfp: 0xffffffff, mclt: MCLT }).tstp).toBe(0xffffffff);
  });

  it("gives the potential expiry ISC sent for udhcpc's lease (server-lan frame 83: 900 s lease, MCLT 3600)", () => {
    const c = capturedMessages().find((m) => m.frame === 83)!;
    const m = decodeMessage(c.bytes);
    if ('error' in m || m.type !== MessageType.BNDUPD) throw new Error('expected the BNDUPD');
    const t = ackTimes({ desired: 900, now: m.stos!, tsfp: 0, mclt: 3600 });
    expect(m.leaseExpiry).toBe(m.stos! + t.leaseTime);
    expect(m.potentialExpiry).toBe(t.tstp);
  });
});
