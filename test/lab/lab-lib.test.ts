// The lab helpers' own promises: nothing outlives cleanup, a dead run's leftovers are swept, peer output
// reaches the test when a wait fails, a failed test prints a report of its steps and processes.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execProcess, Lab, REPO_ROOT, requireRoot } from './lib/index.js';
import { formatReport, Timeline, type ProcReport } from './lib/report.js';

const skip = requireRoot();

const netns = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);

// A killed orphan may linger as a zombie until its new parent reaps it: that is dead too.
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe.skipIf(skip)('Lab', () => {
  it('cleanup kills every process (even one that left its group) and deletes every namespace and file', async () => {
    const lab = new Lab();
    try {
      await lab.addNamespace('a');
      await lab.addNamespace('b');
      const sw = await lab.addBridge(undefined, 'sw0');
      await lab.link('a', 'eth0', sw);
      await lab.link('b', 'eth0', 'a', 'eth1');
      await lab.addr('a', 'eth1', '192.0.2.1/24');
      await lab.addr('b', 'eth0', '192.0.2.2/24');
      expect((await lab.exec('b', 'ping', ['-c1', '-W2', '192.0.2.1'])).code).toBe(0);

      const sleeper = lab.spawn('a', 'sleep', ['600']);
      // A daemon that double-forks into its own session escapes kill(-pgid); cleanup must still get it.
      const escaper = lab.spawn('b', 'sh', ['-c', 'setsid sleep 601 & echo pid=$!; wait']);
      const m = await escaper.waitForLine(/^pid=(\d+)/);
      const escaped = Number(m[1]);
      expect(alive(sleeper.pid) && alive(escaped)).toBe(true);
      expect(netns().filter((n) => n.startsWith(lab.prefix))).toHaveLength(3);

      await lab.cleanup();
      expect(netns().filter((n) => n.startsWith(lab.prefix))).toEqual([]);
      expect(alive(sleeper.pid)).toBe(false);
      await new Promise((r) => setTimeout(r, 100));
      expect(alive(escaped)).toBe(false);
      expect(existsSync(lab.dir)).toBe(false);
    } finally {
      lab.cleanupSync();
    }
  });

  it('a new Lab removes namespaces left by a run whose process is gone, and only those', async () => {
    const dead = spawnSync('true').pid!;
    const live = `hd${process.pid % 1000}zz`;
    const stale = `hd${(process.pid + 1) % 1000}yy`;
    mkdirSync('/run/hadhcp-lab-runs', { recursive: true });
    writeFileSync(`/run/hadhcp-lab-runs/${stale}`, `${dead}\n`);
    writeFileSync(`/run/hadhcp-lab-runs/${live}`, `${process.pid}\n`);
    execFileSync('ip', ['netns', 'add', `${stale}-x`]);
    execFileSync('ip', ['netns', 'add', `${live}-x`]);
    const lab = new Lab();
    try {
      expect(netns()).not.toContain(`${stale}-x`);
      expect(existsSync(`/run/hadhcp-lab-runs/${stale}`)).toBe(false);
      expect(netns()).toContain(`${live}-x`);
    } finally {
      lab.cleanupSync();
      spawnSync('ip', ['netns', 'del', `${live}-x`]);
      spawnSync('ip', ['netns', 'del', `${stale}-x`]);
      spawnSync('rm', ['-f', `/run/hadhcp-lab-runs/${live}`, `/run/hadhcp-lab-runs/${stale}`]);
    }
  });

  it('waitForLine fails with what the process printed when it exits first, or at the deadline', async () => {
    const lab = new Lab();
    try {
      const p = lab.spawn(undefined, 'sh', ['-c', 'echo starting; echo "config error line 3" >&2; exit 3']);
      await expect(p.waitForLine(/ready/, 5000)).rejects.toThrow(/process exited[\s\S]*config error line 3/);
      expect((await p.exit).code).toBe(3);

      const q = lab.spawn(undefined, 'sh', ['-c', 'echo one; sleep 5']);
      await expect(q.waitForLine(/two/, 300)).rejects.toThrow(/timeout after 300 ms[\s\S]*one/);
      expect(await q.waitForLine(/one/, 100)).toBeTruthy();
    } finally {
      await lab.cleanup();
    }
  });

  it('refuses interface names the kernel or iproute2 would reject', async () => {
    const lab = new Lab();
    try {
      await lab.addNamespace('a');
      await lab.addNamespace('b');
      await expect(lab.link('a', 'x'.repeat(16), 'b', 'eth0')).rejects.toThrow(/bad interface name/);
      await expect(lab.addBridge('a', 'br')).rejects.toThrow(/bad interface name/);
      await expect(lab.addNamespace('toolongname12')).rejects.toThrow(/longer than 15/);
    } finally {
      await lab.cleanup();
    }
  });

  it("a failed test prints and saves its lab's report: steps and every process's last lines on one clock; a passing test prints nothing", async () => {
    // lib/fixtures/report.fixture.ts fails on purpose; run it in its own vitest and read what it printed.
    const reports = mkdtempSync(join(tmpdir(), 'hadhcp-lab-reports-'));
    try {
      writeFileSync(join(reports, 'report.fixture.ts_own_lab_passes.txt'), 'a report from an older run');
      const env: NodeJS.ProcessEnv = { HADHCP_LAB_REPORTS: reports, NO_COLOR: '1' };
      for (const [k, v] of Object.entries(process.env))
        if (!k.startsWith('VITEST') && k !== 'FORCE_COLOR') env[k] ??= v;
      const vitest = join(REPO_ROOT, 'node_modules/vitest/vitest.mjs');
      const run = await execProcess(
        [process.execPath, vitest, 'run', '--root', join(REPO_ROOT, 'test/lab/lib/fixtures')],
        { env, timeoutMs: 90_000 },
      );
      const out = run.stdout + run.stderr;
      expect(out).toMatch(/Tests\s+2 failed \| 2 passed \| 1 skipped/);
      const printed =
        out.match(/^======== lab report: [\s\S]*?^======== end of lab report ========$/gm) ?? [];
      expect(printed.map((r) => r.split('\n')[0])).toEqual([
        '======== lab report: report.fixture.ts > own lab > fails ========',
        '======== lab report: report.fixture.ts > file-wide lab > fails without touching the lab ========',
        '======== lab report: report.fixture.ts > broken beforeAll (setup) ========',
      ]);
      expect(out).not.toContain('quiet-pass-line');
      expect(out).not.toContain('early-proc-line');
      // Saved too, one file per failure; the passing test removed its stale one.
      expect(readdirSync(reports).sort()).toEqual([
        'report.fixture.ts_broken_beforeAll_setup_.txt',
        'report.fixture.ts_file-wide_lab_fails_without_touching_the_lab.txt',
        'report.fixture.ts_own_lab_fails.txt',
      ]);
      expect(readFileSync(join(reports, 'report.fixture.ts_own_lab_fails.txt'), 'utf8')).toBe(
        `${printed[0]}\n`,
      );

      const [own, fileWide, setup] = printed as [string, string, string];
      expect(own).toContain("error: AssertionError: expected 'the daemon' to be 'happy'");
      // Timeline: sorted, with the step, the commands (a poll once), signals, the failed wait, the cleanup.
      const timeline = own.slice(own.indexOf('\ntimeline'), own.indexOf('\nprocesses involved'));
      const times = [...timeline.matchAll(/^ +\+(\d+\.\d+)  /gm)].map((m) => Number(m[1]));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      for (const entry of [
        /test started: report\.fixture\.ts > own lab > fails$/m,
        /step: between before and after$/m,
        /\[host\] false -> 1$/m,
        /\[host\] true -> 0 \(5 times, last \+\d+\.\d{3}\)\n.*step: polled\n.*\[host\] true -> 0$/m,
        /host:sh\[\d+\]: wait for \/never\/: timeout after 200 ms$/m,
        /host:sh\[\d+\]: sent SIGTERM$/m,
        /lab: cleanup$/m,
      ])
        expect(timeline).toMatch(entry);
      // The step sits between the two lines it was taken between, read on the same clock.
      const clockOf = (re: RegExp): number => Number(own.match(re)?.[1]);
      const step = clockOf(/\+(\d+\.\d+)  step: between/);
      expect(clockOf(/\+(\d+\.\d+)  before$/m)).toBeLessThanOrEqual(step);
      expect(clockOf(/\+(\d+\.\d+)  after$/m)).toBeGreaterThanOrEqual(step);
      // Both processes, in start order; the chatty one trimmed to its last 40 lines.
      const procs = own.slice(own.indexOf('processes involved: 2,'));
      const chatty = procs.slice(0, procs.indexOf('$ sh -c echo before'));
      expect(chatty).toContain('$ sh -c for i in $(seq 1 100)');
      expect(chatty).toContain('(61 earlier lines left out)');
      expect(chatty.match(/^ +\+\d+\.\d+  /gm)).toHaveLength(40);
      expect(chatty).toMatch(/chatty 62$/m);
      expect(chatty).not.toMatch(/chatty 61$/m);
      expect(chatty).toMatch(/chatty 100\n.*\[exited code=null signal=SIGTERM\]$/m);

      // A file-wide lab: the test start is marked, the process from beforeAll is there, the one an earlier
      // test ran to its end is not.
      expect(fileWide).toMatch(
        /test started: report\.fixture\.ts > file-wide lab > fails without touching the lab$/m,
      );
      expect(fileWide).toContain(
        'processes involved: 1, last 40 lines of each; 1 that ended before this test left out:',
      );
      expect(fileWide).toMatch(/daemon-line$/m);
      expect(setup).toContain('error: Error: host:sh: process exited waiting for /ready/');
      expect(setup).toMatch(/setup-proc-line$/m);
    } finally {
      rmSync(reports, { recursive: true, force: true });
    }
  });
});

// Formatting only: runs without root.
describe('failure report layout', () => {
  const t0 = 1_000_000;
  const at = (s: number, text: string): { at: number; text: string } => ({ at: t0 + s * 1000, text });
  const proc = (label: string, started: number, ended: number | undefined, lines: string[]): ProcReport => ({
    label,
    pid: label.length,
    command: `${label} --flag`,
    startedAt: t0 + started * 1000,
    exit: ended === undefined ? undefined : at(ended, 'exited code=0 signal=null'),
    lines: lines.slice(-3).map((l, i) => at(started + 0.1 * (i + 1), l)),
    lineCount: lines.length,
  });

  it("keeps the test's entries (a few before it for context), the involved processes in order, their last lines", () => {
    const early = Array.from({ length: 30 }, (_, i) => at(i * 0.01, `setup ${i}`));
    const text = formatReport({
      title: 'x.test.ts > it fails',
      t0,
      since: t0 + 1000,
      notes: ['error: AssertionError: nope'],
      // Unsorted on purpose: the lab merges its entries with its processes' events.
      timeline: [at(2.5, 'step: kill router A'), ...early, at(1, 'test started'), at(3, 'b: exited')],
      procs: [
        proc('gone', 0, 0.5, ['from an earlier test']),
        proc('a', 0.2, undefined, ['a1', 'a2', 'a3', 'a4', 'a5']),
        proc('b', 1.5, 3, ['b1']),
        proc('mute', 1.6, undefined, []),
      ],
    });
    const lines = text.split('\n');
    expect(lines[0]).toBe('======== lab report: x.test.ts > it fails ========');
    expect(lines[1]).toBe('error: AssertionError: nope');
    expect(lines.at(-1)).toBe('======== end of lab report ========');
    const timeline = lines.slice(
      lines.findIndex((l) => l.startsWith('timeline')) + 1,
      lines.findIndex((l) => l.startsWith('processes')),
    );
    expect(timeline).toEqual([
      '    (20 earlier entries left out)',
      ...early.slice(20).map((e) => `   +${((e.at - t0) / 1000).toFixed(3)}  ${e.text}`),
      '   +1.000  test started',
      '   +2.500  step: kill router A',
      '   +3.000  b: exited',
    ]);
    expect(text).toContain(
      'processes involved: 3, last 40 lines of each; 1 that ended before this test left out:',
    );
    expect(text).not.toContain('from an earlier test');
    const procs = text.slice(text.indexOf('processes involved'));
    expect(procs.split('\n').slice(1, -1)).toEqual([
      '---- a pid 1, started +0.200, still running',
      '     $ a --flag',
      '     (2 earlier lines left out)',
      '   +0.300  a3',
      '   +0.400  a4',
      '   +0.500  a5',
      '---- b pid 1, started +1.500, ended +3.000 exited code=0 signal=null',
      '     $ b --flag',
      '   +1.600  b1',
      '---- mute pid 4, started +1.600, still running',
      '     $ mute --flag',
      '     (no output)',
    ]);
  });

  it('a command polled in a loop is one timeline entry with its count, but not across a step or a test start', () => {
    const t = new Timeline();
    const t0 = 5000;
    for (const [s, text] of [
      [0, 'test started: one'],
      [0.1, '[r1] ip addr -> 0'],
      [0.2, '[r2] ip addr -> 0'],
      [0.3, '[r1] ip addr -> 0'],
      [0.4, '[r2] ip addr -> 0'],
      [0.5, 'step: kill A'],
      [0.6, '[r1] ip addr -> 0'],
      [0.7, 'test started: two'],
      [0.8, '[r1] ip addr -> 0'],
      [0.9, '[r1] ip addr -> 0'],
    ] as const)
      t.note(text, t0 + s * 1000);
    expect(t.entries(t0).map((e) => `${(e.at - t0) / 1000} ${e.text}`)).toEqual([
      '0 test started: one',
      '0.1 [r1] ip addr -> 0 (2 times, last +0.300)',
      '0.2 [r2] ip addr -> 0 (2 times, last +0.400)',
      '0.5 step: kill A',
      '0.6 [r1] ip addr -> 0',
      '0.7 test started: two',
      '0.8 [r1] ip addr -> 0 (2 times, last +0.900)',
    ]);
  });
});
