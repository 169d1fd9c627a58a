// Reads a V8 .cpuprofile (node --cpu-prof) and lists where the time went: self time per function (file:line),
// and the share of the profile that was idle, GC or the program itself. Enough to say "where the time goes".
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from './bench.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A markdown table of the `top` functions by self time (ms and share of the non-idle samples). */
export function topSelfTime(file: string, top = 15): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let idle = 0;
  let total = 0;
  // Each sample's time is the delta to the next one (V8's own accounting).
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const n = byId.get(p.samples[i]!);
    if (!n) continue;
    total += dt;
    const f = n.callFrame;
    if (f.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    const where = f.url ? `${relative(ROOT, f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const busy = total - idle;
  const rows = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, ms]) => [k, ms.toFixed(0), `${((ms / busy) * 100).toFixed(1)}%`]);
  return (
    `profile ${(total / 1000).toFixed(1)} s, busy ${(busy / 1000).toFixed(2)} s (idle ${(idle / 1000).toFixed(1)} s)\n` +
    table(['function (self time)', 'ms', 'of busy'], rows)
  );
}

/** topSelfTime of the profile a `node --cpu-prof --cpu-prof-dir=dir` process wrote on exit, if it wrote one. */
export function profileIn(dir: string | undefined, top = 25): string | undefined {
  const f = dir && existsSync(dir) ? readdirSync(dir).find((n) => n.endsWith('.cpuprofile')) : undefined;
  return f ? topSelfTime(`${dir}/${f}`, top) : undefined;
}
