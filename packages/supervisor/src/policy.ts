import { formatIp4, type Ip4 } from '@hadhcp/common';

/*
 * The supervisor's decisions for one router of a pair, pure: who answers which DHCP traffic, what VRRP should know
 * about this node's ability to serve, and when to declare the partner down. The daemon feeds the signals in
 * (VRRP, failover, DHCP health) and carries the decision out (packages/daemon/src/supervise.ts).
 *
 * Two routers sit behind `ip helper-address <VIP>`: relays send every client to the VIP, so its holder answers
 * them all at once (no load-balancing wait behind the VIP), with the VIP as server identifier; the other keeps its
 * lease database in sync through failover and answers nothing relayed. Directly attached segments hear both
 * routers: there the failover load-balancing hash decides, as ISC does. Without failover the two databases are
 * separate, so only the VIP holder answers anything.
 */

export type VrrpStateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';
export type ServeScope = 'all' | 'own' | 'none';

/** The VRRP instance that carries DHCP's VIP (the relays' helper address). */
export interface VrrpSignal {
  state: VrrpStateName;
  /** The VIPs this node holds now (bound on the interface: learnt from netlink, not polled). */
  vips: readonly Ip4[];
  /** An advert from another router was heard within the last Master_Down_Interval. */
  peerHeard: boolean;
}

/** The failover relationship of the pools behind the VIP. */
export interface FailoverSignal {
  name: string;
  /** ISC's state names. */
  my: string;
  partner: string;
  connected: boolean;
  /** The failover state's service: 'none' answers no client (startup, recover, recover-wait, conflicts...). */
  scope: ServeScope;
}

export interface DhcpSignal {
  /** Why leases cannot be stored now (the store refuses writes), if so. */
  storeFailure?: string;
  /** Why the server is shedding requests now (its queue overflows), if so. */
  overloaded?: string;
}

export interface SupervisorInput {
  /** Absent without a keepalived.conf. */
  vrrp?: VrrpSignal;
  /** Absent without a failover peer. */
  failover?: FailoverSignal;
  dhcp: DhcpSignal;
  /** For how long both signals have said the partner is gone (failover link down AND no advert heard), ms. */
  peerGoneMs: number;
  /** The safety delay before an automatic partner-down, ms; undefined: never automatic. */
  partnerDownAfterMs?: number;
  /**
   * The operator's `hadhcp handover`: move the VIP and the serving role to the peer. This node keeps answering
   * while it still holds the VIP (no request is lost in the move) and gives up its priority so the peer takes it.
   */
  handover?: boolean;
}

export interface SupervisorDecision {
  /** Answer clients behind a relay (giaddr set). */
  serveRelayed: boolean;
  /** Behind the VIP, answer every relayed client, whatever its load-balancing hash says. */
  answerAllRelayed: boolean;
  /** Answer directly attached clients (failover's hash still decides between the two routers). */
  serveDirect: boolean;
  /** The server identifier of relayed replies: the VIP, so renewals follow the VIP, not this router. */
  serverId?: Ip4;
  /** Added to every VRRP instance's priority: 0 when this node can serve, UNHEALTHY_WEIGHT when it cannot. */
  vrrpWeight: number;
  /** Enter partner-down now (both signals agree the partner is gone, for the safety delay). */
  partnerDown: boolean;
  /** One line for `hadhcp status`: serving or not, and why. */
  reason: string;
  /** Why the VRRP weight is what it is. */
  health: string;
}

/** Weight on every VRRP instance while this node cannot serve: keepalived's largest, enough to lose any election. */
export const UNHEALTHY_WEIGHT = -253;

const HANDOVER_NOTE = '; handing over to the peer (hadhcp handover --cancel takes it back)';

/** Failover states in which a node has not caught up with its partner's leases. */
const NOT_CAUGHT_UP = new Set(['startup', 'recover', 'recover-wait', 'recover-done']);

function unhealthy(i: SupervisorInput): string | undefined {
  if (i.dhcp.storeFailure) return `lease store failed: ${i.dhcp.storeFailure}`;
  if (i.dhcp.overloaded) return `overloaded: ${i.dhcp.overloaded}`;
  const f = i.failover;
  if (f && f.scope === 'none') {
    const why = NOT_CAUGHT_UP.has(f.my)
      ? 'not resynchronised with the partner yet'
      : `no client may be answered (partner ${f.partner})`;
    return `failover ${f.name} in ${f.my}: ${why}`;
  }
  return undefined;
}

export function decide(i: SupervisorInput): SupervisorDecision {
  const sick = unhealthy(i);
  const healthy = sick === undefined;
  const v = i.vrrp;
  const f = i.failover;
  const master = v !== undefined && v.state === 'MASTER' && v.vips.length > 0;
  const serveRelayed = healthy && (v === undefined || master);
  // Without failover the two routers' databases are separate: only the VIP holder may answer anybody.
  const serveDirect = healthy && (v === undefined || f !== undefined || master);
  const partnerDown =
    v !== undefined &&
    f !== undefined &&
    i.partnerDownAfterMs !== undefined &&
    !f.connected &&
    !v.peerHeard &&
    (f.my === 'communications-interrupted' || f.my === 'resolution-interrupted') &&
    i.peerGoneMs >= i.partnerDownAfterMs;
  return {
    serveRelayed,
    answerAllRelayed: master,
    serveDirect,
    serverId: master ? v.vips[0] : undefined,
    vrrpWeight: healthy && !i.handover ? 0 : UNHEALTHY_WEIGHT,
    partnerDown,
    reason: reasonOf(i, sick, master, serveDirect) + (healthy && i.handover ? HANDOVER_NOTE : ''),
    health: sick ?? (i.handover ? 'handing over to the peer (hadhcp handover)' : 'able to serve'),
  };
}

function reasonOf(i: SupervisorInput, sick: string | undefined, master: boolean, direct: boolean): string {
  const f = i.failover;
  const fo = f
    ? `; failover ${f.name}: ${f.my}, partner ${f.partner}${f.connected ? '' : ' (link down)'}`
    : '';
  if (sick) return `not answering: ${sick}${fo}`;
  const v = i.vrrp;
  if (!v) return `answering every client${fo}`;
  if (master)
    return `VRRP master holding ${formatIp4(v.vips[0]!)}: answering every relayed client at once${fo}`;
  const side = direct ? '; directly attached clients by the failover hash' : '';
  if (v.state === 'BACKUP') return `VRRP backup: the VIP holder answers relayed clients${side}${fo}`;
  if (v.state === 'FAULT') return `VRRP FAULT: not answering relayed clients${side}${fo}`;
  return `waiting for the VRRP election${side}${fo}`;
}

/** How the failover link to the partner went down (@hadhcp/failover's LinkChange.why). */
export interface LinkLoss {
  why: string | undefined;
  /** The partner's last announced failover state (ISC's name). */
  partnerState: string;
  /** This daemon is stopping (its own close is no news about the partner). */
  stopping: boolean;
}

/**
 * The death notice (issue 8): the partner's kernel closed the failover TCP connection without a DISCONNECT and
 * without a shutdown STATE first: its daemon died while its host lives (kill -9, crash, OOM). Treat it as the
 * partner's priority-0 advert: VRRP takes the VIP after Skew_Time instead of Master_Down_Interval. A silence
 * timeout is not one (the host or the path may be gone: VRRP's own timer decides), nor a DISCONNECT (the partner
 * is alive and said why). A spurious notice costs at most a brief flap that preemption resolves.
 */
export function isDeathNotice(loss: LinkLoss): boolean {
  if (loss.stopping) return false;
  if (!loss.why?.startsWith('closed')) return false;
  return loss.partnerState !== 'shutdown';
}
