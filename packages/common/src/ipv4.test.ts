import { describe, expect, it } from 'vitest';
import { formatIp4, maskToPrefix, parseIp4, prefixToMask } from './ipv4.js';

describe('ipv4', () => {
  it('parses and formats dotted quads', () => {
    expect(parseIp4('10.1.0.255')).toBe(0x0a0100ff);
    expect(formatIp4(0xc0a80101)).toBe('192.168.1.1');
    expect(parseIp4('256.1.1.1')).toBeUndefined();
    expect(parseIp4('1.2.3')).toBeUndefined();
  });
  it('converts masks and prefixes, refusing masks with holes', () => {
    expect(prefixToMask(24)).toBe(0xffffff00);
    expect(maskToPrefix(0xfffff000)).toBe(20);
    expect(maskToPrefix(0xff00ff00)).toBeUndefined();
    expect(maskToPrefix(0)).toBe(0);
  });
});
