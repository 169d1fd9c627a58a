// Lease store benchmark: the journal store against better-sqlite3 (WAL, synchronous=FULL).
// Build first, then run:   npx tsc -b packages/leases && node --expose-gc test/bench/leases-store.mjs
// Options: --sqlite-binding=/path/better_sqlite3.node (a locally built addon, when the prebuilt one does not load),
// --engines=journal,sqlite, --seconds=3 (per throughput run), --leases=1000000, --dir=/path (default: a temp dir on the same
// file system as os.tmpdir(); put it where the daemon's store will live to measure that disk), --quick (a smoke run:
// --seconds=0.5 --leases=20000 unless given).
// Plain JavaScript, run as it is by node (it shares nothing with test/lab/lib): see test/bench/README.md.
// Each measurement runs in its own child process so RSS figures do not mix.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const root = join(here, '../../..');
const { LeaseStore, BindingState } = await import(join(root, 'packages/leases/dist/index.js'));
// SQLite rows hold the store's own binary lease encoding, so both engines pay the same codec.
const { encodeLeaseBody, decodeLeaseBody } = await import(join(root, 'packages/leases/dist/codec.js'));
const args = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => a.slice(2).split('='))
    .map(([k, v]) => [k, v ?? '1']),
);
const QUICK = Boolean(args.quick);
const SECONDS = Number(args.seconds ?? (QUICK ? 0.5 : 3));
const N = Number(args.leases ?? (QUICK ? 20_000 : 1_000_000));

function lease(i, t = 0) {
  return {
    address: (0x0a000000 + i) >>> 0,
    state: BindingState.ACTIVE,
    starts: 1_700_000_000 + t,
    ends: 1_700_003_600 + t,
    tstp: 1_700_001_800 + t,
    tsfp: 1_700_001_000,
    atsfp: 1_700_001_000,
    cltt: 1_700_000_000 + t,
    hwType: 1,
    hwAddr: new Uint8Array([0x52, 0x54, i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255]),
    clientId: new Uint8Array([1, 0x52, 0x54, i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255]),
    hostname: `host-${i}`,
  };
}

async function mem() {
  // V8 frees ArrayBuffer memory in a background sweeper: collect, let it run, collect again.
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 100));
  globalThis.gc?.();
  const m = process.memoryUsage();
  const mb = (x) => +(x / 2 ** 20).toFixed(1);
  return {
    rssMB: mb(m.rss),
    heapMB: mb(m.heapUsed),
    heapTotalMB: mb(m.heapTotal),
    externalMB: mb(m.external),
  };
}

function openSqlite(dir) {
  const Database = createRequire(join(root, 'packages/leases/package.json'))('better-sqlite3');
  const nativeBinding = process.env.HADHCP_SQLITE_BINDING;
  const db = new Database(join(dir, 'leases.db'), nativeBinding ? { nativeBinding } : {});
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS leases (address INTEGER PRIMARY KEY, body BLOB NOT NULL)');
  return db;
}

/** better-sqlite3 is synchronous: group commit = one transaction per event-loop turn of queued writes. */
function sqliteWriter(db) {
  const put = db.prepare('INSERT OR REPLACE INTO leases (address, body) VALUES (?, ?)');
  const tx = db.transaction((items) => {
    for (const it of items) for (const l of it.leases) put.run(l.address, encodeLeaseBody(l));
  });
  let queue = [];
  let scheduled = false;
  let syncs = 0;
  const flush = () => {
    scheduled = false;
    const batch = queue;
    queue = [];
    tx(batch);
    syncs++;
    for (const it of batch) it.resolve();
  };
  return {
    write(leases) {
      return new Promise((resolve) => {
        queue.push({ leases, resolve });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    syncs: () => syncs,
  };
}

async function throughput(engine, inflight, dir) {
  let write;
  let syncs;
  let close;
  if (engine === 'journal') {
    const s = await LeaseStore.open(dir, { log: () => undefined });
    write = (ls) => s.write(ls);
    syncs = () => s.stats().syncs;
    close = () => s.close();
  } else {
    const db = openSqlite(dir);
    const w = sqliteWriter(db);
    write = w.write;
    syncs = w.syncs;
    close = async () => db.close();
  }
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let done = 0;
  let next = 0;
  const lat = [];
  const until = performance.now() + SECONDS * 1000;
  async function worker() {
    while (performance.now() < until) {
      const t = performance.now();
      await write([lease(next++ % 65536, next)]);
      lat.push(performance.now() - t);
      done++;
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inflight }, worker));
  const secs = (performance.now() - t0) / 1000;
  loop.disable();
  lat.sort((a, b) => a - b);
  const out = {
    // How long the daemon's event loop (VRRP adverts, failover, DHCP) was blocked at worst.
    loopBlockedMaxMs: +(loop.max / 1e6).toFixed(2),
    engine,
    inflight,
    writesPerSec: Math.round(done / secs),
    syncsPerSec: Math.round(syncs() / secs),
    p50ms: +lat[Math.floor(lat.length * 0.5)].toFixed(2),
    p99ms: +lat[Math.floor(lat.length * 0.99)].toFixed(2),
  };
  await close();
  return out;
}

async function fill(engine, dir, form) {
  if (engine === 'journal') {
    const s = await LeaseStore.open(dir, { log: () => undefined, compactMinBytes: 2 ** 40 });
    for (let i = 0; i < N; i += 10_000)
      await s.write(Array.from({ length: Math.min(10_000, N - i) }, (_, k) => lease(i + k)));
    if (form === 'snapshot') await s.compact();
    await s.close();
  } else {
    const db = openSqlite(dir);
    const w = sqliteWriter(db);
    for (let i = 0; i < N; i += 10_000)
      await w.write(Array.from({ length: Math.min(10_000, N - i) }, (_, k) => lease(i + k)));
    db.close();
  }
  return { filled: N };
}

/** The heavy DHCP-core form: a Map of full Lease objects (Uint8Array fields). */
function asLease(l) {
  return l;
}

/** A lean form a LeaseTable could use: byte fields as Latin-1 strings instead of Uint8Arrays. */
function asLean(l) {
  // An object literal (one hidden class); a rest/spread copy would fall into slow dictionary mode.
  return {
    address: l.address,
    state: l.state,
    starts: l.starts,
    ends: l.ends,
    tstp: l.tstp,
    tsfp: l.tsfp,
    atsfp: l.atsfp,
    cltt: l.cltt,
    hwType: l.hwType,
    hw: l.hwAddr ? Buffer.from(l.hwAddr).toString('latin1') : '',
    cid: l.clientId ? Buffer.from(l.clientId).toString('latin1') : undefined,
    hostname: l.hostname,
  };
}

/**
 * Start-up to a usable daemon: open the store (view 'store': nothing else), or open and build the in-memory
 * table a DHCP core needs (view 'table': Lease objects; 'lean': byte fields as strings; 'index': the store itself
 * as the table plus a hardware-address index).
 */
async function startup(engine, dir, view) {
  const base = await mem();
  const t0 = performance.now();
  const shape = view === 'lean' ? asLean : asLease;
  let count = 0;
  const keep = [];
  if (engine === 'journal') {
    const s = await LeaseStore.open(dir, { log: () => undefined });
    count = s.size;
    keep.push(s);
    if (view === 'index') {
      // The store as the core's table: only a client index (hardware address -> address) on top of it.
      const byHw = new Map();
      for (const l of s.leases()) if (l.hwAddr) byHw.set(Buffer.from(l.hwAddr).toString('latin1'), l.address);
      keep.push(byHw);
    } else if (view !== 'store') {
      const m = new Map();
      for (const l of s.leases()) m.set(l.address, shape(l));
      keep.push(m);
    }
  } else {
    const db = openSqlite(dir);
    keep.push(db);
    if (view === 'store') count = db.prepare('SELECT count(*) AS n FROM leases').get().n;
    else {
      const m = new Map();
      for (const row of db.prepare('SELECT address, body FROM leases').iterate()) {
        m.set(row.address, shape(decodeLeaseBody(row.body)));
        count++;
      }
      keep.push(m);
    }
  }
  const ms = performance.now() - t0;
  const after = await mem();
  return {
    engine,
    view,
    leases: count,
    openMs: Math.round(ms),
    baseRssMB: base.rssMB,
    ...after,
    kept: keep.length,
  };
}

/** The disk's own rate: one 100-byte append + fdatasync at a time, what any durable store pays per batch. */
async function disk(dir) {
  const { open } = await import('node:fs/promises');
  const fh = await open(join(dir, 'probe'), 'w');
  const b = Buffer.alloc(100, 1);
  let n = 0;
  let pos = 0;
  const until = performance.now() + SECONDS * 1000;
  while (performance.now() < until) {
    await fh.write(b, 0, b.length, pos);
    pos += b.length;
    await fh.datasync();
    n++;
  }
  await fh.close();
  return { fdatasyncPerSec: Math.round(n / SECONDS) };
}

async function child(mode, engine, param, dir) {
  if (mode === 'disk') return disk(dir);
  if (mode === 'throughput') return throughput(engine, Number(param), dir);
  if (mode === 'fill') return fill(engine, dir, param);
  if (mode === 'startup') return startup(engine, dir, param);
  throw new Error(`unknown mode ${mode}`);
}

/** Runs one measurement in a child; the options (--seconds, --leases, ...) go along. */
function run(...a) {
  const options = process.argv.slice(2).filter((x) => x.startsWith('--'));
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=4096', here, 'child', ...a, ...options], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`child ${a.join(' ')} failed`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

if (process.argv[2] === 'child') {
  const [, , , mode, engine, param, dir] = process.argv;
  console.log(JSON.stringify(await child(mode, engine, param, dir)));
} else {
  const base = args.dir ?? tmpdir();
  if (args['sqlite-binding']) process.env.HADHCP_SQLITE_BINDING = args['sqlite-binding'];
  const probe = mkdtempSync(join(base, 'hadhcp-bench-'));
  const results = { disk: run('disk', '-', '-', probe), throughput: [], startup: [] };
  rmSync(probe, { recursive: true, force: true });
  console.error(JSON.stringify(results.disk));
  const engines = (args.engines ?? 'journal,sqlite').split(',');
  for (const engine of engines) {
    for (const inflight of [1, 16, 256]) {
      const d = mkdtempSync(join(base, 'hadhcp-bench-'));
      results.throughput.push(run('throughput', engine, String(inflight), d));
      console.error(JSON.stringify(results.throughput.at(-1)));
      rmSync(d, { recursive: true, force: true });
    }
  }
  const forms = [
    ['journal', 'snapshot'],
    ['journal', 'journal'],
    ['sqlite', 'db'],
  ];
  for (const [engine, form] of forms.filter(([e]) => engines.includes(e))) {
    const d = mkdtempSync(join(base, 'hadhcp-bench-'));
    run('fill', engine, form, d);
    for (const view of engine === 'journal'
      ? ['store', 'table', 'lean', 'index']
      : ['store', 'table', 'lean']) {
      const r = { form, ...run('startup', engine, view, d) };
      results.startup.push(r);
      console.error(JSON.stringify(r));
    }
    rmSync(d, { recursive: true, force: true });
  }
  const emptyDir = mkdtempSync(join(base, 'hadhcp-bench-'));
  const empty = run('startup', 'journal', 'store', emptyDir);
  rmSync(emptyDir, { recursive: true, force: true });
  console.log(
    JSON.stringify(
      { node: process.version, leases: N, seconds: SECONDS, emptyStoreRssMB: empty.rssMB, ...results },
      null,
      1,
    ),
  );
}
