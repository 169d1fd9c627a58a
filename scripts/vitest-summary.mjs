#!/usr/bin/env node
// Sums vitest JSON reports (--reporter=json --outputFile=...) into the one line CI reads:
//   tests: N passed, N failed, N skipped
// A report that is missing or unreadable, or a file that failed before its tests ran (import error, hook
// failure), counts as one failed test: a broken run must never read as green.
// Usage: node scripts/vitest-summary.mjs <label>=<report.json> ...   (exit 1 when anything failed)
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const arg of process.argv.slice(2)) {
  const eq = arg.indexOf('=');
  const [label, file] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, arg];
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    console.log(`${label}: no usable vitest report at ${file} (${e.code ?? e.message}): counted as 1 failed`);
    failed += 1;
    continue;
  }
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  for (const file of report.testResults ?? []) {
    const testFailed = (file.assertionResults ?? []).some((t) => t.status === 'failed');
    if (file.status === 'failed' && !testFailed) {
      console.log(`${label}: ${file.name} failed outside its tests: ${(file.message ?? '').split('\n')[0]}`);
      failed += 1;
    }
  }
  if (report.numTotalTests === 0 && (report.testResults ?? []).length === 0) {
    console.log(`${label}: no test files ran`);
  }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 ? 1 : 0;
