// The README's first command is the lab demo (deploy/lab/demo.sh, through scripts/demo.sh): the story a newcomer
// watches. This runs that same script, as a newcomer would after set-up, and checks the story it tells and that it
// leaves nothing behind: once run to its end, and once interrupted (Ctrl-C) in the middle.
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, requireRoot } from './lib/index.js';

const skip = requireRoot({
  commands: ['dhcrelay', 'dhclient', 'udhcpc', 'dhcpcd', 'keepalived', 'dhcpd'],
});
const DEMO = join(REPO_ROOT, 'deploy', 'lab', 'demo.sh');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  /** The demo's namespace prefix: hdemo<pid % 1000>. */
  prefix: string;
}

/** Runs the demo; `interruptAt`: sends SIGINT once that line is printed. */
function runDemo(timeoutMs: number, interruptAt?: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [DEMO], { stdio: ['ignore', 'pipe', 'pipe'] });
    const prefix = `hdemo${child.pid! % 1000}-`;
    let out = '';
    let interrupted = false;
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      reject(new Error(`demo still running after ${timeoutMs} ms; its output:\n${out}`));
    }, timeoutMs);
    const take = (b: Buffer): void => {
      out += b.toString();
      if (interruptAt && !interrupted && interruptAt.test(out)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, prefix });
    });
  });
}

/** Namespaces the demo created and left (its prefix). */
function leftBehind(prefix: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(prefix));
}

// ANSI bold in the headings.
const plain = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

describe.skipIf(skip)('the lab demo (README quick start, scripts/demo.sh)', () => {
  it('tells the whole story: election, leases synced, kill -9, the VIP moving, renewals kept, a new client, A back in sync, databases identical; and removes its lab', async () => {
    const r = await runDemo(300_000);
    const out = plain(r.out);
    console.log(out);
    expect(r.code, 'demo exit code').toBe(0);
    expect(out).toMatch(/router B holds 10\.0\.0\.10, [\d.]+ s after the crash/);
    expect(out.match(/is an active lease on router B/g)?.length ?? 0, 'A clients known to B').toBeGreaterThan(
      0,
    );
    expect(out).toMatch(/rebooted and kept 10\.1\.0\.\d+: router B acknowledged it/);
    expect(out).toMatch(/a new client bound through router B/);
    expect(out).toMatch(/A back in normal/);
    expect(out).toMatch(/router A holds 10\.0\.0\.10 again/);
    expect(out).toMatch(/identical on router A and router B \(\d+ active leases\)/);
    expect(leftBehind(r.prefix), 'namespaces left behind').toEqual([]);
  }, 320_000);

  it('Ctrl-C in the middle stops it and tears the lab down', async () => {
    const r = await runDemo(300_000, /== router A's view/);
    expect(r.code, plain(r.out)).toBe(130);
    expect(leftBehind(r.prefix), 'namespaces left behind').toEqual([]);
  }, 320_000);
});
