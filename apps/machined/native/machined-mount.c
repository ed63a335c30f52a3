/*
 * machined-mount: bind-mounts a host file or directory into a running container's mount
 * namespace, for machined's BindMountMachine.
 *
 *   machined-mount LEADER SOURCE DESTINATION [--read-only] [--mkdir]
 *
 * The source is cloned as a detached mount in the host's namespace (open_tree OPEN_TREE_CLONE),
 * made read-only on request (mount_setattr, so the flag is on the mount itself, not a remount that
 * could fail half-way), then the helper joins the leader's mount namespace (setns: its root and
 * cwd become the container's root; it then chroot()s to the leader's own root, so DESTINATION and
 * any symlink in it resolve inside the container) and attaches the mount there with move_mount. --mkdir creates the destination, a
 * directory for a directory source, an empty file for anything else, as upstream's
 * make_file_or_directory. This needs no cooperation from the container (upstream 252 goes through
 * systemd-nspawn's propagation directory /run/systemd/nspawn/propagate/NAME).
 *
 * Exit status: 0, or the errno of the failure (1..255) with one line on stderr saying what failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(int err, const char *fmt, ...) {
	va_list ap;
	fputs("machined-mount: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	return err > 255 ? EIO : err;
}

/* mkdir -p of `path` (absolute) in the current mount namespace; the last component too. */
static int mkdir_parents(const char *path, bool last_too) {
	char buf[PATH_MAX];
	size_t len = strlen(path);
	if (len >= sizeof buf) return ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/') continue;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST) return errno;
		*p = '/';
	}
	if (last_too && mkdir(buf, 0755) < 0 && errno != EEXIST) return errno;
	return 0;
}

int main(int argc, char **argv) {
	bool read_only = false, make = false;
	/* Nothing of machined's (its bus socket is not close-on-exec) stays open in here. */
	close_range(3, ~0U, 0);
	if (argc < 4) {
		fprintf(stderr, "usage: machined-mount LEADER SOURCE DESTINATION [--read-only] [--mkdir]\n");
		return EINVAL;
	}
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--read-only") == 0)
			read_only = true;
		else if (strcmp(argv[i], "--mkdir") == 0)
			make = true;
		else
			return fail(EINVAL, "unknown option '%s'", argv[i]);
	}
	char *end;
	long leader = strtol(argv[1], &end, 10);
	if (*end || leader <= 0 || leader > INT_MAX) return fail(EINVAL, "invalid leader PID '%s'", argv[1]);
	const char *source = argv[2], *dest = argv[3];
	if (source[0] != '/' || dest[0] != '/') return fail(EINVAL, "source and destination must be absolute paths");

	struct stat st;
	if (stat(source, &st) < 0) return fail(errno, "cannot bind-mount %s", source);

	char ns_path[64];
	snprintf(ns_path, sizeof ns_path, "/proc/%ld/ns/mnt", leader);
	int nsfd = open(ns_path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) return fail(errno, "cannot open the mount namespace of the machine (%s)", ns_path);

	/* The leader's own root (it may be chroot()ed below its namespace's root), opened while its
	 * path still means the host's /proc. */
	char root_path[64];
	snprintf(root_path, sizeof root_path, "/proc/%ld/root", leader);
	int rootfd = open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) return fail(errno, "cannot open the root directory of the machine (%s)", root_path);

	int tree = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0) return fail(errno, "cannot clone a mount of %s", source);
	if (read_only) {
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
		if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) return fail(errno, "cannot make the mount of %s read-only", source);
	}

	if (setns(nsfd, CLONE_NEWNS) < 0) return fail(errno, "cannot join the mount namespace of the machine");
	close(nsfd);
	if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0) return fail(errno, "cannot enter the root directory of the machine");
	close(rootfd);

	if (make) {
		int r = mkdir_parents(dest, S_ISDIR(st.st_mode));
		if (r) return fail(r, "cannot create %s in the machine", dest);
		if (!S_ISDIR(st.st_mode)) {
			int fd = open(dest, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
			if (fd < 0) return fail(errno, "cannot create %s in the machine", dest);
			close(fd);
		}
	}
	struct stat dst;
	if (stat(dest, &dst) < 0) return fail(errno, "cannot mount on %s in the machine", dest);
	if (S_ISDIR(dst.st_mode) != S_ISDIR(st.st_mode))
		return fail(S_ISDIR(st.st_mode) ? ENOTDIR : EISDIR, "cannot mount %s on %s in the machine", source, dest);

	if (move_mount(tree, "", AT_FDCWD, dest, MOVE_MOUNT_F_EMPTY_PATH) < 0) return fail(errno, "cannot mount %s on %s in the machine", source, dest);
	return 0;
}
