import { describe, expect, it } from 'vitest';
import { BindingState, type Lease } from '@hadhcp/leases';
import { leaseToJson } from './lease-json.js';

const lease: Lease = {
  address: 0x0a000032,
  state: BindingState.ACTIVE,
  starts: 1000,
  ends: 1600,
  tstp: 0,
  tsfp: 0,
  atsfp: 0,
  cltt: 1000,
  hwType: 1,
};

describe('leaseToJson billing', () => {
  it("shows the lease-limit billing in dhcpd.leases' words, and nothing for a lease without one", () => {
    const billing = (b: Lease['billing']) => leaseToJson({ ...lease, ...(b ? { billing: b } : {}) }).billing;
    expect(billing(undefined)).toBeUndefined();
    expect(billing({ className: 'named' })).toBe('class "named"');
    const text = new TextEncoder().encode('modem-1');
    expect(billing({ className: 'cm', subclass: text })).toBe('subclass "cm" "modem-1"');
    // As ISC 4.4.3 wrote it for a value that is not printable (fixtures/isc-billing.dhcpd.leases).
    expect(billing({ className: 'hex', subclass: Uint8Array.of(1, 0x52, 0x54) })).toBe(
      'subclass "hex" 01:52:54',
    );
  });
});
