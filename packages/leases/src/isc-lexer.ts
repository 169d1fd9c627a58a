/**
 * Tokens of ISC's dhcpd.leases syntax (the dhcpd.conf lexer, common/conflex.c, reduced to what the lease
 * file uses): words, quoted strings with C escapes, and the punctuation { } ; , =. Words are runs of anything
 * else, so dates (2023/05/10), times (12:00:00) and colon-hex (00:11:22) arrive as one word each.
 */
export type Token =
  | { kind: 'word'; text: string; line: number; col: number }
  | { kind: 'string'; bytes: Uint8Array; line: number; col: number }
  | { kind: 'punct'; text: '{' | '}' | ';' | ',' | '='; line: number; col: number }
  | { kind: 'eof'; line: number; col: number };

const PUNCT = new Set(['{', '}', ';', ',', '=']);

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, b: 8, f: 12, v: 11, a: 7 };

export class Lexer {
  private pos = 0;
  private line = 1;
  private col = 1;
  private peeked: Token | undefined;

  constructor(
    private readonly text: string,
    private readonly onError: (line: number, col: number, message: string) => void,
  ) {}

  peek(): Token {
    this.peeked ??= this.read();
    return this.peeked;
  }

  next(): Token {
    const t = this.peek();
    this.peeked = undefined;
    return t;
  }

  private advance(): string {
    const c = this.text[this.pos++]!;
    if (c === '\n') {
      this.line++;
      this.col = 1;
    } else {
      this.col++;
    }
    return c;
  }

  private read(): Token {
    for (;;) {
      if (this.pos >= this.text.length) return { kind: 'eof', line: this.line, col: this.col };
      const c = this.text[this.pos]!;
      if (isSpace(c)) this.advance();
      else if (c === '#') while (this.pos < this.text.length && this.text[this.pos] !== '\n') this.advance();
      else break;
    }
    const line = this.line;
    const col = this.col;
    const c = this.advance();
    if (PUNCT.has(c)) return { kind: 'punct', text: c as '{', line, col };
    if (c === '"') return { kind: 'string', bytes: this.readString(line, col), line, col };
    let end = this.pos;
    while (end < this.text.length) {
      const d = this.text[end]!;
      if (isSpace(d) || PUNCT.has(d) || d === '"' || d === '#') break;
      end++;
    }
    const text = c + this.text.slice(this.pos, end);
    while (this.pos < end) this.advance();
    return { kind: 'word', text, line, col };
  }

  /** A quoted string's bytes: ISC writes non-printable bytes as \ooo octal (db.c print_hex/quotify). */
  private readString(line: number, col: number): Uint8Array {
    const out: number[] = [];
    for (;;) {
      if (this.pos >= this.text.length) {
        this.onError(line, col, 'unterminated string');
        break;
      }
      const c = this.advance();
      if (c === '"') break;
      if (c !== '\\') {
        for (const b of Buffer.from(c, 'utf8')) out.push(b);
        continue;
      }
      const e = this.pos < this.text.length ? this.advance() : '\\';
      if (e >= '0' && e <= '7') {
        let v = Number(e);
        for (let i = 0; i < 2 && /[0-7]/.test(this.text[this.pos] ?? ''); i++)
          v = v * 8 + Number(this.advance());
        out.push(v & 255);
      } else if (e === 'x' && /[0-9a-fA-F]/.test(this.text[this.pos] ?? '')) {
        let h = this.advance();
        if (/[0-9a-fA-F]/.test(this.text[this.pos] ?? '')) h += this.advance();
        out.push(parseInt(h, 16));
      } else {
        out.push(SIMPLE_ESCAPES[e] ?? e.charCodeAt(0) & 255);
      }
    }
    return Uint8Array.from(out);
  }
}
