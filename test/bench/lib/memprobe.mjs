// Preloaded into the daemon by the memory benchmark (node --import): on SIGUSR2, after a full GC when
// --expose-gc is on, prints `MEMPROBE {json}` on stderr with process.memoryUsage() and the V8 heap spaces.
// It changes nothing else in the process.
import v8 from 'node:v8';

process.on('SIGUSR2', () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(
    v8.getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_used_size / 2 ** 20)]),
  );
  process.stderr.write(`MEMPROBE ${JSON.stringify({ ...m, spacesMB: spaces })}\n`);
});
