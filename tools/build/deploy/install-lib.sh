# shellcheck shell=bash
# What the deployables' install scripts (apps/<app>/deploy/install.sh) have in common. The build
# (tools/build/bundle-app.mjs) copies this file into apps/<app>/dist beside install.sh, so a dist
# stays self-contained; apps/<app>/deploy/install-lib.sh is a symlink to it, so deploy/ laid out
# as a dist (bundle and package.json added, as the e2e suites do) works the same.
#
# install.sh sets these, then sources this file:
#   here                 the directory install.sh sits in (and this file with it)
#   app                  the name: /usr/lib/$app, bin/$app.mjs, systemd/$app.service, openrc/$app
#   ours_marker          a string in our unit, init script (and D-Bus files), never in anyone else's
#   npm_needs            what "npm install" is for, said when npm is missing
#   node_gyp_builds      1 if a dependency is compiled by node-gyp at install time (usocket)
#   extra_value_options  (optional) names of further "--NAME VALUE" options, kept in $NAME
#   dist_files           (optional) further files a built dist has (relative to it)
# and, for a D-Bus daemon installed by install_bus_daemon:
#   bus_name             its well-known name: dbus/$bus_name.conf and dbus/$bus_name.service
#   upstream_unit        the distribution's unit owning the same name, masked while ours is in

log() { echo "install.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# Parses the command line (see the usage in install.sh's header) and sets root, init, skip_npm,
# uninstall, live (installing onto the running system) and the paths below root.
parse_args() {
  root=/
  init=auto
  skip_npm=0
  uninstall=0
  local name
  for name in ${extra_value_options[@]+"${extra_value_options[@]}"}; do printf -v "$name" '%s' ''; done
  while [[ $# -gt 0 ]]; do
    case $1 in
      --root) root=${2:?--root needs a directory}; shift 2 ;;
      --root=*) root=${1#--root=}; shift ;;
      --init) init=${2:?--init needs a value}; shift 2 ;;
      --init=*) init=${1#--init=}; shift ;;
      --skip-npm) skip_npm=1; shift ;;
      --uninstall) uninstall=1; shift ;;
      -h|--help) print_usage; exit 0 ;;
      *)
        name=${1#--}; name=${name%%=*}
        if [[ $1 == --* ]] && is_extra_value_option "$name"; then
          if [[ $1 == *=* ]]; then
            printf -v "$name" '%s' "${1#*=}"; shift
          else
            printf -v "$name" '%s' "${2:?--$name needs a value}"; shift 2
          fi
        else
          echo "install.sh: unknown argument: $1" >&2; exit 2
        fi
        ;;
    esac
  done
  root=${root%/}
  live=0; [[ -z $root ]] && live=1   # installing onto the running system

  libdir=$root/usr/lib/$app
  unit=$root/etc/systemd/system/$app.service
  initscript=$root/etc/init.d/$app
  state_file=$libdir/.install-state
  if [[ -n ${bus_name:-} ]]; then
    policy=$root/usr/share/dbus-1/system.d/$bus_name.conf
    activation=$root/usr/share/dbus-1/system-services/$bus_name.service
  fi
  if [[ -n ${upstream_unit:-} ]]; then upstream_mask=$root/etc/systemd/system/$upstream_unit; fi

  [[ $(id -u) -eq 0 || $live -eq 0 ]] || die "must run as root"
}

is_extra_value_option() {
  local o
  for o in ${extra_value_options[@]+"${extra_value_options[@]}"}; do [[ $o == "$1" ]] && return 0; done
  return 1
}

# The comment block at the top of install.sh, without its "# ".
print_usage() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${BASH_SOURCE[-1]}"
}

ours() { [[ -f $1 ]] && grep -q "$ours_marker" "$1"; }

# Removes those of the files that are ours (a file someone else put there stays).
remove_ours() {
  local f
  for f; do
    if ours "$f"; then rm -f -- "$f"; fi
  done
}

# Moves a file that is not ours out of the way, once, and records how to bring it back.
set_aside() {
  local f=$1
  [[ -e $f ]] && ! ours "$f" || return 0
  if [[ $live -eq 1 ]] && command -v dpkg-divert >/dev/null && dpkg -S "${f#"$root"}" >/dev/null 2>&1; then
    dpkg-divert --quiet --local --rename --divert "$f.$app-orig" --add "$f"
    echo "diverted $f" >>"$state_file.new"
  else
    mv -- "$f" "$f.$app-orig"
    echo "moved $f" >>"$state_file.new"
  fi
  log "set aside $f (now $f.$app-orig)"
}

restore() {
  local how=$1 f=$2
  rm -f -- "$f"
  case $how in
    diverted) dpkg-divert --quiet --local --rename --remove "$f" ;;
    moved) [[ -e $f.$app-orig ]] && mv -- "$f.$app-orig" "$f" ;;
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

stop_service() {
  if systemd_running; then systemctl stop "$app.service" 2>/dev/null || true; fi
  if [[ $live -eq 1 && -x /sbin/openrc-run && -e $initscript ]]; then rc-service "$app" stop 2>/dev/null || true; fi
}

# Refuses to run from apps/<app>/deploy, which has the scripts but not the program.
check_dist() {
  local f
  for f in "bin/$app.mjs" package.json ${dist_files[@]+"${dist_files[@]}"}; do
    [[ -f $here/$f ]] ||
      die "run the copy in apps/$app/dist (after \"npx nx run $app:build\"), not the one in deploy/"
  done
}

# 1. The program: staged beside the old one, then swapped, so a failed npm install changes nothing.
# Leaves the earlier install's record in $state_file.new, to which this install adds; until
# save_state, an exit removes the stage and that file.
install_program() {
  mkdir -p -- "$(dirname -- "$libdir")"
  stage=$(mktemp -d -- "$libdir.new.XXXXXX")
  trap 'rm -rf -- "$stage" "$state_file.new"' EXIT
  cp -a -- "$here/." "$stage/"
  rm -rf -- "$stage/node_modules"
  if [[ $skip_npm -eq 0 ]]; then
    command -v npm >/dev/null || die "npm not found (needed for $npm_needs)"
    # node-gyp must build usocket against the local Node headers, not download them.
    if [[ ${node_gyp_builds:-0} -eq 1 && -d /usr/include/node ]]; then export npm_config_nodedir=/usr; fi
    log "npm install --omit=dev in $libdir"
    (cd "$stage" && npm install --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error >&2)
  fi
  chmod 0755 "$stage" "$stage/bin/$app.mjs"
  [[ -f $state_file ]] && cp -- "$state_file" "$stage/.install-state.prev"
  if [[ -e $libdir ]]; then
    old=$(mktemp -d -- "$libdir.old.XXXXXX")
    mv -T -- "$libdir" "$old/$app"
    mv -T -- "$stage" "$libdir"
    rm -rf -- "$old"
  else
    mv -T -- "$stage" "$libdir"
  fi
  # Keep what an earlier install recorded (what to restore), then add what this one does.
  if [[ -f $libdir/.install-state.prev ]]; then mv -- "$libdir/.install-state.prev" "$state_file.new"; else : >"$state_file.new"; fi
}

# The unit or init script, as detected or asked for; sets kind. $1: said after "no service manager
# files installed (...)"; $2: said once the unit is in (if not empty); $3: run right after the unit
# is installed, before systemd reloads (if not empty).
install_service_manager() {
  local none_hint=$1 systemd_hint=$2 after_unit=$3
  kind=$(detect_init)
  case $kind in
    systemd)
      install -d -m 0755 -- "$(dirname -- "$unit")"
      install -m 0644 -- "$here/systemd/$app.service" "$unit"
      if [[ -n $after_unit ]]; then "$after_unit"; fi
      if systemd_running; then systemctl daemon-reload; fi
      if [[ -n $systemd_hint ]]; then log "$systemd_hint"; fi
      ;;
    openrc)
      install -d -m 0755 -- "$(dirname -- "$initscript")"
      install -m 0755 -- "$here/openrc/$app" "$initscript"
      log "enable it with: rc-update add $app default"
      ;;
    none) log "no service manager files installed (--init none or none detected)$none_hint" ;;
    *) die "unknown --init $kind" ;;
  esac
}

# Writes the record of this install. $1: sorted (each line once, in order) or recorded (each line
# once, in the order written: for a record that --uninstall replays backwards).
save_state() {
  if [[ $1 == sorted ]]; then
    sort -u "$state_file.new" >"$state_file"
  else
    awk '!seen[$0]++' "$state_file.new" >"$state_file"
  fi
  rm -f -- "$state_file.new"
  trap - EXIT
}

# Two units with one BusName make systemd refuse both: mask upstream's while ours is installed.
mask_upstream() {
  if [[ ! -e $upstream_mask ]] && { [[ -e $root/lib/systemd/system/$upstream_unit ]] ||
    [[ -e $root/usr/lib/systemd/system/$upstream_unit ]]; }; then
    ln -s /dev/null "$upstream_mask"
    echo "masked $upstream_mask" >>"$state_file.new"
    log "masked $upstream_unit"
  fi
}

# The whole install (or, with --uninstall, removal) of a D-Bus activatable daemon whose name the
# distribution's own daemon may also own: its policy and activation files are set aside and its
# unit masked, and all of that is put back on --uninstall.
install_bus_daemon() {
  parse_args "$@"

  if [[ $uninstall -eq 1 ]]; then
    stop_service
    remove_ours "$unit" "$initscript" "$policy" "$activation"
    if [[ -f $state_file ]]; then
      local how f
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
    log "$app uninstalled"
    exit 0
  fi

  check_dist
  install_program

  # 2. D-Bus policy and activation.
  install -d -m 0755 -- "$(dirname -- "$policy")" "$(dirname -- "$activation")"
  set_aside "$policy"
  set_aside "$activation"
  install -m 0644 -- "$here/dbus/$bus_name.conf" "$policy"
  install -m 0644 -- "$here/dbus/$bus_name.service" "$activation"

  # 3. The service manager.
  install_service_manager "; D-Bus activation still works" "" mask_upstream
  save_state sorted
  reload_bus
  log "$app installed in $libdir ($kind)"
}
