import { describe, expect, it } from 'vitest';
import { LogDestination, type DestinationIo } from './log-destination.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

/**
 * A destination whose write(2) does what the test says: take everything (default), take at most `room` bytes
 * (then EAGAIN, as a full non-blocking pipe), or throw a given error. Time moves only in sleep().
 */
class FakeFd {
  out = '';
  writes: number[] = [];
  room = Infinity;
  error: string | undefined;
  now = 0;
  sleeps = 0;
  timers: { fn: () => void; ms: number }[] = [];
  notices: string[] = [];
  /** Called before each write attempt (to let a "reader" drain the pipe while the logger waits). */
  onWrite: (() => void) | undefined;

  io(): Partial<DestinationIo> {
    return {
      write: (_fd, buf, off, len) => {
        this.onWrite?.();
        if (this.error) throw errno(this.error);
        if (this.room <= 0) throw errno('EAGAIN');
        const n = Math.min(len, this.room);
        this.room -= n;
        this.out += Buffer.from(buf.subarray(off, off + n)).toString('latin1');
        this.writes.push(n);
        return n;
      },
      sleep: (ms) => {
        this.sleeps++;
        this.now += ms;
      },
      now: () => this.now,
      later: (fn, ms) => void this.timers.push({ fn, ms }),
      notice: (t) => void this.notices.push(t),
    };
  }

  /** Fires the timers due (all pending ones: the destination only ever has one). */
  tick(): void {
    for (const t of this.timers.splice(0)) t.fn();
  }

  text(): string {
    return Buffer.from(this.out, 'latin1').toString('utf8');
  }
}

const make = (f: FakeFd, extra: Partial<ConstructorParameters<typeof LogDestination>[0]> = {}) =>
  new LogDestination({ fd: 1, io: f.io(), ...extra });

const lines = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `{"msg":"line ${from + i}"}\n`);

describe('LogDestination', () => {
  it('joins the lines logged within batchMs into one write, on one timer', () => {
    const f = new FakeFd();
    const d = make(f);
    for (const l of lines(3)) d.write(l);
    expect(f.writes).toEqual([]);
    expect(f.timers).toHaveLength(1);
    expect(f.timers[0]!.ms).toBe(2);
    f.tick();
    expect(f.writes).toHaveLength(1);
    expect(f.text()).toBe(lines(3).join(''));
    expect(f.timers).toHaveLength(0); // idle: nothing scheduled
  });

  it('writes at once when batchBytes wait', () => {
    const f = new FakeFd();
    const d = make(f, { batchBytes: 40 });
    d.write('a'.repeat(39));
    expect(f.writes).toEqual([]);
    d.write('b\n');
    expect(f.writes).toEqual([41]);
  });

  it('flushSync writes everything pending, in order, before it returns (pino flush(cb) too)', () => {
    const f = new FakeFd();
    const d = make(f);
    for (const l of lines(5)) d.write(l);
    d.flushSync();
    expect(f.text()).toBe(lines(5).join(''));
    d.write(lines(1, 5)[0]!);
    let called = false;
    d.flush(() => (called = true));
    expect(called).toBe(true);
    expect(f.text()).toBe(lines(6).join(''));
    f.tick(); // the timer left from before finds nothing to do
    expect(f.writes).toHaveLength(2);
  });

  it('a partial write keeps the rest, bytes not characters (multi-byte UTF-8 cut in the middle)', () => {
    const f = new FakeFd();
    const d = make(f);
    const line = '{"msg":"café ☕ Ünïcode"}\n';
    d.write(line);
    f.room = 11; // cuts inside "é"
    f.tick();
    expect(f.writes).toEqual([11]);
    expect(f.timers).toHaveLength(1); // tried again on the next timer
    f.room = Infinity;
    f.tick();
    expect(f.text()).toBe(line);
  });

  it('EAGAIN keeps everything for the next timer, and lines logged meanwhile follow in order', () => {
    const f = new FakeFd();
    const d = make(f);
    f.room = 0;
    for (const l of lines(3)) d.write(l);
    f.tick();
    expect(f.out).toBe('');
    for (const l of lines(3, 3)) d.write(l);
    expect(f.timers).toHaveLength(1);
    f.tick(); // still full
    f.room = Infinity;
    f.tick();
    expect(f.text()).toBe(lines(6).join(''));
    expect(f.notices).toEqual([]);
  });

  it('flushSync waits for a destination that is behind, as long as it makes progress', () => {
    const f = new FakeFd();
    const d = make(f, { stallMs: 50 });
    for (const l of lines(200)) d.write(l);
    f.room = 0;
    // A slow reader: frees 100 bytes every 30 ms of waiting, so each wait is shorter than stallMs.
    let freedAt = 0;
    f.onWrite = () => {
      if (f.now - freedAt >= 30) {
        f.room += 100;
        freedAt = f.now;
      }
    };
    d.flushSync();
    expect(f.text()).toBe(lines(200).join(''));
    expect(f.sleeps).toBeGreaterThan(50);
    expect(f.notices).toEqual([]);
  });

  it('flushSync gives up on a destination that takes nothing for stallMs, and says how much was lost', () => {
    const f = new FakeFd();
    const d = make(f, { stallMs: 100 });
    for (const l of lines(10)) d.write(l);
    f.room = 0;
    d.flushSync();
    // Both sides of the deadline: it waited 100 ms (1 ms steps), not less and not forever.
    expect(f.now).toBe(100);
    const bytes = lines(10).join('').length;
    expect(d.lost).toBe(bytes);
    expect(f.notices).toHaveLength(1);
    expect(f.notices[0]).toContain(`nothing taken for 100 ms): ${bytes} bytes of log lines lost`);
  });

  it('an error (EPIPE: the reader is gone) drops the lines, says so once, and never throws', () => {
    const f = new FakeFd();
    const d = make(f);
    f.error = 'EPIPE';
    for (const l of lines(3)) d.write(l);
    expect(() => f.tick()).not.toThrow();
    for (const l of lines(3, 3)) d.write(l);
    f.tick();
    expect(() => d.flushSync()).not.toThrow();
    expect(f.notices).toHaveLength(1);
    expect(f.notices[0]).toMatch(/cannot write the log to fd 1 \(EPIPE\): \d+ bytes of log lines lost/);
    expect(d.lost).toBe(lines(6).join('').length);
    d.end();
    expect(f.notices[1]).toContain(
      `${lines(6).join('').length} bytes of log lines lost since it failed (EPIPE)`,
    );
  });

  it('a destination that works again is used again, and the loss is summed up', () => {
    const f = new FakeFd();
    const d = make(f);
    f.error = 'ENOSPC';
    d.write('lost\n');
    f.tick();
    f.error = undefined;
    d.write('kept\n');
    f.tick();
    expect(f.text()).toBe('kept\n');
    expect(f.notices).toHaveLength(2);
    expect(f.notices[1]).toBe(
      'hadhcp: the log on fd 1 is written again; 5 bytes of log lines were lost (ENOSPC)',
    );
  });

  it('beyond maxPendingBytes behind, logging waits for the reader instead of holding more', () => {
    const f = new FakeFd();
    const d = make(f, { batchBytes: 64, maxPendingBytes: 256 });
    f.room = 0;
    d.write('x'.repeat(70)); // over batchBytes: one attempt, EAGAIN, kept
    expect(d.backlog).toBe(70);
    let waited = 0;
    f.onWrite = () => {
      if (f.sleeps > waited + 3) {
        f.room = 1000; // the reader catches up after a few ms
        waited = f.sleeps;
      }
    };
    for (let i = 0; i < 4; i++) d.write('y'.repeat(70));
    expect(f.sleeps).toBeGreaterThan(0);
    expect(d.backlog).toBe(0);
    expect(f.out).toBe('x'.repeat(70) + 'y'.repeat(280));
  });

  it('once given up on, a stuck destination does not make every later line wait again', () => {
    const f = new FakeFd();
    const d = make(f, { batchBytes: 64, maxPendingBytes: 256, stallMs: 20 });
    f.room = 0;
    for (let i = 0; i < 5; i++) d.write('z'.repeat(70));
    expect(f.now).toBe(20); // waited once, stallMs
    for (let i = 0; i < 20; i++) d.write('z'.repeat(70));
    f.tick();
    expect(f.now).toBe(20); // and not again
    expect(f.notices).toHaveLength(1);
  });

  it('formats each line (pretty printing); a formatter that throws costs nothing but the formatting', () => {
    const f = new FakeFd();
    const d = make(f, {
      format: (l) => {
        if (l.includes('bad')) throw new Error('cannot format');
        return `> ${l}`;
      },
    });
    d.write('good\n');
    d.write('bad\n');
    d.flushSync();
    expect(f.text()).toBe('> good\nbad\n');
  });
});
