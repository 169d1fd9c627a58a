// What a failed lab test leaves behind: the lab's timeline (the test's steps, processes started, signalled and
// exited, commands run, waits that failed) and the last lines of every process involved, all on one clock
// (seconds since the lab started), so the daemon's last words can be read next to the step that failed.
// A Lab follows each test it is created or used in (lab.ts); nothing here is called from a test file.
// The report is printed under the failing test (console.error: vitest files it under that test) and saved in
// .lab-tmp/reports/lab-failures/ (or $HADHCP_LAB_REPORTS), since the JSON reporter keeps no console output.
// Passing tests print nothing.
import { appendFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunnerTestCase } from 'vitest';
import type { Stamped } from './proc.js';

/**
 * A lab's own entries: steps, test starts, commands. A command run again within a few entries (a poll) is
 * counted on its first entry instead of listed again, never across a step or a test start, so a count stays
 * within the part of the test it belongs to.
 */
export class Timeline {
  private readonly list: { at: number; text: string; repeats: number; lastAt: number }[] = [];

  note(text: string, at = Date.now()): void {
    for (const e of this.list.slice(-REPEAT_WINDOW).reverse()) {
      if (e.text === text) {
        e.repeats++;
        e.lastAt = at;
        return;
      }
      if (/^(step|test started): /.test(e.text)) break;
    }
    this.list.push({ at, text, repeats: 1, lastAt: at });
  }

  /** The entries, repeats told on theirs ("(5 times, last +3.250)"). */
  entries(t0: number): Stamped[] {
    return this.list.map((e) => ({
      at: e.at,
      text: e.repeats > 1 ? `${e.text} (${e.repeats} times, last ${clock(e.lastAt, t0).trim()})` : e.text,
    }));
  }
}

export interface ProcReport {
  label: string;
  pid: number;
  command: string;
  startedAt: number;
  /** When and how it ended; undefined while running. */
  exit?: Stamped;
  /** The last lines (already trimmed) and how many it printed in all. */
  lines: readonly Stamped[];
  lineCount: number;
}

export interface ReportInput {
  title: string;
  /** Time zero of every timestamp: the lab's start. */
  t0: number;
  /**
   * Start of the failed test. A lab may outlive one test (useLab() per file): the timeline keeps only a few
   * entries from before, and processes that ended before are left out.
   */
  since: number;
  /** Unsorted; sorted here. */
  timeline: readonly Stamped[];
  /** In start order. */
  procs: readonly ProcReport[];
  /** Lines under the title (the error, where the full logs are). */
  notes?: readonly string[];
}

/** Lines kept per process: enough for the last exchange of a daemon, few enough to read five of them. */
export const TAIL_LINES = 40;
const CONTEXT_ENTRIES = 10;
const REPEAT_WINDOW = 6;
const MAX_ENTRIES = 150;
const MAX_LINE = 400;

/** `+12.345` seconds after `t0`, padded so columns line up. */
function clock(at: number, t0: number): string {
  return `+${(Math.max(0, at - t0) / 1000).toFixed(3)}`.padStart(9);
}

const cut = (s: string, n = MAX_LINE): string => (s.length > n ? `${s.slice(0, n)}...` : s);

export function formatReport(r: ReportInput): string {
  const out = [`======== lab report: ${r.title} ========`, ...(r.notes ?? [])];
  const entries = [...r.timeline].sort((a, b) => a.at - b.at);
  let first = Math.max(0, entries.findIndex((e) => e.at >= r.since) - CONTEXT_ENTRIES);
  if (entries.every((e) => e.at < r.since)) first = Math.max(0, entries.length - CONTEXT_ENTRIES);
  first = Math.max(first, entries.length - MAX_ENTRIES);
  out.push(`timeline (seconds since the lab started at ${new Date(r.t0).toISOString()}):`);
  if (first > 0) out.push(`    (${first} earlier entries left out)`);
  for (const e of entries.slice(first)) out.push(`${clock(e.at, r.t0)}  ${cut(e.text)}`);

  // Strictly after: a process the previous test awaited may have ended in the millisecond this one started.
  const involved = r.procs.filter((p) => p.exit === undefined || p.exit.at > r.since);
  const older = r.procs.length - involved.length;
  const left = older > 0 ? `; ${older} that ended before this test left out` : '';
  out.push(`processes involved: ${involved.length}, last ${TAIL_LINES} lines of each${left}:`);
  for (const p of involved) {
    const end = p.exit ? `ended ${clock(p.exit.at, r.t0).trim()} ${p.exit.text}` : 'still running';
    out.push(`---- ${p.label} pid ${p.pid}, started ${clock(p.startedAt, r.t0).trim()}, ${end}`);
    out.push(`     $ ${cut(p.command, 300)}`);
    if (p.lineCount > p.lines.length)
      out.push(`     (${p.lineCount - p.lines.length} earlier lines left out)`);
    if (p.lineCount === 0) out.push('     (no output)');
    for (const l of p.lines) out.push(`${clock(l.at, r.t0)}  ${cut(l.text)}`);
  }
  out.push('======== end of lab report ========');
  return out.join('\n');
}

/** "file > suite > test", as vitest names it. */
export function testName(test: RunnerTestCase): string {
  const names = [test.name];
  for (let s = test.suite; s && s !== test.file; s = s.suite) if (s.name) names.unshift(s.name);
  return [basename(test.file.name), ...names].join(' > ');
}

/**
 * Calls `done` once `test` has finished (after its afterEach hooks, so after a useLab() cleanup), with the
 * first line of its error when it failed. Through the test's own context: importing 'vitest' itself throws
 * outside a vitest run, and the benchmarks use Lab under plain tsx.
 */
export function whenTestEnds(test: RunnerTestCase, done: (error: string | undefined) => void): void {
  try {
    test.context.onTestFinished(({ task }) =>
      done(task.result?.state === 'fail' ? firstError(task.result.errors) : undefined),
    );
  } catch {
    // Called from inside an onTestFinished/onTestFailed hook: the test is over, nothing left to follow.
  }
}

/** "AssertionError: expected 1 to be 2", the first line of the first error. */
export function firstError(errors: readonly { name?: string; message?: string }[] | undefined): string {
  const e = errors?.[0];
  return [e?.name, e?.message?.split('\n')[0]].filter(Boolean).join(': ') || 'failed';
}

/**
 * Prints `report` and saves it as `<name>.txt`, after what other labs of the same test (started at `since`)
 * wrote. A passing test (`report` undefined) removes the file its name left in an earlier run, so the folder
 * holds current failures only.
 */
export function publishReport(name: string, since: number, report: string | undefined): void {
  const dir =
    process.env.HADHCP_LAB_REPORTS ??
    fileURLToPath(new URL('../../../.lab-tmp/reports/lab-failures/', import.meta.url));
  const file = join(dir, `${name.replace(/[^\w.-]+/g, '_').slice(0, 180)}.txt`);
  if (report === undefined) {
    rmSync(file, { force: true });
    return;
  }
  console.error(report);
  try {
    mkdirSync(dir, { recursive: true });
    let ours = false;
    try {
      ours = statSync(file).mtimeMs >= since;
    } catch {
      // no file yet
    }
    if (ours) appendFileSync(file, `\n${report}\n`);
    else writeFileSync(file, `${report}\n`);
  } catch (e) {
    console.error(`[lab] could not save the report in ${dir}: ${(e as Error).message}`);
  }
}
