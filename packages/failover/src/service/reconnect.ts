/*
 * When to dial the peer again. ISC 4.4 (server/failover.c): 5 s after the link to the peer is lost, or after an
 * attempt that found the host unreachable or timed out (dhcp_failover_link_signal "disconnect" and "status");
 * 90 s after an attempt that failed at once, on this host (dhcp_failover_reconnect). A refused attempt: the lab
 * shows ISC 4.4.3 dialling again every 5 s for as long as nobody listens (test/lab/failover-isc.test.ts' capture).
 *
 * We keep ISC's 5 s after a lost link and 90 s after a local failure. A refused or unanswered attempt is tried
 * again 5 s after the first failure, doubling with each failure after it, up to a minute: a peer that is down for
 * a day costs one SYN a minute instead of twelve. A link coming up starts the count again. The peer dials us too
 * (at start and every 5 s), so a long wait here never holds the link down once the peer is up.
 */

export type DialOutcome =
  /** The link to the peer was up and is gone (closed, timed out, DISCONNECT). */
  | 'lost'
  /** The attempt reached the network and failed there (refused, unreachable, timed out, rejected CONNECT). */
  | 'network'
  /** The attempt could not even start here (our address is not configured, no route): ISC's immediate failure. */
  | 'local';

export const RECONNECT_AFTER_LOSS_MS = 5_000;
export const RECONNECT_AFTER_LOCAL_FAILURE_MS = 90_000;
export const RECONNECT_MAX_MS = 60_000;

/** `failures`: attempts that have failed in a row, this one included (1 for the first). */
export function reconnectDelayMs(outcome: DialOutcome, failures: number): number {
  switch (outcome) {
    case 'lost':
      return RECONNECT_AFTER_LOSS_MS;
    case 'local':
      return RECONNECT_AFTER_LOCAL_FAILURE_MS;
    case 'network': {
      const n = Math.max(1, Math.min(failures, 16));
      return Math.min(RECONNECT_AFTER_LOSS_MS * 2 ** (n - 1), RECONNECT_MAX_MS);
    }
  }
}
