#!/usr/bin/env node
// `pnpm bench <name> [--options]`: runs test/bench/<name>.ts against the BUILT daemon (packages/*/dist), through
// tsx (node --import tsx) so the benchmarks share test/lab/lib's TypeScript helpers (see test/bench/README.md).
//   dhcp     perfdhcp: hadhcp vs Kea 2.2 memfile vs ISC dhcpd 4.4; new-client OFFER latency with ping-check;
//            ping-check under load, on vs off vs ISC (`pnpm bench dhcp --only=ping` runs just those rows)
//            classes + an iPXE if chain vs the plain config (`pnpm bench dhcp --only=classes`)
//   memory   hadhcp with 1,000,000 leases: start-up time and resident memory (journal or snapshot store)
//   vrrp     takeover times (kill -9, SIGTERM) and 50 idle instances' CPU, hadhcp vs keepalived 2.2.7
//   leases   the lease store against better-sqlite3 (test/bench/leases-store.mjs)
//   log      what logging costs the main thread per line, per log destination (test/bench/log-destination.mjs)
// Each needs root (network namespaces, raw sockets) except `leases` and `log`; each stops by itself and removes what it made.
// --no-build skips the build (default: `tsc -b` and the one-file bundle first, so the benchmark never measures
// stale JavaScript).
// --quick: a short smoke run of each (fewer runs, shorter durations, fewer leases): proves it works, measures little.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const benches = {
  dhcp: { file: 'test/bench/dhcp.ts', root: true },
  memory: { file: 'test/bench/memory.ts', root: true, node: ['--expose-gc'] },
  vrrp: { file: 'test/bench/vrrp.ts', root: true },
  takeover: { file: 'test/bench/takeover.ts', root: true },
  failover: { file: 'test/bench/failover.ts', root: true },
  leases: { file: 'test/bench/leases-store.mjs', root: false, node: ['--expose-gc'] },
  log: { file: 'test/bench/log-destination.mjs', root: false },
};

const [name, ...rest] = process.argv.slice(2);
const b = benches[name];
if (!b) {
  console.error(`usage: pnpm bench <${Object.keys(benches).join('|')}> [--options]`);
  process.exit(2);
}
if (b.root && process.getuid?.() !== 0) {
  console.error(`pnpm bench ${name}: needs root (network namespaces, raw sockets)`);
  process.exit(3);
}
if (!existsSync(join(root, b.file))) {
  console.error(`pnpm bench ${name}: ${b.file} is missing`);
  process.exit(3);
}
const args = rest.filter((a) => a !== '--no-build');
if (!rest.includes('--no-build')) {
  // As `pnpm build`: the packages, then the one file bin/hadhcp runs (a `tsc -b` alone would leave it behind, and
  // the daemons would start from dist/main.js, ~130 ms slower).
  for (const step of [
    ['npx', ['tsc', '-b']],
    [process.execPath, [join(root, 'scripts/bundle.mjs')]],
  ]) {
    const t = spawnSync(step[0], step[1], { cwd: root, stdio: 'inherit' });
    if (t.status !== 0) {
      console.error('build failed: fix it or pass --no-build');
      process.exit(t.status ?? 1);
    }
  }
}
const node = ['--import', 'tsx', ...(b.node ?? [])];
const r = spawnSync(process.execPath, [...node, join(root, b.file), ...args], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? (r.signal ? 130 : 1));
