// The lab helpers' own promises: nothing outlives cleanup, a dead run's leftovers are swept, peer output
// reaches the test when a wait fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Lab, requireRoot } from './lib/index.js';

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
});
