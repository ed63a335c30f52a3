#!/usr/bin/env bash
# Builds a tiny OS tree from Debian's busybox-static, usable as `systemd-nspawn -D DIR` and as an
# image in the pool. Idempotent: DIR carries a stamp with the hash of this recipe and of the
# busybox binary; a complete tree with the current stamp is left alone, a stale one of ours is
# rebuilt, and a directory that is not ours (no stamp, not empty) is refused rather than deleted.
#
# usage: make-busybox-rootfs.sh DIR
set -euo pipefail

BUSYBOX=${BUSYBOX:-/bin/busybox}
STAMP_NAME=.busybox-rootfs-recipe

die() { echo "make-busybox-rootfs: $*" >&2; exit 1; }

[[ $# -eq 1 && -n $1 ]] || die "usage: $0 DIR"
[[ -x $BUSYBOX ]] || die "$BUSYBOX not found (apt-get install busybox-static)"
# A dynamically linked busybox would need the host's libc inside the tree.
if command -v file >/dev/null && ! file -L "$BUSYBOX" | grep -q 'statically linked'; then
  die "$BUSYBOX is not statically linked (install busybox-static, not busybox)"
fi

dir=$(realpath -m -- "$1")
recipe=$( { sha256sum <"${BASH_SOURCE[0]}"; sha256sum <"$BUSYBOX"; } | sha256sum | cut -d' ' -f1)

is_current() { [[ -f $dir/$STAMP_NAME && $(<"$dir/$STAMP_NAME") == "$recipe" ]]; }

is_current && exit 0

mkdir -p -- "$(dirname -- "$dir")"
# Test runs build the same cache in parallel: serialise on a lock file beside DIR.
exec 9>"$dir.lock"
flock 9
is_current && exit 0

if [[ -e $dir ]]; then
  if [[ -f $dir/$STAMP_NAME ]] || [[ -d $dir && -z $(ls -A -- "$dir") ]]; then
    :  # ours but stale, or empty: replaced below
  else
    die "$dir exists and was not made by this script; refusing to overwrite it"
  fi
fi

tmp=$(mktemp -d -- "$dir.tmp.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

cd -- "$tmp"
mkdir -p bin sbin usr/bin usr/sbin usr/lib etc dev proc sys tmp run root home/alice var/tmp var/log
chmod 1777 tmp var/tmp
chmod 0700 root
cp -- "$BUSYBOX" bin/busybox
chmod 0755 bin/busybox

# --list-full names each applet with its conventional directory (bin/sh, usr/bin/awk, sbin/init);
# relative links keep the tree valid wherever it is mounted.
while IFS= read -r applet; do
  [[ -n $applet && $applet != bin/busybox ]] || continue
  [[ -e $applet || -L $applet ]] && continue
  d=$(dirname -- "$applet")
  if [[ $d == . ]]; then up=.; else up=$(sed -e 's|[^/]*|..|g' <<<"$d"); fi
  ln -s -- "$up/bin/busybox" "$applet"
done < <("$tmp/bin/busybox" --list-full)
[[ -L bin/sh ]] || ln -s busybox bin/sh

cat >etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
alice:x:1000:1000:Alice:/home/alice:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >etc/group <<'GROUP'
root:x:0:
alice:x:1000:
nogroup:x:65534:
GROUP
# Locked passwords: the tree is for tests that enter it with nspawn or machinectl shell, never login.
cat >etc/shadow <<'SHADOW'
root:*:19000:0:99999:7:::
alice:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
SHADOW
chmod 0640 etc/shadow
chown 1000:1000 home/alice
chmod 0755 home/alice

cat >etc/os-release <<'OSREL'
NAME="BusyBox test image"
ID=busybox-test
VERSION_ID=1
PRETTY_NAME="BusyBox test image 1"
HOME_URL="https://busybox.net/"
OSREL
ln -s ../../etc/os-release usr/lib/os-release
echo busybox-test >etc/hostname
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >etc/hosts
printf '/bin/sh\n/bin/ash\n' >etc/shells
printf 'PS1='"'"'\\u@\\h:\\w\\$ '"'"'\nexport PS1\n' >etc/profile

echo "$recipe" >"$STAMP_NAME"

if [[ -e $dir ]]; then
  rm -rf -- "$dir"
fi
mv -T -- "$tmp" "$dir"
trap - EXIT
chmod 0755 -- "$dir"
