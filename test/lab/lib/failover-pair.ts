// Two hadhcp daemons as the two servers of one failover relationship (issue 7): their dhcpd.conf, the failover part
// of their status (status-get's `failover`), their ACTIVE leases as ip -> hardware address, and the load-balancing
// side a client's MAC falls on (RFC 3074 hash against `split 128`), so a test can pick a client for each node.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FailoverPeerStatus } from '../../../packages/failover/src/service/types.js';
import { loadBalanceHash } from '../../../packages/failover/src/wire/loadb.js';
import { allLeases, ctl, type Hadhcp, type LeaseJson } from './dhcp-helpers.js';

export type { FailoverPeerStatus };

export interface PairConfOptions {
  name: string;
  role: 'primary' | 'secondary';
  address: string;
  peerAddress: string;
  /** Seconds. */
  maxResponseDelay: number;
  maxUnackedUpdates: number;
  /** Primary only (ISC refuses mclt and split on a secondary: it takes the primary's from CONNECT). */
  mclt?: number;
  split?: number;
  /** More peer statements (`min-balance 3;`). */
  peerExtra?: string[];
  /**
   * A failover pool on the routers' own segment 10.0.0.0/24 too (DIRECT_POOL), for clients attached to it with no
   * relay between (test/lab/pair-direct.test.ts), their default router the VIP.
   */
  directPool?: boolean;
}

/** The directly attached clients' failover pool on the routers' segment (pairConf's `directPool`). */
export const DIRECT_POOL: [string, string] = ['10.0.0.100', '10.0.0.149'];

/** The relayed client subnet's failover pool (50 addresses). */
export const CLIENT_POOL: [string, string] = ['10.1.0.50', '10.1.0.99'];
/** perfdhcp's subnet behind its relay address 10.2.0.1 (1024 addresses). */
export const LOAD_POOL: [string, string] = ['10.2.1.0', '10.2.4.255'];

/**
 * One node's dhcpd.conf: the failover peer block and two pools naming it, the relayed clients' (10.1.0.0/24) and
 * perfdhcp's (10.2.0.0/16). No ping-check: perfdhcp's clients cannot answer, and the lab clients have no way back.
 */
export function pairConf(o: PairConfOptions): string {
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
  return `# hadhcp failover pair lab: ${o.role}
authoritative;
default-lease-time 600;
max-lease-time 1200;
ddns-update-style none;
ping-check false;

failover peer "${o.name}" {
${peer.join('\n')}
}

subnet 10.0.0.0 netmask 255.255.255.0 {${
    o.directPool
      ? `
  option routers 10.0.0.10;
  option subnet-mask 255.255.255.0;
  pool {
    failover peer "${o.name}";
    range ${DIRECT_POOL[0]} ${DIRECT_POOL[1]};
  }`
      : ''
  }
}

subnet 10.1.0.0 netmask 255.255.255.0 {
  option routers 10.1.0.1;
  option subnet-mask 255.255.255.0;
  option broadcast-address 10.1.0.255;
  pool {
    failover peer "${o.name}";
    range ${CLIENT_POOL[0]} ${CLIENT_POOL[1]};
  }
}

subnet 10.2.0.0 netmask 255.255.0.0 {
  pool {
    failover peer "${o.name}";
    range ${LOAD_POOL[0]} ${LOAD_POOL[1]};
  }
}
`;
}

/** The relationship's entry of status-get (`failover`), or undefined when the daemon runs none. */
export async function failoverStatus(h: Hadhcp, name: string): Promise<FailoverPeerStatus | undefined> {
  const r = await ctl(h, 'status-get');
  const list = (r.arguments?.failover ?? []) as FailoverPeerStatus[];
  return list.find((s) => s.name === name);
}

/** One line per node for timeouts and assertion messages: state, partner, serve, link, updates, pool. */
export function describeStatus(s: FailoverPeerStatus | undefined): string {
  if (!s) return 'no failover status';
  const pool = s.pool ? ` pool ${s.pool.free} free/${s.pool.backup} backup of ${s.pool.total}` : '';
  return (
    `${s.role} ${s.state} (partner ${s.partnerState}) serve ${s.serve} ` +
    `${s.connected ? 'connected' : 'not connected'} updates ${s.updates.queued} queued/${s.updates.unacked} unacked${pool}`
  );
}

/**
 * ACTIVE leases as ip -> hardware address. With `aliveFor` (seconds), only those that still have that long to run:
 * the first grant of a failover lease is MCLT long (30 s here), so a test that lasts longer sees its early leases
 * expire, and two nodes compared a moment apart may disagree on one that is expiring right then.
 */
export async function activeLeases(h: Hadhcp, aliveFor?: number): Promise<Map<string, string>> {
  const after = aliveFor === undefined ? -Infinity : Date.now() / 1000 + aliveFor;
  const out = new Map<string, string>();
  for (const l of await allLeases(h))
    if (l['binding-state'] === 'active' && (l.ends === 'never' || l.ends > after))
      out.set(l['ip-address'], l['hw-address']);
  return out;
}

/** Every record, free and backup ones included (lease4-get-all `include-free`). */
export async function allRecords(h: Hadhcp): Promise<LeaseJson[]> {
  const r = await ctl(h, 'lease4-get-all', { 'include-free': true });
  return r.result === 0 ? (r.arguments.leases as LeaseJson[]) : [];
}

/** Sorted `ip mac` lines, for comparing two nodes' lease sets with a readable diff. */
export function leaseLines(m: ReadonlyMap<string, string>): string[] {
  return [...m].map(([ip, mac]) => `${ip} ${mac}`).sort();
}

const macBytes = (mac: string): number[] => mac.split(':').map((x) => parseInt(x, 16));

/**
 * Which node answers a DISCOVER from this MAC while both are normal with `split 128` (FACTS 4.4): buckets 0..127
 * are the primary's. udhcpc sends a client identifier (01 + MAC), which is then the key; dhclient sends none.
 */
export function balancedTo(mac: string, withClientId: boolean): 'primary' | 'secondary' {
  const key = Uint8Array.from(withClientId ? [1, ...macBytes(mac)] : macBytes(mac));
  return loadBalanceHash(key) < 128 ? 'primary' : 'secondary';
}

/**
 * A locally administered MAC 02:00:00:00:<prefix>:xx whose client falls on `side` (see balancedTo), not in `taken`
 * (which it joins), for a test that needs clients of both halves.
 */
export function macOn(
  side: 'primary' | 'secondary',
  withClientId: boolean,
  taken: Set<string>,
  prefix = 2,
): string {
  for (let i = 1; i < 256; i++) {
    const mac = `02:00:00:00:${prefix.toString(16).padStart(2, '0')}:${i.toString(16).padStart(2, '0')}`;
    if (!taken.has(mac) && balancedTo(mac, withClientId) === side) {
      taken.add(mac);
      return mac;
    }
  }
  throw new Error(`no free MAC on the ${side}'s side`);
}

/** `n` locally administered MACs 02:00:00:00:01:xx alternating primary, secondary, primary... for udhcpc's key. */
export function alternatingMacs(n: number): string[] {
  const out: string[] = [];
  for (let i = 1; out.length < n && i < 256; i++) {
    const mac = `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`;
    if (balancedTo(mac, true) === (out.length % 2 === 0 ? 'primary' : 'secondary')) out.push(mac);
  }
  return out;
}

/**
 * Empties a stopped node's state folder as a lost disk would: its lease files and its failover state file. Returns
 * what was removed (a test checks there was something to lose). The control socket, if left, is not state.
 */
export function wipeState(stateDir: string): string[] {
  if (!existsSync(stateDir)) return [];
  const gone: string[] = [];
  for (const f of readdirSync(stateDir)) {
    if (f === 'control.sock') continue;
    rmSync(join(stateDir, f), { recursive: true, force: true });
    gone.push(f);
  }
  return gone;
}
