// Server starters for the topologies: the same test can run against ISC dhcpd, Kea or hadhcp.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.js';
import type { LabProcess } from './proc.js';
import { startDhcpd, startKea, type DhcpdHandle, type KeaHandle } from './peers/servers.js';
import { sampleDhcpdConf, type RouterSpot, type ServerStarter } from './topology.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/**
 * What bin/hadhcp runs, operators' command: packages/cli/dist/hadhcp.mjs, the one-file build (scripts/bundle.mjs),
 * unless a package was compiled after it; then dist/main.js, the same code module by module. In CI (pnpm build)
 * the one-file build, so every lab test runs what operators run.
 */
export const HADHCP_CLI = currentCli();

function currentCli(): string {
  const dist = `${REPO_ROOT}packages/cli/dist/`;
  const bundle = `${dist}hadhcp.mjs`;
  if (!existsSync(bundle)) return `${dist}main.js`;
  const made = statSync(bundle).mtimeMs;
  for (const p of readdirSync(`${REPO_ROOT}packages`)) {
    const info = `${REPO_ROOT}packages/${p}/dist/.tsbuildinfo`;
    if (existsSync(info) && statSync(info).mtimeMs > made) return `${dist}main.js`;
  }
  return bundle;
}

export function dhcpdStarter(conf: string = sampleDhcpdConf()): ServerStarter<DhcpdHandle> {
  return (lab: Lab, at: RouterSpot) => startDhcpd(lab, at.ns, { conf, interfaces: [at.ifName] });
}

/** Kea's Dhcp4 object equivalent to sampleDhcpdConf(). */
export function sampleKeaDhcp4(ifName: string): Record<string, unknown> {
  return {
    'interfaces-config': { interfaces: [ifName], 'dhcp-socket-type': 'raw' },
    'valid-lifetime': 600,
    authoritative: true,
    subnet4: [
      { id: 1, subnet: '10.0.0.0/24' },
      {
        id: 2,
        subnet: '10.1.0.0/24',
        pools: [{ pool: '10.1.0.50 - 10.1.0.99' }],
        'option-data': [{ name: 'routers', data: '10.1.0.1' }],
      },
    ],
  };
}

export function keaStarter(dhcp4?: (at: RouterSpot) => Record<string, unknown>): ServerStarter<KeaHandle> {
  return (lab: Lab, at: RouterSpot) =>
    startKea(lab, at.ns, { dhcp4: dhcp4 ? dhcp4(at) : sampleKeaDhcp4(at.ifName) });
}

export interface HadhcpOptions {
  dhcpd?: string;
  keepalived?: string;
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export interface HadhcpHandle {
  proc: LabProcess;
  socketPath: string;
  stateDir: string;
}

/**
 * hadhcp from the built CLI (pnpm build first). Ready when its control socket exists.
 * (The daemon is in progress; its readiness signal may change: keep this the one place that knows it.)
 */
export function hadhcpStarter(o: HadhcpOptions = {}): ServerStarter<HadhcpHandle> {
  return async (lab: Lab, at: RouterSpot) => {
    if (!existsSync(HADHCP_CLI)) throw new Error(`${HADHCP_CLI} missing: run pnpm build`);
    const stateDir = lab.file(`hadhcp-${at.ns}`);
    mkdirSync(stateDir, { recursive: true });
    const socketPath = `${stateDir}/control.sock`;
    const args = [
      HADHCP_CLI,
      'run',
      '--dhcpd',
      lab.file(`hadhcp-${at.ns}.dhcpd.conf`, o.dhcpd ?? sampleDhcpdConf()),
    ];
    if (o.keepalived) args.push('--keepalived', lab.file(`hadhcp-${at.ns}.keepalived.conf`, o.keepalived));
    args.push('--state-dir', stateDir, '--socket', socketPath, ...(o.extraArgs ?? []));
    const proc = lab.spawn(at.ns, process.execPath, args);
    const deadline = Date.now() + (o.readyTimeoutMs ?? 15_000);
    while (!existsSync(socketPath)) {
      if (!proc.running) throw new Error(`hadhcp exited before it was ready\n${proc.tail()}`);
      if (Date.now() > deadline) throw new Error(`hadhcp: no control socket after start\n${proc.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { proc, socketPath, stateDir };
  };
}
