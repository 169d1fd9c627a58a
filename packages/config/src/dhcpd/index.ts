import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { DhcpServerConfig } from '@hadhcp/dhcp';
import { formatDiagnostic, hasErrors, type Diagnostic } from '../diagnostics.js';
import { DhcpdParser } from './parser.js';

export interface ReadDhcpdOptions {
  /** Defaults to fs.readFileSync(p, 'utf8'); tests pass an in-memory file system. */
  readFile?: (p: string) => string;
  /**
   * Base for relative paths (the main file's and every include's). ISC opens them relative to dhcpd's working
   * directory, so this defaults to process.cwd(), not to the including file's directory.
   */
  cwd?: string;
}

/**
 * Reads an ISC dhcpd.conf into the server model. Every problem is reported (the parser recovers at the next
 * `;` or `}`); `config` is present only when there is no error.
 */
export function readDhcpdConf(
  path: string,
  opts: ReadDhcpdOptions = {},
): { config?: DhcpServerConfig; diagnostics: Diagnostic[] } {
  const cwd = opts.cwd ?? process.cwd();
  const readFile = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const res = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  const parser = new DhcpdParser({ readFile, resolve: res });
  const main = res(path);
  try {
    parser.parseFile(main, { kind: 'global', scope: parser.config.global });
  } catch (e) {
    parser.diags.push({
      severity: 'error',
      file: main,
      line: 0,
      col: 0,
      message: (e as Error).message,
      hint: 'check the path given to hadhcp (relative paths are relative to the working directory)',
    });
    return { diagnostics: parser.diags };
  }
  parser.finish();
  const diagnostics = sortDiagnostics(parser.diags);
  return hasErrors(diagnostics) ? { diagnostics } : { config: parser.config, diagnostics };
}

/** For `hadhcp check-config`: ok when nothing is an error (warnings and notes do not fail the check). */
export function checkDhcpdConf(
  path: string,
  opts: ReadDhcpdOptions = {},
): { ok: boolean; diagnostics: Diagnostic[] } {
  const { diagnostics } = readDhcpdConf(path, opts);
  return { ok: !hasErrors(diagnostics), diagnostics };
}

/** Stable order: by file (in reading order is not needed for operators), then line and column. */
function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

/** All diagnostics, one block each, and a summary line, as `hadhcp check-config` prints them. */
export function formatDiagnostics(ds: readonly Diagnostic[], opts: { notes?: boolean } = {}): string {
  const shown = opts.notes === false ? ds.filter((d) => d.severity !== 'note') : ds;
  const count = (s: Diagnostic['severity']) => ds.filter((d) => d.severity === s).length;
  const e = count('error');
  const w = count('warning');
  const summary = `${e} error${e === 1 ? '' : 's'}, ${w} warning${w === 1 ? '' : 's'}`;
  return [...shown.map(formatDiagnostic), summary].join('\n');
}
export * from './expr-types.js';
export { ExprLexer } from './expr-lexer.js';
export { compileRegex } from './expr-regex.js';
export {
  builtinOptions,
  parseBoolean,
  parseData,
  parseExpr,
  parseExprSource,
  parseNumeric,
  optionsFromDefs,
  type ExprParseOptions,
  type OptionResolver,
} from './expr-parse.js';
export * from './expr-eval.js';
