import { describe, expect, it } from 'vitest';
import { dhcpRole, UNHEALTHY_WEIGHT, vrrpWeightFor } from './supervisor.js';

describe('supervisor decisions', () => {
  it('the VIP holder serves, with the first VIP as server identifier', () => {
    expect(dhcpRole([0x0a00000a, 0x0a00000b], true)).toEqual({
      serving: true,
      reason: 'VRRP master: holding the VIP',
      serverId: 0x0a00000a,
    });
  });

  it('a node without the VIP is silent, and says whether the election is still running', () => {
    expect(dhcpRole([], false)).toEqual({ serving: false, reason: 'waiting for the VRRP election' });
    expect(dhcpRole([], true)).toEqual({ serving: false, reason: 'VRRP backup: the VIP holder answers' });
  });

  it('an unhealthy DHCP service weighs its VRRP priority down by keepalived’s largest weight; healthy, none', () => {
    expect(vrrpWeightFor(false)).toBe(UNHEALTHY_WEIGHT);
    expect(UNHEALTHY_WEIGHT).toBe(-253);
    expect(vrrpWeightFor(true)).toBe(0);
  });
});
