import { formatIp4, parseIp4 } from '@hadhcp/common';
import { BindingState as B, blankLease, type Lease } from '@hadhcp/leases';
import { describe, expect, it } from 'vitest';
import { capturedMessages } from '../../test-vectors/captures.js';
import { decodeMessage, encodeMessage } from '../wire/codec.js';
import { IpFlags, MessageType, RejectReason, ServerFlags, ServerState as S } from '../wire/constants.js';
import { isFailoverWireError } from '../wire/errors.js';
import type { BndUpdMessage, FailoverMessage } from '../wire/types.js';
import { chaddrOf } from '../wire/values.js';
import {
  applyAck,
  applyUpdate,
  ackProvesNothingNew,
  bndUpdFor,
  mineToAllocate,
  needsUpdate,
  type BindingContext,
  type UpdateVerdict,
} from './bindings.js';
import type { Role } from './machine-types.js';

const NOW = 1_795_303_500;
const MCLT = 3600;
const IP = parseIp4('10.1.0.75')!;
const MAC = Uint8Array.from([0xd2, 0x05, 0x11, 0x04, 0x08, 0x34]);
const CID = Uint8Array.from([0x01, 0xd2, 0x05, 0x11, 0x04, 0x08, 0x34]);
const ALL = [B.FREE, B.ACTIVE, B.EXPIRED, B.RELEASED, B.ABANDONED, B.RESET, B.BACKUP];

const ctx = (role: Role, myState: S = S.NORMAL, extra: Partial<BindingContext> = {}): BindingContext => ({
  role,
  myState,
  nowSec: NOW,
  mclt: MCLT,
  peerName: 'dhcp-failover',
  ...extra,
});

function lease(state: B, over: Partial<Lease> = {}): Lease {
  return {
    address: IP,
    state,
    starts: NOW - 100,
    ends: NOW - 1000,
    tstp: NOW - 1000,
    tsfp: NOW - 1000,
    atsfp: NOW - 1000,
    cltt: NOW - 100,
    hwType: 1,
    hwAddr: MAC,
    failoverPeer: 'dhcp-failover',
    ...over,
  };
}

/** A BNDUPD as ISC would send it; chaddr for the states that need one, potential expiry `now` (agreed). */
function upd(status: number, over: Partial<BndUpdMessage> = {}): BndUpdMessage {
  const m: BndUpdMessage = {
    type: MessageType.BNDUPD,
    time: NOW,
    xid: 7,
    assignedIp: IP,
    bindingStatus: status,
    // An EXPIRED names the end that passed (here: the end of lease() below); any other update a later one.
    leaseExpiry: status === B.EXPIRED ? NOW - 1000 : NOW + 900,
    potentialExpiry: NOW,
    stos: NOW - 5,
  };
  if (status === B.ACTIVE || status === B.EXPIRED || status === B.RELEASED) m.chaddr = chaddrOf(1, MAC);
  return { ...m, ...over };
}

const reasonOf = (v: UpdateVerdict): RejectReason | 'accept' => (v.accept ? 'accept' : v.reason);

describe('bndUpdFor: ISC dhcp_failover_send_bind_update field mapping', () => {
  it('an ACTIVE lease: status, client id, chaddr with htype, ends, tstp, starts as STOS, cltt; no IP flags', () => {
    const l = lease(B.ACTIVE, {
      starts: 1795303477,
      ends: 1795304377,
      tstp: 1795304827,
      cltt: 1795303477,
      clientId: CID,
    });
    expect(bndUpdFor(l, 1795303480, 7)).toEqual({
      type: MessageType.BNDUPD,
      time: 1795303480,
      xid: 7,
      assignedIp: IP,
      bindingStatus: B.ACTIVE,
      clientId: CID,
      chaddr: Uint8Array.from([1, ...MAC]),
      leaseExpiry: 1795304377,
      potentialExpiry: 1795304827,
      stos: 1795303477,
      cltt: 1795303477,
    });
  });

  it('equals the BNDUPD the ISC primary sent for 10.1.0.75 (frame 83), byte for byte with its time and xid', () => {
    const captured = capturedMessages().find((c) => c.frame === 83)!;
    const m = decodeMessage(captured.bytes) as BndUpdMessage;
    const l = lease(B.ACTIVE, {
      starts: m.stos!,
      ends: m.leaseExpiry!,
      tstp: m.potentialExpiry!,
      cltt: m.cltt!,
      clientId: m.clientId!,
      hwAddr: m.chaddr!.subarray(1),
    });
    const mine: FailoverMessage = bndUpdFor(l, m.time, m.xid);
    expect(Buffer.from(encodeMessage(mine)).toString('hex')).toBe(
      Buffer.from(captured.bytes).toString('hex'),
    );
  });

  it('a pristine FREE lease: IP, status and the three times (0), as ISC sends during recovery; no cltt, chaddr, client id', () => {
    const l = blankLease(IP);
    expect(bndUpdFor(l, 0, 1)).toEqual({
      type: MessageType.BNDUPD,
      time: 0,
      xid: 1,
      assignedIp: IP,
      bindingStatus: B.FREE,
      leaseExpiry: 0,
      potentialExpiry: 0,
      stos: 0,
    });
  });

  it('an empty hardware address or client id is left out', () => {
    const m = bndUpdFor(lease(B.FREE, { hwAddr: new Uint8Array(0), clientId: new Uint8Array(0) }), 0, 1);
    expect(m).not.toHaveProperty('chaddr');
    expect(m).not.toHaveProperty('clientId');
  });
});

describe('applyUpdate: validation in ISC order (dhcp_failover_process_bind_update)', () => {
  it('reject 3 without the assigned IP or the binding status', () => {
    const noIp = upd(B.FREE);
    delete noIp.assignedIp;
    const noStatus = upd(B.FREE);
    delete noStatus.bindingStatus;
    for (const m of [noIp, noStatus])
      expect(applyUpdate(m, undefined, true, undefined, ctx('secondary'))).toEqual({
        accept: false,
        reason: RejectReason.MISSING_BINDINFO,
        message: 'binding update lacks required options',
      });
  });

  it('reject 1 for an address outside the pools of this relationship', () => {
    expect(applyUpdate(upd(B.FREE), undefined, false, undefined, ctx('primary'))).toEqual({
      accept: false,
      reason: RejectReason.ILLEGAL_IP_ADDR,
      message: 'IP address is covered by a different failover relationship state',
    });
  });

  it('reject 6 for ABANDONED with a chaddr or with a client id; ABANDONED without them clears the hardware address', () => {
    const withCh = applyUpdate(
      upd(B.ABANDONED, { chaddr: chaddrOf(1, MAC) }),
      lease(B.FREE),
      true,
      undefined,
      ctx('secondary'),
    );
    expect(withCh).toEqual({
      accept: false,
      reason: RejectReason.MISC_REJECT,
      message: 'BNDUPD to ABANDONED with a CHADDR',
    });
    const withId = applyUpdate(
      upd(B.ABANDONED, { clientId: CID }),
      lease(B.FREE),
      true,
      undefined,
      ctx('secondary'),
    );
    expect(withId).toEqual({
      accept: false,
      reason: RejectReason.MISC_REJECT,
      message: 'BNDUPD to ABANDONED with client-id',
    });
    const ok = applyUpdate(
      upd(B.ABANDONED),
      lease(B.FREE, { clientId: CID }),
      true,
      undefined,
      ctx('secondary'),
    );
    expect(ok.accept && ok.lease.state).toBe(B.ABANDONED);
    expect(ok.accept && ok.lease.hwAddr).toBeUndefined();
    expect(ok.accept && ok.lease.clientId).toBeUndefined();
  });

  it.each([B.ACTIVE, B.EXPIRED, B.RELEASED])(
    'reject 3 for status %i without a chaddr (both roles)',
    (status) => {
      for (const role of ['primary', 'secondary'] as const) {
        const m = upd(status);
        delete m.chaddr;
        expect(applyUpdate(m, lease(B.ACTIVE), true, undefined, ctx(role))).toEqual({
          accept: false,
          reason: RejectReason.MISSING_BINDINFO,
          message: 'BNDUPD without CHADDR',
        });
      }
    },
  );

  it('FREE, BACKUP and RESET need no chaddr and keep the hardware address and client id we had', () => {
    for (const status of [B.FREE, B.BACKUP, B.RESET]) {
      const v = applyUpdate(
        upd(status),
        lease(B.EXPIRED, { clientId: CID }),
        true,
        undefined,
        ctx('secondary'),
      );
      expect(v.accept).toBe(true);
      if (v.accept) {
        expect(v.lease.hwAddr).toEqual(MAC);
        expect(v.lease.clientId).toEqual(CID);
      }
    }
  });

  it('ACTIVE without a client id forgets ours (the client sent none); a new client drops the hostname', () => {
    const v = applyUpdate(
      upd(B.ACTIVE),
      lease(B.ACTIVE, { clientId: CID, hostname: 'pc1' }),
      true,
      undefined,
      ctx('secondary'),
    );
    expect(v.accept && v.lease.clientId).toBeUndefined();
    expect(v.accept && v.lease.hostname).toBeUndefined();
    const same = applyUpdate(
      upd(B.ACTIVE, { clientId: CID }),
      lease(B.ACTIVE, { clientId: CID, hostname: 'pc1' }),
      true,
      undefined,
      ctx('secondary'),
    );
    expect(same.accept && same.lease.hostname).toBe('pc1');
  });

  it("IP flags: RESERVE on a lease we own is reject 19, BOOTP reject 6; on the partner's lease they are accepted", () => {
    const reserve = upd(B.ACTIVE, { ipFlags: IpFlags.RESERVE });
    expect(applyUpdate(reserve, undefined, true, undefined, ctx('primary'))).toEqual({
      accept: false,
      reason: RejectReason.IP_NOT_RESERVED,
      message: 'Address is not reserved.',
    });
    expect(
      applyUpdate(
        upd(B.ACTIVE, { ipFlags: IpFlags.BOOTP }),
        lease(B.BACKUP),
        true,
        undefined,
        ctx('secondary'),
      ),
    ).toEqual({
      accept: false,
      reason: RejectReason.MISC_REJECT,
      message: 'Address is not allocated to BOOTP.',
    });
    expect(reasonOf(applyUpdate(reserve, undefined, true, undefined, ctx('secondary')))).toBe('accept');
    expect(reasonOf(applyUpdate(reserve, lease(B.BACKUP), true, undefined, ctx('primary')))).toBe('accept');
  });

  it.each([0, 8, 254, 1.5])(
    'binding status %s is refused with reject 2 (ISC would log_fatal and exit)',
    (status) => {
      for (const my of [S.NORMAL, S.RECOVER])
        for (const role of ['primary', 'secondary'] as const) {
          const v = applyUpdate(upd(status), lease(B.FREE), true, undefined, ctx(role, my));
          expect(v).toEqual({
            accept: false,
            reason: RejectReason.FATAL_CONFLICT,
            message: '10.1.0.75: invalid state transition: free to unknown',
          });
        }
    },
  );
});

describe('applyUpdate: dueling updates (ISC failover_lease_is_better, reject 16)', () => {
  const r16 = {
    accept: false,
    reason: RejectReason.LESS_CRIT_BIND_INFO,
    message: 'incoming update is less critical than outgoing update',
  };

  it("both FREE (the capture's recovery): the primary keeps its own, the secondary takes the partner's", () => {
    const mine = lease(B.FREE);
    expect(applyUpdate(upd(B.FREE), mine, true, mine, ctx('primary', S.RECOVER))).toEqual(r16);
    const v = applyUpdate(upd(B.FREE), mine, true, mine, ctx('secondary', S.RECOVER));
    expect(v.accept && v.supersedesPending).toBe(true);
  });

  it('ACTIVE against ACTIVE: the later CLTT wins whatever the role; a tie goes to the primary', () => {
    const mine = lease(B.ACTIVE, { cltt: NOW - 10, ends: NOW + 500 });
    for (const role of ['primary', 'secondary'] as const) {
      expect(applyUpdate(upd(B.ACTIVE, { cltt: NOW - 11 }), mine, true, mine, ctx(role))).toEqual(r16);
      expect(reasonOf(applyUpdate(upd(B.ACTIVE, { cltt: NOW - 9 }), mine, true, mine, ctx(role)))).toBe(
        'accept',
      );
    }
    expect(applyUpdate(upd(B.ACTIVE, { cltt: NOW - 10 }), mine, true, mine, ctx('primary'))).toEqual(r16);
    expect(reasonOf(applyUpdate(upd(B.ACTIVE, { cltt: NOW - 10 }), mine, true, mine, ctx('secondary')))).toBe(
      'accept',
    );
  });

  it('a missing CLTT counts as 0: it loses against our ACTIVE', () => {
    const mine = lease(B.ACTIVE, { ends: NOW + 500 });
    expect(applyUpdate(upd(B.ACTIVE), mine, true, mine, ctx('secondary'))).toEqual(r16);
  });

  it('our ACTIVE against their EXPIRED: theirs; their ACTIVE against our FREE/RELEASED...: theirs, both roles', () => {
    const active = lease(B.ACTIVE, { ends: NOW - 100 });
    const expired = upd(B.EXPIRED, { leaseExpiry: NOW - 100 });
    expect(reasonOf(applyUpdate(expired, active, true, active, ctx('primary', S.RECOVER)))).toBe('accept');
    for (const ours of [B.FREE, B.EXPIRED, B.RELEASED, B.ABANDONED, B.RESET, B.BACKUP])
      for (const role of ['primary', 'secondary'] as const) {
        const l = lease(ours);
        expect(reasonOf(applyUpdate(upd(B.ACTIVE, { cltt: 1 }), l, true, l, ctx(role, S.RECOVER)))).toBe(
          'accept',
        );
      }
  });

  it('beyond ISC: their EXPIRED of a binding that ends before ours is stale (the client renewed with us): reject 16, in flight or not', () => {
    // The ISC lab's race: ISC, restarted, sends EXPIRED (ends +61) while our renewal (ACTIVE, ends +90) flies.
    const renewed = lease(B.ACTIVE, { cltt: NOW - 8, ends: NOW + 22 });
    for (const pending of [renewed, undefined])
      for (const role of ['primary', 'secondary'] as const) {
        const v = applyUpdate(upd(B.EXPIRED, { leaseExpiry: NOW - 7 }), renewed, true, pending, ctx(role));
        expect(reasonOf(v), `${role} ${pending ? 'in flight' : 'acked'}`).toBe(
          RejectReason.LESS_CRIT_BIND_INFO,
        );
      }
    // The same end (the partner saw our binding end): taken, as ISC.
    const ended = lease(B.ACTIVE, { ends: NOW - 7 });
    expect(
      reasonOf(applyUpdate(upd(B.EXPIRED, { leaseExpiry: NOW - 7 }), ended, true, ended, ctx('secondary'))),
    ).toBe('accept');
  });

  it('beyond ISC: their FREE/BACKUP of a binding we renewed since they last heard of it is stale: reject 16, in flight or queued', () => {
    // The ISC lab's race: we (secondary) renewed a client while ISC was down; ISC, restarted from its file, let
    // the older binding end and rewound it to BACKUP, and sent that while our renewal waited in our queue.
    const renewed = lease(B.ACTIVE, { cltt: NOW - 20, ends: NOW + 10, tstp: NOW - 20, atsfp: NOW - 35 });
    for (const theirs of [B.FREE, B.BACKUP])
      for (const pending of [renewed, undefined]) {
        const v = applyUpdate(
          upd(theirs, { potentialExpiry: NOW - 5 }),
          renewed,
          true,
          pending,
          ctx('secondary'),
        );
        expect(reasonOf(v), `${B[theirs]} ${pending ? 'in flight' : 'queued'}`).toBe(
          RejectReason.LESS_CRIT_BIND_INFO,
        );
      }
    // Acknowledged, yet the partner's record still names an end (an older one, or ours): stale too. ISC did
    // that: it acknowledged our renewal, then sent BACKUP with our end in it.
    const acked = { ...renewed, atsfp: NOW - 20 };
    for (const leaseExpiry of [NOW - 10, NOW + 10]) {
      const v = applyUpdate(
        upd(B.BACKUP, { potentialExpiry: NOW - 5, leaseExpiry }),
        acked,
        true,
        undefined,
        ctx('secondary'),
      );
      expect(v, `BACKUP ending ${leaseExpiry - NOW}`).toMatchObject({
        accept: false,
        reason: RejectReason.LESS_CRIT_BIND_INFO,
        tellOurs: true,
      });
    }
    // Acknowledged and the partner's record has no end (a binding it deleted: lease4-del): ISC's rule, taken.
    const deleted = upd(B.FREE, { potentialExpiry: NOW - 5, leaseExpiry: 0 });
    expect(reasonOf(applyUpdate(deleted, acked, true, undefined, ctx('secondary')))).toBe('accept');
    // Our binding has ended: taken, as ISC.
    const ended = { ...renewed, ends: NOW - 1 };
    expect(
      reasonOf(
        applyUpdate(upd(B.FREE, { potentialExpiry: NOW - 5 }), ended, true, undefined, ctx('secondary')),
      ),
    ).toBe('accept');
  });

  it('beyond ISC: their EXPIRED whose own end is after the time they sent it is refused (16) and ours sent again', () => {
    // The ISC lab: ISC took our renewal (ends +88) and in the same second sent EXPIRED with that end at time +60.
    const renewed = lease(B.ACTIVE, { cltt: NOW - 2, ends: NOW + 28 });
    for (const role of ['primary', 'secondary'] as const) {
      const v = applyUpdate(upd(B.EXPIRED, { leaseExpiry: NOW + 28 }), renewed, true, undefined, ctx(role));
      expect(v, role).toMatchObject({
        accept: false,
        reason: RejectReason.LESS_CRIT_BIND_INFO,
        tellOurs: true,
      });
    }
    // Sent once that end had passed by the partner's clock: ISC's rules decide (here: taken).
    const ended = lease(B.ACTIVE, { ends: NOW - 3 });
    const v = applyUpdate(upd(B.EXPIRED, { leaseExpiry: NOW - 3 }), ended, true, undefined, ctx('secondary'));
    expect(reasonOf(v)).toBe('accept');
  });

  it('any other pair goes to the primary (our ACTIVE against their RELEASED included)', () => {
    for (const ours of [B.ACTIVE, B.FREE, B.BACKUP, B.EXPIRED])
      for (const theirs of [B.FREE, B.RELEASED, B.RESET, B.BACKUP]) {
        const l = lease(ours);
        expect(applyUpdate(upd(theirs), l, true, l, ctx('primary', S.RECOVER))).toEqual(r16);
        // The secondary lets the partner's update win the duel; the transition check still applies (our ACTIVE
        // cannot become FREE/BACKUP outside normal: reject 2).
        const want =
          ours === B.ACTIVE && (theirs === B.FREE || theirs === B.BACKUP)
            ? RejectReason.FATAL_CONFLICT
            : 'accept';
        expect(reasonOf(applyUpdate(upd(theirs), l, true, l, ctx('secondary', S.RECOVER)))).toBe(want);
      }
  });

  it('without our update in flight there is no duel: supersedesPending is not set', () => {
    const v = applyUpdate(upd(B.FREE), lease(B.FREE), true, undefined, ctx('primary'));
    expect(v).toEqual({ accept: true, lease: expect.anything() });
  });
});

describe('applyUpdate: transitions in normal (ISC normal_binding_state_transition_check, reject 2)', () => {
  // Written from ISC's table, with the partner agreeing the lease expired (potential expiry = now) and our end long
  // past: [from][to] per role, true = accepted.
  const allowed = (role: Role, from: B, to: B): boolean => {
    if (from === B.ACTIVE && role === 'primary') return to === B.ACTIVE || to === B.RELEASED;
    return true;
  };

  it.each(['primary', 'secondary'] as const)('the 7 x 7 grid as %s', (role) => {
    for (const from of ALL)
      for (const to of ALL) {
        const v = applyUpdate(upd(to, { cltt: NOW }), lease(from), true, undefined, ctx(role));
        const want = allowed(role, from, to);
        expect({ from, to, ok: v.accept }).toEqual({ from, to, ok: want });
        if (!v.accept) {
          expect(v.reason).toBe(RejectReason.FATAL_CONFLICT);
          expect(v.message).toMatch(/^10\.1\.0\.75: invalid state transition: \w+ to \w+$/);
        }
      }
  });

  it('the primary refuses the secondary moving its ACTIVE lease to ABANDONED (only RELEASED is allowed)', () => {
    expect(applyUpdate(upd(B.ABANDONED), lease(B.ACTIVE), true, undefined, ctx('primary'))).toEqual({
      accept: false,
      reason: RejectReason.FATAL_CONFLICT,
      message: '10.1.0.75: invalid state transition: active to abandoned',
    });
  });

  it("ACTIVE/EXPIRED/RESET -> FREE or BACKUP only once the partner's potential expiry is not after now", () => {
    for (const [from, role] of [
      [B.ACTIVE, 'secondary'],
      [B.EXPIRED, 'primary'],
      [B.EXPIRED, 'secondary'],
      [B.RESET, 'primary'],
      [B.RESET, 'secondary'],
    ] as const)
      for (const to of [B.FREE, B.BACKUP]) {
        expect(
          reasonOf(
            applyUpdate(upd(to, { potentialExpiry: NOW + 1 }), lease(from), true, undefined, ctx(role)),
          ),
        ).toBe(RejectReason.FATAL_CONFLICT);
        expect(
          reasonOf(applyUpdate(upd(to, { potentialExpiry: NOW }), lease(from), true, undefined, ctx(role))),
        ).toBe('accept');
        // No potential expiry at all: ISC reads 0.
        const m = upd(to);
        delete m.potentialExpiry;
        expect(reasonOf(applyUpdate(m, lease(from), true, undefined, ctx(role)))).toBe('accept');
      }
  });

  it('RELEASED -> FREE does not wait for the potential expiry', () => {
    expect(
      reasonOf(
        applyUpdate(
          upd(B.FREE, { potentialExpiry: NOW + 999 }),
          lease(B.RELEASED),
          true,
          undefined,
          ctx('secondary'),
        ),
      ),
    ).toBe('accept');
  });

  it('ACTIVE -> EXPIRED (from the primary) only once our end less 65 s is not after now', () => {
    // The partner's clock is ahead of ours: by its clock the binding has ended (time = ends).
    const at = (ends: number) =>
      reasonOf(
        applyUpdate(
          upd(B.EXPIRED, { leaseExpiry: ends, time: ends }),
          lease(B.ACTIVE, { ends }),
          true,
          undefined,
          ctx('secondary'),
        ),
      );
    expect(at(NOW + 66)).toBe(RejectReason.FATAL_CONFLICT);
    expect(at(NOW + 65)).toBe('accept');
    expect(at(0xffffffff)).toBe(RejectReason.FATAL_CONFLICT);
  });
});

describe('applyUpdate: outside normal (ISC conflict_binding_state_transition_check)', () => {
  it.each([S.RECOVER, S.POTENTIAL_CONFLICT, S.COMMUNICATIONS_INTERRUPTED, S.PARTNER_DOWN, S.STARTUP])(
    'in state %i: anything but ACTIVE is overwritten; ACTIVE refuses FREE/BACKUP and an early EXPIRED, both roles',
    (my) => {
      for (const role of ['primary', 'secondary'] as const) {
        for (const from of ALL.filter((s) => s !== B.ACTIVE))
          for (const to of ALL)
            expect(reasonOf(applyUpdate(upd(to), lease(from), true, undefined, ctx(role, my)))).toBe(
              'accept',
            );
        const active = (ends: number) => lease(B.ACTIVE, { ends });
        for (const to of [B.FREE, B.BACKUP])
          expect(reasonOf(applyUpdate(upd(to), active(NOW - 999), true, undefined, ctx(role, my)))).toBe(
            RejectReason.FATAL_CONFLICT,
          );
        // The partner's clock ahead of ours: by its clock the binding has ended.
        const expiredAt = (ends: number) => upd(B.EXPIRED, { leaseExpiry: ends, time: ends });
        expect(
          reasonOf(applyUpdate(expiredAt(NOW + 66), active(NOW + 66), true, undefined, ctx(role, my))),
        ).toBe(RejectReason.FATAL_CONFLICT);
        expect(
          reasonOf(applyUpdate(expiredAt(NOW + 65), active(NOW + 65), true, undefined, ctx(role, my))),
        ).toBe('accept');
        for (const to of [B.RELEASED, B.RESET, B.ABANDONED, B.ACTIVE])
          expect(
            reasonOf(applyUpdate(upd(to, { cltt: NOW }), active(NOW + 999), true, undefined, ctx(role, my))),
          ).toBe('accept');
      }
    },
  );
});

describe('applyUpdate: the record stored', () => {
  it("the partner's fields: STOS -> starts, expiry -> ends, potential expiry -> tsfp and atsfp, cltt; our tstp; the relationship", () => {
    const ours = lease(B.FREE, {
      tstp: 123,
      hwAddr: undefined,
      hostname: undefined,
      failoverPeer: undefined,
    });
    const v = applyUpdate(
      upd(B.ACTIVE, { cltt: NOW - 5, clientId: CID }),
      ours,
      true,
      undefined,
      ctx('secondary'),
    );
    expect(v).toEqual({
      accept: true,
      lease: {
        address: IP,
        state: B.ACTIVE,
        starts: NOW - 5,
        ends: NOW + 900,
        tstp: 123,
        tsfp: NOW,
        atsfp: NOW,
        cltt: NOW - 5,
        hwType: 1,
        hwAddr: MAC,
        clientId: CID,
        failoverPeer: 'dhcp-failover',
      },
    });
  });

  it('a pristine address (no record) starts from FREE with zero times', () => {
    const v = applyUpdate(
      upd(B.BACKUP, { potentialExpiry: 1795303459, stos: 1795303459, leaseExpiry: 0 }),
      undefined,
      true,
      undefined,
      ctx('secondary'),
    );
    expect(v.accept && v.lease).toMatchObject({
      state: B.BACKUP,
      starts: 1795303459,
      ends: 0,
      tstp: 0,
      tsfp: 1795303459,
      atsfp: 1795303459,
      cltt: 0,
    });
  });

  it('options left out keep what we had', () => {
    const m: BndUpdMessage = {
      type: MessageType.BNDUPD,
      time: NOW,
      xid: 1,
      assignedIp: IP,
      bindingStatus: B.FREE,
    };
    const ours = lease(B.BACKUP);
    const v = applyUpdate(m, ours, true, undefined, ctx('primary'));
    expect(v.accept && v.lease).toEqual({ ...ours, state: B.FREE });
  });

  it.each(['primary', 'secondary'] as const)(
    'accepted EXPIRED, RELEASED and RESET are stored FREE (%s)',
    (role) => {
      for (const status of [B.EXPIRED, B.RELEASED, B.RESET]) {
        const v = applyUpdate(upd(status), lease(B.EXPIRED), true, undefined, ctx(role));
        expect(v.accept && v.lease.state).toBe(B.FREE);
      }
    },
  );

  it('never changes the record passed in', () => {
    const ours = lease(B.FREE);
    const copy = structuredClone(ours);
    applyUpdate(upd(B.ACTIVE, { clientId: CID }), ours, true, undefined, ctx('secondary'));
    expect(ours).toEqual(copy);
  });
});

describe('applyAck: ISC dhcp_failover_process_bind_ack', () => {
  const c = ctx('primary');

  it('the partner now holds our tstp: tsfp = atsfp = sent.tstp', () => {
    const sent = lease(B.ACTIVE, { tstp: NOW + 1800, tsfp: NOW + 900, atsfp: NOW + 900 });
    expect(applyAck(sent, sent, c)).toEqual({ ...sent, tsfp: NOW + 1800, atsfp: NOW + 1800 });
  });

  it.each(['primary', 'secondary'] as const)('EXPIRED, RELEASED and RESET move on to FREE (%s)', (role) => {
    for (const state of [B.EXPIRED, B.RELEASED, B.RESET]) {
      const sent = lease(state, { tstp: NOW, tsfp: NOW - 10, atsfp: NOW - 10 });
      expect(applyAck(sent, sent, ctx(role))).toEqual({ ...sent, state: B.FREE, tsfp: NOW, atsfp: NOW });
    }
  });

  it('an expired lease whose times were already acknowledged still moves to FREE', () => {
    const sent = lease(B.EXPIRED, { tstp: NOW, tsfp: NOW, atsfp: NOW });
    expect(applyAck(sent, sent, c)?.state).toBe(B.FREE);
  });

  it('nothing to change: undefined', () => {
    const sent = lease(B.BACKUP, { tstp: NOW, tsfp: NOW, atsfp: NOW });
    expect(applyAck(sent, sent, c)).toBeUndefined();
  });

  it('a newer change of ours in flight (same state, renewed): only the acknowledged times, never lowered', () => {
    const sent = lease(B.ACTIVE, { tstp: NOW + 100, tsfp: NOW, atsfp: NOW });
    const current = { ...sent, ends: NOW + 1000, tstp: NOW + 1500, cltt: NOW };
    expect(applyAck(current, sent, c)).toEqual({ ...current, tsfp: NOW + 100, atsfp: NOW + 100 });
    expect(applyAck({ ...current, tsfp: NOW + 200, atsfp: NOW + 200 }, sent, c)).toBeUndefined();
  });

  it("the state changed since (the partner's update won, or the client left): the ack changes nothing", () => {
    const sent = lease(B.EXPIRED, { tstp: NOW });
    expect(applyAck({ ...sent, state: B.ACTIVE, cltt: NOW }, sent, c)).toBeUndefined();
  });
});

describe('mineToAllocate: ISC lease_mine_to_reallocate', () => {
  const STOS = NOW - 5000;

  it.each([S.NORMAL, S.COMMUNICATIONS_INTERRUPTED])(
    "in state %i: FREE is the primary's, BACKUP the secondary's",
    (my) => {
      expect(mineToAllocate(lease(B.FREE), ctx('primary', my))).toBe(true);
      expect(mineToAllocate(undefined, ctx('primary', my))).toBe(true);
      expect(mineToAllocate(lease(B.BACKUP), ctx('primary', my))).toBe(false);
      expect(mineToAllocate(lease(B.BACKUP), ctx('secondary', my))).toBe(true);
      expect(mineToAllocate(lease(B.FREE), ctx('secondary', my, { stos: STOS }))).toBe(false);
      expect(mineToAllocate(undefined, ctx('secondary', my, { stos: STOS }))).toBe(false);
      for (const s of [B.ACTIVE, B.ABANDONED, B.EXPIRED, B.RELEASED, B.RESET])
        for (const role of ['primary', 'secondary'] as const)
          expect(mineToAllocate(lease(s, { tsfp: 0 }), ctx(role, my, { stos: STOS }))).toBe(false);
    },
  );

  it('states that do not serve allocate nothing; nor does a partner in partner-down or a conflict state', () => {
    for (const my of [
      S.STARTUP,
      S.RECOVER,
      S.RECOVER_WAIT,
      S.RECOVER_DONE,
      S.POTENTIAL_CONFLICT,
      S.CONFLICT_DONE,
      S.RESOLUTION_INTERRUPTED,
      S.SHUTDOWN,
      S.PAUSED,
      S.UNKNOWN,
    ])
      expect(mineToAllocate(lease(B.FREE), ctx('primary', my))).toBe(false);
    for (const partner of [S.PARTNER_DOWN, S.POTENTIAL_CONFLICT, S.CONFLICT_DONE, S.RESOLUTION_INTERRUPTED])
      expect(mineToAllocate(lease(B.FREE), ctx('primary', S.NORMAL, { partnerState: partner }))).toBe(false);
    expect(mineToAllocate(lease(B.FREE), ctx('primary', S.NORMAL, { partnerState: S.NORMAL }))).toBe(true);
  });

  describe("partner-down: the partner's FREE/BACKUP after MCLT past the later of STOS and tsfp", () => {
    const at = (role: Role, state: B, tsfp: number, now: number, stos: number | null = STOS) =>
      mineToAllocate(lease(state, { tsfp }), {
        ...ctx(role, S.PARTNER_DOWN, stos === null ? {} : { stos }),
        nowSec: now,
      });

    it('tsfp before STOS: STOS + MCLT (1 s before, exactly at it: not yet; 1 s after: yes)', () => {
      for (const [role, state] of [
        ['secondary', B.FREE],
        ['primary', B.BACKUP],
      ] as const) {
        expect(at(role, state, STOS - 1, STOS + MCLT - 1)).toBe(false);
        expect(at(role, state, STOS - 1, STOS + MCLT)).toBe(false);
        expect(at(role, state, STOS - 1, STOS + MCLT + 1)).toBe(true);
      }
      expect(
        mineToAllocate(undefined, {
          ...ctx('secondary', S.PARTNER_DOWN, { stos: STOS }),
          nowSec: STOS + MCLT + 1,
        }),
      ).toBe(true);
      expect(
        mineToAllocate(undefined, {
          ...ctx('secondary', S.PARTNER_DOWN, { stos: STOS }),
          nowSec: STOS + MCLT,
        }),
      ).toBe(false);
    });

    it('tsfp after STOS: tsfp + MCLT', () => {
      const tsfp = STOS + 600;
      expect(at('secondary', B.FREE, tsfp, tsfp + MCLT - 1)).toBe(false);
      expect(at('secondary', B.FREE, tsfp, tsfp + MCLT)).toBe(false);
      expect(at('secondary', B.FREE, tsfp, tsfp + MCLT + 1)).toBe(true);
      expect(at('primary', B.BACKUP, tsfp, tsfp + MCLT + 1)).toBe(true);
    });

    it("our own FREE/BACKUP at once; without our STOS never the partner's", () => {
      expect(at('primary', B.FREE, NOW + 9999, NOW)).toBe(true);
      expect(at('secondary', B.BACKUP, NOW + 9999, NOW)).toBe(true);
      expect(at('secondary', B.FREE, 0, NOW + 10 * MCLT, null)).toBe(false);
    });

    it("EXPIRED/RELEASED/RESET once tsfp and STOS + MCLT are both past, whoever's; ACTIVE and ABANDONED never", () => {
      for (const role of ['primary', 'secondary'] as const)
        for (const s of [B.EXPIRED, B.RELEASED, B.RESET]) {
          expect(at(role, s, STOS - 1, STOS + MCLT)).toBe(false);
          expect(at(role, s, STOS - 1, STOS + MCLT + 1)).toBe(true);
          expect(at(role, s, STOS + MCLT + 50, STOS + MCLT + 50)).toBe(false);
          expect(at(role, s, STOS + MCLT + 50, STOS + MCLT + 51)).toBe(true);
          expect(at(role, B.ACTIVE, 0, NOW + 99 * MCLT)).toBe(false);
          expect(at(role, B.ABANDONED, 0, NOW + 99 * MCLT)).toBe(false);
        }
    });
  });
});

describe('needsUpdate: ISC dhcp_failover_generate_update_queue (not everything)', () => {
  it('tstp not acknowledged, or a transitional state, or an ACTIVE lease past its end', () => {
    expect(needsUpdate(lease(B.ACTIVE, { tstp: NOW + 10, atsfp: NOW + 9, ends: NOW + 5 }), NOW)).toBe(true);
    expect(needsUpdate(lease(B.ACTIVE, { tstp: NOW + 10, atsfp: NOW + 10, ends: NOW + 5 }), NOW)).toBe(false);
    expect(needsUpdate(lease(B.ACTIVE, { tstp: NOW, atsfp: NOW, ends: NOW }), NOW)).toBe(true);
    expect(needsUpdate(lease(B.ACTIVE, { tstp: NOW, atsfp: NOW, ends: 0xffffffff }), NOW)).toBe(false);
    for (const s of [B.EXPIRED, B.RELEASED, B.RESET])
      expect(needsUpdate(lease(s, { tstp: 0, atsfp: 0 }), NOW)).toBe(true);
    for (const s of [B.FREE, B.BACKUP, B.ABANDONED])
      expect(needsUpdate(lease(s, { tstp: 5, atsfp: 5 }), NOW)).toBe(false);
    expect(needsUpdate(lease(B.BACKUP, { tstp: 6, atsfp: 5 }), NOW)).toBe(true);
  });
});

/*
 * server-lan.pcap: every BNDUPD an ISC server received, through applyUpdate in the context that server had, and the
 * verdict compared with the BNDACK it sent. The context is rebuilt from the capture alone:
 * - the receiver's record of the address: what it last sent for it itself, or the partner's update it accepted;
 * - its update in flight: a BNDUPD of its own for that address whose BNDACK had not appeared in the capture before
 *   the receiver's BNDACK (ISC answered the partner's updates after sending its own batch: frame 14);
 * - its state: the last STATE it sent (startup while that STATE carried the STARTUP flag);
 * - now: the BNDACK's header time. Both servers serve 10.1.0.50-99 only, so every address is in the relationship.
 * ISC's own queue timing is not in the capture, so this is what the capture can show: all 126 verdicts agree, the
 * 50 rejects being the primary keeping its own FREE updates during the first recovery (reject 16).
 */
describe('applyUpdate against ISC 4.4.3-P1 (server-lan.pcap)', () => {
  const A = '10.0.0.2';
  const ROLE: Record<string, Role> = { '10.0.0.2': 'primary', '10.0.0.3': 'secondary' };
  const msgs = capturedMessages().map((c) => {
    const msg = decodeMessage(c.bytes);
    if (isFailoverWireError(msg)) throw new Error(msg.reason);
    const [src, dst] = c.direction.split('>').map((e) => e.split(':')[0]!) as [string, string];
    return { frame: c.frame, from: src, to: dst, msg };
  });

  const fromBndUpd = (m: BndUpdMessage): Lease => {
    const l: Lease = {
      address: m.assignedIp!,
      state: m.bindingStatus as B,
      starts: m.stos ?? 0,
      ends: m.leaseExpiry ?? 0,
      tstp: m.potentialExpiry ?? 0,
      tsfp: 0,
      atsfp: 0,
      cltt: m.cltt ?? 0,
      hwType: m.chaddr?.[0] ?? 1,
      failoverPeer: 'dhcp-failover',
    };
    if (m.chaddr) l.hwAddr = m.chaddr.subarray(1);
    if (m.clientId) l.clientId = m.clientId;
    return l;
  };

  function replay() {
    const records = new Map<string, Map<number, Lease>>([
      [A, new Map()],
      ['10.0.0.3', new Map()],
    ]);
    const flying = new Map<string, Map<number, { xid: number; lease: Lease }>>([
      [A, new Map()],
      ['10.0.0.3', new Map()],
    ]);
    const inbox = new Map<string, BndUpdMessage>();
    const state = new Map<string, S>([
      [A, S.UNKNOWN],
      ['10.0.0.3', S.UNKNOWN],
    ]);
    const results: Array<{
      frame: number;
      by: string;
      ip: string;
      duel: boolean;
      isc: number | 'accept';
      ours: number | 'accept';
    }> = [];
    for (const { frame, from, to, msg } of msgs) {
      if (msg.type === MessageType.STATE)
        state.set(from, msg.serverFlags! & ServerFlags.STARTUP ? S.STARTUP : (msg.serverState as S));
      if (msg.type === MessageType.BNDUPD) {
        const own = fromBndUpd(msg);
        records.get(from)!.set(own.address, own);
        flying.get(from)!.set(own.address, { xid: msg.xid, lease: own });
        inbox.set(`${to}|${msg.xid}`, msg);
      }
      if (msg.type === MessageType.BNDACK) {
        // `from` answers the partner's update; then the partner's own update of that address is acknowledged.
        const u = inbox.get(`${from}|${msg.xid}`)!;
        const ip = u.assignedIp!;
        const c: BindingContext = { ...ctx(ROLE[from]!, state.get(from)!), nowSec: msg.time };
        const v = applyUpdate(u, records.get(from)!.get(ip), true, flying.get(from)!.get(ip)?.lease, c);
        results.push({
          frame,
          by: from,
          ip: formatIp4(ip),
          duel: flying.get(from)!.has(ip),
          isc: msg.rejectReason ?? 'accept',
          ours: reasonOf(v),
        });
        if (v.accept) {
          records.get(from)!.set(ip, v.lease);
          if (v.supersedesPending) flying.get(from)!.delete(ip);
        }
        const f = flying.get(to)!.get(msg.assignedIp!);
        if (f?.xid === msg.xid) flying.get(to)!.delete(msg.assignedIp!);
      }
    }
    return { results, records };
  }

  it("agrees with every one of ISC's 126 BNDACKs (76 accepted, 50 reject 16 by the primary)", () => {
    const { results } = replay();
    expect(results).toHaveLength(126);
    expect(results.filter((r) => r.isc !== r.ours)).toEqual([]);
    expect(results.filter((r) => r.isc === RejectReason.LESS_CRIT_BIND_INFO).every((r) => r.by === A)).toBe(
      true,
    );
    expect(results.filter((r) => r.isc !== 'accept')).toHaveLength(50);
    // Every reject is a duel, and only the primary's duels are reconstructable: the secondary's own updates were
    // refused (frame 14) before it acknowledged the primary's (frame 15), though ISC processed the primary's
    // BNDUPDs, earlier in frame 14, with them still in flight. Either way the secondary accepts.
    expect(results.filter((r) => r.duel).map((r) => [r.by, r.isc])).toEqual(Array(50).fill([A, 16]));
  });

  it("leaves the secondary with ISC's pool: 25 BACKUP (10.1.0.50-74), 10.1.0.75 ACTIVE, 24 FREE", () => {
    const sec = [...replay().records.get('10.0.0.3')!.values()];
    expect(sec.filter((l) => l.state === B.BACKUP).map((l) => formatIp4(l.address))).toEqual(
      Array.from({ length: 25 }, (_, i) => `10.1.0.${50 + i}`),
    );
    expect(sec.filter((l) => l.state === B.ACTIVE).map((l) => formatIp4(l.address))).toEqual(['10.1.0.75']);
    expect(sec.filter((l) => l.state === B.FREE)).toHaveLength(24);
    const active = sec.find((l) => l.state === B.ACTIVE)!;
    expect(active).toMatchObject({
      starts: 1795303477,
      ends: 1795304377,
      tsfp: 1795304827,
      atsfp: 1795304827,
      cltt: 1795303477,
    });
  });
});

describe('ackProvesNothingNew: a BNDACK for a record the partner had acknowledged already', () => {
  it('tsfp = atsfp = tstp in a settled state: nothing new, and applyAck on that record changes nothing', () => {
    const sent = lease(B.ACTIVE, { tstp: 1000, tsfp: 1000, atsfp: 1000 });
    expect(ackProvesNothingNew(sent)).toBe(true);
    expect(applyAck({ ...sent }, sent, ctx('primary'))).toBeUndefined();
  });

  it('a time not yet acknowledged, or a state that moves on when acknowledged: to be recorded', () => {
    expect(ackProvesNothingNew(lease(B.ACTIVE, { tstp: 1000, tsfp: 900, atsfp: 900 }))).toBe(false);
    expect(ackProvesNothingNew(lease(B.ACTIVE, { tstp: 1000, tsfp: 1000, atsfp: 900 }))).toBe(false);
    for (const st of [B.EXPIRED, B.RELEASED, B.RESET])
      expect(ackProvesNothingNew(lease(st, { tstp: 0, tsfp: 0, atsfp: 0 }))).toBe(false);
  });
});
