/**
 * Compiles the expression AST (expr-types.ts) to closures once, at load; the DHCP core calls them per request
 * with an EvalContext. Semantics are ISC dhcpd 4.4.3's common/tree.c, each checked against the running server
 * where dhcp-eval(5) is vague (expr.test.ts says which):
 *
 * - null ("no value") spreads: a function of a null operand is null (concat, substring, suffix, lcase, ucase,
 *   binary-to-ascii, reverse, encode-int, extract-int, arithmetic), except pick-first-value (the first non-null).
 * - `=` is true when both sides are null, false when one is; `!=` the opposite. `~=`/`~~` are null when a side is.
 * - `and` is null unless its left side is true (then it is its right side): `false and x` is null, not false.
 *   `or` is true when a side is true, null when both are null, false otherwise. `not null` is null.
 *   `if` and `match if` treat null as false.
 * - substring past the end is empty (not null); suffix longer than the data is the data; packet clamps.
 * - binary-to-ascii: width 8, 16 or 32 and data a multiple of it, else null; digits in lower case, no padding.
 * - encode-int keeps the low bits; extract-int needs 1, 2 or 4 bytes (more are ignored, fewer give null).
 * - `/` and `%` by zero are null. Numbers are unsigned (the language has no subtraction, see expr-parse.ts).
 *
 * Data results are views of buffers owned by the compiled expression: valid until it is evaluated again; copy
 * to keep. Apart from those views (and the string a regular expression needs), evaluation does not allocate.
 */
import type { BoolExpr, DataExpr, DataOrNum, EvalContext, NumExpr } from './expr-types.js';
import { compileRegex, latin1 } from './expr-regex.js';

export type BoolFn = (c: EvalContext) => boolean | null;
export type DataFn = (c: EvalContext) => Uint8Array | null;
export type NumFn = (c: EvalContext) => number | null;

const EMPTY = new Uint8Array(0);
const DIGITS = Uint8Array.from('0123456789abcdef', (ch) => ch.charCodeAt(0));

/** A growable buffer owned by one node of a compiled expression. */
class Scratch {
  private buf = new Uint8Array(64);
  take(n: number): Uint8Array {
    if (this.buf.length < n) this.buf = new Uint8Array(Math.max(n, this.buf.length * 2));
    return this.buf;
  }
}

export function compileBoolean(e: BoolExpr): BoolFn {
  switch (e.op) {
    case 'eq':
    case 'ne': {
      const eq = e.op === 'eq';
      if (e.left.kind === 'numeric' && e.right.kind === 'numeric') {
        const l = compileNumeric(e.left.expr);
        const r = compileNumeric(e.right.expr);
        return (c) => (l(c) === r(c)) === eq; // null = null is true, null = n false
      }
      const l = dataOf(e.left);
      const r = dataOf(e.right);
      return (c) => {
        const a = l(c);
        const b = r(c);
        if (a === null || b === null) return (a === b) === eq;
        return bytesEqual(a, b) === eq;
      };
    }
    case 'regex':
    case 'iregex': {
      const icase = e.op === 'iregex';
      const l = compileData(e.left);
      if (e.right.op === 'const') {
        const re = compileRegex(e.right.bytes, icase);
        return (c) => {
          const a = l(c);
          return a === null ? null : re !== null && re.test(cString(a));
        };
      }
      const r = compileData(e.right);
      let lastSrc: string | undefined;
      let lastRe: RegExp | null = null;
      return (c) => {
        const a = l(c);
        const b = r(c);
        if (a === null || b === null) return null;
        const src = latin1(b);
        if (src !== lastSrc) {
          lastSrc = src;
          lastRe = compileRegex(b, icase);
        }
        return lastRe !== null && lastRe.test(cString(a));
      };
    }
    case 'and': {
      const l = compileBoolean(e.left);
      const r = compileBoolean(e.right);
      // tree.c: the right side runs only when the left is true, and the result is null unless both ran.
      return (c) => (l(c) === true ? r(c) : null);
    }
    case 'or': {
      const l = compileBoolean(e.left);
      const r = compileBoolean(e.right);
      return (c) => {
        const a = l(c);
        if (a === true) return true;
        const b = r(c);
        return a === null && b === null ? null : b === true;
      };
    }
    case 'not': {
      const a = compileBoolean(e.arg);
      return (c) => {
        const v = a(c);
        return v === null ? null : !v;
      };
    }
    case 'exists': {
      const { space, code } = e.option;
      return (c) => c.option(space, code) !== null;
    }
    case 'defined': {
      const name = e.name;
      return (c) => (c.variable ? c.variable(name) !== null : false);
    }
    case 'known':
      return (c) => c.known;
    case 'static':
      return (c) => c.isStatic;
  }
}

function dataOf(x: DataOrNum): DataFn {
  if (x.kind === 'data') return compileData(x.expr);
  throw new Error('internal: numeric operand where data was checked');
}

export function compileData(e: DataExpr): DataFn {
  switch (e.op) {
    case 'const': {
      const b = e.bytes;
      return () => b;
    }
    case 'null':
      return () => null;
    case 'variable': {
      const name = e.name;
      return (c) => (c.variable ? c.variable(name) : null);
    }
    case 'option': {
      const { space, code } = e.option;
      return (c) => c.option(space, code);
    }
    case 'config-option': {
      const { space, code } = e.option;
      return (c) => c.configOption(space, code);
    }
    case 'leased-address':
      return (c) => c.leasedAddress;
    case 'host-decl-name':
      return (c) => c.hostDeclName;
    case 'gethostname':
      return (c) => c.hostname;
    case 'hardware': {
      const s = new Scratch();
      return (c) => {
        const raw = c.raw;
        if (raw === null || raw.length < 44) return null;
        const hlen = raw[2]!;
        if (hlen > 16) return null; // tree.c: "invalid hlen"
        const out = s.take(hlen + 1);
        out[0] = raw[1]!; // htype
        for (let i = 0; i < hlen; i++) out[i + 1] = raw[28 + i]!; // chaddr
        return out.subarray(0, hlen + 1);
      };
    }
    case 'packet': {
      const off = compileNumeric(e.offset);
      const len = compileNumeric(e.len);
      return (c) => {
        const raw = c.raw;
        const o = off(c);
        const n = len(c);
        if (raw === null || o === null || n === null || o >= raw.length) return null;
        return raw.subarray(o, Math.min(raw.length, o + n));
      };
    }
    case 'substring': {
      const d = compileData(e.data);
      const off = compileNumeric(e.offset);
      const len = compileNumeric(e.len);
      return (c) => {
        const a = d(c);
        const o = off(c);
        const n = len(c);
        if (a === null || o === null || n === null) return null;
        return a.length > o ? a.subarray(o, o + Math.min(n, a.length - o)) : EMPTY;
      };
    }
    case 'suffix': {
      const d = compileData(e.data);
      const len = compileNumeric(e.len);
      return (c) => {
        const a = d(c);
        const n = len(c);
        if (a === null || n === null) return null;
        return a.length > n ? a.subarray(a.length - n) : a;
      };
    }
    case 'lcase':
    case 'ucase': {
      const d = compileData(e.arg);
      const [lo, hi, delta] = e.op === 'lcase' ? [65, 90, 32] : [97, 122, -32];
      const s = new Scratch();
      return (c) => {
        const a = d(c);
        if (a === null) return null;
        const out = s.take(a.length);
        for (let i = 0; i < a.length; i++) {
          const b = a[i]!;
          out[i] = b >= lo && b <= hi ? b + delta : b; // C locale tolower/toupper: ASCII only
        }
        return out.subarray(0, a.length);
      };
    }
    case 'concat': {
      const l = compileData(e.left);
      const r = compileData(e.right);
      const s = new Scratch();
      return (c) => {
        const a = l(c);
        const b = r(c);
        if (a === null || b === null) return null;
        const out = s.take(a.length + b.length);
        out.set(a, 0);
        out.set(b, a.length);
        return out.subarray(0, a.length + b.length);
      };
    }
    case 'pick-first-value': {
      const fs = e.args.map(compileData);
      return (c) => {
        for (let i = 0; i < fs.length; i++) {
          const v = fs[i]!(c);
          if (v !== null) return v;
        }
        return null;
      };
    }
    case 'encode-int': {
      const v = compileNumeric(e.value);
      const bytes = e.width / 8;
      const s = new Scratch();
      return (c) => {
        const n = v(c);
        if (n === null) return null;
        const out = s.take(bytes);
        let x = n % 2 ** 32; // the low 32 bits; putUShort/putULong keep fewer
        for (let i = bytes - 1; i >= 0; i--) {
          out[i] = x % 256;
          x = Math.floor(x / 256);
        }
        return out.subarray(0, bytes);
      };
    }
    case 'binary-to-ascii': {
      const base = compileNumeric(e.base);
      const width = compileNumeric(e.width);
      const sep = compileData(e.sep);
      const d = compileData(e.data);
      const s = new Scratch();
      return (c) => {
        const b = base(c);
        const w = width(c);
        const p = sep(c);
        const a = d(c);
        if (b === null || w === null || p === null || a === null) return null;
        if (w !== 8 && w !== 16 && w !== 32) return null;
        if (b < 2 || b > 16) return null; // ISC indexes past its digit table; we refuse
        const size = w / 8;
        if (a.length % size !== 0) return null;
        // Worst case per number: 32 binary digits.
        const out = s.take((a.length / size) * (32 + p.length));
        let k = 0;
        for (let i = 0; i < a.length; i += size) {
          let x = 0;
          for (let j = 0; j < size; j++) x = x * 256 + a[i + j]!;
          const start = k;
          do {
            out[k++] = DIGITS[x % b]!;
            x = Math.floor(x / b);
          } while (x > 0);
          for (let x0 = start, x1 = k - 1; x0 < x1; x0++, x1--) {
            const t = out[x0]!;
            out[x0] = out[x1]!;
            out[x1] = t;
          }
          if (i + size !== a.length) for (let j = 0; j < p.length; j++) out[k++] = p[j]!;
        }
        return out.subarray(0, k);
      };
    }
    case 'reverse': {
      const width = compileNumeric(e.width);
      const d = compileData(e.data);
      const s = new Scratch();
      return (c) => {
        const w = width(c);
        const a = d(c);
        if (w === null || a === null || w === 0 || a.length % w !== 0) return null; // ISC divides by 0 on width 0
        const out = s.take(a.length);
        for (let i = 0; i < a.length; i += w) out.set(a.subarray(a.length - i - w, a.length - i), i);
        return out.subarray(0, a.length);
      };
    }
  }
}

export function compileNumeric(e: NumExpr): NumFn {
  switch (e.op) {
    case 'int': {
      const v = e.value;
      return () => v;
    }
    case 'lease-time':
      return (c) => c.leaseTime;
    case 'extract-int': {
      const d = compileData(e.data);
      const size = e.width / 8;
      return (c) => {
        const a = d(c);
        // ISC reads data[0] of empty data for width 8 (and dhcpd 4.4.3 crashed on `extract-int("", 8)`).
        if (a === null || a.length < size) return null;
        let x = 0;
        for (let i = 0; i < size; i++) x = x * 256 + a[i]!;
        return x;
      };
    }
    case 'arith': {
      const l = compileNumeric(e.left);
      const r = compileNumeric(e.right);
      const op = e.arith;
      return (c) => {
        const a = l(c);
        const b = r(c);
        if (a === null || b === null) return null;
        switch (op) {
          case '+':
            return a + b;
          case '*':
            return a * b;
          case '/':
            return b === 0 ? null : Math.floor(a / b);
          case '%':
            return b === 0 ? null : a % b;
          case '&':
          case '|':
          case '^':
            return bitwise(op, a, b);
        }
      };
    }
  }
}

function bitwise(op: '&' | '|' | '^', a: number, b: number): number {
  if (a <= 0xffffffff && b <= 0xffffffff) {
    const v = op === '&' ? a & b : op === '|' ? a | b : a ^ b;
    return v >>> 0;
  }
  const x = BigInt(a);
  const y = BigInt(b);
  return Number(op === '&' ? x & y : op === '|' ? x | y : x ^ y);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The data as regexec sees it: a C string, up to the first NUL. */
function cString(a: Uint8Array): string {
  const nul = a.indexOf(0);
  return latin1(nul < 0 ? a : a.subarray(0, nul));
}

/** What `if` and `match if` do with a result: null is false. */
export function truthy(v: boolean | null): boolean {
  return v === true;
}
