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
  | { op: 'known' | 'static'; pos: SourcePos };

export type DataExpr =
  | { op: 'const'; bytes: Uint8Array; pos: SourcePos }
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

/**
 * What an expression reads while it runs, injected by the DHCP core (one per request). Every method may be
 * called many times per evaluation; none may allocate for the core's sake. Return null where ISC has nothing:
 * no such option, no lease, no host declaration.
 */
export interface EvalContext {
  /** The request as received: BOOTP header and options (`packet`, `hardware`). null outside a request. */
  readonly raw: Uint8Array | null;
  /** An option of the request (`option`, `exists`), by space and code; the value bytes without code and length. */
  option(space: string, code: number): Uint8Array | null;
  /** An option as the configuration sets it for this client (`config-option`). */
  configOption(space: string, code: number): Uint8Array | null;
  /** The client matched a host declaration (`known`); null outside a request, as in ISC. */
  readonly known: boolean | null;
  /** The lease is a fixed-address one (`static`). */
  readonly isStatic: boolean;
  /** The address being leased, 4 bytes (`leased-address`); null when there is no lease yet. */
  readonly leasedAddress: Uint8Array | null;
  /** The name of the host declaration that matched, as bytes (`host-decl-name`). */
  readonly hostDeclName: Uint8Array | null;
  /** Seconds left on the lease (`lease-time`: ends - now); null without a lease or when it has ended. */
  readonly leaseTime: number | null;
  /** This server's host name (`gethostname()`). */
  readonly hostname: Uint8Array;
}
