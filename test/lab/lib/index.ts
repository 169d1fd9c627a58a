// Lab helpers for tests in network namespaces. Import from lab tests as '../lib/index.js'.
import { basename } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { Lab } from './lab.js';
import { firstError, publishReport } from './report.js';

export * from './lab.js';
export * from './proc.js';
export * from './guard.js';
export * from './topology.js';
export * from './starters.js';
export * from './peers/servers.js';
export * from './peers/clients.js';

/**
 * A fresh Lab per file (`'all'`, default) or per test (`'each'`), torn down in afterAll/afterEach whether the
 * tests passed or not. Returns a getter: `const lab = useLab(); ... lab().addNamespace('srv')`.
 * A failed test prints the lab's report (report.ts); so does a failed beforeAll, where no test runs.
 */
export function useLab(scope: 'all' | 'each' = 'all'): () => Lab {
  let current: Lab | undefined;
  const setup = (): void => {
    current = new Lab();
  };
  const teardown = async (): Promise<void> => {
    await current?.cleanup();
    current = undefined;
  };
  if (scope === 'all') {
    beforeAll(setup);
    // A test that only talks to a daemon started in beforeAll never touches the lab: follow it anyway.
    beforeEach(() => current?.followCurrentTest());
    afterAll(async (suite) => {
      // Only a failing beforeAll/afterAll has marked the suite failed by now (failed tests count later).
      if (current && suite.result?.state === 'fail') {
        const name = `${suite.file === suite ? '' : `${basename(suite.file.name)} > `}${suite.name} (setup)`;
        const error = firstError(suite.result.errors);
        publishReport(name, suite.result.startTime ?? current.t0, current.report({ title: name, error }));
      }
      await teardown();
    });
  } else {
    beforeEach(setup);
    afterEach(teardown);
  }
  return () => {
    if (!current) throw new Error('useLab(): no lab outside a test');
    return current;
  };
}
