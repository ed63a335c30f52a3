#!/usr/bin/env bash
# Builds and tests every project (unit, integration and the e2e suites) after making sure the
# dependencies are there. Exits with Nx's status; ends with "N passed, N failed" summed over the
# mocha runs (cached tasks included: Nx replays their output).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

# shellcheck source=ensure-deps.sh
. tools/setup/ensure-deps.sh

# No Nx daemon left running after a test run.
export NX_DAEMON=${NX_DAEMON:-false}

log=$(mktemp "${TMPDIR:-/tmp}/machined-test-all.XXXXXX")
trap 'rm -f -- "$log"' EXIT
status=0
# With pipefail the pipeline fails with nx's status (tee does not fail).
# CI runs every test for real: no result replayed from a cache.
npx nx run-many -t build test --outputStyle=static ${CI:+--skip-nx-cache} 2>&1 | tee "$log" || status=$?

# mocha's spec reporter ends each run with "  N passing (Xs)" and, if any, "  N failing";
# through Nx they come coloured, so the escape sequences go first.
plain=$(sed -E 's/\x1b\[[0-9;]*[A-Za-z]//g' "$log")
passed=$(sed -nE 's/^[[:space:]]*([0-9]+) passing.*/\1/p' <<<"$plain" | awk '{s+=$1} END {print s+0}')
failed=$(sed -nE 's/^[[:space:]]*([0-9]+) failing.*/\1/p' <<<"$plain" | awk '{s+=$1} END {print s+0}')
echo "$passed passed, $failed failed"
exit "$status"
