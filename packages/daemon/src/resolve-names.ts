import { lookup } from 'node:dns/promises';
import { formatIp4, parseIp4, writeIp4, type Ip4 } from '@hadhcp/common';
import type { DhcpServerConfig, Scope } from '@hadhcp/dhcp';
import type { Logger } from './logger.js';

/** Every scope of the configuration, groups included (they are parents of the leaves). */
function allScopes(cfg: DhcpServerConfig): Set<Scope> {
  const seen = new Set<Scope>();
  const add = (s: Scope | undefined) => {
    for (let x = s; x && !seen.has(x); x = x.parent) seen.add(x);
  };
  add(cfg.global);
  for (const n of cfg.sharedNetworks) {
    add(n.scope);
    for (const p of n.pools) add(p.scope);
  }
  for (const s of cfg.subnets) add(s.scope);
  for (const h of cfg.hosts) add(h.scope);
  return seen;
}

async function resolve(name: string, log: Logger, where: string): Promise<Ip4[]> {
  try {
    const r = await lookup(name, { family: 4, all: true });
    return r.map((a) => parseIp4(a.address)).filter((x): x is Ip4 => x !== undefined);
  } catch (e) {
    log.warn(
      `${where}: cannot resolve "${name}" (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); left out`,
    );
    return [];
  }
}

/**
 * ISC dhcpd accepts host names where addresses go and asks DNS for them. We ask once, at start and at reload,
 * and log what could not be resolved (an operator at 3 a.m. sees why an option is missing).
 */
export async function resolveConfigNames(cfg: DhcpServerConfig, log: Logger): Promise<void> {
  for (const scope of allScopes(cfg)) {
    for (const [code, setting] of scope.options) {
      if (!setting.unresolved) continue;
      const where = `${setting.pos.file}:${setting.pos.line}:${setting.pos.col}: option ${setting.name}`;
      const ips: Ip4[] = [];
      for (const item of setting.unresolved) {
        if (typeof item === 'number') ips.push(item);
        else ips.push(...(await resolve(item, log, where)));
      }
      if (ips.length === 0) {
        log.warn(`${where}: no address left after resolving; the option is not sent`);
        scope.options.delete(code);
        continue;
      }
      const data = new Uint8Array(ips.length * 4);
      ips.forEach((ip, i) => writeIp4(data, i * 4, ip));
      scope.options.set(code, { ...setting, data, unresolved: undefined });
      log.info(`${where}: resolved to ${ips.map(formatIp4).join(', ')}`);
    }
    const p = scope.params;
    if (p.nextServerName && p.nextServer === undefined) {
      p.nextServer = (await resolve(p.nextServerName, log, `next-server ${p.nextServerName}`))[0];
    }
    if (p.serverIdentifierName && p.serverIdentifier === undefined) {
      p.serverIdentifier = (
        await resolve(p.serverIdentifierName, log, `server-identifier ${p.serverIdentifierName}`)
      )[0];
    }
  }
  for (const h of cfg.hosts) {
    for (const name of h.fixedAddressNames ?? []) {
      h.fixedAddresses.push(...(await resolve(name, log, `host ${h.name}: fixed-address`)));
    }
  }
}
