import { formatIp4, parseIp4, parseMac } from '@hadhcp/common';
import { Result, type ControlResponse } from '@hadhcp/control';
import { BindingState, type Lease } from '@hadhcp/leases';
import { loadConfigs, VERSION, type ConfigError, type Daemon } from './daemon.js';
import { leaseToJson } from './lease-json.js';

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
export function registerCommands(d: Daemon): void {
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
    const leases: Record<string, unknown>[] = [];
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

  c.register('shutdown', () => {
    setTimeout(() => void d.stop(), 10);
    return ok('Shutting down.');
  });
}

export function statusOf(d: Daemon): Record<string, unknown> {
  return {
    pid: process.pid,
    version: VERSION,
    uptime: Math.round((Date.now() - d.startedAt) / 1000),
    dhcp: d.dhcp?.status(),
    vrrp: d.vrrp?.status(),
    store: d.store?.stats(),
  };
}

function statisticsOf(d: Daemon): Record<string, unknown> {
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
  return out;
}
