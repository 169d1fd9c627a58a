// Helpers for the VRRP labs: a segment (bridge sw0 in the lab's switch namespace) with router namespaces, and
// hadhcp nodes run exactly as operators run them: `hadhcp run --keepalived keepalived.conf` from the built CLI,
// as real processes (so they can be kill -9'd), their status read through the control socket. The same
// keepalived.conf text also feeds keepalived 2.2.7 in the interop tests.
import { existsSync, mkdirSync } from 'node:fs';
import { controlRequest } from '../../packages/control/src/index.js';
import { HADHCP_CLI } from './lib/starters.js';
import type { Lab } from './lib/lab.js';
import type { LabProcess } from './lib/proc.js';

export const VIP = '10.77.0.10';

export interface InstanceOpts {
  priority: number;
  state?: 'MASTER' | 'BACKUP';
  preempt?: boolean;
  pass?: string;
  vrid?: number;
  name?: string;
  vip?: string;
  iface?: string;
  trackInterfaces?: { name: string; weight?: number }[];
  script?: { path: string; weight?: number; interval?: number; fall?: number; rise?: number; user?: string };
  notify?: string;
  notifyMaster?: string;
  notifyBackup?: string;
  unicast?: { src: string; peers: string[] };
  /** Further lines for the vrrp_instance block (keepalived-only keywords for the keepalived peer). */
  extra?: string[];
}

export interface ConfOpts {
  instances: InstanceOpts[];
  syncGroup?: { name: string; instances: string[] };
  scriptUser?: string;
  /** Off only to show what keepalived does without it; on by default, as a careful operator would. */
  scriptSecurity?: boolean;
}

function instanceBlock(o: InstanceOpts): string {
  const name = o.name ?? 'VI_1';
  const iface = o.iface ?? 'eth0';
  const lines = [
    `vrrp_instance ${name} {`,
    `  state ${o.state ?? 'BACKUP'}`,
    `  interface ${iface}`,
    `  virtual_router_id ${o.vrid ?? 51}`,
    `  priority ${o.priority}`,
    '  advert_int 1',
  ];
  if (o.preempt === false) lines.push('  nopreempt');
  lines.push(
    '  authentication {',
    '    auth_type PASS',
    `    auth_pass ${o.pass ?? 'secret'}`,
    '  }',
    '  virtual_ipaddress {',
    `    ${o.vip ?? VIP}/24 dev ${iface} label ${iface}:vip`,
    '  }',
  );
  if (o.trackInterfaces?.length) {
    lines.push('  track_interface {');
    for (const t of o.trackInterfaces)
      lines.push(`    ${t.name}${t.weight !== undefined ? ` weight ${t.weight}` : ''}`);
    lines.push('  }');
  }
  if (o.script) lines.push('  track_script {', `    chk_${name}`, '  }');
  if (o.unicast) {
    lines.push(`  unicast_src_ip ${o.unicast.src}`, '  unicast_peer {');
    for (const p of o.unicast.peers) lines.push(`    ${p}`);
    lines.push('  }');
  }
  for (const l of o.extra ?? []) lines.push(`  ${l}`);
  if (o.notify) lines.push(`  notify "${o.notify}"`);
  if (o.notifyMaster) lines.push(`  notify_master "${o.notifyMaster}"`);
  if (o.notifyBackup) lines.push(`  notify_backup "${o.notifyBackup}"`);
  lines.push('}');
  return lines.join('\n');
}

function scriptBlock(o: InstanceOpts): string {
  const s = o.script!;
  return [
    `vrrp_script chk_${o.name ?? 'VI_1'} {`,
    `  script "${s.path}"`,
    `  interval ${s.interval ?? 1}`,
    '  timeout 1',
    ...(s.weight !== undefined ? [`  weight ${s.weight}`] : []),
    `  rise ${s.rise ?? 1}`,
    `  fall ${s.fall ?? 1}`,
    ...(s.user ? [`  user ${s.user}`] : []),
    '}',
  ].join('\n');
}

/** One keepalived.conf, read alike by hadhcp and keepalived 2.2.7. */
export function keepalivedConf(o: InstanceOpts | ConfOpts): string {
  const c: ConfOpts = 'instances' in o ? o : { instances: [o] };
  const parts = [
    'global_defs {',
    '  router_id lab',
    ...(c.scriptSecurity === false ? [] : ['  enable_script_security']),
    `  script_user ${c.scriptUser ?? 'root'}`,
    '}',
  ];
  for (const i of c.instances) if (i.script) parts.push(scriptBlock(i));
  if (c.syncGroup)
    parts.push(
      `vrrp_sync_group ${c.syncGroup.name} {`,
      '  group {',
      ...c.syncGroup.instances.map((n) => `    ${n}`),
      '  }',
      '}',
    );
  for (const i of c.instances) parts.push(instanceBlock(i));
  return parts.join('\n') + '\n';
}

/** A segment: bridge sw0 (multicast snooping off) and router namespaces r1, r2 ... with eth0 = 10.77.0.(i+1). */
export async function segment(lab: Lab, routers: string[]): Promise<void> {
  const sw = await lab.addBridge(undefined, 'sw0');
  for (const [i, r] of routers.entries()) {
    await lab.addNamespace(r);
    await lab.link(r, 'eth0', sw);
    await lab.addr(r, 'eth0', `10.77.0.${i + 2}/24`);
  }
}

/** A running `hadhcp run --keepalived`: its process and its control socket. */
export interface VrrpNode {
  proc: LabProcess;
  socket: string;
  conf: string;
}

/**
 * Starts `hadhcp run --keepalived <conf>` in `ns`. Ready when the daemon says it started (after the VRRP
 * instances and the control socket are up). The built CLI is used: `npx tsc -b` first.
 */
export async function startNode(
  lab: Lab,
  ns: string,
  o: InstanceOpts | ConfOpts,
  tag = '0',
): Promise<VrrpNode> {
  if (!existsSync(HADHCP_CLI)) throw new Error(`${HADHCP_CLI} missing: run npx tsc -b`);
  const dir = lab.file(`hadhcp-${ns}-${tag}`);
  mkdirSync(dir, { recursive: true });
  const conf = lab.file(`hadhcp-${ns}-${tag}/keepalived.conf`, keepalivedConf(o));
  const socket = `${dir}/control.sock`;
  const proc = lab.spawn(ns, process.execPath, [
    HADHCP_CLI,
    'run',
    '--keepalived',
    conf,
    '--state-dir',
    dir,
    '--socket',
    socket,
  ]);
  await proc.waitForLine(/hadhcp \S+ started|cannot start/, 15_000).catch(() => undefined);
  if (!proc.running || !existsSync(socket)) throw new Error(`hadhcp in ${ns} did not start:\n${proc.tail()}`);
  return { proc, socket, conf };
}

export async function hasVip(lab: Lab, ns: string, vip = VIP, iface = 'eth0'): Promise<boolean> {
  return (await lab.ipv4(ns, iface)).includes(`${vip}/24`);
}

/** Polls until `cond` holds; returns the elapsed milliseconds, or throws after `timeoutMs`. */
export async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function vipHolders(lab: Lab, nss: string[], vip = VIP): Promise<string[]> {
  const out: string[] = [];
  for (const ns of nss) if (await hasVip(lab, ns, vip)) out.push(ns);
  return out;
}

/** What an operator sees: `vrrp-status-get` on the control socket, one entry per instance. */
export async function nodeStatus(n: VrrpNode): Promise<Array<Record<string, unknown>>> {
  const r = await controlRequest(n.socket, 'vrrp-status-get');
  if (r.result !== 0) throw new Error(`vrrp-status-get: ${r.text}`);
  return (r.arguments as { instances: Array<Record<string, unknown>> }).instances;
}

/** The log messages of a node (pino JSON lines -> `msg`), for assertions on keepalived's words. */
export function messages(n: VrrpNode): string[] {
  return n.proc
    .output()
    .split('\n')
    .flatMap((l) => {
      try {
        const m = (JSON.parse(l) as { msg?: unknown }).msg;
        return typeof m === 'string' ? [m] : [];
      } catch {
        return [];
      }
    });
}
