import type { Ip4 } from '@hadhcp/common';
import type { BoolTest, DataTest } from './eval-context.js';

export type { BoolTest, DataTest, EvalContext } from './eval-context.js';

/**
 * The DHCP server's configuration model: what a dhcpd.conf means, independent of its syntax.
 * The config package's reader builds it; the server core reads it. Positions are kept so that later checks
 * (and the daemon's log lines) can name the file:line:col an operator has to look at.
 */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** An option value already encoded to its wire bytes (the reader knows the type from option-defs). */
export interface OptionSetting {
  code: number;
  name: string;
  data: Uint8Array;
  pos: SourcePos;
  /**
   * Set when an address option names hosts (ISC resolves them through DNS): the items as written, in order.
   * `data` then holds only the literal addresses; whoever loads the config resolves the names and re-encodes.
   */
  unresolved?: Array<Ip4 | string>;
  /** Set for a sub-option (`option SPACE.NAME value;`): the space it belongs to; `code` is its code there. */
  space?: OptionSpace;
  /**
   * `option NAME = EXPR;` (dhcpd.conf(5), dhcp-eval(5)): evaluated for each answer, its bytes are the value (`data`
   * is then empty). A null or empty result leaves the option out, even where an outer scope sets it, as in ISC.
   */
  compute?: DataTest;
}

/**
 * `option space NAME [code width N] [length width N];` (dhcp-options(5) "DEFINING NEW OPTIONS"): a set of
 * sub-options, framed as code (codeWidth octets), length (lengthWidth octets), value. A space reaches the wire
 * through an option that encapsulates it: `option X code N = encapsulate NAME;` (encapsulatedBy), or option 43
 * (vendor-encapsulated-options) for the space a scope names with `vendor-option-space NAME;`.
 */
export interface OptionSpace {
  name: string;
  codeWidth: 1 | 2 | 4;
  lengthWidth: 1 | 2;
  /** The option (DHCP space) defined as `encapsulate NAME`; the last such definition, as in ISC. */
  encapsulatedBy?: number;
  /** Declaration order: ISC lists encapsulating options in the order their spaces were declared. */
  index: number;
  pos: SourcePos;
}

/** Lease times in seconds; `infinite` is ISC's -1 (lease time 0xffffffff on the wire). */
export type LeaseSeconds = number | 'infinite';

/** Parameters that inherit down the scope chain (global > shared-network > subnet > pool/group > host). */
export interface Params {
  authoritative?: boolean;
  defaultLeaseTime?: LeaseSeconds;
  maxLeaseTime?: LeaseSeconds;
  minLeaseTime?: LeaseSeconds;
  /** allow/deny unknown-clients (a client with no host declaration). */
  unknownClients?: boolean;
  /** allow/deny bootp: answer BOOTP requests at all. */
  bootp?: boolean;
  /** allow/deny booting: answer this client at all (used in host scopes). */
  booting?: boolean;
  /** allow/deny dynamic bootp clients (BOOTP from a pool rather than a reservation). */
  dynamicBootp?: boolean;
  filename?: string;
  serverName?: string;
  nextServer?: Ip4;
  serverIdentifier?: Ip4;
  /** `next-server NAME;` / `server-identifier NAME;` with a host name: left for the loader to resolve. */
  nextServerName?: string;
  serverIdentifierName?: string;
  pingCheck?: boolean;
  /** Seconds. */
  pingTimeout?: number;
  /**
   * dhcp-cache-threshold, percent: a client renewing before this share of its lease has passed gets the lease it
   * has (its remaining time) and no write. 0 turns it off; 100 and above mean ISC's default.
   */
  dhcpCacheThreshold?: number;
  useHostDeclNames?: boolean;
  /** `vendor-option-space NAME;`: option 43 is built from this space's sub-options set in scope. */
  vendorOptionSpace?: string;
  /** Seconds; ISC's one-lease-per-client etc. are not modelled. */
  bootUnknownClients?: boolean;
}

export interface Scope {
  parent?: Scope;
  params: Params;
  options: Map<number, OptionSetting>;
  /**
   * `if` / `elsif` / `else` statements of this scope, in the order written (evaluated per packet; see
   * classes.ts). A branch's body is a scope of its own, without parent. A parameter set unconditionally after
   * an `if` in the same scope supersedes the branch's setting (ISC runs a scope's statements in order), so the
   * reader leaves such settings out of the bodies: a taken branch simply comes before its scope.
   */
  conditionals?: Conditional[];
  /** `option SPACE.NAME value;` settings, by space, then code, in the order written (absent: none). */
  spaceOptions?: Map<OptionSpace, Map<number, OptionSetting>>;
  /** `on commit|release|expiry { ... }` of this scope (a later one replaces an earlier one, as in ISC). */
  events?: ScopeEvents;
  /** `log`, `set`, `unset`, `execute` written straight in this scope, in order: run for each answer. */
  statements?: EventStatement[];
}

/**
 * dhcpd.conf(5) "EVENTS": what runs when a lease is committed (a DHCPACK, or a BOOTP reply, once stored),
 * released (DHCPRELEASE) or expires. ISC keeps the statements of the nearest scope that has them, per event,
 * from the scopes of the commit; release and expiry run those kept with the lease.
 */
export interface ScopeEvents {
  commit?: EventStatement[];
  release?: EventStatement[];
  expiry?: EventStatement[];
}

/** The statements an event body may hold (dhcp-eval(5)): variables, logging, conditionals. */
export type EventStatement =
  | { kind: 'log'; level: 'fatal' | 'error' | 'info' | 'debug'; text: DataTest; pos: SourcePos }
  | { kind: 'set'; name: string; value: DataTest; pos: SourcePos }
  | { kind: 'unset'; name: string; pos: SourcePos }
  /**
   * `execute("COMMAND", ARG, ...)`: run (no shell) only when the daemon runs with --enable-execute, after the lease
   * is on disk; each argument's value as text, a null one as an empty string.
   */
  | { kind: 'execute'; command: string; args: DataTest[]; pos: SourcePos }
  | { kind: 'if'; branches: Array<{ test?: BoolTest; body: EventStatement[] }>; pos: SourcePos };

/** One `if EXPR { } elsif EXPR { } else { }` statement. */
export interface Conditional {
  /** In order; the first whose test is true is taken. `test` is absent for `else`. */
  branches: Array<{ test?: BoolTest; scope: Scope; pos: SourcePos }>;
  pos: SourcePos;
}

/**
 * `class "NAME" { ... }` (dhcpd.conf(5) CLIENT CLASSING). A client is a member when `matchIf` is true, or,
 * for a class with `match` (or `spawn with`), when the value matches one of its subclasses (then it is a member
 * of both); a spawning class makes a subclass for each new value. A class with neither has no members.
 */
export interface ClientClass {
  name: string;
  matchIf?: BoolTest;
  /** `match EXPR;` or `spawn with EXPR;`: the value looked up among the subclasses. */
  match?: DataTest;
  spawn: boolean;
  /** `lease limit N;`: at most N leases held by members at once (a spawned subclass gets its own N). */
  leaseLimit?: number;
  /** Declared subclasses by their data (latin1 of the bytes), in declaration order. */
  subclasses: Map<string, SubClass>;
  /** The class's statements; no parent (ISC stops at the pool or subnet when it runs them). */
  scope: Scope;
  pos: SourcePos;
}

/** The key of a match value among a class's subclasses: one character per byte. */
export function dataKey(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** `subclass "NAME" DATA [{ ... }]`: a member of `parent` whose match value is `data`. */
export interface SubClass {
  parent: ClientClass;
  data: Uint8Array;
  leaseLimit?: number;
  /** Its own statements (no parent; the parent class's statements apply after it). */
  scope: Scope;
  pos: SourcePos;
}

export interface FailoverPeerConfig {
  name: string;
  role: 'primary' | 'secondary';
  address?: Ip4;
  port: number;
  peerAddress?: Ip4;
  peerPort: number;
  maxResponseDelay: number;
  maxUnackedUpdates: number;
  mclt?: number;
  split?: number;
  /** 32 bytes when given (either from `split` or `hba`). */
  hba?: Uint8Array;
  loadBalanceMaxSeconds: number;
  autoPartnerDown: number;
  maxLeaseMisbalance: number;
  maxLeaseOwnership: number;
  minBalance: number;
  maxBalance: number;
  /**
   * hadhcp's `hadhcp-lazy-updates true;` (not ISC's): a DHCPACK leaves once the lease is on our disk, without
   * waiting for the partner's BNDACK (ISC's behaviour). Default false: zero loss while the partner is reachable.
   */
  lazyUpdates?: boolean;
  /**
   * hadhcp's `hadhcp-tls-cert`, `hadhcp-tls-key` and `hadhcp-tls-ca` (not ISC's; all three or none): the failover
   * link runs over TLS 1.3 with certificates both ways. Paths resolved against the dhcpd.conf's directory; the
   * daemon reads them at start (`pos`: where hadhcp-tls-cert stands, for its error).
   */
  tls?: { cert: string; key: string; ca: string; pos: SourcePos };
  pos: SourcePos;
}

export interface Range {
  start: Ip4;
  end: Ip4;
  /** `range dynamic-bootp a b;` */
  dynamicBootp: boolean;
  pos: SourcePos;
}

/** allow/deny permit lists inside a pool (`allow members of`, `deny unknown-clients`, ...). */
export interface PoolPermits {
  allowUnknownClients?: boolean;
  allowKnownClients?: boolean;
  allowDynamicBootp?: boolean;
  allowAllClients?: boolean;
  /** `allow members of "X";` / `deny members of "X";`, as written (a subclass's member is its class's too). */
  members?: Array<{ allow: boolean; class: ClientClass }>;
}

export interface Pool {
  ranges: Range[];
  /**
   * The pool ISC makes for ranges written straight in a subnet. It serves BOOTP clients only from `range
   * dynamic-bootp` ranges; a declared `pool { }` serves them unless it says `deny dynamic bootp clients`.
   */
  implicit?: boolean;
  scope: Scope;
  permits: PoolPermits;
  failoverPeer?: string;
  sharedNetwork: SharedNetwork;
  pos: SourcePos;
}

export interface Subnet {
  network: Ip4;
  mask: Ip4;
  prefix: number;
  scope: Scope;
  sharedNetwork: SharedNetwork;
  pos: SourcePos;
}

/** Every subnet belongs to exactly one shared network; a subnet declared alone gets an implicit one. */
export interface SharedNetwork {
  name: string;
  implicit: boolean;
  scope: Scope;
  subnets: Subnet[];
  pools: Pool[];
  pos: SourcePos;
}

export interface Host {
  name: string;
  hardware?: { htype: number; addr: Uint8Array };
  clientId?: Uint8Array;
  fixedAddresses: Ip4[];
  /** `fixed-address` entries given as host names (ISC resolves them through DNS): left for the loader. */
  fixedAddressNames?: string[];
  scope: Scope;
  pos: SourcePos;
}

/** `option NAME code N = TYPE;` user definitions, already merged into the lookup the reader used. */
export interface CustomOptionDef {
  name: string;
  code: number;
  format: string;
  pos: SourcePos;
}

export interface DhcpServerConfig {
  global: Scope;
  sharedNetworks: SharedNetwork[];
  subnets: Subnet[];
  hosts: Host[];
  failoverPeers: FailoverPeerConfig[];
  customOptions: CustomOptionDef[];
  /** `option space` declarations in the order written (absent: none). */
  optionSpaces?: OptionSpace[];
  /** `class` declarations in the order written: the order ISC tests membership in. Absent: none. */
  classes?: ClientClass[];
  /**
   * Some scope has an `on commit|release|expiry`, or a `log` / `set` / `unset` of its own (absent: none; the core
   * then does no event work).
   */
  hasEvents?: boolean;
  /** Some scope has a `log` / `set` / `unset` of its own (hasEvents is then set too). */
  hasScopeStatements?: boolean;
  /** Some scope has an `if` or an `option NAME = EXPR;` (so answers need per-packet scope resolution). */
  hasConditionals?: boolean;
  /** Files read, in order (the main file first, then includes). */
  files: string[];
  /** `key NAME { algorithm; secret; }` and `omapi-port` / `omapi-key`: parsed and kept, no effect in hadhcp. */
  keys?: Array<{ name: string; algorithm: string; secret: string; pos: SourcePos }>;
  omapi?: { port?: number; key?: string };
}

/** ISC's built-in defaults where a scope chain sets nothing. */
export const PARAM_DEFAULTS = {
  authoritative: false,
  defaultLeaseTime: 43200,
  maxLeaseTime: 86400,
  minLeaseTime: 0,
  unknownClients: true,
  bootp: true,
  booting: true,
  dynamicBootp: false,
  pingCheck: true,
  pingTimeout: 1,
  useHostDeclNames: false,
  dhcpCacheThreshold: 25,
} as const;

/** Walks the scope chain for one parameter; the nearest scope that sets it wins. */
export function param<K extends keyof Params>(scope: Scope | undefined, key: K): Params[K] | undefined {
  for (let s = scope; s; s = s.parent) {
    const v = s.params[key];
    if (v !== undefined) return v;
  }
  return undefined;
}
