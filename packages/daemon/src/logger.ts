import { pino, type Logger } from 'pino';

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
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  if (opts.pretty) {
    return pino({
      level,
      transport: {
        target: 'pino-pretty',
        options: { destination: opts.fd ?? 2, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: opts.fd ?? 2, sync: false }));
}
