/**
 * The shell script the built-in launcher runs as PID 1 of the new PID namespace (host's /bin/sh,
 * inside `unshare --pid --mount --uts --ipc [--net]`): it gives the image a private /proc, /sys,
 * /dev (null, zero, full, random, urandom, tty, a devpts instance, shm) and /run, sets the host
 * name, makes the image the root (pivot_root, the old root detached), and then becomes the image's
 * /sbin/init, else /bin/sh.
 *
 * It runs in the container's user namespace (see builtin-launcher.ts), root there.
 *
 * Handshake with machined: once set up it writes `ready` on fd 4 and waits for a line on fd 3, so
 * the machine is registered (leader = this PID) before init runs. Everything it mounts lives in
 * the private mount namespace and goes with it; in the image itself at most the mount points
 * /proc, /sys and /dev are created when missing.
 *
 * The console: stdin is a FIFO opened read-write and unlinked at once (reads block, never EOF,
 * like nspawn's read-only console), stdout/stderr go to /dev/null once init runs; until then
 * they reach machined's log.
 */
export const SETUP_VARIABLE = 'MACHINED_CONTAINER_SETUP';

export const CONTAINER_SETUP_SCRIPT = String.raw`
unset MACHINED_CONTAINER_SETUP
set -eu
root=$1
name=$2
fail() { echo "machined launcher: $*" >&2; exit 1; }
[ -d "$root" ] || fail "image directory $root does not exist"
mount --make-rprivate /
mount --bind "$root" "$root"
cd "$root"
# Mount points an image may lack (nspawn creates them too); the only thing ever made in the image.
for d in proc sys dev; do [ -d "$d" ] || mkdir -m 0755 "$d"; done
mount -t proc -o nosuid,nodev,noexec proc proc
# A sysfs of its own needs a network namespace of its own; with the host's network, the host's.
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs sys 2>/dev/null || mount --rbind /sys sys
mount -t tmpfs -o mode=0755,nosuid,size=4m machined-dev dev
for node in null zero full random urandom tty; do
  : > "dev/$node"
  mount --bind "/dev/$node" "dev/$node"
done
mkdir -p dev/pts dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts dev/pts
ln -s pts/ptmx dev/ptmx
mount -t tmpfs -o mode=1777,nosuid,nodev machined-shm dev/shm
ln -s /proc/self/fd dev/fd
ln -s /proc/self/fd/0 dev/stdin
ln -s /proc/self/fd/1 dev/stdout
ln -s /proc/self/fd/2 dev/stderr
if [ -d run ]; then mount -t tmpfs -o mode=0755,nosuid,nodev machined-run run; fi
printf '%s' "$name" > /proc/sys/kernel/hostname
# Loopback up in a network namespace of its own, as nspawn does (with the host's, it is not ours).
ip link set lo up 2>/dev/null || true
mkfifo dev/.console-input
exec 0<>dev/.console-input
rm dev/.console-input
echo ready >&4
exec 4>&-
read -r _ <&3 || fail "machined went away before the machine was registered"
exec 3<&-
pivot_root . .
umount -l .
cd /
if [ -x /sbin/init ]; then init=/sbin/init
elif [ -x /bin/sh ]; then init=/bin/sh
else fail "neither /sbin/init nor /bin/sh in $root"
fi
exec >/dev/null 2>&1
exec "$init"
`;
