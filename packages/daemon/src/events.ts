import type { EventJson, EventKind, VrrpInstanceJson } from '@hadhcp/control';
import { iscStateName, type FailoverPeerService, type LinkChange, type StateChange } from '@hadhcp/failover';
import type { SupervisorDecision } from '@hadhcp/supervisor';

/** How many events `hadhcp status` shows: enough for the last incident, few enough for one screen. */
export const EVENTS_KEPT = 20;

/** How often the signals without an event of their own (VRRP transitions, the supervisor, partner state) are read. */
const POLL_MS = 1000;

/** Failover states an operator should look at (ISC's names). */
const FAILOVER_ALARMS = new Set([
  'communications-interrupted',
  'resolution-interrupted',
  'partner-down',
  'potential-conflict',
  'conflict-done',
  'recover',
  'shutdown',
]);

/**
 * The last notable events of the daemon (VRRP transitions, failover state and link changes, serving on and off,
 * the lease store failing and recovering, partner-down, handover), each with its time, for `hadhcp status`: what
 * happened just before the operator looked. A ring: the oldest goes when a new one comes. The log has everything.
 */
export class EventLog {
  private readonly ring: EventJson[] = [];
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly size = EVENTS_KEPT,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records an event now, or at `at` (ms since the epoch) when it happened earlier (a VRRP transition read later). */
  add(kind: EventKind, text: string, o: { alarm?: boolean; at?: number } = {}): void {
    const e: EventJson = { at: new Date(o.at ?? this.now()).toISOString(), kind, text };
    if (o.alarm) e.alarm = true;
    // Kept in time order: an event learnt late goes before those that came after it (ISO strings sort as times).
    let i = this.ring.length;
    while (i > 0 && this.ring[i - 1]!.at > e.at) i--;
    this.ring.splice(i, 0, e);
    if (this.ring.length > this.size) this.ring.shift();
  }

  /** Oldest first. */
  list(): EventJson[] {
    return this.ring.slice();
  }

  /** Follows the daemon's parts from now on (watchEvents) until stop(). */
  watch(src: EventSources, pollMs?: number): void {
    this.unwatch?.();
    this.unwatch = watchEvents(this, src, pollMs);
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }
}

/** What the watcher reads of the VRRP runner. */
export interface VrrpEventSource {
  status(): ReadonlyArray<Pick<VrrpInstanceJson, 'name' | 'lastTransition'>>;
}

/** What the watcher reads of one failover relationship (a FailoverPeerService: fromPeerService). */
export interface FailoverEventSource {
  name: string;
  onState(fn: (e: StateChange) => void): void;
  onLink(fn: (e: LinkChange) => void): void;
  /** The partner's state (ISC's name): the partner's moves come in its STATE messages, read by polling. */
  partnerState(): string;
  /** Our state (ISC's name), for the first event: moves made before the watch began are not lost, only summed up. */
  state(): string;
}

export interface EventSources {
  dhcp?: { onHealth(fn: (healthy: boolean, reason: string) => void): void };
  vrrp?: VrrpEventSource;
  failover?: { services: ReadonlyMap<string, FailoverPeerService> } | FailoverEventSource[];
  supervisor?: { readonly decision: SupervisorDecision | undefined };
}

export function fromPeerService(s: FailoverPeerService): FailoverEventSource {
  return {
    name: s.settings.name,
    onState: (fn) => void s.on('state', fn),
    onLink: (fn) => void s.on('link', fn),
    partnerState: () => iscStateName(s.machine.partner),
    state: () => iscStateName(s.machine.my),
  };
}

/**
 * Subscribes `log` to the daemon's parts: the events they emit (failover state and link, the lease store's health)
 * at once, and what they only show in their status (VRRP's last transition, with its own time; the supervisor's
 * serving decision; the partner's failover state) once a second. Returns the function that stops the polling.
 */
export function watchEvents(log: EventLog, src: EventSources, pollMs = POLL_MS): () => void {
  src.dhcp?.onHealth((healthy, reason) =>
    healthy
      ? log.add('store', `lease store recovered: ${reason}`.replace('recovered: lease store ', 'recovered: '))
      : log.add('store', shortStoreError(reason), { alarm: true }),
  );
  const relationships = Array.isArray(src.failover)
    ? src.failover
    : [...(src.failover?.services.values() ?? [])].map(fromPeerService);
  const partner = new Map<string, string>();
  for (const f of relationships) {
    partner.set(f.name, f.partnerState());
    // Failover started before the watch (its first packets are answered by its rules): where it stands now.
    log.add(
      'failover',
      `failover ${f.name}: ${f.state()}, partner ${f.partnerState()} (as the daemon came up)`,
    );
    f.onState((e) =>
      log.add('failover', `failover ${e.relationship}: ${e.from} -> ${e.to}`, {
        alarm: FAILOVER_ALARMS.has(e.to),
        at: e.at,
      }),
    );
    f.onLink((e) =>
      e.up
        ? log.add('link', `failover ${e.relationship}: link up with ${e.remote} (${dialled(e)})`)
        : log.add('link', `failover ${e.relationship}: link to ${e.remote} down (${e.why ?? 'closed'})`, {
            alarm: true,
          }),
    );
  }
  const seen = new Map<string, string>();
  let serving: string | undefined;
  const poll = (): void => {
    for (const i of src.vrrp?.status() ?? []) {
      const t = i.lastTransition;
      if (!t || seen.get(i.name) === t.at) continue;
      seen.set(i.name, t.at);
      log.add('vrrp', `VRRP ${i.name} ${t.from} -> ${t.to}: ${t.reason}`, {
        alarm: t.to === 'FAULT' || t.from === 'MASTER',
        at: Date.parse(t.at),
      });
    }
    for (const f of relationships) {
      const p = f.partnerState();
      if (partner.get(f.name) === p) continue;
      partner.set(f.name, p);
      log.add('failover', `failover ${f.name}: partner now ${p}`, { alarm: FAILOVER_ALARMS.has(p) });
    }
    const d = src.supervisor?.decision;
    if (d) {
      const now = servingWord(d);
      if (now !== serving) {
        const first = serving === undefined;
        serving = now;
        // The decision at start is the state, not news; every change after it is.
        // The reason's first clause: the failover clause after it has events of its own.
        const why = shortStoreError(d.reason.split('; ')[0]!.replace(/^not answering: /, ''));
        if (!first || d.serveRelayed)
          log.add('serving', `${now}: ${why}`, { alarm: !first && now === 'not serving' });
      }
    }
  };
  poll();
  const timer = setInterval(poll, pollMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * `lease store failed: lease store /var/lib/hadhcp failed (ENOSPC...): whether the last writes...` ->
 * `lease store /var/lib/hadhcp failed (ENOSPC...)`: the cause fits an event line; the log has the rest.
 */
function shortStoreError(reason: string): string {
  return reason
    .replace(/^(lease store failed: )+(lease store \S+ failed)/, '$2')
    .replace(/: whether the last writes.*$/, '');
}

const dialled = (e: LinkChange): string => (e.direction === 'in' ? 'partner dialled in' : 'we dialled');

function servingWord(d: SupervisorDecision): string {
  if (d.serveRelayed && d.serveDirect) return 'serving';
  if (d.serveRelayed) return 'serving relayed clients only';
  if (d.serveDirect) return 'serving directly attached clients only';
  return 'not serving';
}
