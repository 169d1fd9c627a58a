import { writeSync } from 'node:fs';

/** What the destination needs from the system: the real calls by default, a test's own in unit tests. */
export interface DestinationIo {
  /** write(2): bytes written; throws an errno error (EAGAIN when a non-blocking pipe is full). */
  write(fd: number, buf: Uint8Array, off: number, len: number): number;
  /** Blocks the thread (only while a destination that is behind must be waited for). */
  sleep(ms: number): void;
  now(): number;
  /** Calls `fn` after `ms` without keeping the process alive for it. */
  later(fn: () => void, ms: number): void;
  /** One line for people about the log itself. */
  notice(text: string): void;
}

export interface LogDestinationOptions {
  fd: number;
  /** Turns one line as pino wrote it into what is written (pretty printing); the default writes it as it is. */
  format?: (line: string) => string;
  io?: Partial<DestinationIo>;
  /** Lines are written at most this long after they were logged... */
  batchMs?: number;
  /** ...or as soon as this many bytes wait. */
  batchBytes?: number;
  /** Beyond this many bytes waiting for a destination that is behind, logging waits for it. */
  maxPendingBytes?: number;
  /** A destination that takes nothing for this long while it is waited for is given up on (its lines dropped). */
  stallMs?: number;
}

function defaultIo(fd: number): DestinationIo {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  return {
    write: (f, buf, off, len) => writeSync(f, buf, off, len),
    sleep: (ms) => void Atomics.wait(sleeper, 0, 0, ms),
    now: () => Date.now(),
    later: (fn, ms) => void setTimeout(fn, ms).unref(),
    notice: (text) => {
      if (fd === 2) return; // the log is stderr: the notice could only go where the lines did not
      try {
        writeSync(2, `${text}\n`);
      } catch {
        // stderr is gone as well: there is nowhere left to say it
      }
    },
  };
}

/**
 * Where the daemon's log lines go: joined in memory and written with write(2) on the main thread.
 *
 * Why not pino's asynchronous destination (sonic-boom, sync: false), which this replaces: its writes run in the
 * libuv thread pool, so at any moment one may be in flight. When the process ends (SIGTERM, a fatal error, the
 * event loop draining), nothing waits for it: the lines still held in the batch were handed to it from an `exit`
 * hook, which started one more asynchronous write that the ending process could cut (its `flushSync()` skips the
 * buffer being written), and a batch written while another was in flight could overtake it. The daemon's last
 * lines (`hadhcp stopped`, a fatal error) were lost in ~15% of stops (test/lab/logging.test.ts). Here a write is
 * a write(2) that has returned before the next line is logged: at any moment the state is "these bytes are
 * written, those are not", and `flushSync()` can finish the job from anywhere, an `exit` hook included.
 *
 * Batching is kept (it is what keeps logging cheap at thousands of exchanges a second, docs/benchmarks.md):
 * lines are joined and written `batchMs` after the first of them, or as soon as `batchBytes` wait. A busy server
 * makes one write(2) for dozens of lines; a line never waits more than 2 ms; an idle daemon schedules nothing.
 *
 * A reader that lags: on a blocking descriptor (a daemon's stderr as inherited) write(2) waits for it. On a
 * non-blocking one (as stderr is once anything in the process opened `process.stderr`), what it does not take
 * (EAGAIN, a partial write) is kept and tried again on the next timer, and only beyond `maxPendingBytes` does
 * logging wait for it. Either way a log reader that cannot keep up slows the daemon rather than losing lines, as
 * a C daemon writing to its stderr does. Lines are lost only when the destination fails (EPIPE, EBADF, ENOSPC ...)
 * or, non-blocking, takes nothing at all for `stallMs` while it is waited for; that is said on stderr (unless
 * stderr is the log itself: then there is nowhere left to say it), and never thrown into the caller.
 */
export class LogDestination {
  readonly fd: number;
  /** Bytes of log lines that never reached the destination (each loss is also said through `notice`). */
  lost = 0;
  private readonly io: DestinationIo;
  private readonly format: ((line: string) => string) | undefined;
  private readonly batchMs: number;
  private readonly batchBytes: number;
  private readonly maxPendingBytes: number;
  private readonly stallMs: number;
  /** Lines logged since the last write attempt, still as text. */
  private pending = '';
  /** Bytes the destination has not taken yet, oldest first; the first from `off` on. */
  private readonly queue: Buffer[] = [];
  private off = 0;
  private queued = 0;
  private scheduled = false;
  /** Set while writes fail (why), with the bytes lost since: said once when it starts and once when it ends. */
  private failing: { why: string; lost: number } | undefined;

  constructor(o: LogDestinationOptions) {
    this.fd = o.fd;
    this.io = { ...defaultIo(o.fd), ...o.io };
    this.format = o.format;
    this.batchMs = o.batchMs ?? 2;
    this.batchBytes = o.batchBytes ?? 8192;
    this.maxPendingBytes = o.maxPendingBytes ?? 4 * 1024 * 1024;
    this.stallMs = o.stallMs ?? 5000;
  }

  /** pino's stream interface: one line (with its newline). Never throws. */
  write(line: string): boolean {
    this.pending += this.formatted(line);
    if (this.queued === 0) {
      if (this.pending.length >= this.batchBytes) this.flushNow();
      else this.schedule(this.batchMs);
    } else if (this.queued + this.pending.length > this.maxPendingBytes) {
      // Behind by more than we hold: wait for the reader (or, once it has been given up on, drop).
      if (this.failing) this.drop();
      else this.drain(true);
      if (this.queued > 0) this.schedule(this.batchMs);
    } else {
      this.schedule(this.batchMs);
    }
    return true;
  }

  /** Everything logged so far is written (or said lost) when this returns. Safe from an `exit` hook. */
  flushSync(): void {
    // While failing, one attempt without waiting: what it does not take now is dropped (and counted).
    if (!this.drain(this.failing === undefined)) this.fail('still not writable');
  }

  /** pino's `logger.flush(cb)` lands here: synchronous, then `cb`. */
  flush(cb?: (err?: Error) => void): void {
    this.flushSync();
    cb?.();
  }

  /** The last word, from the process's `exit` hook: flush, and say what could not be written. */
  end(): void {
    this.flushSync();
    if (this.failing && this.failing.lost > 0) {
      this.io.notice(
        `hadhcp: log on fd ${this.fd}: ${this.failing.lost} bytes of log lines lost since it failed (${this.failing.why})`,
      );
    }
  }

  /** Bytes logged but not yet taken by the destination. */
  get backlog(): number {
    return this.queued + Buffer.byteLength(this.pending);
  }

  private formatted(line: string): string {
    if (!this.format) return line;
    try {
      return this.format(line);
    } catch {
      return line; // a formatter that fails must not cost the line: the JSON is still readable
    }
  }

  private schedule(ms: number): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.io.later(() => {
      this.scheduled = false;
      this.flushNow();
    }, ms);
  }

  /** One attempt without waiting; what the destination does not take now is tried again on the next timer. */
  private flushNow(): void {
    if (!this.drain(false)) this.schedule(this.batchMs);
  }

  /**
   * Writes what is pending. Without `wait`, stops at the first EAGAIN (returns false, the rest kept). With it,
   * retries every millisecond while the destination makes progress, and gives up after `stallMs` without any.
   * Any other error drops what was queued (counted and said). Returns true when nothing is left.
   */
  private drain(wait: boolean): boolean {
    if (this.pending !== '') {
      const b = Buffer.from(this.pending);
      this.pending = '';
      this.queue.push(b);
      this.queued += b.length;
    }
    let progressAt = wait ? this.io.now() : 0;
    while (this.queue.length > 0) {
      const buf = this.queue[0]!;
      let n: number;
      try {
        n = this.io.write(this.fd, buf, this.off, buf.length - this.off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? String(e);
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') {
          this.fail(code);
          return false;
        }
        n = 0;
      }
      if (n > 0) {
        this.off += n;
        this.queued -= n;
        if (this.off >= buf.length) {
          this.queue.shift();
          this.off = 0;
        }
        if (this.failing) this.recovered();
        if (wait) progressAt = this.io.now();
        continue;
      }
      if (!wait) return false;
      if (this.io.now() - progressAt >= this.stallMs) {
        this.fail(`nothing taken for ${this.stallMs} ms`);
        return false;
      }
      this.io.sleep(1);
    }
    return true;
  }

  private fail(why: string): void {
    const bytes = this.drop();
    if (this.failing) return;
    this.failing = { why, lost: bytes };
    this.io.notice(
      `hadhcp: cannot write the log to fd ${this.fd} (${why}): ${bytes} bytes of log lines lost; ` +
        'lines are dropped until a write succeeds',
    );
  }

  /** Forgets what waits (counted as lost). */
  private drop(): number {
    const bytes = this.queued + Buffer.byteLength(this.pending);
    this.queue.length = 0;
    this.off = 0;
    this.queued = 0;
    this.pending = '';
    this.lost += bytes;
    if (this.failing) this.failing.lost += bytes;
    return bytes;
  }

  private recovered(): void {
    const f = this.failing!;
    this.failing = undefined;
    this.io.notice(
      `hadhcp: the log on fd ${this.fd} is written again; ${f.lost} bytes of log lines were lost (${f.why})`,
    );
  }
}
