import { ServerState as S } from '../wire/constants.js';
import type { Role } from './machine-types.js';
import { iscStateName } from './serve.js';

/*
 * ISC dhcpd 4.4's transition tables, as pure functions of the states involved (server/failover.c 4.4.1:
 * dhcp_failover_peer_state_changed, dhcp_failover_state_transition "disconnect", dhcp_failover_process_update_done).
 * machine.ts applies what they return. Where FACTS.md 4.3 summarises these, the code wins; the differences are
 * noted at each rule.
 */

/** What a STATE from the partner makes us do. */
export interface PeerReaction {
  /** The state to move to (absent: stay). */
  to?: S;
  /** Sent before the move, or alone when there is no move. */
  send?: 'updreqall' | 'updreq' | 'queued-updates' | 'pool-check';
  log?: { level: 'info' | 'error'; message: string };
}

export interface PeerContext {
  name: string;
  /** Our real state is startup and `my` is the saved one: ISC moves from startup and sends no UPDREQALL. */
  inStartup: boolean;
  /** The partner's state before this STATE. */
  previous: number;
  /** This STATE carries the STARTUP flag. */
  partnerStartup: boolean;
}

/**
 * Whether a STATE repeating the partner's last known state is looked at at all (ISC's early return). In these
 * states ISC always processes it ("if we get a peer state change when we're disconnected, we always process it"):
 * this is what makes a communications-interrupted server go normal when a restarted peer first says "normal,
 * startup" and then "normal" (server-lan.pcap, both reconnections), and what makes a server in recover send a
 * second UPDREQALL when the peer's "recover" loses its startup flag (the capture's first session).
 */
export function processesRepeatedState(my: S): boolean {
  return (
    my === S.PARTNER_DOWN ||
    my === S.COMMUNICATIONS_INTERRUPTED ||
    my === S.RESOLUTION_INTERRUPTED ||
    my === S.RECOVER ||
    my === S.CONFLICT_DONE
  );
}

/** ISC's switch on (my state, or the saved one while in startup) x (the partner's new state). */
export function peerStateReaction(my: S, peer: S, c: PeerContext): PeerReaction {
  switch (my) {
    case S.NORMAL:
      switch (peer) {
        case S.NORMAL:
          return { send: 'pool-check' };
        case S.PARTNER_DOWN:
          // The partner ran alone while we were away: our leases may be stale.
          return { to: c.inStartup ? S.RECOVER : S.POTENTIAL_CONFLICT };
        case S.POTENTIAL_CONFLICT:
        case S.RESOLUTION_INTERRUPTED:
        case S.CONFLICT_DONE:
          return {
            to: S.SHUTDOWN,
            log: {
              level: 'error',
              message: `Peer ${c.name}: Invalid state transition ${iscStateName(c.previous)} to ${iscStateName(peer)}.`,
            },
          };
        case S.RECOVER:
        case S.SHUTDOWN:
          return { to: S.PARTNER_DOWN };
        case S.PAUSED:
          return { to: S.COMMUNICATIONS_INTERRUPTED };
        default:
          return {};
      }
    case S.RECOVER:
      switch (peer) {
        case S.RECOVER:
          return {
            send: c.inStartup ? undefined : 'updreqall',
            log: { level: 'info', message: `failover peer ${c.name}: requesting full update from peer` },
          };
        case S.POTENTIAL_CONFLICT:
        case S.RESOLUTION_INTERRUPTED:
        case S.CONFLICT_DONE:
        case S.NORMAL:
          return { to: S.POTENTIAL_CONFLICT };
        case S.PARTNER_DOWN:
        case S.COMMUNICATIONS_INTERRUPTED:
          return c.inStartup ? {} : { send: 'updreqall' };
        case S.SHUTDOWN:
          // ISC: "not explicitly told what to do", and goes partner-down even with an empty store.
          return { to: S.PARTNER_DOWN };
        default:
          return {};
      }
    case S.POTENTIAL_CONFLICT:
      switch (peer) {
        case S.NORMAL:
          return {
            to: S.SHUTDOWN,
            log: {
              level: 'error',
              message: `Peer ${c.name} moves to normal during conflict resolution - panic, shutting down.`,
            },
          };
        case S.CONFLICT_DONE:
          // The primary finished its side: ask for its updates. FACTS.md says "conflict-done -> UPDREQ"; ISC asks
          // only if it had heard potential-conflict from the partner before.
          return c.previous === S.POTENTIAL_CONFLICT
            ? { send: 'updreq' }
            : { log: { level: 'error', message: `Peer ${c.name}: Unexpected move to conflict-done.` } };
        case S.RECOVER:
          return { to: S.RECOVER };
        case S.SHUTDOWN:
          return { to: S.PARTNER_DOWN };
        default:
          return {};
      }
    case S.CONFLICT_DONE:
      switch (peer) {
        case S.NORMAL:
        case S.SHUTDOWN:
          return { to: peer };
        case S.POTENTIAL_CONFLICT:
        case S.RESOLUTION_INTERRUPTED:
          // ISC 4.4: the link was lost and found again while the secondary was still resolving.
          return {};
        default:
          // ISC log_fatal()s here: dhcpd exits, and comes back in conflict-done. We stay up and start conflict
          // resolution again, which is where a restarted ISC would end up too.
          return {
            to: S.POTENTIAL_CONFLICT,
            log: {
              level: 'error',
              message: `Peer ${c.name}: Invalid attempt to move from ${iscStateName(c.previous)} to ${iscStateName(peer)} while local state is conflict-done.`,
            },
          };
      }
    case S.PARTNER_DOWN:
      // "Take no action if other server is starting up": its real state follows once it has heard ours.
      if (c.partnerStartup) return {};
      switch (peer) {
        case S.RECOVER_DONE:
          return { to: S.NORMAL };
        case S.NORMAL:
        case S.POTENTIAL_CONFLICT:
        case S.PARTNER_DOWN:
        case S.COMMUNICATIONS_INTERRUPTED:
        case S.RESOLUTION_INTERRUPTED:
        case S.CONFLICT_DONE:
          return { to: S.POTENTIAL_CONFLICT };
        default:
          // recover, recover-wait: "this is where we should be"; shutdown, paused: nothing to do.
          return {};
      }
    case S.COMMUNICATIONS_INTERRUPTED:
      switch (peer) {
        case S.RECOVER:
          // An amnesic partner: go partner-down at once.
          return { to: S.PARTNER_DOWN };
        case S.NORMAL:
        case S.COMMUNICATIONS_INTERRUPTED:
        case S.RECOVER_DONE:
        case S.RECOVER_WAIT:
          return { send: 'queued-updates', to: S.NORMAL };
        case S.POTENTIAL_CONFLICT:
        case S.PARTNER_DOWN:
        case S.RESOLUTION_INTERRUPTED:
        case S.CONFLICT_DONE:
          return { to: S.POTENTIAL_CONFLICT };
        case S.SHUTDOWN:
          return { to: S.PARTNER_DOWN };
        default:
          return {};
      }
    case S.RESOLUTION_INTERRUPTED:
      switch (peer) {
        case S.SHUTDOWN:
          return { to: S.PARTNER_DOWN };
        case S.PAUSED:
        case S.UNKNOWN:
        case S.STARTUP:
          return {};
        default:
          return { to: S.POTENTIAL_CONFLICT };
      }
    case S.RECOVER_DONE:
      switch (peer) {
        case S.RECOVER_DONE:
          return {
            to: S.NORMAL,
            log: { level: 'error', message: 'Both servers have entered recover-done!' },
          };
        case S.NORMAL:
          return { to: S.NORMAL };
        case S.SHUTDOWN:
          return { to: S.PARTNER_DOWN };
        default:
          return {};
      }
    default:
      // recover-wait: "make no transitions ... just wait"; shutdown, paused: "dead in the water".
      return {};
  }
}

/**
 * The link is lost (or the startup timer ran out): ISC's "disconnect" transition, on the saved state while in
 * startup. `requeue`: conflict-done rescinds its unacknowledged updates (ISC 4.4 dhcp_failover_rescind_updates).
 * Returns the state to be in afterwards (the same state: stay).
 */
export function disconnectTarget(effective: S): { to: S; requeue: boolean } {
  switch (effective) {
    case S.NORMAL:
      return { to: S.COMMUNICATIONS_INTERRUPTED, requeue: false };
    case S.POTENTIAL_CONFLICT:
    case S.UNKNOWN:
      return { to: S.RESOLUTION_INTERRUPTED, requeue: false };
    case S.CONFLICT_DONE:
      return { to: S.CONFLICT_DONE, requeue: true };
    default:
      return { to: effective, requeue: false };
  }
}

export interface UpdDoneContext {
  role: Role;
  partner: number;
  /** ms: STOS + MCLT, when recover-wait may end. */
  waitUntil: number;
  now: number;
}

/** The partner's UPDDONE (ISC's dhcp_failover_process_update_done). */
export function updDoneReaction(my: S, c: UpdDoneContext): PeerReaction {
  switch (my) {
    case S.RECOVER:
      // "If both peers come up in recover, there is no point in waiting for MCLT to expire - this probably
      // indicates the initial startup of a newly-configured failover pair."
      if (c.waitUntil > c.now && c.partner !== S.RECOVER && c.partner !== S.RECOVER_DONE)
        return { to: S.RECOVER_WAIT };
      return { to: S.RECOVER_DONE };
    case S.POTENTIAL_CONFLICT:
      if (c.partner === S.CONFLICT_DONE) {
        if (c.role === 'secondary') return { to: S.NORMAL };
        return {
          to: S.SHUTDOWN,
          log: {
            level: 'error',
            message: 'Secondary is in conflict_done state after conflict resolution, this is illegal.',
          },
        };
      }
      if (c.role === 'primary') return { to: S.CONFLICT_DONE };
      return { log: { level: 'error', message: 'Spurious update-done message.' } };
    case S.CONFLICT_DONE:
      return { log: { level: 'error', message: 'Spurious update-done message.' } };
    default:
      return {}; // "shouldn't happen"
  }
}
