// What the benchmarks share: the lab helpers of test/lab/lib (namespaces, processes, cleanup, peers), plus the few
// things only a benchmark needs (a deadline, /proc readings, percentiles, markdown tables, options).
// Imported module by module, not through test/lab/lib/index.js: that file registers vitest hooks, and vitest
// refuses to load outside its own runner.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab } from '../../lab/lib/lab.js';
import type { LabProcess } from '../../lab/lib/proc.js';
import { HADHCP_CLI } from '../../lab/lib/starters.js';

export { Lab, type Bridge } from '../../lab/lib/lab.js';
export type { LabProcess } from '../../lab/lib/proc.js';
export { HADHCP_CLI, REPO_ROOT } from '../../lab/lib/starters.js';
export { startCapture, startDhcpd, startKeepalived, stopCapture } from '../../lab/lib/peers/servers.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `--name=value` and bare `--flag` (= '1') options. */
export function parseArgs(argv: string[] = process.argv.slice(2)): Record<string, string | undefined> {
  return Object.fromEntries(
    argv
      .filter((a) => a.startsWith('--'))
      .map((a) => {
        const i = a.indexOf('=');
        return i < 0 ? [a.slice(2), '1'] : [a.slice(2, i), a.slice(i + 1)];
      }),
  );
}

/**
 * Runs `main(lab)` with a hard deadline; the lab (namespaces, processes, scratch folder) is cleaned up on every
 * path. `HADHCP_LAB_KEEP=1` keeps the scratch folder (configs, logs, pcaps).
 */
export async function withLab<T>(deadlineMs: number, main: (lab: Lab) => Promise<T>): Promise<T> {
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

/** The command operators run (the systemd unit's ExecStart): it picks node's flags (bin/hadhcp). */
export const HADHCP_BIN = fileURLToPath(new URL('../../../packages/cli/bin/hadhcp', import.meta.url));

/**
 * `hadhcp run ARGS` in namespace `ns`, started as operators start it (bin/hadhcp, which gives node
 * --single-threaded-gc on one CPU). `core`: started pinned to that CPU (taskset -c), so it starts as a daemon that
 * has one CPU. `probe`: preloaded with lib/probe.mjs (see memprobe()); `gc`: node --expose-gc, so the probe reports
 * after a full GC. `node`: more node flags (--cpu-prof, --trace-gc), through HADHCP_NODE_OPTIONS (no spaces
 * inside a flag), after the bench's own HADHCP_NODE_OPTIONS.
 */
export function spawnHadhcp(
  lab: Lab,
  ns: string,
  args: string[],
  o: { probe?: boolean; gc?: boolean; node?: string[]; core?: string } = {},
): LabProcess {
  const node = [...(o.gc ? ['--expose-gc'] : []), ...(o.node ?? [])];
  if (o.probe) node.push(`--import=${fileURLToPath(new URL('probe.mjs', import.meta.url))}`);
  // The caller's own HADHCP_NODE_OPTIONS first (e.g. --single-threaded-gc, to compare).
  const env = {
    ...process.env,
    HADHCP_NODE_OPTIONS: [process.env.HADHCP_NODE_OPTIONS ?? '', ...node].join(' ').trim(),
  };
  const argv = [HADHCP_BIN, 'run', ...args];
  return o.core === undefined
    ? lab.spawn(ns, HADHCP_BIN, argv.slice(1), { env })
    : lab.spawn(ns, 'taskset', ['-c', o.core, ...argv], { env });
}

/**
 * Signals a process preloaded with lib/probe.mjs and resolves its report (process.memoryUsage() after a GC,
 * heap spaces, event-loop delay since the previous report). The probe numbers its reports, so an earlier one
 * in the output is never taken for this one.
 */
export async function memprobe(p: LabProcess, timeoutMs = 10_000): Promise<MemProbe> {
  const n = (p.output().match(/^MEMPROBE /gm) ?? []).length + 1;
  p.kill('SIGUSR2');
  const m = await p.waitForLine(new RegExp(`^MEMPROBE ${n} (.*)$`), timeoutMs);
  return JSON.parse(m[1]!) as MemProbe;
}

export interface MemProbe extends NodeJS.MemoryUsage {
  spacesMB: Record<string, number>;
  loop: { maxMs: number; p99Ms: number; meanMs: number };
}

/** Process CPU seconds (utime + stime) from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after comm: state(0) ppid(1) ...; utime is field 14 overall -> index 11 here, stime 12
  return (Number(f[11]) + Number(f[12])) / 100; // CLK_TCK is 100 on Linux
}

/** CPU-seconds the whole machine spent busy (all cores, everything but idle and iowait), from /proc/stat. */
export function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...; steal is the hypervisor's, not work done here
  const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]!;
  return busy / 100;
}

/** The CPU numbers this process may run on (Cpus_allowed_list of /proc/self/status, e.g. "0-1" or "2,4-5"). */
export function allowedCpus(): number[] {
  const m = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(\S+)/m);
  const out: number[] = [];
  for (const part of (m?.[1] ?? '0').split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a!; c <= (b ?? a!); c++) out.push(c);
  }
  return out;
}

/** VmRSS and VmHWM (peak) in KiB from /proc/PID/status. */
export function rssKiB(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** A share as a percentage with two decimals ('-' when not a number). */
export const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '-');
/** Milliseconds: two decimals below 10, whole above ('-' when not a number). */
export const fmtMs = (x: number): string => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 0) : '-');

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(xs: readonly number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

/** Renders a markdown table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const out = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  return out.join('\n');
}
