import { describe, expect, it } from 'vitest';
import { MessageType } from '../wire/constants.js';
import { splitToHba } from '../wire/hba.js';
import { bytesOf } from '../wire/values.js';
import { checkConnect, clockSkew } from './handshake.js';

describe('clock skew (ISC: more than 60 s either way refuses the link)', () => {
  it('60 s is fine, 61 s is not, both ways', () => {
    expect(clockSkew(1060, 1000)).toBeUndefined();
    expect(clockSkew(940, 1000)).toBeUndefined();
    expect(clockSkew(1061, 1000)).toBe(61);
    expect(clockSkew(939, 1000)).toBe(-61);
  });
});

describe('checkConnect order (ISC: name, time, HBA, then duplicate link, then MCLT)', () => {
  const ctx = { name: bytesOf('n'), role: 'secondary' as const, nowSec: 1000, linked: true };
  it('reports the first problem only', () => {
    const bad = { type: MessageType.CONNECT as const, time: 2000, xid: 1, relationshipName: bytesOf('m') };
    expect(checkConnect(bad, ctx)?.reason).toBe(8);
    expect(checkConnect({ ...bad, relationshipName: bytesOf('n') }, ctx)?.reason).toBe(4);
    expect(checkConnect({ ...bad, relationshipName: bytesOf('n'), time: 1000 }, ctx)?.reason).toBe(18);
    const good = { ...bad, relationshipName: bytesOf('n'), time: 1000, hba: splitToHba(0) };
    expect(checkConnect(good, ctx)?.reason).toBe(7);
    expect(checkConnect(good, { ...ctx, linked: false })?.reason).toBe(5);
    expect(checkConnect({ ...good, mclt: 0 }, { ...ctx, linked: false })).toBeUndefined();
  });
});
