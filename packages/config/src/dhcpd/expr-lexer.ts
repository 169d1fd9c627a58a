/**
 * Tokens of an ISC expression. The dhcpd.conf lexer keeps `substring(option` as one word (ISC's own lexer splits
 * at every punctuation mark, but ours keeps `10.0.0.1` and `00:07` whole for the other statements); ExprLexer
 * splits words at `( ) ! ~ + * / % & | ^`, keeping `~~` whole, and gives each piece its exact column.
 */
import type { SourcePos } from '@hadhcp/dhcp';
import type { Cursor } from './cursor.js';
import type { Tok } from './lexer.js';

const SPLIT = '()!~+*/%&|^';

/** The cursor's tokens with words split at operator characters. */
export class ExprLexer {
  private readonly buf: Tok[] = [];
  constructor(readonly cur: Cursor) {}

  peek(): Tok {
    if (this.buf.length > 0) return this.buf[0]!;
    const t = this.cur.peek();
    if (t.kind !== 'word' || !needsSplit(t.text)) return t;
    this.cur.next();
    this.buf.push(...splitWord(t));
    return this.buf[0]!;
  }

  next(): Tok {
    this.peek(); // splits the next word if it needs splitting
    if (this.buf.length > 0) return this.buf.shift()!;
    return this.cur.next();
  }

  /** No piece of a split word is pending: the cursor stands where the expression ended. */
  get atBoundary(): boolean {
    return this.buf.length === 0;
  }

  pos(t: Tok): SourcePos {
    return this.cur.pos(t);
  }
}

function needsSplit(w: string): boolean {
  for (const c of w) if (SPLIT.includes(c)) return w.length > 1;
  return false;
}

function splitWord(t: Tok): Tok[] {
  const out: Tok[] = [];
  let start = 0;
  const push = (a: number, b: number) => {
    if (b > a) out.push({ kind: 'word', text: t.text.slice(a, b), line: t.line, col: t.col + a });
  };
  for (let i = 0; i < t.text.length; i++) {
    const c = t.text[i]!;
    if (!SPLIT.includes(c)) continue;
    push(start, i);
    const j = c === '~' && t.text[i + 1] === '~' ? i + 2 : i + 1; // `~~` is one operator
    push(i, j);
    start = j;
    i = j - 1;
  }
  push(start, t.text.length);
  return out;
}
