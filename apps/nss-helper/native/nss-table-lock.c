/*
 * nss-table-lock FILE: holds an exclusive flock(2) on FILE for as long as nss-helper lives.
 *
 * libnss_machines.so.2 reads nss-helper's published host table only while this lock is held:
 * a table left behind by a helper that was killed is stale, and the module must not serve it.
 * Node cannot take flock locks itself, hence this process: it creates FILE (0644), locks it,
 * prints "locked" on stdout, then waits for its stdin to reach end-of-file, which happens when
 * nss-helper exits however it exits (the pipe's write end closes with it), or when nss-helper
 * closes it on purpose. PR_SET_PDEATHSIG is a second guard. The kernel drops the lock on exit.
 * SIGINT, SIGTERM and SIGHUP are ignored: a Ctrl-C or a service manager signals the whole process
 * group, and nss-helper must remove its table before the lock goes, not after.
 *
 * Exit status: 0 after stdin closed; 1 when FILE cannot be opened or another process holds the
 * lock (another nss-helper publishes there); 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: nss-table-lock FILE\n");
    return 2;
  }
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) return 1;
  int fd = open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    fprintf(stderr, "nss-table-lock: cannot open %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  /* A program checking the lock holds it shared for a few microseconds: try for half a second. */
  int locked = -1;
  for (int i = 0; i < 50 && (locked = flock(fd, LOCK_EX | LOCK_NB)) < 0 && errno == EWOULDBLOCK; i++) {
    struct timespec pause = {0, 10000000};
    nanosleep(&pause, NULL);
  }
  if (locked < 0) {
    fprintf(stderr, "nss-table-lock: cannot lock %s: %s\n", argv[1],
            errno == EWOULDBLOCK ? "another process holds it (another nss-helper?)" : strerror(errno));
    return 1;
  }
  if (write(STDOUT_FILENO, "locked\n", 7) != 7) return 1;
  char buf[64];
  for (;;) {
    ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
    if (r == 0 || (r < 0 && errno != EINTR)) break;
  }
  return 0;
}
