import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostics, readDhcpdConf } from './index.js';

/**
 * Every fixture is read by hadhcp and by ISC's `dhcpd -t`; both must give the verdict the fixture's header
 * states (`# expect: ok|reject`), and hadhcp must report each `# expect-diag: SEVERITY LINE:COL TEXT`.
 * Includes in fixtures are relative to the fixture folder, which is where dhcpd runs (ISC resolves includes
 * against its working directory).
 */
const DIR = fileURLToPath(new URL('../../fixtures/dhcpd/', import.meta.url));
const DHCPD = '/usr/sbin/dhcpd';
const haveDhcpd = existsSync(DHCPD);
const scratch = mkdtempSync(join(tmpdir(), 'hadhcp-dhcpd-t-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Expectation {
  verdict: 'ok' | 'reject';
  diags: Array<{ severity: string; line: number; col: number; text: string }>;
}

function expectations(file: string): Expectation {
  const src = readFileSync(join(DIR, file), 'utf8');
  const verdict = /^# expect: (ok|reject)$/m.exec(src)?.[1] as Expectation['verdict'] | undefined;
  if (!verdict) throw new Error(`${file}: no "# expect: ok|reject" header`);
  const diags = [...src.matchAll(/^# expect-diag: (\w+) (\d+):(\d+) (.+)$/gm)].map((m) => ({
    severity: m[1]!,
    line: Number(m[2]),
    col: Number(m[3]),
    text: m[4]!,
  }));
  return { verdict, diags };
}

/** `dhcpd -t` only parses; -lf/-pf point into a scratch folder so nothing under /var is touched. */
function iscVerdict(file: string): { ok: boolean; output: string } {
  const r = spawnSync(
    DHCPD,
    ['-t', '-4', '-cf', file, '-lf', join(scratch, 'leases'), '-pf', join(scratch, 'pid')],
    { cwd: DIR, encoding: 'utf8', timeout: 20_000 },
  );
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.conf'))
  .sort();

describe('dhcpd.conf corpus', () => {
  it('has the seven seed configs, the capture configs and at least 15 of our own', () => {
    expect(fixtures.filter((f) => f.startsWith('seed-'))).toHaveLength(7);
    expect(fixtures.filter((f) => f.startsWith('capture-'))).toHaveLength(2);
    expect(fixtures.filter((f) => f.startsWith('ok-') || f.startsWith('bad-')).length).toBeGreaterThanOrEqual(
      15,
    );
  });

  it('ISC agrees with the seeds as the issue reports: five accepted, two rejected', () => {
    const seeds = fixtures.filter((f) => f.startsWith('seed-'));
    expect(seeds.filter((f) => expectations(f).verdict === 'ok')).toHaveLength(5);
  });

  for (const file of fixtures) {
    const exp = expectations(file);
    it(`${file}: hadhcp says ${exp.verdict}`, () => {
      const r = readDhcpdConf(file, { cwd: DIR });
      const shown = formatDiagnostics(r.diagnostics);
      expect(r.config !== undefined ? 'ok' : 'reject', shown).toBe(exp.verdict);
      for (const d of exp.diags) {
        const hit = r.diagnostics.find(
          (x) =>
            basename(x.file) === file &&
            x.severity === d.severity &&
            x.line === d.line &&
            x.col === d.col &&
            `${x.message} ${x.hint ?? ''}`.includes(d.text),
        );
        expect(
          hit,
          `expected ${d.severity} at ${d.line}:${d.col} containing "${d.text}"; got:\n${shown}`,
        ).toBeDefined();
      }
      // Every diagnostic has a position and errors say what to do.
      for (const x of r.diagnostics) {
        expect(x.line).toBeGreaterThan(0);
        if (x.severity === 'error') expect(x.hint, x.message).toBeTruthy();
      }
    });

    it(`${file}: ISC dhcpd -t says ${exp.verdict}`, (ctx) => {
      if (!haveDhcpd) {
        if (process.env.CI) throw new Error(`${DHCPD} is missing: install isc-dhcp-server in CI`);
        ctx.skip(
          `${DHCPD} not installed; the reference check needs ISC dhcpd 4.4 (apt install isc-dhcp-server)`,
        );
      }
      const isc = iscVerdict(file);
      expect(isc.ok ? 'ok' : 'reject', isc.output).toBe(exp.verdict);
    });
  }
});
