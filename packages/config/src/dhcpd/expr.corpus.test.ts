import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { optionsFromDefs, parseExprSource } from './expr-parse.js';

/**
 * Parse verdicts against ISC: each expression is read by hadhcp and, inside `on commit { if EXPR { } }` (boolean)
 * or `on commit { log(info, EXPR); }` (data), by `dhcpd -t`. Both must accept or both reject, with ISC's message
 * where we reject; `differs` marks where we refuse on purpose what ISC accepts. Skips without dhcpd (fails in CI).
 */
const DHCPD = '/usr/sbin/dhcpd';
const haveDhcpd = existsSync(DHCPD);
const scratch = mkdtempSync(join(tmpdir(), 'hadhcp-expr-t-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const PRELUDE = 'option arch code 93 = unsigned integer 16;\n';
const opts = { options: optionsFromDefs(new Map([['arch', { code: 93, name: 'arch' }]])) };

/** [kind, expression, ISC's message when it rejects (undefined: accepts), why we differ] */
type Row = ['boolean' | 'data', string, string?, string?];
const rows: Row[] = [
  ['boolean', 'exists user-class and option user-class = "iPXE"'],
  ['boolean', 'option arch = 00:09 or option arch = 00:07'],
  ['boolean', 'substring(option vendor-class-identifier, 0, 9) = "PXEClient"'],
  ['boolean', 'not exists user-class'],
  ['boolean', '((known or static))'],
  ['boolean', 'option vendor-class-identifier ~~ "^android"'],
  ['boolean', 'binary-to-ascii(16, 8, ":", substring(hardware, 1, 3)) = "0:1a:2b"'],
  ['boolean', 'option agent.circuit-id = "eth0"'],
  ['boolean', 'exists agent.remote-id'],
  ['boolean', 'extract-int(option arch, 16) = 7'],
  ['boolean', 'option dhcp-client-identifier = 01:00:0c:29:01:02:03'],
  ['boolean', 'packet(0, 1) = 01'],
  ['boolean', 'lease-time = 600'],
  ['boolean', 'leased-address = 0a:00:00:01'],
  ['boolean', 'host-decl-name = "pc1"'],
  ['boolean', 'gethostname() = "vm"'],
  ['boolean', 'config-option domain-name = "x"'],
  ['boolean', 'reverse(1, hardware) = hardware'],
  ['boolean', '1 = "a"'],
  ['boolean', 'extract-int(option arch, 16) + 1 = 8', 'illegal expression relating different types'],
  ['boolean', 'known and', 'expecting right-hand side.'],
  ['boolean', 'option = "x"', 'expecting identifier after option keyword.'],
  ['boolean', 'substring(hardware, 1, 3) == 00:0c:29', 'expecting right-hand side.'],
  ['boolean', 'known or not', 'expression expected'],
  ['boolean', 'option arch = 00:07 and (exists user-class', 'right paren expected'],
  ['boolean', 'not "a" = "b"', 'boolean expression expected'],
  ['boolean', 'known = known', 'expecting data/numeric expression'],
  ['boolean', 'substring("a", 0, 1)', 'Expecting a boolean expression.'],
  ['boolean', 'exists foo-bar', 'no option named foo-bar in space dhcp'],
  [
    'boolean',
    'option vendor-class-identifier = PXEClient',
    undefined,
    'ISC reads PXEClient as a variable, never set, so the test never matches a client that sent the option',
  ],
  ['boolean', 'foo(1)', undefined, 'a user function: hadhcp has none'],
  ['data', 'binary-to-ascii(16, 8, ":", substring(hardware, 1, 6))'],
  ['data', 'concat("pxe-", binary-to-ascii(10, 8, "-", leased-address))'],
  ['data', 'pick-first-value(option host-name, host-decl-name, "unknown")'],
  ['data', 'encode-int(lease-time / 2, 32)'],
  ['data', 'concat("a", "b", "c")'],
  ['data', 'null'],
  ['data', 'lcase(1)'],
  ['data', 'substring(hardware, 1, 6', 'right parenthesis expected.'],
  ['data', 'concat("a", "b",)', 'expecting data expression.'],
  ['data', 'binary-to-ascii(16, 8, ":")', 'comma expected.'],
  ['data', 'encode-int(1, 12)', 'unsupported integer size 12'],
  ['data', 'encode-int(10 - 3, 32)', 'comma expected.'],
  ['data', 'binary-to-ascii(10, 8, ".", 258)', '258 exceeds max (255) for precision.'],
  ['data', 'gethostname', 'left parenthesis expected.'],
  ['data', 'lcase()', 'expecting data expression.'],
];

/** Rejections where our message is ours, not ISC's (ISC's wording depends on how far its parser got). */
const SAYS_OTHERWISE = new Set([
  'option = "x"', // ours: expected an option name, found `=`
  'option arch = 00:07 and (exists user-class', // ISC: "right paren expected" here, "right parenthesis expected." elsewhere
  'concat("a", "b",)', // ours: `)` is not an expression
  'lcase()', // ours: `)` is not an expression
]);

function isc(kind: Row[0], src: string): { ok: boolean; output: string } {
  const file = join(scratch, 'expr.conf');
  const stmt = kind === 'boolean' ? `if ${src} { log(info, "x"); }` : `log(info, ${src});`;
  writeFileSync(file, `${PRELUDE}on commit {\n${stmt}\n}\n`);
  const r = spawnSync(
    DHCPD,
    ['-t', '-4', '-cf', file, '-lf', join(scratch, 'l'), '-pf', join(scratch, 'p')],
    {
      encoding: 'utf8',
      timeout: 20_000,
    },
  );
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

describe('expressions: our verdict and dhcpd -t', () => {
  for (const [kind, src, iscMessage, differs] of rows) {
    const weAccept = iscMessage === undefined && differs === undefined;
    it(`${src}: we ${weAccept ? 'accept' : 'reject'}`, () => {
      const r = parseExprSource(src, kind, opts);
      expect(r.expr !== undefined, JSON.stringify(r.diagnostics)).toBe(weAccept);
      const err = r.diagnostics.find((d) => d.severity === 'error');
      if (!weAccept) expect(err?.hint).toBeTruthy();
      if (iscMessage !== undefined && !SAYS_OTHERWISE.has(src)) expect(err?.message).toBe(iscMessage);
    });
    it(`${src}: dhcpd -t ${iscMessage === undefined ? 'accepts' : `says "${iscMessage}"`}`, (ctx) => {
      if (!haveDhcpd) {
        if (process.env.CI) throw new Error(`${DHCPD} is missing: install isc-dhcp-server in CI`);
        ctx.skip(`${DHCPD} not installed (apt install isc-dhcp-server)`);
      }
      const out = isc(kind, src);
      expect(out.ok, out.output).toBe(iscMessage === undefined);
      if (iscMessage !== undefined) expect(out.output).toContain(`line 3: ${iscMessage}`);
    });
  }
});
