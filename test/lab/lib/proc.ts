// A spawned lab process: output captured line by line (memory + optional log file) so tests can wait for
// what a peer prints, and so failures can show the tail of what it said. Each line and each thing done to the
// process (signal, exit, failed wait) keeps the time it happened, so a failure report can put them on the
// same clock as the test's steps (see report.ts).
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  /** Append stdout and stderr (prefixed with a timestamp) to this file. */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ProcExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Something that happened at `at` (Date.now()). */
export interface Stamped {
  at: number;
  text: string;
}

export class LabProcess {
  readonly pid: number;
  /** Resolves (never rejects) when the process has exited. */
  readonly exit: Promise<ProcExit>;
  readonly startedAt = Date.now();
  /** Signals sent, the exit, waits that failed: the process's entries in a lab's timeline. */
  readonly events: Stamped[] = [];
  private readonly lines: Stamped[] = [];
  private readonly waiters = new Set<{ re: RegExp; done: (m: RegExpMatchArray) => void }>();
  private exited: ProcExit | undefined;
  private readonly log: WriteStream | undefined;

  constructor(
    readonly label: string,
    private readonly child: ChildProcess,
    logFile?: string,
    /** The command line, for reports. */
    readonly argv: readonly string[] = [],
  ) {
    if (child.pid === undefined) throw new Error(`${label}: spawn failed`);
    this.pid = child.pid;
    this.log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
    this.attach(child.stdout, 'out');
    this.attach(child.stderr, 'err');
    this.exit = new Promise((resolve) => {
      child.on('error', (e) => this.push('err', `spawn error: ${e.message}`));
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exited) return;
        this.exited = { code, signal };
        this.events.push({ at: Date.now(), text: `exited code=${code} signal=${signal}` });
        this.push('err', `[exited code=${code} signal=${signal}]`);
        this.log?.end();
        resolve(this.exited);
      };
      // 'close' waits for the pipes, which a grandchild that left the process group may hold open forever;
      // give the last output a moment to arrive after 'exit', then report the exit anyway.
      child.on('exit', (code, signal) => setTimeout(() => finish(code, signal), 200).unref());
      child.on('close', finish);
    });
  }

  get running(): boolean {
    return this.exited === undefined;
  }

  /** Everything printed so far, stdout and stderr interleaved in arrival order. */
  output(): string {
    return this.lines.map((l) => l.text).join('\n');
  }

  tail(n = 30): string {
    return this.recent(n)
      .map((l) => l.text)
      .join('\n');
  }

  /** The last `n` lines, each with the time it arrived. */
  recent(n: number): readonly Stamped[] {
    return this.lines.slice(-n);
  }

  get lineCount(): number {
    return this.lines.length;
  }

  /**
   * Resolves with the first line (already printed or future) matching `re`. Rejects on timeout or if the
   * process exits first; the error carries the output tail so a failing test says what the peer said.
   */
  waitForLine(re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const m = line.text.match(re);
      if (m) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        this.waiters.delete(w);
        this.events.push({ at: Date.now(), text: `wait for ${re}: ${why}` });
        reject(new Error(`${this.label}: ${why} waiting for ${re}\n--- output tail ---\n${this.tail()}`));
      };
      const timer = setTimeout(() => fail(`timeout after ${timeoutMs} ms`), timeoutMs);
      const w = {
        re,
        done: (m: RegExpMatchArray) => {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve(m);
        },
      };
      this.waiters.add(w);
      void this.exit.then(() => {
        if (this.waiters.has(w)) fail('process exited');
      });
    });
  }

  /** Signals the whole process group (peers fork helpers: dhclient-script, keepalived's vrrp child). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.running) return;
    this.events.push({ at: Date.now(), text: `sent ${signal}` });
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        process.kill(this.pid, signal);
      } catch {
        // already gone
      }
    }
  }

  /** SIGTERM, then SIGKILL if still running after `graceMs`. */
  async stop(graceMs = 3000): Promise<ProcExit> {
    this.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), graceMs);
    const r = await this.exit;
    clearTimeout(t);
    return r;
  }

  private attach(stream: NodeJS.ReadableStream | null, tag: string): void {
    if (!stream) return;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) this.push(tag, p);
    });
    stream.on('end', () => {
      if (partial) this.push(tag, partial);
      partial = '';
    });
  }

  private push(tag: string, line: string): void {
    const at = Date.now();
    this.lines.push({ at, text: line });
    this.log?.write(`${new Date(at).toISOString()} ${tag} ${line}\n`);
    for (const w of [...this.waiters]) {
      const m = line.match(w.re);
      if (m) w.done(m);
    }
  }
}

/** Starts `argv` in its own process group (so kill() reaches its children). */
export function spawnProcess(label: string, argv: string[], opts: SpawnOptions = {}): LabProcess {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('spawnProcess: empty argv');
  const child = nodeSpawn(cmd, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  return new LabProcess(label, child, opts.logFile, argv);
}

/** Runs argv to completion; never throws on a non-zero exit (the caller decides). */
export function execProcess(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('execProcess: empty argv');
  return new Promise((resolve) => {
    const child = nodeSpawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
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
