// A lab: network namespaces, bridges and veths for one test run, plus every process started in them.
// Everything is named under a per-run prefix and torn down by cleanup(), which also runs on process exit
// and on SIGINT/SIGTERM/SIGHUP; a later run also sweeps what a killed (SIGKILL) run left behind.
// Interfaces are created directly inside namespaces, so the host's interface list is never touched.
// A lab also keeps a timeline (steps, commands, what its processes went through) and, when a test it took part
// in fails, prints and saves a report of it with every process's last lines (report.ts).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// 'vitest/suite', not 'vitest': the benchmarks use Lab under plain tsx, where this just finds no test.
import { getCurrentTest } from 'vitest/suite';
import { execProcess, spawnProcess, type ExecResult, type LabProcess, type SpawnOptions } from './proc.js';
import { formatReport, publishReport, TAIL_LINES, testName, Timeline, whenTestEnds } from './report.js';

/** A Linux bridge living in namespace `ns` (full netns name kept internally; `ns` is the lab-short name). */
export interface Bridge {
  readonly kind: 'bridge';
  readonly ns: string;
  readonly name: string;
}

export interface LinkOptions {
  /** MAC address for the A end (e.g. a host reservation in dhcpd.conf). */
  macA?: string;
  /** Leave both ends down (default: both up). */
  down?: boolean;
}

const IFNAMSIZ = 15;
const MARKER_DIR = '/run/hadhcp-lab-runs';
const PREFIX_RE = /^hd\d{1,3}[a-z0-9]{2}$/;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function sh(argv: string[]): void {
  const [cmd, ...args] = argv;
  try {
    execFileSync(cmd!, args, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // best effort during teardown
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listNetns(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

function killNetnsPids(ns: string): void {
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

/** Removes namespaces of earlier runs whose process is gone (a SIGKILLed vitest worker cannot clean up). */
export function sweepStaleLabs(): void {
  let markers: string[] = [];
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
    if (Number.isInteger(pid) && pidAlive(pid)) continue;
    for (const ns of listNetns().filter((n) => n === prefix || n.startsWith(`${prefix}-`))) {
      killNetnsPids(ns);
      sh(['ip', 'netns', 'del', ns]);
    }
    rmSync(join(MARKER_DIR, prefix), { force: true });
  }
}

export class Lab {
  /** `hd<pid%1000><2 random chars>`: short so `<prefix>-<name>` stays within IFNAMSIZ. */
  readonly prefix: string;
  /** Scratch folder for configs, leases, pid files and logs of this run. */
  readonly dir: string;
  /** Time zero of the timeline and of the report's timestamps. */
  readonly t0 = Date.now();
  private readonly namespaces: string[] = [];
  private readonly procs: LabProcess[] = [];
  private readonly timeline = new Timeline();
  /** Test attempts already followed (id, retry, repeat). */
  private readonly followed = new Set<string>();
  private readonly extraFiles: string[] = [];
  private readonly mounts: string[] = [];
  private bridgePorts = 0;
  private cleaned = false;
  private readonly onExit = (): void => this.cleanupSync();
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.cleanupSync();
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };

  constructor() {
    sweepStaleLabs();
    const rand = Math.random().toString(36).slice(2, 4).padEnd(2, '0');
    this.prefix = `hd${process.pid % 1000}${rand}`;
    this.dir = mkdtempSync(join(tmpdir(), `hadhcp-lab-${this.prefix}-`));
    mkdirSync(MARKER_DIR, { recursive: true });
    writeFileSync(join(MARKER_DIR, this.prefix), `${process.pid}\n`);
    process.once('exit', this.onExit);
    for (const s of SIGNALS) process.once(s, this.onSignal);
    this.followCurrentTest();
  }

  /** Marks a step of the test in the timeline (`lab.step('kill router A')`), to read next to the output. */
  step(what: string): void {
    this.followCurrentTest();
    this.timeline.note(`step: ${what}`);
  }

  /**
   * Joins the test running now, once: if it fails, its report is printed and saved after its afterEach hooks.
   * Done when the lab is created or used in a test; useLab() also calls it before each test of a file-wide lab.
   */
  followCurrentTest(): void {
    const test = getCurrentTest();
    const key = test && `${test.id}/${test.result?.retryCount ?? 0}/${test.result?.repeatCount ?? 0}`;
    if (!test || !key || this.followed.has(key)) return;
    this.followed.add(key);
    const name = testName(test);
    const since = test.result?.startTime ?? Date.now();
    this.timeline.note(`test started: ${name}`, since);
    whenTestEnds(test, (error) =>
      publishReport(
        name,
        since,
        error === undefined ? undefined : this.report({ title: name, since, error }),
      ),
    );
  }

  /** The failure report (report.ts) as of now; `since` is the start of the failed test. */
  report(o: { title?: string; since?: number; error?: string } = {}): string {
    const rel = (s: string): string => s.split(this.dir).join('$LAB');
    const notes = o.error === undefined ? [] : [`error: ${o.error}`];
    notes.push(
      process.env.HADHCP_LAB_KEEP
        ? `full logs and configs ($LAB): ${this.dir}`
        : 'full logs and configs: rerun with HADHCP_LAB_KEEP=1',
    );
    const timeline = this.timeline.entries(this.t0);
    for (const p of this.procs) {
      timeline.push({ at: p.startedAt, text: `${p.label}[${p.pid}]: started` });
      for (const ev of p.events) timeline.push({ at: ev.at, text: `${p.label}[${p.pid}]: ${ev.text}` });
    }
    return formatReport({
      title: o.title ?? `lab ${this.prefix}`,
      t0: this.t0,
      since: o.since ?? this.t0,
      notes,
      timeline: timeline.map((e) => ({ at: e.at, text: rel(e.text) })),
      procs: this.procs.map((p) => ({
        label: p.label,
        pid: p.pid,
        command: rel(this.shortCommand(p.argv)),
        startedAt: p.startedAt,
        exit: p.events.find((e) => e.text.startsWith('exited')),
        lines: p.recent(TAIL_LINES).map((l) => ({ at: l.at, text: rel(l.text) })),
        lineCount: p.lineCount,
      })),
    });
  }

  /** Full netns name of a lab namespace, for commands run outside these helpers. */
  nsName(ns: string): string {
    return `${this.prefix}-${ns}`;
  }

  /** A path inside the lab folder; with `content`, the file is written too. */
  file(name: string, content?: string): string {
    const p = join(this.dir, name);
    if (content !== undefined) writeFileSync(p, content);
    return p;
  }

  /**
   * A folder of the lab on its own small tmpfs (`size` as mount takes it, e.g. '1m'), so a test can fill the disk
   * under a daemon. cleanup() unmounts it before removing the lab folder, whether the test passed or not.
   */
  mountTmpfs(name: string, size: string): string {
    const dir = this.file(name);
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { timeout: 10_000 });
    this.mounts.push(dir);
    return dir;
  }

  /** A file outside the lab folder that cleanup must remove (e.g. a peer's hard-wired state path). */
  trackFile(path: string): void {
    this.extraFiles.push(path);
  }

  async addNamespace(ns: string): Promise<string> {
    const full = this.nsName(ns);
    if (full.length > IFNAMSIZ) throw new Error(`namespace name ${full} longer than ${IFNAMSIZ}`);
    await this.setup(undefined, ['netns', 'add', full]);
    this.namespaces.push(full);
    await this.setup(ns, ['link', 'set', 'lo', 'up']);
    return full;
  }

  /**
   * A bridge with multicast snooping off (VRRP adverts to 224.0.0.18 must reach every port). Without `ns`
   * it goes into a lab-owned switch namespace `sw`, created on first use, never the host's.
   */
  async addBridge(ns: string | undefined, name: string): Promise<Bridge> {
    const where = ns ?? 'sw';
    if (ns === undefined && !this.namespaces.includes(this.nsName('sw'))) await this.addNamespace('sw');
    checkIfName(name);
    await this.setup(where, ['link', 'add', 'name', name, 'type', 'bridge', 'mcast_snooping', '0']);
    await this.setup(where, ['link', 'set', name, 'up']);
    return { kind: 'bridge', ns: where, name };
  }

  /**
   * A veth pair: `ifA` in `nsA`, the other end `ifB` in namespace `b` or plugged into bridge `b`.
   * Both ends come up unless `opts.down`.
   */
  async link(
    nsA: string,
    ifA: string,
    b: string | Bridge,
    ifB?: string,
    opts: LinkOptions = {},
  ): Promise<string> {
    const nsB = typeof b === 'string' ? b : b.ns;
    const peer = ifB ?? `p${++this.bridgePorts}`;
    checkIfName(ifA);
    checkIfName(peer);
    const args = ['link', 'add', ifA];
    if (opts.macA) args.push('address', opts.macA);
    args.push('type', 'veth', 'peer', 'name', peer, 'netns', this.nsName(nsB));
    await this.setup(nsA, args);
    if (typeof b !== 'string') await this.setup(nsB, ['link', 'set', peer, 'master', b.name]);
    if (!opts.down) {
      await this.setup(nsB, ['link', 'set', peer, 'up']);
      await this.setup(nsA, ['link', 'set', ifA, 'up']);
    }
    return peer;
  }

  async addr(ns: string, ifName: string, cidr: string): Promise<void> {
    await this.must(ns, 'ip', ['addr', 'add', cidr, 'dev', ifName]);
  }

  async up(ns: string, ifName: string): Promise<void> {
    await this.must(ns, 'ip', ['link', 'set', ifName, 'up']);
  }

  async down(ns: string, ifName: string): Promise<void> {
    await this.must(ns, 'ip', ['link', 'set', ifName, 'down']);
  }

  /** IPv4 addresses (CIDR) on `ifName` in `ns`. */
  async ipv4(ns: string, ifName: string): Promise<string[]> {
    const r = await this.setup(ns, ['-4', '-o', 'addr', 'show', 'dev', ifName]);
    return [...r.stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+\/\d+)/g)].map((m) => m[1]!);
  }

  /** Runs a command in `ns` (host when undefined) to completion; inspect `code` yourself. */
  exec(ns: string | undefined, cmd: string, args: string[] = [], timeoutMs = 30_000): Promise<ExecResult> {
    return this.run(ns, cmd, args, timeoutMs, true);
  }

  /** Like exec() but throws, with stderr, on a non-zero exit. */
  async must(ns: string | undefined, cmd: string, args: string[] = []): Promise<ExecResult> {
    return checked(ns, cmd, args, await this.exec(ns, cmd, args));
  }

  /** Starts a long-running process in `ns`; cleanup() kills it. Logs go to `opts.logFile` (default in dir). */
  spawn(ns: string | undefined, cmd: string, args: string[] = [], opts: SpawnOptions = {}): LabProcess {
    if (this.cleaned) throw new Error('lab already cleaned up');
    const label = `${ns ?? 'host'}:${cmd.split('/').pop()}`;
    const logFile = opts.logFile ?? this.file(`${label.replace(/[^\w.-]/g, '_')}-${this.procs.length}.log`);
    this.followCurrentTest();
    const p = spawnProcess(label, this.argv(ns, cmd, args), { ...opts, logFile });
    this.procs.push(p);
    return p;
  }

  /** Stops processes (SIGTERM, then SIGKILL after 2 s) and removes every namespace, link and file. */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.timeline.note('lab: cleanup');
    await Promise.all(this.procs.map((p) => p.stop(2000)));
    this.cleanupSync();
  }

  /** Synchronous teardown, safe from an exit handler; idempotent. */
  cleanupSync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const p of this.procs) p.kill('SIGKILL');
    // Anything else still inside (a daemon that forked away from its group) would keep the netns alive.
    for (const ns of this.namespaces) killNetnsPids(ns);
    for (const ns of [...this.namespaces].reverse()) sh(['ip', 'netns', 'del', ns]);
    for (const m of this.mounts.splice(0).reverse()) sh(['umount', '-l', m]);
    for (const f of this.extraFiles) rmSync(f, { force: true, recursive: true });
    if (process.env.HADHCP_LAB_KEEP) console.warn(`[lab] kept ${this.dir}`);
    else rmSync(this.dir, { force: true, recursive: true });
    rmSync(join(MARKER_DIR, this.prefix), { force: true });
    process.removeListener('exit', this.onExit);
    for (const s of SIGNALS) process.removeListener(s, this.onSignal);
  }

  private argv(ns: string | undefined, cmd: string, args: string[]): string[] {
    return ns === undefined ? [cmd, ...args] : ['ip', 'netns', 'exec', this.nsName(ns), cmd, ...args];
  }

  /**
   * Runs a command; the timeline gets it when `record` or when it failed. Namespace, bridge and veth creation
   * is not recorded: dozens of lines that would bury the test's own steps.
   */
  private async run(
    ns: string | undefined,
    cmd: string,
    args: string[],
    timeoutMs: number,
    record: boolean,
  ): Promise<ExecResult> {
    this.followCurrentTest();
    const at = Date.now();
    const r = await execProcess(this.argv(ns, cmd, args), { timeoutMs });
    if (record || r.code !== 0) {
      const took = Date.now() - at;
      const why = r.code === 0 || !r.stderr.trim() ? '' : `: ${r.stderr.trim().split('\n').pop()}`;
      const slow = took >= 1000 ? ` (took ${(took / 1000).toFixed(1)} s)` : '';
      const command = this.shortCommand([cmd, ...args]);
      this.timeline.note(`[${ns ?? 'host'}] ${command} -> ${r.code}${why}${slow}`, at);
    }
    return r;
  }

  /** Lab-internal ip commands: recorded only when they fail; throw like must(). */
  private async setup(ns: string | undefined, args: string[]): Promise<ExecResult> {
    return checked(ns, 'ip', args, await this.run(ns, 'ip', args, 30_000, false));
  }

  /**
   * A command line as a reader wants it: without the `ip netns exec` wrapper, `node` for this Node, long
   * arguments (an inline script) cut short.
   */
  private shortCommand(argv: readonly string[]): string {
    const a = argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'exec' ? argv.slice(4) : argv;
    return a
      .map((x) => (x === process.execPath ? 'node' : x.replace(/\s+/g, ' ')))
      .map((x) => (x.length > 80 ? `${x.slice(0, 77)}...` : x))
      .join(' ');
  }
}

function checked(ns: string | undefined, cmd: string, args: string[], r: ExecResult): ExecResult {
  if (r.code !== 0)
    throw new Error(`[${ns ?? 'host'}] ${cmd} ${args.join(' ')} -> ${r.code}: ${r.stderr.trim()}`);
  return r;
}

function checkIfName(name: string): void {
  if (name.length === 0 || name.length > IFNAMSIZ || /[\s/]/.test(name) || name === 'br') {
    throw new Error(`bad interface name '${name}' (1-${IFNAMSIZ} chars, no spaces or '/', not 'br')`);
  }
}
