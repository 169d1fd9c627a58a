/**
 * dhcpd.conf(5) "EVENTS" and the executable statements of dhcp-eval(5) in their bodies: `on commit`, `on release`,
 * `on expiry` (joined with `or`), holding `log`, `set`, `unset`, `execute` and `if` / `elsif` / `else`. The bodies
 * are compiled here, once; the DHCP core runs them after the lease change is durable (core/events.ts).
 *
 * `log`, `set`, `unset` and `execute` may also stand straight in a scope (parseScopeStatement). Variables are read
 * in these statements: a bare name there is a variable, as ISC reads it (expr-parse.ts,
 * ExprParseOptions.variables). `execute` is read and never run: ISC builds it only with --enable-execute, and
 * hadhcp runs no commands from dhcpd.conf (a warning says so; see the config README).
 */
import type { DataTest, EventStatement, ScopeEvents } from '@hadhcp/dhcp';
import { ParseError, describe, ifChain } from './cursor.js';
import { compileBoolean, compileData } from './expr-eval.js';
import { ExprLexer } from './expr-lexer.js';
import { optionsFromDefs, parseBoolean, parseData, type ExprParseOptions } from './expr-parse.js';
import type { Tok } from './lexer.js';
import type { Ctx, DhcpdParser } from './parser.js';

const EVENTS = ['commit', 'release', 'expiry'] as const;
const LEVELS = ['fatal', 'error', 'info', 'debug'] as const;
type Level = (typeof LEVELS)[number];

/** `on EVENT [or EVENT]... { statements }` in any scope. */
export function parseOn(p: DhcpdParser, t: Tok, ctx: Ctx): void {
  const cur = p.cur;
  const which: Array<(typeof EVENTS)[number]> = [];
  for (;;) {
    const e = cur.word('an event', 'write `on commit { ... }`, `on release { ... }` or `on expiry { ... }`');
    const name = e.text.toLowerCase() as (typeof EVENTS)[number];
    if (!EVENTS.includes(name))
      throw new ParseError(
        e,
        `\`on ${e.text}\`: expecting commit, release or expiry`,
        'hadhcp runs `on commit`, `on release` and `on expiry` (dhcpd.conf(5) EVENTS)',
      );
    which.push(name);
    if (!cur.isWord('or')) break;
    cur.next();
  }
  const body = block(p, `on ${which.join(' or ')}`);
  const events: ScopeEvents = (ctx.scope.events ??= {});
  for (const w of which) events[w] = body;
  p.config.hasEvents = true;
}

/**
 * `log`, `set`, `unset` or `execute` written straight in a scope: ISC runs them for each answer the scope applies
 * to (offers and acknowledgements), outermost scope first. Their variables are the answer's, seen by its
 * `on commit` block.
 */
export function parseScopeStatement(p: DhcpdParser, ctx: Ctx): void {
  (ctx.scope.statements ??= []).push(statement(p));
  p.config.hasEvents = true;
  p.config.hasScopeStatements = true;
}

/** `{ statements }` of an event or of an `if` inside one. */
function block(p: DhcpdParser, what: string): EventStatement[] {
  const cur = p.cur;
  const open = cur.expect('{', '`{`', `open the ${what} block with {`);
  const out: EventStatement[] = [];
  for (;;) {
    const t = cur.peek();
    if (t.kind === '}') {
      cur.next();
      return out;
    }
    if (t.kind === 'eof')
      throw new ParseError(
        t,
        `unexpected end of file: the ${what} block opened at line ${open.line} is not closed`,
        'add the missing `}`',
      );
    out.push(statement(p));
  }
}

function exprOpts(p: DhcpdParser): ExprParseOptions {
  return {
    options: optionsFromDefs(p.defs),
    variables: true,
    warn: (t, message, hint) => p.note(t, 'warning', message, hint),
  };
}

/** Runs an expression parser on the split tokens and checks it ended on a token boundary. */
function onBoundary<T>(p: DhcpdParser, lx: ExprLexer, parse: (o: ExprParseOptions) => T): T {
  const e = parse(exprOpts(p));
  if (!lx.atBoundary) {
    const t = lx.peek();
    throw new ParseError(t, `unexpected ${describe(t)} after the expression`, 'remove it or add an operator');
  }
  return e;
}

function statement(p: DhcpdParser): EventStatement {
  const cur = p.cur;
  const lx = new ExprLexer(cur);
  const t = lx.next();
  const w = t.kind === 'word' ? t.text.toLowerCase() : '';
  const pos = cur.pos(t);
  const punct = (text: string, hint: string): void => {
    const x = lx.next();
    if (x.text !== text) throw new ParseError(x, `expected \`${text}\`, found ${describe(x)}`, hint);
  };
  switch (w) {
    case 'log': {
      // log (PRIORITY, EXPR) or log (EXPR); ISC's default priority is info.
      punct('(', 'write `log(info, "text");`');
      let level: Level = 'info';
      const l = lx.peek();
      if (l.kind === 'word' && (LEVELS as readonly string[]).includes(l.text.toLowerCase())) {
        lx.next();
        level = l.text.toLowerCase() as Level;
        punct(',', 'write `log(info, "text");`');
      }
      const text = compileData(parseData(lx, exprOpts(p)));
      punct(')', 'close the log statement with `)`');
      if (!lx.atBoundary)
        throw new ParseError(lx.peek(), `unexpected ${describe(lx.peek())}`, 'end with `);`');
      cur.semi('log');
      return { kind: 'log', level, text, pos };
    }
    case 'set': {
      const name = variableName(lx, 'set');
      punct('=', 'write `set NAME = EXPR;`');
      const value = compileData(onBoundary(p, lx, (o) => parseData(lx, o)));
      cur.semi('set');
      return { kind: 'set', name, value, pos };
    }
    case 'unset': {
      const name = variableName(lx, 'unset');
      cur.semi('unset');
      return { kind: 'unset', name, pos };
    }
    case 'execute': {
      // execute("COMMAND", ARG, ...): the command as written, each argument a data expression (dhcp-eval(5)).
      punct('(', 'write `execute("/path/to/command", ARG, ...);`');
      const c = lx.next();
      if (c.kind !== 'string')
        throw new ParseError(
          c,
          `\`execute\`: expected the command as a quoted string, found ${describe(c)}`,
          'write `execute("/path/to/command", ARG, ...);`',
        );
      const args: DataTest[] = [];
      while (lx.peek().text === ',') {
        lx.next();
        args.push(compileData(parseData(lx, exprOpts(p))));
      }
      punct(')', 'close the execute statement with `)`');
      if (!lx.atBoundary)
        throw new ParseError(lx.peek(), `unexpected ${describe(lx.peek())}`, 'end with `);`');
      cur.semi('execute');
      p.note(
        t,
        'warning',
        '`execute` runs only when hadhcp runs with --enable-execute (off by default; ISC runs it only when built ' +
          'with --enable-execute)',
        'start the daemon with `hadhcp run --enable-execute` to run it (after the lease is on disk, never ' +
          'delaying the reply), or log what the command needs with `log(info, ...)`',
      );
      return { kind: 'execute', command: c.text, args, pos };
    }
    case 'if': {
      const branches: Array<{ test?: ReturnType<typeof compileBoolean>; body: EventStatement[] }> = [];
      ifChain(cur, t, (at, conditional) => {
        if (!conditional) return void branches.push({ body: block(p, `else block at line ${at.line}`) });
        const test = compileBoolean(onBoundary(p, lx, (o) => parseBoolean(lx, o)));
        branches.push({ test, body: block(p, `${at.text} block at line ${at.line}`) });
      });
      return { kind: 'if', branches, pos };
    }
  }
  throw new ParseError(
    t,
    `\`${t.text}\` is not allowed in an event block`,
    'an `on commit|release|expiry` block holds log, set, unset, execute and if statements',
  );
}

function variableName(lx: ExprLexer, stmt: string): string {
  const v = lx.next();
  if (v.kind !== 'word' || !/^[a-z_][a-z0-9_-]*$/i.test(v.text))
    throw new ParseError(
      v,
      `\`${stmt}\`: expecting a variable name, found ${describe(v)}`,
      `write \`${stmt} NAME\``,
    );
  return v.text;
}
