import { ServerState } from '../wire/constants.js';
import type { ServeScope } from './machine-types.js';

/*
 * Who answers clients in each failover state: ISC 4.4's dhcp_failover_set_service_state (server/failover.c) and
 * the checks in server/dhcp.c that read it. Pure: the DHCP path asks with the current states.
 */

/** The 13 states ISC knows (its "quickly validate the new state" switch). */
export function isKnownState(n: number): n is ServerState {
  return (
    (Number.isInteger(n) && n >= ServerState.UNKNOWN && n <= ServerState.CONFLICT_DONE) ||
    n === ServerState.RECOVER_WAIT
  );
}

/**
 * A state as ISC's dhcp_failover_state_name_print writes it in its log lines: a value it does not know prints as
 * "unknown-state" (constants.ts' serverStateName shows such a value as state-N instead, for our own diagnostics).
 */
export function iscStateName(n: number): string {
  switch (n) {
    case ServerState.STARTUP:
      return 'startup';
    case ServerState.NORMAL:
      return 'normal';
    case ServerState.COMMUNICATIONS_INTERRUPTED:
      return 'communications-interrupted';
    case ServerState.PARTNER_DOWN:
      return 'partner-down';
    case ServerState.POTENTIAL_CONFLICT:
      return 'potential-conflict';
    case ServerState.RECOVER:
      return 'recover';
    case ServerState.PAUSED:
      return 'paused';
    case ServerState.SHUTDOWN:
      return 'shutdown';
    case ServerState.RECOVER_DONE:
      return 'recover-done';
    case ServerState.RESOLUTION_INTERRUPTED:
      return 'resolution-interrupted';
    case ServerState.CONFLICT_DONE:
      return 'conflict-done';
    case ServerState.RECOVER_WAIT:
      return 'recover-wait';
    default:
      return 'unknown-state';
  }
}

export interface Service {
  scope: ServeScope;
  /** ISC's "not responding" reason (its `nrr`, without the parentheses); '' when serving. */
  reason: string;
}

/**
 * What we may do for clients in state `my` while the partner is (as last heard) in `partner`.
 *
 * ISC: normal is `cooperating` (DISCOVERs go through the load-balancing hash), partner-down is
 * `service_partner_down` (everything, the partner's free leases after MCLT), communications-interrupted is
 * `not_cooperating`, startup is `service_startup` and the rest `not_responding`; dhcp.c drops a request only for
 * not_responding and service_startup. So communications-interrupted serves, without load balancing, from its own
 * free leases (allocate_lease never takes the partner's FREE/BACKUP leases outside partner-down): 'own'.
 * FACTS.md 4.3 says only normal and partner-down serve; the capture says otherwise (server-lan.pcap: after the
 * primary's stop at +24.2 s the secondary, in communications-interrupted, OFFERs and ACKs 10.1.0.75 at +30.3 s),
 * and so does ISC's code. We follow the capture.
 *
 * Then, as ISC ("some peer states can require us not to respond"): a partner in partner-down, or in a conflict
 * state, means we answer nobody, whatever our own state.
 */
export function serviceOf(my: number, partner: number): Service {
  const own = ownService(my);
  if (own.scope === 'none') return own;
  if (partner === ServerState.PARTNER_DOWN) return { scope: 'none', reason: 'peer demands: recovering' };
  if (
    partner === ServerState.POTENTIAL_CONFLICT ||
    partner === ServerState.CONFLICT_DONE ||
    partner === ServerState.RESOLUTION_INTERRUPTED
  )
    return { scope: 'none', reason: 'peer demands: resolving conflicts' };
  return own;
}

export function mayServe(my: number, partner: number): ServeScope {
  return serviceOf(my, partner).scope;
}

function ownService(my: number): Service {
  switch (my) {
    case ServerState.NORMAL:
    case ServerState.PARTNER_DOWN:
      return { scope: 'all', reason: '' };
    case ServerState.COMMUNICATIONS_INTERRUPTED:
      return { scope: 'own', reason: '' };
    case ServerState.STARTUP:
      return { scope: 'none', reason: 'startup' };
    case ServerState.RECOVER:
      return { scope: 'none', reason: 'recovering' };
    case ServerState.RECOVER_WAIT:
      return { scope: 'none', reason: 'recover wait' };
    case ServerState.RECOVER_DONE:
      return { scope: 'none', reason: 'recover done' };
    case ServerState.SHUTDOWN:
      return { scope: 'none', reason: 'shut down' };
    case ServerState.PAUSED:
      return { scope: 'none', reason: 'paused' };
    case ServerState.POTENTIAL_CONFLICT:
    case ServerState.RESOLUTION_INTERRUPTED:
    case ServerState.CONFLICT_DONE:
      return { scope: 'none', reason: 'resolving conflicts' };
    default:
      return { scope: 'none', reason: 'my state unknown' };
  }
}

/**
 * ISC 4.4 exits (log_fatal "Invalid attempt to move from X to Y while local state is conflict-done") when, in
 * conflict-done, it hears any partner state but normal, shutdown, potential-conflict or resolution-interrupted.
 * The machine checks every STATE it would send against the partner's last known state with this, and holds back
 * one that would stop ISC. Our own state values are ServerState members, so ISC's "Invalid state" (a value it
 * does not know) cannot happen.
 */
export function iscWouldExit(announced: ServerState, partner: number): boolean {
  if (partner !== ServerState.CONFLICT_DONE) return false;
  return ![
    ServerState.NORMAL,
    ServerState.SHUTDOWN,
    ServerState.POTENTIAL_CONFLICT,
    ServerState.RESOLUTION_INTERRUPTED,
  ].includes(announced);
}
