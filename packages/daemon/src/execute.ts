import { execFile } from 'node:child_process';
import { RateLimiter, systemClock } from '@hadhcp/common';
import type { Logger } from './logger.js';

/*
 * dhcpd.conf's `execute("COMMAND", ARG, ...)` in event blocks and scopes, with `hadhcp run --enable-execute` (ISC
 * runs it only when built with --enable-execute). ISC runs the command in its own process and waits for it; here
 * it runs after the lease is on disk and the reply has left, as a child without a shell (the arguments are the
 * expressions' values, never parsed again), so a slow or hanging command delays no client. At most `parallel`
 * commands run at once; up to `queue` more wait in order; beyond that a command is skipped, counted and logged
 * (at most once a minute). A command that outlives `timeoutMs` is killed.
 */

export interface ExecuteOptions {
  parallel?: number;
  queue?: number;
  timeoutMs?: number;
}

export interface Executor {
  (argv: string[]): void;
  counters(): { started: number; failed: number; skipped: number; running: number; waiting: number };
}

export function commandRunner(log: Logger, o: ExecuteOptions = {}): Executor {
  const parallel = o.parallel ?? 4;
  const max = o.queue ?? 1000;
  const timeout = o.timeoutMs ?? 60_000;
  const waiting: string[][] = [];
  const skippedLog = new RateLimiter(60_000);
  const n = { started: 0, failed: 0, skipped: 0, running: 0 };

  const start = (argv: string[]): void => {
    n.started++;
    n.running++;
    log.debug(`execute: ${argv.join(' ')}`);
    execFile(argv[0]!, argv.slice(1), { timeout, killSignal: 'SIGKILL' }, (err) => {
      n.running--;
      if (err) {
        n.failed++;
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        const why = e.killed
          ? `killed after ${timeout / 1000} s`
          : typeof e.code === 'number'
            ? `exit status ${e.code}`
            : e.message;
        log.warn(`execute: ${argv[0]}: ${why}`);
      }
      const next = waiting.shift();
      if (next) start(next);
    });
  };

  const run = ((argv: string[]): void => {
    if (n.running < parallel) return start(argv);
    if (waiting.length < max) {
      waiting.push(argv);
      return;
    }
    n.skipped++;
    const held = skippedLog.allow('skipped', systemClock.now());
    if (held !== undefined)
      log.warn(
        `execute: ${argv[0]} skipped: ${parallel} commands running and ${max} waiting` +
          (held > 0 ? ` (${held} more skipped)` : ''),
      );
  }) as Executor;
  run.counters = () => ({ ...n, waiting: waiting.length });
  return run;
}
