// A small network-namespace lab for the benchmarks (plain ESM: Node 20 cannot run test/lab/lib's TypeScript).
// Same naming and marker scheme as test/lab/lib/lab.ts (prefix hd<pid%1000><2 chars>, marker in
// /run/hadhcp-lab-runs), so either one sweeps what a SIGKILLed run of the other left behind.
// Everything a bench creates is torn down by cleanup(), which also runs on exit, SIGINT/SIGTERM/SIGHUP,
// an uncaught error and the bench's own deadline.
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const HADHCP_CLI = join(ROOT, 'packages/cli/dist/main.js');
const MARKER_DIR = '/run/hadhcp-lab-runs';
const PREFIX_RE = /^hd\d{1,3}[a-z0-9]{2}$/;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function quiet(cmd, args) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // best effort during teardown
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

function netnsList() {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

function killNetnsPids(ns) {
  let out = '';
  try {
    out = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 10_000 });
  } catch {
    return;
  }
  for (const p of out.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Removes namespaces of earlier runs (bench or lab test) whose process is gone. */
export function sweepStale() {
  let markers = [];
  try {
    markers = readdirSync(MARKER_DIR);
  } catch {
    return;
  }
  for (const prefix of markers.filter((m) => PREFIX_RE.test(m))) {
    let pid = NaN;
    try {
      pid = Number(readFileSync(join(MARKER_DIR, prefix), 'utf8').trim());
    } catch {
      continue;
    }
    if (Number.isInteger(pid) && alive(pid)) continue;
    for (const ns of netnsList().filter((n) => n.startsWith(`${prefix}-`))) {
      killNetnsPids(ns);
      quiet('ip', ['netns', 'del', ns]);
    }
    rmSync(join(MARKER_DIR, prefix), { force: true });
  }
}

/** A long-running process in its own process group; output kept as timestamped lines. */
export class Proc {
  constructor(label, argv, opts = {}) {
    this.label = label;
    this.lines = [];
    this.waiters = new Set();
    this.exited = undefined;
    const [cmd, ...args] = argv;
    this.child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    this.pid = this.child.pid;
    this.log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
    for (const s of [this.child.stdout, this.child.stderr]) {
      let partial = '';
      s.setEncoding('utf8');
      s.on('data', (chunk) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        for (const p of parts) this.push(p);
      });
      s.on('end', () => partial && this.push(partial));
    }
    this.exit = new Promise((resolve) => {
      this.child.on('error', (e) => this.push(`spawn error: ${e.message}`));
      this.child.on('close', (code, signal) => {
        this.exited = { code, signal, at: performance.now() };
        this.push(`[exited code=${code} signal=${signal}]`);
        this.log?.end();
        resolve(this.exited);
      });
    });
  }

  get running() {
    return this.exited === undefined;
  }

  output() {
    return this.lines.map((l) => l.text).join('\n');
  }

  tail(n = 25) {
    return this.lines
      .slice(-n)
      .map((l) => l.text)
      .join('\n');
  }

  push(text) {
    const line = { text, wall: Date.now(), mono: performance.now() };
    this.lines.push(line);
    this.log?.write(`${new Date(line.wall).toISOString()} ${text}\n`);
    for (const w of [...this.waiters]) {
      const m = text.match(w.re);
      if (m) w.done(line, m);
    }
  }

  /** Resolves with { line, match } for the first line (since index `from`) matching `re`. */
  waitForLine(re, timeoutMs = 10_000, from = 0) {
    for (const line of this.lines.slice(from)) {
      const m = line.text.match(re);
      if (m) return Promise.resolve({ line, match: m });
    }
    return new Promise((resolve, reject) => {
      const w = {
        re,
        done: (line, m) => {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve({ line, match: m });
        },
      };
      const fail = (why) => {
        clearTimeout(timer);
        this.waiters.delete(w);
        reject(new Error(`${this.label}: ${why} waiting for ${re}\n--- output tail ---\n${this.tail()}`));
      };
      const timer = setTimeout(() => fail(`timeout after ${timeoutMs} ms`), timeoutMs);
      this.waiters.add(w);
      void this.exit.then(() => this.waiters.has(w) && fail('process exited'));
    });
  }

  /** Signals the process group (keepalived forks its VRRP child; dhcpd scripts...). */
  kill(sig = 'SIGTERM') {
    if (!this.running) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      try {
        process.kill(this.pid, sig);
      } catch {
        // gone
      }
    }
  }

  async stop(graceMs = 3000) {
    this.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), graceMs);
    const r = await this.exit;
    clearTimeout(t);
    return r;
  }
}

export class Lab {
  constructor() {
    sweepStale();
    const rand = Math.random().toString(36).slice(2, 4).padEnd(2, '0');
    this.prefix = `hd${process.pid % 1000}${rand}`;
    this.dir = mkdtempSync(join(tmpdir(), `hadhcp-bench-${this.prefix}-`));
    this.namespaces = [];
    this.procs = [];
    this.cleaned = false;
    mkdirSync(MARKER_DIR, { recursive: true });
    writeFileSync(join(MARKER_DIR, this.prefix), `${process.pid}\n`);
    this.onExit = () => this.cleanupSync();
    this.onSignal = (sig) => {
      console.error(`\n[bench] ${sig}: cleaning up`);
      this.cleanupSync();
      process.exit(130);
    };
    process.once('exit', this.onExit);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(s, this.onSignal);
  }

  ns(name) {
    return `${this.prefix}-${name}`;
  }

  file(name, content) {
    const p = join(this.dir, name);
    if (content !== undefined) writeFileSync(p, content);
    return p;
  }

  argv(ns, cmd, args) {
    return ns === undefined ? [cmd, ...args] : ['ip', 'netns', 'exec', this.ns(ns), cmd, ...args];
  }

  /** Runs to completion in `ns` (host if undefined); throws with stderr on failure. */
  run(ns, cmd, args = [], opts = {}) {
    const [c, ...a] = this.argv(ns, cmd, args);
    try {
      return execFileSync(c, a, { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      if (opts.allowFail) return (e.stdout ?? '') + (e.stderr ?? '');
      throw new Error(`[${ns ?? 'host'}] ${cmd} ${args.join(' ')}: ${e.stderr || e.message}`);
    }
  }

  /**
   * Runs to completion without blocking the event loop (use this while spawned processes run: a blocked loop
   * stops draining their output pipes and a chatty peer such as dhcpd -d then stalls on write).
   * Resolves { code, stdout, stderr }; never rejects on a non-zero exit.
   */
  exec(ns, cmd, args = [], opts = {}) {
    const [c, ...a] = this.argv(ns, cmd, args);
    return new Promise((resolve) => {
      const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ code: 127, stdout, stderr: stderr + e.message });
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
    });
  }

  addNamespace(name) {
    const full = this.ns(name);
    if (full.length > 15) throw new Error(`namespace name ${full} too long`);
    this.run(undefined, 'ip', ['netns', 'add', full]);
    this.namespaces.push(full);
    this.run(name, 'ip', ['link', 'set', 'lo', 'up']);
  }

  /** Bridge with multicast snooping off, in namespace `ns`. */
  addBridge(ns, name) {
    this.run(ns, 'ip', ['link', 'add', 'name', name, 'type', 'bridge', 'mcast_snooping', '0']);
    this.run(ns, 'ip', ['link', 'set', name, 'up']);
  }

  /** veth: `ifA` in nsA, `ifB` in nsB; with `bridge`, ifB is plugged into that bridge of nsB. */
  link(nsA, ifA, nsB, ifB, opts = {}) {
    const args = ['link', 'add', ifA];
    if (opts.mac) args.push('address', opts.mac);
    args.push('type', 'veth', 'peer', 'name', ifB, 'netns', this.ns(nsB));
    this.run(nsA, 'ip', args);
    if (opts.bridge) this.run(nsB, 'ip', ['link', 'set', ifB, 'master', opts.bridge]);
    this.run(nsB, 'ip', ['link', 'set', ifB, 'up']);
    this.run(nsA, 'ip', ['link', 'set', ifA, 'up']);
  }

  addr(ns, ifName, cidr) {
    this.run(ns, 'ip', ['addr', 'add', cidr, 'dev', ifName]);
  }

  spawn(ns, cmd, args = [], opts = {}) {
    if (this.cleaned) throw new Error('lab already cleaned up');
    const label = `${ns ?? 'host'}:${cmd.split('/').pop()}`;
    const logFile = opts.logFile ?? this.file(`${label.replace(/[^\w.-]/g, '_')}-${this.procs.length}.log`);
    const p = new Proc(label, this.argv(ns, cmd, args), { ...opts, logFile });
    this.procs.push(p);
    return p;
  }

  async cleanup() {
    if (this.cleaned) return;
    await Promise.all(this.procs.map((p) => p.stop(2000)));
    this.cleanupSync();
  }

  cleanupSync() {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const p of this.procs) p.kill('SIGKILL');
    for (const ns of this.namespaces) killNetnsPids(ns);
    for (const ns of [...this.namespaces].reverse()) quiet('ip', ['netns', 'del', ns]);
    if (process.env.HADHCP_BENCH_KEEP) console.error(`[bench] kept ${this.dir}`);
    else rmSync(this.dir, { force: true, recursive: true });
    rmSync(join(MARKER_DIR, this.prefix), { force: true });
    process.removeListener('exit', this.onExit);
  }
}

/** Runs `main(lab)` with a hard deadline; the lab is cleaned up on every path. */
export async function withLab(deadlineMs, main) {
  const lab = new Lab();
  const timer = setTimeout(() => {
    console.error(`[bench] deadline of ${deadlineMs / 1000} s reached: stopping`);
    lab.cleanupSync();
    process.exit(124);
  }, deadlineMs);
  try {
    return await main(lab);
  } finally {
    clearTimeout(timer);
    await lab.cleanup();
  }
}

/** Process CPU seconds (utime + stime) of pid and, optionally, its children still alive. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after comm: state(0) ppid(1) ... utime is field 14 overall -> index 11 here, stime 12
  return (Number(f[11]) + Number(f[12])) / 100; // CLK_TCK is 100 on Linux
}

export function rssKiB(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = s.match(/VmRSS:\s+(\d+) kB/);
  const h = s.match(/VmHWM:\s+(\d+) kB/);
  return { rss: m ? Number(m[1]) : NaN, hwm: h ? Number(h[1]) : NaN };
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return percentile(s, 50);
}

/** Renders a markdown table. */
export function table(headers, rows) {
  const out = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  return out.join('\n');
}
