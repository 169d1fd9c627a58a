// Lab helpers for tests in network namespaces. Import from lab tests as '../lib/index.js'.
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { Lab } from './lab.js';

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
    afterAll(teardown);
  } else {
    beforeEach(setup);
    afterEach(teardown);
  }
  return () => {
    if (!current) throw new Error('useLab(): no lab outside a test');
    return current;
  };
}
