#!/usr/bin/env bash
# Installs the importd deployable (the apps/importd/dist this script sits in) on a host:
#   /usr/lib/importd/                        the bundle, its package.json and native deps (npm)
#   /usr/share/dbus-1/system.d/org.freedesktop.import1.conf        bus policy
#   /usr/share/dbus-1/system-services/org.freedesktop.import1.service   bus activation
#   /etc/systemd/system/importd.service      where systemd is present
#   /etc/init.d/importd                      where OpenRC is present
#
# Debian's systemd-container ships systemd-importd with the same bus name. Its policy and
# activation files are diverted (dpkg-divert, so package upgrades keep ours) and its unit masked,
# and --uninstall puts everything back. What was done is recorded in /usr/lib/importd/.install-state.
#
# usage: install.sh [--root DIR] [--init auto|systemd|openrc|none] [--skip-npm] [--uninstall]
#   --root DIR   install below DIR (packaging, tests); no diversion, reload or service manager calls
#   --skip-npm   do not run "npm install --omit=dev" (the native deps are provided otherwise)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
app=importd
bus_name=org.freedesktop.import1
upstream_unit=systemd-importd.service
ours_marker=TypeScript   # in the header comment of each of our files
npm_needs="the native modules usocket and zeromq"
node_gyp_builds=1
# The shared logic (tools/build/deploy/install-lib.sh), copied beside this script by the build.
# shellcheck source=../../../tools/build/deploy/install-lib.sh
source "$here/install-lib.sh"
install_bus_daemon "$@"
