#!/usr/bin/env bash
# A Debian bookworm container whose PID 1 is systemd, booted on this host (where PID 1 is not
# systemd) with systemd-nspawn: the test host for machined's systemd1 backend (issue 9).
#
# usage:
#   systemd-host.sh build                 build the root file system once (cached); print its path
#   systemd-host.sh start NAME [BIND...]  boot container NAME in the background, wait until systemd
#                                         inside says running/degraded; print the leader PID.
#                                         BIND: extra nspawn --bind-ro= arguments (SRC[:DST])
#   systemd-host.sh exec NAME CMD...      run CMD inside NAME (nsenter into the leader; its exit status)
#   systemd-host.sh stop NAME             power NAME off, then kill whatever is left; remove its
#                                         cgroups and run directory; verify nothing remains
#   systemd-host.sh run [BIND...] -- CMD... start, exec CMD, stop (also on failure); CMD's status
#   systemd-host.sh use NAME ours|systemd which org.freedesktop.machine1 NAME runs: ours (installed
#                                         from /opt/machined-deploy, see stage-machined.sh, bound
#                                         in with start NAME DIR:/opt/machined-deploy) or systemd's
#   systemd-host.sh list                  containers of this script that run now
#   systemd-host.sh reap                  stop containers whose starter (SYSTEMD_HOST_OWNER, else the
#                                         calling process) is gone: what a crashed run left
#
# The root file system is built with debootstrap (minbase + systemd systemd-sysv dbus
# systemd-container) from the configured Debian mirror into
# /var/cache/machined-systemd-host/<recipe hash>/rootfs, once; a change of the recipe below makes
# a new one (the old one is removed). A lock keeps two runs from building at the same time.
#
# Each container boots from that tree with --volatile=overlay (a tmpfs overlay inside nspawn's own
# mount namespace), so the cached tree is never written and nothing of a run survives on disk.
# Host Node (/usr/bin/node) is bind-mounted read-only: the container's glibc is the same bookworm
# one. nspawn runs in cgroups of its own (machined-systemd-host/NAME in the name=systemd and
# cgroup2 hierarchies), removed by stop.
#
# Environment: SYSTEMD_HOST_CACHE (/var/cache/machined-systemd-host),
#   SYSTEMD_HOST_MIRROR (http://deb.debian.org/debian), SYSTEMD_HOST_BOOT_TIMEOUT (120 s).
set -euo pipefail

CACHE=${SYSTEMD_HOST_CACHE:-/var/cache/machined-systemd-host}
MIRROR=${SYSTEMD_HOST_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
PACKAGES=systemd,systemd-sysv,dbus,systemd-container
BOOT_TIMEOUT=${SYSTEMD_HOST_BOOT_TIMEOUT:-120}
RUN_BASE=/run/machined-systemd-host
CG_PARENT=machined-systemd-host
# The stock limit is 512 match rules per connection; every machine watched by a client adds some,
# so a few hundred machines exhaust it (upstream hits this too). 50000 as in our private buses.
MATCH_RULES=50000

log() { echo "systemd-host: $*" >&2; }
die() { log "$*"; exit 1; }

# Everything that shapes the tree goes into the recipe hash: change any of it and a new tree is built.
recipe_text() {
  # Bump "revision" for a change the lines below do not capture.
  printf 'suite=%s\npackages=%s\nmatch_rules=%s\nrevision=1\n' "$SUITE" "$PACKAGES" "$MATCH_RULES"
  declare -f configure_rootfs
}
recipe_hash() { recipe_text | sha256sum | cut -c1-16; }

# Adjusts the debootstrapped tree by editing files only (nothing is executed inside it).
configure_rootfs() {
  local r=$1
  # D-Bus: system-local.conf is included by system.conf and may set limits.
  cat >"$r/etc/dbus-1/system-local.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- machined test host: many machines, each watched by clients (stock limit 512). -->
  <limit name="max_match_rules_per_connection">$MATCH_RULES</limit>
  <limit name="max_replies_per_connection">50000</limit>
  <limit name="max_connections_per_user">10000</limit>
</busconfig>
EOF
  echo systemd-host >"$r/etc/hostname"
  # A fresh machine ID on every boot (the tree is shared read-only by every run).
  : >"$r/etc/machine-id"
  # No login prompts on the console (nobody reads it) and no network set-up to wait for.
  local u
  for u in console-getty.service getty@.service getty.target systemd-networkd-wait-online.service \
    apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer; do
    ln -sf /dev/null "$r/etc/systemd/system/$u"
  done
  mkdir -p "$r/var/lib/machines"
  chmod 0700 "$r/var/lib/machines"
  # The package cache is not needed again (the tree is never upgraded, only rebuilt).
  rm -rf "$r/var/cache/apt/archives"/*.deb "$r/var/lib/apt/lists"/* 2>/dev/null || true
}

cmd_build() {
  local hash dir
  hash=$(recipe_hash)
  dir=$CACHE/$hash
  if [[ -f $dir/complete ]]; then
    echo "$dir/rootfs"
    return 0
  fi
  command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
  mkdir -p "$CACHE"
  exec 8>"$CACHE/build.lock"
  if ! flock -n 8; then
    log "another run is building the root file system; waiting for it"
    flock 8
  fi
  if [[ -f $dir/complete ]]; then
    exec 8>&-
    echo "$dir/rootfs"
    return 0
  fi
  # Stale trees of older recipes, and a half-built one of this recipe, go; not one that a running
  # container (of an older checkout) still boots from.
  local old
  for old in "$CACHE"/*/; do
    old=${old%/}
    [[ -d $old && $old != "$dir" ]] || continue
    if grep -qsxF -- "$old/rootfs" "$RUN_BASE"/*/rootfs; then
      log "keeping $old: a running container uses it"
      continue
    fi
    log "removing the root file system of an older recipe: $old"
    rm -rf --one-file-system -- "$old"
  done
  rm -rf --one-file-system -- "$dir"
  mkdir -p "$dir"
  local t0=$SECONDS
  log "debootstrap $SUITE (minbase + $PACKAGES) from $MIRROR into $dir/rootfs.tmp (about a minute)"
  if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$dir/rootfs.tmp" "$MIRROR" >"$dir/debootstrap.log" 2>&1; then
    tail -n 20 "$dir/debootstrap.log" >&2
    local keep=$CACHE/failed-$hash.log
    cp -f -- "$dir/debootstrap.log" "$keep" 2>/dev/null || true
    rm -rf --one-file-system -- "$dir"
    die "debootstrap failed (is $MIRROR reachable?); its log: $keep"
  fi
  configure_rootfs "$dir/rootfs.tmp"
  recipe_text >"$dir/recipe"
  mv -T -- "$dir/rootfs.tmp" "$dir/rootfs"
  echo "$((SECONDS - t0))" >"$dir/build-seconds"
  touch "$dir/complete"
  log "built $dir/rootfs in $((SECONDS - t0)) s"
  exec 8>&-
  echo "$dir/rootfs"
}

valid_name() { [[ $1 =~ ^[a-zA-Z0-9][a-zA-Z0-9_-]{0,40}$ ]] || die "bad container name: $1"; }

# cgroup directories (both hierarchies this host has) for container NAME.
cgroup_dirs() {
  local m
  for m in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
    [[ -f $m/cgroup.procs ]] || continue
    [[ $m == /sys/fs/cgroup && -d /sys/fs/cgroup/unified ]] && continue
    echo "$m/$CG_PARENT/$1"
  done
}

# A process's start time (clock ticks since boot), or "gone".
proc_start() {
  local t
  t=$(awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null) || t=""
  echo "${t:-gone}"
}

leader_of() {
  local f=$RUN_BASE/$1/leader
  [[ -f $f ]] && cat -- "$f"
}

cmd_start() {
  local name=$1
  shift
  valid_name "$name"
  local rootfs
  rootfs=$(cmd_build)
  local rd=$RUN_BASE/$name
  [[ -e $rd ]] && die "container $name exists already ($rd); stop it first"
  mkdir -p "$rd"
  # Who started it, with the start time so a reused PID does not count (reap).
  local owner=${SYSTEMD_HOST_OWNER:-$PPID}
  echo "$owner $(proc_start "$owner")" >"$rd/owner"
  local binds=(--bind-ro=/usr/bin/node)
  local b
  for b in "$@"; do binds+=("--bind-ro=$b"); done
  local cg
  for cg in $(cgroup_dirs "$name"); do mkdir -p "$cg"; done
  local t0=$EPOCHREALTIME
  # The wrapper shell moves itself into our cgroups, then becomes nspawn. setsid: its own session,
  # so a signal to our process group does not reach it; stop does the stopping.
  # SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1: this host is hybrid, and nspawn would hand the container
  # the same mix; with 1 it mounts the cgroup2 tree (its own cgroup namespace) at /sys/fs/cgroup,
  # as on a current systemd host. systemd boots either way; unified is what machines see today.
  # (cgroup2 here carries only hugetlb: memory/cpu limits are recorded on units, not enforced.)
  # --keep-unit --register=no: no org.freedesktop.systemd1 or machine1 on this host to talk to.
  # --private-network: nested containers (machinectl start) create veth links; they must land in
  # the container's network namespace, never the host's.
  setsid bash -c '
    for cg in '"$(cgroup_dirs "$name" | tr '\n' ' ')"'; do echo $$ >"$cg/cgroup.procs"; done
    exec "$@"
  ' systemd-host-nspawn \
    env SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 SYSTEMD_LOG_COLOR=0 \
    systemd-nspawn --quiet --boot --register=no --keep-unit --machine="$name" \
    --directory="$rootfs" --volatile=overlay --console=pipe --link-journal=no \
    --resolv-conf=off --timezone=off --private-network "${binds[@]}" \
    </dev/null >"$rd/console.log" 2>&1 &
  local nspawn=$!
  echo "$nspawn" >"$rd/nspawn"
  echo "$rootfs" >"$rd/rootfs"
  # The leader: nspawn's child in the host PID namespace whose comm is systemd.
  local leader="" deadline=$((SECONDS + BOOT_TIMEOUT))
  while [[ -z $leader ]]; do
    kill -0 "$nspawn" 2>/dev/null || { tail -n 30 "$rd/console.log" >&2; (cmd_stop "$name") >/dev/null 2>&1 || true; die "systemd-nspawn exited while booting $name"; }
    local c
    for c in $(cat /proc/"$nspawn"/task/*/children 2>/dev/null); do
      [[ $(cat /proc/"$c"/comm 2>/dev/null) == systemd ]] && leader=$c
    done
    [[ -n $leader ]] || sleep 0.1
    ((SECONDS < deadline)) || { (cmd_stop "$name") >/dev/null 2>&1 || true; die "no systemd in $name after ${BOOT_TIMEOUT}s"; }
  done
  echo "$leader" >"$rd/leader"
  local state=""
  while :; do
    state=$(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null || true)
    case $state in
      running | degraded) break ;;
    esac
    if ! kill -0 "$nspawn" 2>/dev/null || ((SECONDS >= deadline)); then
      tail -n 30 "$rd/console.log" >&2
      (cmd_stop "$name") >/dev/null 2>&1 || true
      die "$name did not finish booting within ${BOOT_TIMEOUT}s (last state: ${state:-none})"
    fi
    sleep 0.2
  done
  local ms
  ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
  echo "$ms" >"$rd/boot-ms"
  log "$name booted in $ms ms ($state), leader PID $leader"
  if [[ $state == degraded ]]; then
    log "failed units in $name: $(nsenter -t "$leader" -a systemctl --failed --plain --no-legend 2>/dev/null | awk '{print $1}' | tr '\n' ' ')"
  fi
  echo "$leader"
}

cmd_exec() {
  local name=$1
  shift
  valid_name "$name"
  local leader
  leader=$(leader_of "$name") || die "container $name is not running"
  # Into a cgroup of ours below the container's (not the caller's), so stop finds and kills anything
  # left running; the PID namespace dies with the container's init anyway.
  local cg
  for cg in $(cgroup_dirs "$name"); do
    mkdir -p "$cg/exec" && echo "$BASHPID" >"$cg/exec/cgroup.procs" || true
  done
  # -a: every namespace of the leader (mount, PID, UTS, IPC, net, cgroup); -r/-w: its root and cwd.
  exec nsenter -t "$leader" -a -r -w env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 HOME=/root "$@"
}

# Stops NAME: poweroff through systemd, SIGKILL after a grace period, then our cgroups go.
cmd_stop() {
  local name=$1
  valid_name "$name"
  local rd=$RUN_BASE/$name nspawn="" leader=""
  [[ -f $rd/nspawn ]] && nspawn=$(<"$rd/nspawn")
  [[ -f $rd/leader ]] && leader=$(<"$rd/leader")
  local alive=0
  [[ -n $nspawn ]] && kill -0 "$nspawn" 2>/dev/null && alive=1
  if ((alive)); then
    if [[ -n $leader ]] && kill -0 "$leader" 2>/dev/null; then
      # SIGRTMIN+4 asks systemd for a clean poweroff (what machinectl poweroff sends).
      kill -s RTMIN+4 "$leader" 2>/dev/null || true
    else
      kill -TERM "$nspawn" 2>/dev/null || true
    fi
    local i
    for ((i = 0; i < 300; i++)); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
  fi
  # Whatever is still in our cgroups (nspawn, the container's processes) is killed.
  local cg left
  for cg in $(cgroup_dirs "$name"); do
    [[ -d $cg ]] || continue
    [[ -f $cg/cgroup.kill ]] && echo 1 >"$cg/cgroup.kill" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      left=$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')
      [[ -z ${left// /} ]] && break
      # shellcheck disable=SC2086
      kill -KILL $left 2>/dev/null || true
      sleep 0.1
    done
    # Leaf first: the container's systemd made a tree of its own below.
    find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  for cg in $(cgroup_dirs "$name"); do
    rmdir "${cg%/*}" 2>/dev/null || true
  done
  # nspawn removes its per-container runtime directories when it exits normally; not when killed.
  local d
  for d in /run/systemd/nspawn/propagate/"$name" /run/systemd/nspawn/unix-export/"$name"; do
    [[ -e $d ]] || continue
    mountpoint -q "$d" && umount -l "$d"
    rm -rf --one-file-system -- "$d"
  done
  rm -rf -- "$rd"
  rmdir "$RUN_BASE" 2>/dev/null || true
  verify_gone "$name"
}

verify_gone() {
  local name=$1 bad=0 cg
  for cg in $(cgroup_dirs "$name"); do
    if [[ -d $cg ]]; then log "left behind: cgroup $cg"; bad=1; fi
  done
  if grep -F -e "/$name " -e "/$name/" /proc/self/mountinfo >&2; then
    log "left behind: the mounts above"; bad=1
  fi
  local d
  for d in /run/systemd/nspawn/propagate/"$name" /run/systemd/nspawn/unix-export/"$name"; do
    if [[ -e $d ]]; then log "left behind: $d"; bad=1; fi
  done
  local p
  for p in /proc/[0-9]*; do
    if [[ $(cat "$p/comm" 2>/dev/null) == systemd-nspawn ]] &&
      tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "--machine=$name "; then
      log "left behind: systemd-nspawn ${p#/proc/}"; bad=1
    fi
  done
  ((bad == 0)) || die "container $name was not cleaned up completely"
  log "$name stopped; no cgroup, mount or process left"
}

cmd_list() {
  [[ -d $RUN_BASE ]] || return 0
  local d
  for d in "$RUN_BASE"/*/; do
    [[ -d $d ]] && basename "$d"
  done
}

cmd_reap() {
  local name owner start
  for name in $(cmd_list); do
    read -r owner start <"$RUN_BASE/$name/owner" 2>/dev/null || { owner=0 start=gone; }
    if [[ $start == gone || $(proc_start "$owner") != "$start" ]]; then
      log "reaping $name (its starter $owner is gone)"
      (cmd_stop "$name") || true
    fi
  done
}

# Switches the container's org.freedesktop.machine1 between our deployable and systemd-machined.
cmd_use() {
  local name=$1 impl=$2
  case $impl in
    ours)
      cmd_exec_sub "$name" sh -euc '
        [ -x /opt/machined-deploy/install.sh ] || { echo "no /opt/machined-deploy (start NAME DIR:/opt/machined-deploy)" >&2; exit 1; }
        systemctl stop systemd-machined.service
        /opt/machined-deploy/install.sh --skip-npm
        rm -rf /usr/lib/machined/node_modules
        cp -a /opt/machined-deploy/node_modules /usr/lib/machined/'
      ;;
    systemd)
      cmd_exec_sub "$name" sh -euc '
        if [ -d /usr/lib/machined ]; then
          systemctl stop machined.service
          /opt/machined-deploy/install.sh --uninstall
        fi
        systemctl cat systemd-machined.service >/dev/null'
      ;;
    *) die "use: ours or systemd, not $impl" ;;
  esac
}

cmd_exec_sub() { (cmd_exec "$@"); }

cmd_run() {
  local binds=()
  while [[ $# -gt 0 && $1 != -- ]]; do binds+=("$1"); shift; done
  [[ ${1:-} == -- ]] || die "usage: run [BIND...] -- CMD..."
  shift
  [[ $# -gt 0 ]] || die "run: no command"
  local name=host-$$-$RANDOM
  export SYSTEMD_HOST_OWNER=$$
  trap 'cmd_stop "$name" || true' EXIT
  trap 'exit 130' INT TERM
  cmd_start "$name" "${binds[@]}" >/dev/null
  local rc=0
  (cmd_exec "$name" "$@") || rc=$?
  cmd_stop "$name"
  trap - EXIT
  return "$rc"
}

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, systemd-nspawn, cgroups)"
case ${1:-} in
  build) cmd_build ;;
  start) [[ $# -ge 2 ]] || die "usage: start NAME [BIND...]"; shift; cmd_start "$@" ;;
  exec) [[ $# -ge 3 ]] || die "usage: exec NAME CMD..."; shift; cmd_exec "$@" ;;
  stop) [[ $# -eq 2 ]] || die "usage: stop NAME"; cmd_stop "$2" ;;
  run) shift; cmd_run "$@" ;;
  list) cmd_list ;;
  reap) cmd_reap ;;
  use) [[ $# -eq 3 ]] || die "usage: use NAME ours|systemd"; cmd_use "$2" "$3" ;;
  hash) recipe_hash ;;
  *) sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
