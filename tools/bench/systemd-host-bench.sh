#!/usr/bin/env bash
# The machined benchmark under systemd: boots tools/systemd-host's Debian container (systemd as
# PID 1), and runs tools/bench/machined-bench.ts inside it with BENCH_TARGET=system, first against
# our machined (installed from apps/machined/dist as a systemd service), then against
# systemd-machined 252 in the same container. Prints both tables, then the two side by side.
# The container is stopped (and verified gone) at the end, also on failure or Ctrl-C. Needs root.
#
# usage: tools/bench/systemd-host-bench.sh [--build] [ours|systemd ...]   (default: ours systemd)
# environment: the BENCH_* knobs of machined-bench.ts (README.md) are passed into the container;
#   BENCH_OUT=DIR keeps each run's full output there (default: a temporary directory, removed).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
host=$repo/tools/systemd-host/systemd-host.sh

build=0
impls=()
for a in "$@"; do
  case $a in
    --build) build=1 ;;
    ours | systemd) impls+=("$a") ;;
    *) echo "usage: $0 [--build] [ours|systemd ...]" >&2; exit 2 ;;
  esac
done
((${#impls[@]})) || impls=(ours systemd)
[[ $(id -u) -eq 0 ]] || { echo "systemd-host-bench: must run as root" >&2; exit 1; }

if ((build)) || [[ ! -f apps/machined/dist/bin/machined.mjs ]]; then
  npx nx run machined:build --outputStyle=static >&2
fi

tmp=$(mktemp -d /tmp/machined-sdhost-bench.XXXXXX)
out=${BENCH_OUT:-$tmp/out}
mkdir -p "$out"
name=bench-$$
cleanup() {
  bash "$host" stop "$name" >&2 || true
  rm -rf -- "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash tools/systemd-host/stage-machined.sh "$tmp/deploy"
# The checkout at the same path inside (tsx, dbus-next and the bench's sources, read-only).
SYSTEMD_HOST_OWNER=$$ bash "$host" start "$name" "$tmp/deploy:/opt/machined-deploy" "$repo" >/dev/null

benv=(BENCH_TARGET=system NODE_OPTIONS=--conditions=machined-source)
while IFS='=' read -r k v; do
  [[ $k == BENCH_* && $k != BENCH_TARGET && $k != BENCH_OUT ]] && benv+=("$k=$v")
done < <(env)

rc=0
for impl in "${impls[@]}"; do
  echo "systemd-host-bench: $impl" >&2
  bash "$host" use "$name" "$impl" >&2
  # Stopped first: the benchmark activates it through the bus, as a client would.
  bash "$host" exec "$name" systemctl stop machined.service systemd-machined.service 2>/dev/null || true
  if ! bash "$host" exec "$name" env -C "$repo" "${benv[@]}" node --import tsx "$repo/tools/bench/machined-bench.ts" \
    >"$out/$impl.txt" 2>"$out/$impl.log"; then
    echo "systemd-host-bench: the benchmark failed against $impl (see below)" >&2
    rc=1
  fi
  sed '/^BENCH_JSON /d' "$out/$impl.txt"
  echo
done

# Side by side, from the BENCH_JSON lines.
node --input-type=module - "$out" "${impls[@]}" <<'EOF'
import { readFileSync } from 'node:fs';
const [dir, ...impls] = process.argv.slice(2);
const runs = Object.fromEntries(impls.map((i) => {
  const line = readFileSync(`${dir}/${i}.txt`, 'utf8').split('\n').find((l) => l.startsWith('BENCH_JSON '));
  return [i, line ? JSON.parse(line.slice(11)) : {}];
}));
const rows = [
  ['CreateMachine, sequential (machines/s)', (r) => r.create_sequential?.machines_per_s],
  ['CreateMachine, 16 in flight (machines/s)', (r) => r.create_parallel?.machines_per_s],
  ['  call latency p50 / p99 (ms)', (r) => r.create_parallel && `${r.create_parallel.call_latency.median_ms} / ${r.create_parallel.call_latency.p99_ms}`],
  ['RegisterMachine, leader in own scope, 16 in flight (machines/s)', (r) => r.register_parallel_in_unit?.machines_per_s],
  ['TerminateMachine, 16 in flight (machines/s)', (r) => r.terminate?.machines_per_s],
  ['removal after SIGKILL of the leaders (machines/s)', (r) => r.removal_after_leader_exit?.after_create_parallel?.machines_per_s],
  ['ListMachines at 1000, p50 (ms)', (r) => r.list_machines?.['1000']?.median_ms],
  ['GetMachineByPID at 1000, leader p50 (ms)', (r) => r.get_machine_by_pid?.leader?.median_ms],
  ['machinectl list at 1000, p50 (ms)', (r) => r.machinectl_list?.['1000']?.median_ms],
  ['RSS at 1000 machines (MB)', (r) => r.rss?.at_fill && Math.round(r.rss.at_fill.VmRSS_kb / 102.4) / 10],
  ['leader exit with a child: machine kept', (r) => r.leader_exit_with_child?.machine_kept_while_child_runs],
  ['failures', (r) => (r.failures ?? ['no result']).length],
];
const table = [['', ...impls.map((i) => (i === 'ours' ? 'ours (machined.service)' : 'systemd-machined 252'))],
  ...rows.map(([label, f]) => [label, ...impls.map((i) => String(f(runs[i]) ?? '—'))])];
const w = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
console.log('machined benchmark inside a booted systemd container (BENCH_TARGET=system)\n');
for (const row of table) console.log(row.map((cell, c) => cell.padEnd(w[c])).join(' │ '));
for (const i of impls) for (const f of runs[i].failures ?? []) console.log(`${i}: FAILURE ${f}`);
EOF
exit "$rc"
