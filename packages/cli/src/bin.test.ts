import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * bin/hadhcp, the command operators run (the systemd unit's ExecStart): `run` on one CPU starts node with
 * --single-threaded-gc (gc-threads.ts says why); HADHCP_NODE_OPTIONS adds node flags. Each case starts
 * `hadhcp run` with nothing to run: it logs how it collects garbage, then refuses to start (exit 3).
 */

const BIN = fileURLToPath(new URL('../bin/hadhcp', import.meta.url));
/** The first CPU this process may run on (taskset -c takes it). */
const firstCpu = (): string =>
  /list: ([0-9]+)/.exec(execFileSync('taskset', ['-c', '-p', String(process.pid)]).toString())![1]!;

function run(argv: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; out: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, timeout: 20_000 });
  return { code: r.status, out: `${r.stdout.toString()}${r.stderr.toString()}` };
}

describe('bin/hadhcp', () => {
  it('starts `run` with --single-threaded-gc when it has one CPU', () => {
    const r = run(['taskset', '-c', firstCpu(), BIN, 'run']);
    expect(r.out).toContain(
      'node --single-threaded-gc (one CPU): V8 collects garbage on the main thread only',
    );
    expect(r.out).toContain('nothing to run');
    expect(r.code).toBe(3);
  });

  // Needs a second CPU: skipped outside CI on a one-CPU machine (in CI it runs, and fails there without one).
  it.skipIf(availableParallelism() < 2 && !process.env.CI)(
    'leaves V8 its background GC threads with more CPUs',
    () => {
      const r = run([BIN, 'run']);
      expect(r.out).toContain(
        `${availableParallelism()} CPUs: V8 collects garbage on background threads too`,
      );
      expect(r.out).not.toContain('--single-threaded-gc');
      expect(r.code).toBe(3);
    },
  );

  it('passes HADHCP_NODE_OPTIONS to node, and other commands get no GC flag', () => {
    const r = run(['taskset', '-c', firstCpu(), BIN, 'check-config'], {
      HADHCP_NODE_OPTIONS: `--import=data:text/javascript,console.log('preloaded:'+process.execArgv.join('+'))`,
    });
    expect(r.out).toContain('preloaded:--import=data:text/javascript');
    expect(r.out).not.toContain('single-threaded-gc');
  });

  /*
   * Which build it runs: dist/hadhcp.mjs (one file, scripts/bundle.mjs) unless a package was compiled after it.
   * A copy of the script in a tree of its own, whose two builds say which one ran.
   */
  describe('the one-file build', () => {
    /** `info`: a package's build record (dhcp's); the cli's own is dated long ago. */
    const tree = (): { root: string; bin: string; info: string; bundle: string } => {
      const root = mkdtempSync(join(tmpdir(), 'hadhcp-bin-'));
      const cli = join(root, 'packages/cli');
      mkdirSync(join(cli, 'bin'), { recursive: true });
      mkdirSync(join(cli, 'dist'));
      mkdirSync(join(root, 'packages/dhcp/dist'), { recursive: true });
      copyFileSync(BIN, join(cli, 'bin/hadhcp'));
      writeFileSync(join(cli, 'dist/main.js'), "console.log('ran main.js')\n");
      const info = join(root, 'packages/dhcp/dist/.tsbuildinfo');
      writeFileSync(info, '{}');
      writeFileSync(join(cli, 'dist/.tsbuildinfo'), '{}');
      utimesSync(join(cli, 'dist/.tsbuildinfo'), 1_000, 1_000);
      return { root, bin: join(cli, 'bin/hadhcp'), info, bundle: join(cli, 'dist/hadhcp.mjs') };
    };
    const at = (file: string, sec: number): void => utimesSync(file, sec, sec);

    // [what runs when, the one-file build's time (none: absent), dhcp's build record's time, what runs]
    it.each([
      ['main.js while there is no one-file build', undefined, 1_000_000, 'main.js'],
      ['the one-file build made after every package was compiled', 1_000_001, 1_000_000, 'hadhcp.mjs'],
      [
        'main.js when a package was compiled after the one-file build (`tsc -b` alone)',
        1_000_000,
        1_000_001,
        'main.js',
      ],
    ] as const)('runs %s', (_case, bundleAt, infoAt, runs) => {
      const t = tree();
      try {
        if (bundleAt !== undefined) {
          writeFileSync(t.bundle, "console.log('ran hadhcp.mjs')\n");
          at(t.bundle, bundleAt);
        }
        at(t.info, infoAt);
        expect(run(['sh', t.bin, 'status']).out).toBe(`ran ${runs}\n`);
      } finally {
        rmSync(t.root, { recursive: true, force: true });
      }
    });
  });
});
