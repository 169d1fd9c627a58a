// Preloaded into the daemon by the benchmarks (node --import): on SIGUSR2 prints `MEMPROBE <n> {json}` on stderr
// with process.memoryUsage() (after a full GC when --expose-gc is on), the V8 heap spaces, and the event-loop
// delay since the previous report (perf_hooks histogram: how long the loop was blocked). <n> counts the reports
// (1, 2, ...), so a reader never takes an earlier one for the one it asked for. Changes nothing else.
// Plain JavaScript: the daemon under test runs on plain Node.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';

const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();
let reports = 0;

process.on('SIGUSR2', () => {
  const loop = { maxMs: eld.max / 1e6, p99Ms: eld.percentile(99) / 1e6, meanMs: eld.mean / 1e6 };
  eld.reset();
  globalThis.gc?.();
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(
    v8.getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_used_size / 2 ** 20)]),
  );
  process.stderr.write(`MEMPROBE ${++reports} ${JSON.stringify({ ...m, spacesMB: spaces, loop })}\n`);
});
