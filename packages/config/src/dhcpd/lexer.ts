/**
 * Tokenizer for ISC dhcpd.conf. ISC's own lexer (common/conflex.c) splits `10.0.0.1` and `08:00:27:d3:8f:2d`
 * into numbers and separators; we keep such runs as one word and let the parser split them, which gives
 * error columns that point at the whole value an operator typed.
 *
 * Words are runs of anything but white space, `{ } ; , = "` and `#`. Strings are double-quoted with ISC's
 * escapes (\t \r \n \b \" \\, octal \ooo, hex \xHH). `#` starts a comment to the end of the line.
 */
export type TokKind = 'word' | 'string' | '{' | '}' | ';' | ',' | '=' | 'eof';

export interface Tok {
  kind: TokKind;
  /** The word, the decoded string, or the punctuation itself. */
  text: string;
  line: number;
  col: number;
  /** Byte values of a string token (strings may hold octal/hex escapes that are not UTF-8). */
  bytes?: Uint8Array;
}

export interface LexError {
  line: number;
  col: number;
  message: string;
  hint: string;
}

const PUNCT = new Set(['{', '}', ';', ',', '=']);
const SIMPLE_ESCAPES: Record<string, number> = { t: 9, r: 13, n: 10, b: 8, '"': 34, '\\': 92 };

export function tokenize(src: string): { toks: Tok[]; errors: LexError[] } {
  const toks: Tok[] = [];
  const errors: LexError[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const col = () => i - lineStart + 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (PUNCT.has(c)) {
      toks.push({ kind: c as TokKind, text: c, line, col: col() });
      i++;
    } else if (c === '"') {
      const start = { line, col: col() };
      const bytes: number[] = [];
      i++;
      let closed = false;
      while (i < src.length) {
        const d = src[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\n') {
          line++;
          lineStart = i + 1;
        }
        if (d === '\\' && i + 1 < src.length) {
          const e = src[i + 1]!;
          const oct = /^[0-7]{1,3}/.exec(src.slice(i + 1, i + 4));
          const hex = /^x([0-9a-fA-F]{1,2})/.exec(src.slice(i + 1, i + 4));
          if (SIMPLE_ESCAPES[e] !== undefined) {
            bytes.push(SIMPLE_ESCAPES[e]);
            i += 2;
          } else if (oct) {
            bytes.push(parseInt(oct[0], 8) & 0xff);
            i += 1 + oct[0].length;
          } else if (hex) {
            bytes.push(parseInt(hex[1]!, 16));
            i += 1 + hex[0].length;
          } else {
            bytes.push(...new TextEncoder().encode(e)); // ISC keeps an unknown escaped character as itself
            i += 2;
          }
          continue;
        }
        const cp = src.codePointAt(i)!;
        const ch = String.fromCodePoint(cp);
        bytes.push(...new TextEncoder().encode(ch));
        i += ch.length;
      }
      if (!closed) {
        errors.push({
          ...start,
          message: 'unterminated string',
          hint: 'add the closing double quote (a string cannot run to the end of the file)',
        });
      }
      const b = Uint8Array.from(bytes);
      toks.push({ kind: 'string', text: new TextDecoder().decode(b), bytes: b, ...start });
    } else {
      const start = i;
      const startCol = col();
      while (i < src.length && !/[\s{};,="#]/.test(src[i]!)) i++;
      toks.push({ kind: 'word', text: src.slice(start, i), line, col: startCol });
    }
  }
  toks.push({ kind: 'eof', text: '', line, col: col() });
  return { toks, errors };
}
