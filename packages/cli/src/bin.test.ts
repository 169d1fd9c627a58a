import { execFileSync, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
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
});
