#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, type-checks, builds the bundle
# (tests run dist/kindling too), runs every vitest file, and ends with one plain summary line
# "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
npx tsc --noEmit -p .
node scripts/build.mjs
mkdir -p .cache
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest.json "$@"
rc=$?
set -e
node -e '
  const r = require("./.cache/vitest.json");
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || true
exit $rc
