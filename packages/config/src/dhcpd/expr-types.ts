/**
 * ISC dhcpd's expression language (dhcp-eval(5)): the typed AST the parser builds and the context the compiled
 * closures read. ISC has three kinds of expression and checks them while parsing: boolean (`if`, `match if`),
 * data (byte strings: options, `substring`, literals) and numeric (`extract-int`, `lease-time`, arithmetic).
 * Every kind may be null ("no value": a missing option, a width that does not divide the data); see expr-eval.ts
 * for what each form does with a null operand.
 */
import type { SourcePos } from '@hadhcp/dhcp';

export type ExprKind = 'boolean' | 'data' | 'numeric';

/** An option named in an expression: `option NAME`, `option SPACE.NAME`, `exists NAME`, `config-option NAME`. */
export interface OptionRef {
  /** `dhcp` for the main space, `agent` for relay agent sub-options (RFC 3046), or a user-declared space. */
  space: string;
  name: string;
  code: number;
}

export type BoolExpr =
  | { op: 'eq' | 'ne'; left: DataOrNum; right: DataOrNum; pos: SourcePos }
  | { op: 'regex' | 'iregex'; left: DataExpr; right: DataExpr; pos: SourcePos }
  | { op: 'and' | 'or'; left: BoolExpr; right: BoolExpr; pos: SourcePos }
  | { op: 'not'; arg: BoolExpr; pos: SourcePos }
  | { op: 'exists'; option: OptionRef; pos: SourcePos }
  | { op: 'known' | 'static'; pos: SourcePos }
  /** `defined(NAME)`: the variable is set (event bodies only, see ExprParseOptions.variables). */
  | { op: 'defined'; name: string; pos: SourcePos };

export type DataExpr =
  | { op: 'const'; bytes: Uint8Array; pos: SourcePos }
  /** A variable set by `set NAME = EXPR;` (event bodies only); null while unset. */
  | { op: 'variable'; name: string; pos: SourcePos }
  | { op: 'substring'; data: DataExpr; offset: NumExpr; len: NumExpr; pos: SourcePos }
  | { op: 'suffix'; data: DataExpr; len: NumExpr; pos: SourcePos }
  | { op: 'option' | 'config-option'; option: OptionRef; pos: SourcePos }
  | { op: 'hardware' | 'leased-address' | 'host-decl-name' | 'gethostname' | 'null'; pos: SourcePos }
  | { op: 'packet'; offset: NumExpr; len: NumExpr; pos: SourcePos }
  | { op: 'concat'; left: DataExpr; right: DataExpr; pos: SourcePos }
  | { op: 'lcase' | 'ucase'; arg: DataExpr; pos: SourcePos }
  | { op: 'binary-to-ascii'; base: NumExpr; width: NumExpr; sep: DataExpr; data: DataExpr; pos: SourcePos }
  | { op: 'encode-int'; value: NumExpr; width: 8 | 16 | 32; pos: SourcePos }
  | { op: 'pick-first-value'; args: DataExpr[]; pos: SourcePos }
  | { op: 'reverse'; width: NumExpr; data: DataExpr; pos: SourcePos };

export type ArithOp = '+' | '*' | '/' | '%' | '&' | '|' | '^';

export type NumExpr =
  | { op: 'int'; value: number; pos: SourcePos }
  | { op: 'extract-int'; data: DataExpr; width: 8 | 16 | 32; pos: SourcePos }
  | { op: 'lease-time'; pos: SourcePos }
  | { op: 'arith'; arith: ArithOp; left: NumExpr; right: NumExpr; pos: SourcePos };

export type DataOrNum = { kind: 'data'; expr: DataExpr } | { kind: 'numeric'; expr: NumExpr };

export type Expr =
  { kind: 'boolean'; expr: BoolExpr } | { kind: 'data'; expr: DataExpr } | { kind: 'numeric'; expr: NumExpr };

/** What an expression reads while it runs: defined by the DHCP core, which builds one per request. */
export type { EvalContext } from '@hadhcp/dhcp';
