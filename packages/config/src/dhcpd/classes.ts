/**
 * dhcpd.conf(5) CLIENT CLASSING and CONDITIONAL BEHAVIOUR: `class`, `subclass`, `match if`, `match`, `spawn with`,
 * `lease limit`, and `if` / `elsif` / `else`. Expressions are parsed with expr-parse.ts and compiled here, once;
 * the DHCP core only calls the compiled tests (packages/dhcp/src/core/classes.ts).
 */
import {
  dataKey,
  OPTION_DEFS_BY_NAME,
  type ClientClass,
  type Conditional,
  type Scope,
  type SubClass,
} from '@hadhcp/dhcp';
import { ParseError, describe, ifChain } from './cursor.js';
import { compileBoolean, compileData } from './expr-eval.js';
import { ExprLexer } from './expr-lexer.js';
import { optionsFromDefs, parseBoolean, parseData, type ExprParseOptions } from './expr-parse.js';
import type { BoolExpr } from './expr-types.js';
import type { Tok } from './lexer.js';
import type { Ctx, DhcpdParser } from './parser.js';

const newScope = (): Scope => ({ params: {}, options: new Map() });

function exprOpts(p: DhcpdParser): ExprParseOptions {
  return {
    options: optionsFromDefs(p.defs),
    warn: (t, message, hint) => p.note(t, 'warning', message, hint),
  };
}

/** Runs an expression parser on the file's cursor and checks it ended on a token boundary. */
function expr<T>(p: DhcpdParser, parse: (lx: ExprLexer, o: ExprParseOptions) => T): T {
  const lx = new ExprLexer(p.cur);
  const e = parse(lx, exprOpts(p));
  if (!lx.atBoundary) {
    const t = lx.peek();
    throw new ParseError(t, `unexpected ${describe(t)} after the expression`, 'remove it or add an operator');
  }
  return e;
}

/** `if` and `elsif` take a boolean expression; ISC reads a leading `(` as wrapping the whole of it. */
function condition(p: DhcpdParser): BoolExpr {
  return expr(p, (lx, o) => {
    const t = lx.peek();
    if (t.kind === 'word' && t.text === '(') {
      // parse_if_statement: `if (A) or B {` is an error in ISC ("left brace expected"), so `(` wraps it all.
      lx.next();
      const e = parseBoolean(lx, o);
      const close = lx.next();
      if (close.kind !== 'word' || close.text !== ')')
        throw new ParseError(close, 'right parenthesis expected.', 'close the parenthesis before `{`');
      const after = lx.peek();
      if (after.kind !== '{')
        throw new ParseError(
          after,
          'left brace expected.',
          'ISC reads `if (...)` as the whole condition: write `if (A) or (B) {` as `if ((A) or (B)) {`',
        );
      return e;
    }
    return parseBoolean(lx, o);
  });
}

/** `if EXPR { ... } [elsif EXPR { ... }]* [else { ... }]` in any scope ISC allows statements in. */
export function parseIf(p: DhcpdParser, t: Tok, ctx: Ctx): void {
  const cur = p.cur;
  const cond: Conditional = { branches: [], pos: cur.pos(t) };
  ifChain(cur, t, (at, conditional) => {
    const test = conditional ? compileBoolean(condition(p)) : undefined;
    cond.branches.push({ ...(test && { test }), scope: branch(p, ctx, at), pos: cur.pos(at) });
  });
  (ctx.scope.conditionals ??= []).push(cond);
  p.config.hasConditionals = true;
  // `log` / `set` / `unset` in the branches run where the `if` stands among the scope's statements (ISC runs a
  // scope's statements in order): they move into one `if` statement there, evaluated when the statements run.
  if (cond.branches.some((b) => b.scope.statements)) {
    (ctx.scope.statements ??= []).push({
      kind: 'if',
      branches: cond.branches.map((b) => ({
        ...(b.test ? { test: b.test } : {}),
        body: b.scope.statements ?? [],
      })),
      pos: cond.pos,
    });
    for (const b of cond.branches) delete b.scope.statements;
  }
}

function branch(p: DhcpdParser, ctx: Ctx, at: Tok): Scope {
  const scope = newScope();
  // Only parameters and options inside: no declarations, nothing that changes the pool or host itself.
  p.block({ kind: 'if', scope }, `${at.text} block at line ${at.line}`);
  void ctx;
  return scope;
}

/** `class "NAME" { ... }` */
export function parseClass(p: DhcpdParser, t: Tok, ctx: Ctx): void {
  const name = p.cur.name('class name');
  if (p.classes.has(name.text))
    throw new ParseError(name, `class "${name.text}" is declared twice`, 'declare each class once');
  const cls: ClientClass = {
    name: name.text,
    spawn: false,
    subclasses: new Map(),
    scope: newScope(),
    pos: p.cur.pos(t),
  };
  p.classes.set(cls.name, cls);
  (p.config.classes ??= []).push(cls);
  p.block({ kind: 'class', scope: cls.scope, cls }, `class "${name.text}"`);
  void ctx;
}

/** `subclass "NAME" DATA;` or `subclass "NAME" DATA { ... }`; DATA is a string or colon-separated hex. */
export function parseSubclass(p: DhcpdParser, t: Tok): void {
  const cur = p.cur;
  const name = cur.name('class name');
  const cls = p.classes.get(name.text);
  if (!cls)
    throw new ParseError(
      name,
      `no class named ${name.text}`,
      `declare \`class "${name.text}" { match ...; }\` above this subclass`,
    );
  const dataTok = cur.peek();
  const data = expr(p, (lx, o) => parseData(lx, o));
  if (data.op !== 'const')
    throw new ParseError(
      dataTok,
      `subclass "${name.text}": the value must be a string or hex like 1:8:0:2b:4c:39:ad`,
      'give the constant the class match expression is compared with',
    );
  if (!cls.match)
    p.note(
      name,
      'warning',
      `class "${name.text}" has no \`match\` expression, so no client will ever be in this subclass`,
      'add `match EXPR;` (or `spawn with EXPR;`) to the class',
    );
  const sub: SubClass = { parent: cls, data: data.bytes, scope: newScope(), pos: cur.pos(t) };
  const key = dataKey(data.bytes);
  if (cur.peek().kind === '{')
    p.block({ kind: 'class', scope: sub.scope, sub }, `subclass "${name.text}" ${dataTok.text}`);
  else cur.semi('subclass');
  // ISC keeps the first subclass of a value (the later one's statements never apply); say so.
  if (cls.subclasses.has(key))
    p.note(
      dataTok,
      'warning',
      `subclass "${name.text}" ${dataTok.text} is declared twice; the first declaration is used`,
      'merge the two subclass declarations',
    );
  else cls.subclasses.set(key, sub);
}

/** `match if EXPR;` and `match EXPR;`, only inside a class. */
export function parseMatch(p: DhcpdParser, t: Tok, ctx: Ctx): void {
  const cur = p.cur;
  const cls = classOf(t, ctx, 'match');
  // A class may have one `match if` (a gate) and one `match` or `spawn with` (the subclass key), in ISC's words.
  if (cur.isWord('if')) {
    if (cls.matchIf)
      throw new ParseError(t, "A class may only have one 'match if' clause.", 'combine the tests with `and`');
    cur.next();
    cls.matchIf = compileBoolean(expr(p, (lx, o) => parseBoolean(lx, o)));
  } else {
    if (cls.match) throw overrideError(t);
    cls.match = compileData(expr(p, (lx, o) => parseData(lx, o)));
  }
  cur.semi('match');
}

/** `spawn with EXPR;`: a subclass per distinct value (ISC sets the class's match expression and spawns). */
export function parseSpawn(p: DhcpdParser, t: Tok, ctx: Ctx): void {
  const cur = p.cur;
  const cls = classOf(t, ctx, 'spawn with');
  if (!cur.isWord('with'))
    throw new ParseError(cur.peek(), 'expected `spawn with`', 'write `spawn with EXPR;`');
  cur.next();
  if (cls.match) throw overrideError(t);
  cls.match = compileData(expr(p, (lx, o) => parseData(lx, o)));
  cls.spawn = true;
  cur.semi('spawn with');
}

/**
 * `option NAME = EXPR;` (dhcpd.conf(5) "option statements", dhcp-eval(5)): a data expression evaluated for each
 * answer; its bytes go on the wire as the option's value, as ISC's store_options sends the evaluated data. Reading
 * one makes answers resolve their scopes per packet, as an `if` does.
 */
export function parseOptionExpr(p: DhcpdParser, kw: Tok, ctx: Ctx): void {
  const cur = p.cur;
  const nameTok = cur.next();
  const name = nameTok.text.toLowerCase();
  const def = p.defs.get(name) ?? OPTION_DEFS_BY_NAME.get(name);
  if (!def)
    throw new ParseError(
      nameTok,
      `\`option ${nameTok.text}\`: unknown option name`,
      'use a name from dhcp-options(5), or define it first with `option NAME code N = TYPE;`',
    );
  if (name.includes('.'))
    throw new ParseError(
      nameTok,
      `\`option ${nameTok.text} = ...\`: hadhcp computes options of the DHCP space only, not sub-options`,
      `give the sub-option a constant value: \`option ${nameTok.text} VALUE;\``,
    );
  cur.next(); // =
  const compute = compileData(expr(p, (lx, o) => parseData(lx, o)));
  cur.semi(`option ${nameTok.text}`);
  ctx.scope.options.set(def.code, {
    code: def.code,
    name: def.name,
    data: new Uint8Array(0),
    compute,
    pos: cur.pos(kw),
  });
  p.config.hasConditionals = true;
}

/** `lease limit N;` in a class or subclass. */
export function parseLeaseLimit(p: DhcpdParser, t: Tok, ctx: Ctx): void {
  const cur = p.cur;
  if (!cur.isWord('limit'))
    throw new ParseError(cur.peek(), 'expected `lease limit`', 'write `lease limit 4;` inside a class');
  cur.next();
  const n = cur.int('lease limit', 0, 2 ** 31 - 1);
  cur.semi('lease limit');
  if (ctx.sub) ctx.sub.leaseLimit = n;
  else classOf(t, ctx, 'lease limit').leaseLimit = n;
}

function overrideError(t: Tok): ParseError {
  return new ParseError(
    t,
    "can't override existing submatch/spawn.",
    'a class has one `match EXPR;` or `spawn with EXPR;` (the value its subclasses are looked up by)',
  );
}

function classOf(t: Tok, ctx: Ctx, what: string): ClientClass {
  if (ctx.cls) return ctx.cls;
  throw new ParseError(
    t,
    `\`${what}\` is only allowed in a class declaration`,
    'move it into `class "NAME" { ... }`',
  );
}
