/*
 * machined-copy: copies a file or directory tree between the host and a running container, for
 * machined's CopyToMachine / CopyFromMachine.
 *
 *   machined-copy to|from LEADER HOST_PATH CONTAINER_PATH [--replace]
 *
 * The container-side path is resolved with openat2(RESOLVE_IN_ROOT) below /proc/LEADER/root: `..`
 * and absolute symlinks stay inside the container's root, so a container can never redirect the
 * copy to a host file. The last component is never followed (a symlink is copied or replaced as a
 * symlink, as upstream's copy_tree_at does).
 *
 * Ownership goes through the leader's uid_map / gid_map: copying to the container, a host-side
 * owner is taken as the container-side ID and mapped to the host ID that backs it (root of a
 * container mapped 0 -> 200000 becomes 200000 on disk); copying from the container maps back, and
 * IDs the map does not cover become 65534 (nobody), as the kernel shows them. Modes (with
 * setuid/setgid/sticky) and access/modification times are kept; files with several names within
 * the copied tree keep sharing one inode; extended attributes are not copied.
 *
 * As upstream (COPY_MERGE, COPY_REPLACE): a directory copied onto an existing directory merges
 * into it; anything else that exists is refused, or replaced with --replace. Nothing is left
 * half-written: every new entry is built under a hidden temporary name beside its destination and
 * renamed into place (RENAME_NOREPLACE; RENAME_EXCHANGE and removal of the old one to replace), a
 * failed one is removed, and without --replace every conflict is looked for before anything is
 * written, so a refused copy changes nothing.
 *
 * Exit status: 0, or the errno of the failure (1..255) with one line on stderr saying what failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_DEPTH 256
#define MAX_MAP_LINES 340 /* the kernel's limit per map */
#define OVERFLOW_ID 65534U

struct id_range {
	uint32_t inner, outer, count;
};
struct id_map {
	struct id_range r[MAX_MAP_LINES];
	size_t n;
};

static struct id_map uid_map, gid_map;
static bool to_container;

static int fail(int err, const char *fmt, ...) {
	va_list ap;
	fputs("machined-copy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	return err;
}

static int read_map(pid_t leader, const char *which, struct id_map *map) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)leader, which);
	FILE *f = fopen(path, "re");
	if (!f) return fail(errno, "cannot read %s", path);
	unsigned long a, b, c;
	map->n = 0;
	while (map->n < MAX_MAP_LINES && fscanf(f, "%lu %lu %lu", &a, &b, &c) == 3)
		map->r[map->n++] = (struct id_range){(uint32_t)a, (uint32_t)b, (uint32_t)c};
	fclose(f);
	return 0;
}

/* Host-side ID of container-side `id`, or (uint32_t)-1 when the map does not cover it. */
static uint32_t inner_to_outer(const struct id_map *m, uint32_t id) {
	for (size_t i = 0; i < m->n; i++)
		if (id >= m->r[i].inner && id - m->r[i].inner < m->r[i].count) return m->r[i].outer + (id - m->r[i].inner);
	return (uint32_t)-1;
}

static uint32_t outer_to_inner(const struct id_map *m, uint32_t id) {
	for (size_t i = 0; i < m->n; i++)
		if (id >= m->r[i].outer && id - m->r[i].outer < m->r[i].count) return m->r[i].inner + (id - m->r[i].outer);
	return (uint32_t)-1;
}

static uint32_t shift_id(const struct id_map *m, uint32_t id) {
	uint32_t r;
	if (to_container) {
		r = inner_to_outer(m, id);
		if (r == (uint32_t)-1) r = inner_to_outer(m, OVERFLOW_ID);
		if (r == (uint32_t)-1) r = m->n > 0 ? m->r[0].outer : id;
	} else {
		r = outer_to_inner(m, id);
		if (r == (uint32_t)-1) r = OVERFLOW_ID;
	}
	return r;
}

static int copy_data(int in, int out, const char *what) {
	bool use_cfr = true;
	char buf[128 * 1024];
	for (;;) {
		if (use_cfr) {
			ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
			if (n > 0) continue;
			if (n == 0) return 0;
			if (errno == EINTR) continue;
			if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP && errno != EPERM)
				return fail(errno, "cannot copy the contents of %s", what);
			use_cfr = false;
		}
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR) continue;
			return fail(errno, "cannot read %s", what);
		}
		if (n == 0) return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR) continue;
				return fail(errno, "cannot write the copy of %s", what);
			}
			off += w;
		}
	}
}

/* Owner, mode and times of `st` on an open fd (chown first: it clears setuid/setgid). */
static int set_attrs_fd(int fd, const struct stat *st, const char *what) {
	if (fchown(fd, shift_id(&uid_map, st->st_uid), shift_id(&gid_map, st->st_gid)) < 0)
		return fail(errno, "cannot set the owner of the copy of %s", what);
	if (fchmod(fd, st->st_mode & 07777) < 0) return fail(errno, "cannot set the mode of the copy of %s", what);
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (futimens(fd, ts) < 0) return fail(errno, "cannot set the times of the copy of %s", what);
	return 0;
}

static int set_attrs_at(int dirfd, const char *name, const struct stat *st, const char *what) {
	if (fchownat(dirfd, name, shift_id(&uid_map, st->st_uid), shift_id(&gid_map, st->st_gid), AT_SYMLINK_NOFOLLOW) < 0)
		return fail(errno, "cannot set the owner of the copy of %s", what);
	/* NOFOLLOW: the entry sits in a directory the container can change under us. */
	if (!S_ISLNK(st->st_mode) && fchmodat(dirfd, name, st->st_mode & 07777, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(errno, "cannot set the mode of the copy of %s", what);
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0) return fail(errno, "cannot set the times of the copy of %s", what);
	return 0;
}

/* Files with several names are copied once and linked for the other names found in the same copy
 * (upstream's COPY_HARDLINKS), through an O_PATH descriptor of the first copy: it stays valid when
 * the copy is renamed into place. Bounded; past the bound a file is copied again. */
#define MAX_HARDLINKS 4096
struct hardlink {
	dev_t dev;
	ino_t ino;
	int copy;
};
static struct hardlink hardlinks[MAX_HARDLINKS];
static size_t n_hardlinks;

static struct hardlink *find_hardlink(const struct stat *st) {
	for (size_t i = 0; i < n_hardlinks; i++)
		if (hardlinks[i].dev == st->st_dev && hardlinks[i].ino == st->st_ino) return &hardlinks[i];
	return NULL;
}

static void remember_hardlink(const struct stat *st, int ddir, const char *dname) {
	if (n_hardlinks >= MAX_HARDLINKS) return;
	int fd = openat(ddir, dname, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) return;
	hardlinks[n_hardlinks++] = (struct hardlink){st->st_dev, st->st_ino, fd};
}

static int copy_entry(int sdir, const char *sname, int ddir, const char *dname, const char *what, int depth);

static int copy_dir(int sdir, const char *sname, int ddir, const char *dname, const struct stat *st, const char *what, int depth) {
	if (depth > MAX_DEPTH) return fail(ELOOP, "%s is nested too deeply", what);
	int r = 0;
	int sfd = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0) return fail(errno, "cannot open %s", what);
	if (mkdirat(ddir, dname, 0700) < 0) {
		r = fail(errno, "cannot create the copy of %s", what);
		close(sfd);
		return r;
	}
	int dfd = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		r = fail(errno, "cannot open the copy of %s", what);
		close(sfd);
		return r;
	}
	int lfd = dup(sfd);
	DIR *d = lfd < 0 ? NULL : fdopendir(lfd);
	if (!d) {
		r = fail(errno, "cannot list %s", what);
		if (lfd >= 0) close(lfd);
		goto out;
	}
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e) {
			if (errno) r = fail(errno, "cannot list %s", what);
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
		char child[PATH_MAX];
		if ((size_t)snprintf(child, sizeof child, "%s/%s", what, e->d_name) >= sizeof child) {
			r = fail(ENAMETOOLONG, "cannot copy %s/%s", what, e->d_name);
			break;
		}
		r = copy_entry(sfd, e->d_name, dfd, e->d_name, child, depth + 1);
		if (r) break;
	}
	closedir(d);
	/* Last, so the children's creation does not change the directory's times again. */
	if (!r) r = set_attrs_fd(dfd, st, what);
out:
	close(dfd);
	close(sfd);
	return r;
}

static int copy_entry(int sdir, const char *sname, int ddir, const char *dname, const char *what, int depth) {
	struct stat st;
	if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0) return fail(errno, "cannot stat %s", what);

	if (S_ISDIR(st.st_mode)) return copy_dir(sdir, sname, ddir, dname, &st, what, depth);

	if (S_ISREG(st.st_mode)) {
		int r;
		struct hardlink *h = st.st_nlink > 1 ? find_hardlink(&st) : NULL;
		if (h) {
			if (linkat(h->copy, "", ddir, dname, AT_EMPTY_PATH) == 0) return 0;
			/* The first copy is gone (replaced meanwhile): copy the data once more. */
		}
		int in = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (in < 0) return fail(errno, "cannot open %s", what);
		int out = openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0) {
			r = fail(errno, "cannot create the copy of %s", what);
			close(in);
			return r;
		}
		r = copy_data(in, out, what);
		if (!r) r = set_attrs_fd(out, &st, what);
		close(in);
		if (close(out) < 0 && !r) r = fail(errno, "cannot write the copy of %s", what);
		if (!r && st.st_nlink > 1 && !h) remember_hardlink(&st, ddir, dname);
		return r;
	}

	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sdir, sname, target, sizeof target - 1);
		if (n < 0) return fail(errno, "cannot read the symbolic link %s", what);
		target[n] = 0;
		if (symlinkat(target, ddir, dname) < 0) return fail(errno, "cannot create the copy of %s", what);
		return set_attrs_at(ddir, dname, &st, what);
	}

	/* Device nodes, FIFOs and sockets: the node itself, never its contents. */
	if (mknodat(ddir, dname, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0) return fail(errno, "cannot create the copy of %s", what);
	return set_attrs_at(ddir, dname, &st, what);
}

static void remove_tree_at(int parent, const char *name, int depth) {
	if (unlinkat(parent, name, 0) == 0 || errno != EISDIR) return;
	if (depth <= MAX_DEPTH) {
		int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = fd < 0 ? NULL : fdopendir(fd);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)))
				if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) remove_tree_at(dirfd(d), e->d_name, depth + 1);
			closedir(d);
		} else if (fd >= 0) {
			close(fd);
		}
	}
	unlinkat(parent, name, AT_REMOVEDIR);
}

static bool replace;
static const char *source_side, *dest_side;
static unsigned temp_counter;

static int child_path(char *buf, size_t size, const char *dir, const char *name) {
	if ((size_t)snprintf(buf, size, "%s/%s", strcmp(dir, "/") ? dir : "", name) >= size)
		return fail(ENAMETOOLONG, "cannot copy %s/%s", dir, name);
	return 0;
}

/* Without --replace: finds what the copy would overwrite before anything is written, so a refused
 * copy changes nothing. Directories on both sides merge and are looked into. */
static int find_conflict(int sdir, const char *sname, int ddir, const char *dname, const char *dpath, int depth) {
	struct stat sst, dst;
	if (fstatat(ddir, dname, &dst, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? 0 : fail(errno, "cannot stat %s %s", dpath, dest_side);
	if (fstatat(sdir, sname, &sst, AT_SYMLINK_NOFOLLOW) < 0) return 0; /* reported by the copy itself */
	if (!S_ISDIR(sst.st_mode) || !S_ISDIR(dst.st_mode)) return fail(EEXIST, "%s already exists %s", dpath, dest_side);
	if (depth > MAX_DEPTH) return fail(ELOOP, "%s is nested too deeply", dpath);
	int r = 0;
	int sfd = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int dfd = openat(ddir, dname, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = sfd < 0 ? NULL : fdopendir(sfd);
	if (!d || dfd < 0) {
		r = fail(errno, "cannot open %s", dpath);
		if (!d && sfd >= 0) close(sfd);
		if (d) closedir(d);
		if (dfd >= 0) close(dfd);
		return r;
	}
	struct dirent *e;
	while (!r && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
		char child[PATH_MAX];
		r = child_path(child, sizeof child, dpath, e->d_name);
		if (!r) r = find_conflict(dirfd(d), e->d_name, dfd, e->d_name, child, depth + 1);
	}
	closedir(d);
	close(dfd);
	return r;
}

static int place(int sdir, const char *sname, int ddir, const char *dname, const char *spath, const char *dpath, int depth);

/* An existing directory receives the source directory's entries, each placed as below; the
 * directory itself keeps its owner, mode and times, as upstream's COPY_MERGE. */
static int merge_dir(int sdir, const char *sname, int ddir, const char *dname, const char *spath, const char *dpath, int depth) {
	if (depth > MAX_DEPTH) return fail(ELOOP, "%s is nested too deeply", spath);
	int r = 0;
	int sfd = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0) return fail(errno, "cannot open %s %s", spath, source_side);
	int dfd = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		r = fail(errno, "cannot open %s %s", dpath, dest_side);
		close(sfd);
		return r;
	}
	DIR *d = fdopendir(sfd);
	if (!d) {
		r = fail(errno, "cannot list %s %s", spath, source_side);
		close(sfd);
		close(dfd);
		return r;
	}
	struct dirent *e;
	while (!r && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
		char schild[PATH_MAX], dchild[PATH_MAX];
		r = child_path(schild, sizeof schild, spath, e->d_name);
		if (!r) r = child_path(dchild, sizeof dchild, dpath, e->d_name);
		if (!r) r = place(dirfd(d), e->d_name, dfd, e->d_name, schild, dchild, depth + 1);
	}
	closedir(d);
	close(dfd);
	return r;
}

/* Copies sname to dname. A new entry appears whole or not at all: it is built under a hidden
 * temporary name beside it and renamed into place. An existing directory meets a directory by
 * merging; anything else existing is swapped atomically for the copy with --replace (the old one
 * is then removed) and refused without. */
static int place(int sdir, const char *sname, int ddir, const char *dname, const char *spath, const char *dpath, int depth) {
	struct stat sst, dst;
	if (fstatat(sdir, sname, &sst, AT_SYMLINK_NOFOLLOW) < 0) return fail(errno, "cannot copy %s %s", spath, source_side);
	if (fstatat(ddir, dname, &dst, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(sst.st_mode) && S_ISDIR(dst.st_mode)) return merge_dir(sdir, sname, ddir, dname, spath, dpath, depth);
		if (!replace) return fail(EEXIST, "%s already exists %s", dpath, dest_side);
	} else if (errno != ENOENT) {
		return fail(errno, "cannot stat %s %s", dpath, dest_side);
	}

	char temp[NAME_MAX + 1];
	snprintf(temp, sizeof temp, ".#machined-copy-%ld-%u", (long)getpid(), temp_counter++);
	int r = copy_entry(sdir, sname, ddir, temp, spath, depth);
	if (!r) {
		if (renameat2(ddir, temp, ddir, dname, RENAME_NOREPLACE) == 0) {
			/* in place */
		} else if (errno == EEXIST && replace) {
			if (renameat2(ddir, temp, ddir, dname, RENAME_EXCHANGE) == 0)
				remove_tree_at(ddir, temp, 0); /* the old one, now under the temporary name */
			else
				r = fail(errno, "cannot replace %s %s", dpath, dest_side);
		} else {
			r = fail(errno, errno == EEXIST ? "cannot create %s %s (created meanwhile)" : "cannot move the copy into place as %s %s", dpath, dest_side);
		}
	}
	if (r) remove_tree_at(ddir, temp, 0);
	return r;
}

/* Splits an absolute path into its parent (kept in `parent`) and last component. */
static int split_path(const char *path, char *parent, size_t size, const char **base) {
	size_t len = strlen(path);
	if (len == 0 || len >= size || path[0] != '/') return EINVAL;
	memcpy(parent, path, len + 1);
	while (len > 1 && parent[len - 1] == '/') parent[--len] = 0;
	char *slash = strrchr(parent, '/');
	if (!slash || slash[1] == 0) return EINVAL;
	*base = path + (slash + 1 - parent);
	if (slash == parent)
		parent[1] = 0;
	else
		*slash = 0;
	return 0;
}

int main(int argc, char **argv) {
	if (argc < 5 || argc > 6 || (strcmp(argv[1], "to") && strcmp(argv[1], "from")) || (argc == 6 && strcmp(argv[5], "--replace"))) {
		fprintf(stderr, "usage: machined-copy to|from LEADER HOST_PATH CONTAINER_PATH [--replace]\n");
		return EINVAL;
	}
	/* Nothing of machined's (its bus socket is not close-on-exec) stays open in here. */
	close_range(3, ~0U, 0);
	to_container = strcmp(argv[1], "to") == 0;
	char *end;
	long leader = strtol(argv[2], &end, 10);
	if (*end || leader <= 0 || leader > INT_MAX) return fail(EINVAL, "invalid leader PID '%s'", argv[2]);
	const char *host_path = argv[3], *container_path = argv[4];
	replace = argc == 6;
	umask(0);

	int r = read_map((pid_t)leader, "uid_map", &uid_map);
	if (!r) r = read_map((pid_t)leader, "gid_map", &gid_map);
	if (r) return r;

	char host_parent[PATH_MAX], container_parent[PATH_MAX], host_base[NAME_MAX + 1], container_base[NAME_MAX + 1];
	const char *hb, *cb;
	if (split_path(host_path, host_parent, sizeof host_parent, &hb)) return fail(EINVAL, "'%s' is not an absolute path with a file name", host_path);
	if (split_path(container_path, container_parent, sizeof container_parent, &cb))
		return fail(EINVAL, "'%s' is not an absolute path with a file name", container_path);
	/* The last components, without trailing slashes. */
	snprintf(host_base, sizeof host_base, "%.*s", (int)strcspn(hb, "/"), hb);
	snprintf(container_base, sizeof container_base, "%.*s", (int)strcspn(cb, "/"), cb);

	int hostfd = open(host_parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (hostfd < 0) return fail(errno, "cannot open the host directory %s", host_parent);

	char proc_root[64];
	snprintf(proc_root, sizeof proc_root, "/proc/%ld/root", leader);
	int rootfd = open(proc_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) return fail(errno, "cannot open the root directory of the machine (%s)", proc_root);
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int containerfd = (int)syscall(SYS_openat2, rootfd, container_parent, &how, sizeof how);
	if (containerfd < 0) return fail(errno, "cannot open the directory %s in the machine", container_parent);

	int sdir = to_container ? hostfd : containerfd, ddir = to_container ? containerfd : hostfd;
	const char *sname = to_container ? host_base : container_base, *dname = to_container ? container_base : host_base;
	const char *spath = to_container ? host_path : container_path, *dpath = to_container ? container_path : host_path;
	source_side = to_container ? "on the host" : "in the machine";
	dest_side = to_container ? "in the machine" : "on the host";

	struct stat st;
	if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0) return fail(errno, "cannot copy %s %s", spath, source_side);
	if (!replace && (r = find_conflict(sdir, sname, ddir, dname, dpath, 0))) return r;
	r = place(sdir, sname, ddir, dname, spath, dpath, 0);
	return r > 255 ? EIO : r;
}
