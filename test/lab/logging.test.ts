// Issue 11: no log line is lost when the daemon ends. However `hadhcp run` ends (SIGTERM, a fatal start-up error,
// an exception thrown in a timer, an unhandled rejection), in JSON and in --pretty, every line it logged is in its
// output, in order, and the last one is the one that says why it ended.
//
// The lines are known ones, so that "every line" is checked line by line: the test-only control command
// `debug-log-burst` (HADHCP_TEST_HOOKS=1, packages/cli/src/run.ts) makes the daemon log N numbered lines right after
// it answered, so a signal sent on the answer is handled after the whole burst was logged. Two readers, because
// the two races are different:
// - one that keeps up, with a short burst: the daemon ends a moment after its last lines, while they are still
//   held in its batch. The batched destination used to write those from an `exit` hook through an asynchronous
//   write that the ending process could cut: ~15% of such stops lost their last lines (14 of 90 measured).
// - one that is away (READER_AWAY_MS from before the burst until after the daemon was told to end), with a burst
//   larger than the log socket holds (~200 KB): the daemon must end with its output backed up.
// The daemon's stderr is what `spawn` and systemd give it, a Unix stream socket, run in both of its modes:
// blocking, as inherited (write(2) waits for the reader), and non-blocking, as it is once anything in the process
// touches `process.stderr` (write(2) says EAGAIN and the daemon keeps the rest).
// Cases run many times each, in parallel lanes (one namespace each) to keep the file short.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest } from '../../packages/control/src/index.js';
import { sleep, until } from './lib/dhcp-helpers.js';
import { HADHCP_CLI, requireRoot, useLab, type Lab } from './lib/index.js';

/**
 * SIGTERM stops per (format, fd mode), two thirds with a reader that keeps up: 4 x 8 = 32 of those in all, which
 * the old destination (a ~15% loss each) passes 0.5% of the time; and a 1-in-20 loss 19% of the time.
 */
const STOPS = 12;
/** Crashes per (format, fd mode, throw or reject), reader away. */
const CRASHES = 2;
/** Refused start-ups per (format, fd mode), half of them with the reader away. */
const REFUSALS = 4;
/** Daemons at once, each in its own namespace. */
const LANES = 3;
/** Lines in a long burst: ~470 KB of JSON, ~300 KB --pretty; a short one: ~10 KB. */
const LONG = 5000;
const SHORT = 100;
/** Statements without effect before the error in a refused configuration (each is logged as a note). */
const NOTES = 4000;
const READER_AWAY_MS = 200;

/** A reader that keeps up, or one that is away while the daemon logs and is told to end. */
type Shape = { burst: number; away: boolean };
const KEEPS_UP: Shape = { burst: SHORT, away: false };
const AWAY: Shape = { burst: LONG, away: true };
const shapeOf = (i: number): Shape => (i % 3 === 2 ? AWAY : KEEPS_UP);

const CONF = `authoritative;
default-lease-time 600;
max-lease-time 1200;
subnet 10.0.0.0 netmask 255.255.255.0 {
  range 10.0.0.50 10.0.0.99;
}
`;

type FdMode = 'blocking' | 'non-blocking';

/** A `hadhcp run` whose log (stderr) the test reads, and can stop reading for a while. */
class Daemon {
  text = '';
  readonly exit: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.text += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.text += s));
    this.exit = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  }

  /** Stops reading: the socket fills, then Node's buffer on this side (16 KiB), then the daemon's writes wait. */
  pauseReading(): void {
    this.child.stderr!.pause();
  }

  resumeReading(): void {
    this.child.stderr!.resume();
  }

  async waitFor(re: RegExp, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.text)) {
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`no ${re} in the daemon's output:\n${this.text.slice(-3000)}`);
      await sleep(20);
    }
  }

  signal(sig: NodeJS.Signals): void {
    try {
      process.kill(this.child.pid!, sig);
    } catch {
      // already gone
    }
  }

  /** Reads to the end; a reader that was away comes back READER_AWAY_MS from now. */
  async readToEnd(away: boolean): Promise<{ code: number | null; out: string }> {
    if (away) await sleep(READER_AWAY_MS);
    this.resumeReading();
    const code = await this.exit;
    return { code, out: this.text };
  }
}

const running = new Set<Daemon>();

function spawnDaemon(o: { lab?: Lab; ns?: string; args: string[]; pretty: boolean; fd: FdMode }): Daemon {
  // Reading process.stderr's getter opens it as a libuv stream, which sets O_NONBLOCK on the shared socket.
  const node = [
    process.execPath,
    ...(o.fd === 'non-blocking' ? ['--import', 'data:text/javascript,process.stderr'] : []),
  ];
  const argv = [...node, HADHCP_CLI, 'run', ...o.args, ...(o.pretty ? ['--pretty'] : [])];
  const full = o.lab && o.ns ? ['ip', 'netns', 'exec', o.lab.nsName(o.ns), ...argv] : argv;
  const child = spawn(full[0]!, full.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HADHCP_TEST_HOOKS: '1' },
  });
  const d = new Daemon(child);
  running.add(d);
  void d.exit.then(() => running.delete(d));
  return d;
}

/** Log messages in order: each JSON line's `msg` (a torn line fails to parse), or the text after --pretty's `LEVEL:`. */
function messages(text: string, pretty: boolean): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (pretty) {
      const m = /^\[\d\d:\d\d:\d\d\.\d{3}\] [A-Z]+: (.*)$/.exec(line);
      if (m) out.push(m[1]!);
    } else if (line !== '') {
      out.push((JSON.parse(line) as { msg: string }).msg);
    }
  }
  return out;
}

/** The burst's `n` lines are all there, once each, in order, and `after` comes after the last of them. */
function expectWholeBurst(msgs: string[], n: number, out: string, after: string): void {
  const burst = msgs.filter((m) => m.startsWith('debug-log-burst line '));
  const numbers = burst.map((m) => Number(/line (\d+) of/.exec(m)?.[1]));
  const inOrder = numbers.length === n && numbers.every((k, i) => k === i + 1);
  expect(inOrder, `${burst.length} of ${n} burst lines, or out of order: ${out.slice(-1500)}`).toBe(true);
  expect(msgs.indexOf(after), out.slice(-1500)).toBeGreaterThan(msgs.lastIndexOf(burst[n - 1]!));
}

/** Runs rounds 0..n-1, LANES at a time; `round` gets its lane (its namespace) and its number. */
async function inLanes(n: number, round: (lane: number, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: LANES }, async (_, lane) => {
      for (let i = next++; i < n; i = next++) await round(lane, i);
    }),
  );
}

async function killAll(): Promise<void> {
  for (const d of [...running]) {
    d.resumeReading();
    d.signal('SIGKILL');
    await d.exit;
  }
}

const skip = requireRoot();

describe.skipIf(skip)('no log line is lost when the running daemon ends', () => {
  const lab = useLab();
  let n = 0;

  beforeAll(async () => {
    // A namespace per lane, with an interface on the configured subnet: a veth whose other end is in the same
    // namespace, unused (nothing is sent to the daemon).
    for (let lane = 0; lane < LANES; lane++) {
      const ns = `srv${lane}`;
      await lab().addNamespace(ns);
      await lab().link(ns, 'eth0', ns, 'eth1');
      await lab().addr(ns, 'eth0', '10.0.0.2/24');
    }
  });

  afterEach(killAll);

  /** A serving daemon in `lane` that has logged a burst when this returns (with its reader away, if so). */
  async function busyDaemon(lane: number, pretty: boolean, fd: FdMode, shape: Shape) {
    const dir = lab().file(`run-${++n}`);
    mkdirSync(dir, { recursive: true });
    const socket = `${dir}/control.sock`;
    const conf = join(dir, 'dhcpd.conf');
    writeFileSync(conf, CONF);
    const args = ['--dhcpd', conf, '--state-dir', dir, '--socket', socket];
    const d = spawnDaemon({ lab: lab(), ns: `srv${lane}`, args, pretty, fd });
    await d.waitFor(/hadhcp \S+ started/);
    await until('control socket', async () => (existsSync(socket) ? true : undefined), 5000);
    if (shape.away) d.pauseReading();
    const r = (await controlRequest(socket, 'debug-log-burst', { lines: shape.burst })) as { result: number };
    expect(r.result).toBe(0);
    return { d, socket };
  }

  for (const pretty of [false, true]) {
    for (const fd of ['blocking', 'non-blocking'] as const) {
      const mode = `${pretty ? '--pretty' : 'JSON'}, ${fd} stderr`;

      it(`${mode}: SIGTERM right after a burst, ${STOPS} times: every line, ending with "hadhcp stopped"`, async () => {
        await inLanes(STOPS, async (lane, i) => {
          const shape = shapeOf(i);
          const { d } = await busyDaemon(lane, pretty, fd, shape);
          d.signal('SIGTERM');
          const { code, out } = await d.readToEnd(shape.away);
          const why = `stop ${i + 1} (${shape.away ? 'reader away' : 'reader keeps up'}): ${out.slice(-1500)}`;
          expect(code, why).toBe(0);
          const msgs = messages(out, pretty);
          expectWholeBurst(msgs, shape.burst, out, 'received SIGTERM, shutting down');
          expect(msgs.at(-1), why).toBe('hadhcp stopped');
          expect(out.endsWith('\n'), why).toBe(true);
        });
      });

      for (const how of ['throw', 'reject'] as const) {
        const what = how === 'throw' ? 'uncaught exception' : 'unhandled rejection';
        it(`${mode}: ${what} in a timer right after a burst, ${CRASHES} times: every line, then the error with its stack, exit 70`, async () => {
          await inLanes(CRASHES, async (lane) => {
            const { d, socket } = await busyDaemon(lane, pretty, fd, AWAY);
            // Handled once the daemon is through the burst (with a blocking stderr: once the reader is back).
            const asked = controlRequest(socket, 'debug-crash', { how }).catch((e: Error) => e);
            const { code, out } = await d.readToEnd(true);
            await asked;
            expect(code, out.slice(-1500)).toBe(70);
            const msgs = messages(out, pretty);
            const fatal = `${what}: debug-crash requested through the control socket; exiting`;
            expectWholeBurst(msgs, LONG, out, fatal);
            expect(msgs.at(-1), out.slice(-1500)).toBe(fatal);
            // With its stack: the JSON line's err.stack, or printed under the --pretty line.
            const stack = pretty
              ? out.slice(out.lastIndexOf(fatal))
              : (JSON.parse(out.trimEnd().split('\n').at(-1)!) as { err: { stack: string } }).err.stack;
            expect(stack).toMatch(/Error: debug-crash requested through the control socket\n\s+at /);
            expect(out.endsWith('\n')).toBe(true);
          });
        });
      }
    }
  }
});

// No network and no root: the configuration is refused before any socket is opened.
describe('no log line is lost when the daemon cannot start', () => {
  let dir = '';
  const noisy = () => join(dir, 'noisy.conf');
  const bad = () => join(dir, 'bad.conf');
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hadhcp-logging-'));
    // Every note is logged, then the error, then the daemon refuses to start.
    writeFileSync(noisy(), `${'log-facility local7;\n'.repeat(NOTES)}max-lease-time;\n`);
    writeFileSync(bad(), 'max-lease-time;\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(killAll);

  for (const pretty of [false, true]) {
    for (const fd of ['blocking', 'non-blocking'] as const) {
      it(`${pretty ? '--pretty' : 'JSON'}, ${fd} stderr: a refused configuration, ${REFUSALS} times: every line, then "cannot start", exit 3`, async () => {
        await inLanes(REFUSALS, async (lane, i) => {
          // Odd rounds: NOTES notes first, with the reader away from the start; even ones: the error alone.
          const away = i % 2 === 1;
          const state = join(dir, `state-${lane}`);
          const args = [
            '--dhcpd',
            away ? noisy() : bad(),
            '--state-dir',
            state,
            '--socket',
            `${state}/c.sock`,
          ];
          const d = spawnDaemon({ args, pretty, fd });
          if (away) d.pauseReading();
          const { code, out } = await d.readToEnd(away);
          expect(code, out.slice(-1500)).toBe(3);
          const msgs = messages(out, pretty);
          const notes = msgs.filter((m) => m.includes('note: `log-facility` has no effect'));
          expect(notes).toHaveLength(away ? NOTES : 0);
          expect(msgs.at(-1), out.slice(-1500)).toMatch(/^cannot start: configuration has 1 error\(s\):/);
          const line = away ? NOTES + 1 : 1;
          expect(out).toMatch(new RegExp(`\\.conf:${line}:15: error: expected a number of seconds`));
          expect(out.endsWith('\n')).toBe(true);
        });
      });
    }
  }
});
