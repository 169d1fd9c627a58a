import { formatIp4 } from '@hadhcp/common';
import { controlRequest, ControlClientError, Result, type ControlResponse } from '@hadhcp/control';
import { renderFailover, type FailoverStatus } from './failover-format.js';
import { ago, iscDate, table } from './format.js';

interface SocketOpts {
  socket: string;
  json?: boolean;
  all?: boolean;
  /** Lease times as dhcpd.leases writes them instead of relative. */
  utc?: boolean;
}

async function ask(
  socket: string,
  command: string,
  args?: Record<string, unknown>,
): Promise<ControlResponse> {
  return controlRequest(socket, command, args);
}

function fail(e: unknown): number {
  console.error(`hadhcp: ${e instanceof ControlClientError ? e.message : (e as Error).stack}`);
  return 3;
}

export async function runCtl(command: string, json: string | undefined, o: SocketOpts): Promise<number> {
  let args: Record<string, unknown> | undefined;
  if (json !== undefined) {
    try {
      args = JSON.parse(json) as Record<string, unknown>;
    } catch (e) {
      console.error(`hadhcp ctl: arguments are not valid JSON: ${(e as Error).message}`);
      return 2;
    }
  }
  try {
    const r = await ask(o.socket, command, args);
    console.log(JSON.stringify(r, null, 2));
    return r.result === Result.SUCCESS || r.result === Result.EMPTY ? 0 : 1;
  } catch (e) {
    return fail(e);
  }
}

export async function runStatus(o: SocketOpts): Promise<number> {
  try {
    const r = await ask(o.socket, 'status-get');
    if (o.json || r.result !== Result.SUCCESS) {
      console.log(JSON.stringify(r, null, 2));
      return r.result === Result.SUCCESS ? 0 : 1;
    }
    console.log(renderStatus(r.arguments as StatusArgs));
    return 0;
  } catch (e) {
    return fail(e);
  }
}

interface VrrpInstanceStatus {
  name: string;
  state: string;
  priority: number;
  effectivePriority: number;
  priorityReasons?: string[];
  masterAddress?: string;
  lastTransition?: { at: number | string; from: string; to: string; reason: string };
  advertsSent?: number;
  advertsReceived?: number;
  drops?: Record<string, number>;
  faults?: string[];
  disabledScripts?: string[];
  scriptsNotRun?: ScriptNotRun[];
}

/** A script the daemon could not run when its turn came (vrrp's ScriptNotRun). */
interface ScriptNotRun {
  script: string;
  command: string;
  user?: string;
  reason: string;
  fix: string;
  attempts: number;
  since: string;
}

interface StatusArgs {
  pid: number;
  uptime: number;
  version: string;
  dhcp?: {
    serving: boolean;
    reason?: string;
    serverId?: string;
    leases: Record<string, number>;
    drops: Record<string, number>;
    counters?: Record<string, number>;
  };
  vrrp?: VrrpInstanceStatus[];
  failover?: FailoverStatus[];
  store?: Record<string, unknown>;
  warnings?: string[];
}

export function renderStatus(s: StatusArgs, nowSec = Math.floor(Date.now() / 1000)): string {
  const out: string[] = [`hadhcp ${s.version}, pid ${s.pid}, up ${s.uptime}s`];
  if (s.dhcp) {
    const d = s.dhcp;
    out.push('', `DHCP: ${d.serving ? 'serving' : 'NOT serving'}${d.reason ? ` (${d.reason})` : ''}`);
    if (d.serverId) out.push(`  server identifier ${d.serverId}`);
    out.push(
      `  leases: ${Object.entries(d.leases)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    const drops = Object.entries(d.drops);
    out.push(
      `  dropped packets: ${drops.length === 0 ? 'none' : drops.map(([k, v]) => `${k} ${v}`).join(', ')}`,
    );
  }
  if (s.vrrp && s.vrrp.length > 0) {
    out.push('', 'VRRP:');
    out.push(
      table(
        ['instance', 'state', 'prio', 'effective', 'master', 'last change', 'sent/recv'],
        s.vrrp.map((i) => [
          i.name,
          i.state,
          String(i.priority),
          String(i.effectivePriority) +
            (i.priorityReasons?.length ? ` (${i.priorityReasons.join('; ')})` : ''),
          i.masterAddress ?? '-',
          i.lastTransition
            ? `${i.lastTransition.from}->${i.lastTransition.to} ${ago(Math.floor(new Date(i.lastTransition.at).getTime() / 1000), nowSec)}: ${i.lastTransition.reason}`
            : '-',
          `${i.advertsSent ?? 0}/${i.advertsReceived ?? 0}`,
        ]),
      )
        .split('\n')
        .map((l) => '  ' + l)
        .join('\n'),
    );
    for (const i of s.vrrp) {
      const drops = Object.entries(i.drops ?? {});
      if (drops.length) out.push(`  ${i.name} drops: ${drops.map(([k, v]) => `${k} ${v}`).join(', ')}`);
      if (i.faults?.length) out.push(`  ${i.name} in FAULT because: ${i.faults.join('; ')}`);
      if (i.disabledScripts?.length)
        out.push(
          `  ${i.name} scripts refused by enable_script_security (never run; see the log): ${i.disabledScripts.join('; ')}`,
        );
      for (const n of i.scriptsNotRun ?? []) {
        const since = ago(Math.floor(new Date(n.since).getTime() / 1000), nowSec);
        const times = `${n.attempts} attempt${n.attempts === 1 ? '' : 's'}, first ${since}`;
        out.push(
          `  ${i.name} cannot run ${n.script} (${n.command})${n.user ? ` as ${n.user}` : ''} (${times}): ${n.reason}`,
          `    fix: ${n.fix}`,
        );
      }
    }
  }
  if (s.failover && s.failover.length > 0) out.push('', 'Failover:', ...renderFailover(s.failover, nowSec));
  for (const w of s.warnings ?? []) out.push(`warning: ${w}`);
  return out.join('\n');
}

/** `hadhcp failover status [relationship]`: the failover section of `hadhcp status` alone. */
export async function runFailoverStatus(relationship: string | undefined, o: SocketOpts): Promise<number> {
  try {
    const r = await ask(o.socket, 'failover-status', relationship === undefined ? {} : { relationship });
    if (o.json) return printRaw(r);
    if (r.result !== Result.SUCCESS) {
      console.error(`hadhcp: ${r.text}`);
      return 1;
    }
    const list = (r.arguments as { relationships: FailoverStatus[] }).relationships;
    console.log(renderFailover(list, Math.floor(Date.now() / 1000)).join('\n'));
    return 0;
  } catch (e) {
    return fail(e);
  }
}

/**
 * `hadhcp partner-down` and `hadhcp failover resync`: the daemon's answer says what happened (the state after,
 * and why it did not move); exit 0 done, 1 refused.
 */
export async function runFailoverAction(
  command: 'failover-partner-down' | 'failover-resync',
  relationship: string | undefined,
  o: SocketOpts,
): Promise<number> {
  try {
    const r = await ask(o.socket, command, relationship === undefined ? {} : { relationship });
    if (o.json) return printRaw(r);
    if (r.result === Result.SUCCESS) {
      console.log(r.text);
      return 0;
    }
    console.error(`hadhcp: ${r.text}`);
    return 1;
  } catch (e) {
    return fail(e);
  }
}

/** A command whose answer is its text: exit 0 on success, 1 refused (the reason printed), 3 unreachable. */
export async function runSimpleCommand(command: string, o: SocketOpts): Promise<number> {
  try {
    const r = await ask(o.socket, command);
    if (o.json) return printRaw(r);
    if (r.result === Result.SUCCESS) {
      console.log(r.text);
      return 0;
    }
    console.error(`hadhcp: ${r.text}`);
    return 1;
  } catch (e) {
    return fail(e);
  }
}

/** A command's whole answer as JSON (`--json`): exit 0 on success, else 1. */
function printRaw(r: ControlResponse): number {
  console.log(JSON.stringify(r, null, 2));
  return r.result === Result.SUCCESS ? 0 : 1;
}

export async function runLeases(o: SocketOpts): Promise<number> {
  try {
    const r = await ask(o.socket, 'lease4-get-all', o.all ? { 'include-free': true } : undefined);
    if (o.json || (r.result !== Result.SUCCESS && r.result !== Result.EMPTY)) {
      console.log(JSON.stringify(r, null, 2));
      return r.result === Result.SUCCESS || r.result === Result.EMPTY ? 0 : 1;
    }
    const leases = ((r.arguments as { leases?: Record<string, unknown>[] })?.leases ?? []).slice();
    console.log(renderLeases(leases, Math.floor(Date.now() / 1000), o.utc === true));
    console.log(`${leases.length} lease${leases.length === 1 ? '' : 's'}`);
    return 0;
  } catch (e) {
    return fail(e);
  }
}

/**
 * The lease table: address order, dhcpd.leases' words for the columns. The failover times (tstp, tsfp, atsfp)
 * get columns when a lease has one. Times are relative, or with `utc` as dhcpd.leases writes them.
 */
export function renderLeases(leases: Record<string, unknown>[], nowSec: number, utc = false): string {
  const sorted = leases.slice().sort((a, b) => ipKey(a['ip-address']) - ipKey(b['ip-address']));
  const time = (v: unknown): string => {
    if (v === 'never') return 'never';
    const t = Number(v);
    if (!t) return '-';
    return utc ? iscDate(t) : ago(t, nowSec);
  };
  const failover = ['tstp', 'tsfp', 'atsfp'].filter((k) => sorted.some((l) => l[k] !== undefined));
  return table(
    ['address', 'state', 'hardware', 'hostname', 'ends', 'cltt', ...failover],
    sorted.map((l) => [
      String(l['ip-address']),
      String(l['binding-state']),
      String(l['hw-address'] || '-'),
      String(l.hostname || '-'),
      time(l.ends),
      time(l.cltt),
      ...failover.map((k) => time(l[k])),
    ]),
  );
}

function ipKey(v: unknown): number {
  const p = String(v).split('.').map(Number);
  return p.length === 4 ? ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0 : 0;
}

export { formatIp4 };
