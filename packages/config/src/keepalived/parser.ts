/**
 * Groups lexed lines into statements and `{ }` blocks. A statement is the words of one line; a `{` opens a block
 * for the statement before it, on the same line or (as keepalived allows) the previous line; `}` closes it.
 */
import type { Diagnostic } from '../diagnostics.js';
import type { Line, Word } from './lexer.js';

export interface Stmt {
  file: string;
  keyword: Word;
  args: Word[];
  block?: Stmt[];
}

interface Frame {
  owner?: Stmt;
  open?: { file: string; word: Word };
  body: Stmt[];
}

export function parseStatements(lines: Line[], diags: Diagnostic[]): Stmt[] {
  const root: Frame = { body: [] };
  const stack: Frame[] = [root];
  for (const ln of lines) {
    let pending: Word[] = [];
    const flush = (): Stmt | undefined => {
      if (pending.length === 0) return undefined;
      const st: Stmt = { file: ln.file, keyword: pending[0]!, args: pending.slice(1) };
      stack[stack.length - 1]!.body.push(st);
      pending = [];
      return st;
    };
    for (const w of ln.words) {
      if (w.quoted || (w.text !== '{' && w.text !== '}')) {
        pending.push(w);
        continue;
      }
      if (w.text === '{') {
        const top = stack[stack.length - 1]!;
        const owner = flush() ?? top.body[top.body.length - 1];
        if (!owner || owner.block) {
          diags.push({
            severity: 'error',
            file: ln.file,
            line: w.line,
            col: w.col,
            message: "'{' without a keyword before it",
            hint: "put the block's keyword (e.g. vrrp_instance NAME) before the '{'",
          });
        }
        const frame: Frame = { open: { file: ln.file, word: w }, body: [] };
        if (owner && !owner.block) {
          owner.block = frame.body;
          frame.owner = owner;
        }
        stack.push(frame);
        continue;
      }
      flush();
      if (stack.length === 1) {
        diags.push({
          severity: 'error',
          file: ln.file,
          line: w.line,
          col: w.col,
          message: "extra '}' with no block open",
          hint: "remove this '}' or add the '{' it was meant to close",
        });
        continue;
      }
      stack.pop();
    }
    flush();
  }
  for (let i = stack.length - 1; i > 0; i--) {
    const open = stack[i]!.open!;
    diags.push({
      severity: 'error',
      file: open.file,
      line: open.word.line,
      col: open.word.col,
      message: `'{' of ${stack[i]!.owner?.keyword.text ?? 'this block'} is never closed`,
      hint: "add the missing '}' at the end of the block",
    });
  }
  return root.body;
}
