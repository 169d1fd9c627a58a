import { formatIp4, parseIp4, parseMac } from '@hadhcp/common';
import type { Diagnostic } from '@hadhcp/config';
import {
  Result,
  type ControlResponse,
  type ControlServer,
  type DhcpStatusJson,
  type LeaseJson,
  type StatusReport,
  type SupervisorDecisionJson,
} from '@hadhcp/control';
import type { DhcpService } from '@hadhcp/dhcp';
import { BindingState, type Lease, type LeaseStore } from '@hadhcp/leases';
import type { SupervisorDecision } from '@hadhcp/supervisor';
import type { EventLog } from './events.js';
import type { FailoverRunner } from './failover-runner.js';
import { leaseToJson } from './lease-json.js';
import { loadConfigs, VERSION, type ConfigError, type ConfigFiles } from './load-config.js';
import type { Supervisor } from './supervise.js';
import type { VrrpRunner } from './vrrp-runner.js';

/**
 * What the commands use of the daemon (the Daemon class has it all): declared here so that the commands do not
 * import the daemon that registers them, and tests can hand in only the parts a command reads.
 */
export interface CommandHost {
  readonly control: Pick<ControlServer, 'register'>;
  readonly opts: ConfigFiles;
  readonly startedAt: number;
  readonly dhcp:
    Pick<DhcpService, 'table' | 'status' | 'counters' | 'coreCounters' | 'deleteLease'> | undefined;
  readonly vrrp: Pick<VrrpRunner, 'status'> | undefined;
  readonly failover: Pick<FailoverRunner, 'status' | 'get'> | undefined;
  readonly supervisor: Pick<Supervisor, 'decision' | 'handover'> | undefined;
  readonly store: Pick<LeaseStore, 'stats'> | undefined;
  readonly events?: Pick<EventLog, 'add' | 'list'>;
  reload(): Promise<{ ok: boolean; text: string; diagnostics: Diagnostic[] }>;
  stop(): Promise<void>;
}

const ok = (text: string, args?: unknown): ControlResponse => ({
  result: Result.SUCCESS,
  text,
  arguments: args,
});
const err = (text: string): ControlResponse => ({ result: Result.ERROR, text });
const empty = (text: string): ControlResponse => ({ result: Result.EMPTY, text });

/** Addresses that hold nothing worth showing by default (pristine pool addresses). */
function isPristine(l: Lease): boolean {
  return (l.state === BindingState.FREE || l.state === BindingState.BACKUP) && !l.hwAddr && !l.clientId;
}

function parseId(text: string): Uint8Array | undefined {
  return parseMac(text.trim());
}

/** Every command the daemon answers, registered explicitly. Names and shapes follow Kea where Kea has one. */
export function registerCommands(d: CommandHost): void {
  const c = d.control;

  c.register('status-get', () => ok('hadhcp is running', statusOf(d)));

  c.register('lease4-get', (a) => {
    const dhcp = d.dhcp;
    if (!dhcp) return err('DHCP is not running in this daemon');
    let lease: Lease | undefined;
    if (typeof a['ip-address'] === 'string') {
      const ip = parseIp4(a['ip-address']);
      if (ip === undefined) return err(`'${a['ip-address']}' is not an IPv4 address`);
      lease = dhcp.table.get(ip);
    } else if (typeof a['identifier-type'] === 'string' && typeof a.identifier === 'string') {
      const id = parseId(a.identifier);
      if (!id) return err(`identifier '${a.identifier}' is not colon-separated hex`);
      if (a['identifier-type'] === 'hw-address') lease = dhcp.table.byHardware(1, id)[0];
      else if (a['identifier-type'] === 'client-id') lease = dhcp.table.byClientId(id)[0];
      else return err(`identifier-type must be hw-address or client-id, not '${a['identifier-type']}'`);
    } else {
      return err('give "ip-address", or "identifier-type" (hw-address|client-id) and "identifier"');
    }
    if (!lease || isPristine(lease)) return empty('Lease not found.');
    return ok('IPv4 lease found.', leaseToJson(lease));
  });

  c.register('lease4-get-all', (a) => {
    const dhcp = d.dhcp;
    if (!dhcp) return err('DHCP is not running in this daemon');
    const includeFree = a['include-free'] === true;
    const leases: LeaseJson[] = [];
    for (const l of dhcp.table.values()) if (includeFree || !isPristine(l)) leases.push(leaseToJson(l));
    if (leases.length === 0) return empty('0 IPv4 lease(s) found.');
    return ok(`${leases.length} IPv4 lease(s) found.`, { leases });
  });

  c.register('lease4-get-page', (a) => {
    const dhcp = d.dhcp;
    if (!dhcp) return err('DHCP is not running in this daemon');
    const limit = a.limit;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 100_000) {
      return err('"limit" must be an integer from 1 to 100000');
    }
    let from = -1;
    if (a.from !== 'start') {
      const ip = typeof a.from === 'string' ? parseIp4(a.from) : undefined;
      if (ip === undefined) return err('"from" must be "start" or the last address of the previous page');
      from = ip;
    }
    // Pages are in address order so that "from" (the last address seen) is a stable cursor. Only the page's
    // records are decoded: with a million leases a page must not cost a million objects.
    const after: number[] = [];
    for (const ip of dhcp.table.addresses()) if (ip > from) after.push(ip);
    const sorted = Uint32Array.from(after).sort();
    const page: Lease[] = [];
    for (let i = 0; i < sorted.length && page.length < limit; i++) {
      const l = dhcp.table.get(sorted[i]!);
      if (l && !isPristine(l)) page.push(l);
    }
    if (page.length === 0) return empty('0 IPv4 lease(s) found.');
    return ok(`${page.length} IPv4 lease(s) found.`, { leases: page.map(leaseToJson), count: page.length });
  });

  c.register('lease4-del', async (a) => {
    const dhcp = d.dhcp;
    if (!dhcp) return err('DHCP is not running in this daemon');
    const ip = typeof a['ip-address'] === 'string' ? parseIp4(a['ip-address']) : undefined;
    if (ip === undefined) return err('give "ip-address"');
    const l = dhcp.table.get(ip);
    if (!l || isPristine(l)) return empty('IPv4 lease not found.');
    await dhcp.deleteLease(ip);
    return ok(`IPv4 lease ${formatIp4(ip)} deleted.`);
  });

  c.register('statistic-get-all', () => ok('statistics', statisticsOf(d)));

  c.register('config-test', (a) => {
    const dhcpdConf = typeof a.dhcpd === 'string' ? a.dhcpd : d.opts.dhcpdConf;
    const keepalivedConf = typeof a.keepalived === 'string' ? a.keepalived : d.opts.keepalivedConf;
    try {
      const r = loadConfigs({ dhcpdConf, keepalivedConf });
      return ok('Configuration seems sane.', { diagnostics: r.diagnostics });
    } catch (e) {
      return {
        result: Result.ERROR,
        text: (e as Error).message,
        arguments: { diagnostics: (e as ConfigError).diagnostics },
      };
    }
  });

  c.register('config-reload', async () => {
    const r = await d.reload();
    return r.ok
      ? ok(r.text, { diagnostics: r.diagnostics })
      : { result: Result.ERROR, text: r.text, arguments: { diagnostics: r.diagnostics } };
  });

  c.register('vrrp-status-get', () =>
    d.vrrp ? ok('VRRP status', { instances: d.vrrp.status() }) : err('VRRP is not running in this daemon'),
  );

  registerFailoverCommands(d);

  c.register('shutdown', () => {
    setTimeout(() => void d.stop(), 10);
    return ok('Shutting down.');
  });
}

/** `status-get`: typed as @hadhcp/control's StatusReport, which the CLI reads; tsc checks each part fits. */
export function statusOf(d: CommandHost): StatusReport {
  const decision = d.supervisor?.decision;
  return {
    pid: process.pid,
    version: VERSION,
    uptime: Math.round((Date.now() - d.startedAt) / 1000),
    dhcp: d.dhcp && dhcpStatusOf(d.dhcp),
    vrrp: d.vrrp?.status(),
    supervisor: decision && decisionJson(decision),
    failover: d.failover?.status(),
    store: d.store?.stats(),
    events: d.events?.list(),
  };
}

/**
 * @hadhcp/dhcp's DhcpService.status() is still an untyped record (its package owns it): it is read as the JSON
 * shape here, the one unchecked step left. When dhcp declares its status type, this cast goes.
 */
function dhcpStatusOf(dhcp: Pick<DhcpService, 'status'>): DhcpStatusJson {
  return dhcp.status() as unknown as DhcpStatusJson;
}

function decisionJson(d: SupervisorDecision): SupervisorDecisionJson {
  return { ...d, serverId: d.serverId === undefined ? undefined : formatIp4(d.serverId) };
}

function statisticsOf(d: CommandHost): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const stamp = new Date().toISOString();
  const put = (k: string, v: number) => (out[k] = [[v, stamp]]);
  for (const [k, v] of Object.entries(d.dhcp?.counters.toJSON() ?? {})) put(k, v);
  for (const [k, v] of Object.entries(d.dhcp?.coreCounters() ?? {})) put(k, v);
  for (const i of d.vrrp?.status() ?? []) {
    put(`vrrp.${i.name}.adverts-sent`, i.advertsSent ?? 0);
    put(`vrrp.${i.name}.adverts-received`, i.advertsReceived ?? 0);
    for (const [r, v] of Object.entries(i.drops ?? {})) put(`vrrp.${i.name}.drop.${r}`, v);
  }
  for (const f of d.failover?.status() ?? []) {
    const counters: Record<string, number> = f.counters;
    for (const [k, v] of Object.entries(counters)) put(`failover.${f.name}.${k}`, v);
  }
  return out;
}

type FailoverRelationship = NonNullable<ReturnType<NonNullable<CommandHost['failover']>['get']>>;

/** The relationship a command names (`relationship`), or the only one; else the error to answer with. */
function relationshipOf(d: CommandHost, a: Record<string, unknown>): FailoverRelationship | ControlResponse {
  if (!d.failover)
    return err('failover is not running in this daemon (dhcpd.conf has no "failover peer" block)');
  const name = a.relationship;
  if (name !== undefined && typeof name !== 'string') return err('"relationship" must be a string');
  const svc = d.failover.get(name);
  if (svc) return svc;
  const known = d.failover
    .status()
    .map((s) => `"${s.name}"`)
    .join(', ');
  return name === undefined
    ? err(`this daemon has several failover relationships: name one of ${known}`)
    : err(`no failover relationship "${name}"; known: ${known || 'none'}`);
}

const isResponse = (v: FailoverRelationship | ControlResponse): v is ControlResponse => 'result' in v;

/**
 * The operator's failover commands. Only partner-down changes anything, and only where ISC's omshell procedure
 * would (`set local-state = 1`): the machine refuses it unless this server is in communications-interrupted or
 * resolution-interrupted with the link down, and the answer says why.
 */
function registerFailoverCommands(d: CommandHost): void {
  const c = d.control;

  c.register('failover-status', (a) => {
    if (d.failover && a.relationship === undefined)
      return ok('failover status', { relationships: d.failover.status() });
    const svc = relationshipOf(d, a);
    return isResponse(svc) ? svc : ok('failover status', { relationships: [svc.status()] });
  });

  // Kea's names for the planned move (ha-maintenance-start / ha-maintenance-cancel); `hadhcp handover`.
  c.register('ha-maintenance-start', () => {
    if (!d.supervisor)
      return err('handover needs VRRP beside DHCP (a keepalived.conf): there is no VIP to hand over');
    const r = d.supervisor.handover();
    if (r.ok) d.events?.add('handover', `handover asked by the operator: ${r.text}`, { alarm: true });
    return r.ok ? ok(r.text) : err(r.text);
  });
  c.register('ha-maintenance-cancel', () => {
    if (!d.supervisor)
      return err('handover needs VRRP beside DHCP (a keepalived.conf): there is no VIP to hand over');
    const r = d.supervisor.handover(true);
    d.events?.add('handover', `handover --cancel by the operator: ${r.text}`);
    return ok(r.text);
  });

  c.register('failover-partner-down', async (a) => {
    const svc = relationshipOf(d, a);
    if (isResponse(svc)) return svc;
    const before = svc.status();
    const state = await svc.partnerDown();
    const after = svc.status();
    const args = { relationship: before.name, state, was: before.state };
    const peer = `failover peer "${before.name}"`;
    if (state === 'partner-down') {
      if (before.state === 'partner-down') return ok(`${peer} was already in partner-down.`, args);
      d.events?.add('failover', `failover ${before.name}: partner-down by the operator`, { alarm: true });
      const reclaim = after.reclaimAt
        ? `; the partner's expired leases become ours at ${after.reclaimAt}`
        : '';
      return ok(`${peer}: ${before.state} -> partner-down: serving every client${reclaim}.`, args);
    }
    // ISC's rule (the machine's onAdminPartnerDown): only from communications-interrupted or
    // resolution-interrupted, and never while the partner is connected: a partner we can talk to is not down.
    const from = ['communications-interrupted', 'resolution-interrupted'];
    const why = before.connected
      ? `the partner is connected${before.link ? ` (${before.link.local} <-> ${before.link.remote})` : ''}, so it is not down`
      : from.includes(before.state)
        ? 'refused (the log says why)'
        : `this server is in ${before.state}`;
    return {
      result: Result.ERROR,
      text:
        `${peer} stays in ${state}: ${why}. Partner-down is taken only from communications-interrupted or ` +
        "resolution-interrupted, with the link to the partner down (ISC's rule).",
      arguments: args,
    };
  });

  c.register('failover-resync', async (a) => {
    const svc = relationshipOf(d, a);
    if (isResponse(svc)) return svc;
    const st = svc.status();
    const peer = `failover peer "${st.name}"`;
    if (!st.connected)
      return err(`${peer} is not connected to its partner (state ${st.state}): nothing to ask.`);
    // The machine asks for a full update only in normal (onResyncRequested); elsewhere it would only log a refusal.
    if (st.state !== 'normal') return err(`${peer} is in ${st.state}: a resync is asked only in normal.`);
    if (!(await svc.resync())) return err(`${peer} lost its partner: nothing asked.`);
    return ok(`${peer}: asked the partner for every binding (UPDREQALL).`, { relationship: st.name });
  });
}
