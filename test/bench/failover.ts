// `pnpm bench failover` (issue 7): a pair of hadhcp nodes (ISC failover protocol, TCP 647) against a Kea 2.2
// hot-standby HA pair (libdhcp_ha + libdhcp_lease_cmds, HA over HTTP between the namespaces), in one run, through
// the same topology and the same generator; then how long an empty hadhcp node takes to resynchronise N leases.
//
//   ns pd (perfdhcp as a relay: source and giaddr 10.16.0.1; also 10.0.0.1/24) --+
//   ns a  (primary, 10.0.0.2/24, route 10.16.0.0/12 via 10.0.0.1)              --+-- bridge sw0
//   ns b  (secondary / standby, 10.0.0.3/24, same route)                      --+
//
// Traffic: perfdhcp sends relayed DORA to the primary only, as a relay sending to the VRRP address does (the
// deployment hadhcp is for: docs/examples router-a's `split 256`). Kea hot-standby: the primary answers every
// client and parks each DHCPACK until the standby answered its lease4-update. hadhcp: `split 256` (the primary
// answers every client), each DHCPACK after the lease is fdatasync'd locally and the partner's BNDACK (the partner
// stores it first); the "lazy" row adds `hadhcp-lazy-updates true;` (ISC's behaviour: the ACK does not wait for
// the BNDACK). The generator is pinned to the first allowed core, both nodes of a pair to the last one, as in
// `pnpm bench dhcp`: what one core does for the whole pair is compared.
//
// 1. Throughput: a rate sweep of 3 s steps (x1.5), every pair at each rate one after the other (the machine is
//    shared: interleaving keeps the pairs' conditions alike), each step on a fresh pair (both nodes started on empty
//    stores, settled: hadhcp both normal with the pool balance acknowledged, Kea both hot-standby), after a
//    warm-up at the first rate; a step passes if <= 1% of exchanges fail and >= 95% of the rate completes, on one
//    of two tries; a pair's first failure ends its sweep; one bisection; then --seconds at the best rate (stepping
//    down x0.8 if it fails).
// 2. One fixed offered rate (--rate, 1,000/s) for --seconds: CPU per completed exchange of each node
//    (/proc/PID/stat utime+stime, before and after), ACK p50/p99 (perfdhcp's -x t timestamps).
// 3. Resync (hadhcp): the primary's store holds --leases active leases (written with @hadhcp/leases' API) in a
//    /15 pool; the pair reaches normal once (the first sync); the secondary is stopped, its state folder emptied,
//    started again; measured from its spawn to its status showing every lease ACTIVE and its state one of
//    recover-wait, recover-done, normal. `--profile`: both nodes run with node --cpu-prof; the top self-time
//    functions of the restarted secondary (and of the primary over the whole part) are printed.
//
// 4. Alone (`--parts=alone`, not in the default set): the resync's halves. The secondary restarted empty against a
//    scripted primary (lib/fake-failover-peer.mjs) that holds the same leases pre-encoded, and the primary against a
//    scripted secondary that acknowledges each BNDUPD unread, each pair on the server core: how much of a resync is
//    each node's own work (--resync-runs times).
//
// Options: --pairs=hadhcp,lazy,kea  --parts=throughput,fixed,resync,alone  --seconds=10  --step-seconds=3
//          --warmup-seconds=2  --rate=1000  --leases=100000  --max-unacked=10 (hadhcp's max-unacked-updates,
//          the seeds' value)  --ramp-steps=N  --pin=false  --profile  --profile-out=DIR (keep the resync's profiles)
//          --resync-cores=one|two (two: the restarted secondary on the generator's core, idle then, as on two
//          routers; default one: both nodes on the server core)  --resync-runs=N (the restart-and-resync measured N
//          times in a row on the same pair, each row printed, with the median: the machine's speed varies by
//          tens of percent from minute to minute)  --pool-size=N (every run's load pool)  --quick (a smoke run: --seconds=2
//          --step-seconds=1 --warmup-seconds=1 --ramp-steps=2 --leases=10000 unless given)
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { controlRequest } from '../../packages/control/dist/index.js';
import { BindingState, LeaseStore, type Lease } from '../../packages/leases/dist/index.js';
import type { FailoverPeerStatus } from '../../packages/failover/dist/index.js';
import {
  allowedCpus,
  cpuSeconds,
  machineBusySeconds,
  parseArgs,
  sleep,
  spawnHadhcp,
  table,
  withLab,
  type Lab,
  type LabProcess,
} from './lib/bench.js';
import { topSelfTime } from './lib/cpuprofile.js';
import { perfdhcp, type PerfRun } from './lib/perfdhcp.js';

const args = parseArgs();
const QUICK = Boolean(args.quick);
const PAIRS = (args.pairs ?? 'hadhcp,lazy,kea').split(',');
const PARTS = (args.parts ?? 'throughput,fixed,resync').split(',');
const FINAL_S = Number(args.seconds ?? (QUICK ? 2 : 10));
const STEP_S = Number(args['step-seconds'] ?? (QUICK ? 1 : 3));
const WARMUP_S = Number(args['warmup-seconds'] ?? (QUICK ? 1 : 2));
const RAMP_STEPS = Number(args['ramp-steps'] ?? (QUICK ? 2 : Infinity));
const FIXED_RATE = Number(args.rate ?? 1000);
const RESYNC_N = Number(args.leases ?? (QUICK ? 10_000 : 100_000));
const MAX_UNACKED = Number(args['max-unacked'] ?? 10);
const PROFILE = Boolean(args.profile);
/** Copy the resync's .cpuprofile files here (the lab's folder is removed at the end). */
const PROFILE_OUT = args['profile-out'] as string | undefined;
/**
 * The resync's nodes: `one` = both on the server core (as every other part: what one core does for the pair), `two`
 * = the restarted secondary on the generator's core (idle during the resync), as two routers each have their own.
 */
const RESYNC_CORES = (args['resync-cores'] as string | undefined) ?? 'one';
const RESYNC_RUNS = Math.max(1, Number(args['resync-runs'] ?? 1));
/** Every run's load pool this size instead of sized to the run (0). */
const POOL_SIZE = Number(args['pool-size'] ?? 0);
const MAX_FAIL = 0.01;
const RAMP_FACTOR = 1.5;
const RAMP: Record<string, [number, number]> = {
  hadhcp: [1000, 40000],
  lazy: [1000, 40000],
  kea: [500, 40000],
};
/** A pair's name: hadhcp, lazy or kea; `hadhcp/100` and `lazy/100` set max-unacked-updates for that pair only. */
const kindOf = (kind: string): { base: string; unacked: number } => {
  const [base, n] = kind.split('/');
  return { base: base!, unacked: n ? Number(n) : MAX_UNACKED };
};
const rampOf = (kind: string): [number, number] => RAMP[kindOf(kind).base] ?? [1000, 40000];

const CPUS = allowedCpus();
const PIN = args.pin !== 'false' && CPUS.length >= 2;
const GENERATOR_CORE = String(CPUS[0]);
const SERVER_CORE = String(CPUS[CPUS.length - 1]);
const pinned = (argv: string[]): string[] => (PIN ? ['taskset', '-c', SERVER_CORE, ...argv] : argv);

const A = '10.0.0.2';
const B = '10.0.0.3';
const GIADDR = '10.16.0.1';
const REL = 'bench';
const ipStr = (v: number): string => [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
const LOAD_BASE = ((10 << 24) | (16 << 16) | (1 << 8)) >>> 0; // 10.16.1.0
/**
 * The load pool of one run, from 10.16.1.0: 2.5 x the new clients of the warm-up and the run, a power of two, at
 * least 16,384. Small on purpose: a fresh hadhcp pair first balances its pool (about 40 % of it becomes the
 * secondary's BACKUP, one BNDUPD each: a /14 took 51 s here), and the primary gives out only its FREE addresses.
 * Both pairs get the same pool.
 */
function loadRange(kind: string, rate: number, seconds: number): [string, string] {
  const need = 2.5 * (rampOf(kind)[0] * WARMUP_S + rate * seconds);
  const size = POOL_SIZE || Math.min(2 ** 20 - 512, 2 ** Math.max(14, Math.ceil(Math.log2(need))));
  return [ipStr(LOAD_BASE), ipStr(LOAD_BASE + size - 1)];
}
/** The resync pool: a /15 (131,068 addresses), the leases from 10.16.1.0 up. */
const RESYNC_RANGE: [string, string] = ['10.16.0.2', '10.17.255.254'];
const KEA_HOOKS = '/usr/lib/x86_64-linux-gnu/kea/hooks';

const fmtPct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const fmtMs = (x: number | undefined): string =>
  x !== undefined && Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 0) : '-';
const log = (s: string): boolean => process.stderr.write(`${s}\n`);

// --- the pairs -----------------------------------------------------------------------------------------------------

interface Node {
  proc: LabProcess;
  /** hadhcp's control socket or Kea's command socket. */
  sock: string;
  dir: string;
}

interface Pair {
  kind: string;
  a: Node;
  b: Node;
  /** ms from the first spawn to settled (see settle()). */
  settleMs: number;
}

function hadhcpConf(o: {
  role: 'primary' | 'secondary';
  lazy: boolean;
  range: [string, string];
  mclt?: number;
  unacked?: number;
}): string {
  const [me, peer] = o.role === 'primary' ? [A, B] : [B, A];
  const st = [
    `${o.role};`,
    `address ${me};`,
    'port 647;',
    `peer address ${peer};`,
    'peer port 647;',
    'max-response-delay 30;',
    `max-unacked-updates ${o.unacked ?? MAX_UNACKED};`,
    'load balance max seconds 3;',
  ];
  // ISC refuses mclt and split on a secondary; `split 256`: the primary answers every client (hot standby).
  if (o.role === 'primary') st.push(`mclt ${o.mclt ?? 3600};`, 'split 256;');
  if (o.lazy) st.push('hadhcp-lazy-updates true;');
  return `# hadhcp failover bench: ${o.role}
authoritative;
default-lease-time 3600;
max-lease-time 7200;
ddns-update-style none;
ping-check false;

failover peer "${REL}" {
${st.map((s) => `  ${s}`).join('\n')}
}

subnet 10.0.0.0 netmask 255.255.255.0 {
}

subnet 10.16.0.0 netmask 255.240.0.0 {
  option routers ${GIADDR};
  option subnet-mask 255.240.0.0;
  pool {
    failover peer "${REL}";
    range ${o.range[0]} ${o.range[1]};
  }
}
`;
}

let instance = 0;

/** `hadhcp run` pinned to the server core; resolves once its control socket exists. */
async function startHadhcpNode(
  lab: Lab,
  ns: string,
  conf: string,
  dir: string,
  o: { profileDir?: string; logLevel?: string; core?: string } = {},
): Promise<Node> {
  mkdirSync(dir, { recursive: true });
  const sock = `${dir}/control.sock`;
  rmSync(sock, { force: true });
  const confPath = lab.file(`${ns}-${++instance}.conf`, conf);
  const node = o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [];
  const ip = ns === 'a' ? A : B;
  // Through bin/hadhcp, started pinned: a node with one CPU, as operators' units start it (--single-threaded-gc).
  const proc = spawnHadhcp(
    lab,
    ns,
    [
      '--dhcpd',
      confPath,
      '--state-dir',
      dir,
      '--socket',
      sock,
      '--server-id',
      ip,
      '--log-level',
      o.logLevel ?? 'warn',
    ],
    { node, core: PIN ? (o.core ?? SERVER_CORE) : undefined },
  );
  const t0 = Date.now();
  while (!existsSync(sock)) {
    if (!proc.running) throw new Error(`hadhcp in ${ns} exited:\n${proc.tail()}`);
    if (Date.now() - t0 > 60_000) throw new Error(`hadhcp in ${ns} not ready:\n${proc.tail()}`);
    await sleep(20);
  }
  return { proc, sock, dir };
}

interface HadhcpStatus {
  f: FailoverPeerStatus | undefined;
  leases: Record<string, number>;
}

async function hadhcpStatus(n: Node): Promise<HadhcpStatus> {
  const r = (await controlRequest(n.sock, 'status-get', undefined, 30_000)) as {
    arguments?: { failover?: FailoverPeerStatus[]; dhcp?: { leases?: Record<string, number> } };
  };
  return { f: r.arguments?.failover?.find((s) => s.name === REL), leases: r.arguments?.dhcp?.leases ?? {} };
}

const describe = (s: FailoverPeerStatus | undefined): string =>
  s
    ? `${s.role} ${s.state} (partner ${s.partnerState}) ${s.connected ? 'connected' : 'not connected'} ` +
      `updates ${s.updates.queued} queued/${s.updates.unacked} unacked` +
      (s.pool
        ? ` pool ${s.pool.free} free/${s.pool.backup} backup of ${s.pool.total}`
        : ' no pool balance yet')
    : 'no failover status';

/** The longest status-get seen while settling (ms): what polling costs the nodes. */
let statusCostMs = 0;

/** Both normal, connected, nothing queued or unacknowledged, and the primary's pool balance done. */
async function settleHadhcp(a: Node, b: Node, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  const ok = (s: FailoverPeerStatus | undefined): boolean =>
    s !== undefined &&
    s.state === 'normal' &&
    s.partnerState === 'normal' &&
    s.connected &&
    s.updates.queued === 0 &&
    s.updates.unacked === 0;
  for (;;) {
    const q0 = performance.now();
    const [sa, sb] = [(await hadhcpStatus(a)).f, (await hadhcpStatus(b)).f];
    statusCostMs = Math.max(statusCostMs, (performance.now() - q0) / 2);
    if (ok(sa) && ok(sb) && sa!.pool !== undefined && sa!.pool.backup > 0) return;
    if (!a.proc.running || !b.proc.running)
      throw new Error(`a node died while settling:\n${a.proc.tail(10)}\n${b.proc.tail(10)}`);
    if (Date.now() - t0 > timeoutMs)
      throw new Error(
        `hadhcp pair not settled after ${timeoutMs} ms\n  a: ${describe(sa)}\n  b: ${describe(sb)}`,
      );
    // Not faster: a status-get walks every address of the failover pools (poolStatus), up to a second on a big
    // pool, and polling must not become the nodes' main work.
    await sleep(Math.max(500, 4 * ((performance.now() - q0) / 2)));
  }
}

function keaConf(
  role: 'primary' | 'standby',
  dir: string,
  sock: string,
  range: [string, string],
): Record<string, unknown> {
  const me = role === 'primary' ? 'server1' : 'server2';
  return {
    Dhcp4: {
      'interfaces-config': { interfaces: ['eth0'], 'dhcp-socket-type': 'udp' },
      // HA over HTTP served by kea-dhcp4 itself (no kea-ctrl-agent): Kea 2.2 needs multi-threading for the
      // dedicated listener. Both threads pools share the one server core, as hadhcp's threads do.
      'multi-threading': { 'enable-multi-threading': true, 'thread-pool-size': 2, 'packet-queue-size': 64 },
      'lease-database': { type: 'memfile', persist: true, name: `${dir}/kea-leases4.csv`, 'lfc-interval': 0 },
      'control-socket': { 'socket-type': 'unix', 'socket-name': sock },
      'valid-lifetime': 3600,
      authoritative: true,
      'hooks-libraries': [
        { library: `${KEA_HOOKS}/libdhcp_lease_cmds.so` },
        {
          library: `${KEA_HOOKS}/libdhcp_ha.so`,
          parameters: {
            // The seed's settings (kea-ha-hot-standby-de-en.txt).
            'high-availability': [
              {
                'this-server-name': me,
                mode: 'hot-standby',
                // The seed has 10000: Kea then took 30 s per pair to reach hot-standby, for every run of the sweep.
                'heartbeat-delay': 1000,
                'max-response-delay': 10000,
                'max-ack-delay': 5000,
                'max-unacked-clients': 0,
                'multi-threading': {
                  'enable-multi-threading': true,
                  'http-dedicated-listener': true,
                  'http-listener-threads': 2,
                  'http-client-threads': 2,
                },
                peers: [
                  { name: 'server1', url: `http://${A}:8000/`, role: 'primary', 'auto-failover': true },
                  { name: 'server2', url: `http://${B}:8000/`, role: 'standby', 'auto-failover': true },
                ],
              },
            ],
          },
        },
      ],
      subnet4: [
        { id: 1, subnet: '10.0.0.0/24' },
        {
          id: 2,
          subnet: '10.16.0.0/12',
          pools: [{ pool: `${range[0]} - ${range[1]}` }],
          'option-data': [{ name: 'routers', data: GIADDR }],
        },
      ],
      loggers: [{ name: 'kea-dhcp4', output_options: [{ output: 'stdout' }], severity: 'WARN' }],
    },
  };
}

/** One command on Kea's unix command socket (Kea answers and closes). */
function keaCommand(sock: string, command: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const c = createConnection(sock);
    let buf = '';
    const timer = setTimeout(() => c.destroy(new Error(`${command}: no answer from ${sock}`)), 10_000);
    c.on('connect', () => c.write(JSON.stringify({ command })));
    c.on('data', (d) => (buf += d.toString()));
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf));
      } catch {
        reject(new Error(`${command}: not JSON: ${buf.slice(0, 200)}`));
      }
    });
  });
}

async function keaHaState(n: Node): Promise<string> {
  if (!existsSync(n.sock)) return 'no socket';
  try {
    const r = await keaCommand(n.sock, 'status-get');
    return String(r?.arguments?.['high-availability']?.[0]?.['ha-servers']?.local?.state ?? 'unknown');
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

async function startKeaNode(
  lab: Lab,
  ns: string,
  role: 'primary' | 'standby',
  range: [string, string],
): Promise<Node> {
  const dir = lab.file(`kea-${ns}-${++instance}`);
  mkdirSync(dir);
  const sock = `${dir}/kea.sock`;
  const confPath = lab.file(
    `kea-${ns}-${instance}.json`,
    JSON.stringify(keaConf(role, dir, sock, range), null, 2),
  );
  const env = {
    ...process.env,
    KEA_PIDFILE_DIR: dir,
    KEA_LOCKFILE_DIR: dir,
    KEA_LOGGER_DESTINATION: 'stdout',
  };
  const [cmd, ...rest] = pinned(['kea-dhcp4', '-c', confPath]);
  const proc = lab.spawn(ns, cmd!, rest, { env });
  return { proc, sock, dir };
}

async function startPair(lab: Lab, kind: string, range: [string, string]): Promise<Pair> {
  const t0 = Date.now();
  if (kindOf(kind).base === 'kea') {
    const a = await startKeaNode(lab, 'a', 'primary', range);
    const b = await startKeaNode(lab, 'b', 'standby', range);
    for (;;) {
      const [sa, sb] = [await keaHaState(a), await keaHaState(b)];
      if (sa === 'hot-standby' && sb === 'hot-standby') break;
      if (!a.proc.running || !b.proc.running)
        throw new Error(`kea died while starting:\n${a.proc.tail(10)}\n${b.proc.tail(10)}`);
      if (Date.now() - t0 > 60_000)
        throw new Error(`kea HA not hot-standby: a ${sa}, b ${sb}\n${a.proc.tail(10)}`);
      await sleep(100);
    }
    log(`  kea pair hot-standby in ${Date.now() - t0} ms`);
    return { kind, a, b, settleMs: Date.now() - t0 };
  }
  const { base, unacked } = kindOf(kind);
  const lazy = base === 'lazy';
  const n = ++instance;
  const [a, b] = await Promise.all([
    startHadhcpNode(
      lab,
      'a',
      hadhcpConf({ role: 'primary', lazy, range, unacked }),
      lab.file(`hadhcp-a-${n}`),
    ),
    startHadhcpNode(
      lab,
      'b',
      hadhcpConf({ role: 'secondary', lazy, range, unacked }),
      lab.file(`hadhcp-b-${n}`),
    ),
  ]);
  await settleHadhcp(a, b, 180_000);
  log(`  ${kind} pair settled in ${Date.now() - t0} ms`);
  return { kind, a, b, settleMs: Date.now() - t0 };
}

async function stopPair(p: Pair): Promise<void> {
  await Promise.all([p.a.proc.stop(3000), p.b.proc.stop(3000)]);
  for (const n of [p.a, p.b]) rmSync(n.dir, { recursive: true, force: true });
}

// --- runs ----------------------------------------------------------------------------------------------------------

interface Run extends PerfRun {
  kind: string;
  offered: number;
  /** CPU seconds of the primary and the secondary/standby during the measured run. */
  cpuA: number;
  cpuB: number;
  settleMs: number;
  /** Cores the whole machine kept busy during the run (both nodes, perfdhcp, everything else running). */
  busyCores: number;
  /** 1-minute load average at the end of the run. */
  load: string;
}

async function measure(lab: Lab, kind: string, rate: number, seconds: number): Promise<Run> {
  const p = await startPair(lab, kind, loadRange(kind, rate, seconds));
  try {
    const perf = { ns: 'pd', giaddr: GIADDR, server: A, core: PIN ? GENERATOR_CORE : undefined };
    if (WARMUP_S > 0) await perfdhcp(lab, { ...perf, rate: rampOf(kind)[0], seconds: WARMUP_S });
    const [a0, b0, m0, t0] = [
      cpuSeconds(p.a.proc.pid),
      cpuSeconds(p.b.proc.pid),
      machineBusySeconds(),
      performance.now(),
    ];
    const r = await perfdhcp(lab, { ...perf, rate, seconds });
    if (!p.a.proc.running || !p.b.proc.running)
      throw new Error(`${kind}: a node died during the run:\n${p.a.proc.tail()}\n${p.b.proc.tail()}`);
    const [a1, b1] = [cpuSeconds(p.a.proc.pid), cpuSeconds(p.b.proc.pid)];
    const busyCores = (machineBusySeconds() - m0) / ((performance.now() - t0) / 1000);
    const load = loadavg()[0]!.toFixed(1);
    if (!p.a.proc.running || !p.b.proc.running)
      throw new Error(`${kind}: a node died during the run:\n${p.a.proc.tail()}\n${p.b.proc.tail()}`);
    return { ...r, kind, offered: rate, cpuA: a1 - a0, cpuB: b1 - b0, settleMs: p.settleMs, busyCores, load };
  } finally {
    await stopPair(p);
  }
}

/**
 * The rate sweep, every pair at each rate one after the other (this machine is shared: pairs measured minutes
 * apart saw different neighbours). A pair passes a rate if one of two tries holds; its first failure ends its
 * sweep; one bisection; then FINAL_S at its best rate, stepping down x0.8 on failure, again pair after pair.
 */
async function throughput(lab: Lab, kinds: string[]): Promise<Array<Run & { ramp: string }>> {
  const st = new Map(
    kinds.map((k) => [
      k,
      {
        best: undefined as number | undefined,
        failedAt: undefined as number | undefined,
        steps: [] as string[],
      },
    ]),
  );
  const trial = async (kind: string, rate: number): Promise<boolean> => {
    for (let attempt = 0; attempt < 2; attempt++) {
      let r: Run;
      try {
        r = await measure(lab, kind, rate, STEP_S);
      } catch (e) {
        // A node that died (or a pair that did not settle) fails the step; its output is in the log.
        log(`  ${kind} -r ${rate}: ${String(e).slice(0, 3000)}`);
        st.get(kind)!.steps.push(`${rate}/s:died!`);
        continue;
      }
      const ok = r.fail <= MAX_FAIL && r.completedPerS >= 0.95 * rate;
      st.get(kind)!.steps.push(`${rate}/s:${fmtPct(r.fail)}${ok ? '' : '!'}`);
      log(
        `  ${kind} -r ${rate}: ${r.completedPerS.toFixed(0)}/s done, ${fmtPct(r.fail)} failed ` +
          `(settled in ${r.settleMs} ms, machine busy ${r.busyCores.toFixed(2)} cores, load ${r.load})`,
      );
      if (ok) return true;
    }
    return false;
  };
  const first = Math.min(...kinds.map((k) => rampOf(k)[0]));
  for (let rate = first, i = 0; i < RAMP_STEPS; rate = Math.round(rate * RAMP_FACTOR), i++) {
    const left = kinds.filter((k) => st.get(k)!.failedAt === undefined && rate <= rampOf(k)[1]);
    if (left.length === 0) break;
    for (const k of left) {
      if (await trial(k, rate)) st.get(k)!.best = rate;
      else st.get(k)!.failedAt = rate;
    }
  }
  for (const k of kinds) {
    const s = st.get(k)!;
    if (s.best === undefined) {
      const low = Math.round(first / 2);
      if (await trial(k, low)) s.best = low;
      else s.best = Math.round(first / 4);
    } else if (s.failedAt !== undefined && s.failedAt - s.best > s.best * 0.05) {
      const mid = Math.round((s.best + s.failedAt) / 2);
      if (await trial(k, mid)) s.best = mid;
    }
  }
  const out: Array<Run & { ramp: string }> = [];
  for (const k of kinds) {
    let rate = st.get(k)!.best!;
    let final = await measure(lab, k, rate, FINAL_S);
    for (let i = 0; i < 4 && final.fail > MAX_FAIL; i++) {
      rate = Math.round(rate * 0.8);
      log(`  ${k}: ${FINAL_S} s failed ${fmtPct(final.fail)}; retrying at ${rate}/s`);
      final = await measure(lab, k, rate, FINAL_S);
    }
    log(
      `  ${k} final -r ${rate}: ${final.completedPerS.toFixed(0)}/s, ${fmtPct(final.fail)} failed, load ${final.load}`,
    );
    out.push({ ...final, ramp: st.get(k)!.steps.join(' ') });
  }
  return out;
}

// --- resync --------------------------------------------------------------------------------------------------------

const macOf = (i: number): number[] => [
  0x52,
  0x54,
  (i >>> 24) & 255,
  (i >>> 16) & 255,
  (i >>> 8) & 255,
  i & 255,
];

/** N active leases from 10.16.1.0 up, written with the store's own API in batches of 20,000. */
async function writeLeases(dir: string, n: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const now = Math.floor(Date.now() / 1000);
  const base = ((10 << 24) | (16 << 16) | (1 << 8)) >>> 0;
  const store = await LeaseStore.open(dir, { log: () => {} });
  for (let i = 0; i < n; i += 20_000) {
    const batch: Lease[] = [];
    for (let k = i; k < Math.min(n, i + 20_000); k++) {
      const m = macOf(k);
      batch.push({
        address: (base + k) >>> 0,
        state: BindingState.ACTIVE,
        starts: now - 600,
        ends: now + 86400,
        tstp: 0,
        tsfp: 0,
        atsfp: 0,
        cltt: now - 600,
        hwType: 1,
        hwAddr: new Uint8Array(m),
        clientId: new Uint8Array([1, ...m]),
        hostname: `host-${k}`,
      });
    }
    await store.write(batch);
  }
  await store.close();
}

interface ResyncRun {
  socketMs: number;
  /** State changes of the restarted secondary, ms after its spawn. */
  states: string[];
  doneMs: number;
  doneState: string;
  activeAtDone: number;
  cpuA: number;
  cpuB: number;
}

interface Resync {
  leases: number;
  poolSize: number;
  firstSyncMs: number;
  runs: ResyncRun[];
  profile?: string;
}

async function resync(lab: Lab): Promise<Resync> {
  const profA = PROFILE ? lab.file('profile-a') : undefined;
  const profB = PROFILE ? lab.file('profile-b') : undefined;
  for (const d of [profA, profB]) if (d) mkdirSync(d);
  const dirA = lab.file('resync-a');
  const dirB = lab.file('resync-b');
  log(`[failover] resync: writing ${RESYNC_N} leases into the primary's store`);
  await writeLeases(dirA, RESYNC_N);
  const confA = hadhcpConf({ role: 'primary', lazy: false, range: RESYNC_RANGE, mclt: 60 });
  const confB = hadhcpConf({ role: 'secondary', lazy: false, range: RESYNC_RANGE });
  const t0 = Date.now();
  const a = await startHadhcpNode(lab, 'a', confA, dirA, { profileDir: profA });
  let b = await startHadhcpNode(lab, 'b', confB, dirB);
  await settleHadhcp(a, b, 600_000);
  const firstSyncMs = Date.now() - t0;
  log(`[failover] resync: first sync and pool balance in ${firstSyncMs} ms`);
  const runs: ResyncRun[] = [];
  for (let k = 0; k < RESYNC_RUNS; k++) {
    log(`[failover] resync ${k + 1} of ${RESYNC_RUNS}: stopping the secondary, emptying its state`);
    await b.proc.stop(5000);
    for (const f of readdirSync(dirB)) rmSync(`${dirB}/${f}`, { recursive: true, force: true });
    await sleep(1000);
    const cpuA0 = cpuSeconds(a.proc.pid);
    const t1 = Date.now();
    b = await startHadhcpNode(lab, 'b', confB, dirB, {
      profileDir: k === 0 ? profB : undefined, // the first run's
      logLevel: 'info',
      core: RESYNC_CORES === 'two' ? GENERATOR_CORE : undefined,
    });
    const socketMs = Date.now() - t1;
    // Not by polling status-get: each one walks the whole pool (see settleHadhcp), and polling every few ms was
    // most of the secondary's work. Its info-level log says when it leaves recover; one status-get then reads
    // the lease count (polled once a second if short of every lease).
    const leave = /I move from recover to (recover-wait|recover-done|normal)/;
    const node = b;
    const m = await node.proc.waitForLine(leave, 600_000);
    const stamped = (re: RegExp): number | undefined =>
      node.proc.recent(node.proc.lineCount).find((l) => re.test(l.text))?.at;
    const states: string[] = [];
    for (const [what, re] of [
      ['recover', /I move from \S+ to recover\b/],
      ['update done from the peer', /update done from the peer/],
      [m[1]!, leave],
    ] as const) {
      const at = stamped(re);
      if (at !== undefined) states.push(`${what} ${at - node.proc.startedAt}`);
    }
    let doneMs = stamped(leave)! - node.proc.startedAt;
    const doneState = m[1]!;
    let active = 0;
    for (;;) {
      active = (await hadhcpStatus(node)).leases.active ?? 0;
      if (active >= RESYNC_N) break;
      if (!node.proc.running) throw new Error(`the secondary died during the resync:\n${node.proc.tail()}`);
      if (Date.now() - t1 > 600_000)
        throw new Error(`${active} of ${RESYNC_N} leases after 600 s\n${node.proc.tail()}`);
      await sleep(1000);
      doneMs = Date.now() - node.proc.startedAt;
    }
    const cpuB = cpuSeconds(node.proc.pid);
    const cpuA = cpuSeconds(a.proc.pid) - cpuA0;
    log(`[failover] resync: ${active} active on the secondary, ${doneState}, ${doneMs} ms after its spawn`);
    runs.push({ socketMs, states, doneMs, doneState, activeAtDone: active, cpuA, cpuB });
  }
  await Promise.all([a.proc.stop(10_000), b.proc.stop(10_000)]);
  let profile: string | undefined;
  if (PROFILE) {
    const one = (d: string, what: string): string => {
      const f = readdirSync(d).find((x) => x.endsWith('.cpuprofile'));
      return f ? `### ${what}\n${topSelfTime(`${d}/${f}`, 15)}` : `### ${what}: no profile written`;
    };
    if (PROFILE_OUT) {
      mkdirSync(PROFILE_OUT, { recursive: true });
      for (const [d, who] of [
        [profA!, 'primary'],
        [profB!, 'secondary'],
      ] as const)
        for (const f of readdirSync(d).filter((x) => x.endsWith('.cpuprofile')))
          copyFileSync(`${d}/${f}`, `${PROFILE_OUT}/${who}-${f}`);
    }
    profile = [
      one(profB!, 'secondary, from its spawn until stopped after the resync'),
      one(profA!, 'primary, the whole part (store open, first sync, balance, the resync)'),
    ].join('\n\n');
  }
  const [lo, hi] = RESYNC_RANGE.map((x) => x.split('.').reduce((v, o) => v * 256 + Number(o), 0));
  return { leases: RESYNC_N, poolSize: hi! - lo! + 1, firstSyncMs, runs, profile };
}

// --- each node alone ------------------------------------------------------------------------------------------------

/** lib/fake-failover-peer.mjs: a scripted partner that costs next to nothing per lease. */
const FAKE_PEER = new URL('./lib/fake-failover-peer.mjs', import.meta.url).pathname;

interface AloneRun {
  /** The secondary against a fake primary: ms from its spawn to leaving recover, its CPU s, the fake's CPU s. */
  secondaryMs: number;
  secondaryCpu: number;
  fakePrimaryCpu: number;
  /** The primary against a fake secondary: ms from UPDREQALL to UPDDONE, the primary's CPU s meanwhile. */
  primaryMs: number;
  primaryCpu: number;
  fakeSecondaryCpu: number;
}

function fakeReport(p: LabProcess): { cpuS: number; msToUpdDone?: number } {
  const m = /^FAKE (.*)$/m.exec(p.output());
  if (!m) throw new Error(`the fake peer said nothing:\n${p.tail()}`);
  return JSON.parse(m[1]!) as { cpuS: number; msToUpdDone?: number };
}

/**
 * The resync's two halves, each hadhcp node on the server core against a scripted partner on the same core that
 * costs next to nothing per lease: how much of a resync each node's own work is. The same leases, window and
 * configs as the resync part.
 */
async function resyncAlone(lab: Lab): Promise<AloneRun[]> {
  const dirA = lab.file('alone-a0');
  log(`[failover] alone: writing ${RESYNC_N} leases into the primary's store`);
  await writeLeases(dirA, RESYNC_N);
  const confA = hadhcpConf({ role: 'primary', lazy: false, range: RESYNC_RANGE, mclt: 60 });
  const confB = hadhcpConf({ role: 'secondary', lazy: false, range: RESYNC_RANGE });
  const env = { ...process.env, FAKE_RELATIONSHIP: REL };
  const runs: AloneRun[] = [];
  for (let k = 0; k < RESYNC_RUNS; k++) {
    // The secondary alone: a fake primary holding RESYNC_N leases.
    const fp = lab.spawn(
      'a',
      ...split(pinned([process.execPath, FAKE_PEER, 'primary', A, B, String(RESYNC_N)])),
      { env },
    );
    await fp.waitForLine(/^ready$/, 120_000);
    const dirB = lab.file(`alone-b${k}`);
    const b = await startHadhcpNode(lab, 'b', confB, dirB, { logLevel: 'info' });
    const leave = /I move from recover to (recover-wait|recover-done|normal)/;
    await b.proc.waitForLine(leave, 600_000);
    const at = b.proc.recent(b.proc.lineCount).find((l) => leave.test(l.text))!.at;
    const secondaryCpu = cpuSeconds(b.proc.pid);
    await b.proc.stop(5000);
    await fp.stop(5000);
    const fakePrimary = fakeReport(fp);
    // The primary alone: its store of RESYNC_N leases, a fake secondary asking for all of them.
    const dirAk = lab.file(`alone-a${k + 1}`);
    mkdirSync(dirAk);
    for (const f of readdirSync(dirA)) copyFileSync(`${dirA}/${f}`, `${dirAk}/${f}`);
    const a = await startHadhcpNode(lab, 'a', confA, dirAk, { logLevel: 'info' });
    await sleep(1000);
    const cpu0 = cpuSeconds(a.proc.pid);
    const fs = lab.spawn(
      'b',
      ...split(pinned([process.execPath, FAKE_PEER, 'secondary', B, A, String(MAX_UNACKED)])),
      { env },
    );
    await fs.waitForLine(/^FAKE /, 600_000);
    const primaryCpu = cpuSeconds(a.proc.pid) - cpu0;
    await fs.stop(5000);
    await a.proc.stop(5000);
    const fakeSecondary = fakeReport(fs);
    runs.push({
      secondaryMs: at - b.proc.startedAt,
      secondaryCpu,
      fakePrimaryCpu: fakePrimary.cpuS,
      primaryMs: fakeSecondary.msToUpdDone ?? NaN,
      primaryCpu,
      fakeSecondaryCpu: fakeSecondary.cpuS,
    });
    log(
      `[failover] alone ${k + 1} of ${RESYNC_RUNS}: secondary ${runs.at(-1)!.secondaryMs} ms, primary ${Math.round(runs.at(-1)!.primaryMs)} ms`,
    );
  }
  return runs;
}

const split = ([cmd, ...rest]: string[]): [string, string[]] => [cmd!, rest];

// --- main ----------------------------------------------------------------------------------------------------------

await withLab(90 * 60_000, async (lab) => {
  const t0 = Date.now();
  const sw = await lab.addBridge(undefined, 'sw0');
  for (const [ns, ip] of [
    ['pd', '10.0.0.1'],
    ['a', A],
    ['b', B],
  ] as const) {
    await lab.addNamespace(ns);
    await lab.link(ns, 'eth0', sw);
    await lab.addr(ns, 'eth0', `${ip}/24`);
    if (ns !== 'pd') await lab.must(ns, 'ip', ['route', 'add', '10.16.0.0/12', 'via', '10.0.0.1']);
  }
  await lab.addr('pd', 'eth0', `${GIADDR}/12`);
  await sleep(500); // Kea skips interfaces that came up a moment ago

  const best: Array<Run & { ramp: string }> = [];
  if (PARTS.includes('throughput')) {
    log(`[failover] throughput: ${PAIRS.join(', ')}, rate after rate`);
    best.push(...(await throughput(lab, PAIRS)));
  }
  const fixed: Run[] = [];
  if (PARTS.includes('fixed'))
    for (const k of PAIRS) {
      log(`[failover] ${FIXED_RATE}/s for ${FINAL_S} s: ${k}`);
      fixed.push(await measure(lab, k, FIXED_RATE, FINAL_S));
    }
  const rs = PARTS.includes('resync') ? await resync(lab) : undefined;
  const alone = PARTS.includes('alone') ? await resyncAlone(lab) : undefined;

  const label = (kind: string): string => {
    const { base, unacked } = kindOf(kind);
    if (base === 'kea') return 'Kea 2.2 HA hot-standby (lease4-update answered before the ACK, no fsync)';
    const w = `max-unacked-updates ${unacked}`;
    return base === 'lazy'
      ? `hadhcp pair, hadhcp-lazy-updates (fsync, no BNDACK wait), ${w}`
      : `hadhcp pair (fsync + partner BNDACK before each ACK), ${w}`;
  };
  const us = (cpu: number, done: number): string => (done ? ((cpu / done) * 1e6).toFixed(0) : '-');
  const kea = (xs: Run[]): Run | undefined => xs.find((r) => kindOf(r.kind).base === 'kea');
  const ratio = (x: number, y: number | undefined): string =>
    y !== undefined && y > 0 && Number.isFinite(x / y) ? `${(x / y).toFixed(2)}x` : '-';
  const where = PIN
    ? `perfdhcp -g single on core ${GENERATOR_CORE}, both nodes on core ${SERVER_CORE}`
    : 'not pinned';
  console.log(`\n# Failover pair bench (${where}; hadhcp split 256)`);
  if (best.length) {
    const k = kea(best);
    console.log(`\n## Exchanges/s at <= 1% failed (${FINAL_S} s at the best rate of a ${STEP_S} s ramp)`);
    console.log(
      table(
        [
          'pair',
          '-r',
          'exchanges/s',
          'failed',
          'ACK p50 / p99 ms',
          'CPU µs/exchange primary / secondary',
          'vs Kea',
          `machine busy, cores of ${availableParallelism()} (load)`,
          'sweep',
        ],
        best.map((r) => [
          label(r.kind),
          r.offered,
          r.completedPerS.toFixed(0),
          fmtPct(r.fail),
          `${fmtMs(r.ack.p50)} / ${fmtMs(r.ack.p99)}`,
          `${us(r.cpuA, r.done)} / ${us(r.cpuB, r.done)}`,
          ratio(r.completedPerS, k?.completedPerS),
          `${r.busyCores.toFixed(2)} (${r.load})`,
          r.ramp,
        ]),
      ),
    );
    const h = best.find((r) => kindOf(r.kind).base === 'hadhcp');
    if (h && k) {
      const x = h.completedPerS / k.completedPerS;
      console.log(`\nhadhcp pair / Kea HA = ${x.toFixed(2)}x (target >= 3x: ${x >= 3 ? 'met' : 'MISSED'})`);
    }
  }
  if (fixed.length) {
    const k = kea(fixed);
    console.log(`\n## ${FIXED_RATE}/s offered for ${FINAL_S} s`);
    console.log(
      table(
        [
          'pair',
          'exchanges/s',
          'failed',
          'ACK p50 / p99 ms',
          'OFFER p50 / p99 ms',
          'CPU s primary / secondary',
          'µs/exchange primary / secondary / both',
          'both vs Kea',
          `machine busy, cores of ${availableParallelism()} (load)`,
        ],
        fixed.map((r) => [
          label(r.kind),
          r.completedPerS.toFixed(0),
          fmtPct(r.fail),
          `${fmtMs(r.ack.p50)} / ${fmtMs(r.ack.p99)}`,
          `${fmtMs(r.offer.p50)} / ${fmtMs(r.offer.p99)}`,
          `${r.cpuA.toFixed(2)} / ${r.cpuB.toFixed(2)}`,
          `${us(r.cpuA, r.done)} / ${us(r.cpuB, r.done)} / ${us(r.cpuA + r.cpuB, r.done)}`,
          ratio((r.cpuA + r.cpuB) / r.done, k ? (k.cpuA + k.cpuB) / k.done : undefined),
          `${r.busyCores.toFixed(2)} (${r.load})`,
        ]),
      ),
    );
  }
  if (rs) {
    console.log(
      `\n## Resync of an empty secondary: ${rs.leases} active leases in a ${rs.poolSize}-address pool, ` +
        `window ${MAX_UNACKED}, ${RESYNC_CORES === 'two' && PIN ? `secondary on core ${GENERATOR_CORE}, primary on core ${SERVER_CORE}` : `both nodes on core ${SERVER_CORE}`}`,
    );
    console.log(
      table(
        [
          'run',
          'first sync + balance ms',
          'control socket ms',
          'states (ms after spawn)',
          'every lease, ms',
          'state then',
          'CPU s primary / secondary',
        ],
        rs.runs.map((r, k) => [
          k + 1,
          k === 0 ? rs.firstSyncMs : '',
          r.socketMs,
          r.states.join(' -> '),
          r.doneMs,
          r.doneState,
          `${r.cpuA.toFixed(2)} / ${r.cpuB.toFixed(2)}`,
        ]),
      ),
    );
    const times = rs.runs.map((r) => r.doneMs);
    const sorted = [...times].sort((x, y) => x - y);
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    const met = times.filter((t) => t < 3000).length;
    console.log(
      `\nresync ${times.length > 1 ? `median ${median} ms (runs: ${times.join(', ')}; under 3,000 ms in ${met} of ${times.length})` : `${median} ms`}` +
        ` (target < 3,000 ms: ${median < 3000 ? 'met' : 'MISSED'})`,
    );
    if (rs.profile) console.log(`\n## CPU profiles (self time)\n${rs.profile}`);
  }
  if (alone) {
    console.log(
      `\n## The resync's halves: each node alone against a scripted partner (lib/fake-failover-peer.mjs) on the ` +
        `same core (${PIN ? `core ${SERVER_CORE}` : 'not pinned'}), ${RESYNC_N} leases, window ${MAX_UNACKED}`,
    );
    console.log(
      table(
        [
          'run',
          'secondary: spawn -> leaving recover, ms',
          'secondary CPU s (fake primary)',
          'primary: UPDREQALL -> UPDDONE, ms',
          'primary CPU s (fake secondary)',
        ],
        alone.map((r, k) => [
          k + 1,
          r.secondaryMs,
          `${r.secondaryCpu.toFixed(2)} (${r.fakePrimaryCpu.toFixed(2)})`,
          Math.round(r.primaryMs),
          `${r.primaryCpu.toFixed(2)} (${r.fakeSecondaryCpu.toFixed(2)})`,
        ]),
      ),
    );
  }
  console.log(`\nlongest status-get while settling a pair: ${statusCostMs.toFixed(0)} ms`);
  console.log(`\n(bench took ${((Date.now() - t0) / 1000).toFixed(0)} s; ${new Date().toISOString()})`);
});
