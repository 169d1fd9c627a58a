import type {
  DhcpStatusJson,
  EventJson,
  StatusReport,
  StoreStatsJson,
  SupervisorDecisionJson,
  VrrpInstanceJson,
} from '@hadhcp/control';
import { renderFailover } from './failover-format.js';
import { ago, human, table } from './format.js';

/** The terminal `hadhcp status` is written for: a typical two-router setup fits it whole. */
export const SCREEN = { columns: 100, rows: 40 };

/** Events shown even when the page is long (the rest: `hadhcp status --json`). */
const MIN_EVENTS = 5;

/**
 * `hadhcp status`: one screen an operator reads at 3 a.m. First whether this node answers and why (the
 * supervisor's reason), what it answers and with which server identifier, leases and pool use; then VRRP (role,
 * priority configured and effective, and why), failover (both states, the link, pool use), and the last events
 * with their times, as many as fit the screen.
 */
export function renderStatus(
  s: StatusReport,
  nowSec = Math.floor(Date.now() / 1000),
  screen = SCREEN,
): string {
  const w = screen.columns;
  const out: string[] = [`hadhcp ${s.version}, pid ${s.pid}, up ${human(s.uptime)}`];
  if (s.dhcp) out.push('', ...renderDhcp(s.dhcp, s.supervisor, (s.failover?.length ?? 0) > 0, w));
  if (s.store) out.push(...renderStore(s.store, w));
  if (s.vrrp && s.vrrp.length > 0) out.push('', 'VRRP:', ...renderVrrp(s.vrrp, s.supervisor, nowSec, w));
  if (s.failover && s.failover.length > 0) out.push('', 'Failover:', ...renderFailover(s.failover, nowSec));
  const events = s.events ?? [];
  if (events.length > 0) {
    // The newest events that fit what is left of the screen (a blank line and the title), never fewer than 5.
    const room = screen.rows - out.length - 2;
    const shown: string[][] = [];
    let used = 0;
    for (let i = events.length - 1; i >= 0; i--) {
      const lines = renderEvent(events[i]!, nowSec, w);
      if (shown.length >= MIN_EVENTS && used + lines.length > room) break;
      shown.unshift(lines);
      used += lines.length;
    }
    const older = events.length - shown.length;
    out.push('', `Last events (UTC)${older > 0 ? `, ${older} older in hadhcp status --json` : ''}:`);
    out.push(...shown.flat());
  }
  return out.join('\n');
}

function renderDhcp(
  d: DhcpStatusJson,
  sup: SupervisorDecisionJson | undefined,
  failover: boolean,
  w: number,
): string[] {
  // `serving` is the relayed side (the VIP's); a backup may still answer its directly attached clients.
  const head = d.serving ? 'serving' : sup?.serveDirect ? 'NOT serving relayed clients' : 'NOT serving';
  const out = [`DHCP: ${head}`];
  const why = d.reason ?? sup?.reason;
  if (why) out.push(...wrap(topLevelParts(why), '  why: ', w));
  if (sup) {
    const relayed = sup.serveRelayed
      ? `${sup.answerAllRelayed ? 'every one' : 'by the failover hash'}${sup.serverId ? `, as ${sup.serverId}` : ''}`
      : 'none';
    // Without failover the two routers' databases are separate: the VIP holder answers every direct client too.
    const direct = !sup.serveDirect ? 'none' : failover ? 'by the failover hash' : 'every one';
    out.push(`  answers: relayed clients ${relayed}; directly attached clients ${direct}`);
    if (sup.vrrpWeight !== 0) {
      // Not serving: "why" already says what is wrong. Serving (a handover): the health says why the VIP goes.
      const health = d.serving ? ` (${sup.health})` : '';
      out.push(
        ...wrap(
          [`VRRP priority ${sup.vrrpWeight} on every instance, so the peer takes the VIP${health}`],
          '  ',
          w,
        ),
      );
    }
  } else if (d.serverId) out.push(`  server identifier ${d.serverId}`);
  if (d.interfaces.length > 0) out.push(`  direct interfaces: ${d.interfaces.join(', ')}`);
  out.push(`  leases: ${counts(d.leases) || 'none'}`);
  out.push(`  dropped packets: ${counts(d.drops) || 'none'}`);
  return out;
}

/** One line: its size, or that it refuses writes and what it does about it. */
function renderStore(st: StoreStatsJson, w: number): string[] {
  if (!st.failed) {
    const recovered =
      st.recoveries > 0 ? `, recovered ${st.recoveries} time${st.recoveries === 1 ? '' : 's'}` : '';
    return [
      `  lease store: ${st.leases} record${st.leases === 1 ? '' : 's'}, generation ${st.generation}, journal ${bytes(st.journalBytes)}${recovered}`,
    ];
  }
  // The error itself is DHCP's "why", whole.
  const r = st.recovery;
  const retry = r
    ? `; retrying by itself: ${r.attempts} attempt${r.attempts === 1 ? '' : 's'} so far, next in ${human(r.nextAttemptInMs / 1000)}`
    : '';
  return wrap([`lease store: FAILED, refusing every write${retry}`], '  ', w);
}

/**
 * One row per instance (state, configured and effective priority, and why they differ), then what it hears:
 * the master, the VIPs held, adverts, the last transition and its reason. Rows longer than the screen wrap.
 */
function renderVrrp(
  list: readonly VrrpInstanceJson[],
  sup: SupervisorDecisionJson | undefined,
  nowSec: number,
  w: number,
): string[] {
  const rows = table(
    ['instance', 'state', 'prio', 'effective (why)'],
    list.map((i) => [
      i.name,
      i.state,
      String(i.priority),
      String(i.effectivePriority) +
        (i.priorityReasons.length
          ? ` (${i.priorityReasons.map((r) => priorityReason(r, sup)).join('; ')})`
          : ''),
    ]),
  ).split('\n');
  const out = [`  ${rows[0]}`];
  list.forEach((i, n) => {
    out.push(...wrap([rows[n + 1]!], '  ', w));
    const master = !i.masterAddress
      ? 'no master heard'
      : i.masterAddress === i.ownAddress
        ? `master: this node (${i.ownAddress})`
        : `master: ${i.masterAddress}`;
    const vips = i.vips.length ? `, holding ${i.vips.join(', ')}` : '';
    out.push(`    ${master}${vips}; adverts ${i.advertsSent} sent, ${i.advertsReceived} received`);
    const t = i.lastTransition;
    if (t)
      out.push(
        ...wrap([`last change ${t.from}->${t.to} ${ago(toSec(t.at), nowSec)}: ${t.reason}`], '    ', w),
      );
  });
  for (const i of list) {
    const drops = counts(i.drops);
    if (drops) out.push(`  ${i.name} drops: ${drops}`);
    if (i.faults.length) out.push(`  ${i.name} in FAULT because: ${i.faults.join('; ')}`);
    if (i.disabledScripts.length)
      out.push(
        `  ${i.name} scripts refused by enable_script_security (never run; see the log): ${i.disabledScripts.join('; ')}`,
      );
    for (const n of i.scriptsNotRun) {
      const times = `${n.attempts} attempt${n.attempts === 1 ? '' : 's'}, first ${ago(toSec(n.since), nowSec)}`;
      out.push(
        `  ${i.name} cannot run ${n.script} (${n.command})${n.user ? ` as ${n.user}` : ''} (${times}): ${n.reason}`,
        `    fix: ${n.fix}`,
      );
    }
  }
  return out;
}

/**
 * `-253 external: <the supervisor's health> failing` is the supervisor's weight: its reason is DHCP's "why" above,
 * not repeated. Other reasons (track scripts, interfaces) as VRRP gives them.
 */
function priorityReason(r: string, sup: SupervisorDecisionJson | undefined): string {
  const m = /^([+-]\d+) external: /.exec(r);
  return m && sup && sup.vrrpWeight !== 0 ? `${m[1]} from the supervisor: see DHCP` : r;
}

/**
 * `  13:57:00   3m ago ! VRRP VI_1 MASTER -> BACKUP: ...`: the time (UTC) to find it in the log, its age to read
 * at a glance (which also tells an older day), `!` on what needs a look.
 */
function renderEvent(e: EventJson, nowSec: number, w: number): string[] {
  const t = toSec(e.at);
  const d = new Date(t * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  const when = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return wrap([e.text], `  ${when} ${ago(t, nowSec).padStart(8)} ${e.alarm ? '!' : ' '} `, w);
}

/** `a; b (c; d); e` -> `a`, `b (c; d)`, `e`: the reason's clauses, each on its own line. */
function topLevelParts(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && c === ';' && text[i + 1] === ' ') {
      parts.push(text.slice(start, i));
      start = i + 2;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const toSec = (iso: string): number => Math.floor(Date.parse(iso) / 1000) || 0;

/** `active 3, abandoned 1`, in the daemon's order. */
function counts(r: Record<string, number>): string {
  return Object.entries(r)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

function bytes(n: number): string {
  if (n < 10_000) return `${n} B`;
  if (n < 10_000_000) return `${Math.round(n / 1000)} kB`;
  return `${Math.round(n / 1_000_000)} MB`;
}

/**
 * Each part on its own line after `first` (the next ones indented under it), word-wrapped at `w` columns: a long
 * reason stays whole, one screen wide.
 */
function wrap(parts: string[], first: string, w: number): string[] {
  const pad = ' '.repeat(first.length);
  const out: string[] = [];
  for (const part of parts) {
    let line = out.length === 0 ? first : pad;
    let empty = true;
    for (const word of part.split(' ')) {
      if (!empty && line.length + 1 + word.length > w) {
        out.push(line);
        line = pad + '  ' + word;
      } else line += (empty ? '' : ' ') + word;
      empty = false;
    }
    out.push(line);
  }
  return out;
}
