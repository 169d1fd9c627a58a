// The daemon with 1,000,000 leases: time from start until the control socket answers status-get, and resident
// memory (VmRSS, /proc/PID/status) after that answer, after a second status-get and after 3 s. Issue targets:
// RSS < 400 MB, start-up < 5 s. Self-contained (no bench lab helpers), as root, after `npx tsc -b`:
//
//   node test/bench/memory-1m.mjs [--leases=1000000] [--runs=3] [--heap] [--renewals=0] [--compact]
//
// 1. Writes N active leases (10.16.1.0 + i; MAC, 7-byte client id and hostname each) into a fresh store with the
//    store's own API (LeaseStore.open + write in batches of 20,000). `--renewals=R` then renews every lease R
//    times (R may be fractional), leaving the journal as long as the store lets it grow before compacting
//    (R = 2.9 is just under 4x the live state): the worst case for start-up. `--compact` ends with a compaction,
//    so the daemon opens a snapshot and an empty journal.
// 2. Starts `node packages/cli/dist/main.js run --dhcpd CONF --state-dir DIR --socket SOCK` (dhcpd.conf: a /12 whose
//    range covers every lease) inside a throwaway network namespace (a veth pair, 10.0.0.2/24), so binding UDP 67
//    never touches the host; `--runs` times over the same store. `--heap` preloads a probe that prints
//    process.memoryUsage() after a GC on SIGUSR2 (for where the memory goes; costs nothing before the signal).
// 3. Stops the daemon (SIGTERM), deletes the namespace and the files, also on error or Ctrl-C.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const args = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => a.slice(2).split('='))
    .map(([k, v]) => [k, v ?? '1']),
);
const N = Number(args.leases ?? 1_000_000);
const RUNS = Number(args.runs ?? 3);
if (process.getuid?.() !== 0) {
  console.error('memory-1m: needs root (network namespace, UDP 67)');
  process.exit(3);
}
const { LeaseStore, BindingState } = await import(join(ROOT, 'packages/leases/dist/index.js'));
const { controlRequest } = await import(join(ROOT, 'packages/control/dist/index.js'));

const BASE = ((10 << 24) | (16 << 16) | (1 << 8)) >>> 0; // 10.16.1.0
const CONF = `authoritative;
default-lease-time 86400;
max-lease-time 172800;
subnet 10.0.0.0 netmask 255.255.255.0 { }
subnet 10.16.0.0 netmask 255.240.0.0 {
  option routers 10.16.0.1;
  range 10.16.0.10 10.31.255.250;
}
`;
const PROBE = `import v8 from 'node:v8';
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_used_size / 2 ** 20)]));
  console.log('MEMPROBE ' + JSON.stringify({ ...m, spaces }));
});
`;

const work = mkdtempSync(join(tmpdir(), 'hadhcp-mem1m-'));
const ns = `hdmem${process.pid % 100000}`;
let child;
function cleanup() {
  try {
    child?.kill('SIGKILL');
  } catch {}
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {}
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const status = (pid) => {
  const t = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
};

async function buildStore(dir) {
  const now = Math.floor(Date.now() / 1000);
  const store = await LeaseStore.open(dir, { log: () => {} });
  const total = Math.round(N * (1 + Number(args.renewals ?? 0)));
  for (let i = 0; i < total; i += 20_000) {
    const batch = [];
    for (let n = i; n < Math.min(total, i + 20_000); n++) {
      const j = n % N;
      const renewal = Math.floor(n / N);
      const m = [0x52, 0x54, (j >>> 24) & 255, (j >>> 16) & 255, (j >>> 8) & 255, j & 255];
      batch.push({
        address: (BASE + j) >>> 0,
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
        hostname: `host-${j}`,
      });
    }
    await store.write(batch);
  }
  if (args.compact) await store.compact();
  const st = store.stats();
  await store.close();
  return st;
}

async function run(k, dir, conf) {
  const sock = join(work, `ctl-${k}.sock`);
  const node = [process.execPath];
  if (args.heap) node.push('--expose-gc', '--import', join(work, 'probe.mjs'));
  const lines = [];
  const t0 = performance.now();
  child = spawn('ip', ['netns', 'exec', ns, ...node, join(ROOT, 'packages/cli/dist/main.js'), 'run',
    '--dhcpd', conf, '--state-dir', dir, '--socket', sock, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [child.stdout, child.stderr]) s.on('data', (d) => lines.push(...d.toString().split('\n')));
  let exited = false;
  child.on('exit', () => (exited = true));
  let st;
  for (;;) {
    if (exited) throw new Error(`daemon exited:\n${lines.slice(-20).join('\n')}`);
    if (performance.now() - t0 > 120_000) throw new Error('no status-get answer within 120 s');
    if (existsSync(sock)) {
      st = await controlRequest(sock, 'status-get', undefined, 60_000).catch(() => undefined);
      if (st) break;
    }
    await sleep(5);
  }
  const readyS = (performance.now() - t0) / 1000;
  // `ip netns exec` execs the command in place, so the child's pid is the daemon's.
  const afterStart = status(child.pid);
  const t1 = performance.now();
  const st2 = await controlRequest(sock, 'status-get', undefined, 60_000);
  const statusMs = performance.now() - t1;
  const afterStatus = status(child.pid);
  await sleep(3000);
  const settled = status(child.pid);
  let probe;
  if (args.heap) {
    const n = lines.length;
    child.kill('SIGUSR2');
    for (let i = 0; i < 200 && !probe; i++) {
      await sleep(50);
      const l = lines.slice(n).find((x) => x.startsWith('MEMPROBE '));
      if (l) probe = JSON.parse(l.slice(9));
    }
  }
  const done = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await done;
  child = undefined;
  return { readyS, statusMs, afterStart, afterStatus, settled, probe, leases: st2.arguments?.dhcp?.leases };
}

const stateDir = join(work, 'state');
const tb = performance.now();
const built = await buildStore(stateDir);
const storeDesc = `journal ${(built.journalBytes / 2 ** 20).toFixed(0)} MiB, generation ${built.generation}, ${built.compactions} compactions`;
console.error(`[memory-1m] ${N.toLocaleString('en')} leases written in ${((performance.now() - tb) / 1000).toFixed(1)} s (${storeDesc})`);
writeFileSync(join(work, 'probe.mjs'), PROBE);
const conf = join(work, 'dhcpd.conf');
writeFileSync(conf, CONF);
execFileSync('ip', ['netns', 'add', ns]);
const inNs = (...a) => execFileSync('ip', ['-n', ns, ...a]);
inNs('link', 'set', 'lo', 'up');
inNs('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1');
inNs('addr', 'add', '10.0.0.2/24', 'dev', 'eth0');
inNs('link', 'set', 'eth0', 'up');
inNs('link', 'set', 'eth1', 'up');

const rows = [];
for (let k = 1; k <= RUNS; k++) {
  const r = await run(k, stateDir, conf);
  console.error(`[memory-1m] run ${k}: ready ${r.readyS.toFixed(2)} s, RSS ${r.afterStatus.rss.toFixed(0)} MB`);
  rows.push(r);
}
const f0 = (x) => x.toFixed(0);
console.log(`\nhadhcp daemon, ${N.toLocaleString('en')} leases (store: ${storeDesc}), Node ${process.version}, ${new Date().toISOString()}`);
console.log('| run | status-get answered s | RSS after start MB | RSS after status-get MB | RSS after 3 s MB | peak (VmHWM) MB | status-get ms |' +
  (args.heap ? ' heap used / total MB (after GC) |' : ''));
console.log('|---|---|---|---|---|---|---|' + (args.heap ? '---|' : ''));
rows.forEach((r, i) =>
  console.log(`| ${i + 1} | ${r.readyS.toFixed(2)} | ${f0(r.afterStart.rss)} | ${f0(r.afterStatus.rss)} | ${f0(r.settled.rss)} | ` +
    `${f0(r.settled.hwm)} | ${r.statusMs.toFixed(1)} |` +
    (r.probe ? ` ${f0(r.probe.heapUsed / 2 ** 20)} / ${f0(r.probe.heapTotal / 2 ** 20)} |` : '')),
);
if (rows[0]?.probe) console.log(`heap spaces (MB used): ${JSON.stringify(rows[0].probe.spaces)}; external ${f0(rows[0].probe.external / 2 ** 20)} MB`);
console.log(`leases in status-get: ${JSON.stringify(rows[0]?.leases)}`);
const worstRss = Math.max(...rows.map((r) => Math.max(r.afterStatus.rss, r.settled.rss)));
const worstStart = Math.max(...rows.map((r) => r.readyS));
console.log(`worst: RSS ${f0(worstRss)} MB (target < 400: ${worstRss < 400 ? 'met' : 'MISSED'}), ` +
  `start-up ${worstStart.toFixed(2)} s (target < 5: ${worstStart < 5 ? 'met' : 'MISSED'})`);
