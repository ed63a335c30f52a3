#!/usr/bin/env bash
# Runs a command in a private mount namespace where /run/systemd and the image pool
# (/var/lib/machines) are fresh tmpfs mounts. systemd's real clients look there:
# machinectl refuses to run without /run/systemd/system (sd_booted), and sd-login and
# libnss_mymachines read /run/systemd/machines. Inside the namespace they see the state files
# our machined writes, while the host's /run/systemd and pool stay untouched, even when a test
# crashes half-way (the mounts die with the namespace).
#
# usage: run-in-namespace.sh CMD [ARG...]
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 CMD [ARG...]" >&2
  exit 2
fi

# Already inside one (a nested call from a script that itself runs here): don't stack another.
if [[ ${MACHINED_E2E_NAMESPACE:-} == 1 ]]; then
  exec "$@"
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "$0: the e2e suites need root (mount namespaces, cgroups, systemd-nspawn)" >&2
  exit 1
fi

export MACHINED_E2E_NAMESPACE=1
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rel=${PWD#"$repo"}
[[ $rel == "$PWD" ]] && rel=
# Private propagation: nothing mounted in here reaches the host's mount table, and the host's
# later mounts do not disturb ours. The inner shell sets the mounts up and then becomes CMD.
exec unshare --mount --propagation private -- bash -euo pipefail -c '
  mount -t tmpfs -o mode=0755,size=64m machined-e2e-run-systemd /run/systemd
  mkdir -p /run/systemd/system /run/systemd/machines
  # The pool: mkdir only if the host lacks it; the mount point itself is then the only trace.
  mkdir -p /var/lib/machines
  mount -t tmpfs -o mode=0700 machined-e2e-pool /var/lib/machines
  # Tests run our programs as nobody too; a checkout under a private directory (mktemp -d makes
  # them 0700) would be out of its reach. The same tree, bind-mounted at a path every user can
  # traverse, and the suites run from there.
  repo=$1 rel=$2
  shift 2
  mkdir -p /run/systemd/e2e-repo
  mount --bind "$repo" /run/systemd/e2e-repo
  cd "/run/systemd/e2e-repo$rel"
  # Caches our programs keep (machinectl'"'"'s V8 code cache) go with the namespace, not to ~/.cache.
  export XDG_CACHE_HOME=/run/systemd/e2e-cache
  exec "$@"
' run-in-namespace "$repo" "$rel" "$@"
