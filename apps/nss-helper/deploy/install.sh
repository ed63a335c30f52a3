#!/usr/bin/env bash
# Installs the nss-helper deployable (the apps/nss-helper/dist this script sits in) on a host:
#   /usr/lib/nss-helper/                     the bundle, its package.json and native deps (npm)
#   /usr/lib/<multiarch>/libnss_machines.so.2   the glibc NSS module ("machines")
#   /etc/nsswitch.conf                       "machines" added to the hosts: line (after
#                                            mymachines, else before resolve/dns, else at the end)
#   /etc/systemd/system/nss-helper.service   where systemd is present
#   /etc/init.d/nss-helper                   where OpenRC is present
#
# Adding "machines" is idempotent (an install over an install changes nothing), and --uninstall
# puts the hosts: line back byte for byte as it was found. What was done is recorded in
# /usr/lib/nss-helper/.install-state.
#
# usage: install.sh [--root DIR] [--init auto|systemd|openrc|none] [--multiarch TRIPLET] [--skip-npm] [--uninstall]
#   --root DIR   install below DIR (packaging, tests); no service manager calls, no ldconfig
#   --skip-npm   do not run "npm install --omit=dev" (the native deps are provided otherwise)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
app=nss-helper
ours_marker=nss-helper
npm_needs="the native module zeromq"
extra_value_options=(multiarch)
dist_files=(lib/libnss_machines.so.2)
# The shared logic (tools/build/deploy/install-lib.sh), copied beside this script by the build.
# shellcheck source=../../../tools/build/deploy/install-lib.sh
source "$here/install-lib.sh"
parse_args "$@"
nsswitch=$root/etc/nsswitch.conf

# The directory glibc's loader searches for NSS modules: the Debian multiarch library directory.
find_multiarch() {
  if [[ -n $multiarch ]]; then echo "$multiarch"; return; fi
  local m=
  m=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null) || m=$(gcc -print-multiarch 2>/dev/null) || m=
  if [[ -z $m ]]; then
    # No dpkg-dev, no gcc: the directory where libc.so.6 lives says it.
    m=$(ldconfig -p 2>/dev/null | sed -n 's|.*=> /\(usr/\)\{0,1\}lib/\([^/]*\)/libc\.so\.6$|\2|p' | head -n1)
  fi
  [[ -n $m ]] || die "cannot tell the multiarch library directory; pass --multiarch (e.g. x86_64-linux-gnu)"
  echo "$m"
}

# --- /etc/nsswitch.conf ----------------------------------------------------------------------
# The file is rewritten in place (cat >), never replaced: its inode, mode and owner stay, and a
# bind mount over it keeps working. Lines travel base64-encoded in the state file so that any
# byte of the original comes back as it was.

b64() { printf '%s' "$1" | base64 -w0; }
unb64() { printf '%s' "$1" | base64 -d; }

# Replaces line number $2 of file $1 by $3 (exactly; a missing final newline stays missing).
replace_line() {
  local file=$1 n=$2 text=$3 total tmp
  total=$(wc -l <"$file")
  tmp=$(mktemp)
  {
    if ((n > 1)); then head -n $((n - 1)) -- "$file"; fi
    if ((n <= total)); then printf '%s\n' "$text"; else printf '%s' "$text"; fi
    tail -n +$((n + 1)) -- "$file"
  } >"$tmp"
  cat -- "$tmp" >"$file"
  rm -f -- "$tmp"
}

# The hosts: line with "machines" added where it belongs.
with_machines() {
  local line=$1 word
  # After mymachines and any [action] right after it: both resolve containers, ours second.
  if [[ $line =~ ^(.*[[:space:]]mymachines([[:space:]]*\[[^]]*\])?)(([[:space:]].*)?)$ ]]; then
    printf '%s machines%s' "${BASH_REMATCH[1]}" "${BASH_REMATCH[3]}"
    return
  fi
  # Before the first network source: a container name should not go out to DNS first.
  for word in resolve dns; do
    if [[ $line =~ ^(hosts:.*[[:space:]])($word([[:space:]].*)?)$ ]]; then
      printf '%smachines %s' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
      return
    fi
  done
  # Otherwise at the end, before a trailing comment if there is one.
  if [[ $line =~ ^([^#]*[^#[:space:]])([[:space:]]*#.*)$ ]]; then
    printf '%s machines%s' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
  else
    printf '%s machines' "${line%"${line##*[![:space:]]}"}"
  fi
}

nsswitch_add() {
  if [[ ! -f $nsswitch ]]; then
    log "no $nsswitch: add 'machines' to its hosts: line yourself"
    return
  fi
  local n line new
  n=$(grep -n -m1 '^hosts:' -- "$nsswitch" | cut -d: -f1) || n=
  if [[ -z $n ]]; then
    # No hosts: line at all (glibc then uses "dns [!UNAVAIL=return] files"): add one at the end.
    if [[ -s $nsswitch && $(tail -c1 -- "$nsswitch" | od -An -c | tr -d ' ') != '\n' ]]; then
      printf '\n' >>"$nsswitch"
      echo "nsswitch-newline" >>"$state_file.new"
    fi
    printf 'hosts: files machines dns\n' >>"$nsswitch"
    echo "nsswitch-appended $(b64 'hosts: files machines dns')" >>"$state_file.new"
    log "added 'hosts: files machines dns' to $nsswitch"
    return
  fi
  line=$(sed -n "${n}p" -- "$nsswitch")
  if [[ $line =~ [[:space:]]machines([[:space:]]|$) ]]; then
    log "$nsswitch already has machines on its hosts: line"
    return
  fi
  new=$(with_machines "$line")
  replace_line "$nsswitch" "$n" "$new"
  echo "nsswitch $(b64 "$line") $(b64 "$new")" >>"$state_file.new"
  log "$nsswitch: '$line' → '$new'"
}

nsswitch_remove() {
  [[ -f $nsswitch ]] || return 0
  local how=$1 a=${2:-} b=${3:-} n line
  case $how in
    nsswitch)
      local orig new
      orig=$(unb64 "$a"); new=$(unb64 "$b")
      n=$(grep -n -m1 -F -x -- "$new" "$nsswitch" | cut -d: -f1) || n=
      if [[ -n $n ]]; then
        replace_line "$nsswitch" "$n" "$orig"
        log "$nsswitch: hosts: line restored to '$orig'"
        return
      fi
      # Edited since: take out our word only, and leave the rest as the admin has it.
      n=$(grep -n -m1 '^hosts:' -- "$nsswitch" | cut -d: -f1) || n=
      [[ -n $n ]] || return 0
      line=$(sed -n "${n}p" -- "$nsswitch")
      if [[ $line =~ ^(.*[^[:space:]])[[:space:]]+machines(([[:space:]].*)?)$ ]]; then
        replace_line "$nsswitch" "$n" "${BASH_REMATCH[1]}${BASH_REMATCH[2]}"
        log "$nsswitch: its hosts: line was changed since the install; removed 'machines' from it"
      fi
      ;;
    nsswitch-appended)
      local added tmp
      added=$(unb64 "$a")
      # Only the very last line, and only if it is still ours.
      if [[ $(tail -n1 -- "$nsswitch") == "$added" ]]; then
        tmp=$(mktemp)
        head -n -1 -- "$nsswitch" >"$tmp"
        cat -- "$tmp" >"$nsswitch"
        rm -f -- "$tmp"
        log "$nsswitch: removed the hosts: line it added"
      fi
      ;;
    nsswitch-newline)
      # The newline added before the appended line, when the file had no final one.
      if [[ -s $nsswitch && $(tail -c1 -- "$nsswitch" | od -An -c | tr -d ' ') == '\n' ]]; then
        truncate -s -1 -- "$nsswitch"
      fi
      ;;
  esac
}

# --- uninstall ---------------------------------------------------------------------------------
if [[ $uninstall -eq 1 ]]; then
  stop_service
  if [[ -f $state_file ]]; then
    # In reverse order: the appended line goes before the newline that preceded it.
    while read -r how a b; do
      case $how in
        nsswitch|nsswitch-appended|nsswitch-newline) nsswitch_remove "$how" "$a" "$b" ;;
        module) [[ -f $root$a ]] && rm -f -- "$root$a" && log "removed $root$a" ;;
      esac
    done < <(tac -- "$state_file")
  fi
  remove_ours "$unit" "$initscript"
  rm -rf -- "$libdir"
  if systemd_running; then systemctl daemon-reload; fi
  if [[ $live -eq 1 ]]; then ldconfig 2>/dev/null || true; fi
  log "nss-helper uninstalled"
  exit 0
fi

check_dist
# 1. The program (and, in $state_file.new, the earlier install's record: the original hosts: line).
install_program

# 2. The NSS module, where glibc looks for libnss_*.so.2.
arch=$(find_multiarch)
module=/usr/lib/$arch/libnss_machines.so.2
install -d -m 0755 -- "$root/usr/lib/$arch"
install -m 0644 -- "$here/lib/libnss_machines.so.2" "$root$module"
grep -qx "module $module" "$state_file.new" || echo "module $module" >>"$state_file.new"
if [[ $live -eq 1 ]]; then ldconfig 2>/dev/null || true; fi

# 3. nsswitch.conf.
nsswitch_add

# 4. The service manager.
install_service_manager ": start $libdir/bin/nss-helper.mjs yourself" "enable it with: systemctl enable --now nss-helper.service" ""
# Order matters for --uninstall (it replays the record backwards): no sort, no duplicates.
save_state recorded
log "nss-helper installed in $libdir ($kind), module $root$module"
