import { ServerFlags, ServerState as S } from '../wire/constants.js';
import { disconnectTarget, peerStateReaction, processesRepeatedState, updDoneReaction } from './isc-rules.js';
import type {
  FailoverAction,
  FailoverEvent,
  FailoverParams,
  FailoverState,
  LogLevel,
  PersistedFailoverState,
  StepResult,
  TimerKey,
} from './machine-types.js';
import { iscStateName, iscWouldExit, isKnownState, serviceOf } from './serve.js';

/*
 * The failover server state machine of one relationship, as ISC dhcpd 4.4 runs it (server/failover.c:
 * dhcp_failover_set_state, _peer_state_changed, _state_transition, _process_update_done; server/dhcpd.c's
 * shutdown countdown), as a pure step: step() reads no clock and touches no socket or file. It returns the new
 * state and the actions the io must carry out, in order. Every change of our own state is persisted (and must be
 * fsynced) before it is announced: persistState always comes before the sendState of the same state.
 *
 * ISC's tables live in isc-rules.ts, who serves in serve.ts; this file applies them: entry and exit work of each
 * state (ISC's set_state), timers, the STATE we send, SIGTERM and the operator's commands.
 */

/** ISC's startup timeout: without a STATE from the partner within 15 s, apply the disconnect rules. */
const STARTUP_MS = 15_000;
/** ISC's shutdown countdown gives the partner about 5 s to reach partner-down before recording recover. */
const SHUTDOWN_WAIT_MS = 5_000;
const TIMER_KEYS: readonly TimerKey[] = ['startup', 'recover-wait', 'shutdown', 'auto-partner-down'];

type Draft = { -readonly [K in keyof FailoverState]: FailoverState[K] };

interface Ctx {
  s: Draft;
  actions: FailoverAction[];
  now: number;
}

/** A relationship that has not started: every event but start is ignored. */
export function initFailover(params: FailoverParams): FailoverState {
  return {
    params,
    my: S.UNKNOWN,
    since: 0,
    partner: S.UNKNOWN,
    partnerSince: 0,
    partnerStartup: false,
    connected: false,
    mclt: params.mclt,
    serve: 'none',
    timers: {},
  };
}

export function step(state: FailoverState, event: FailoverEvent, now: number): StepResult {
  if (state.stopping?.done) return { state, actions: [] };
  if (state.my === S.UNKNOWN && event.type !== 'start') return { state, actions: [] };
  const ctx: Ctx = { s: { ...state }, actions: [], now };
  switch (event.type) {
    case 'start':
      onStart(ctx, event.saved, event.storeEmpty);
      break;
    case 'connected':
      onConnected(ctx, event.mclt);
      break;
    case 'peerState':
      onPeerState(ctx, event.state, (event.flags & ServerFlags.STARTUP) !== 0);
      break;
    case 'disconnected':
      onDisconnected(ctx, event.reason);
      break;
    case 'upddone':
      onUpdDone(ctx);
      break;
    case 'timer':
      onTimer(ctx, event.key);
      break;
    case 'shutdownRequested':
      onShutdownRequested(ctx, event.updatesPending);
      break;
    case 'adminPartnerDown':
      onAdminPartnerDown(ctx);
      break;
    case 'resyncRequested':
      onResyncRequested(ctx);
      break;
  }
  return { state: ctx.s, actions: ctx.actions };
}

// ---- events ----

function onStart(ctx: Ctx, saved: PersistedFailoverState | undefined, storeEmpty: boolean): void {
  const { s, now } = ctx;
  const n = s.params.name;
  if (s.my !== S.UNKNOWN) return log(ctx, 'error', `failover peer ${n}: already started, start ignored`);
  if (storeEmpty || !saved) {
    // ISC confpars.c: no failover state in dhcpd.leases -> recover. A store that lost its leases cannot be trusted
    // with the state it recorded either: we know nothing, so we ask the partner for everything.
    if (saved)
      log(
        ctx,
        'info',
        `failover peer ${n}: lease store empty, recorded state ${iscStateName(saved.my)} ignored`,
      );
    s.my = S.RECOVER;
    s.since = now;
  } else {
    s.partner = saved.partner;
    s.partnerSince = saved.partnerSince;
    if (s.params.role === 'secondary') s.mclt = saved.mclt;
    if (saved.my === S.SHUTDOWN) {
      // We died between entering shutdown and recording recover (ISC records recover as it exits). ISC would come
      // back in shutdown and never leave it ("dead in the water"); we come back as it would have left it. We have
      // not served since mySince, so MCLT from then still covers every lease we gave.
      s.my = S.RECOVER;
      s.since = saved.mySince;
    } else if (!isKnownState(saved.my) || saved.my === S.STARTUP || saved.my === S.UNKNOWN) {
      s.my = S.RECOVER; // never written by us: an unreadable record counts as none
      s.since = now;
    } else {
      s.my = saved.my;
      s.since = saved.mySince;
    }
  }
  // ISC's dhcp_failover_startup: the "startup" transition, the state we return to being saved.
  enter(ctx, S.STARTUP);
}

function onConnected(ctx: Ctx, mclt: number | undefined): void {
  const { s } = ctx;
  s.connected = true;
  // ISC's secondary takes the MCLT of the primary's CONNECT (and records it with its state).
  if (s.params.role === 'secondary' && mclt !== undefined) s.mclt = mclt;
  // ISC: the secondary sends STATE after its CONNECTACK, the primary on receiving CONNECTACK; while in startup it
  // is the saved state with the STARTUP flag, which is how the partner tells a restart from a state change.
  announce(ctx);
}

function onPeerState(ctx: Ctx, peer: number, startupFlag: boolean): void {
  const { s, now } = ctx;
  const n = s.params.name;
  s.partnerStartup = startupFlag;
  if (s.partner === peer) {
    // ISC looks at a repeated state only in some of our states (see processesRepeatedState); in startup, hearing
    // what we already knew is enough to return to the saved state.
    if (s.my === S.STARTUP) return leaveStartup(ctx, true);
    if (!processesRepeatedState(s.my)) return;
  }
  const previous = s.partner;
  s.partner = peer;
  // ISC ignores the STOS in STATE and records when it heard the state.
  s.partnerSince = now;
  log(ctx, 'info', `failover peer ${n}: peer moves from ${iscStateName(previous)} to ${iscStateName(peer)}`);
  if (s.my === S.NORMAL && peer === S.NORMAL) log(ctx, 'info', `failover peer ${n}: Both servers normal`);
  persist(ctx, false);
  if (!isKnownState(peer)) {
    log(ctx, 'error', `failover peer ${n}: Invalid state: ${peer}`);
    enter(ctx, S.SHUTDOWN);
  } else {
    const inStartup = s.my === S.STARTUP;
    const reaction = peerStateReaction(inStartup ? s.saved! : s.my, peer, {
      name: n,
      inStartup,
      previous,
      partnerStartup: startupFlag,
    });
    if (reaction.log) log(ctx, reaction.log.level, reaction.log.message);
    if (reaction.send) send(ctx, reaction.send);
    if (reaction.to !== undefined) enter(ctx, reaction.to);
    // "If we didn't make a transition out of startup as a result of the peer's state change, do it now."
    if (s.my === S.STARTUP) leaveStartup(ctx, false);
  }
  updateServe(ctx);
  finishShutdownIfAnswered(ctx);
}

function onDisconnected(ctx: Ctx, reason: string): void {
  const { s } = ctx;
  if (s.connected)
    log(ctx, 'info', `peer ${s.params.name}: disconnected${reason === 'close' ? '' : ` (${reason})`}`);
  s.connected = false;
  applyDisconnectRules(ctx);
  // Stopping: the partner can no longer tell us it reached partner-down, so there is nothing left to wait for.
  if (s.stopping) finishShutdown(ctx);
}

function onUpdDone(ctx: Ctx): void {
  const { s, now } = ctx;
  log(ctx, 'info', `failover peer ${s.params.name}: peer update completed.`);
  const reaction = updDoneReaction(s.my, {
    role: s.params.role,
    partner: s.partner,
    waitUntil: s.since + s.mclt * 1000,
    now,
  });
  if (reaction.log) log(ctx, reaction.log.level, reaction.log.message);
  if (reaction.to !== undefined) enter(ctx, reaction.to);
}

function onTimer(ctx: Ctx, key: TimerKey): void {
  const { s, now } = ctx;
  const at = s.timers[key];
  if (at === undefined) return; // cleared or replaced: a stale firing
  if (now < at) return setTimer(ctx, key, at); // fired early: re-arm the same deadline
  const { [key]: _fired, ...rest } = s.timers;
  s.timers = rest;
  switch (key) {
    case 'startup':
      // ISC's startup timeout runs the disconnect transition: the saved state, or where the link loss leads.
      if (s.my === S.STARTUP) applyDisconnectRules(ctx);
      return;
    case 'recover-wait':
      if (s.my === S.RECOVER_WAIT) enter(ctx, S.RECOVER_DONE);
      return;
    case 'shutdown':
      if (s.stopping) finishShutdown(ctx);
      return;
    case 'auto-partner-down':
      if (s.my === S.COMMUNICATIONS_INTERRUPTED) enter(ctx, S.PARTNER_DOWN);
      return;
  }
}

/**
 * SIGTERM, as ISC's gentle shutdown (server/dhcpd.c dhcp_io_shutdown_countdown): a server in normal moves to
 * shutdown, which makes the partner go partner-down; once it has (or after about 5 s) we record recover and may
 * exit. With the partner in partner-down and nothing left unacknowledged, recover's STOS is back-dated by MCLT, so
 * the next start need not sit in recover-wait. In any other state nothing is said: the state stays as recorded.
 * Stock ISC 4.4 builds leave gentle shutdown out (ENABLE_GENTLE_SHUTDOWN, includes/site.h), which is why the
 * captured ISC just closed the connection and came back in normal.
 */
function onShutdownRequested(ctx: Ctx, updatesPending: boolean): void {
  const { s, now } = ctx;
  if (s.stopping) return;
  s.stopping = { updatesPending, done: false };
  if (s.my === S.NORMAL) enter(ctx, S.SHUTDOWN);
  else if (s.my === S.SHUTDOWN) setTimer(ctx, 'shutdown', now + SHUTDOWN_WAIT_MS);
  else return finishShutdown(ctx);
  finishShutdownIfAnswered(ctx);
}

/**
 * `hadhcp partner-down`. ISC's omshell takes it in any state; we take it only where the draft says an operator
 * may (communications-interrupted, resolution-interrupted) and only while the partner is not connected: a
 * connected partner is not down, and partner-down from recover would hand out addresses we know nothing about.
 */
function onAdminPartnerDown(ctx: Ctx): void {
  const { s } = ctx;
  const n = s.params.name;
  if (s.my === S.PARTNER_DOWN) return log(ctx, 'info', `failover peer ${n}: already in partner-down`);
  if (s.connected)
    return log(ctx, 'error', `failover peer ${n}: partner-down refused: the peer is connected`);
  if (s.my !== S.COMMUNICATIONS_INTERRUPTED && s.my !== S.RESOLUTION_INTERRUPTED)
    return log(
      ctx,
      'error',
      `failover peer ${n}: partner-down refused in ${iscStateName(s.my)}: only from communications-interrupted or resolution-interrupted`,
    );
  log(ctx, 'info', `failover peer ${n}: partner-down set by the operator`);
  enter(ctx, S.PARTNER_DOWN);
}

/** The operator's resync: UPDREQALL without leaving normal (ISC answers it in any state with BNDUPDs + UPDDONE). */
function onResyncRequested(ctx: Ctx): void {
  const { s } = ctx;
  const n = s.params.name;
  if (s.my !== S.NORMAL || !s.connected)
    return log(
      ctx,
      'error',
      `failover peer ${n}: resync refused in ${iscStateName(s.my)}${s.connected ? '' : ', not connected'}`,
    );
  log(ctx, 'info', `failover peer ${n}: requesting full update from peer`);
  ctx.actions.push({ type: 'sendUpdReqAll' });
}

// ---- transitions ----

/**
 * ISC's dhcp_failover_set_state: requeue, STOS, record (persist before anything else), log, timers, service
 * state, STATE to the partner, then the new state's entry work.
 */
function enter(ctx: Ctx, to: S): void {
  const { s, now } = ctx;
  const from = s.my;
  if (to === from) return;
  // Leaving a state that sends updates: what awaits a BNDACK is sent again.
  if (to !== S.STARTUP && (from === S.NORMAL || from === S.POTENTIAL_CONFLICT || from === S.PARTNER_DOWN))
    ctx.actions.push({ type: 'requeueUnacked' });
  // "Keep the old stos if we're going into recover_wait or if we're coming into or out of startup."
  if (to !== S.RECOVER_WAIT && to !== S.STARTUP && from !== S.STARTUP) s.since = now;
  // "If we're in shutdown, peer is in partner_down, and we're moving to recover, we can skip waiting for MCLT."
  if (
    to === S.RECOVER &&
    from === S.SHUTDOWN &&
    s.partner === S.PARTNER_DOWN &&
    s.stopping?.updatesPending === false
  )
    s.since = now - s.mclt * 1000;
  if (to === S.STARTUP) s.saved = from;
  else if (from === S.STARTUP) s.saved = undefined;
  s.my = to;
  persist(ctx, true);
  const n = s.params.name;
  log(ctx, 'info', `failover peer ${n}: I move from ${iscStateName(from)} to ${iscStateName(to)}`);
  if (to === S.NORMAL && s.partner === S.NORMAL) log(ctx, 'info', `failover peer ${n}: Both servers normal`);
  ctx.actions.push({ type: 'stateChanged', from, to });
  if (from === S.STARTUP) clearTimer(ctx, 'startup');
  if (from === S.RECOVER_WAIT) clearTimer(ctx, 'recover-wait');
  if (from === S.SHUTDOWN) clearTimer(ctx, 'shutdown');
  clearTimer(ctx, 'auto-partner-down'); // ISC: any state change cancels the delayed partner-down
  updateServe(ctx);
  if (s.connected) announce(ctx);
  onEntry(ctx, to);
}

function onEntry(ctx: Ctx, to: S): void {
  const { s, now } = ctx;
  switch (to) {
    case S.STARTUP:
      return setTimer(ctx, 'startup', now + STARTUP_MS);
    case S.COMMUNICATIONS_INTERRUPTED:
      if (s.params.autoPartnerDown > 0)
        setTimer(ctx, 'auto-partner-down', now + s.params.autoPartnerDown * 1000);
      return;
    case S.NORMAL:
      // ISC: rebalance the pools, then queue every lease the partner has not acknowledged (tstp > atsfp) or that
      // expired, and send.
      ctx.actions.push({ type: 'rebalancePools', mode: 'balance' });
      return send(ctx, 'queued-updates');
    case S.POTENTIAL_CONFLICT:
      // The primary asks first; a secondary asks once the primary says conflict-done.
      if (s.params.role === 'primary' || s.partner === S.CONFLICT_DONE) send(ctx, 'updreq');
      return;
    case S.RECOVER:
      return send(ctx, 'updreqall');
    case S.RECOVER_WAIT: {
      // "If we come back in recover_wait and there's still waiting to do, set a timeout."
      const at = s.since + s.mclt * 1000;
      if (at > now) return setTimer(ctx, 'recover-wait', at);
      return enter(ctx, S.RECOVER_DONE);
    }
    case S.PARTNER_DOWN:
      return void ctx.actions.push({ type: 'reclaimExpiredAt', at: Math.floor(s.since / 1000) + s.mclt });
    case S.SHUTDOWN:
      if (s.stopping) setTimer(ctx, 'shutdown', now + SHUTDOWN_WAIT_MS);
      return;
    default:
      return;
  }
}

/** Back to the saved state. ISC 4.4: a repeated partner state in startup takes resolution-interrupted to
 * potential-conflict ("if we have a peer state we must be connected"). */
function leaveStartup(ctx: Ctx, repeated: boolean): void {
  const saved = ctx.s.saved!;
  enter(ctx, repeated && saved === S.RESOLUTION_INTERRUPTED ? S.POTENTIAL_CONFLICT : saved);
}

function applyDisconnectRules(ctx: Ctx): void {
  const { s } = ctx;
  const inStartup = s.my === S.STARTUP;
  const { to, requeue } = disconnectTarget(inStartup ? s.saved! : s.my);
  if (requeue) ctx.actions.push({ type: 'requeueUnacked' });
  if (inStartup || to !== s.my) enter(ctx, to);
}

function finishShutdownIfAnswered(ctx: Ctx): void {
  const { s } = ctx;
  if (s.stopping && !s.stopping.done && s.my === S.SHUTDOWN && s.partner === S.PARTNER_DOWN)
    finishShutdown(ctx);
}

/** The end of ISC's countdown: shutdown becomes recover, recorded but not announced (ISC drops the link first). */
function finishShutdown(ctx: Ctx): void {
  const { s } = ctx;
  if (!s.stopping || s.stopping.done) return;
  if (s.my === S.SHUTDOWN) {
    s.connected = false;
    enter(ctx, S.RECOVER);
  }
  for (const key of TIMER_KEYS) clearTimer(ctx, key);
  s.stopping = { ...s.stopping, done: true };
  ctx.actions.push({ type: 'shutdownComplete' });
}

// ---- small helpers ----

/** Our STATE: the saved state with the STARTUP flag while in startup; STOS in seconds. */
function announce(ctx: Ctx): void {
  const { s } = ctx;
  const shown = s.my === S.STARTUP ? s.saved! : s.my;
  if (iscWouldExit(shown, s.partner)) {
    // Never reached by ISC's own tables; a guard for the paths we add (operator commands, restarts).
    return log(
      ctx,
      'error',
      `failover peer ${s.params.name}: not sending state ${iscStateName(shown)}: a partner in ${iscStateName(s.partner)} would exit on it`,
    );
  }
  ctx.actions.push({
    type: 'sendState',
    state: shown,
    flags: s.my === S.STARTUP ? ServerFlags.STARTUP : 0,
    stos: Math.floor(s.since / 1000),
  });
}

function send(ctx: Ctx, what: 'updreqall' | 'updreq' | 'queued-updates' | 'pool-check'): void {
  if (what === 'pool-check') return void ctx.actions.push({ type: 'rebalancePools', mode: 'check' });
  // ISC's senders return at once without a link to the peer.
  if (!ctx.s.connected) return;
  if (what === 'updreqall') ctx.actions.push({ type: 'sendUpdReqAll' });
  else if (what === 'updreq') ctx.actions.push({ type: 'sendUpdReq' });
  else ctx.actions.push({ type: 'sendQueuedUpdates' });
}

function persist(ctx: Ctx, required: boolean): void {
  const { s } = ctx;
  ctx.actions.push({
    type: 'persistState',
    record: {
      my: s.my === S.STARTUP ? s.saved! : s.my, // "Never record our state as startup!"
      mySince: s.since,
      partner: s.partner,
      partnerSince: s.partnerSince,
      mclt: s.mclt,
    },
    required,
  });
}

function updateServe(ctx: Ctx): void {
  const { s } = ctx;
  const { scope, reason } = serviceOf(s.my, s.partner);
  if (scope === s.serve) return;
  ctx.actions.push({ type: 'mayServe', scope, was: s.serve, reason });
  s.serve = scope;
}

function setTimer(ctx: Ctx, key: TimerKey, at: number): void {
  ctx.s.timers = { ...ctx.s.timers, [key]: at };
  ctx.actions.push({ type: 'setTimer', key, at });
}

function clearTimer(ctx: Ctx, key: TimerKey): void {
  if (ctx.s.timers[key] === undefined) return;
  const { [key]: _gone, ...rest } = ctx.s.timers;
  ctx.s.timers = rest;
  ctx.actions.push({ type: 'clearTimer', key });
}

function log(ctx: Ctx, level: LogLevel, message: string): void {
  ctx.actions.push({ type: 'log', level, message });
}
