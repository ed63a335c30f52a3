#!/usr/bin/env bash
# Makes a fresh Debian ready for the tests and the stack, doing only what is missing:
#   - the system packages (zsh for the completion test, btrfs-progs for btrfs pools, qemu-utils
#     for qcow2 test images, iproute2, dbus, systemd-container, libnss-mymachines, libnss-systemd and
#     systemd-userdbd for userdb look-ups, gcc and libc6-dev for the C helpers, debootstrap for
#     the systemd-host container, busybox-static,
#     python3-dbus, and for importd tar, xz-utils, zstd, bzip2, gnupg, e2fsprogs for chattr):
#     one "apt-get update", then one "apt-get install";
#   - npm_config_nodedir=/usr when Debian's Node headers exist, so node-gyp builds usocket
#     offline instead of downloading headers;
#   - "npm ci" when node_modules is missing or older than package-lock.json.
#
# Run it, or source it from another script (stack-up.sh, test-all.sh) to keep the exported
# npm_config_nodedir. ENSURE_DEPS_DRY_RUN=1 only reports what it would do.

machined_ensure_deps() {
  local repo missing=() pkg status
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  local dry=${ENSURE_DEPS_DRY_RUN:-0}
  local packages=(dbus systemd-container libnss-mymachines libnss-systemd systemd-userdbd busybox-static python3-dbus tar xz-utils zstd bzip2 gnupg e2fsprogs gcc libc6-dev debootstrap zsh btrfs-progs qemu-utils iproute2)

  for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "ensure-deps: installing ${missing[*]}" >&2
    if [[ $dry != 1 ]]; then
      if [[ $(id -u) -ne 0 ]]; then
        echo "ensure-deps: missing packages ${missing[*]}; run as root to install them" >&2
        return 1
      fi
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || return 1
    fi
  fi

  if [[ -d /usr/include/node ]]; then
    export npm_config_nodedir=/usr
  fi

  # npm rewrites node_modules/.package-lock.json on every install: it is the install's timestamp.
  local stamp=$repo/node_modules/.package-lock.json
  if [[ ! -f $stamp || $repo/package-lock.json -nt $stamp ]]; then
    echo "ensure-deps: npm ci (node_modules missing or older than package-lock.json)" >&2
    if [[ $dry != 1 ]]; then
      # The lockfile names nx's native packages for other platforms although this registry does
      # not serve them (npm install drops such entries, npm ci then refuses the lock). They are
      # recorded by hand with their os/cpu so npm ci skips them; should a later npm install have
      # dropped them again, npm install still gives the same tree.
      (cd "$repo" && npm ci --no-audit --no-fund >&2) ||
        (cd "$repo" && echo "ensure-deps: npm ci failed; trying npm install" >&2 && npm install --no-audit --no-fund >&2) ||
        return 1
    fi
  fi
  return 0
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  machined_ensure_deps
else
  machined_ensure_deps || return 1
fi
