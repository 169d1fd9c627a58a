/**
 * What ISC's expressions (dhcp-eval(5)) read while they run. The config package compiles `match if`, `match`,
 * `spawn with` and `if` expressions into functions of this context once, at load; the core builds one context
 * per server (classes.ts, PacketEval) and refills it for each packet, so evaluating allocates nothing for it.
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
  /** A variable `set` earlier in the same event body (`on commit { set x = ...; log(x); }`); absent: none. */
  variable?(name: string): Uint8Array | null;
}

/** A compiled boolean expression (`if`, `match if`): null is "no value", which ISC treats as false. */
export type BoolTest = (c: EvalContext) => boolean | null;
/** A compiled data expression (`match`, `spawn with`). Results are views valid until the next evaluation. */
export type DataTest = (c: EvalContext) => Uint8Array | null;
