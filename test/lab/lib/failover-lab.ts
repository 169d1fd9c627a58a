// Helpers for the failover labs: the dhcpd.conf of an ISC failover peer, and our FailoverPeerService as a process
// (failover-node.ts) whose JSON lines a test waits on and reads.
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.js';
import type { LabProcess } from './proc.js';
import { REPO_ROOT } from './starters.js';
import type { FailoverNodeConfig, FailoverNodeLine } from './failover-node.js';

export const FAILOVER_NODE = fileURLToPath(new URL('./failover-node.ts', import.meta.url));

export interface IscFailoverConfOptions {
  name: string;
  role: 'primary' | 'secondary';
  address: string;
  peerAddress: string;
  maxResponseDelay: number;
  maxUnackedUpdates: number;
  /** Primary only (ISC refuses mclt and split on a secondary). */
  mclt?: number;
  split?: number;
  /** Extra peer statements (`min-balance 2;`). */
  peerExtra?: string[];
  /** The failover pool's range on the 10.0.0.0/24 segment both servers are on. */
  range: [string, string];
}

/** An ISC dhcpd 4.4 failover peer serving one pool on 10.0.0.0/24. */
export function iscFailoverConf(o: IscFailoverConfOptions): string {
  const peer = [
    `  ${o.role};`,
    `  address ${o.address};`,
    '  port 647;',
    `  peer address ${o.peerAddress};`,
    '  peer port 647;',
    `  max-response-delay ${o.maxResponseDelay};`,
    `  max-unacked-updates ${o.maxUnackedUpdates};`,
    '  load balance max seconds 3;',
  ];
  if (o.mclt !== undefined) peer.push(`  mclt ${o.mclt};`);
  if (o.split !== undefined) peer.push(`  split ${o.split};`);
  for (const x of o.peerExtra ?? []) peer.push(`  ${x}`);
  return `# hadhcp failover lab: ISC dhcpd as ${o.role}
authoritative;
default-lease-time 600;
max-lease-time 1200;
ddns-update-style none;

failover peer "${o.name}" {
${peer.join('\n')}
}

subnet 10.0.0.0 netmask 255.255.255.0 {
  pool {
    failover peer "${o.name}";
    range ${o.range[0]} ${o.range[1]};
  }
}
`;
}

/** Starts failover-node.ts in `ns` (tsx from the repository root); ready when it printed `started`. */
export async function startFailoverNode(
  lab: Lab,
  ns: string,
  config: FailoverNodeConfig,
): Promise<LabProcess> {
  const proc = lab.spawn(ns, process.execPath, ['--import', 'tsx', FAILOVER_NODE, JSON.stringify(config)], {
    cwd: REPO_ROOT,
  });
  await proc.waitForLine(/^\{"type":"(started|fatal)"/, 20_000);
  if (!proc.running || /"type":"fatal"/.test(proc.output()))
    throw new Error(`failover node in ${ns} did not start:\n${proc.tail()}`);
  return proc;
}

/** The node's JSON lines so far (anything else it printed, such as a Node warning, is left out). */
export function nodeLines(proc: LabProcess): FailoverNodeLine[] {
  return proc
    .output()
    .split('\n')
    .flatMap((l) => {
      if (!l.startsWith('{')) return [];
      try {
        return [JSON.parse(l) as FailoverNodeLine];
      } catch {
        return [];
      }
    });
}

/** Asks for the status (SIGUSR1) and returns it once printed. */
export async function nodeStatus(proc: LabProcess, timeoutMs = 5_000): Promise<Record<string, unknown>> {
  const count = (): number => nodeLines(proc).filter((l) => l.type === 'status').length;
  const before = count();
  proc.kill('SIGUSR1');
  const t0 = Date.now();
  while (count() === before) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`no status from ${proc.label} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const last = nodeLines(proc)
    .filter((l) => l.type === 'status')
    .at(-1)!;
  return last.status as Record<string, unknown>;
}
