/** Regular expressions of `~=` and `~~`, and the byte-to-string step they need. */

/** Bytes as a string of the same code units (ISO-8859-1), for regular expressions and messages. */
export function latin1(b: Uint8Array): string {
  if (b.length <= 4096) return String.fromCharCode.apply(null, b as unknown as number[]);
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += latin1(b.subarray(i, i + 4096));
  return s;
}

// prettier-ignore
const POSIX_CLASSES: Record<string, string> = {
  alpha: 'A-Za-z', digit: '0-9', alnum: 'A-Za-z0-9', upper: 'A-Z', lower: 'a-z', space: ' \\t\\n\\r\\f\\v',
  xdigit: '0-9A-Fa-f', punct: '!-\\/:-@\\[-`{-~', blank: ' \\t', cntrl: '\\x00-\\x1f\\x7f', print: ' -~', graph: '!-~',
};

/**
 * A POSIX extended regular expression (regcomp(3) with REG_EXTENDED, REG_ICASE for `~~`) as a JS RegExp, or null
 * when it does not compile (ISC then yields false). Bracket classes `[[:digit:]]` are translated; the rest of ERE
 * is a subset of JS syntax. Matching runs on the data up to its first NUL byte, as ISC passes it to regexec.
 */
export function compileRegex(pattern: Uint8Array, icase: boolean): RegExp | null {
  let src = latin1(pattern);
  const nul = src.indexOf('\0');
  if (nul >= 0) src = src.slice(0, nul);
  src = src.replace(/\[:([a-z]+):\]/g, (m, c: string) => POSIX_CLASSES[c] ?? m);
  try {
    return new RegExp(src, icase ? 'i' : '');
  } catch {
    return null;
  }
}
