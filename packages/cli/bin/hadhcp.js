#!/usr/bin/env node
// Committed entry point, so that the `hadhcp` bin exists right after `pnpm install` (dist/ comes from the build).
import('../dist/main.js').catch((e) => {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/main.js')) {
    console.error('hadhcp is not built yet: run `pnpm build` in the repository first');
    process.exit(3);
  }
  throw e;
});
