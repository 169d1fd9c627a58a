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
  return pino({ level, base: { pid: process.pid } }, batchedDestination(opts.fd ?? 2));
}

/** Lines are written at most this long after they were logged... */
const BATCH_MS = 2;
/** ...or as soon as this many bytes wait. */
const BATCH_BYTES = 8192;

/**
 * A busy DHCP server logs four lines per exchange (ISC's DHCPDISCOVER ... DHCPACK, kept because operators grep
 * for them): written one by one, each is an asynchronous write(2) with its thread-pool round trip, which cost
 * more than the exchange itself. Lines are joined and handed to pino's destination together, BATCH_MS after the
 * first of them (or every 8 KiB): at thousands of exchanges a second that is one write for dozens of lines, a line
 * never waits more than 2 ms, and an idle daemon schedules nothing. What is still held at exit is written then.
 */
function batchedDestination(fd: number): { write(s: string): boolean } {
  let pending = '';
  // Registered before pino's own exit hook (which flushes and closes the destination), so it runs first.
  process.once('exit', () => {
    if (pending === '') return;
    try {
      dest.write(pending);
      pending = '';
      dest.flushSync();
    } catch {
      // the destination is gone: nothing more can be written
    }
  });
  const dest = pino.destination({ dest: fd, sync: false });
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending === '') return;
    const s = pending;
    pending = '';
    dest.write(s);
  };
  return {
    write(s: string): boolean {
      pending += s;
      if (pending.length >= BATCH_BYTES) flush();
      else if (!scheduled) {
        scheduled = true;
        setTimeout(flush, BATCH_MS).unref();
      }
      return true;
    },
  };
}
