import type { ServerState } from '../wire/constants.js';

/*
 * Types of the failover state machine (machine.ts). Times are milliseconds since the epoch (the injected clock),
 * except where a field says seconds: MCLT and auto-partner-down are configured in seconds, and STOS goes on the
 * wire in seconds.
 */

export type Role = 'primary' | 'secondary';

/**
 * Who may answer DHCP clients (serve.ts). 'all': the state's full service (normal: cooperating, DISCOVERs load
 * balanced; partner-down: every client, and the partner's free leases once MCLT has passed); 'own': every client,
 * but only from our own free leases (ISC's not_cooperating, communications-interrupted); 'none': answer nobody.
 */
export type ServeScope = 'all' | 'own' | 'none';

/**
 * Keyed timers: setting one replaces the pending one with the same key (the io keeps one per key).
 * - startup: 15 s after start, ISC's dhcp_failover_startup_timeout (applies the disconnect rules);
 * - recover-wait: at STOS + MCLT, ISC's dhcp_failover_recover_done (recover-wait -> recover-done);
 * - shutdown: 5 s after SIGTERM moved us to shutdown, the longest we wait for the partner's partner-down;
 * - auto-partner-down: ISC's `auto-partner-down` seconds after entering communications-interrupted (0 = off).
 */
export type TimerKey = 'startup' | 'recover-wait' | 'shutdown' | 'auto-partner-down';

export interface FailoverParams {
  /** The relationship name (ISC's `failover peer "NAME"`): every log line carries it. */
  name: string;
  role: Role;
  /** Seconds. The primary's configured MCLT; a secondary uses the one in the primary's CONNECT. */
  mclt: number;
  /** Seconds; ISC's `auto-partner-down`, 0 (ISC's default) = never move to partner-down by itself. */
  autoPartnerDown: number;
}

/** What the io must write (and fsync) before anything else in the step: ISC's failover state block. */
export interface PersistedFailoverState {
  /** Never STARTUP: while starting up we record the state we will return to (ISC's write_failover_state). */
  my: ServerState;
  /** ms; ISC's `my state X at T` (STOS). */
  mySince: number;
  /** The partner's state as last heard (a raw number if it was not one ISC knows). */
  partner: number;
  partnerSince: number;
  /** Seconds; a secondary records the MCLT its primary sent (ISC's `mclt N;`). */
  mclt: number;
}

export interface FailoverState {
  readonly params: FailoverParams;
  /** UNKNOWN until the start event. */
  readonly my: ServerState;
  /**
   * ms; ISC's me.stos, sent as STOS: when `my` was entered. Kept, as ISC keeps it, when entering recover-wait and
   * when entering or leaving startup, so recover-wait ends MCLT after recover began, not after the UPDDONE.
   */
  readonly since: number;
  /** While in STARTUP: the state to return to (ISC's saved_state). */
  readonly saved?: ServerState;
  /** The partner's state as last heard, kept across disconnects (ISC's partner.state). */
  readonly partner: number;
  readonly partnerSince: number;
  /** The STARTUP flag of the partner's last STATE. */
  readonly partnerStartup: boolean;
  /** CONNECT/CONNECTACK exchanged and the link not lost since. */
  readonly connected: boolean;
  /** Seconds. */
  readonly mclt: number;
  /** Set by SIGTERM: the updates still unacknowledged then, and whether we are done (io may exit). */
  readonly stopping?: { readonly updatesPending: boolean; readonly done: boolean };
  readonly serve: ServeScope;
  readonly timers: Readonly<Partial<Record<TimerKey, number>>>;
}

export type DisconnectReason = 'close' | 'timeout' | 'disconnect-msg';

export type FailoverEvent =
  /**
   * The daemon starts. `saved`: the state block read from the store, if any. `storeEmpty`: the lease store had no
   * records at all (new or lost), ISC's dhcpd.leases without a failover state block: we start in recover.
   */
  | { type: 'start'; saved?: PersistedFailoverState; storeEmpty: boolean }
  /** CONNECT/CONNECTACK exchanged. A secondary passes the MCLT of the primary's CONNECT. */
  | { type: 'connected'; mclt?: number }
  /** The partner's STATE message: server-state (raw: ISC moves to shutdown on a value it does not know), flags. */
  | { type: 'peerState'; state: number; flags: number }
  /** The link is gone: TCP closed, no message within our max-response-delay, or the peer's DISCONNECT. */
  | { type: 'disconnected'; reason: DisconnectReason }
  /** The partner's UPDDONE: it has sent everything we asked for with UPDREQ or UPDREQALL. */
  | { type: 'upddone' }
  | { type: 'timer'; key: TimerKey }
  /** SIGTERM. `updatesPending`: BNDUPDs queued or awaiting BNDACK at that moment. */
  | { type: 'shutdownRequested'; updatesPending: boolean }
  /** The operator's `hadhcp partner-down`: the partner is known to be down. */
  | { type: 'adminPartnerDown' }
  /** The operator asks for every binding the partner has (UPDREQALL) without leaving normal. */
  | { type: 'resyncRequested' };

export type LogLevel = 'info' | 'error';

export type FailoverAction =
  /**
   * Write the state block and fsync it. `required`: our own state changed, and ISC's rule applies (set_state):
   * if it cannot be recorded the transition does not happen, so the io carries out none of the step's later
   * actions and keeps the state it had before the step. Not required: only the partner's state changed (ISC logs
   * "Unable to record current failover state" and goes on).
   */
  | { type: 'persistState'; record: PersistedFailoverState; required: boolean }
  /** STATE: server-state, server-flags, STOS (seconds). Always after the persistState of the same state. */
  | { type: 'sendState'; state: ServerState; flags: number; stos: number }
  | { type: 'sendUpdReq' }
  | { type: 'sendUpdReqAll' }
  /** Send what the update queue holds, as far as the partner's max-unacked allows. */
  | { type: 'sendQueuedUpdates' }
  /** Move BNDUPDs awaiting a BNDACK back onto the update queue, to be sent again (ISC on leaving a sending state). */
  | { type: 'requeueUnacked' }
  /** 'balance': ISC's pool balance on entering normal; 'check': its pool check when the partner says normal. */
  | { type: 'rebalancePools'; mode: 'balance' | 'check' }
  /** Partner-down: expired leases become reusable at this time (s), ISC's tsfp = STOS + MCLT. */
  | { type: 'reclaimExpiredAt'; at: number }
  | { type: 'setTimer'; key: TimerKey; at: number }
  | { type: 'clearTimer'; key: TimerKey }
  /** The serve scope changed; `reason` is ISC's not-responding reason ('' when serving). */
  | { type: 'mayServe'; scope: ServeScope; was: ServeScope; reason: string }
  | { type: 'stateChanged'; from: ServerState; to: ServerState }
  | { type: 'log'; level: LogLevel; message: string }
  /** After SIGTERM: the state is recorded, nothing more to say to the partner; the io may exit. */
  | { type: 'shutdownComplete' };

export interface StepResult {
  state: FailoverState;
  actions: FailoverAction[];
}
