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
root=/
init=auto
skip_npm=0
uninstall=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --root) root=${2:?--root needs a directory}; shift 2 ;;
    --root=*) root=${1#--root=}; shift ;;
    --init) init=${2:?--init needs a value}; shift 2 ;;
    --init=*) init=${1#--init=}; shift ;;
    --skip-npm) skip_npm=1; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
root=${root%/}
live=0; [[ -z $root ]] && live=1   # installing onto the running system

libdir=$root/usr/lib/importd
policy=$root/usr/share/dbus-1/system.d/org.freedesktop.import1.conf
activation=$root/usr/share/dbus-1/system-services/org.freedesktop.import1.service
unit=$root/etc/systemd/system/importd.service
upstream_mask=$root/etc/systemd/system/systemd-importd.service
initscript=$root/etc/init.d/importd
state_file=$libdir/.install-state

log() { echo "install.sh: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $(id -u) -eq 0 || $live -eq 0 ]] || die "must run as root"

ours() { [[ -f $1 ]] && grep -q 'TypeScript' "$1"; }

# Moves a file that is not ours out of the way, once, and records how to bring it back.
set_aside() {
  local f=$1
  [[ -e $f ]] && ! ours "$f" || return 0
  if [[ $live -eq 1 ]] && command -v dpkg-divert >/dev/null && dpkg -S "${f#"$root"}" >/dev/null 2>&1; then
    dpkg-divert --quiet --local --rename --divert "$f.importd-orig" --add "$f"
    echo "diverted $f" >>"$state_file.new"
  else
    mv -- "$f" "$f.importd-orig"
    echo "moved $f" >>"$state_file.new"
  fi
  log "set aside $f (now $f.importd-orig)"
}

restore() {
  local how=$1 f=$2
  rm -f -- "$f"
  case $how in
    diverted) dpkg-divert --quiet --local --rename --remove "$f" ;;
    moved) [[ -e $f.importd-orig ]] && mv -- "$f.importd-orig" "$f" ;;
  esac
  log "restored $f"
}

detect_init() {
  if [[ $init != auto ]]; then echo "$init"; return; fi
  if [[ -d $root/run/systemd/system && $live -eq 1 ]] || [[ -d $root/etc/systemd/system || -d $root/lib/systemd/system ]]; then
    echo systemd
  elif [[ -x $root/sbin/openrc-run || -x $root/usr/sbin/openrc-run ]]; then
    echo openrc
  else
    echo none
  fi
}

reload_bus() {
  [[ $live -eq 1 ]] || return 0
  # dbus-daemon also notices changed config directories by itself; this makes it immediate.
  if command -v dbus-send >/dev/null && [[ -S /run/dbus/system_bus_socket ]]; then
    dbus-send --system --type=method_call --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig 2>/dev/null || true
  fi
}

systemd_running() { [[ $live -eq 1 && -d /run/systemd/system ]] && command -v systemctl >/dev/null; }

if [[ $uninstall -eq 1 ]]; then
  if systemd_running; then systemctl stop importd.service 2>/dev/null || true; fi
  if [[ $live -eq 1 && -x /sbin/openrc-run && -e $initscript ]]; then rc-service importd stop 2>/dev/null || true; fi
  ours "$unit" && rm -f -- "$unit"
  ours "$initscript" && rm -f -- "$initscript"
  ours "$policy" && rm -f -- "$policy"
  ours "$activation" && rm -f -- "$activation"
  if [[ -f $state_file ]]; then
    while read -r how f; do
      case $how in
        diverted|moved) restore "$how" "$f" ;;
        masked) [[ -L $f && $(readlink "$f") == /dev/null ]] && rm -f -- "$f" && log "unmasked ${f##*/}" ;;
      esac
    done <"$state_file"
  fi
  rm -rf -- "$libdir"
  if systemd_running; then systemctl daemon-reload; fi
  reload_bus
  log "importd uninstalled"
  exit 0
fi

[[ -f $here/bin/importd.mjs && -f $here/package.json ]] ||
  die "run the copy in apps/importd/dist (after \"npx nx run importd:build\"), not the one in deploy/"

# 1. The program: staged beside the old one, then swapped, so a failed npm install changes nothing.
mkdir -p -- "$(dirname -- "$libdir")"
stage=$(mktemp -d -- "$libdir.new.XXXXXX")
trap 'rm -rf -- "$stage" "$state_file.new"' EXIT
cp -a -- "$here/." "$stage/"
rm -rf -- "$stage/node_modules"
if [[ $skip_npm -eq 0 ]]; then
  command -v npm >/dev/null || die "npm not found (needed for the native modules usocket and zeromq)"
  # node-gyp must build usocket against the local Node headers, not download them.
  if [[ -d /usr/include/node ]]; then export npm_config_nodedir=/usr; fi
  log "npm install --omit=dev in $libdir"
  (cd "$stage" && npm install --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error >&2)
fi
chmod 0755 "$stage" "$stage/bin/importd.mjs"
[[ -f $state_file ]] && cp -- "$state_file" "$stage/.install-state.prev"
if [[ -e $libdir ]]; then
  old=$(mktemp -d -- "$libdir.old.XXXXXX")
  mv -T -- "$libdir" "$old/importd"
  mv -T -- "$stage" "$libdir"
  rm -rf -- "$old"
else
  mv -T -- "$stage" "$libdir"
fi
# Keep what an earlier install recorded (diversions), then add what this one does.
if [[ -f $libdir/.install-state.prev ]]; then mv -- "$libdir/.install-state.prev" "$state_file.new"; else : >"$state_file.new"; fi

# 2. D-Bus policy and activation.
install -d -m 0755 -- "$(dirname -- "$policy")" "$(dirname -- "$activation")"
set_aside "$policy"
set_aside "$activation"
install -m 0644 -- "$here/dbus/org.freedesktop.import1.conf" "$policy"
install -m 0644 -- "$here/dbus/org.freedesktop.import1.service" "$activation"

# 3. The service manager.
kind=$(detect_init)
case $kind in
  systemd)
    install -d -m 0755 -- "$(dirname -- "$unit")"
    install -m 0644 -- "$here/systemd/importd.service" "$unit"
    # Two units with one BusName make systemd refuse both: mask upstream's while ours is installed.
    if [[ ! -e $upstream_mask ]] && { [[ -e $root/lib/systemd/system/systemd-importd.service ]] ||
      [[ -e $root/usr/lib/systemd/system/systemd-importd.service ]]; }; then
      ln -s /dev/null "$upstream_mask"
      echo "masked $upstream_mask" >>"$state_file.new"
      log "masked systemd-importd.service"
    fi
    if systemd_running; then systemctl daemon-reload; fi
    ;;
  openrc)
    install -d -m 0755 -- "$(dirname -- "$initscript")"
    install -m 0755 -- "$here/openrc/importd" "$initscript"
    log "enable it with: rc-update add importd default"
    ;;
  none) log "no service manager files installed (--init none or none detected); D-Bus activation still works" ;;
  *) die "unknown --init $kind" ;;
esac
sort -u "$state_file.new" >"$state_file"
rm -f -- "$state_file.new"
trap - EXIT
reload_bus
log "importd installed in $libdir ($kind)"
