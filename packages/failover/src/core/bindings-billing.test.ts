import { parseIp4 } from '@hadhcp/common';
import { BindingState as B, type Lease } from '@hadhcp/leases';
import { describe, expect, it } from 'vitest';
import { MessageType, ServerState as S } from '../wire/constants.js';
import type { BndUpdMessage } from '../wire/types.js';
import { chaddrOf } from '../wire/values.js';
import { applyUpdate, bndUpdFor, type BindingContext } from './bindings.js';

const NOW = 1_795_303_500;
const IP = parseIp4('10.1.0.75')!;
const MAC = Uint8Array.from([0xd2, 0x05, 0x11, 0x04, 0x08, 0x34]);
const ctx: BindingContext = { role: 'secondary', myState: S.NORMAL, nowSec: NOW, mclt: 3600, peerName: 'fo' };
const billing = { className: 'cm', subclass: new TextEncoder().encode('modem-1') };

const ours: Lease = {
  address: IP,
  state: B.ACTIVE,
  starts: NOW - 100,
  ends: NOW + 500,
  tstp: NOW + 500,
  tsfp: NOW + 500,
  atsfp: NOW + 500,
  cltt: NOW - 100,
  hwType: 1,
  hwAddr: MAC,
  failoverPeer: 'fo',
  billing,
};

function upd(status: B): BndUpdMessage {
  const m: BndUpdMessage = {
    type: MessageType.BNDUPD,
    time: NOW,
    xid: 7,
    assignedIp: IP,
    bindingStatus: status,
    leaseExpiry: NOW + 900,
    potentialExpiry: NOW + 900,
    stos: NOW - 5,
  };
  if (status === B.ACTIVE || status === B.RELEASED) m.chaddr = chaddrOf(1, MAC);
  return m;
}

describe('lease-limit billing and the failover partner (BNDUPD carries none, as in ISC)', () => {
  it("the partner's update of a lease that stays ACTIVE keeps our billing; one that ends it does not", () => {
    const renewed = applyUpdate(upd(B.ACTIVE), ours, true, undefined, ctx);
    expect(renewed.accept && renewed.lease.billing).toEqual(billing);
    const released = applyUpdate(upd(B.RELEASED), ours, true, undefined, ctx);
    expect(released.accept && released.lease.state).toBe(B.FREE);
    expect(released.accept && released.lease.billing).toBeUndefined();
  });

  it('our BNDUPD for a billed lease is the one for the same lease without billing', () => {
    const { billing: _, ...unbilled } = ours;
    expect(bndUpdFor(ours, NOW, 7)).toEqual(bndUpdFor(unbilled, NOW, 7));
  });
});
