// `pnpm bench memory`: the hadhcp daemon with 1,000,000 leases: start-up time (spawn -> control socket exists ->
// first status-get answered) and resident memory (VmRSS, /proc/PID/status). Targets (issue): RSS < 400 MB,
// start-up < 5 s.
//
// 1. A lease store with N active leases (10.16.1.0 + i; MAC, 7-byte client id and hostname each) is written with
//    the store's own API (LeaseStore.open + write in batches of 20,000), or with --via=import from a generated
//    ISC dhcpd.leases file through `hadhcp leases import` (exercises the importer; slower). The store's shape:
//    `--renewals=R` then renews every lease R times (R may be fractional), leaving the journal as long as the
//    store lets it grow before compacting (R = 2.9 is just under 4x the live state): the worst case for
//    start-up. `--compact` ends with a compaction, so the daemon opens a snapshot and an empty journal.
// 2. "Store alone": a child process opens that store by itself and reports its heap: what the store costs.
// 3. The daemon (dhcpd.conf: one /12 whose range covers every lease) starts once on an empty store, then `--runs`
//    times on the N leases, in a namespace of its own (eth0 10.0.0.2/24, a veth whose peer stays in the
//    namespace, so binding UDP 67 never touches the host). Per start: RSS when the socket appears, after the
//    first status-get answer, after a second status-get (timed) and 3 s later (no forced GC), peak (VmHWM);
//    then, preloaded lib/probe.mjs reports process.memoryUsage() after a GC (SIGUSR2): where the memory is.
// Options: --leases=1000000  --runs=2  --via=store|import  --renewals=0  --compact  --dump-status
//          --quick (a smoke run: --leases=20000 --runs=1 unless given)
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { controlRequest, type ControlResponse } from '../../packages/control/dist/index.js';
import { BindingState, LeaseStore, type Lease } from '../../packages/leases/dist/index.js';
import {
  HADHCP_CLI,
  REPO_ROOT,
  memprobe,
  parseArgs,
  rssKiB,
  sleep,
  spawnHadhcp,
  table,
  withLab,
  type Lab,
  type MemProbe,
} from './lib/bench.js';

const args = parseArgs();
const QUICK = Boolean(args.quick);
const N = Number(args.leases ?? (QUICK ? 20_000 : 1_000_000));
const RUNS = Number(args.runs ?? (QUICK ? 1 : 2));
const VIA = args.via ?? 'store';
const RENEWALS = Number(args.renewals ?? 0);
if (VIA !== 'store' && VIA !== 'import') throw new Error(`--via=${VIA}: want store or import`);
if (VIA === 'import' && (RENEWALS > 0 || args.compact))
  throw new Error('--renewals and --compact need --via=store');
const BASE = ((10 << 24) | (16 << 16) | (1 << 8)) >>> 0; // 10.16.1.0

const CONF = `# hadhcp memory bench: one /12 whose range covers every stored lease
authoritative;
default-lease-time 86400;
max-lease-time 172800;

subnet 10.0.0.0 netmask 255.255.255.0 {
}

subnet 10.16.0.0 netmask 255.240.0.0 {
  option routers 10.16.0.1;
  range 10.16.0.10 10.31.255.250;
}
`;

const ipStr = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
const macBytes = (i: number): number[] => [
  0x52,
  0x54,
  (i >>> 24) & 255,
  (i >>> 16) & 255,
  (i >>> 8) & 255,
  i & 255,
];

/** Lease i, as written for the `renewal`-th time (0: first write). */
function lease(i: number, now: number, renewal = 0): Lease {
  const m = macBytes(i);
  return {
    address: (BASE + i) >>> 0,
    state: BindingState.ACTIVE,
    starts: now - 600 + renewal,
    ends: now + 86400 + renewal,
    tstp: now + 86400 + renewal,
    tsfp: 0,
    atsfp: 0,
    cltt: now - 600,
    hwType: 1,
    hwAddr: new Uint8Array(m),
    clientId: new Uint8Array([1, ...m]),
    hostname: `host-${i}`,
  };
}

/** N leases, then `RENEWALS` x N renewals in address order, in batches of 20,000; `--compact` compacts last. */
async function buildWithStore(dir: string): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const store = await LeaseStore.open(dir, { log: () => {} });
  const total = Math.round(N * (1 + RENEWALS));
  const BATCH = 20_000;
  for (let i = 0; i < total; i += BATCH) {
    const batch = [];
    for (let n = i; n < Math.min(total, i + BATCH); n++) batch.push(lease(n % N, now, Math.floor(n / N)));
    await store.write(batch);
  }
  if (args.compact) await store.compact();
  await store.close();
}

function buildWithImport(lab: Lab, dir: string): { mb: number; ms: number; out: string } {
  const file = lab.file('dhcpd.leases');
  const fd = openSync(file, 'w');
  const now = Math.floor(Date.now() / 1000);
  const p = (x: number): string => String(x).padStart(2, '0');
  const t = (s: number): string => {
    const d = new Date(s * 1000);
    return `${d.getUTCDay()} ${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  };
  const [starts, ends] = [t(now - 600), t(now + 86400)];
  let chunk = '';
  for (let i = 0; i < N; i++) {
    const mac = macBytes(i)
      .map((x) => x.toString(16).padStart(2, '0'))
      .join(':');
    const uid = macBytes(i)
      .map((x) => `\\${x.toString(8).padStart(3, '0')}`)
      .join('');
    chunk +=
      `lease ${ipStr(BASE + i)} {\n  starts ${starts};\n  ends ${ends};\n  cltt ${starts};\n  binding state active;\n` +
      `  next binding state free;\n  rewind binding state free;\n  hardware ethernet ${mac};\n` +
      `  uid "\\001${uid}";\n  client-hostname "host-${i}";\n}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
  const mb = statSync(file).size / 2 ** 20;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [HADHCP_CLI, 'leases', 'import', file, '--state-dir', dir], {
    encoding: 'utf8',
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`import failed (${r.status}): ${r.stderr.slice(0, 2000)}`);
  rmSync(file);
  return { mb, ms, out: r.stdout.trim() };
}

interface StoreAlone {
  ms: number;
  size: number;
  rss: number;
  base: number;
  heapUsed: number;
  journalBytes: number;
  generation: number;
  compactions: number;
  tableMs: number;
  tableRss: number;
  tableHeap: number;
}

/** Opens the store alone in a plain node child process: what the store's in-memory state costs. */
function storeAlone(dir: string): StoreAlone {
  const code = `
    const { LeaseStore } = await import(${JSON.stringify(join(REPO_ROOT, 'packages/leases/dist/index.js'))});
    const base = process.memoryUsage().rss;
    const t0 = performance.now();
    const s = await LeaseStore.open(${JSON.stringify(dir)}, { log: () => {} });
    const ms = performance.now() - t0;
    globalThis.gc();
    const m = process.memoryUsage();
    const { journalBytes, generation, compactions } = s.stats();
    // Then the DHCP side's lease table (decoded Lease objects plus client-id and hardware indexes).
    const { LeaseTable } = await import(${JSON.stringify(join(REPO_ROOT, 'packages/dhcp/dist/index.js'))});
    const t1 = performance.now();
    LeaseTable.from(s.leases());
    const tableMs = performance.now() - t1;
    globalThis.gc();
    const m2 = process.memoryUsage();
    console.log(JSON.stringify({ ms, size: s.size, rss: m.rss, base, heapUsed: m.heapUsed, journalBytes, generation,
      compactions, tableMs, tableRss: m2.rss, tableHeap: m2.heapUsed }));
    await s.close();
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`store-alone probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as StoreAlone;
}

interface Start {
  /** Spawn -> control socket exists. */
  socketMs: number;
  /** Spawn -> first status-get answered: the start-up time. */
  readyMs: number;
  /** The second status-get alone. */
  statusMs: number;
  /** RSS (KiB) when the socket appeared, after the first and the second status-get, 3 s later; peak. */
  rssSocket: number;
  rssReady: number;
  rssStatus: number;
  rssSettled: number;
  hwm: number;
  probe: MemProbe;
  status: StatusArgs | undefined;
}

interface StatusArgs {
  dhcp?: { leases?: unknown };
  store?: { leases?: unknown };
}

async function startDaemon(lab: Lab, dir: string, conf: string, k: number): Promise<Start> {
  const sock = lab.file(`control-${k}.sock`);
  const t0 = performance.now();
  const args = ['--dhcpd', conf, '--state-dir', dir, '--socket', sock, '--log-level', 'warn'];
  const p = spawnHadhcp(lab, 'mem', args, { probe: true, gc: true });
  // `ip netns exec` execs the command in place, so the process's pid is the daemon's.
  let socketMs: number | undefined;
  let rssSocket = NaN;
  let st: ControlResponse | undefined;
  while (!st) {
    if (!p.running) throw new Error(`daemon exited:\n${p.tail()}`);
    if (performance.now() - t0 > 120_000) throw new Error(`no status-get answer within 120 s:\n${p.tail()}`);
    if (socketMs === undefined && existsSync(sock)) {
      socketMs = performance.now() - t0;
      rssSocket = rssKiB(p.pid).rss;
    }
    if (socketMs !== undefined)
      st = await controlRequest(sock, 'status-get', undefined, 60_000).catch(() => undefined);
    if (!st) await sleep(5);
  }
  const readyMs = performance.now() - t0;
  if (st.result !== 0) throw new Error(`status-get: ${JSON.stringify(st).slice(0, 500)}`);
  const rssReady = rssKiB(p.pid).rss;
  const t1 = performance.now();
  await controlRequest(sock, 'status-get', undefined, 60_000);
  const statusMs = performance.now() - t1;
  const rssStatus = rssKiB(p.pid).rss;
  await sleep(3000);
  const settled = rssKiB(p.pid);
  const probe = await memprobe(p);
  await p.stop(10_000);
  return {
    socketMs: socketMs ?? NaN,
    readyMs,
    statusMs,
    rssSocket,
    rssReady,
    rssStatus,
    rssSettled: settled.rss,
    hwm: settled.hwm,
    probe,
    status: st.arguments as StatusArgs | undefined,
  };
}

const MB = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
const MBk = (kib: number): string => (kib / 1024).toFixed(0);
const s2 = (ms: number): string => (ms / 1000).toFixed(2);

await withLab(10 * 60_000, async (lab) => {
  const t0 = Date.now();
  const dir = lab.file('state');
  mkdirSync(dir);
  const shape = RENEWALS > 0 ? ` + ${RENEWALS} x renewals` : '';
  process.stderr.write(`[memory] writing ${N.toLocaleString('en')} leases${shape} (${VIA})...\n`);
  const tb = performance.now();
  const importInfo = VIA === 'import' ? buildWithImport(lab, dir) : undefined;
  if (VIA === 'store') await buildWithStore(dir);
  const buildMs = performance.now() - tb;
  const onDisk = spawnSync('du', ['-sm', dir], { encoding: 'utf8' }).stdout.split(/\s/)[0];
  const alone = storeAlone(dir);
  const diskMiB = (alone.journalBytes / 2 ** 20).toFixed(0);
  const storeDesc =
    `${args.compact ? 'snapshot + ' : ''}journal ${diskMiB} MiB, generation ${alone.generation}, ` +
    `${alone.compactions} compactions, ${onDisk} MB on disk`;
  process.stderr.write(`[memory] store: ${storeDesc}; built in ${(buildMs / 1000).toFixed(1)} s\n`);
  process.stderr.write(`[memory] store alone: open ${s2(alone.ms)} s, RSS ${MB(alone.rss)} MB\n`);

  await lab.addNamespace('mem');
  await lab.link('mem', 'eth0', 'mem', 'eth1'); // no dummy module here: a veth looped inside the namespace
  await lab.addr('mem', 'eth0', '10.0.0.2/24');
  const conf = lab.file('dhcpd.conf', CONF);
  process.stderr.write(`[memory] daemon with an empty store (same dhcpd.conf)...\n`);
  const emptyDir = lab.file('empty-state');
  mkdirSync(emptyDir);
  const empty = await startDaemon(lab, emptyDir, conf, 0);
  const runs: Start[] = [];
  for (let k = 1; k <= RUNS; k++) {
    const r = await startDaemon(lab, dir, conf, k);
    process.stderr.write(
      `[memory] start ${k}/${RUNS}: ready ${s2(r.readyMs)} s, RSS ${MBk(r.rssStatus)} MB\n`,
    );
    runs.push(r);
  }
  const first = runs[0]!;

  console.log(
    `\n## hadhcp daemon with ${N.toLocaleString('en')} leases (store: ${storeDesc}; written via ${VIA}), ` +
      `Node ${process.version}`,
  );
  if (importInfo) {
    console.log(
      `import: ${importInfo.mb.toFixed(0)} MB dhcpd.leases in ${s2(importInfo.ms)} s (${importInfo.out})`,
    );
  }
  console.log(
    table(
      [
        'start',
        'socket ready s',
        'status-get answered s',
        'RSS socket ready MB',
        'RSS after status-get MB',
        'RSS after 2nd status-get MB',
        'RSS 3 s later MB',
        'peak (VmHWM) MB',
        '2nd status-get ms',
        'heap used / total / external MB (after GC)',
      ],
      runs.map((r, i) => [
        i + 1,
        s2(r.socketMs),
        s2(r.readyMs),
        MBk(r.rssSocket),
        MBk(r.rssReady),
        MBk(r.rssStatus),
        MBk(r.rssSettled),
        MBk(r.hwm),
        r.statusMs.toFixed(1),
        `${MB(r.probe.heapUsed)} / ${MB(r.probe.heapTotal)} / ${MB(r.probe.external)}`,
      ]),
    ),
  );
  const spaces = Object.entries(first.probe.spacesMB).map(([k, v]) => `${k} ${v}`);
  console.log(`\nV8 heap spaces after GC (MB): ${spaces.join(', ')}`);
  console.log('\nWhere the memory goes (each step in a bare node with --expose-gc, after a GC):');
  console.log(
    table(
      ['step', 'time s', 'RSS MB', 'V8 heap used MB'],
      [
        ['node + imports (baseline)', '-', MB(alone.base), '-'],
        [
          `LeaseStore.open (${alone.size} leases as latin-1 strings)`,
          s2(alone.ms),
          MB(alone.rss),
          MB(alone.heapUsed),
        ],
        [
          `+ LeaseTable.from(store.leases()) (decoded Lease objects + indexes)`,
          s2(alone.tableMs),
          MB(alone.tableRss),
          MB(alone.tableHeap),
        ],
        [
          `daemon, same dhcpd.conf, EMPTY store`,
          s2(empty.readyMs),
          MBk(empty.rssSettled),
          MB(empty.probe.heapUsed),
        ],
        [
          `daemon with the ${N.toLocaleString('en')} leases`,
          s2(first.readyMs),
          MBk(first.rssSettled),
          MB(first.probe.heapUsed),
        ],
      ],
    ),
  );
  console.log(
    `leases reported by status-get: ${JSON.stringify(first.status?.dhcp?.leases ?? first.status?.store?.leases)}`,
  );
  const worstRss = Math.max(...runs.map((r) => Math.max(r.rssReady, r.rssStatus, r.rssSettled))) / 1024;
  const worstStart = Math.max(...runs.map((r) => r.readyMs)) / 1000;
  console.log(
    `\nworst: RSS ${worstRss.toFixed(0)} MB (target < 400 MB: ${worstRss < 400 ? 'met' : 'MISSED'}); ` +
      `start-up to a status-get answer ${worstStart.toFixed(2)} s (target < 5 s: ${worstStart < 5 ? 'met' : 'MISSED'})`,
  );
  console.log(`\n(bench took ${((Date.now() - t0) / 1000).toFixed(0)} s; ${new Date().toISOString()})`);
  if (args['dump-status']) writeFileSync(lab.file('status.json'), JSON.stringify(first.status, null, 2));
});
