// Helpers for the VRRP labs: a segment (bridge sw0 in the lab's switch namespace) with router namespaces, hadhcp
// VRRP nodes run as real processes (packages/vrrp/dist/service/main.js, so they can be kill -9'd), and the
// keepalived.conf / KeepalivedConfig pair describing the same instance.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseIp4 } from '@hadhcp/common';
import type { KeepalivedConfig, VrrpInstanceConfig } from '@hadhcp/vrrp';
import type { Lab } from './lib/lab.js';
import type { LabProcess } from './lib/proc.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = `${ROOT}packages/vrrp/dist/service/main.js`;
export const VIP = '10.77.0.10';

/** Builds packages/vrrp/dist once per file: the nodes are separate processes and run the compiled JS. */
export function buildVrrp(): void {
  execFileSync('npx', ['tsc', '-b', 'packages/vrrp'], { cwd: ROOT, stdio: 'inherit' });
}

export interface InstanceOpts {
  priority: number;
  state?: 'MASTER' | 'BACKUP';
  preempt?: boolean;
  pass?: string;
  vrid?: number;
  trackInterfaces?: { name: string; weight?: number }[];
  script?: { path: string; weight: number; interval?: number; fall?: number; rise?: number };
  notify?: string;
}

const pos = { file: 'lab', line: 1, col: 1 };

export function hadhcpConfig(o: InstanceOpts): KeepalivedConfig {
  const inst: VrrpInstanceConfig = {
    name: 'VI_1',
    initialState: o.state ?? 'BACKUP',
    interface: 'eth0',
    vrid: o.vrid ?? 51,
    priority: o.priority,
    advertInt: 1,
    auth: { type: 'PASS', pass: o.pass ?? 'secret' },
    virtualAddresses: [{ address: parseIp4(VIP)!, prefix: 24, label: 'eth0:vip', pos }],
    virtualAddressesExcluded: [],
    preempt: o.preempt ?? true,
    preemptDelay: 0,
    unicastPeers: [],
    trackInterfaces: o.trackInterfaces ?? [],
    trackScripts: o.script ? [{ name: 'chk' }] : [],
    ...(o.notify ? { notify: o.notify } : {}),
    pos,
  };
  return {
    global: {
      enableScriptSecurity: false,
      garpMasterDelay: 5,
      garpMasterRepeat: 5,
      garpMasterRefresh: 0,
      garpMasterRefreshRepeat: 1,
      ignored: [],
    },
    scripts: o.script
      ? [
          {
            name: 'chk',
            script: o.script.path,
            interval: o.script.interval ?? 1,
            timeout: 1,
            weight: o.script.weight,
            rise: o.script.rise ?? 1,
            fall: o.script.fall ?? 1,
            pos,
          },
        ]
      : [],
    instances: [inst],
    syncGroups: [],
    files: [],
  };
}

export function keepalivedConf(o: InstanceOpts): string {
  return `global_defs {
  router_id lab
  enable_script_security
  script_user root
}
vrrp_instance VI_1 {
  state ${o.state ?? 'BACKUP'}
  interface eth0
  virtual_router_id ${o.vrid ?? 51}
  priority ${o.priority}
  advert_int 1
  ${o.preempt === false ? 'nopreempt' : ''}
  authentication {
    auth_type PASS
    auth_pass ${o.pass ?? 'secret'}
  }
  virtual_ipaddress {
    ${VIP}/24 dev eth0 label eth0:vip
  }
}
`;
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

export async function startNode(lab: Lab, ns: string, o: InstanceOpts, tag = '0'): Promise<LabProcess> {
  const cfg = lab.file(`hadhcp-${ns}-${tag}.json`, JSON.stringify(hadhcpConfig(o)));
  const p = lab.spawn(ns, process.execPath, [MAIN, cfg]);
  await p.waitForLine(/VRRP service started|fatal/, 10_000);
  if (!p.running || /fatal/.test(p.output())) throw new Error(`node in ${ns} failed:\n${p.tail()}`);
  return p;
}

export async function hasVip(lab: Lab, ns: string): Promise<boolean> {
  return (await lab.ipv4(ns, 'eth0')).includes(`${VIP}/24`);
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

export async function vipHolders(lab: Lab, nss: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const ns of nss) if (await hasVip(lab, ns)) out.push(ns);
  return out;
}

/** Asks a node for its status (SIGUSR1 -> `STATUS <json>` line). */
export async function nodeStatus(p: LabProcess): Promise<Array<Record<string, unknown>>> {
  const before = (p.output().match(/^STATUS /gm) ?? []).length;
  p.kill('SIGUSR1');
  await until(async () => (p.output().match(/^STATUS /gm) ?? []).length > before, 3000, 'status');
  const lines = p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('STATUS '));
  return JSON.parse(lines[lines.length - 1]!.slice(7)) as Array<Record<string, unknown>>;
}
