import { parseIp4, parseMac } from '@hadhcp/common';
import { blankLease, BindingState, INFINITE, type Lease, type LeaseBilling } from './lease.js';
import { Lexer, type Token } from './isc-lexer.js';

/** A lease as read from dhcpd.leases; the extra fields are ISC's and are not stored by LeaseStore. */
export interface IscLease extends Lease {
  /** `next binding state` (ISC defaults it to the binding state when absent). */
  nextState: BindingState;
  /** `rewind binding state` (failover: the state to fall back to if the update is never acknowledged). */
  rewindState: BindingState;
  /** Line of the entry that won (last entry for the address). */
  line: number;
}

export interface IscFailoverState {
  peer: string;
  myState: string;
  myStateAt: number;
  partnerState: string;
  partnerStateAt: number;
  /** Written by a secondary only. */
  mclt?: number;
}

/** Shaped like @hadhcp/config's Diagnostic, so the CLI can print both the same way. */
export interface IscLeaseDiagnostic {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  col: number;
  message: string;
}

export interface IscLeasesImport {
  leases: IscLease[];
  failoverStates: IscFailoverState[];
  diagnostics: IscLeaseDiagnostic[];
}

const STATES: Record<string, BindingState> = {
  free: BindingState.FREE,
  active: BindingState.ACTIVE,
  expired: BindingState.EXPIRED,
  released: BindingState.RELEASED,
  abandoned: BindingState.ABANDONED,
  reset: BindingState.RESET,
  backup: BindingState.BACKUP,
  // Legacy words (confpars.c): both are active bindings with a flag we do not keep.
  bootp: BindingState.ACTIVE,
  reserved: BindingState.ACTIVE,
};

/** ISC's hardware type keywords (confpars.c parse_hardware_param) to ARP hardware types. */
const HW_TYPES: Record<string, number> = { ethernet: 1, 'token-ring': 6, fddi: 8, infiniband: 32 };

/** Statements inside a lease that carry nothing the store keeps; skipped quietly. */
const IGNORED_IN_LEASE = new Set([
  'set',
  'option',
  'reserved',
  'dynamic-bootp',
  'bootp',
  'vendor-class-identifier',
  'ddns-text',
  'ddns-fwd-name',
  'ddns-rev-name',
  'ddns-client-fqdn',
]);

/** Top-level declarations that are not leases: ISC keeps hosts, classes and the DUID here too. */
const IGNORED_TOP = new Set(['server-duid', 'host', 'group', 'class', 'subclass', 'authoring-byte-order']);

class Parser {
  readonly diagnostics: IscLeaseDiagnostic[] = [];
  readonly lex: Lexer;

  constructor(
    text: string,
    readonly file: string,
  ) {
    this.lex = new Lexer(text, (line, col, message) => this.error({ line, col }, message));
  }

  error(at: { line: number; col: number }, message: string, severity: 'error' | 'warning' = 'error'): void {
    this.diagnostics.push({ severity, file: this.file, line: at.line, col: at.col, message });
  }

  isWord(t: Token, text?: string): boolean {
    return t.kind === 'word' && (text === undefined || t.text.toLowerCase() === text);
  }

  isPunct(t: Token, text: string): boolean {
    return t.kind === 'punct' && t.text === text;
  }

  /** Skips one statement: up to its ';' or through its balanced { } block. Stops before a closing '}'. */
  skipStatement(): void {
    let depth = 0;
    for (;;) {
      const t = this.lex.peek();
      if (t.kind === 'eof') return;
      if (depth === 0 && this.isPunct(t, '}')) return;
      this.lex.next();
      if (this.isPunct(t, '{')) depth++;
      else if (this.isPunct(t, '}') && --depth === 0) {
        if (this.isPunct(this.lex.peek(), ';')) this.lex.next();
        return;
      } else if (depth === 0 && this.isPunct(t, ';')) return;
    }
  }

  /** Expects ';'; on anything else reports and resynchronises at the next statement. */
  endStatement(what: string): void {
    const t = this.lex.peek();
    if (this.isPunct(t, ';')) {
      this.lex.next();
      return;
    }
    this.error(t, `expected ';' after ${what}`);
    this.skipStatement();
  }

  word(what: string): string | undefined {
    const t = this.lex.peek();
    if (t.kind !== 'word') {
      this.error(t, `expected ${what}`);
      return undefined;
    }
    this.lex.next();
    return t.text;
  }

  /**
   * A time: `W YYYY/MM/DD HH:MM:SS` (UTC), `epoch N` (db-time-format local) or `never` (ISC's MAX_TIME).
   * Returns undefined after reporting a malformed one.
   */
  date(): number | undefined {
    const first = this.lex.peek();
    const w = this.word('a date');
    if (w === undefined) return undefined;
    if (w.toLowerCase() === 'never') return INFINITE;
    if (w.toLowerCase() === 'epoch') {
      const n = this.word('seconds since the epoch');
      return n !== undefined && /^\d+$/.test(n) && Number(n) <= INFINITE
        ? Number(n)
        : this.bad(first, 'epoch');
    }
    if (!/^[0-6]$/.test(w)) return this.bad(first, 'weekday');
    const d = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/.exec(this.word('YYYY/MM/DD') ?? '');
    const t = /^(\d{1,2}):(\d{1,2}):(\d{1,2})$/.exec(this.word('HH:MM:SS') ?? '');
    if (!d || !t) return this.bad(first, 'date');
    const [y, mo, da, h, mi, s] = [d[1], d[2], d[3], t[1], t[2], t[3]].map(Number) as number[];
    const ms = Date.UTC(y!, mo! - 1, da!, h!, mi!, s!);
    const back = new Date(ms);
    if (back.getUTCMonth() !== mo! - 1 || back.getUTCDate() !== da! || h! > 23 || mi! > 59 || s! > 60) {
      return this.bad(first, 'date');
    }
    return Math.max(0, Math.min(INFINITE, Math.floor(ms / 1000)));
  }

  private bad(at: Token, what: string): undefined {
    this.error(at, `malformed ${what} in a time`);
    return undefined;
  }
}

/**
 * Reads an ISC dhcpd.leases file (server/db.c writes it, confpars.c reads it). The file is a log: the last
 * entry for an address wins. Hosts, groups, classes, the server DUID and unknown lease statements are skipped;
 * problems are reported with line and column and never stop the rest of the file from loading.
 */
export function parseIscLeases(text: string, file = 'dhcpd.leases'): IscLeasesImport {
  const p = new Parser(text, file);
  const leases = new Map<number, IscLease>();
  const failover = new Map<string, IscFailoverState>();
  for (;;) {
    const t = p.lex.peek();
    if (t.kind === 'eof') break;
    if (p.isWord(t, 'lease')) {
      p.lex.next();
      const l = parseLease(p, t);
      if (l) {
        // Re-inserting keeps file order of the winning entries, which makes imports reproducible.
        leases.delete(l.address);
        leases.set(l.address, l);
      }
    } else if (p.isWord(t, 'failover')) {
      p.lex.next();
      const f = parseFailoverState(p, t);
      if (f) failover.set(f.peer, f);
    } else if (t.kind === 'word' && IGNORED_TOP.has(t.text.toLowerCase())) {
      p.skipStatement();
    } else if (p.isPunct(t, ';')) {
      p.lex.next();
    } else {
      p.error(t, `unexpected ${t.kind === 'word' ? `'${t.text}'` : t.kind} at top level; skipped`, 'warning');
      p.lex.next();
      if (!p.isPunct(t, ';') && !p.isPunct(t, '}')) p.skipStatement();
    }
  }
  return { leases: [...leases.values()], failoverStates: [...failover.values()], diagnostics: p.diagnostics };
}

function parseLease(p: Parser, at: Token): IscLease | undefined {
  const ipTok = p.lex.peek();
  const address = ipTok.kind === 'word' ? parseIp4(ipTok.text) : undefined;
  if (address === undefined) {
    p.error(ipTok, 'expected an IPv4 address after lease; entry skipped');
    p.skipStatement();
    return undefined;
  }
  p.lex.next();
  if (!p.isPunct(p.lex.peek(), '{')) {
    p.error(p.lex.peek(), "expected '{' after the lease address; entry skipped");
    p.skipStatement();
    return undefined;
  }
  p.lex.next();
  const l: IscLease = {
    ...blankLease(address),
    nextState: BindingState.FREE,
    rewindState: BindingState.FREE,
    line: at.line,
  };
  let next: BindingState | undefined;
  let rewind: BindingState | undefined;
  for (;;) {
    const t = p.lex.peek();
    if (t.kind === 'eof') {
      p.error(
        at,
        `lease ${ipTok.kind === 'word' ? ipTok.text : ''} is not closed by '}' before the end of the file`,
      );
      return undefined;
    }
    p.lex.next();
    if (p.isPunct(t, '}')) break;
    if (t.kind !== 'word') {
      if (!p.isPunct(t, ';')) p.error(t, 'unexpected token in lease; skipped', 'warning');
      continue;
    }
    const kw = t.text.toLowerCase();
    if (
      kw === 'starts' ||
      kw === 'ends' ||
      kw === 'tstp' ||
      kw === 'tsfp' ||
      kw === 'atsfp' ||
      kw === 'cltt'
    ) {
      const v = p.date();
      if (v === undefined) p.skipStatement();
      else {
        l[kw] = v;
        p.endStatement(kw);
      }
    } else if (kw === 'binding' || kw === 'next' || kw === 'rewind') {
      const s = parseBindingState(p, kw, t);
      if (s === undefined) continue;
      if (kw === 'binding') l.state = s;
      else if (kw === 'next') next = s;
      else rewind = s;
    } else if (kw === 'abandoned') {
      l.state = BindingState.ABANDONED; // legacy form of "binding state abandoned"
      p.endStatement(kw);
    } else if (kw === 'hardware') {
      parseHardware(p, l);
    } else if (kw === 'uid') {
      const u = p.lex.next();
      if (u.kind === 'string') l.clientId = u.bytes;
      else if (u.kind === 'word' && parseColonHex(u.text)) l.clientId = parseColonHex(u.text);
      else p.error(u, 'uid must be a quoted string or colon-separated hex');
      p.endStatement('uid');
    } else if (kw === 'client-hostname') {
      const h = p.lex.next();
      if (h.kind === 'string') l.hostname = Buffer.from(h.bytes).toString('utf8');
      else p.error(h, 'client-hostname must be a quoted string');
      p.endStatement('client-hostname');
    } else if (kw === 'billing') {
      parseBilling(p, l, t);
    } else if (kw === 'on' || IGNORED_IN_LEASE.has(kw)) {
      p.skipStatement();
    } else {
      p.error(t, `unknown lease statement '${t.text}'; skipped`, 'warning');
      p.skipStatement();
    }
  }
  // confpars.c: missing next/rewind default to the binding state.
  l.nextState = next ?? l.state;
  l.rewindState = rewind ?? l.state;
  return l;
}

/**
 * After `billing`: `class "NAME";` or `subclass "CLASS" VALUE;`, the class a lease limit billed the lease to
 * (ISC db.c write_billing_class: the subclass's value as a quoted string when every byte is printable ASCII,
 * else as colon-separated hex). The daemon bills the lease again at start.
 */
function parseBilling(p: Parser, l: Lease, at: Token): void {
  // Peek before taking: a malformed statement is skipped up to its ';', never past the lease's '}'.
  const skip = (t: Token, message: string): void => {
    p.error(t, `${message}; statement skipped`, 'warning');
    p.skipStatement();
  };
  const kind = p.lex.peek();
  const isSub = p.isWord(kind, 'subclass');
  if (!isSub && !p.isWord(kind, 'class')) return skip(kind, "expected 'class' or 'subclass' after 'billing'");
  p.lex.next();
  const name = p.lex.peek();
  if (name.kind !== 'string') return skip(name, 'billing class name must be a quoted string');
  p.lex.next();
  const b: LeaseBilling = { className: Buffer.from(name.bytes).toString('utf8') };
  if (isSub) {
    const v = p.lex.peek();
    const data = v.kind === 'string' ? v.bytes : v.kind === 'word' ? parseColonHex(v.text) : undefined;
    if (!data || data.length === 0)
      return skip(v, 'billing subclass value must be a quoted string or colon-separated hex');
    p.lex.next();
    b.subclass = data;
  }
  p.endStatement('billing');
  // The store holds up to 255 bytes of each (an ISC match value is rarely more than a few dozen).
  if (Buffer.byteLength(b.className) > 255 || (b.subclass?.length ?? 0) > 255) {
    p.error(
      at,
      'billing class name or subclass value longer than 255 bytes; billing not imported',
      'warning',
    );
    return;
  }
  l.billing = b;
}

/** `lease-id-format hex` writes uids as colon-separated hex; client ids run to 255 bytes, unlike MACs. */
function parseColonHex(text: string): Uint8Array | undefined {
  const parts = text.split(':');
  if (parts.length > 255 || !parts.every((x) => /^[0-9a-fA-F]{1,2}$/.test(x))) return undefined;
  return Uint8Array.from(parts, (x) => parseInt(x, 16));
}

/** After the first word: `binding state X;`, `next binding state X;`, `rewind binding state X;`. */
function parseBindingState(p: Parser, kw: string, at: Token): BindingState | undefined {
  const words = kw === 'binding' ? ['state'] : ['binding', 'state'];
  for (const w of words) {
    if (!p.isWord(p.lex.peek(), w)) {
      p.error(p.lex.peek(), `expected '${w}' after '${kw}'`);
      p.skipStatement();
      return undefined;
    }
    p.lex.next();
  }
  const name = p.word('a binding state');
  const s = name === undefined ? undefined : STATES[name.toLowerCase()];
  if (s === undefined) {
    if (name !== undefined) p.error(at, `unknown binding state '${name}'; statement skipped`);
    p.skipStatement();
    return undefined;
  }
  p.endStatement('binding state');
  return s;
}

function parseHardware(p: Parser, l: Lease): void {
  const typeTok = p.lex.peek();
  const type = p.word('a hardware type');
  const addrTok = p.lex.peek();
  const addr = p.word('a hardware address');
  const hwType = type === undefined ? undefined : HW_TYPES[type.toLowerCase()];
  const mac = addr === undefined ? undefined : parseMac(addr);
  if (hwType === undefined) p.error(typeTok, `unknown hardware type '${type ?? ''}'`);
  else if (!mac) p.error(addrTok, `malformed hardware address '${addr ?? ''}'`);
  else {
    l.hwType = hwType;
    l.hwAddr = mac;
  }
  p.endStatement('hardware');
}

/** `failover peer "name" state { my state S at DATE; partner state S at DATE; mclt N; }` (db.c). */
function parseFailoverState(p: Parser, at: Token): IscFailoverState | undefined {
  const peerKw = p.lex.next();
  const name = p.lex.next();
  const stateKw = p.lex.next();
  if (!p.isWord(peerKw, 'peer') || name.kind !== 'string' || !p.isWord(stateKw, 'state')) {
    p.error(at, 'expected failover peer "name" state { ... }; skipped');
    p.skipStatement();
    return undefined;
  }
  if (!p.isPunct(p.lex.next(), '{')) {
    p.error(at, "expected '{' after failover peer ... state");
    p.skipStatement();
    return undefined;
  }
  const f: IscFailoverState = {
    peer: Buffer.from(name.bytes).toString('utf8'),
    myState: '',
    myStateAt: 0,
    partnerState: '',
    partnerStateAt: 0,
  };
  for (;;) {
    const t = p.lex.next();
    if (t.kind === 'eof') {
      p.error(at, 'failover state block is not closed before the end of the file');
      return undefined;
    }
    if (p.isPunct(t, '}')) break;
    if (p.isPunct(t, ';')) continue;
    const kw = t.kind === 'word' ? t.text.toLowerCase() : '';
    // The manual says "peer state"; db.c writes "partner state". Accept both.
    if ((kw === 'my' || kw === 'partner' || kw === 'peer') && p.isWord(p.lex.peek(), 'state')) {
      p.lex.next();
      const state = p.word('a failover state');
      if (!p.isWord(p.lex.next(), 'at')) {
        p.error(t, `expected 'at DATE' after ${kw} state`);
        p.skipStatement();
        continue;
      }
      const when = p.date();
      if (state === undefined || when === undefined) {
        p.skipStatement();
        continue;
      }
      if (kw === 'my') [f.myState, f.myStateAt] = [state.toLowerCase(), when];
      else [f.partnerState, f.partnerStateAt] = [state.toLowerCase(), when];
      p.endStatement(`${kw} state`);
    } else if (kw === 'mclt') {
      const n = p.word('mclt seconds');
      if (n !== undefined && /^\d+$/.test(n)) f.mclt = Number(n);
      else p.error(t, 'mclt must be a number of seconds');
      p.endStatement('mclt');
    } else {
      p.error(t, 'unknown statement in failover state block; skipped', 'warning');
      p.skipStatement();
    }
  }
  if (!f.myState) p.error(at, `failover peer "${f.peer}" state block has no 'my state'`, 'warning');
  return f;
}
