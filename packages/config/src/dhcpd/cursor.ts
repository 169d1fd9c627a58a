import { parseIp4, type Ip4 } from '@hadhcp/common';
import type { SourcePos } from '@hadhcp/dhcp';
import type { Tok, TokKind } from './lexer.js';

/**
 * A statement that cannot be understood. Thrown inside one statement's parser and caught by the block loop,
 * which records it and skips to the next `;` or `}` so every error in a file is reported in one pass.
 */
export class ParseError extends Error {
  constructor(
    readonly tok: Tok,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** Reads one file's tokens; every helper names what it expected so the error says so. */
export class Cursor {
  private i = 0;
  /** Kind of the last token consumed: a statement that failed after its `;` needs no resynchronizing. */
  private prevKind: TokKind | undefined;
  constructor(
    readonly file: string,
    private readonly toks: readonly Tok[],
  ) {}

  get index(): number {
    return this.i;
  }

  peek(ahead = 0): Tok {
    return this.toks[Math.min(this.i + ahead, this.toks.length - 1)]!;
  }

  next(): Tok {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    this.prevKind = t.kind;
    return t;
  }

  pos(t: Tok): SourcePos {
    return { file: this.file, line: t.line, col: t.col };
  }

  isWord(text: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === 'word' && t.text.toLowerCase() === text;
  }

  accept(kind: TokKind): Tok | undefined {
    return this.peek().kind === kind ? this.next() : undefined;
  }

  expect(kind: TokKind, what: string, hint: string): Tok {
    const t = this.peek();
    if (t.kind !== kind) throw new ParseError(t, `expected ${what}, found ${describe(t)}`, hint);
    return this.next();
  }

  semi(statement: string): void {
    this.expect(';', '`;`', `end the \`${statement}\` statement with a semicolon`);
  }

  word(what: string, hint: string): Tok {
    return this.expect('word', what, hint);
  }

  /** A name that ISC accepts bare or quoted (shared-network, host, key names). */
  name(what: string): Tok {
    const t = this.peek();
    if (t.kind === 'word' || t.kind === 'string') return this.next();
    throw new ParseError(t, `expected ${what}, found ${describe(t)}`, `give the ${what}, e.g. "lan"`);
  }

  /** A decimal integer in [min, max]. */
  int(what: string, min: number, max: number): number {
    const t = this.word(what, `give ${what} as a decimal number`);
    return checkInt(t, what, min, max);
  }

  ip(what: string): Ip4 {
    const t = this.word(what, `give ${what} as a dotted quad, e.g. 192.0.2.1`);
    const ip = parseIp4(t.text);
    if (ip === undefined)
      throw new ParseError(
        t,
        `${what}: "${t.text}" is not an IPv4 address`,
        'write four numbers 0-255 separated by dots',
      );
    return ip;
  }

  /**
   * ISC accepts `true|false|on|off` wherever it wants a boolean (common/parse.c parse_boolean) and nothing
   * else: `yes` is an error in dhcpd -t too.
   */
  bool(what: string): boolean {
    const t = this.word('true or false', `${what} takes true, false, on or off`);
    const v = t.text.toLowerCase();
    if (v === 'true' || v === 'on') return true;
    if (v === 'false' || v === 'off') return false;
    throw new ParseError(
      t,
      `${what}: expected true, false, on or off, found "${t.text}"`,
      `write \`${what} true;\` or \`${what} false;\``,
    );
  }

  /** Skips what is left of a broken statement: up to and including `;`, or a whole `{ ... }` block. */
  recover(): void {
    if (this.prevKind === ';') return;
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') return;
      if (t.kind === '}' && depth === 0) return; // closes the enclosing block: leave it to its owner
      this.next();
      if (t.kind === '{') depth++;
      else if (t.kind === '}' && --depth === 0) return;
      else if (t.kind === ';' && depth === 0) return;
    }
  }
}

export function checkInt(t: Tok, what: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(t.text))
    throw new ParseError(t, `${what}: "${t.text}" is not a number`, `give ${what} as a decimal number`);
  const n = Number(t.text);
  if (n < min || n > max)
    throw new ParseError(t, `${what}: ${n} is out of range`, `use a value from ${min} to ${max}`);
  return n;
}

export function describe(t: Tok): string {
  if (t.kind === 'eof') return 'end of file';
  if (t.kind === 'string') return `string "${t.text}"`;
  if (t.kind === 'word') return `"${t.text}"`;
  return `\`${t.kind}\``;
}

/** Where a reader reports what is not an error. */
export interface Notes {
  cur: Cursor;
  note(tok: Tok, severity: 'warning' | 'note', message: string, hint?: string): void;
}

/**
 * An IPv4 address, or a host name kept as written (with a warning): ISC accepts a name where it wants an address
 * and resolves it through DNS whenever it evaluates the statement; hadhcp does not resolve while reading.
 * `example` ends the hint when the word is missing: `give \`what\` <example>`.
 */
export function ipOrHost(env: Notes, what: string, example = 'an address like 192.0.2.1'): Ip4 | string {
  const t = env.cur.word('an IPv4 address or host name', `give \`${what}\` ${example}`);
  const ip = parseIp4(t.text);
  if (ip !== undefined) return ip;
  if (!isHostName(t.text))
    throw new ParseError(
      t,
      `\`${what}\`: "${t.text}" is neither an IPv4 address nor a host name`,
      'write a dotted quad like 192.0.2.1',
    );
  env.note(
    t,
    'warning',
    `\`${what}\`: "${t.text}" is a host name; ISC dhcpd resolves it through DNS, hadhcp resolves it once at startup`,
    'write the address itself so the answer does not depend on DNS',
  );
  return t.text;
}

/** A host name as ISC accepts one where it wants an address (it resolves it through DNS at startup). */
function isHostName(text: string): boolean {
  return (
    /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/.test(text) &&
    !/^[\d.]+$/.test(text)
  );
}

/**
 * An `if` chain after its `if` keyword `t`, as ISC reads it: `EXPR { ... }`, then any `elsif EXPR { ... }` or
 * `else if EXPR { ... }`, then at most one `else { ... }`. `arm(at, conditional)` reads one arm: its condition and
 * block (conditional), or the final else block; `at` is the keyword that opened the arm (`else` for `else if`).
 */
export function ifChain(cur: Cursor, t: Tok, arm: (at: Tok, conditional: boolean) => void): void {
  let at = t;
  for (;;) {
    arm(at, true);
    if (cur.isWord('elsif')) {
      at = cur.next();
      continue;
    }
    if (!cur.isWord('else')) return;
    at = cur.next();
    if (cur.isWord('if')) {
      cur.next();
      continue;
    }
    arm(at, false);
    return;
  }
}
