#!/usr/bin/env bash
# The whole suite, as CI runs it (.ci/run sets CI=true): setup, lint, build, unit tests, lab tests, then one
# closing line `tests: N passed, N failed, N skipped`. Every step runs even if an earlier one failed, so a
# single run reports everything; the exit status is non-zero if any step or test failed.
#   bash scripts/test.sh                   as root on Debian 12 (the lab needs root; see README)
#   HADHCP_SKIP_SETUP=1 bash scripts/test.sh   skip apt/pnpm install (already set up)
set -uo pipefail
cd "$(dirname "$0")/.."

REPORTS=.lab-tmp/reports
mkdir -p "$REPORTS"
rm -f "$REPORTS"/*.json
failed_steps=()
START=$(date +%s)

step() {
  local name=$1
  shift
  printf '\n==> %s: %s\n' "$name" "$*"
  local t0=$SECONDS
  if "$@"; then
    printf '==> %s ok (%ss)\n' "$name" $((SECONDS - t0))
  else
    printf '==> %s FAILED (%ss)\n' "$name" $((SECONDS - t0))
    failed_steps+=("$name")
  fi
}

if [ -z "${HADHCP_SKIP_SETUP:-}" ]; then
  # Without setup nothing else can run: stop here, but still print the summary line.
  if ! step setup bash scripts/setup.sh --no-build; then :; fi
  if [ "${#failed_steps[@]}" -gt 0 ]; then
    echo "tests: 0 passed, 1 failed, 0 skipped"
    exit 1
  fi
fi

step lint pnpm run lint
step build pnpm run build
# Lab tests see the packages through their built declarations (paths in test/tsconfig.json): after build.
step typecheck-tests pnpm exec tsc -p test/tsconfig.json
# Unit tests and test fakes are left out of each package's build; vitest does not typecheck: checked here.
step typecheck-unit-tests pnpm exec tsc -p packages/tsconfig.tests.json
# Time limits keep a hung test from eating the CI budget (the whole run must fit in 60 minutes on 2 cores);
# a killed run leaves no report and the summary counts it as failed.
step unit timeout --kill-after=30 15m pnpm exec vitest run --project unit \
  --reporter=default --reporter=json --outputFile="$REPORTS/unit.json"
step lab timeout --kill-after=30 35m pnpm exec vitest run --project lab \
  --reporter=default --reporter=json --outputFile="$REPORTS/lab.json"

echo
echo "elapsed: $(( $(date +%s) - START ))s"
[ "${#failed_steps[@]}" -gt 0 ] && echo "failed steps: ${failed_steps[*]}"
node scripts/vitest-summary.mjs unit="$REPORTS/unit.json" lab="$REPORTS/lab.json"
rc=$?
[ "${#failed_steps[@]}" -gt 0 ] && rc=1
exit "$rc"
