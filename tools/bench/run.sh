#!/usr/bin/env bash
# Runs the machined benchmark: builds machined if its bundle is missing or older than its sources
# (or always with --build), then runs tools/bench/machined-bench.ts with tsx. Needs root.
# Exit status: the benchmark's (0 = ran; non-zero = something failed functionally).
#
# usage: tools/bench/run.sh [--build]     environment: BENCH_N, BENCH_FILL, BENCH_IN_FLIGHT,
#        BENCH_LIST_CALLS, BENCH_REF_RUNS, BENCH_MACHINECTL_RUNS (see README.md)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

bundle=apps/machined/dist/bin/machined.mjs
build=0
[[ ${1:-} == --build ]] && build=1
if [[ ! -f $bundle ]]; then
  build=1
elif [[ -n $(find apps/machined/src libs/protocol/src libs/cgroup/src -name '*.ts' ! -name '*.spec.ts' -newer "$bundle" -print -quit 2>/dev/null) ]]; then
  build=1
fi
if ((build)); then
  echo "run.sh: building machined" >&2
  npx nx run machined:build --outputStyle=static >&2
fi

# The bench process itself: no CA bundle to load, workspace sources resolvable if imported.
unset NODE_EXTRA_CA_CERTS
export NODE_OPTIONS="--conditions=machined-source${NODE_OPTIONS:+ $NODE_OPTIONS}"
exec node --import tsx tools/bench/machined-bench.ts
