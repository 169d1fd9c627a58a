// `pnpm bench memory`: the hadhcp daemon with 1,000,000 leases: time from start to a ready control socket (and
// to its first status-get answer), and resident memory (VmRSS) after start, after a status-get and settled.
// Targets (issue): RSS < 400 MB, start-up < 5 s.
//
// 1. A lease store with N active leases (10.16.1.0 + i, distinct MAC and client-id, hostname) is written with
//    the store's own API (LeaseStore.open + write in batches), or with --via=import from a generated ISC
//    dhcpd.leases file through `hadhcp leases import` (exercises the importer; slower).
// 2. "store only": a child process opens that store alone and reports its heap: what the store costs.
// 3. The daemon (dhcpd.conf: one /12 with a range covering every lease) starts twice in a namespace of its own
//    (eth0 10.0.0.2/24, a veth whose peer stays in the namespace), preloaded with lib/probe.mjs so SIGUSR2 prints process.memoryUsage()
//    after a GC: the heap/external split says where the memory is.
// Options: --leases=1000000  --via=store|import  --starts=2
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { controlRequest } from '../../packages/control/dist/index.js';
import { HADHCP_CLI, ROOT, rssKiB, sleep, table, withLab } from './lib/lab.mjs';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => a.slice(2).split('='))
    .map(([k, v]) => [k, v ?? '1']),
);
const N = Number(args.leases ?? 1_000_000);
const VIA = args.via ?? 'store';
const STARTS = Number(args.starts ?? 2);
const BASE = (10 << 24) | (16 << 16) | (1 << 8); // 10.16.1.0
const { LeaseStore, BindingState } = await import(join(ROOT, 'packages/leases/dist/index.js'));

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

const ipStr = (a) => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
const macBytes = (i) => [0x52, 0x54, (i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255];

function lease(i, now) {
  const m = macBytes(i);
  return {
    address: (BASE + i) >>> 0,
    state: BindingState.ACTIVE,
    starts: now - 600,
    ends: now + 86400,
    tstp: now + 86400,
    tsfp: 0,
    atsfp: 0,
    cltt: now - 600,
    hwType: 1,
    hwAddr: new Uint8Array(m),
    clientId: new Uint8Array([1, ...m]),
    hostname: `host-${i}`,
  };
}

async function buildWithStore(dir) {
  const now = Math.floor(Date.now() / 1000);
  const store = await LeaseStore.open(dir, { log: () => {} });
  const BATCH = 20_000;
  for (let i = 0; i < N; i += BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) batch.push(lease(j, now));
    await store.write(batch);
  }
  await store.close();
}

function buildWithImport(lab, dir) {
  const file = lab.file('dhcpd.leases');
  const fd = openSync(file, 'w');
  const now = Math.floor(Date.now() / 1000);
  const t = (s) => {
    const d = new Date(s * 1000);
    const p = (x) => String(x).padStart(2, '0');
    return `${d.getUTCDay()} ${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  };
  const [starts, ends] = [t(now - 600), t(now + 86400)];
  let chunk = '';
  for (let i = 0; i < N; i++) {
    const mac = macBytes(i).map((x) => x.toString(16).padStart(2, '0')).join(':');
    chunk += `lease ${ipStr(BASE + i)} {\n  starts ${starts};\n  ends ${ends};\n  cltt ${starts};\n  binding state active;\n  next binding state free;\n  rewind binding state free;\n  hardware ethernet ${mac};\n  uid "\\001${macBytes(i).map((x) => `\\${x.toString(8).padStart(3, '0')}`).join('')}";\n  client-hostname "host-${i}";\n}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
  const mb = statSync(file).size / 2 ** 20;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [HADHCP_CLI, 'leases', 'import', file, '--state-dir', dir], { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`import failed (${r.status}): ${r.stderr.slice(0, 2000)}`);
  rmSync(file);
  return { mb, ms, out: r.stdout.trim() };
}

/** Opens the store alone in a child process: what the store's in-memory state costs. */
function storeOnly(dir) {
  const code = `
    const { LeaseStore } = await import(${JSON.stringify(join(ROOT, 'packages/leases/dist/index.js'))});
    const base = process.memoryUsage().rss;
    const t0 = performance.now();
    const s = await LeaseStore.open(${JSON.stringify(dir)}, { log: () => {} });
    const ms = performance.now() - t0;
    globalThis.gc();
    const m = process.memoryUsage();
    // Then the DHCP side's lease table (decoded Lease objects plus client-id and hardware indexes).
    const { LeaseTable } = await import(${JSON.stringify(join(ROOT, 'packages/dhcp/dist/index.js'))});
    const t1 = performance.now();
    const table = LeaseTable.from(s.leases());
    const tableMs = performance.now() - t1;
    globalThis.gc();
    const m2 = process.memoryUsage();
    console.log(JSON.stringify({ ms, size: s.size, rss: m.rss, base, heapUsed: m.heapUsed, external: m.external,
      tableMs, tableSize: table.size, tableRss: m2.rss, tableHeap: m2.heapUsed }));
    await s.close();
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`store-only probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const MB = (bytes) => (bytes / 2 ** 20).toFixed(0);
const MBk = (kib) => (kib / 1024).toFixed(0);

async function startDaemon(lab, dir, conf, k) {
  const sock = lab.file(`control-${k}.sock`);
  const t0 = performance.now();
  const p = lab.spawn('mem', process.execPath, [
    '--expose-gc',
    '--import',
    join(ROOT, 'test/bench/lib/probe.mjs'),
    HADHCP_CLI, 'run', '--dhcpd', conf, '--state-dir', dir, '--socket', sock, '--log-level', 'warn',
  ]);
  while (!existsSync(sock)) {
    if (!p.running) throw new Error(`daemon exited:\n${p.tail()}`);
    if (performance.now() - t0 > 120_000) throw new Error(`daemon not ready after 120 s:\n${p.tail()}`);
    await sleep(10);
  }
  const socketMs = performance.now() - t0;
  const rssReady = rssKiB(p.pid).rss;
  const st = await controlRequest(sock, 'status-get', undefined, 60_000);
  const statusMs = performance.now() - t0;
  if (st.result !== 0) throw new Error(`status-get: ${JSON.stringify(st).slice(0, 500)}`);
  const rssStatus = rssKiB(p.pid).rss;
  await sleep(3000);
  const settled = rssKiB(p.pid);
  const before = p.lines.length;
  p.kill('SIGUSR2');
  const { match } = await p.waitForLine(/^MEMPROBE (.*)$/, 10_000, before);
  const probe = JSON.parse(match[1]);
  const rssAfterGc = rssKiB(p.pid).rss;
  const leasesLoaded = st.arguments?.dhcp?.leases ?? st.arguments?.store?.leases;
  await p.stop(10_000);
  return { socketMs, statusMs, rssReady, rssStatus, rssSettled: settled.rss, hwm: settled.hwm, rssAfterGc, probe, leasesLoaded, status: st.arguments };
}

await withLab(10 * 60_000, async (lab) => {
  const t0 = Date.now();
  const dir = lab.file('state');
  mkdirSync(dir);
  process.stderr.write(`[memory] writing ${N.toLocaleString('en')} leases (${VIA})...\n`);
  const tb = performance.now();
  let importInfo;
  if (VIA === 'import') importInfo = buildWithImport(lab, dir);
  else await buildWithStore(dir);
  const buildMs = performance.now() - tb;
  const storeMB = spawnSync('du', ['-sm', dir], { encoding: 'utf8' }).stdout.split(/\s/)[0];
  process.stderr.write(`[memory] store ${storeMB} MB on disk, built in ${(buildMs / 1000).toFixed(1)} s\n`);

  const so = storeOnly(dir);
  process.stderr.write(`[memory] store alone: open ${(so.ms / 1000).toFixed(2)} s, RSS ${MB(so.rss)} MB\n`);

  lab.addNamespace('mem');
  lab.link('mem', 'eth0', 'mem', 'eth1'); // no dummy module here: a veth looped inside the namespace
  lab.addr('mem', 'eth0', '10.0.0.2/24');
  const conf = lab.file('dhcpd.conf', CONF);
  process.stderr.write(`[memory] daemon with an empty store (same dhcpd.conf)...\n`);
  const emptyDir = lab.file('empty-state');
  mkdirSync(emptyDir);
  const empty = await startDaemon(lab, emptyDir, conf, 0);
  const runs = [];
  for (let k = 1; k <= STARTS; k++) {
    process.stderr.write(`[memory] daemon start ${k}/${STARTS}...\n`);
    runs.push(await startDaemon(lab, dir, conf, k));
  }

  console.log(`\n## hadhcp daemon with ${N.toLocaleString('en')} leases (store ${storeMB} MB on disk, written via ${VIA})`);
  if (importInfo) console.log(`import: ${importInfo.mb.toFixed(0)} MB dhcpd.leases in ${(importInfo.ms / 1000).toFixed(1)} s (${importInfo.out})`);
  console.log(
    table(
      ['start', 'socket ready s', 'first status-get s', 'RSS ready MB', 'RSS after status-get MB', 'RSS settled (3 s) MB', 'peak (VmHWM) MB', 'heap used / external MB (after GC)'],
      runs.map((r, i) => [
        i + 1,
        (r.socketMs / 1000).toFixed(2),
        (r.statusMs / 1000).toFixed(2),
        MBk(r.rssReady),
        MBk(r.rssStatus),
        MBk(r.rssSettled),
        MBk(r.hwm),
        `${MB(r.probe.heapUsed)} / ${MB(r.probe.external)}`,
      ]),
    ),
  );
  const sp = runs[0].probe.spacesMB;
  console.log(`\nV8 heap spaces after GC (MB): ${Object.entries(sp).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log('\nWhere the memory goes (each step in a bare node with --expose-gc, after a GC):');
  console.log(
    table(
      ['step', 'time s', 'RSS MB', 'V8 heap used MB'],
      [
        ['node + imports (baseline)', '-', MB(so.base), '-'],
        [`LeaseStore.open (${so.size} leases as latin-1 strings)`, (so.ms / 1000).toFixed(2), MB(so.rss), MB(so.heapUsed)],
        [`+ LeaseTable.from(store.leases()) (decoded Lease objects + indexes)`, (so.tableMs / 1000).toFixed(2), MB(so.tableRss), MB(so.tableHeap)],
        [`daemon, same dhcpd.conf, EMPTY store`, (empty.socketMs / 1000).toFixed(2), MBk(empty.rssSettled), MB(empty.probe.heapUsed)],
        [`daemon with the ${N.toLocaleString('en')} leases`, (runs[0].socketMs / 1000).toFixed(2), MBk(runs[0].rssSettled), MB(runs[0].probe.heapUsed)],
      ],
    ),
  );
  console.log(`leases reported by status-get: ${JSON.stringify(runs[0].leasesLoaded)}`);
  const worstRss = Math.max(...runs.map((r) => Math.max(r.rssStatus, r.rssSettled))) / 1024;
  const worstStart = Math.max(...runs.map((r) => r.socketMs)) / 1000;
  console.log(`\nRSS ${worstRss.toFixed(0)} MB (target < 400 MB: ${worstRss < 400 ? 'met' : 'MISSED'}); ` +
    `start-up ${worstStart.toFixed(2)} s (target < 5 s: ${worstStart < 5 ? 'met' : 'MISSED'})`);
  console.log(`\n(bench took ${((Date.now() - t0) / 1000).toFixed(0)} s; ${new Date().toISOString()})`);
  if (args['dump-status']) writeFileSync(lab.file('status.json'), JSON.stringify(runs[0].status, null, 2));
});
