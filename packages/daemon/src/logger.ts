import { isatty } from 'node:tty';
import { pino, type Logger } from 'pino';
import { createRequire } from 'node:module';
import type * as PinoPretty from 'pino-pretty';
import { LogDestination } from './log-destination.js';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Human-readable lines instead of JSON (pino-pretty), for a terminal. */
  pretty?: boolean;
  /** Write to this file descriptor (default stderr, as daemons under systemd do). */
  fd?: number;
}

/**
 * JSON logs by default (journald and log shippers read them); `--pretty` for people. ISC users grep for
 * `DHCPACK on ...` and keepalived users for `Entering MASTER STATE`: those words stand in `msg` as they are.
 *
 * Both go through one LogDestination (log-destination.ts: batched, written with write(2) on the main thread), so
 * both have the same guarantee at the end: `logger.flush()` writes everything logged before it returns, and an
 * `exit` hook does the same as a last resort. `--pretty` formats each line here with pino-pretty's formatter
 * rather than in a pino transport: a transport runs in a worker thread with its own asynchronous destination,
 * which `logger.flush()` does not reach (pino's docs/asynchronous.md) and whose last lines die with the process.
 * The price: pino-pretty's formatting runs on the main thread, ~10 µs a line (docs/benchmarks.md, Log
 * destination), for people at a terminal; JSON, the default, costs ~1 µs.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const fd = opts.fd ?? 2;
  const dest = new LogDestination({ fd, format: opts.pretty ? prettyLines(fd) : undefined });
  process.once('exit', () => dest.end());
  return pino({ level: opts.level ?? 'info', base: { pid: process.pid } }, dest);
}

function prettyLines(fd: number): (line: string) => string {
  // Loaded here, for --pretty only: JSON logs (the daemon's default) do without it, and loading it cost every
  // start ~40 ms.
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  const pretty = prettyFactory({
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    // Colours only on a terminal: a pipe or a file gets plain text.
    colorize: isatty(fd),
  });
  return (line) => pretty(line);
}
