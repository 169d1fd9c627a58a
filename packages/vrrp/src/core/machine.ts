import { formatIp4 } from '@hadhcp/common';
import type { Advert } from '../wire/advert.js';
import { checkAdvert } from './check.js';
import {
  effectivePriority,
  faultingTrackers,
  masterDownMs,
  PRIO_OWNER,
  PRIO_STOP,
  skewMs,
  type InstanceParams,
} from './params.js';
import type {
  InstanceState,
  ReceivedAdvert,
  StepResult,
  TimerKey,
  VrrpAction,
  VrrpEvent,
  VrrpState,
} from './types.js';

/*
 * One VRRP instance as a pure state machine: RFC 3768 6.4 with keepalived 2.x's choices where they differ or
 * where the RFC is silent (FAULT, trackers, preempt_delay, GARP bursts, notify scripts). step() never reads a
 * clock or touches the network: it returns the new state and the actions the io must carry out, in order.
 */

type Draft = { -readonly [K in keyof InstanceState]: InstanceState[K] };

interface Ctx {
  s: Draft;
  actions: VrrpAction[];
  now: number;
}

/**
 * A fresh instance in INIT. `ownIp` may be given later with the startup event. The third argument is accepted
 * for callers that pass their clock's reading, and ignored: nothing happens until startup.
 */
export function initInstance(params: InstanceParams, ownIp = 0, _nowMs?: number): InstanceState {
  const trackers: Record<string, boolean> = {};
  return {
    params,
    state: 'INIT',
    ownIp,
    trackers,
    effectivePriority: effectivePriority(params, trackers).priority,
    faultBySync: false,
    timers: {},
    stats: { advertsSent: 0, advertsReceived: 0, becameMaster: 0, releasedMaster: 0, drops: {} },
  };
}

export function step(state: InstanceState, event: VrrpEvent, nowMs: number): StepResult {
  const ctx: Ctx = { s: { ...state }, actions: [], now: nowMs };
  switch (event.type) {
    case 'startup':
      onStartup(ctx, event.ownIp);
      break;
    case 'advert':
      onAdvert(ctx, event.packet);
      break;
    case 'timer':
      onTimer(ctx, event.key);
      break;
    case 'tracker':
      onTracker(ctx, `${event.kind}:${event.name}`, event.ok);
      break;
    case 'own-address':
      ctx.s.ownIp = event.ip;
      break;
    case 'external-weight':
      onExternalWeight(ctx, event.weight, event.reason);
      break;
    case 'sync':
      onSync(ctx, event.to, `sync group ${event.group}: ${event.member} is ${event.to}`);
      break;
    case 'peer-gone':
      onPeerGone(ctx, event.reason);
      break;
    case 'shutdown':
      onShutdown(ctx);
      break;
  }
  return { state: ctx.s, actions: ctx.actions };
}

// ---- events ----

function onStartup(ctx: Ctx, ownIp: number): void {
  const { s } = ctx;
  const n = s.params.name;
  if (s.state !== 'INIT') return log(ctx, `(${n}) startup while ${s.state}, ignored`, 'warn');
  s.ownIp = ownIp;
  const faults = faultingTrackers(s.params, s.trackers);
  if (faults.length > 0) return enterFault(ctx, `${faults.join(', ')} down at startup`);
  // keepalived: every instance enters BACKUP first; `state MASTER` (or the owner, RFC 3768 6.4.1) then becomes
  // master at once instead of waiting out Master_Down_Interval.
  log(ctx, `(${n}) Entering BACKUP STATE (init)`);
  enterBackup(ctx, 'startup', false);
  // The supervisor's weight says this node cannot serve (not resynchronised with its failover partner, store
  // failed): `state MASTER` must not grab the VIP from a healthy peer then; the election decides, as for BACKUP.
  const heldBack = s.external !== undefined && s.external.weight < 0;
  if (s.params.startAsMaster && heldBack && s.params.basePriority !== 255)
    return log(ctx, `(${n}) initial state MASTER held back: ${s.external!.reason}`);
  if (s.params.startAsMaster)
    becomeMaster(ctx, s.params.basePriority === 255 ? 'address owner' : 'initial state MASTER');
}

function onAdvert(ctx: Ctx, pkt: ReceivedAdvert): void {
  const { s } = ctx;
  if (s.state === 'INIT') return drop(ctx, 'not-running');
  const check = checkAdvert(s.params, pkt, { ownIp: s.ownIp });
  if (!check.ok) return drop(ctx, check.reason, check.log);
  for (const l of check.logs) log(ctx, l, 'warn');
  s.stats = { ...s.stats, advertsReceived: s.stats.advertsReceived + 1 };
  if (s.state === 'BACKUP') backupRx(ctx, pkt);
  else if (s.state === 'MASTER') masterRx(ctx, pkt);
  // FAULT: adverts are ignored until the trackers recover (keepalived).
}

/** RFC 3768 6.4.2 Backup, with keepalived's nopreempt and preempt_delay. */
function backupRx(ctx: Ctx, pkt: ReceivedAdvert): void {
  const { s, now } = ctx;
  const p = s.params;
  const prio = pkt.advert.priority;
  const eff = s.effectivePriority;
  if (prio === PRIO_STOP) {
    // The master is leaving: take over after Skew_Time only, so the highest-priority backup wins.
    log(ctx, `(${p.name}) Backup received priority 0 advertisement`);
    s.masterPriority = prio;
    s.peerGone = undefined;
    return setTimer(ctx, 'master-down', now + skewMs(eff));
  }
  const delaying = p.preemptDelay > 0 && (s.preemptUntil === undefined || now < s.preemptUntil);
  if (!p.preempt || prio >= eff || delaying) {
    s.masterIp = pkt.srcIp;
    s.masterPriority = prio;
    // A live master: a death notice before this advert was spurious (or the peer came back).
    s.peerGone = undefined;
    setTimer(ctx, 'master-down', now + masterDownMs(p.advertInt, eff));
    if (p.preemptDelay > 0) {
      if (prio >= eff) {
        s.preemptUntil = undefined;
        cancelTimer(ctx, 'preempt-delay');
      } else if (s.preemptUntil === undefined) {
        // keepalived starts the delay when it first sees a lower-priority master after entering BACKUP.
        s.preemptUntil = now + p.preemptDelay * 1000;
        setTimer(ctx, 'preempt-delay', s.preemptUntil);
        log(ctx, `(${p.name}) start preempt delay (${p.preemptDelay} s)`);
      }
    }
    return;
  }
  // Preempting: ignore the lower-priority master; master-down keeps running from its last accepted advert.
  s.masterIp = pkt.srcIp;
  s.masterPriority = prio;
  log(ctx, `(${p.name}) received lower priority (${prio}) advert from ${formatIp4(pkt.srcIp)} - discarding`);
}

/** RFC 3768 6.4.3 Master. */
function masterRx(ctx: Ctx, pkt: ReceivedAdvert): void {
  const { s } = ctx;
  const n = s.params.name;
  const prio = pkt.advert.priority;
  const eff = s.effectivePriority;
  const src = formatIp4(pkt.srcIp);
  if (prio === PRIO_STOP) {
    // Another master just left: advertise at once so the backups re-learn us before their Skew_Time runs out.
    log(ctx, `(${n}) Master received priority 0 message`);
    sendAdvert(ctx, eff);
    return setTimer(ctx, 'advert', ctx.now + s.params.advertInt * 1000);
  }
  // Equal priorities: the higher primary address wins (RFC 3768 6.4.3); addresses compare as unsigned.
  const theyWin = prio > eff || (prio === eff && pkt.srcIp > s.ownIp);
  if (!theyWin) {
    log(
      ctx,
      `(${n}) Received advert from ${src} with lower priority ${prio}, ours ${eff}, forcing new election`,
    );
    sendAdvert(ctx, eff);
    // keepalived garp_lower_prio_repeat/_delay (default: the garp_master ones): during the brief dual master the
    // hosts may have learnt the other router's MAC for our VIPs; GARPs bring them back (keepalived #166, #542).
    garp(ctx, s.params.garp.repeat);
    if (s.params.garp.delay > 0) setTimer(ctx, 'garp-repeat', ctx.now + s.params.garp.delay * 1000);
    return;
  }
  log(
    ctx,
    prio > eff
      ? `(${n}) Master received advert from ${src} with higher priority ${prio}, ours ${eff}`
      : `(${n}) Master received advert from ${src} with same priority ${prio} but higher IP address than ours`,
  );
  leaveMaster(ctx, false);
  s.masterIp = pkt.srcIp;
  s.masterPriority = prio;
  enterBackup(ctx, `advert from ${src} priority ${prio}`, true);
}

function onTimer(ctx: Ctx, key: TimerKey): void {
  const { s, now } = ctx;
  const at = s.timers[key];
  if (at === undefined) return; // cancelled or replaced: a stale firing
  if (now < at) return setTimer(ctx, key, at); // fired early: re-arm for the same deadline
  const { [key]: _fired, ...rest } = s.timers;
  s.timers = rest;
  const p = s.params;
  switch (key) {
    case 'master-down':
      if (s.state === 'BACKUP')
        becomeMaster(
          ctx,
          s.peerGone !== undefined
            ? `peer gone (${s.peerGone})`
            : s.masterPriority === PRIO_STOP
              ? 'master sent priority 0'
              : 'master down timer',
        );
      return;
    case 'advert':
      if (s.state !== 'MASTER') return;
      sendAdvert(ctx, s.effectivePriority);
      return setTimer(ctx, 'advert', now + p.advertInt * 1000);
    case 'garp-repeat':
      if (s.state === 'MASTER') garp(ctx, p.garp.repeat);
      return;
    case 'garp-refresh':
      if (s.state !== 'MASTER') return;
      garp(ctx, p.garp.refreshRepeat);
      return setTimer(ctx, 'garp-refresh', now + p.garp.refresh * 1000);
    case 'preempt-delay':
      // preemptUntil stays (in the past) so the next lower-priority advert is discarded, as keepalived does.
      if (s.state === 'BACKUP') log(ctx, `(${p.name}) preempt delay expired`);
      return;
  }
}

function onTracker(ctx: Ctx, id: string, ok: boolean): void {
  const { s } = ctx;
  const p = s.params;
  if (!p.trackers.some((t) => t.id === id) || (s.trackers[id] ?? true) === ok) {
    s.trackers = { ...s.trackers, [id]: ok };
    return;
  }
  s.trackers = { ...s.trackers, [id]: ok };
  updatePriority(ctx);
  const faults = faultingTrackers(p, s.trackers);
  if ((s.state === 'MASTER' || s.state === 'BACKUP') && faults.length > 0)
    enterFault(ctx, `${faults.join(', ')} failed`);
  else if (s.state === 'FAULT' && faults.length === 0 && !s.faultBySync) {
    enterBackup(ctx, `${id} recovered`, true);
  }
}

/**
 * The supervisor's weight: like a tracker weight it moves the effective priority (clamped 1..254, never the
 * owner's), and the election does the rest — a master that dropped below a preempting backup loses when that
 * backup's Master_Down timer runs out, since it discards our lower adverts.
 */
function onExternalWeight(ctx: Ctx, weight: number, reason: string): void {
  const { s } = ctx;
  const before = s.external?.weight ?? 0;
  s.external = weight === 0 ? undefined : { weight, reason };
  if (weight !== before) log(ctx, `(${s.params.name}) external weight ${weight}: ${reason}`);
  updatePriority(ctx);
}

function updatePriority(ctx: Ctx): void {
  const { s } = ctx;
  const eff = effectivePriority(s.params, s.trackers, s.external).priority;
  if (eff === s.effectivePriority) return;
  log(ctx, `(${s.params.name}) Changing effective priority from ${s.effectivePriority} to ${eff}`);
  s.effectivePriority = eff;
}

/**
 * vrrp_sync_group. `faultBySync` says the group is in FAULT because another member has a fault of its own; it is
 * independent of our own trackers, so an instance leaves FAULT only when both its own trackers and the group are
 * fine, whichever recovers last (see syncGroupFaults).
 */
function onSync(ctx: Ctx, to: 'MASTER' | 'BACKUP' | 'FAULT', reason: string): void {
  const { s } = ctx;
  if (s.state === 'INIT') return;
  const ownFaults = faultingTrackers(s.params, s.trackers).length > 0;
  if (to === 'MASTER' && s.state === 'BACKUP') becomeMaster(ctx, reason);
  else if (to === 'BACKUP' && s.state === 'MASTER') {
    leaveMaster(ctx, false);
    enterBackup(ctx, reason, true);
  } else if (to === 'BACKUP' && s.faultBySync) {
    s.faultBySync = false;
    if (s.state === 'FAULT' && !ownFaults) enterBackup(ctx, reason, true);
  } else if (to === 'FAULT') {
    s.faultBySync = true;
    if (s.state === 'MASTER' || s.state === 'BACKUP') enterFault(ctx, reason);
  }
}

/**
 * The supervisor's death notice: the peer's daemon died but its host lives, so its kernel closed the failover
 * connection at once, long before Master_Down_Interval would tell. A BACKUP does what RFC 3768 6.4.2 does on a
 * priority-0 advert: Master_Down_Timer = Skew_Time, so the highest-priority backup still wins. It never postpones
 * a takeover already due sooner. A spurious notice costs little: an advert from a live master before Skew_Time
 * re-arms the timer as usual (backupRx); after it, we take over and a higher-priority preempting peer takes the
 * VIP back. MASTER, INIT and FAULT have nothing to do.
 */
function onPeerGone(ctx: Ctx, reason: string): void {
  const { s, now } = ctx;
  if (s.state !== 'BACKUP') return;
  const skew = skewMs(s.effectivePriority);
  const due = s.timers['master-down'];
  const at = due !== undefined && due < now + skew ? due : now + skew;
  s.peerGone = reason;
  log(ctx, `(${s.params.name}) peer gone (${reason}): master down in ${((at - now) / 1000).toFixed(3)} s`);
  setTimer(ctx, 'master-down', at);
}

function onShutdown(ctx: Ctx): void {
  const { s } = ctx;
  const n = s.params.name;
  if (s.state === 'INIT') return;
  if (s.state === 'MASTER') {
    // keepalived on SIGTERM: priority 0 so the backup takes over after Skew_Time (RFC 3768 6.4.3), then drop VIPs.
    leaveMaster(ctx, true);
    log(ctx, `(${n}) sent 0 priority`);
  }
  for (const key of Object.keys(s.timers) as TimerKey[]) cancelTimer(ctx, key);
  s.preemptUntil = undefined;
  s.masterIp = undefined;
  s.masterPriority = undefined;
  record(ctx, 'INIT', 'shutdown');
  notify(ctx, 'STOP', s.params.notify.stop);
}

// ---- entry and exit work ----

function becomeMaster(ctx: Ctx, reason: string): void {
  const { s, now } = ctx;
  const p = s.params;
  cancelTimer(ctx, 'master-down');
  cancelTimer(ctx, 'preempt-delay');
  s.preemptUntil = undefined;
  // keepalived sends the advert before the GARPs so the old master drops the VIPs first.
  sendAdvert(ctx, s.effectivePriority);
  log(ctx, `(${p.name}) Entering MASTER STATE`);
  const all = ownedVips(p);
  if (all.length > 0) ctx.actions.push({ type: 'add-vips', addresses: all });
  garp(ctx, p.garp.repeat);
  setTimer(ctx, 'advert', now + p.advertInt * 1000);
  if (p.garp.delay > 0) setTimer(ctx, 'garp-repeat', now + p.garp.delay * 1000);
  if (p.garp.refresh > 0) setTimer(ctx, 'garp-refresh', now + p.garp.refresh * 1000);
  s.masterIp = s.ownIp;
  s.masterPriority = s.effectivePriority;
  s.stats = { ...s.stats, becameMaster: s.stats.becameMaster + 1 };
  record(ctx, 'MASTER', reason);
  notify(ctx, 'MASTER', p.notify.master);
}

function leaveMaster(ctx: Ctx, sendStop: boolean): void {
  const { s } = ctx;
  cancelTimer(ctx, 'advert');
  cancelTimer(ctx, 'garp-repeat');
  cancelTimer(ctx, 'garp-refresh');
  if (sendStop) sendAdvert(ctx, PRIO_STOP);
  const all = ownedVips(s.params);
  if (all.length > 0) ctx.actions.push({ type: 'remove-vips', addresses: all });
  s.stats = { ...s.stats, releasedMaster: s.stats.releasedMaster + 1 };
}

function enterBackup(ctx: Ctx, reason: string, logIt: boolean): void {
  const { s, now } = ctx;
  if (logIt) log(ctx, `(${s.params.name}) Entering BACKUP STATE`);
  s.preemptUntil = undefined;
  cancelTimer(ctx, 'preempt-delay');
  setTimer(ctx, 'master-down', now + masterDownMs(s.params.advertInt, s.effectivePriority));
  record(ctx, 'BACKUP', reason);
  notify(ctx, 'BACKUP', s.params.notify.backup);
}

function enterFault(ctx: Ctx, reason: string): void {
  const { s } = ctx;
  log(ctx, `(${s.params.name}) Entering FAULT STATE`);
  // Leaving MASTER for FAULT sends priority 0 so the backup need not wait Master_Down_Interval (keepalived).
  if (s.state === 'MASTER') leaveMaster(ctx, true);
  cancelTimer(ctx, 'master-down');
  cancelTimer(ctx, 'preempt-delay');
  s.preemptUntil = undefined;
  s.masterIp = undefined;
  s.masterPriority = undefined;
  record(ctx, 'FAULT', reason);
  notify(ctx, 'FAULT', s.params.notify.fault);
}

// ---- small helpers ----

/**
 * The addresses MASTER adds and every exit from MASTER removes. The address owner (priority 255, RFC 3768 1.)
 * has none: its VIPs are the interface's real addresses, and taking them away on a link flap or a stop would
 * leave the router without its own IP (and the instance in FAULT for want of an address). keepalived likewise
 * removes only what it added.
 */
function ownedVips(p: InstanceParams) {
  return p.basePriority === PRIO_OWNER ? [] : [...p.vips, ...p.excludedVips];
}

function buildAdvert(p: InstanceParams, priority: number): Advert {
  return {
    vrid: p.vrid,
    priority,
    authType: p.authType,
    advertInt: p.advertInt,
    addresses: p.vips.map((v) => v.address),
    authData: p.authData,
  };
}

function sendAdvert(ctx: Ctx, priority: number): void {
  ctx.actions.push({ type: 'send-advert', advert: buildAdvert(ctx.s.params, priority) });
  ctx.s.stats = { ...ctx.s.stats, advertsSent: ctx.s.stats.advertsSent + 1 };
}

function garp(ctx: Ctx, repeat: number): void {
  const all = [...ctx.s.params.vips, ...ctx.s.params.excludedVips];
  if (repeat > 0 && all.length > 0) ctx.actions.push({ type: 'send-garp', addresses: all, repeat });
}

function setTimer(ctx: Ctx, key: TimerKey, at: number): void {
  ctx.s.timers = { ...ctx.s.timers, [key]: at };
  ctx.actions.push({ type: 'set-timer', key, at });
}

function cancelTimer(ctx: Ctx, key: TimerKey): void {
  if (ctx.s.timers[key] === undefined) return;
  const { [key]: _gone, ...rest } = ctx.s.timers;
  ctx.s.timers = rest;
  ctx.actions.push({ type: 'cancel-timer', key });
}

function record(ctx: Ctx, to: VrrpState, reason: string): void {
  const from = ctx.s.state;
  ctx.s.state = to;
  ctx.s.peerGone = undefined;
  ctx.s.lastTransition = { at: ctx.now, from, to, reason };
  ctx.actions.push({ type: 'state-changed', from, to, reason });
}

/** keepalived runs notify_<state> (no arguments added), then `notify` with INSTANCE name STATE priority. */
function notify(ctx: Ctx, state: VrrpState | 'STOP', script: string | undefined): void {
  const p = ctx.s.params;
  if (script) ctx.actions.push({ type: 'notify', script, args: [], state });
  if (p.notify.any)
    ctx.actions.push({
      type: 'notify',
      script: p.notify.any,
      args: ['INSTANCE', p.name, state, String(ctx.s.effectivePriority)],
      state,
    });
}

function log(ctx: Ctx, message: string, level: 'info' | 'warn' = 'info'): void {
  ctx.actions.push({ type: 'log', level, message });
}

function drop(ctx: Ctx, reason: string, message?: string): void {
  const drops = ctx.s.stats.drops;
  ctx.s.stats = { ...ctx.s.stats, drops: { ...drops, [reason]: (drops[reason] ?? 0) + 1 } };
  ctx.actions.push({ type: 'drop', reason });
  if (message) log(ctx, message, 'warn');
}
