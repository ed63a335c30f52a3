#!/usr/bin/env bash
# Brings the stack up for development: dependencies, a fresh build of machined, importd and
# nss-helper, a system bus (the host's if it has one, else a private dbus-daemon), then machined in
# the foreground (and importd and nss-helper beside it) until Ctrl-C.
# When it starts a private bus it prints, on stdout,
#   export DBUS_SYSTEM_BUS_ADDRESS=unix:path=…
# for other shells (machinectl, busctl) to use; everything else goes to stderr.
#
# usage: stack-up.sh [machined flags…]   (e.g. --log-level debug)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

# shellcheck source=ensure-deps.sh
. tools/setup/ensure-deps.sh
npx nx run machined:build --outputStyle=static >&2
npx nx run importd:build --outputStyle=static >&2
npx nx run machinectl:build --outputStyle=static >&2
npx nx run nss-helper:build --outputStyle=static >&2

bus_pid=
bus_dir=
machined_pid=
importd_pid=
nss_helper_pid=
cleanup() {
  trap - EXIT INT TERM
  if [[ -n $nss_helper_pid ]] && kill -0 "$nss_helper_pid" 2>/dev/null; then
    kill -TERM "$nss_helper_pid" 2>/dev/null || true
    wait "$nss_helper_pid" 2>/dev/null || true
  fi
  if [[ -n $importd_pid ]] && kill -0 "$importd_pid" 2>/dev/null; then
    kill -TERM "$importd_pid" 2>/dev/null || true
    wait "$importd_pid" 2>/dev/null || true
  fi
  if [[ -n $machined_pid ]] && kill -0 "$machined_pid" 2>/dev/null; then
    kill -TERM "$machined_pid" 2>/dev/null || true
    wait "$machined_pid" 2>/dev/null || true
  fi
  if [[ -n $bus_pid ]]; then
    kill -TERM "$bus_pid" 2>/dev/null || true
    wait "$bus_pid" 2>/dev/null || true
    echo "stack-up: private bus stopped" >&2
  fi
  if [[ -n $bus_dir ]]; then
    rm -rf -- "$bus_dir"
    rmdir /run/machined-bus 2>/dev/null || true   # only if no other stack uses it
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

host_bus_usable() {
  [[ -S /run/dbus/system_bus_socket ]] &&
    busctl --address=unix:path=/run/dbus/system_bus_socket status org.freedesktop.DBus >/dev/null 2>&1
}

if [[ -n ${DBUS_SYSTEM_BUS_ADDRESS:-} ]]; then
  address=$DBUS_SYSTEM_BUS_ADDRESS
  echo "stack-up: using DBUS_SYSTEM_BUS_ADDRESS=$address" >&2
elif host_bus_usable; then
  address=unix:path=/run/dbus/system_bus_socket
  echo "stack-up: using the host's system bus" >&2
else
  if mkdir -p /run/machined-bus 2>/dev/null && [[ -w /run/machined-bus ]]; then
    bus_dir=$(mktemp -d /run/machined-bus/bus.XXXXXX)
  else
    bus_dir=$(mktemp -d "${TMPDIR:-/tmp}/machined-bus.XXXXXX")
  fi
  chmod 0755 "$bus_dir"   # unprivileged clients must reach the socket
  socket=$bus_dir/system_bus_socket
  sed "s|@LISTEN_ADDRESS@|unix:path=$socket|" tools/setup/system-bus.conf >"$bus_dir/system-bus.conf"
  # Started as a background job of this non-interactive shell, it ignores the terminal's Ctrl-C:
  # the trap stops it only after machined has shut down.
  dbus-daemon --config-file="$bus_dir/system-bus.conf" --nofork --print-address=3 3>"$bus_dir/address" &
  bus_pid=$!
  for _ in $(seq 100); do
    [[ -s $bus_dir/address ]] && break
    kill -0 "$bus_pid" 2>/dev/null || { echo "stack-up: dbus-daemon failed to start" >&2; exit 1; }
    sleep 0.05
  done
  [[ -s $bus_dir/address ]] || { echo "stack-up: dbus-daemon printed no address" >&2; exit 1; }
  address=unix:path=$socket
  echo "stack-up: private system bus (dbus-daemon pid $bus_pid) at $socket" >&2
  echo "export DBUS_SYSTEM_BUS_ADDRESS=$address"
fi

export DBUS_SYSTEM_BUS_ADDRESS=$address
if [[ ! -d /run/systemd/system ]]; then
  echo "stack-up: note: systemd's machinectl refuses to run without /run/systemd/system (sd_booted);" \
    "use our machinectl, or run clients in e2e/run-in-namespace.sh" >&2
fi
echo "stack-up: starting machined (Ctrl-C to stop)" >&2
node apps/machined/dist/bin/machined.mjs --bus-address "$address" "$@" &
machined_pid=$!
echo "stack-up: starting importd" >&2
node apps/importd/dist/bin/importd.mjs --bus-address "$address" &
importd_pid=$!
# Follows machined's channel (its --runtime-dir, if given above); resolves container names for
# programs run with LD_LIBRARY_PATH=apps/nss-helper/dist/lib and "getent -s hosts:machines" (README).
helper_args=()
prev=
for arg in "$@"; do
  case $arg in
    --runtime-dir=*) helper_args=("$arg") ;;
    *) [[ $prev == --runtime-dir ]] && helper_args=(--runtime-dir "$arg") ;;
  esac
  prev=$arg
done
echo "stack-up: starting nss-helper (host look-ups on /run/machined-nss/hosts.sock)" >&2
node apps/nss-helper/dist/bin/nss-helper.mjs "${helper_args[@]}" &
nss_helper_pid=$!
status=0
wait "$machined_pid" || status=$?
machined_pid=
echo "stack-up: machined exited with status $status" >&2
exit "$status"
