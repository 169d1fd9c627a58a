/**
 * Parser for ISC dhcpd's expression language (dhcp-eval(5)), from the dhcpd.conf token cursor to the typed AST of
 * expr-types.ts. It follows ISC 4.4.3's common/parse.c (parse_expression, parse_non_binary) where that matters to
 * what a site's file means:
 *
 * - Binary operators group the way ISC's parse_expression does, which is not textbook precedence. ISC combines
 *   left to right, except that when the operator after an operand ranks higher than the one before it, the whole
 *   rest of the expression becomes the right operand. Ranks: `* / %` 1, `+` 2, `and or` 3, `= != ~= ~~` 4,
 *   `& | ^` 100 (op_val leaves them out, so they get its default; higher binds first). So `1 + 2 * 3` is 9,
 *   `2 * 3 + 1` is 8, `1 | 2 + 3` is 6, `a = b or c = d and e = f` is `(a = b) or ((c = d) and (e = f))` and
 *   `a = b and c = d or e = f` is `(a = b) and ((c = d) or (e = f))`: each checked against dhcpd 4.4.3
 *   (expr.test.ts).
 * - `not` takes one operand (`not a = b` is an error in ISC, "boolean expression expected").
 * - A bare number is a decimal integer where a number is expected and a hex octet where data is (`lcase(1)` is
 *   the byte 01); `00:07` is hex data. The right side of `=` is read in the kind of the left side.
 * - ISC reads `a - b` with spaces as an error and `10-3` as a variable name (always null at run time); we refuse
 *   both, as we refuse variables, user functions and the DNS forms (see README).
 *
 * Tokens come through ExprLexer (expr-lexer.ts), so errors point at the piece of a word an operator typed.
 */
import { OPTION_DEFS_BY_NAME } from '@hadhcp/dhcp';
import type { Diagnostic } from '../diagnostics.js';
import { Cursor, ParseError, describe } from './cursor.js';
import { ExprLexer } from './expr-lexer.js';
import { compileRegex, latin1 } from './expr-regex.js';
import { didYouMean } from './keywords.js';
import { tokenize, type Tok } from './lexer.js';
import type { OptionLookup } from './options.js';
import type { ArithOp, BoolExpr, DataExpr, Expr, ExprKind, NumExpr, OptionRef } from './expr-types.js';

type Ctx = 'boolean' | 'data' | 'numeric' | 'data-or-numeric';
type BinOp = 'and' | 'or' | 'eq' | 'ne' | 'regex' | 'iregex' | ArithOp;

/** ISC's op_val: the higher rank binds first (see the header). */
// prettier-ignore
const RANK: Record<BinOp, number> = {
  '*': 1, '/': 1, '%': 1, '+': 2, and: 3, or: 3, eq: 4, ne: 4, regex: 4, iregex: 4, '&': 100, '|': 100, '^': 100,
};

// prettier-ignore
const FUNCTIONS = [
  'substring', 'suffix', 'lcase', 'ucase', 'concat', 'binary-to-ascii', 'encode-int', 'extract-int',
  'pick-first-value', 'reverse', 'packet', 'gethostname',
];
// prettier-ignore
const WORDS = [
  'not', 'exists', 'known', 'static', 'option', 'config-option', 'hardware', 'leased-address', 'host-decl-name',
  'lease-time', 'null', ...FUNCTIONS,
];
const VARIABLE = /^[a-z_][a-z0-9_-]*$/i;
/** ISC forms hadhcp refuses, with why. */
const REFUSED: Record<string, string> = {
  encapsulate:
    'hadhcp builds a space only as an option: `vendor-option-space NAME;` (option 43) or `option X code N = encapsulate NAME;`',
  filename: 'hadhcp does not read the request `file` field in expressions yet',
  'server-name': 'hadhcp does not read the request `sname` field in expressions yet',
  defined: 'hadhcp reads variables only in `log`, `set`, `unset` and `on commit|release|expiry` blocks',
  'client-state': 'client-state exists only in dhclient',
  'ns-update': 'hadhcp does no DNS updates',
  'dns-update': 'hadhcp does no DNS updates',
  gethostbyname: 'hadhcp does not resolve names while evaluating',
  v6relay: 'hadhcp is DHCPv4 only',
  suboption: 'hadhcp does not evaluate sub-options yet',
};

/** Resolves `option [SPACE.]NAME`; the dhcpd parser passes one that also knows `option NAME code N = ...;`. */
export type OptionResolver = (space: string, name: string) => OptionRef | undefined;

/** RFC 3046 relay agent sub-options, as ISC names them in the `agent` space. */
// prettier-ignore
const AGENT: Record<string, number> = {
  'circuit-id': 1, 'remote-id': 2, 'agent-id': 3, 'DOCSIS-device-class': 4, 'link-selection': 5,
};

export const builtinOptions: OptionResolver = (space, name) => {
  if (space === 'dhcp') {
    const d = OPTION_DEFS_BY_NAME.get(name);
    return d ? { space, name: d.name, code: d.code } : undefined;
  }
  if (space === 'agent') {
    const code = AGENT[name];
    return code === undefined ? undefined : { space, name, code };
  }
  return undefined;
};

/** Option names for a dhcpd.conf being read: its `option NAME code N = TYPE;` definitions, then the built-ins. */
export function optionsFromDefs(defs: OptionLookup): OptionResolver {
  return (space, name) => {
    const d = space === 'dhcp' ? defs.get(name) : undefined;
    return d ? { space, name: d.name, code: d.code } : builtinOptions(space, name);
  };
}

export interface ExprParseOptions {
  options?: OptionResolver;
  /**
   * Variables: a bare name is a variable and `defined(NAME)` tests one (ISC reads them anywhere; hadhcp sets them
   * only in event bodies, so only there are they read). Elsewhere a bare name is refused as a likely typo.
   */
  variables?: boolean;
  /** Problems that do not stop the file (an invalid constant regular expression); errors are thrown. */
  warn?: (tok: Tok, message: string, hint: string) => void;
}

/** One expression, of any kind: for statements (`log`, `set`) that take whatever kind comes. */
export function parseExpr(lx: ExprLexer, opts: ExprParseOptions = {}): Expr {
  return new ExprParser(lx, opts).expression('data-or-numeric');
}

/** `if EXPR`, `match if EXPR`: ISC's parse_boolean_expression. */
export function parseBoolean(lx: ExprLexer, opts: ExprParseOptions = {}): BoolExpr {
  return new ExprParser(lx, opts).boolean();
}

/** `option X = EXPR`, `match EXPR`, `log(..., EXPR)`: ISC's parse_data_expression. */
export function parseData(lx: ExprLexer, opts: ExprParseOptions = {}): DataExpr {
  return new ExprParser(lx, opts).data();
}

export function parseNumeric(lx: ExprLexer, opts: ExprParseOptions = {}): NumExpr {
  return new ExprParser(lx, opts).numeric();
}

/**
 * One expression from text, the whole text (tests and tools; dhcpd.conf statements use the functions above on
 * the file's cursor). `want` checks the kind as ISC's parse_*_expression do; problems come back as diagnostics.
 */
export function parseExprSource(
  src: string,
  want: ExprKind | 'any',
  opts: ExprParseOptions = {},
  file = '<expression>',
): { expr?: Expr; diagnostics: Diagnostic[] } {
  const { toks, errors } = tokenize(src);
  const diagnostics: Diagnostic[] = errors.map((e) => ({ severity: 'error', file, ...e }));
  const warn = (t: Tok, message: string, hint: string) =>
    diagnostics.push({ severity: 'warning', file, line: t.line, col: t.col, message, hint });
  const lx = new ExprLexer(new Cursor(file, toks));
  const p = new ExprParser(lx, { ...opts, warn: opts.warn ?? warn });
  try {
    const expr: Expr =
      want === 'boolean'
        ? { kind: 'boolean', expr: p.boolean() }
        : want === 'data'
          ? { kind: 'data', expr: p.data() }
          : want === 'numeric'
            ? { kind: 'numeric', expr: p.numeric() }
            : p.expression('data-or-numeric');
    const end = lx.peek();
    if (end.kind !== 'eof')
      throw new ParseError(
        end,
        `unexpected ${describe(end)} after the expression`,
        'remove it or add an operator',
      );
    return diagnostics.length && diagnostics.some((d) => d.severity === 'error')
      ? { diagnostics }
      : { expr, diagnostics };
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    diagnostics.push({
      severity: 'error',
      file,
      line: e.tok.line,
      col: e.tok.col,
      message: e.message,
      hint: e.hint,
    });
    return { diagnostics };
  }
}

class ExprParser {
  constructor(
    private readonly lx: ExprLexer,
    private readonly opts: ExprParseOptions,
  ) {}

  boolean(): BoolExpr {
    const t = this.lx.peek();
    const e = this.expression('boolean');
    if (e.kind !== 'boolean') throw this.kindError(t, e.kind, 'boolean');
    return e.expr;
  }

  data(): DataExpr {
    const t = this.lx.peek();
    const e = this.expression('data');
    if (e.kind !== 'data') throw this.kindError(t, e.kind, 'data');
    return e.expr;
  }

  numeric(): NumExpr {
    const t = this.lx.peek();
    const e = this.expression('numeric');
    if (e.kind !== 'numeric') throw this.kindError(t, e.kind, 'numeric');
    return e.expr;
  }

  private kindError(t: Tok, got: string, want: 'boolean' | 'data' | 'numeric'): ParseError {
    const msg = {
      boolean: 'Expecting a boolean expression.',
      data: 'Expecting a data expression.',
      numeric: 'Expecting a numeric expression.',
    }[want];
    const hint = {
      boolean: `this is a ${got} expression; compare it (\`= "value"\`) or test it (\`exists\`) to get true or false`,
      data: `this is a ${got} expression; data is an option, a string, hex like 01:02 or a function such as substring`,
      numeric: `this is a ${got} expression; give a number, or extract-int(DATA, 8|16|32) to read one from data`,
    }[want];
    return new ParseError(t, msg, hint);
  }

  /** ISC's parse_expression: see the header for how operators group. */
  expression(ctx: Ctx, plhs?: Expr, pbinop?: BinOp): Expr {
    let lhs = plhs;
    let binop = pbinop;
    for (;;) {
      const rhsTok = this.lx.peek();
      if (lhs && binop && rhsTok.kind !== 'word' && rhsTok.kind !== 'string')
        throw new ParseError(
          rhsTok,
          'expecting right-hand side.',
          `\`${opText(binop)}\` needs an operand after it, found ${describe(rhsTok)}`,
        );
      let rhs = this.nonBinary(lhs && binop ? this.rhsContext(binop, lhs) : ctx);
      let next = this.peekOp();
      if (!lhs || !binop) {
        if (!next) return rhs;
        lhs = rhs;
        binop = next;
        this.takeOp();
        continue;
      }
      if (next && RANK[binop] < RANK[next]) {
        this.takeOp();
        rhs = this.expression(this.rhsContext(next, rhs), rhs, next);
        next = undefined;
      }
      const combined = this.combine(binop, lhs, rhs, rhsTok);
      if (!next) return combined;
      lhs = combined;
      binop = next;
      this.takeOp();
    }
  }

  private rhsContext(op: BinOp, lhs: Expr): Ctx {
    if (op === 'and' || op === 'or') return 'boolean';
    if (op === 'regex' || op === 'iregex') return 'data';
    if (op === 'eq' || op === 'ne') return lhs.kind === 'boolean' ? 'data-or-numeric' : lhs.kind;
    return 'numeric';
  }

  private combine(op: BinOp, lhs: Expr, rhs: Expr, rhsTok: Tok): Expr {
    const pos = this.lx.pos(rhsTok);
    const mixed = () =>
      new ParseError(
        rhsTok,
        'illegal expression relating different types',
        `\`${opText(op)}\` needs ${opNeeds(op)} on both sides; the left is ${lhs.kind}, the right ${rhs.kind}`,
      );
    if (op === 'eq' || op === 'ne') {
      if (lhs.kind !== rhs.kind) throw mixed(); // ISC checks this first: `"a" = "a" = "a"` says so
      if (lhs.kind === 'boolean')
        throw new ParseError(
          rhsTok,
          'expecting data/numeric expression',
          `\`${opText(op)}\` compares data or numbers; to combine true/false tests use \`and\` or \`or\``,
        );
      return {
        kind: 'boolean',
        expr: { op, left: lhs as never, right: rhs as never, pos },
      };
    }
    if (op === 'and' || op === 'or') {
      if (lhs.kind !== 'boolean' || rhs.kind !== 'boolean') throw mixed();
      return { kind: 'boolean', expr: { op, left: lhs.expr, right: rhs.expr, pos } };
    }
    if (op === 'regex' || op === 'iregex') {
      if (lhs.kind !== 'data' || rhs.kind !== 'data') throw mixed();
      if (rhs.expr.op === 'const') this.checkRegex(rhsTok, rhs.expr.bytes, op === 'iregex');
      return { kind: 'boolean', expr: { op, left: lhs.expr, right: rhs.expr, pos } };
    }
    if (lhs.kind !== 'numeric' || rhs.kind !== 'numeric') throw mixed();
    return { kind: 'numeric', expr: { op: 'arith', arith: op, left: lhs.expr, right: rhs.expr, pos } };
  }

  private checkRegex(t: Tok, bytes: Uint8Array, icase: boolean): void {
    if (compileRegex(bytes, icase) === null)
      this.opts.warn?.(
        t,
        `regular expression "${latin1(bytes)}" does not compile`,
        'ISC treats the match as false for every client; fix the pattern (POSIX extended syntax)',
      );
  }

  private peekOp(): BinOp | undefined {
    const t = this.lx.peek();
    if (t.kind === '=') return 'eq';
    if (t.kind !== 'word') return undefined;
    switch (t.text.toLowerCase()) {
      case 'and':
        return 'and';
      case 'or':
        return 'or';
      case '!':
        return 'ne';
      case '~':
        return 'regex';
      case '~~':
        return 'iregex';
      case '+':
      case '*':
      case '/':
      case '%':
      case '&':
      case '|':
      case '^':
        return t.text as ArithOp;
      default:
        return undefined;
    }
  }

  private takeOp(): void {
    const t = this.lx.next();
    if (t.text === '!' || t.text === '~') {
      const eq = this.lx.peek();
      if (eq.kind !== '=')
        throw new ParseError(eq, `expected \`=\` after \`${t.text}\``, `write \`${t.text}=\``);
      this.lx.next();
    }
  }

  /** ISC's parse_non_binary: one operand. */
  private nonBinary(ctx: Ctx): Expr {
    const t = this.lx.peek();
    const pos = this.lx.pos(t);
    if (t.kind === 'string') {
      this.lx.next();
      return { kind: 'data', expr: { op: 'const', bytes: t.bytes ?? new Uint8Array(0), pos } };
    }
    if (t.kind !== 'word')
      throw new ParseError(
        t,
        `expected an expression, found ${describe(t)}`,
        'see dhcp-eval(5) for the forms',
      );
    const w = t.text.toLowerCase();
    if (w === '(') {
      this.lx.next();
      const e = this.expression(ctx);
      this.expect(')', 'right parenthesis expected', 'close the parenthesis');
      return e;
    }
    // parse_non_binary: a NUMBER is an integer only where a number may come; elsewhere (data, and the first
    // operand of a boolean expression) it is hex data, so `if 1 = "a"` compares the octet 01 with "a".
    if (/^\d+$/.test(w) && (ctx === 'numeric' || ctx === 'data-or-numeric')) {
      this.lx.next();
      return { kind: 'numeric', expr: { op: 'int', value: Number(w), pos } };
    }
    if (/^[0-9a-f]+(:[0-9a-f]+)*$/.test(w)) {
      // ISC's parse_cshl: colon-separated hex octets.
      const big = w.split(':').find((h) => parseInt(h, 16) > 0xff);
      if (big !== undefined)
        throw new ParseError(
          t,
          `${big} exceeds max (255) for precision.`,
          ctx === 'data'
            ? 'a number where data is expected is a hex octet (00 to ff); quote text, or use encode-int(N, 8|16|32)'
            : 'hex data is octets 00 to ff separated by colons',
        );
      this.lx.next();
      return {
        kind: 'data',
        expr: { op: 'const', bytes: Uint8Array.from(w.split(':'), (h) => parseInt(h, 16)), pos },
      };
    }
    if (this.opts.variables && w === 'defined') {
      this.lx.next();
      this.open('defined');
      const v = this.lx.next();
      if (v.kind !== 'word' || !VARIABLE.test(v.text))
        throw new ParseError(v, 'expecting a variable name', 'write `defined(NAME)`');
      this.close('defined');
      return { kind: 'boolean', expr: { op: 'defined', name: v.text, pos } };
    }
    if (this.opts.variables && !WORDS.includes(w) && REFUSED[w] === undefined && VARIABLE.test(w)) {
      // ISC's parse_non_binary: a name that is no keyword is a variable reference.
      this.lx.next();
      const after = this.lx.peek();
      if (after.kind === 'word' && after.text === '(')
        throw new ParseError(
          t,
          `unknown function \`${t.text}\``,
          `the functions are ${FUNCTIONS.join(', ')}`,
        );
      return { kind: 'data', expr: { op: 'variable', name: t.text, pos } };
    }
    if (!WORDS.includes(w)) throw this.unknownWord(t, w);
    this.lx.next();
    const bool = (expr: BoolExpr): Expr => ({ kind: 'boolean', expr });
    const data = (expr: DataExpr): Expr => ({ kind: 'data', expr });
    const num = (expr: NumExpr): Expr => ({ kind: 'numeric', expr });
    switch (w) {
      case 'not': {
        const at = this.lx.peek();
        if (at.kind !== 'word' && at.kind !== 'string')
          throw new ParseError(
            at,
            'expression expected',
            `\`not\` needs a test after it, found ${describe(at)}`,
          );
        const arg = this.nonBinary('boolean');
        if (arg.kind !== 'boolean')
          throw new ParseError(
            at,
            'boolean expression expected',
            '`not` applies to the next operand only: write `not (A = B)`, not `not A = B`',
          );
        return bool({ op: 'not', arg: arg.expr, pos });
      }
      case 'exists':
        return bool({ op: 'exists', option: this.optionName(), pos });
      case 'known':
      case 'static':
        return bool({ op: w, pos });
      case 'option':
      case 'config-option':
        return data({ op: w, option: this.optionName(), pos });
      case 'hardware':
      case 'leased-address':
      case 'host-decl-name':
      case 'null':
        return data({ op: w, pos });
      case 'lease-time':
        return num({ op: 'lease-time', pos });
      case 'gethostname':
        this.open(w);
        this.close(w);
        return data({ op: 'gethostname', pos });
      case 'substring': {
        this.open(w);
        const d = this.data();
        this.comma();
        const offset = this.numeric();
        this.comma();
        const len = this.numeric();
        this.close(w);
        return data({ op: 'substring', data: d, offset, len, pos });
      }
      case 'suffix': {
        this.open(w);
        const d = this.data();
        this.comma();
        const len = this.numeric();
        this.close(w);
        return data({ op: 'suffix', data: d, len, pos });
      }
      case 'lcase':
      case 'ucase': {
        this.open(w);
        const arg = this.data();
        this.close(w);
        return data({ op: w, arg, pos });
      }
      case 'packet': {
        this.open(w);
        const offset = this.numeric();
        this.comma();
        const len = this.numeric();
        this.close(w);
        return data({ op: 'packet', offset, len, pos });
      }
      case 'concat': {
        // concat(a, b, c) is concat(a, concat(b, c)) in ISC; at least two arguments.
        this.open(w);
        const args = [this.data()];
        do {
          this.comma();
          args.push(this.data());
        } while (this.lx.peek().kind === ',');
        this.close(w);
        let e = args.pop()!;
        while (args.length > 0) e = { op: 'concat', left: args.pop()!, right: e, pos };
        return data(e);
      }
      case 'pick-first-value': {
        this.open(w);
        const args = [this.data()];
        while (this.lx.peek().kind === ',') {
          this.lx.next();
          args.push(this.data());
        }
        this.close(w);
        return data({ op: 'pick-first-value', args, pos });
      }
      case 'binary-to-ascii': {
        this.open(w);
        const base = this.numeric();
        this.comma();
        const width = this.numeric();
        this.comma();
        const sep = this.data();
        this.comma();
        const d = this.data();
        this.close(w);
        return data({ op: 'binary-to-ascii', base, width, sep, data: d, pos });
      }
      case 'encode-int': {
        this.open(w);
        const value = this.numeric();
        this.comma();
        const width = this.width();
        this.close(w);
        return data({ op: 'encode-int', value, width, pos });
      }
      case 'extract-int': {
        this.open(w);
        const d = this.data();
        this.comma();
        const width = this.width();
        this.close(w);
        return num({ op: 'extract-int', data: d, width, pos });
      }
      case 'reverse': {
        this.open(w);
        const width = this.numeric();
        this.comma();
        const d = this.data();
        this.close(w);
        return data({ op: 'reverse', width, data: d, pos });
      }
    }
    throw new ParseError(t, `\`${t.text}\` is not an expression`, 'see dhcp-eval(5) for the forms');
  }

  private unknownWord(t: Tok, w: string): ParseError {
    if (REFUSED[w] !== undefined)
      return new ParseError(t, `\`${w}\` is not supported in expressions`, REFUSED[w]!);
    if (w === '-')
      return new ParseError(
        t,
        'subtraction is not supported',
        'ISC dhcpd 4.4.3 cannot parse `a - b` either ("comma expected"); compute the value by hand',
      );
    if (/^\d+-\d+$/.test(w))
      return new ParseError(
        t,
        'subtraction is not supported',
        `ISC reads \`${t.text}\` as a variable name, which is always null; compute the value by hand`,
      );
    this.lx.next();
    const isCall = this.lx.peek().kind === 'word' && this.lx.peek().text === '(';
    const guess = didYouMean(w, isCall ? FUNCTIONS : WORDS);
    if (isCall)
      return new ParseError(
        t,
        `unknown function \`${t.text}\``,
        guess ? `did you mean \`${guess}\`?` : `the functions are ${FUNCTIONS.join(', ')} (dhcp-eval(5))`,
      );
    return new ParseError(
      t,
      `\`${t.text}\` is not an expression`,
      guess
        ? `did you mean \`${guess}\`?`
        : `quote text: "${t.text}" (ISC reads a bare name as a variable; unset, it is null and never matches)`,
    );
  }

  private optionName(): OptionRef {
    const t = this.lx.next();
    if (t.kind !== 'word')
      throw new ParseError(
        t,
        `expected an option name, found ${describe(t)}`,
        'write e.g. `option user-class`',
      );
    const dot = t.text.indexOf('.');
    const space = dot < 0 ? 'dhcp' : t.text.slice(0, dot);
    const name = dot < 0 ? t.text.toLowerCase() : t.text.slice(dot + 1);
    const ref = (this.opts.options ?? builtinOptions)(space, name) ?? builtinOptions(space, name);
    if (ref) return ref;
    const guess = space === 'dhcp' ? didYouMean(name, OPTION_DEFS_BY_NAME.keys()) : undefined;
    throw new ParseError(
      t,
      `no option named ${name} in space ${space}`,
      guess ? `did you mean \`${guess}\`?` : 'define it first with `option NAME code N = TYPE;`',
    );
  }

  /** The literal width of encode-int/extract-int (ISC reads a number token, not an expression). */
  private width(): 8 | 16 | 32 {
    const t = this.lx.next();
    if (t.text === '8' || t.text === '16' || t.text === '32') return Number(t.text) as 8 | 16 | 32;
    throw new ParseError(t, `unsupported integer size ${t.text}`, 'the width is 8, 16 or 32 (bits)');
  }

  private expect(text: string, message: string, hint: string): void {
    const t = this.lx.peek();
    if (t.kind === 'word' && t.text === text) {
      this.lx.next();
      return;
    }
    throw new ParseError(t, message, hint);
  }

  private open(fn: string): void {
    this.expect('(', 'left parenthesis expected.', `write \`${fn}(...)\``);
  }

  private close(fn: string): void {
    this.expect(
      ')',
      'right parenthesis expected.',
      `\`${fn}\` takes no more arguments here; close it with \`)\``,
    );
  }

  private comma(): void {
    const t = this.lx.peek();
    if (t.kind === ',') {
      this.lx.next();
      return;
    }
    throw new ParseError(t, 'comma expected.', 'this function takes more arguments, separated by commas');
  }
}

function opText(op: BinOp): string {
  return { eq: '=', ne: '!=', regex: '~=', iregex: '~~' }[op as string] ?? op;
}

function opNeeds(op: BinOp): string {
  if (op === 'and' || op === 'or') return 'true/false tests';
  if (op === 'regex' || op === 'iregex') return 'data';
  if (op === 'eq' || op === 'ne') return 'the same kind (data or numbers)';
  return 'numbers';
}
