import { formatIp4 } from '@hadhcp/common';
import {
  BINDING_STATE_NAMES,
  BindingState,
  blankLease,
  INFINITE,
  isExpired,
  type Lease,
} from '@hadhcp/leases';
import { IpFlags, MessageType, RejectReason, ServerState } from '../wire/constants.js';
import type { BndUpdMessage } from '../wire/types.js';
import { bytesEqual, chaddrOf } from '../wire/values.js';
import type { Role } from './machine-types.js';
import { serviceOf } from './serve.js';

/*
 * The lease-sync rules of one failover relationship, as ISC dhcpd 4.4 applies them (server/failover.c:
 * dhcp_failover_send_bind_update, dhcp_failover_process_bind_update with failover_lease_is_better and the two
 * *_binding_state_transition_check tables, dhcp_failover_process_bind_ack, dhcp_failover_generate_update_queue,
 * lease_mine_to_reallocate). Pure: the caller passes our record, what is in flight, our state and the time.
 *
 * Our Lease has no reserved/BOOTP flags (hadhcp keeps fixed addresses out of pools and has no dynamic BOOTP in
 * failover pools), so we never send IP flags and treat every pool lease as neither reserved nor BOOTP, which is
 * what ISC's checks see for such leases.
 */

export interface BindingContext {
  role: Role;
  /** Our failover state now. */
  myState: ServerState;
  /** Seconds since the epoch. */
  nowSec: number;
  /** Seconds. */
  mclt: number;
  /** The relationship name (stored as lease.failoverPeer). */
  peerName: string;
  /**
   * Seconds since the epoch: when we entered `myState` (ISC's me.stos). Needed by the partner-down rules of
   * mineToAllocate; without it the partner's leases are never taken (the safe answer).
   */
  stos?: number;
  /** The partner's state as last heard: a partner in partner-down or a conflict state stops us serving (serve.ts). */
  partnerState?: number;
}

/** ISC's "65": clock skew between the peers (60 s, the CONNECT check) plus a fudge, before it agrees an expiry. */
export const EXPIRY_SKEW_SEC = 65;

const stateName = (s: number): string => BINDING_STATE_NAMES[s as BindingState] ?? 'unknown';

/**
 * The BNDUPD for our record of `lease` (ISC dhcp_failover_send_bind_update), with the header's time and xid:
 * binding status, client id if any, chaddr (htype byte + address) if known, lease expiry = ends, potential
 * expiry = tstp, STOS = starts (the lease's, not a state time), CLTT if non-zero. No IP flags: see above.
 */
export function bndUpdFor(lease: Lease, time: number, xid: number): BndUpdMessage {
  const msg: BndUpdMessage = {
    type: MessageType.BNDUPD,
    time,
    xid,
    assignedIp: lease.address,
    bindingStatus: lease.state,
  };
  if (lease.clientId !== undefined && lease.clientId.length > 0) msg.clientId = lease.clientId;
  if (lease.hwAddr !== undefined && lease.hwAddr.length > 0)
    msg.chaddr = chaddrOf(lease.hwType, lease.hwAddr);
  msg.leaseExpiry = lease.ends;
  msg.potentialExpiry = lease.tstp;
  msg.stos = lease.starts;
  if (lease.cltt !== 0) msg.cltt = lease.cltt;
  return msg;
}

export type UpdateVerdict =
  | {
      accept: true;
      lease: Lease;
      /**
       * Our own update of this address was in flight and the partner's won (ISC: taken off the ack queue, so the
       * BNDACK that may still come for it is ignored). Set only when `pendingAck` was given.
       */
      supersedesPending?: boolean;
    }
  | {
      accept: false;
      reason: RejectReason;
      message: string;
      /**
       * Our record stands and the partner's is stale: send ours again (the partner drops a rejected update and
       * keeps its own record, which would otherwise disagree with ours until the binding changes).
       */
      tellOurs?: true;
    };

/** A pristine address of the pool: FREE, no times, no client. */
export function freshLease(address: number, peerName?: string): Lease {
  const l = blankLease(address);
  if (peerName !== undefined) l.failoverPeer = peerName;
  return l;
}

function reject(reason: RejectReason, message: string): UpdateVerdict {
  return { accept: false, reason, message };
}

/** A reject 16 of a stale update about a binding we hold ACTIVE: ours goes to the partner again. */
function staleUpdate(message: string): UpdateVerdict {
  return { accept: false, reason: RejectReason.LESS_CRIT_BIND_INFO, message, tellOurs: true };
}

/**
 * ISC's failover_lease_is_better: with our own update of the address still unacknowledged, is ours the one to
 * keep? ACTIVE against ACTIVE: the later CLTT wins, a tie goes to the primary. Our ACTIVE against their EXPIRED:
 * theirs. Otherwise their ACTIVE wins, and any other pair goes to the primary.
 */
export function oursIsBetter(ours: Lease, theirStatus: number, theirCltt: number, role: Role): boolean {
  if (ours.state === BindingState.ACTIVE) {
    if (theirStatus === BindingState.ACTIVE) {
      if (theirCltt !== ours.cltt) return theirCltt < ours.cltt;
      return role === 'primary';
    }
    if (theirStatus === BindingState.EXPIRED) return false;
  }
  if (theirStatus === BindingState.ACTIVE) return false;
  return role === 'primary';
}

/**
 * ISC's normal_binding_state_transition_check: in normal, may the partner move our record from `from` to `to`?
 * `potentialExpiry` is the BNDUPD's (0 if absent), `ends` our record's. Returns false where ISC keeps our state
 * (then answers reject 2).
 */
export function normalTransitionAllowed(
  from: BindingState,
  to: BindingState,
  role: Role,
  potentialExpiry: number,
  ends: number,
  nowSec: number,
): boolean {
  if (from === to) return true;
  const peerAgreesExpired = potentialExpiry <= nowSec;
  switch (from) {
    case BindingState.FREE:
    case BindingState.ABANDONED:
      // A free lease is the primary's; ISC lets the secondary change it anyway ("the error has already been made").
      return true;
    case BindingState.ACTIVE:
      // We are the primary: the secondary may only report a client's DHCPRELEASE it received.
      if (role === 'primary') return to === BindingState.RELEASED;
      if (to === BindingState.FREE || to === BindingState.BACKUP) return peerAgreesExpired;
      if (to === BindingState.EXPIRED) return ends - EXPIRY_SKEW_SEC <= nowSec;
      return true;
    case BindingState.EXPIRED:
    case BindingState.RESET:
      if (to === BindingState.FREE || to === BindingState.BACKUP) return peerAgreesExpired;
      return true;
    case BindingState.RELEASED:
    case BindingState.BACKUP:
      return true;
  }
  return false;
}

/**
 * ISC's conflict_binding_state_transition_check, used outside normal: anything goes unless we hold the lease
 * ACTIVE; then FREE/BACKUP are refused, EXPIRED only once our end (less 65 s) has passed, RELEASED/RESET/ABANDONED
 * win (the partner saw something we did not).
 */
export function conflictTransitionAllowed(
  from: BindingState,
  to: BindingState,
  ends: number,
  nowSec: number,
): boolean {
  if (from === to || from !== BindingState.ACTIVE) return true;
  if (to === BindingState.FREE || to === BindingState.BACKUP) return false;
  if (to === BindingState.EXPIRED) return ends - EXPIRY_SKEW_SEC <= nowSec;
  return true;
}

/**
 * ISC's dhcp_failover_process_bind_update: the partner's BNDUPD against our record of the address.
 * `current` undefined = a pristine FREE address of the pool; `inRelationship` false = not in a pool of this
 * relationship (reject 1); `pendingAck` = our own BNDUPD of this address sent and not yet acknowledged.
 *
 * Checks in ISC's order: IP and status present [3]; address ours [1]; dueling updates [16]; chaddr (ABANDONED
 * with one [6]; ACTIVE/EXPIRED/RELEASED without [3]); client id with ABANDONED [6]; IP flags on a lease we own
 * [19 reserve, 6 BOOTP]; the state transition [2]. A binding status outside 1..7 is refused [2] where ISC would
 * log_fatal ("Impossible case") and exit.
 *
 * The record to store: the partner's status (EXPIRED, RELEASED and RESET become FREE on both sides, as ISC's
 * next_binding_state), chaddr and client id (a missing client id keeps ours only for FREE/BACKUP/RESET; ABANDONED
 * clears the hardware address), starts = STOS, ends = lease expiry, tsfp = atsfp = potential expiry (each only
 * when present), CLTT when present (ISC leaves its own: we keep the partner's, the better record of the client),
 * our tstp, failoverPeer = the relationship. The hostname is dropped when an ACTIVE binding changes client (ISC
 * drops the binding scope then). ISC's primary then moves a FREE result to BACKUP when the client hashes to the
 * secondary (balance.ts: affinityMove). The record shares the message's client id and chaddr bytes (decodeMessage
 * gives each message its own): neither is changed afterwards.
 */
export function applyUpdate(
  msg: BndUpdMessage,
  current: Lease | undefined,
  inRelationship: boolean,
  pendingAck: Lease | undefined,
  ctx: BindingContext,
): UpdateVerdict {
  if (msg.assignedIp === undefined || msg.bindingStatus === undefined)
    return reject(RejectReason.MISSING_BINDINFO, 'binding update lacks required options');
  if (!inRelationship)
    return reject(
      RejectReason.ILLEGAL_IP_ADDR,
      'IP address is covered by a different failover relationship state',
    );
  const status = msg.bindingStatus;
  const ours = current ?? freshLease(msg.assignedIp, ctx.peerName);

  let supersedesPending = false;
  if (pendingAck !== undefined) {
    if (oursIsBetter(pendingAck, status, msg.cltt ?? 0, ctx.role))
      return reject(
        RejectReason.LESS_CRIT_BIND_INFO,
        'incoming update is less critical than outgoing update',
      );
    supersedesPending = true;
  }
  // Beyond ISC: an EXPIRED about a binding that ended before ours does is stale: we renewed the client since (the
  // partner's update crossed ours, or it was restarted with an older record). ISC takes it when its 65 s skew
  // fudge has passed, which a lease shorter than that always has; both sides then swap states (the partner
  // keeps our ACTIVE, we keep its EXPIRED -> FREE), and a held address would become free to hand out.
  if (
    status === BindingState.EXPIRED &&
    ours.state === BindingState.ACTIVE &&
    msg.leaseExpiry !== undefined &&
    msg.leaseExpiry < ours.ends
  )
    return staleUpdate(
      `EXPIRED for a binding that ended at ${msg.leaseExpiry}, ours runs to ${ours.ends}: the client renewed since`,
    );
  // Beyond ISC: nor an EXPIRED whose own end lies after the time the partner sent it (both read from the
  // partner's clock, so no skew enters). ISC 4.4.3 did that in the daemon-vs-ISC lab: it took our renewal and in
  // the same second sent EXPIRED, then BACKUP, with our renewal's end in them (its expiry of the record it had
  // before, it seems). ISC's check takes it (only 65 s of skew fudge) and the address would be free while held.
  if (
    status === BindingState.EXPIRED &&
    ours.state === BindingState.ACTIVE &&
    msg.leaseExpiry !== undefined &&
    msg.leaseExpiry !== INFINITE &&
    msg.leaseExpiry > msg.time
  )
    return staleUpdate(
      `EXPIRED sent at ${msg.time} for a binding that ends at ${msg.leaseExpiry}: it has not ended`,
    );

  // The new record's fields are worked out first and the record built once at the end, in one shape: a copy of
  // ours changed field by field (and `delete`d from) cost a resync ~5 us per update in slow property stores. So a
  // field added to Lease is not carried over by itself: say below what an update does to it (as for billing).
  let hwType = ours.hwType;
  let hwAddr = ours.hwAddr;
  let chaddrChanged = false;
  if (msg.chaddr !== undefined) {
    if (status === BindingState.ABANDONED)
      return reject(RejectReason.MISC_REJECT, 'BNDUPD to ABANDONED with a CHADDR');
    chaddrChanged = !chaddrIs(msg.chaddr, ours.hwType, ours.hwAddr);
    if (msg.chaddr.length === 0) hwAddr = undefined;
    else {
      // chaddr = htype byte + address (ISC). A view, not a copy: the decoder's option values are already the
      // message's own (codec.ts), and a second copy of each was ~10 % of what a resync allocates per update.
      hwType = msg.chaddr[0]!;
      hwAddr = msg.chaddr.subarray(1);
    }
  } else if (
    status === BindingState.ACTIVE ||
    status === BindingState.EXPIRED ||
    status === BindingState.RELEASED
  ) {
    return reject(RejectReason.MISSING_BINDINFO, 'BNDUPD without CHADDR');
  } else if (status === BindingState.ABANDONED) {
    chaddrChanged = true;
    hwAddr = undefined;
  }

  let clientId = ours.clientId;
  let identChanged = false;
  if (msg.clientId !== undefined) {
    if (status === BindingState.ABANDONED)
      return reject(RejectReason.MISC_REJECT, 'BNDUPD to ABANDONED with client-id');
    identChanged = !bytesEqual(msg.clientId, ours.clientId);
    clientId = msg.clientId;
  } else if (
    ours.clientId !== undefined &&
    status !== BindingState.RESET &&
    status !== BindingState.FREE &&
    status !== BindingState.BACKUP
  ) {
    // No option means the client sent no client id: ISC forgets the one it had.
    identChanged = true;
    clientId = undefined;
  }
  const hostname =
    status === BindingState.ACTIVE && (chaddrChanged || identChanged) ? undefined : ours.hostname;

  // IP flags: ours are never reserved/BOOTP, so a flag is refused on a lease we own (ISC's test), else forgotten.
  const weOwnIt =
    (ctx.role === 'primary' && ours.state === BindingState.FREE) ||
    (ctx.role === 'secondary' && ours.state === BindingState.BACKUP);
  const flags = msg.ipFlags ?? 0;
  if (flags & IpFlags.RESERVE && weOwnIt)
    return reject(RejectReason.IP_NOT_RESERVED, 'Address is not reserved.');
  if (flags & IpFlags.BOOTP && weOwnIt)
    return reject(RejectReason.MISC_REJECT, 'Address is not allocated to BOOTP.');

  const potentialExpiry = msg.potentialExpiry ?? 0;
  const legal =
    status >= BindingState.FREE &&
    status <= BindingState.BACKUP &&
    Number.isInteger(status) &&
    (ctx.myState === ServerState.NORMAL
      ? normalTransitionAllowed(ours.state, status, ctx.role, potentialExpiry, ours.ends, ctx.nowSec)
      : conflictTransitionAllowed(ours.state, status, ours.ends, ctx.nowSec));
  if (!legal)
    return reject(
      RejectReason.FATAL_CONFLICT,
      `${formatIp4(msg.assignedIp)}: invalid state transition: ${stateName(ours.state)} to ${stateName(status)}`,
    );
  // Beyond ISC: a FREE or BACKUP for a binding we hold ACTIVE and unexpired is stale, unless the partner has
  // acknowledged our latest version of it (nothing of ours queued or in flight) and its record has no end (0:
  // a binding it deleted, e.g. lease4-del). ISC's secondary takes it in normal when the partner says the lease
  // expired (potential expiry past), and the address becomes free to hand out while its client still holds it.
  // The ISC lab saw both kinds: ISC, restarted from its file, rewound a lease we had renewed while it was down;
  // and ISC acknowledged our renewal, then moved the lease to BACKUP with our end still in it (its own pool
  // timer from before the renewal, it seems). Our ACTIVE goes to the partner again (tellOurs).
  if (
    (status === BindingState.FREE || status === BindingState.BACKUP) &&
    ours.state === BindingState.ACTIVE &&
    !isExpired(ours, ctx.nowSec) &&
    (pendingAck !== undefined || ours.tstp > ours.atsfp || (msg.leaseExpiry ?? 0) !== 0)
  )
    return staleUpdate(
      `${status === BindingState.FREE ? 'FREE' : 'BACKUP'} for a binding we hold ACTIVE to ${ours.ends}: the client still holds it`,
    );

  const next: Lease = {
    address: msg.assignedIp,
    state:
      status === BindingState.EXPIRED || status === BindingState.RELEASED || status === BindingState.RESET
        ? BindingState.FREE
        : (status as BindingState),
    starts: msg.stos ?? ours.starts,
    ends: msg.leaseExpiry ?? ours.ends,
    tstp: ours.tstp,
    tsfp: msg.potentialExpiry ?? ours.tsfp,
    atsfp: msg.potentialExpiry ?? ours.atsfp,
    cltt: msg.cltt ?? ours.cltt,
    hwType,
  };
  if (hwAddr !== undefined) next.hwAddr = hwAddr;
  if (clientId !== undefined) next.clientId = clientId;
  if (hostname !== undefined) next.hostname = hostname;
  next.failoverPeer = ctx.peerName;
  // ISC applies the update to a copy of its own lease (lease_copy), so a lease-limit billing (which BNDUPD does
  // not carry) stays with a lease that stays ACTIVE: the DHCP core still counts it, and a restart bills it again.
  if (ours.billing !== undefined && next.state === BindingState.ACTIVE) next.billing = ours.billing;
  return supersedesPending ? { accept: true, lease: next, supersedesPending } : { accept: true, lease: next };
}

/** Is `chaddr` (htype byte + address, as on the wire) our `hwType` + `hwAddr`? No hardware address = empty. */
function chaddrIs(chaddr: Uint8Array, hwType: number, hwAddr: Uint8Array | undefined): boolean {
  if (hwAddr === undefined) return chaddr.length === 0;
  if (chaddr.length !== 1 + hwAddr.length || chaddr[0] !== (hwType & 0xff)) return false;
  for (let i = 0; i < hwAddr.length; i++) if (chaddr[i + 1] !== hwAddr[i]) return false;
  return true;
}

function sameBinding(a: Lease, b: Lease): boolean {
  return (
    a.state === b.state &&
    a.starts === b.starts &&
    a.ends === b.ends &&
    a.tstp === b.tstp &&
    a.cltt === b.cltt &&
    a.hwType === b.hwType &&
    bytesEqual(a.hwAddr, b.hwAddr) &&
    bytesEqual(a.clientId, b.clientId)
  );
}

/**
 * ISC's dhcp_failover_process_bind_ack (a BNDACK without reject for our BNDUPD of `sent`): the partner now knows
 * `sent.tstp`, so tsfp = atsfp = sent.tstp; an EXPIRED, RELEASED or RESET record moves on to FREE (on both sides:
 * ISC's BACKUP here is only for a secondary's reserved lease, which we do not have). ISC's primary then moves a
 * FREE lease whose client hashes to the secondary to BACKUP (balance.ts: affinityMove).
 *
 * If `current` changed since `sent` (a newer change in flight), ISC ignores the ack (the lease left its ack
 * queue); we still take what it proves: the partner holds at least sent.tstp, so tsfp/atsfp are raised to it
 * when the binding state is the same, and nothing else changes. Undefined when nothing changes.
 */
export function applyAck(current: Lease, sent: Lease, ctx: BindingContext): Lease | undefined {
  void ctx;
  const acked = sent.tstp;
  if (!sameBinding(current, sent)) {
    if (current.state !== sent.state) return undefined;
    const tsfp = Math.max(current.tsfp, acked);
    const atsfp = Math.max(current.atsfp, acked);
    if (tsfp === current.tsfp && atsfp === current.atsfp) return undefined;
    return { ...current, tsfp, atsfp };
  }
  const transitional =
    sent.state === BindingState.EXPIRED ||
    sent.state === BindingState.RELEASED ||
    sent.state === BindingState.RESET;
  const next: Lease = { ...current, tsfp: acked, atsfp: acked };
  if (transitional) next.state = BindingState.FREE;
  if (next.state === current.state && next.tsfp === current.tsfp && next.atsfp === current.atsfp)
    return undefined;
  return next;
}

/**
 * A BNDACK for `sent` that proves nothing not already recorded: it went out with tsfp = atsfp = its tstp (the
 * partner had acknowledged that very time before: a resync or a requeue resending a settled record) and in a
 * state that does not move on when acknowledged. Its record need not be read back (applyAck would change nothing
 * in it, or only undo what a later change of the record made).
 */
export function ackProvesNothingNew(sent: Lease): boolean {
  return (
    sent.tsfp === sent.tstp &&
    sent.atsfp === sent.tstp &&
    sent.state !== BindingState.EXPIRED &&
    sent.state !== BindingState.RELEASED &&
    sent.state !== BindingState.RESET
  );
}

/**
 * ISC's lease_mine_to_reallocate, with what dhcp.c's allocation asks of it: may WE make a new binding on this
 * address now? `lease` undefined = a pristine address (FREE, tsfp 0).
 * - Never in a state that does not serve (serve.ts; with ctx.partnerState, also not while the partner is in
 *   partner-down or a conflict state).
 * - FREE: the primary's. BACKUP: the secondary's. In partner-down also the other's, once MCLT has passed since
 *   the later of our STOS and the lease's tsfp (strictly: at STOS + MCLT exactly, not yet; ISC compares with <).
 * - EXPIRED/RELEASED/RESET: only in partner-down, once both tsfp and STOS + MCLT are past (ISC sets tsfp to
 *   STOS + MCLT for these on entering partner-down and then asks tsfp < now; requiring both is the same rule
 *   without depending on that rewrite). ISC's "rewind" to a never-reported FREE/BACKUP is not taken: our Lease
 *   does not record the last acknowledged state.
 * - ACTIVE, ABANDONED: no (ISC allows ABANDONED as a last resort; re-use of a client's own lease is the DHCP
 *   core's decision, not this one).
 */
export function mineToAllocate(lease: Lease | undefined, ctx: BindingContext): boolean {
  const scope = serviceOf(ctx.myState, ctx.partnerState ?? ServerState.UNKNOWN).scope;
  if (scope === 'none') return false;
  const state = lease?.state ?? BindingState.FREE;
  const tsfp = lease?.tsfp ?? 0;
  const partnerDown = ctx.myState === ServerState.PARTNER_DOWN;
  const stos = ctx.stos;
  const peerLeaseReleased = (): boolean =>
    partnerDown &&
    stos !== undefined &&
    (tsfp < stos ? stos + ctx.mclt < ctx.nowSec : tsfp + ctx.mclt < ctx.nowSec);
  switch (state) {
    case BindingState.FREE:
      return ctx.role === 'primary' || peerLeaseReleased();
    case BindingState.BACKUP:
      return ctx.role === 'secondary' || peerLeaseReleased();
    case BindingState.EXPIRED:
    case BindingState.RELEASED:
    case BindingState.RESET:
      return partnerDown && stos !== undefined && tsfp < ctx.nowSec && stos + ctx.mclt < ctx.nowSec;
    default:
      return false;
  }
}

/**
 * ISC's dhcp_failover_generate_update_queue without "everything" (entering normal, answering UPDREQ): must our
 * record still go to the partner? When the partner has not acknowledged what we last told it (tstp > atsfp), or
 * the lease sits in a transitional state (EXPIRED, RELEASED, RESET: ISC's expired queue, which only the
 * partner's ack moves on to FREE). An ACTIVE lease past its end counts as expired (ISC's pool timer would have
 * made it EXPIRED and queued it). UPDREQALL sends every record, whatever this says.
 */
export function needsUpdate(lease: Lease, nowSec: number): boolean {
  if (lease.tstp > lease.atsfp) return true;
  if (
    lease.state === BindingState.EXPIRED ||
    lease.state === BindingState.RELEASED ||
    lease.state === BindingState.RESET
  )
    return true;
  return isExpired(lease, nowSec);
}
