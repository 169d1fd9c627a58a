/**
 * The fixture corpus against the real thing: every fixtures/keepalived/*.conf goes through our checker and
 * `keepalived -t -f FILE` (works unprivileged and touches nothing; keepalived 2.2.7 prints its findings on stderr
 * as "(file: Line N) message"). We assert the same exit code, that every line keepalived complains about is a
 * line we report too, and for files annotated `! at: LINE:COL` that we report exactly there. Files annotated
 * `! differs: why` are where hadhcp is deliberately stricter: keepalived exits 0, we report an error.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../diagnostics.js';
import { checkKeepalivedConf } from './reader.js';

const DIR = fileURLToPath(new URL('../../fixtures/keepalived/', import.meta.url));
const KEEPALIVED = fs.existsSync('/usr/sbin/keepalived') ? '/usr/sbin/keepalived' : 'keepalived';
const probe = spawnSync(KEEPALIVED, ['--version'], { encoding: 'utf8' });
const haveKeepalived = !probe.error;
const fixtures = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.conf'))
  .sort();

function annotations(text: string): { at: { line: number; col: number }[]; differs?: string } {
  const at = [...text.matchAll(/^! at: (\d+):(\d+)/gm)].map((m) => ({
    line: Number(m[1]),
    col: Number(m[2]),
  }));
  const differs = /^! differs: (.*)$/m.exec(text)?.[1];
  return differs ? { at, differs } : { at };
}

function runKeepalived(file: string): {
  code: number;
  lines: { file?: string; line: number }[];
  stderr: string;
} {
  const r = spawnSync(KEEPALIVED, ['-t', '-f', file], { encoding: 'utf8', timeout: 20_000 });
  const stderr = r.stderr ?? '';
  const lines = [...stderr.matchAll(/\((?:([^:()]+): )?Line (\d+)\)/g)].map((m) =>
    m[1] ? { file: m[1], line: Number(m[2]) } : { line: Number(m[2]) },
  );
  return { code: r.status ?? -1, lines, stderr };
}

describe('keepalived.conf corpus', () => {
  it('has the seeds, the capture configs and at least 15 of our own', () => {
    for (const f of ['seed-zh-router-a.conf', 'seed-zh-router-b.conf', 'site-a.conf', 'site-b.conf'])
      expect(fixtures).toContain(f);
    expect(fixtures.length).toBeGreaterThanOrEqual(19);
  });

  it('keepalived is available (required in CI)', () => {
    if (!haveKeepalived && process.env.CI)
      throw new Error(`keepalived not runnable in CI: ${probe.error?.message}`);
    if (!haveKeepalived) console.warn('keepalived not installed: the comparison tests below are skipped');
  });

  for (const name of fixtures) {
    const file = path.join(DIR, name);
    const text = fs.readFileSync(file, 'utf8');
    const ann = annotations(text);

    it(`${name}: reported at the annotated line:col`, () => {
      const ours = checkKeepalivedConf(file);
      const shown = ours.diagnostics.map(formatDiagnostic).join('\n');
      for (const a of ann.at) {
        const hit = ours.diagnostics.some(
          (d) => d.file === file && d.line === a.line && d.col === a.col && d.severity !== 'note',
        );
        expect(hit, `expected a finding at ${a.line}:${a.col}, got:\n${shown}`).toBe(true);
      }
      if (ann.differs)
        expect(
          ours.diagnostics.some((d) => d.severity === 'error'),
          shown,
        ).toBe(true);
      if (name.startsWith('good-') || name.startsWith('site-'))
        expect(
          ours.diagnostics.filter((d) => d.severity === 'error'),
          shown,
        ).toEqual([]);
    });

    it.skipIf(!haveKeepalived)(`${name}: same answer as keepalived -t`, () => {
      const ours = checkKeepalivedConf(file);
      const ka = runKeepalived(file);
      const shown = `ours:\n${ours.diagnostics.map(formatDiagnostic).join('\n')}\nkeepalived (exit ${ka.code}):\n${ka.stderr}`;
      if (ann.differs) {
        expect(ka.code, shown).toBe(0);
        expect(ours.exitCode, shown).toBe(5);
        return;
      }
      expect(ours.exitCode, shown).toBe(ka.code);
      for (const l of ka.lines) {
        const hit = ours.diagnostics.some(
          (d) => d.line === l.line && (l.file === undefined || d.file.endsWith(path.basename(l.file))),
        );
        expect(hit, `keepalived reports line ${l.line}; we do not.\n${shown}`).toBe(true);
      }
    });
  }
});
