// Log destination benchmark: what logging costs the daemon's main thread, per line, for the destinations the
// daemon has had, writing to /dev/null and to a pipe whose reader keeps up (`cat`).
// Build first, then run:   npx tsc -b packages/daemon && node test/bench/log-destination.mjs
// Options: --lines=200000, --runs=5 (the median is shown), --quick (--lines=20000 --runs=1).
// Plain JavaScript, run as it is by node (it shares nothing with test/lab/lib): see test/bench/README.md.
//
// The workload is the daemon's: ISC's four lines per exchange (DHCPDISCOVER, DHCPOFFER, DHCPREQUEST, DHCPACK)
// logged through pino at info level, ten exchanges per event-loop turn (setImmediate between turns), so that
// timers fire between turns as they do in the daemon. Each measurement runs in its own child process. Figures:
//   main µs/line   the main thread's CPU time (its schedstat), which is what a DHCP exchange waits behind
//   all µs/line    the whole process's CPU time (process.cpuUsage: the thread pool's writes included)
//   wall ms        from the first line to the last byte handed to the kernel
// Destinations:
//   write-sync     LogDestination (packages/daemon/src/log-destination.ts): batched, write(2) on the main thread
//   async-batched  the one it replaced: the same batching, handed to pino.destination({ sync: false })
//   async-line     pino.destination({ sync: false }) without batching (before the batching)
//   sync-line      pino.destination({ sync: true }): one write(2) per line
//   pretty-write-sync    --pretty now: pino-pretty's formatter on the main thread, into LogDestination
//   pretty-transport     --pretty before: a pino transport (pino-pretty in a worker thread, async destination);
//                        its wall time includes the worker's start and end
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, mkdtempSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const root = join(here, '../../..');
const args = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => a.slice(2).split('='))
    .map(([k, v]) => [k, v ?? '1']),
);
const QUICK = Boolean(args.quick);
const LINES = Number(args.lines ?? (QUICK ? 20_000 : 200_000));
const RUNS = Number(args.runs ?? (QUICK ? 1 : 5));
const DESTS = [
  'write-sync',
  'async-batched',
  'async-line',
  'sync-line',
  'pretty-write-sync',
  'pretty-transport',
];
const TARGETS = ['/dev/null', 'pipe'];

if (args.child) {
  await child(args.child, args.target);
} else {
  await parent();
}

async function parent() {
  const dir = mkdtempSync(join(tmpdir(), 'hadhcp-logbench-'));
  console.log(`${LINES} lines, ${RUNS} run(s) each, median; node ${process.version}`);
  console.log('| destination | target | main µs/line | all µs/line | wall ms |');
  console.log('|---|---|---:|---:|---:|');
  try {
    for (const target of TARGETS) {
      for (const dest of DESTS) {
        const runs = [];
        for (let r = 0; r < RUNS; r++) runs.push(runChild(dest, target, dir, r));
        const med = (k) => runs.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
        const us = (ns) => (ns / 1000 / LINES).toFixed(2);
        console.log(
          `| ${dest} | ${target} | ${us(med('mainNs'))} | ${us(med('allNs'))} | ${med('wallMs').toFixed(0)} |`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One measurement in a fresh process; a pipe is a FIFO read by `cat` into /dev/null. */
function runChild(dest, target, dir, r) {
  const me = [process.execPath, here, `--child=${dest}`, `--lines=${LINES}`];
  let cmd;
  if (target === 'pipe') {
    const fifo = join(dir, `fifo-${dest}-${r}`);
    cmd = `mkfifo ${fifo} && (cat ${fifo} > /dev/null &) && ${me.join(' ')} --target=${fifo}; rm -f ${fifo}`;
  } else {
    cmd = `${me.join(' ')} --target=/dev/null`;
  }
  const res = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${dest} ${target}: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').at(-1));
}

async function child(dest, target) {
  const require = createRequire(join(root, 'packages/daemon/package.json'));
  const { pino } = require('pino');
  const { LogDestination } = await import(join(root, 'packages/daemon/dist/log-destination.js'));
  const fd = openSync(target, 'w');
  let stream;
  let done; // resolves when every byte was handed to the kernel
  if (dest === 'write-sync') {
    stream = new LogDestination({ fd });
    done = async () => stream.flushSync();
  } else if (dest === 'async-batched') {
    const sb = pino.destination({ dest: fd, sync: false });
    stream = asyncBatched(sb);
    done = () => stream.drained();
  } else if (dest === 'async-line') {
    stream = pino.destination({ dest: fd, sync: false });
    done = () => new Promise((resolve) => stream.flush(() => resolve()));
  } else if (dest === 'sync-line') {
    stream = pino.destination({ dest: fd, sync: true });
    done = async () => undefined;
  } else if (dest === 'pretty-write-sync') {
    const pretty = require('pino-pretty').prettyFactory({
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      colorize: false,
    });
    stream = new LogDestination({ fd, format: (l) => pretty(l) });
    done = async () => stream.flushSync();
  } else {
    stream = pino.transport({
      target: require.resolve('pino-pretty'),
      options: { destination: fd, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', colorize: false },
    });
    // The worker does not keep the process alive: an interval does, until it has closed.
    done = () =>
      new Promise((resolve) => {
        const alive = setInterval(() => undefined, 1000);
        stream.once('close', () => resolve(clearInterval(alive)));
        stream.end();
      });
  }
  const log = pino({ level: 'info', base: { pid: process.pid } }, stream);
  const mac = '52:54:00:7d:2d:b1';
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadNs();
  const t0 = process.hrtime.bigint();
  const exchanges = LINES / 4;
  for (let i = 0; i < exchanges;) {
    for (let k = 0; k < 10 && i < exchanges; k++, i++) {
      const ip = `10.1.${(i >> 8) & 255}.${i & 255}`;
      log.info(`DHCPDISCOVER from ${mac} via 10.1.0.1`);
      log.info(`DHCPOFFER on ${ip} to ${mac} via 10.1.0.1`);
      log.info(`DHCPREQUEST for ${ip} (10.0.0.2) from ${mac} via 10.1.0.1`);
      log.info(`DHCPACK on ${ip} to ${mac} via 10.1.0.1`);
    }
    await new Promise((r) => setImmediate(r));
  }
  await done();
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const mainNs = mainThreadNs() - main0;
  const c = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ mainNs, allNs: (c.user + c.system) * 1000, wallMs }));
}

/** The main thread's time on CPU so far (ns): the first field of its schedstat. */
function mainThreadNs() {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
}

/** The destination as it was before LogDestination (logger.ts until 2026-12): 2 ms / 8 KiB batches to sonic-boom. */
function asyncBatched(dest) {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const s = pending;
    pending = '';
    dest.write(s);
  };
  return {
    write(s) {
      pending += s;
      if (pending.length >= 8192) flush();
      else if (!scheduled) {
        scheduled = true;
        setTimeout(flush, 2).unref();
      }
      return true;
    },
    drained() {
      flush();
      return new Promise((resolve) => dest.flush(() => resolve()));
    },
  };
}
