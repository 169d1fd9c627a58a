import { formatIp4, inSubnet, maskToPrefix, parseIp4, type Ip4 } from '@hadhcp/common';
import type {
  ClientClass,
  Conditional,
  DhcpServerConfig,
  FailoverPeerConfig,
  Host,
  LeaseSeconds,
  OptionSetting,
  OptionSpace,
  Pool,
  Scope,
  SharedNetwork,
  SubClass,
  Subnet,
} from '@hadhcp/dhcp';
import type { Diagnostic, Severity } from '../diagnostics.js';
import {
  parseClass,
  parseIf,
  parseLeaseLimit,
  parseMatch,
  parseOptionExpr,
  parseSpawn,
  parseSubclass,
} from './classes.js';
import { Cursor, ParseError, ipOrHost } from './cursor.js';
import { parsePeerBlock, peerProblems, type PeerDraft } from './failover.js';
import { NO_EFFECT, STATEMENTS, UNSUPPORTED, didYouMean } from './keywords.js';
import { tokenize, type Tok } from './lexer.js';
import { parseOn, parseScopeStatement } from './events.js';
import { parseOption, type OptionEnv, type OptionLookup } from './options.js';
import { checkBase64, parseAllowDeny, parseHardware } from './statements.js';

export type Kind =
  'global' | 'shared-network' | 'subnet' | 'pool' | 'group' | 'host' | 'key' | 'class' | 'if';

/** Where a statement sits: the scope it sets parameters in and the declarations around it. */
export interface Ctx {
  kind: Kind;
  scope: Scope;
  sharedNetwork?: SharedNetwork;
  subnet?: Subnet;
  pool?: Pool;
  host?: Host;
  cls?: ClientClass;
  sub?: SubClass;
}

const CLASS_PLACES: Kind[] = ['global', 'group', 'shared-network', 'subnet', 'pool', 'host'];

/** Statements that declare a scope of their own: they never set a parameter of the scope they sit in. */
const DECLARATIONS = new Set([
  'subnet',
  'shared-network',
  'pool',
  'group',
  'host',
  'class',
  'subclass',
  'if',
  'include',
  'failover',
  'key',
]);

export interface FileIo {
  readFile(path: string): string;
  resolve(path: string): string;
}

/** `option SPACE.NAME value;` in a scope; a later setting of the same sub-option replaces it in place. */
function setSubOption(scope: Scope, s: OptionSetting, sp: OptionSpace): void {
  const all = (scope.spaceOptions ??= new Map());
  let subs = all.get(sp);
  if (!subs) all.set(sp, (subs = new Map()));
  subs.set(s.code, s);
}

const newScope = (parent?: Scope): Scope => ({
  ...(parent ? { parent } : {}),
  params: {},
  options: new Map(),
});

/** One reading of one dhcpd.conf and its includes. All state lives in the instance. */
export class DhcpdParser implements OptionEnv {
  readonly diags: Diagnostic[] = [];
  readonly config: DhcpServerConfig = {
    global: newScope(),
    sharedNetworks: [],
    subnets: [],
    hosts: [],
    failoverPeers: [],
    customOptions: [],
    files: [],
  };
  readonly defs: OptionLookup = new Map();
  readonly spaces = new Map<string, OptionSpace>();
  /** Classes by name, for `subclass` and `allow members of`. */
  readonly classes = new Map<string, ClientClass>();
  get customOptions() {
    return this.config.customOptions;
  }
  cur!: Cursor;
  private readonly peers = new Map<string, { draft: PeerDraft; tok: Tok; used: boolean }>();
  private readonly implicitPools = new Map<Subnet, Pool>();
  private readonly includeStack: string[] = [];
  private omapiKeyTok: { tok: Tok; file: string } | undefined;

  constructor(private readonly io: FileIo) {}

  note(tok: Tok, severity: Severity, message: string, hint?: string): void {
    this.diags.push({
      severity,
      file: this.cur.file,
      line: tok.line,
      col: tok.col,
      message,
      ...(hint ? { hint } : {}),
    });
  }

  private error(e: ParseError): void {
    this.note(e.tok, 'error', e.message, e.hint);
  }

  /** Reads `path` (already resolved) and parses its statements into `ctx`. */
  parseFile(path: string, ctx: Ctx): void {
    let src: string;
    try {
      src = this.io.readFile(path);
    } catch (e) {
      throw new Error(`can't open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    this.config.files.push(path);
    const { toks, errors } = tokenize(src);
    const saved = this.cur;
    this.cur = new Cursor(path, toks);
    this.includeStack.push(path);
    for (const le of errors) this.diags.push({ severity: 'error', file: path, ...le });
    try {
      while (this.cur.peek().kind !== 'eof') {
        if (this.cur.peek().kind === '}') {
          const t = this.cur.next();
          this.note(
            t,
            'error',
            'unexpected `}`: no block is open here',
            'remove it, or look for a `{` missing above',
          );
          continue;
        }
        this.statement(ctx);
      }
    } finally {
      this.includeStack.pop();
      this.cur = saved;
    }
  }

  /** Runs one statement, turning its parse errors into diagnostics and resynchronizing after them. */
  private statement(ctx: Ctx): void {
    const start = this.cur.index;
    try {
      const conds = ctx.scope.conditionals;
      const t = this.cur.peek();
      if (conds && t.kind === 'word' && !DECLARATIONS.has(t.text.toLowerCase())) this.after(ctx, conds);
      else this.dispatch(ctx);
    } catch (e) {
      const errs = e instanceof AggregateError ? e.errors : [e];
      for (const x of errs) {
        if (!(x instanceof ParseError)) throw x;
        this.error(x);
      }
      this.cur.recover();
      if (this.cur.index === start) this.cur.next(); // always make progress
    }
  }

  /**
   * A statement after an `if` in the same scope: ISC runs a scope's statements in order, so what it sets
   * supersedes the same setting in the `if` bodies before it. The statement is read into a scratch scope, copied
   * into the scope, and its settings are removed from the earlier bodies (then a taken branch can simply come
   * before its scope, see Scope.conditionals).
   */
  private after(ctx: Ctx, conds: Conditional[]): void {
    const scratch: Scope = { params: {}, options: new Map() };
    try {
      this.dispatch({ ...ctx, scope: scratch });
    } finally {
      const p = ctx.scope.params as Record<string, unknown>;
      for (const [k, v] of Object.entries(scratch.params)) {
        p[k] = v;
        shadow(conds, (s) => delete (s.params as Record<string, unknown>)[k]);
      }
      for (const [code, o] of scratch.options) {
        ctx.scope.options.set(code, o);
        shadow(conds, (s) => s.options.delete(code));
      }
      if (scratch.events) ctx.scope.events = { ...ctx.scope.events, ...scratch.events };
      if (scratch.statements) (ctx.scope.statements ??= []).push(...scratch.statements);
      for (const [sp, subs] of scratch.spaceOptions ?? [])
        for (const [code, o] of subs) {
          setSubOption(ctx.scope, o, sp);
          shadow(conds, (s) => s.spaceOptions?.get(sp)?.delete(code));
        }
    }
  }

  /** `{ statements }` for a declaration; returns the closing brace. */
  block(ctx: Ctx, what: string): Tok {
    const open = this.cur.expect('{', '`{`', `open the ${what} block with {`);
    for (;;) {
      const t = this.cur.peek();
      if (t.kind === '}') return this.cur.next();
      if (t.kind === 'eof')
        throw new ParseError(
          t,
          `unexpected end of file: the ${what} block opened at line ${open.line} is not closed`,
          'add the missing `}`',
        );
      this.statement(ctx);
    }
  }

  private only(t: Tok, ctx: Ctx, kinds: Kind[], where: string): void {
    if (!kinds.includes(ctx.kind)) {
      const in_ =
        ctx.kind === 'global'
          ? 'a top level scope'
          : ctx.kind === 'if'
            ? 'an `if` block (it holds parameters and options only)'
            : ctx.kind === 'class'
              ? 'a class declaration'
              : `a ${ctx.kind} scope`;
      throw new ParseError(t, `\`${t.text}\` is not allowed inside ${in_}`, `move it ${where}`);
    }
  }

  private dispatch(ctx: Ctx): void {
    const cur = this.cur;
    const t = cur.peek();
    if (t.kind === ';') {
      cur.next();
      return;
    }
    if (t.kind !== 'word')
      throw new ParseError(
        t,
        `expected a statement, found ${t.kind === 'string' ? `"${t.text}"` : `\`${t.kind}\``}`,
        'start each statement with a keyword',
      );
    const head = t.text.toLowerCase().split('(')[0]!; // `log(info, ...)` is one word to our lexer
    if (head === 'log' || head === 'set' || head === 'unset' || head === 'execute')
      return parseScopeStatement(this, ctx);
    cur.next();
    const kw = t.text.toLowerCase();
    const p = ctx.scope.params;
    switch (kw) {
      case 'authoritative':
        cur.semi(kw);
        p.authoritative = true;
        return;
      case 'not':
        if (!cur.isWord('authoritative'))
          throw new ParseError(cur.peek(), 'expected `not authoritative`', 'write `not authoritative;`');
        cur.next();
        cur.semi('not authoritative');
        p.authoritative = false;
        return;
      case 'default-lease-time':
      case 'max-lease-time':
      case 'min-lease-time': {
        const v = this.leaseTime(kw);
        cur.semi(kw);
        p[
          kw === 'default-lease-time'
            ? 'defaultLeaseTime'
            : kw === 'max-lease-time'
              ? 'maxLeaseTime'
              : 'minLeaseTime'
        ] = v;
        return;
      }
      case 'subnet':
        return this.subnet(t, ctx);
      case 'shared-network':
        return this.sharedNetwork(t, ctx);
      case 'pool':
        return this.pool(t, ctx);
      case 'range':
        return this.range(t, ctx);
      case 'group': {
        this.only(
          t,
          ctx,
          ['global', 'shared-network', 'subnet', 'pool', 'group'],
          'to the top level or into a subnet',
        );
        if (cur.peek().kind !== '{') cur.name('group name');
        this.block({ ...ctx, kind: 'group', scope: newScope(ctx.scope) }, 'group');
        return;
      }
      case 'host':
        return this.host(t, ctx);
      case 'hardware':
        if (!ctx.host)
          throw new ParseError(
            t,
            '`hardware` is only allowed in a host declaration',
            'move it into `host NAME { ... }`',
          );
        ctx.host.hardware = parseHardware(cur, this);
        cur.semi('hardware');
        return;
      case 'fixed-address':
        return this.fixedAddress(t, ctx);
      case 'use-host-decl-names':
        p.useHostDeclNames = cur.bool(kw);
        cur.semi(kw);
        return;
      case 'boot-unknown-clients':
        p.bootUnknownClients = cur.bool(kw);
        cur.semi(kw);
        return;
      case 'ping-check':
        p.pingCheck = cur.bool(kw);
        cur.semi(kw);
        return;
      case 'ping-timeout':
        p.pingTimeout = cur.int(kw, 0, 2 ** 32 - 1);
        cur.semi(kw);
        return;
      case 'dhcp-cache-threshold':
        // An 8-bit percentage in ISC (dhcpd.conf(5)); values of 100 and above leave its default (25) in force.
        p.dhcpCacheThreshold = cur.int(kw, 0, 255);
        cur.semi(kw);
        return;
      case 'vendor-option-space': {
        const name = cur.word('a space name', 'write `vendor-option-space NAME;`');
        cur.semi(kw);
        // ISC takes a name no `option space` declares (dhcpd -t is silent; option 43 then stays empty).
        if (!this.spaces.has(name.text.toLowerCase()))
          this.note(
            name,
            'warning',
            `\`vendor-option-space ${name.text}\`: no option space named "${name.text}" is declared; option 43 stays empty`,
            `declare it above: \`option space ${name.text};\``,
          );
        p.vendorOptionSpace = name.text.toLowerCase();
        return;
      }
      case 'filename':
      case 'server-name': {
        const s = cur.expect('string', 'a quoted string', `write \`${kw} "value";\``);
        cur.semi(kw);
        p[kw === 'filename' ? 'filename' : 'serverName'] = s.text;
        return;
      }
      case 'next-server':
      case 'server-identifier': {
        const v = ipOrHost(this, kw);
        cur.semi(kw);
        const [ipKey, nameKey] =
          kw === 'next-server'
            ? (['nextServer', 'nextServerName'] as const)
            : (['serverIdentifier', 'serverIdentifierName'] as const);
        if (typeof v === 'number') p[ipKey] = v;
        else p[nameKey] = v;
        return;
      }
      case 'allow':
      case 'deny':
      case 'ignore':
        parseAllowDeny(cur, this, t, ctx);
        return;
      case 'option': {
        if (cur.peek(1).kind === '=') return parseOptionExpr(this, t, ctx);
        const s = parseOption(this, t);
        if (this.spaces.size !== (this.config.optionSpaces?.length ?? 0))
          this.config.optionSpaces = [...this.spaces.values()];
        if (!s) return;
        if (s.space) return setSubOption(ctx.scope, s, s.space);
        ctx.scope.options.set(s.code, s);
        if (s.code === 61 && ctx.host) ctx.host.clientId = s.data;
        return;
      }
      case 'include':
        return this.include(t, ctx);
      // ISC reads a class anywhere but in a class or an `if`; where it sits changes nothing: membership is
      // tested for every packet and the class's statements are its own (they stop at the pool or subnet).
      case 'on':
        return parseOn(this, t, ctx);
      case 'class':
        this.only(t, ctx, CLASS_PLACES, 'to the top level');
        return parseClass(this, t, ctx);
      case 'subclass':
        this.only(t, ctx, CLASS_PLACES, 'to the top level');
        return parseSubclass(this, t);
      case 'match':
        return parseMatch(this, t, ctx);
      case 'spawn':
        return parseSpawn(this, t, ctx);
      case 'lease':
        return parseLeaseLimit(this, t, ctx);
      case 'if':
        return parseIf(this, t, ctx);
      case 'elsif':
      case 'else':
        throw new ParseError(
          t,
          `\`${t.text}\` without \`if\``,
          `\`${t.text}\` must follow the closing brace of an \`if\` block`,
        );
      case 'failover':
        return this.failover(t, ctx);
      case 'key':
        return this.key(t, ctx);
      case 'omapi-port': {
        const port = cur.int(kw, 0, 65535);
        cur.semi(kw);
        (this.config.omapi ??= {}).port = port;
        this.note(
          t,
          'note',
          '`omapi-port` has no effect in hadhcp',
          'hadhcp is controlled through its control socket',
        );
        return;
      }
      case 'omapi-key': {
        const k = cur.name('key name');
        cur.semi(kw);
        (this.config.omapi ??= {}).key = k.text;
        this.omapiKeyTok = { tok: k, file: cur.file };
        return;
      }
    }
    if (NO_EFFECT.has(kw)) {
      this.skipToSemi();
      this.note(t, 'note', `\`${kw}\` has no effect in hadhcp`);
      return;
    }
    if (UNSUPPORTED.has(kw))
      throw new ParseError(
        t,
        `\`${t.text}\` is an ISC dhcpd statement hadhcp does not support`,
        'remove it; "Refused, and why" in the dhcpd.conf section of the config README says what to use instead',
      );
    this.unknown(t);
  }

  /**
   * ISC parses an unknown `WORD;` as an expression statement that evaluates a variable and does nothing
   * (common/parse.c, the "fake up an eval statement" branch), so dhcpd -t accepts `authorized;`. We accept it
   * too, to agree on what starts, but warn loudly: it is nearly always a misspelt keyword.
   */
  private unknown(t: Tok): void {
    const guess = didYouMean(t.text, [...STATEMENTS, ...NO_EFFECT]);
    let hint = guess ? `did you mean \`${guess}\`?` : 'check the spelling against dhcpd.conf(5)';
    if (guess === 'authoritative')
      hint +=
        ' As written this server is not authoritative: it will not NAK clients asking for addresses from elsewhere';
    if (this.cur.peek().kind === ';') {
      this.cur.next();
      this.note(
        t,
        'warning',
        `\`${t.text};\` is not a dhcpd.conf statement; ISC dhcpd ignores it silently and so does hadhcp`,
        hint,
      );
      return;
    }
    throw new ParseError(t, `unknown statement \`${t.text}\``, hint);
  }

  private skipToSemi(): void {
    while (this.cur.peek().kind !== ';') {
      const k = this.cur.peek().kind;
      if (k === 'eof' || k === '{' || k === '}') this.cur.semi('statement');
      this.cur.next();
    }
    this.cur.next();
  }

  private leaseTime(kw: string): LeaseSeconds {
    const t = this.cur.word('a number of seconds', `write \`${kw} 3600;\` (or -1 for infinite)`);
    // ISC: -1 means infinite (the wire value 0xffffffff).
    if (t.text === '-1') return 'infinite';
    if (!/^\d+$/.test(t.text) || Number(t.text) > 0xffffffff)
      throw new ParseError(
        t,
        `\`${kw}\`: "${t.text}" is not a number of seconds`,
        'give whole seconds, or -1 for infinite',
      );
    const n = Number(t.text);
    return n === 0xffffffff ? 'infinite' : n;
  }

  private subnet(t: Tok, ctx: Ctx): void {
    this.only(t, ctx, ['global', 'shared-network', 'group'], 'to the top level or into a shared-network');
    const cur = this.cur;
    const netTok = cur.peek();
    const net = cur.ip('subnet number');
    if (!cur.isWord('netmask'))
      throw new ParseError(
        cur.peek(),
        'expected `netmask` after the subnet number',
        `write \`subnet ${netTok.text} netmask 255.255.255.0 {\``,
      );
    cur.next();
    const maskTok = cur.peek();
    const mask = cur.ip('netmask');
    const prefix = maskToPrefix(mask);
    if (prefix === undefined)
      throw new ParseError(
        maskTok,
        `\`subnet ${netTok.text} netmask ${maskTok.text}\`: the netmask is not contiguous`,
        'hadhcp needs a prefix mask such as 255.255.255.0 (ISC accepts this mask but its meaning is unclear)',
      );
    const stmt = `subnet ${netTok.text} netmask ${maskTok.text}`;
    if ((net & mask) >>> 0 !== net)
      this.note(
        netTok,
        'error',
        `\`${stmt}\`: bad subnet number/mask combination (${netTok.text} has host bits set)`,
        `write \`subnet ${formatIp4((net & mask) >>> 0)} netmask ${maskTok.text}\``,
      );
    let sn = ctx.kind === 'shared-network' ? ctx.sharedNetwork! : undefined;
    if (!sn) {
      sn = {
        name: `${formatIp4((net & mask) >>> 0)}/${prefix}`,
        implicit: true,
        scope: newScope(ctx.scope),
        subnets: [],
        pools: [],
        pos: cur.pos(t),
      };
      this.config.sharedNetworks.push(sn);
    }
    const subnet: Subnet = {
      network: (net & mask) >>> 0,
      mask,
      prefix,
      scope: newScope(sn.scope),
      sharedNetwork: sn,
      pos: cur.pos(t),
    };
    sn.subnets.push(subnet);
    this.config.subnets.push(subnet);
    this.block({ kind: 'subnet', scope: subnet.scope, sharedNetwork: sn, subnet }, stmt);
  }

  private sharedNetwork(t: Tok, ctx: Ctx): void {
    this.only(t, ctx, ['global', 'group'], 'to the top level');
    const name = this.cur.name('shared-network name');
    const sn: SharedNetwork = {
      name: name.text,
      implicit: false,
      scope: newScope(ctx.scope),
      subnets: [],
      pools: [],
      pos: this.cur.pos(t),
    };
    this.config.sharedNetworks.push(sn);
    const close = this.block(
      { kind: 'shared-network', scope: sn.scope, sharedNetwork: sn },
      `shared-network ${name.text}`,
    );
    if (sn.subnets.length === 0)
      this.note(
        close,
        'error',
        `\`shared-network ${name.text}\`: empty shared-network declaration`,
        'declare at least one subnet inside it, or remove it',
      );
  }

  private pool(t: Tok, ctx: Ctx): void {
    this.only(t, ctx, ['shared-network', 'subnet'], 'into a subnet or shared-network');
    const sn = ctx.sharedNetwork!;
    const pool: Pool = {
      ranges: [],
      scope: newScope(ctx.scope),
      permits: {},
      sharedNetwork: sn,
      pos: this.cur.pos(t),
    };
    sn.pools.push(pool);
    const errorsBefore = this.diags.filter((d) => d.severity === 'error').length;
    const close = this.block({ ...ctx, kind: 'pool', scope: pool.scope, pool }, 'pool');
    // A range already reported as wrong would only add noise here.
    const rangeFailed = this.diags.filter((d) => d.severity === 'error').length > errorsBefore;
    if (pool.ranges.length === 0 && !rangeFailed)
      this.note(
        close,
        'error',
        '`pool` declaration with no address range',
        'a pool must contain at least one `range` statement',
      );
  }

  private range(t: Tok, ctx: Ctx): void {
    this.only(t, ctx, ['subnet', 'pool'], 'into a subnet or pool');
    const cur = this.cur;
    let dynamicBootp = false;
    if (cur.isWord('dynamic-bootp')) {
      cur.next();
      dynamicBootp = true;
    }
    const aTok = cur.peek();
    let a = cur.ip('range start');
    let b = a;
    let bTok = aTok;
    if (cur.peek().kind !== ';') {
      bTok = cur.peek();
      b = cur.ip('range end');
    }
    cur.semi('range');
    if (a > b) [a, b] = [b, a]; // ISC swaps a reversed range silently
    const stmt = `range ${aTok.text}${bTok !== aTok ? ` ${bTok.text}` : ''}`;
    const sn = ctx.sharedNetwork!;
    let subnet = ctx.subnet;
    if (ctx.kind === 'pool') {
      subnet = sn.subnets.find((s) => inSubnet(a, s.network, s.mask));
      if (!subnet)
        throw new ParseError(
          aTok,
          `\`${stmt}\`: address range not on network ${sn.name}`,
          `declare the subnet holding ${formatIp4(a)} before this pool, inside the same shared-network`,
        );
    }
    for (const [ip, tok] of [
      [a, aTok],
      [b, bTok],
    ] as const)
      if (!inSubnet(ip, subnet!.network, subnet!.mask))
        throw new ParseError(
          tok,
          `\`${stmt}\`: address ${formatIp4(ip)} is not in subnet ${formatIp4(subnet!.network)} netmask ${formatIp4(subnet!.mask)}`,
          `keep both ends of the range inside ${formatIp4(subnet!.network)}/${subnet!.prefix}`,
        );
    const range = { start: a, end: b, dynamicBootp, pos: cur.pos(t) };
    if (ctx.pool) ctx.pool.ranges.push(range);
    else {
      // ISC puts ranges written directly in a subnet into a pool of their own.
      let pool = this.implicitPools.get(subnet!);
      if (!pool) {
        pool = {
          ranges: [],
          implicit: true,
          scope: newScope(subnet!.scope),
          permits: {},
          sharedNetwork: sn,
          pos: cur.pos(t),
        };
        this.implicitPools.set(subnet!, pool);
        sn.pools.push(pool);
      }
      pool.ranges.push(range);
    }
  }

  private host(t: Tok, ctx: Ctx): void {
    this.only(
      t,
      ctx,
      ['global', 'shared-network', 'subnet', 'pool', 'group'],
      'to the top level, a group or a subnet',
    );
    // ISC wants an unquoted name here ("expecting a name for host declaration" for a string).
    const name = this.cur.word('a host name', 'write the host name unquoted: `host laptop {`');
    const host: Host = {
      name: name.text,
      fixedAddresses: [],
      scope: newScope(ctx.scope),
      pos: this.cur.pos(t),
    };
    this.config.hosts.push(host);
    this.block({ ...ctx, kind: 'host', scope: host.scope, host }, `host ${name.text}`);
  }

  private fixedAddress(t: Tok, ctx: Ctx): void {
    if (!ctx.host)
      throw new ParseError(
        t,
        '`fixed-address` is only allowed in a host declaration',
        'move it into `host NAME { ... }`',
      );
    const host = ctx.host;
    do {
      const v = ipOrHost(this, 'fixed-address');
      if (typeof v === 'number') host.fixedAddresses.push(v);
      else (host.fixedAddressNames ??= []).push(v);
    } while (this.cur.accept(','));
    this.cur.semi('fixed-address');
  }

  private include(t: Tok, ctx: Ctx): void {
    const s = this.cur.expect('string', 'a quoted file name', 'write `include "/etc/dhcp/other.conf";`');
    this.cur.semi('include');
    // ISC opens include paths as given, so a relative path is relative to dhcpd's working directory, not to
    // the including file (verified with dhcpd -t 4.4.3). We resolve against the same base.
    const path = this.io.resolve(s.text);
    if (this.includeStack.includes(path))
      throw new ParseError(
        s,
        `\`include "${s.text}"\`: ${path} includes itself (directly or through other files)`,
        'remove the include loop',
      );
    try {
      this.parseFile(path, ctx);
    } catch (e) {
      if (e instanceof ParseError) throw e;
      throw new ParseError(
        s,
        `\`include "${s.text}"\`: ${(e as Error).message}`,
        "ISC resolves relative include paths against dhcpd's working directory, not the including file: give an absolute path",
      );
    }
  }

  private failover(t: Tok, ctx: Ctx): void {
    const cur = this.cur;
    if (!cur.isWord('peer'))
      throw new ParseError(cur.peek(), 'expected `failover peer`', 'write `failover peer "NAME" { ... }`');
    cur.next();
    const name = cur.name('failover peer name');
    if (cur.peek().kind === ';') {
      cur.next();
      if (ctx.kind !== 'pool' && ctx.kind !== 'shared-network' && ctx.kind !== 'subnet')
        throw new ParseError(
          t,
          `\`failover peer "${name.text}";\` belongs in a pool`,
          'move it into the pool it serves',
        );
      const peer = this.peers.get(name.text);
      if (!peer)
        throw new ParseError(
          name,
          `\`failover peer "${name.text}";\`: failover peer ${name.text} not found`,
          `declare \`failover peer "${name.text}" { ... }\` above this pool (ISC needs it declared first)`,
        );
      peer.used = true;
      if (ctx.pool) ctx.pool.failoverPeer = name.text;
      return;
    }
    if (ctx.kind !== 'global')
      throw new ParseError(
        t,
        'a failover peer must be declared at the top level',
        'move the `failover peer "NAME" { ... }` block to the top level',
      );
    if (this.peers.has(name.text))
      throw new ParseError(
        name,
        `redeclaration of failover peer "${name.text}"`,
        'declare each failover peer once',
      );
    const draft = parsePeerBlock(cur, name.text, cur.pos(t));
    for (const p of peerProblems(draft, t)) this.note(p.tok, 'error', p.message, p.hint);
    this.peers.set(name.text, { draft, tok: t, used: false });
    this.config.failoverPeers.push(draft.peer);
  }

  private key(t: Tok, ctx: Ctx): void {
    this.only(t, ctx, ['global'], 'to the top level');
    const cur = this.cur;
    const name = cur.name('key name');
    cur.expect('{', '`{`', `open the key ${name.text} block with {`);
    let algorithm: string | undefined;
    let secret: string | undefined;
    while (cur.peek().kind !== '}' && cur.peek().kind !== 'eof') {
      const start = cur.index;
      try {
        const w = cur.word(
          '`algorithm` or `secret`',
          'a key block holds `algorithm NAME;` and `secret BASE64;`',
        );
        if (w.text === 'algorithm') {
          algorithm = cur.name('algorithm').text;
          cur.semi('algorithm');
        } else if (w.text === 'secret') {
          secret = checkBase64(cur);
        } else
          throw new ParseError(
            w,
            `unknown key statement "${w.text}"`,
            'a key block holds `algorithm NAME;` and `secret BASE64;`',
          );
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        this.error(e);
        secret ??= ''; // reported already; do not also call it missing
        cur.recover();
        if (cur.index === start) cur.next();
      }
    }
    const close = cur.expect('}', '`}`', `close the key ${name.text} block with }`);
    // dhcpd 4.4.3 crashes on a key without a secret; tell the operator instead.
    if (algorithm === undefined || secret === undefined)
      this.note(
        close,
        'error',
        `key ${name.text}: ${secret === undefined ? 'secret' : 'algorithm'} missing`,
        'a key needs both `algorithm hmac-md5;` and `secret BASE64;`',
      );
    (this.config.keys ??= []).push({
      name: name.text,
      algorithm: algorithm ?? '',
      secret: secret ?? '',
      pos: cur.pos(t),
    });
    this.note(t, 'note', '`key` has no effect in hadhcp (used only for OMAPI and DDNS)');
  }

  /** Checks that need the whole file: ISC runs them after parsing. */
  finish(): void {
    const ok = this.omapiKeyTok;
    if (ok && !this.config.keys?.some((x) => x.name === ok.tok.text))
      this.diags.push({
        severity: 'error',
        file: ok.file,
        line: ok.tok.line,
        col: ok.tok.col,
        message: `\`omapi-key ${ok.tok.text}\`: no key "${ok.tok.text}" is defined`,
        hint: `declare \`key ${ok.tok.text} { algorithm hmac-md5; secret ...; }\``,
      });
    for (const [name, p] of this.peers)
      if (!p.used)
        this.diags.push({
          severity: 'error',
          ...p.draft.peer.pos,
          message: `failover peer "${name}" has no referring pools`,
          hint: `add \`failover peer "${name}";\` to each pool it serves, or remove the peer`,
        });
    for (const { draft } of this.peers.values())
      if (draft.peer.loadBalanceMaxSeconds === 0)
        this.diags.push({
          severity: 'note',
          ...draft.peer.pos,
          message: `failover peer "${draft.peer.name}": load balancing is off because \`load balance max seconds\` is 0 (the default); both servers answer every client`,
          hint: 'add `load balance max seconds 3;` to both peers to split clients by hash',
        });
    this.overlaps();
  }

  /** ISC: "lease X is declared twice!" for addresses in two ranges. */
  private overlaps(): void {
    const all = this.config.sharedNetworks.flatMap((sn) => sn.pools.flatMap((p) => p.ranges));
    all.sort((x, y) => x.start - y.start);
    for (let i = 1; i < all.length; i++) {
      const prev = all[i - 1]!;
      const r = all[i]!;
      if (r.start <= prev.end) {
        const [first, second] =
          prev.pos.line <= r.pos.line && prev.pos.file === r.pos.file ? [prev, r] : [r, prev];
        this.diags.push({
          severity: 'error',
          ...second.pos,
          message: `range ${formatIp4(r.start)}-${formatIp4(Math.min(r.end, prev.end))} overlaps the range declared at ${first.pos.file}:${first.pos.line}:${first.pos.col} (ISC: lease ${formatIp4(r.start)} is declared twice)`,
          hint: 'make the ranges disjoint',
        });
      }
    }
  }

  peerNames(): FailoverPeerConfig[] {
    return this.config.failoverPeers;
  }
}

/** Applies `drop` to every branch body of `conds`, nested `if`s included. */
function shadow(conds: Conditional[], drop: (s: Scope) => void): void {
  for (const c of conds)
    for (const b of c.branches) {
      drop(b.scope);
      if (b.scope.conditionals) shadow(b.scope.conditionals, drop);
    }
}
