// The mission topology of issue 8, the helpers of test/lab/pair.test.ts: two routers, each one hadhcp with a
// keepalived.conf (one vrrp_instance carrying the VIP) and a dhcpd.conf with a failover peer block, behind a relay
// whose helper address is the VIP. Here: the keepalived.conf, a node started with both files, its status over the
// control socket (status-get: dhcp, vrrp[0], failover[0]) in one line, a poller that timestamps the moment the
// VIP appears in a namespace, nftables cuts inside a namespace, a udhcpc that stays running to renew on SIGUSR1,
// and the DHCPACK audit of a capture.
import type { Lab } from './lab.js';
import type { LabProcess } from './proc.js';
import type { ClientSpot } from './topology.js';
import { ctl, sleep, startHadhcp, tshark, type Hadhcp } from './dhcp-helpers.js';
import type { FailoverPeerStatus } from './failover-pair.js';

export const PAIR_VIP = '10.0.0.10';

/** keepalived.conf of one router: one instance, the VIP on the server-side segment, advert_int 1, preempt on. */
export function pairKeepalivedConf(priority: number): string {
  return `vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority ${priority}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        ${PAIR_VIP}/24 dev eth0
    }
}
`;
}

export interface PairNodeRun {
  dhcpd: string;
  priority: number;
  /** Names the configs and the state folder: the same name restarts the node on its state. */
  name: string;
  fresh?: boolean;
}

/** One router's hadhcp with both files (VRRP + DHCP + failover, the supervisor between them). */
export async function startPairNode(lab: Lab, ns: string, o: PairNodeRun): Promise<Hadhcp> {
  const keepalived = lab.file(`hadhcp-${o.name}.keepalived.conf`, pairKeepalivedConf(o.priority));
  return startHadhcp(lab, ns, {
    conf: o.dhcpd,
    name: o.name,
    fresh: o.fresh,
    args: ['--keepalived', keepalived],
  });
}

/** The parts of status-get the pair tests read. */
export interface NodeStatus {
  dhcp: { serving: boolean; reason?: string; serverId?: string };
  vrrp: {
    state: string;
    configuredPriority: number;
    effectivePriority: number;
    priorityReasons: string[];
    vips: string[];
  };
  failover: FailoverPeerStatus;
}

export async function nodeStatus(h: Hadhcp): Promise<NodeStatus> {
  const a = (await ctl(h, 'status-get')).arguments ?? {};
  const vrrp = (a.vrrp ?? [])[0];
  const failover = (a.failover ?? [])[0];
  if (!a.dhcp || !vrrp || !failover)
    throw new Error(
      `${h.ns}: status-get lacks dhcp, vrrp[0] or failover[0]: ${JSON.stringify(a).slice(0, 300)}`,
    );
  return { dhcp: a.dhcp, vrrp, failover };
}

/** One line for messages: `VRRP MASTER 150/150 [..] | DHCP serving (reason) | failover normal/normal connected`. */
export function statusLine(s: NodeStatus | undefined): string {
  if (!s) return 'no status';
  const v = s.vrrp;
  const f = s.failover;
  const why = v.priorityReasons.length > 0 ? ` (${v.priorityReasons.join('; ')})` : '';
  return (
    `VRRP ${v.state} ${v.effectivePriority}/${v.configuredPriority}${why} vips [${v.vips.join(',')}] | ` +
    `DHCP ${s.dhcp.serving ? 'serving' : 'silent'}: ${s.dhcp.reason ?? ''} | ` +
    `failover ${f.state} (partner ${f.partnerState}) serve ${f.serve} ${f.connected ? 'connected' : 'NOT connected'} ` +
    `updates ${f.updates.queued}/${f.updates.unacked}`
  );
}

/**
 * Polls the status of both routers (a stopped one reads undefined) until `ok`; the timeout says what each said last.
 */
export async function bothUntil(
  a: Hadhcp,
  b: Hadhcp,
  what: string,
  ok: (a: NodeStatus | undefined, b: NodeStatus | undefined) => boolean,
  timeoutMs: number,
): Promise<{ a?: NodeStatus; b?: NodeStatus }> {
  const st = async (h: Hadhcp): Promise<NodeStatus | undefined> =>
    h.proc.running ? nodeStatus(h).catch(() => undefined) : undefined;
  const t0 = Date.now();
  for (;;) {
    const [sa, sb] = await Promise.all([st(a), st(b)]);
    if (ok(sa, sb)) return { a: sa, b: sb };
    if (Date.now() - t0 > timeoutMs)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}\n  ${a.ns}: ${statusLine(sa)}\n  ${b.ns}: ${statusLine(sb)}`,
      );
    await sleep(200);
  }
}

/**
 * The directly attached shape of the pair (no relay): rta 10.0.0.2 and rtb 10.0.0.3 and clients cli1..N, one per
 * MAC, all on one bridge lan0, the segment that carries the VIP (the clients' default router).
 */
export async function directPairTopology(lab: Lab, macs: readonly string[]): Promise<ClientSpot[]> {
  const lan = await lab.addBridge(undefined, 'lan0');
  for (const [i, ns] of ['rta', 'rtb'].entries()) {
    await lab.addNamespace(ns);
    await lab.link(ns, 'eth0', lan, `s${i}`);
    await lab.addr(ns, 'eth0', `10.0.0.${2 + i}/24`);
  }
  const clients: ClientSpot[] = [];
  for (const [i, mac] of macs.entries()) {
    const ns = `cli${i + 1}`;
    await lab.addNamespace(ns);
    await lab.link(ns, 'eth0', lan, `c${i + 1}`, { macA: mac });
    clients.push({ ns, ifName: 'eth0', mac });
  }
  return clients;
}

/** Whether `ns` has the VIP on eth0 now. */
export async function holdsVip(lab: Lab, ns: string): Promise<boolean> {
  return (await lab.ipv4(ns, 'eth0')).some((a) => a.startsWith(`${PAIR_VIP}/`));
}

/**
 * Times the moment the VIP is first on eth0 of `ns`: `ip -ts monitor address` inside it, stamping each netlink
 * address event as it reads it (µs, local time), so the figure is the kernel's add, not the next turn of a poll (a
 * shell loop forking `ip` every 10 ms lagged 3-30 ms behind on the loaded two-core machine, docs/benchmarks.md).
 * Started before the event it times (kill, stop), so the event's own cost is in the figure; a VIP already there
 * when the monitor is up counts from then. `at` resolves with that time (Date.now() scale).
 */
export function watchVip(
  lab: Lab,
  ns: string,
): { proc: LabProcess; at: (timeoutMs: number) => Promise<number> } {
  const script =
    'ip -ts -o monitor address dev eth0 & m=$!; sleep 0.05; ' +
    `if ip -4 -o addr show dev eth0 | grep -q ' ${PAIR_VIP}/'; then echo "PRESENT $(date +%s%3N)"; fi; wait $m`;
  const proc = lab.spawn(ns, 'sh', ['-c', script]);
  const added = new RegExp(
    `^(?:\\[(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3})\\d*\\] \\d+: \\S+\\s+inet ${PAIR_VIP.replace(/\./g, '\\.')}/|PRESENT (\\d{13})$)`,
  );
  return {
    proc,
    at: async (timeoutMs) => {
      const m = await proc.waitForLine(added, timeoutMs);
      // ip prints local time without a zone; Date reads such a date-time as local time too.
      return m[2] !== undefined ? Number(m[2]) : new Date(m[1]!).getTime();
    },
  };
}

/** Applies an nftables table `pairlab` inside `ns` from `chains` (chain bodies, one rule line each). */
export async function nftCut(
  lab: Lab,
  ns: string,
  file: string,
  chains: Record<string, string>,
): Promise<void> {
  const body = Object.entries(chains)
    .map(([name, rules]) => `  chain ${name} { ${rules} }`)
    .join('\n');
  await lab.must(ns, 'nft', ['-f', lab.file(file, `table inet pairlab {\n${body}\n}\n`)]);
}

export async function nftHeal(lab: Lab, ns: string): Promise<void> {
  await lab.exec(ns, 'nft', ['delete', 'table', 'inet', 'pairlab']);
}

/** The failover link (TCP 647) dropped both ways. */
export const CUT_647 = {
  in: 'type filter hook input priority 0; policy accept; tcp dport 647 drop; tcp sport 647 drop;',
  out: 'type filter hook output priority 0; policy accept; tcp dport 647 drop; tcp sport 647 drop;',
};
/** VRRP adverts (IP protocol 112) dropped on input: this router no longer hears its peer. */
export const CUT_VRRP_IN = { in: 'type filter hook input priority 0; policy accept; ip protocol 112 drop;' };

/** The MAC of eth0 in `ns`. */
export async function macOf(lab: Lab, ns: string): Promise<string> {
  const r = await lab.must(ns, 'ip', ['-o', 'link', 'show', 'dev', 'eth0']);
  const m = /link\/ether ([0-9a-f:]{17})/.exec(r.stdout);
  if (!m) throw new Error(`${ns}: no MAC on eth0: ${r.stdout}`);
  return m[1]!;
}

// udhcpc's hook for a client that renews by unicast to the server identifier (the VIP, across the relay): the
// address and a default route through the relay.
const RENEW_HOOK = `#!/bin/sh
case "$1" in
  deconfig) ip link set dev "$interface" up; ip -4 addr flush dev "$interface" ;;
  bound|renew)
    ip addr replace "$ip/$subnet" dev "$interface"
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done ;;
esac
exit 0
`;

export interface RenewingClient {
  proc: LabProcess;
  ns: string;
  address: string;
  /** The server identifiers of every lease udhcpc reported, in order (first bind, then each renewal). */
  leases: () => { address: string; server: string }[];
}

/** busybox udhcpc in the foreground that stays bound (no -q): SIGUSR1 makes it renew (RENEWING, unicast). */
export async function startRenewingUdhcpc(lab: Lab, ns: string, ifName = 'eth0'): Promise<RenewingClient> {
  const hook = lab.file(`renew-hook-${ns}.sh`, RENEW_HOOK);
  await lab.must(undefined, 'chmod', ['755', hook]);
  const proc = lab.spawn(ns, 'udhcpc', ['-f', '-i', ifName, '-s', hook, '-t', '5', '-T', '2', '-A', '2']);
  const leases = (): { address: string; server: string }[] =>
    [...proc.output().matchAll(/lease of (\d+\.\d+\.\d+\.\d+) obtained from (\d+\.\d+\.\d+\.\d+)/g)].map(
      (m) => ({
        address: m[1]!,
        server: m[2]!,
      }),
    );
  const m = await proc.waitForLine(/lease of (\d+\.\d+\.\d+\.\d+) obtained/, 30_000);
  return { proc, ns, address: m[1]!, leases };
}

/**
 * SIGUSR1, then the lease udhcpc reports next (a renewal, or a new lease if it had to start over), with what
 * udhcpc printed meanwhile (`sending renew to server ...`: RENEWING, unicast; `entering rebinding state`: no answer).
 */
export async function renew(
  c: RenewingClient,
  timeoutMs = 20_000,
): Promise<{ address: string; server: string; said: string[] }> {
  const before = c.leases().length;
  const from = c.proc.lineCount;
  c.proc.kill('SIGUSR1');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = c.leases();
    if (l.length > before) {
      const said = c.proc
        .recent(c.proc.lineCount - from)
        .map((x) => x.text)
        .filter((t) => t.startsWith('udhcpc'));
      return { ...l[before]!, said };
    }
    if (!c.proc.running) throw new Error(`udhcpc in ${c.ns} exited while renewing\n${c.proc.tail()}`);
    if (Date.now() > deadline)
      throw new Error(`udhcpc in ${c.ns}: no lease within ${timeoutMs} ms of SIGUSR1\n${c.proc.tail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The DHCPACKs of a capture as [yiaddr, chaddr]. */
export async function acksIn(lab: Lab, pcap: string): Promise<[string, string][]> {
  const rows = await tshark(lab, pcap, 'dhcp.option.dhcp == 5', ['dhcp.ip.your', 'dhcp.hw.mac_addr']);
  return rows.map((r) => [r[0]!, r[1]!.toLowerCase()]);
}

/** Addresses acknowledged to two different clients: `ip: mac1, mac2`. */
export function doubleBound(acks: readonly [string, string][]): string[] {
  const owner = new Map<string, Set<string>>();
  for (const [ip, mac] of acks) owner.set(ip, (owner.get(ip) ?? new Set()).add(mac));
  return [...owner].filter(([, macs]) => macs.size > 1).map(([ip, macs]) => `${ip}: ${[...macs].join(', ')}`);
}
