import type { Ip4 } from '@hadhcp/common';
import type { DhcpService } from '@hadhcp/dhcp';
import {
  iscStateName,
  serviceOf,
  ServerState,
  type FailoverPeerService,
  type FailoverState,
  type LinkChange,
} from '@hadhcp/failover';
import {
  decide,
  isDeathNotice,
  type FailoverSignal,
  type SupervisorDecision,
  type SupervisorInput,
  type VrrpStateName,
} from '@hadhcp/supervisor';
import type { RecordedFailoverState } from './failover-runner.js';
import type { Logger } from './logger.js';
import type { VrrpRunner } from './vrrp-runner.js';

/** ISC's partner-down state number. */
const PARTNER_DOWN = 4;

/** How often the VRRP adverts heard are read (the peer's liveness signal for partner-down). */
const POLL_MS = 250;

export interface SuperviseDeps {
  dhcp: DhcpService;
  vrrp: VrrpRunner;
  /** The relationship of the pools behind the VIP (the first `failover peer`), if any. */
  failover?: FailoverPeerService;
  /**
   * That relationship's state as recorded on disk (FailoverRunner.recorded): the decisions follow it, not the
   * machine's state before its record is fsync'd. Absent: the machine's state as it is.
   */
  recorded?: RecordedFailoverState;
  log: Logger;
  /**
   * Automatic partner-down once both signals agree for this long (the relationship's `auto-partner-down`, which
   * with VRRP beside it needs both signals, not the failover link alone); undefined: never automatic.
   */
  partnerDownAfterMs?: number;
  /** Master_Down_Interval of the instance carrying the VIP, ms: no advert for this long = the peer is silent. */
  masterDownMs: number;
  now?: () => number;
}

/**
 * The wiring of the supervisor's decisions (@hadhcp/supervisor): gathers the signals (VRRP state and VIPs,
 * adverts heard, the failover relationship's state and link, DHCP's store health), decides on every change, and
 * carries the decision out: the DHCP gate and server identifier, the VRRP weight, partner-down, and the death
 * notice (the partner's daemon died: VRRP takes the VIP after Skew_Time).
 */
export class Supervisor {
  private vips: Ip4[] = [];
  private storeFailure: string | undefined;
  private lastAdverts = 0;
  private lastAdvertAt = 0;
  private goneSince: number | undefined;
  private partnerDownAsked = false;
  private stopping = false;
  private handingOver = false;
  private timer: NodeJS.Timeout | undefined;
  private last: SupervisorDecision | undefined;
  private idsSet = '';
  private readonly now: () => number;

  constructor(private readonly d: SuperviseDeps) {
    this.now = d.now ?? Date.now;
  }

  /** The decision in force (for `hadhcp status`). */
  get decision(): SupervisorDecision | undefined {
    return this.last;
  }

  /** Behind the VIP every relayed client is ours (failoverPolicy asks this). */
  answerAllRelayed = (): boolean => this.last?.answerAllRelayed ?? false;

  /** Wired before VRRP starts, so a node that becomes master at once (priority 255) is not missed. */
  start(): void {
    const { dhcp, vrrp, failover } = this.d;
    vrrp.onMaster((vips) => {
      this.vips = vips;
      this.evaluate();
    });
    dhcp.onHealth((healthy, reason) => {
      // The writer's reason says 'lease store failed: ...' already; the policy names the cause itself.
      this.storeFailure = healthy ? undefined : reason.replace(/^lease store failed: /, '');
      this.evaluate();
    });
    this.d.recorded?.onRecorded(() => this.evaluate());
    if (failover) {
      failover.on('state', () => this.evaluate());
      failover.on('serve', () => this.evaluate());
      failover.on('link', (e) => this.onLink(e));
    }
    this.lastAdvertAt = this.now();
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.timer.unref();
    this.evaluate();
  }

  /**
   * `hadhcp handover`: the VIP and the serving role go to the peer. Refused unless the peer is alive and has
   * every lease: failover normal on both sides and connected (a VRRP backup sends no adverts, so a master cannot
   * hear it; without failover, its adverts must have been heard). This node's priority drops, and it keeps the
   * VIP and answers until the peer (preempting, keepalived's default) has taken it: after the peer's
   * Master_Down_Interval, as RFC 3768 6.4.2 has a backup ignore lower-priority adverts. Stepping down at once
   * (priority 0) would be faster but leaves the VIP with nobody for Skew_Time: the requests sent to it then are
   * lost (the handover lab lost 60 DISCOVERs that way). What this node accepted before the move is still
   * answered. `cancel` ends it.
   */
  handover(cancel = false): { ok: boolean; text: string } {
    if (cancel) {
      if (!this.handingOver) return { ok: true, text: 'no handover in progress' };
      this.handingOver = false;
      this.d.log.info('handover cancelled by the operator: VRRP priority restored');
      this.evaluate();
      return { ok: true, text: 'handover cancelled: priority restored (the VIP comes back by preemption)' };
    }
    const i = this.input();
    const f = i.failover;
    if (f && !(f.connected && f.my === 'normal' && f.partner === 'normal'))
      return {
        ok: false,
        text: `refused: failover ${f.name} is ${f.my} (partner ${f.partner}${f.connected ? '' : ', link down'}): the peer must be in normal and in sync before it takes over`,
      };
    if (!f && !i.vrrp?.peerHeard)
      return { ok: false, text: 'refused: no VRRP advert heard from the peer: nobody would take the VIP' };
    this.handingOver = true;
    this.d.log.warn('handover requested by the operator: lowering VRRP priority so the peer takes the VIP');
    this.evaluate();
    const held = this.vips.length > 0;
    return {
      ok: true,
      text: held
        ? 'handing over: the peer takes the VIP after its Master_Down_Interval (preemption); this node answers until then and stays backup until `hadhcp handover --cancel`'
        : 'this node does not hold the VIP; it stays away from it until `hadhcp handover --cancel`',
    };
  }

  stop(): void {
    this.stopping = true;
    clearInterval(this.timer);
  }

  private onLink(e: LinkChange): void {
    if (!e.up) {
      const m = this.d.failover?.machine;
      const partnerState = m ? iscStateName(m.partner) : 'unknown-state';
      if (isDeathNotice({ why: e.why, partnerState, stopping: this.stopping })) {
        this.d.log.warn(
          `failover peer ${e.relationship}: the partner closed the link without a word (${e.why}): its daemon died; taking over as after a priority-0 advert`,
        );
        this.d.vrrp.peerGone?.(`failover link to ${e.remote} closed`);
      }
    }
    this.evaluate();
  }

  /** Adverts heard since the last look: the peer's VRRP is alive. */
  private poll(): void {
    const heard = this.d.vrrp.status().reduce((n, s) => n + s.advertsReceived, 0);
    const t = this.now();
    if (heard !== this.lastAdverts) {
      this.lastAdverts = heard;
      this.lastAdvertAt = t;
    }
    this.evaluate();
  }

  private vrrpState(): VrrpStateName {
    const st = this.d.vrrp.status().map((s) => s.state);
    if (this.vips.length > 0 || st.includes('MASTER')) return 'MASTER';
    if (st.includes('BACKUP')) return 'BACKUP';
    if (st.includes('FAULT')) return 'FAULT';
    return 'INIT';
  }

  private input(): SupervisorInput {
    const t = this.now();
    const peerHeard = t - this.lastAdvertAt < this.d.masterDownMs;
    // The machine's state, not status(): status() counts every pool's leases, too much four times a second.
    const fs = this.d.failover;
    const f = fs && this.failoverSignal(fs.settings.name, fs.machine);
    const gone = f !== undefined && !f.connected && !peerHeard;
    if (!gone) this.goneSince = undefined;
    else this.goneSince ??= t;
    return {
      vrrp: { state: this.vrrpState(), vips: this.vips, peerHeard },
      failover: f,
      dhcp: { storeFailure: this.storeFailure },
      peerGoneMs: this.goneSince === undefined ? 0 : t - this.goneSince,
      partnerDownAfterMs: this.d.partnerDownAfterMs,
      handover: this.handingOver,
    };
  }

  /**
   * The failover states the decisions use: the recorded ones. Between a transition and its fsync the machine
   * already shows the new state, which a crash or a refused write undoes (a required record that cannot be
   * written takes the state back): restoring the VRRP priority on a 'normal' not yet on disk could take the VIP
   * for a node that comes back in recover-done. STARTUP is never recorded (ISC: the record keeps the state to return
   * to) and serves nobody, so it is taken as it is. The link is no state: as it is.
   */
  private failoverSignal(name: string, m: FailoverState): FailoverSignal {
    const live = (): FailoverSignal => ({
      name,
      my: iscStateName(m.my),
      partner: iscStateName(m.partner),
      connected: m.connected,
      scope: m.serve,
    });
    const rec = this.d.recorded;
    if (!rec || m.my === ServerState.STARTUP) return live();
    const r = rec.last;
    if (!r) return { ...live(), scope: 'none' };
    return {
      name,
      my: iscStateName(r.my),
      partner: iscStateName(r.partner),
      connected: m.connected,
      scope: serviceOf(r.my, r.partner).scope,
    };
  }

  private evaluate(): void {
    const d = decide(this.input());
    const prev = this.last;
    this.last = d;
    const { dhcp, vrrp, log } = this.d;
    const ids = d.serverId !== undefined ? this.vips : [];
    if (!prev || ids.join() !== this.idsSet) {
      this.idsSet = ids.join();
      dhcp.setPreferredServerIds(ids);
    }
    if (
      !prev ||
      prev.serveRelayed !== d.serveRelayed ||
      prev.serveDirect !== d.serveDirect ||
      prev.reason !== d.reason
    )
      dhcp.setServing(d.serveRelayed, d.reason, d.serveDirect);
    if (!prev || prev.vrrpWeight !== d.vrrpWeight) {
      if (d.vrrpWeight !== 0)
        log.warn(`DHCP unhealthy (${d.health}): lowering VRRP priority so the peer takes the VIP`);
      else if (prev) log.info(`DHCP healthy again (${prev.health} no more): VRRP priority restored`);
      vrrp.setExternalWeight(d.vrrpWeight, d.health);
    }
    if (d.partnerDown && !this.partnerDownAsked && this.d.failover) {
      this.partnerDownAsked = true;
      const f = this.d.failover;
      log.warn(
        `failover peer ${f.settings.name}: no failover link and no VRRP advert from the partner for ${Math.round((this.input().peerGoneMs || 0) / 1000)} s: moving to partner-down`,
      );
      void f.partnerDown().then((state) => {
        if (state !== 'partner-down') this.partnerDownAsked = false;
      });
    }
    if (!d.partnerDown && this.d.failover && this.d.failover.machine.my !== PARTNER_DOWN)
      this.partnerDownAsked = false;
  }
}
