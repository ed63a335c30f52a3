#!/usr/bin/env bash
# Runs the machined benchmark, then the NSS host look-up benchmark: builds machined and nss-helper
# if a bundle is missing or older than its sources (or always with --build), then runs
# tools/bench/machined-bench.ts and tools/bench/nss-lookup.ts with tsx. Needs root.
# Exit status: 0 when both ran; non-zero when either found something failing functionally.
#
# usage: tools/bench/run.sh [--build]     environment: BENCH_N, BENCH_FILL, BENCH_IN_FLIGHT,
#        BENCH_LIST_CALLS, BENCH_REF_RUNS, BENCH_MACHINECTL_RUNS, BENCH_NSS_SECONDS (see README.md)
#        tools/bench/run.sh importd [--build] [--size-mb N] [--runs N]: only the importd throughput
#        benchmark (importd built first when stale); BENCH_IMPORT_SIZE_MB, BENCH_IMPORT_RUNS
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

if [[ ${1:-} == importd ]]; then
  shift
  rebuild=0
  [[ ${1:-} == --build ]] && rebuild=1 && shift
  if ((rebuild)) || [[ ! -f apps/importd/dist/bin/importd.mjs ]] ||
    [[ -n $(find apps/importd/src libs/protocol/src -name '*.ts' ! -name '*.spec.ts' -newer apps/importd/dist/bin/importd.mjs -print -quit 2>/dev/null) ]]; then
    echo "run.sh: building importd" >&2
    npx nx run importd:build --outputStyle=static >&2
  fi
  unset NODE_EXTRA_CA_CERTS
  export NODE_OPTIONS="--conditions=machined-source${NODE_OPTIONS:+ $NODE_OPTIONS}"
  exec node --import tsx tools/bench/importd-throughput.ts "$@"
fi

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
helper=apps/nss-helper/dist/bin/nss-helper.mjs
if [[ ${1:-} == --build || ! -f $helper || ! -f apps/nss-helper/dist/lib/libnss_machines.so.2 ]] ||
  [[ -n $(find apps/nss-helper/src apps/nss-helper/native libs/protocol/src \( -name '*.ts' -o -name '*.c' \) ! -name '*.spec.ts' -newer "$helper" -print -quit 2>/dev/null) ]]; then
  echo "run.sh: building nss-helper" >&2
  npx nx run nss-helper:build --outputStyle=static >&2
fi

# The bench process itself: no CA bundle to load, workspace sources resolvable if imported.
unset NODE_EXTRA_CA_CERTS
export NODE_OPTIONS="--conditions=machined-source${NODE_OPTIONS:+ $NODE_OPTIONS}"
status=0
node --import tsx tools/bench/machined-bench.ts || status=$?
node --import tsx tools/bench/nss-lookup.ts || status=$?
exit "$status"
