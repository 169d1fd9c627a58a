/**
 * ISC's expression language against ISC itself. How each expected value was obtained is said per case:
 * - "probe Tnn/Bnn": dhcpd 4.4.3 run for real (fixtures/expr/probe.sh: a network namespace, udhcpc as the client,
 *   `log(...)` in `on commit`); its output is fixtures/expr/probe.log. The context below is that client's.
 *   "Hnn": the same with a host declaration (probe-host.sh; probe-host.log and probe-host-efi.log).
 * - "dhcpd -t": `dhcpd -t -4 -cf FILE` on `on commit { ...; }` holding the expression (verdict, line, message).
 * - "tree.c": read from ISC 4.4's common/tree.c where no run was made (said so).
 */
import { describe, expect, it } from 'vitest';
import { compileBoolean, compileData, compileNumeric } from './expr-eval.js';
import { optionsFromDefs, parseExprSource } from './expr-parse.js';
import type { EvalContext, Expr } from './expr-types.js';

const enc = (s: string) => new TextEncoder().encode(s);
const MAC = [0x52, 0x54, 0x00, 0x0a, 0x1b, 0x2c];

/** The probe's DHCPREQUEST as far as expressions read it: BOOTP header (RFC 2131 2) and the magic cookie. */
function request(): Uint8Array {
  const raw = new Uint8Array(300);
  raw[0] = 1; // op BOOTREQUEST
  raw[1] = 1; // htype ethernet
  raw[2] = 6; // hlen
  raw.set(MAC, 28); // chaddr
  raw.set([0x63, 0x82, 0x53, 0x63], 236); // magic cookie
  return raw;
}

function probeClient(
  over: Partial<EvalContext> = {},
  opts: Record<string, string | Uint8Array> = {},
): EvalContext {
  const options = new Map<string, Uint8Array>([
    ['dhcp.60', enc('PXEClient:Arch:00000:UNDI:002001')],
    ...Object.entries(opts).map(([k, v]) => [k, typeof v === 'string' ? enc(v) : v] as [string, Uint8Array]),
  ]);
  const config = new Map<string, Uint8Array>([['dhcp.15', enc('Example.Org')]]);
  return {
    raw: request(),
    option: (space, code) => options.get(`${space}.${code}`) ?? null,
    configOption: (space, code) => config.get(`${space}.${code}`) ?? null,
    known: false,
    isStatic: false,
    leasedAddress: Uint8Array.of(10, 77, 0, 100),
    hostDeclName: null,
    leaseTime: 600,
    hostname: enc('vm'),
    ...over,
  };
}

function parse(src: string, want: 'boolean' | 'data' | 'numeric' | 'any' = 'any'): Expr {
  const r = parseExprSource(src, want);
  if (!r.expr) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join('; '));
  return r.expr;
}

function run(
  src: string,
  c: EvalContext = probeClient(),
  want: 'boolean' | 'any' = 'any',
): string | number | boolean | null {
  const e = parse(src, want);
  if (e.kind === 'boolean') return compileBoolean(e.expr)(c);
  if (e.kind === 'numeric') return compileNumeric(e.expr)(c);
  const v = compileData(e.expr)(c);
  return v === null ? null : String.fromCharCode(...v);
}

/** [expression, expected, how it was obtained] */
type Row = [string, string | number | boolean | null, string];
/** `boolean` parses as `if` does (a bare number first is then hex data); `any` as `log()`'s argument. */
const table = (rows: Row[], c?: () => EvalContext, want: 'boolean' | 'any' = 'any') =>
  it.each(rows)('%s', (src, v) => expect(run(src, c?.(), want)).toBe(v));

describe('data forms', () => {
  describe('hardware, packet, leased-address', () => {
    table([
      ['binary-to-ascii(16, 8, ":", substring(hardware, 1, 6))', '52:54:0:a:1b:2c', 'probe T01'],
      ['binary-to-ascii(16, 8, ":", hardware)', '1:52:54:0:a:1b:2c', 'probe T02'],
      ['binary-to-ascii(10, 8, ".", leased-address)', '10.77.0.100', 'probe T04'],
      ['binary-to-ascii(16, 8, ":", packet(0, 4))', '1:1:6:0', 'probe T22'],
      ['packet(236, 4)', 'c\x82Sc', 'probe T38 (the magic cookie)'],
      ['packet(100000, 4)', null, 'probe T39'],
    ]);
    it('hardware is null without a request and with hlen > 16 (tree.c)', () => {
      expect(run('hardware', probeClient({ raw: null }))).toBeNull();
      const raw = request();
      raw[2] = 17;
      expect(run('hardware', probeClient({ raw }))).toBeNull();
      expect(run('leased-address', probeClient({ leasedAddress: null }))).toBeNull();
    });
  });

  describe('substring and suffix', () => {
    table([
      ['substring("abc", 5, 2)', '', 'probe T08: past the end is empty, not null'],
      ['substring("abcdef", 2, 100)', 'cdef', 'probe T09: clamped'],
      ['suffix("abcdef", 2)', 'ef', 'probe T10'],
      ['suffix("ab", 20)', 'ab', 'probe T11'],
      ['substring(option user-class, 0, 4)', null, 'tree.c: null operand'],
      ['suffix(option user-class, 1)', null, 'tree.c: null operand'],
    ]);
  });

  describe('options', () => {
    table([
      ['option vendor-class-identifier', 'PXEClient:Arch:00000:UNDI:002001', 'probe T14'],
      ['config-option domain-name', 'Example.Org', 'probe T15'],
      ['option user-class', null, 'probe T03 (the client sent none)'],
      ['option agent.remote-id', null, 'dhcpd -t accepts agent.NAME'],
      ['null', null, 'dhcpd -t accepts `null`; tree.c: always null'],
    ]);
    it('option SPACE.NAME reads the sub-option space (agent = relay agent information)', () => {
      const c = probeClient({}, { 'agent.1': 'eth0/1' });
      expect(run('option agent.circuit-id', c)).toBe('eth0/1');
    });
  });

  describe('concat, lcase, ucase, reverse, pick-first-value', () => {
    table([
      ['concat("a", option user-class)', null, 'probe T03: null if either side is'],
      ['concat(lcase("AbC"), ucase("AbC"))', 'abcABC', 'probe T12'],
      ['concat("a", "b", "c")', 'abc', 'dhcpd -t accepts three arguments'],
      ['binary-to-ascii(16, 8, ":", reverse(2, 01:02:03:04:05:06))', '5:6:3:4:1:2', 'probe T13'],
      ['reverse(3, 01:02:03:04)', null, 'probe T30: not a multiple of the width'],
      ['reverse(0, "ab")', null, 'tree.c divides by 0 here; we give null'],
      ['pick-first-value(option user-class, option nis-domain, "third")', 'third', 'probe T40'],
      ['pick-first-value(option user-class)', null, 'tree.c'],
      ['lcase(1)', '\x01', 'probe T35: a bare number where data is wanted is a hex octet'],
      ['lcase(option user-class)', null, 'tree.c'],
    ]);
  });

  describe('host-decl-name, gethostname', () => {
    table([
      ['host-decl-name', null, 'probe T16: no host declaration'],
      ['gethostname()', 'vm', 'probe T17 (the lab host is "vm")'],
    ]);
    it('host-decl-name is the host declaration name', () => {
      expect(run('host-decl-name', probeClient({ hostDeclName: enc('pxe-1') }))).toBe('pxe-1');
    });
  });

  describe('binary-to-ascii and encode-int', () => {
    table([
      ['binary-to-ascii(16, 8, ",", encode-int(258, 16))', '1,2', 'probe T05'],
      ['binary-to-ascii(8, 8, " ", 07:08:40:ff)', '7 10 100 377', 'probe T23'],
      ['binary-to-ascii(16, 16, " ", 01:02:00:0a)', '102 a', 'probe T24'],
      ['binary-to-ascii(16, 8, ":", 01:02:03)', '1:2:3', 'probe T25'],
      ['binary-to-ascii(10, 8, ".", encode-int(300, 8))', '44', 'probe T26: the low 8 bits'],
      ['binary-to-ascii(2, 8, "-", 05:ff)', '101-11111111', 'probe T41'],
      ['binary-to-ascii(10, 12, ".", "ab")', null, 'probe T36: width not 8/16/32'],
      ['binary-to-ascii(10, 16, ".", "abc")', null, 'probe T37: not a multiple of the width'],
      ['binary-to-ascii(10, 32, "", encode-int(4294967295, 32))', '4294967295', 'tree.c'],
      ['encode-int(lease-time, 32)', '\x00\x00\x02\x58', 'probe T18: 600'],
    ]);
  });
});

describe('numeric forms', () => {
  table([
    ['extract-int(01:02, 16)', 258, 'probe B18'],
    ['extract-int(01:02:03, 16)', 258, 'probe T42: extra bytes ignored'],
    ['extract-int("A", 16)', null, 'probe T07: too short'],
    ['extract-int(option user-class, 8)', null, 'probe T06'],
    ['extract-int("", 8)', null, 'dhcpd 4.4.3 crashed (SIGSEGV) on this in the probe; we give null'],
    ['extract-int(01:02:03:04, 32)', 0x01020304, 'tree.c getULong'],
    ['lease-time', 600, 'probe T18'],
    ['1 + 2 * 3', 9, 'probe T19: ISC groups (1 + 2) * 3'],
    ['2 * 3 + 1', 8, 'probe T32: ISC groups 2 * (3 + 1)'],
    ['1 | 2 + 3', 6, 'probe T33: (1 | 2) + 3'],
    ['12 & 10 | 1', 9, 'probe T29'],
    ['20 / 3', 6, 'probe T34'],
    ['7 / 0', null, 'probe T20'],
    ['7 % 3', 1, 'probe T28'],
    ['7 % 0', null, 'tree.c'],
    ['5 ^ 1', 4, 'tree.c'],
  ]);
  it('lease-time is null without a lease', () => {
    expect(run('lease-time', probeClient({ leaseTime: null }))).toBeNull();
  });
});

describe('boolean forms', () => {
  table(
    [
      ['"a" = "a" or "a" = "b" and "a" = "b"', true, 'probe B01: (a=a) or ((a=b) and (a=b))'],
      // probe B17 printed "not true" (its `if` had no tri-state branch): (a=b) and (...) is null, as B14/B20 show.
      ['"a" = "b" and "a" = "b" or "a" = "a"', null, 'probe B17: (a=b) and ((a=b) or (a=a))'],
      ['option user-class = option nis-domain', true, 'probe B02: both null is equal'],
      ['option user-class = "x"', false, 'probe B03: one null side is unequal'],
      ['option user-class != "x"', true, 'probe B04'],
      ['option user-class ~= "x"', null, 'probe B05'],
      ['option vendor-class-identifier ~~ "^pxeclient:arch:0+$"', false, 'probe B06'],
      ['option vendor-class-identifier ~= "^pxeclient"', false, 'probe B07: ~= is case-sensitive'],
      [
        'option vendor-class-identifier ~~ "^pxeclient:ARCH:[[:digit:]]{5}"',
        true,
        'probe B23: POSIX class, icase',
      ],
      ['option vendor-class-identifier ~= "["', false, 'probe B19: a broken pattern is false, not null'],
      ['known', false, 'probe B08'],
      ['static', false, 'probe B09'],
      ['exists user-class', false, 'probe B10'],
      ['exists vendor-class-identifier', true, 'tree.c'],
      ['exists vendor-class-identifier and option user-class = "x"', false, 'probe B11'],
      ['(option user-class ~= "x") or "a" = "a"', true, 'probe B12'],
      ['(option user-class ~= "x") and "a" = "b"', null, 'probe B13'],
      ['"a" = "b" and (option user-class ~= "x")', null, 'probe B14: false and null is null'],
      ['not ("a" = "b" and "a" = "a")', null, 'probe B20: false and true is null too'],
      ['"a" = "b" or (option user-class ~= "x")', false, 'probe B21'],
      ['(option user-class ~= "x") or (option user-class ~= "y")', null, 'probe B22'],
      ['not ("a" = "b")', true, 'probe B15'],
      ['"a" = 61', true, 'probe B24: 61 on the right of data is the octet 0x61'],
      ['1 = 01', true, 'probe B25: both hex octets'],
      ['1 = "a"', false, 'dhcpd -t accepts: the octet 01 against "a"'],
      ['1 = "\\001"', true, 'tree.c: the same octet'],
      ['known or static or exists user-class', false, 'probe B26'],
      ['not not known', false, 'dhcpd -t accepts; tree.c'],
      ['not known and static', false, 'dhcpd -t accepts: (not known) and static'],
      ['option vendor-class-identifier ~~ 1', false, 'dhcpd -t accepts: 1 is the octet 01 here'],
      ['extract-int(01:02, 16) = 258', true, 'probe B18'],
      ['extract-int(option user-class, 8) = extract-int(option nis-domain, 8)', true, 'tree.c: null = null'],
    ],
    undefined,
    'boolean',
  );
  it('known is what the core says, null outside a request (tree.c)', () => {
    expect(run('known', probeClient({ known: true }))).toBe(true);
    expect(run('not known', probeClient({ known: null }))).toBeNull();
    expect(run('static', probeClient({ isStatic: true }))).toBe(true);
  });
});

describe('real-site snippets', () => {
  const ipxe = (userClass?: string, arch?: Uint8Array) =>
    probeClient({}, { ...(userClass ? { 'dhcp.77': userClass } : {}), ...(arch ? { 'dhcp.93': arch } : {}) });
  // As the site's file declares it: `option arch code 93 = unsigned integer 16;`
  const opts = { options: optionsFromDefs(new Map([['arch', { code: 93, name: 'arch' }]])) };
  const compile = (src: string) => {
    const r = parseExprSource(src, 'boolean', opts);
    if (r.expr?.kind !== 'boolean') throw new Error(JSON.stringify(r.diagnostics));
    return compileBoolean(r.expr.expr);
  };

  it('iPXE chain: if exists user-class and option user-class = "iPXE" ... elsif option arch = 00:07', () => {
    const isIpxe = compile('exists user-class and option user-class = "iPXE"');
    const efi64 = compile('option arch = 00:07');
    expect(isIpxe(ipxe('iPXE'))).toBe(true);
    // A PXE ROM sends no user class: `exists` is false, so `and` is null (treated as false by `if`).
    expect(isIpxe(ipxe(undefined, Uint8Array.of(0, 7)))).toBeNull();
    expect(efi64(ipxe(undefined, Uint8Array.of(0, 7)))).toBe(true);
    expect(efi64(ipxe(undefined, Uint8Array.of(0, 0)))).toBe(false);
  });

  it('vendor class: match if substring(option vendor-class-identifier, 0, 9) = "PXEClient"', () => {
    const m = compile('substring(option vendor-class-identifier, 0, 9) = "PXEClient"'); // probe B16
    expect(m(probeClient())).toBe(true);
    expect(m(probeClient({ option: () => null }))).toBe(false);
    expect(m(probeClient({}, { 'dhcp.60': 'MSFT 5.0' }))).toBe(false);
  });

  it('per-MAC subclass key: binary-to-ascii(16, 8, ":", substring(hardware, 1, 6))', () => {
    expect(run('binary-to-ascii(16, 8, ":", substring(hardware, 1, 6))')).toBe('52:54:0:a:1b:2c'); // probe T01
  });
});

describe('a known client with a fixed address (probe-host: fixtures/expr/probe-host.sh)', () => {
  // The client as dhcpd saw it: host pxe-1 matched, fixed address 10.77.0.50, user-class "iPXE", host-name probe-7.
  const host = (opts: Record<string, string | Uint8Array>) =>
    probeClient(
      {
        known: true,
        isStatic: true,
        hostDeclName: enc('pxe-1'),
        leasedAddress: Uint8Array.of(10, 77, 0, 50),
      },
      opts,
    );
  const ipxe = () => host({ 'dhcp.77': 'iPXE', 'dhcp.12': 'probe-7' });
  const efi = () => host({ 'dhcp.93': Uint8Array.of(0, 7) });
  describe('iPXE client (probe-host.log)', () => {
    table(
      [
        ['known', true, 'H01'],
        ['static', true, 'H02'],
        ['host-decl-name', 'pxe-1', 'H03'],
        ['exists user-class', true, 'H04'],
        ['exists user-class and option user-class = "iPXE"', true, 'H05 (the iPXE branch was taken)'],
        ['binary-to-ascii(10, 8, ".", leased-address)', '10.77.0.50', 'H06'],
        ['binary-to-ascii(16, 8, ":", option user-class)', '69:50:58:45', 'H07'],
        ['option host-name', 'probe-7', 'H08'],
        ['ucase(option host-name)', 'PROBE-7', 'H09'],
        ['option host-name ~~ "^PROBE-[0-9]+$"', true, 'H10'],
        ['option host-name ~= "^PROBE"', false, 'H11'],
      ],
      ipxe,
    );
  });
  describe('UEFI PXE ROM, arch 7, no user class (probe-host-efi.log)', () => {
    const arch = { options: optionsFromDefs(new Map([['arch', { code: 93, name: 'arch' }]])) };
    it.each<Row>([
      ['exists user-class', false, 'H04'],
      ['exists user-class and option user-class = "iPXE"', null, 'H05: not taken (null is false)'],
      ['option arch = 00:07', true, 'H05: the elsif branch was taken'],
      ['option host-name ~~ "^PROBE-[0-9]+$"', null, 'H10: not true'],
    ])('%s', (src, want) => {
      const r = parseExprSource(src, 'boolean', arch);
      if (r.expr?.kind !== 'boolean') throw new Error(JSON.stringify(r.diagnostics));
      expect(compileBoolean(r.expr.expr)(efi())).toBe(want);
    });
  });
});

describe('parse errors and refusals', () => {
  /** [source, wanted kind, line:col we report, message; how ISC's verdict was obtained] */
  type ErrRow = [string, 'boolean' | 'data' | 'any', string, string, string];
  it.each<ErrRow>([
    ['substring("a", 0, 1)', 'boolean', '1:1', 'Expecting a boolean expression.', 'dhcpd -t: same message'],
    ['known and "a"', 'boolean', '1:11', 'illegal expression relating different types', 'dhcpd -t: same'],
    ['"a" and known', 'boolean', '1:9', 'illegal expression relating different types', 'dhcpd -t: same'],
    ['"a" ~= known', 'boolean', '1:8', 'illegal expression relating different types', 'dhcpd -t: same'],
    ['known = known', 'boolean', '1:9', 'expecting data/numeric expression', 'dhcpd -t: same'],
    ['not "a" = "b"', 'boolean', '1:5', 'boolean expression expected', 'dhcpd -t: same'],
    ['concat("a", known)', 'data', '1:13', 'Expecting a data expression.', 'dhcpd -t: same'],
    ['substring("a", "b", 1)', 'data', '1:16', 'Expecting a numeric expression.', 'dhcpd -t: same'],
    ['encode-int(1, 12)', 'data', '1:15', 'unsupported integer size 12', 'dhcpd -t: same'],
    ['extract-int("ab", 12)', 'any', '1:19', 'unsupported integer size 12', 'dhcpd -t: same'],
    ['option no-such-opt', 'data', '1:8', 'no option named no-such-opt in space dhcp', 'dhcpd -t: same'],
    ['exists foo-bar', 'boolean', '1:8', 'no option named foo-bar in space dhcp', 'dhcpd -t: same'],
    ['concat("a")', 'data', '1:11', 'comma expected.', 'dhcpd -t: same'],
    ['substring(hardware, 1)', 'data', '1:22', 'comma expected.', 'dhcpd -t: same'],
    ['encode-int(10 - 3, 32)', 'data', '1:15', 'comma expected.', 'dhcpd -t: same ("a - b" does not parse)'],
    [
      '10-3',
      'any',
      '1:1',
      'subtraction is not supported',
      'ISC reads a variable named 10-3: null (probe T21)',
    ],
    ['foo(1)', 'boolean', '1:1', 'unknown function `foo`', 'dhcpd -t accepts (a user function); we refuse'],
    ['substrin("a", 0, 1)', 'data', '1:1', 'unknown function `substrin`', 'ours'],
    ['pxeclient', 'data', '1:1', '`pxeclient` is not an expression', 'ISC reads a variable; we refuse'],
    ['encapsulate foo', 'data', '1:1', '`encapsulate` is not supported in expressions', 'ours'],
    [
      '"a" = extract-int(01, 8)',
      'boolean',
      '1:7',
      'illegal expression relating different types',
      'dhcpd -t: same',
    ],
    [
      'extract-int(01, 8) = "a"',
      'boolean',
      '1:22',
      'illegal expression relating different types',
      'dhcpd -t: same',
    ],
    ['"a" = "a" = "a"', 'boolean', '1:13', 'illegal expression relating different types', 'dhcpd -t: same'],
    [
      'binary-to-ascii(10, 8, ".", 258)',
      'data',
      '1:29',
      '258 exceeds max (255) for precision.',
      'dhcpd -t: same',
    ],
    ['gethostname', 'data', '1:12', 'left parenthesis expected.', 'dhcpd -t: same'],
  ])('%s', (src, want, at, message) => {
    const r = parseExprSource(src, want);
    expect(r.expr).toBeUndefined();
    const d = r.diagnostics[0]!;
    expect(`${d.line}:${d.col}`).toBe(at);
    expect(d.message).toBe(message);
    expect(d.hint).toBeTruthy();
  });

  it('an unknown function gets a did-you-mean', () => {
    expect(parseExprSource('substrin("a", 0, 1)', 'data').diagnostics[0]!.hint).toBe(
      'did you mean `substring`?',
    );
  });

  it('a constant regular expression that does not compile is a warning (ISC says nothing and never matches)', () => {
    const r = parseExprSource('option vendor-class-identifier ~= "["', 'boolean');
    expect(r.expr).toBeDefined();
    expect(r.diagnostics).toMatchObject([{ severity: 'warning', line: 1, col: 35 }]);
  });

  it('positions follow the file across lines', () => {
    const r = parseExprSource('exists user-class and\n  option user-class = nope', 'boolean');
    expect(r.diagnostics[0]).toMatchObject({ line: 2, col: 23, message: '`nope` is not an expression' });
  });
});

describe('compiled once, evaluated without rebuilding', () => {
  it('a data result is reused storage: equal values across calls, copy to keep', () => {
    const e = parse('concat("x:", binary-to-ascii(16, 8, ":", substring(hardware, 1, 6)))');
    if (e.kind !== 'data') throw new Error('kind');
    const f = compileData(e.expr);
    const c = probeClient();
    const a = f(c)!;
    const b = f(c)!;
    expect(a.buffer).toBe(b.buffer);
    expect(String.fromCharCode(...b)).toBe('x:52:54:0:a:1b:2c');
  });
});
