import { formatIp4 } from '@hadhcp/common';
import {
  controlRequest,
  ControlClientError,
  Result,
  type CommandResults,
  type ControlResponse,
  type LeaseJson,
  type StatusReport,
} from '@hadhcp/control';
import { renderFailover } from './failover-format.js';
import { ago, iscDate, table } from './format.js';
import { renderStatus } from './status-format.js';

export { renderStatus };

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
    console.log(renderStatus(r.arguments as StatusReport));
    return 0;
  } catch (e) {
    return fail(e);
  }
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
    const list = (r.arguments as CommandResults['failover-status']).relationships;
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
export function runFailoverAction(
  command: 'failover-partner-down' | 'failover-resync',
  relationship: string | undefined,
  o: SocketOpts,
): Promise<number> {
  return runSimpleCommand(command, o, relationship === undefined ? {} : { relationship });
}

/** A command whose answer is its text: exit 0 on success, 1 refused (the reason printed), 3 unreachable. */
export async function runSimpleCommand(
  command: string,
  o: SocketOpts,
  args?: Record<string, unknown>,
): Promise<number> {
  try {
    const r = await ask(o.socket, command, args);
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
    const leases = (r.arguments as CommandResults['lease4-get-all'] | undefined)?.leases ?? [];
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
export function renderLeases(leases: readonly LeaseJson[], nowSec: number, utc = false): string {
  const sorted = leases.slice().sort((a, b) => ipKey(a['ip-address']) - ipKey(b['ip-address']));
  const time = (v: number | 'never' | undefined): string => {
    if (v === 'never') return 'never';
    if (!v) return '-';
    return utc ? iscDate(v) : ago(v, nowSec);
  };
  const failover = (['tstp', 'tsfp', 'atsfp'] as const).filter((k) => sorted.some((l) => l[k] !== undefined));
  return table(
    ['address', 'state', 'hardware', 'hostname', 'ends', 'cltt', ...failover],
    sorted.map((l) => [
      l['ip-address'],
      l['binding-state'],
      l['hw-address'] || '-',
      l.hostname || '-',
      time(l.ends),
      time(l.cltt),
      ...failover.map((k) => time(l[k])),
    ]),
  );
}

function ipKey(v: string): number {
  const p = v.split('.').map(Number);
  return p.length === 4 ? ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0 : 0;
}

export { formatIp4 };
