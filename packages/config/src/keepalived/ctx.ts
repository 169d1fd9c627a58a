/** Shared helpers for turning statements into the model: diagnostics with positions, numbers, did-you-mean. */
import type { SourcePos } from '@hadhcp/vrrp';
import type { Diagnostic, Severity } from '../diagnostics.js';
import type { Word } from './lexer.js';
import type { Stmt } from './parser.js';

/**
 * Everything one read collects. `security` and `fatal` pick `keepalived -t`'s exit code (see check.ts): a
 * security finding is its CONFIG_SECURITY_ERROR (exit 6), a fatal one stops it from running at all (exit 4).
 */
export interface Ctx {
  diags: Diagnostic[];
  security: boolean;
  fatal: boolean;
  interfaces: ReadonlySet<string> | undefined;
  /** Keywords accepted without effect (GlobalDefs.ignored), `INSTANCE: keyword` for those inside a block. */
  ignored: string[];
}

export function report(
  ctx: Ctx,
  severity: Severity,
  file: string,
  at: Word,
  message: string,
  hint?: string,
): void {
  ctx.diags.push(
    hint
      ? { severity, file, line: at.line, col: at.col, message, hint }
      : { severity, file, line: at.line, col: at.col, message },
  );
}

export const error = (ctx: Ctx, st: Stmt, at: Word, message: string, hint?: string): void =>
  report(ctx, 'error', st.file, at, message, hint);
export const warning = (ctx: Ctx, st: Stmt, at: Word, message: string, hint?: string): void =>
  report(ctx, 'warning', st.file, at, message, hint);
export const note = (ctx: Ctx, st: Stmt, at: Word, message: string, hint?: string): void =>
  report(ctx, 'note', st.file, at, message, hint);

export function posOf(st: Stmt): SourcePos {
  return { file: st.file, line: st.keyword.line, col: st.keyword.col };
}

/** The first argument, or an error naming what is missing. */
export function arg1(ctx: Ctx, st: Stmt, what: string): Word | undefined {
  const a = st.args[0];
  if (!a)
    error(ctx, st, st.keyword, `${st.keyword.text} needs ${what}`, `write: ${st.keyword.text} <${what}>`);
  return a;
}

/** An integer argument within [min, max]; keepalived rejects the same values ("outside range"). */
export function intArg(ctx: Ctx, st: Stmt, min: number, max: number, w = st.args[0]): number | undefined {
  if (!w) {
    error(
      ctx,
      st,
      st.keyword,
      `${st.keyword.text} needs a number`,
      `write: ${st.keyword.text} <${min}-${max}>`,
    );
    return undefined;
  }
  if (!/^-?\d+$/.test(w.text)) {
    error(
      ctx,
      st,
      w,
      `${st.keyword.text}: '${w.text}' is not a whole number`,
      `use a whole number from ${min} to ${max}`,
    );
    return undefined;
  }
  const n = Number(w.text);
  if (n < min || n > max) {
    error(
      ctx,
      st,
      w,
      `${st.keyword.text} ${n} is outside ${min}-${max}`,
      `use a whole number from ${min} to ${max}`,
    );
    return undefined;
  }
  return n;
}

/** A non-negative decimal number of seconds (keepalived's read_decimal_unsigned_strvec accepts fractions). */
export function secondsArg(ctx: Ctx, st: Stmt, min: number, max: number): number | undefined {
  const w = st.args[0];
  if (!w) {
    error(ctx, st, st.keyword, `${st.keyword.text} needs a number of seconds`);
    return undefined;
  }
  if (!/^\d+(\.\d+)?$/.test(w.text)) {
    error(
      ctx,
      st,
      w,
      `${st.keyword.text}: '${w.text}' is not a number of seconds`,
      `use a number from ${min} to ${max}`,
    );
    return undefined;
  }
  const n = Number(w.text);
  if (n < min || n > max) {
    error(
      ctx,
      st,
      w,
      `${st.keyword.text} ${w.text} is outside ${min}-${max} seconds`,
      `use a number from ${min} to ${max}`,
    );
    return undefined;
  }
  return n;
}

export function extraArgs(ctx: Ctx, st: Stmt, allowed: number): void {
  const extra = st.args[allowed];
  if (extra) {
    error(
      ctx,
      st,
      extra,
      `unexpected '${extra.text}' after ${st.keyword.text}`,
      `${st.keyword.text} takes ${allowed === 0 ? 'no value' : allowed === 1 ? 'one value' : `${allowed} values`}`,
    );
  }
}

export function noBlock(ctx: Ctx, st: Stmt): void {
  if (st.block) error(ctx, st, st.keyword, `${st.keyword.text} does not take a { } block`);
}

export function needBlock(ctx: Ctx, st: Stmt): Stmt[] {
  if (!st.block) {
    error(
      ctx,
      st,
      st.keyword,
      `${st.keyword.text} needs a { } block`,
      `write: ${st.keyword.text} ${st.args.map((a) => a.text).join(' ')} { ... }`,
    );
    return [];
  }
  return st.block;
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest known keyword when it is close enough to be a typo (edit distance <= 1/3 of its length). */
export function didYouMean(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(word.toLowerCase(), k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}
