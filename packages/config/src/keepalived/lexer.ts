/**
 * keepalived.conf lexing: the file is line based. Each line splits into words at blanks; `"..."` is one word
 * (quotes removed); `!` or `#` outside quotes starts a comment to the end of the line (keepalived 2.x accepts
 * trailing comments, as the seeds' `priority 90 # so this is backup server` shows); `{` and `}` are words of
 * their own even when glued to a neighbour. `include PATTERN` lines are replaced by the lines of the files the
 * glob matches (sorted, like glob(3)), a relative pattern being taken from the including file's directory, as
 * keepalived does.
 */
import type { Diagnostic } from '../diagnostics.js';

export interface Word {
  text: string;
  quoted: boolean;
  line: number;
  col: number;
}

export interface Line {
  file: string;
  line: number;
  words: Word[];
}

/** Splits one physical line into words; reports an unmatched quote (keepalived: "Unmatched quote"). */
export function splitLine(text: string, file: string, lineNo: number, diags: Diagnostic[]): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '!' || c === '#') break;
    const col = i + 1;
    if (c === '{' || c === '}') {
      words.push({ text: c, quoted: false, line: lineNo, col });
      i++;
      continue;
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) {
        diags.push({
          severity: 'error',
          file,
          line: lineNo,
          col,
          message: 'unmatched quote',
          hint: 'close the string with a " on the same line; keepalived strings do not continue onto the next line',
        });
        words.push({ text: text.slice(i + 1).trimEnd(), quoted: true, line: lineNo, col });
        break;
      }
      words.push({ text: text.slice(i + 1, end), quoted: true, line: lineNo, col });
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < text.length && !/[\s{}"!#]/.test(text[j]!)) j++;
    words.push({ text: text.slice(i, j), quoted: false, line: lineNo, col });
    i = j;
  }
  return words;
}

export interface SourceAccess {
  readFile: (path: string) => string;
  /** Absolute paths of the files a glob pattern (already absolute) matches, sorted. */
  glob: (pattern: string) => string[];
  dirname: (path: string) => string;
  resolve: (dir: string, rel: string) => string;
}

const MAX_INCLUDE_DEPTH = 16;

/** Reads `path` and everything it includes into one list of non-empty lines. */
export function readLines(
  path: string,
  src: SourceAccess,
  diags: Diagnostic[],
  files: string[],
  stack: string[] = [],
  from?: { file: string; line: number; col: number },
): Line[] {
  let text: string;
  try {
    text = src.readFile(path);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    diags.push({
      severity: 'error',
      file: from?.file ?? path,
      line: from?.line ?? 0,
      col: from?.col ?? 0,
      message: `cannot read ${path}: ${why}`,
      hint: 'check the path and that the file is readable by the daemon',
    });
    return [];
  }
  files.push(path);
  const out: Line[] = [];
  const physical = text.split('\n');
  for (let n = 0; n < physical.length; n++) {
    const words = splitLine(physical[n]!, path, n + 1, diags);
    if (words.length === 0) continue;
    if (words[0]!.text === 'include' && !words[0]!.quoted) {
      out.push(...expandInclude(path, words, src, diags, files, stack));
      continue;
    }
    out.push({ file: path, line: n + 1, words });
  }
  return out;
}

function expandInclude(
  file: string,
  words: Word[],
  src: SourceAccess,
  diags: Diagnostic[],
  files: string[],
  stack: string[],
): Line[] {
  const kw = words[0]!;
  const at = { file, line: kw.line, col: kw.col };
  const arg = words[1];
  if (!arg) {
    diags.push({ ...at, severity: 'error', message: 'include needs a file name or glob pattern' });
    return [];
  }
  if (stack.length >= MAX_INCLUDE_DEPTH || stack.includes(file)) {
    diags.push({
      ...at,
      severity: 'error',
      message: `include nested too deep or in a loop (${[...stack, file].join(' -> ')})`,
      hint: 'remove the include that brings a file back into itself',
    });
    return [];
  }
  const pattern = src.resolve(src.dirname(file), arg.text);
  const matches = src.glob(pattern);
  if (matches.length === 0) {
    // keepalived only logs "Config files missing" here (exit 0): an empty conf.d is normal.
    diags.push({
      file,
      line: arg.line,
      col: arg.col,
      severity: /[*?[]/.test(arg.text) ? 'note' : 'warning',
      message: `include ${arg.text}: no file matches ${pattern}`,
      hint: 'nothing is read from this include; check the path if you expected a file here',
    });
    return [];
  }
  const out: Line[] = [];
  for (const m of matches) out.push(...readLines(m, src, diags, files, [...stack, file], at));
  return out;
}
