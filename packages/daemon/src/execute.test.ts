import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commandRunner } from './execute.js';
import type { Logger } from './logger.js';

/*
 * `hadhcp run --enable-execute`: dhcpd.conf's execute(...) as real child processes. What an operator relies on:
 * the arguments arrive as written, one each, never through a shell; a failing command says so in the log; a burst
 * of commits starts at most `parallel` at once, queues the rest in order and skips (and says so) past the queue.
 */

const dir = mkdtempSync(join(tmpdir(), 'hadhcp-exec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function logger() {
  const lines: string[] = [];
  const log = {
    debug: () => undefined,
    info: (m: string) => void lines.push(`info ${m}`),
    warn: (m: string) => void lines.push(`warn ${m}`),
    error: (m: string) => void lines.push(`error ${m}`),
  } as unknown as Logger;
  return { log, lines };
}

describe('commandRunner (execute)', () => {
  it('passes each argument as one argv entry, without a shell', async () => {
    const { log } = logger();
    const run = commandRunner(log);
    const out = join(dir, 'args');
    // printf writes each argument on its own line: a shell would split "a b" and expand $HOME.
    run(['/bin/sh', '-c', 'printf "%s\\n" "$@" > "$0"', out, 'a b', '$HOME', '']);
    await expect.poll(() => run.counters().running, { timeout: 10_000 }).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('a b\n$HOME\n\n');
  });

  it('logs a command that fails, with its exit status, and one that cannot start', async () => {
    const { log, lines } = logger();
    const run = commandRunner(log);
    run(['/bin/sh', '-c', 'exit 3']);
    run([join(dir, 'no-such-command')]);
    await expect.poll(() => run.counters().failed, { timeout: 10_000 }).toBe(2);
    expect(lines).toContain('warn execute: /bin/sh: exit status 3');
    expect(lines.some((l) => l.startsWith(`warn execute: ${join(dir, 'no-such-command')}: `))).toBe(true);
  });

  it('runs at most `parallel` at once, the rest in order, and skips past the queue with a warning', async () => {
    const { log, lines } = logger();
    const run = commandRunner(log, { parallel: 1, queue: 2 });
    const out = join(dir, 'order');
    for (const n of ['1', '2', '3', '4']) run(['/bin/sh', '-c', 'echo "$1" >> "$0"; sleep 0.05', out, n]);
    expect(run.counters()).toMatchObject({ running: 1, waiting: 2, skipped: 1 });
    expect(lines.some((l) => l.includes('skipped: 1 commands running and 2 waiting'))).toBe(true);
    await expect.poll(() => run.counters().started, { timeout: 10_000 }).toBe(3);
    await expect.poll(() => run.counters().running, { timeout: 10_000 }).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('1\n2\n3\n');
  });

  it('kills a command that outlives the timeout', async () => {
    const { log, lines } = logger();
    const run = commandRunner(log, { timeoutMs: 200 });
    run(['/bin/sleep', '5']);
    await expect.poll(() => run.counters().failed, { timeout: 10_000 }).toBe(1);
    expect(lines).toContain('warn execute: /bin/sleep: killed after 0.2 s');
  });
});
