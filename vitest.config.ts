import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

// Tests import workspace packages from source, so no build is needed to run unit tests.
const pkgs = ['common', 'dhcp', 'leases', 'vrrp', 'failover', 'config', 'control', 'supervisor', 'daemon', 'cli'];
const alias = Object.fromEntries(
  pkgs.map((p) => [`@hadhcp/${p}`, fileURLToPath(new URL(`./packages/${p}/src/index.ts`, import.meta.url))]),
);

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          environment: 'node',
          // Property tests (hundreds of runs, some on real files) take seconds on a machine busy with other work;
          // a limit is there to stop a hung test, not to measure speed (that is the benchmarks' job).
          testTimeout: 30_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts'],
          environment: 'node',
          // Labs share the kernel's namespaces and ports: run files one at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
