/*
 * machined-pty: allocates a pseudo-terminal inside a machine's namespaces and hands its master
 * back to machined over a unix socket (SCM_RIGHTS); optionally starts the container's login
 * prompt or a user's shell on it first. Node can do none of this itself: setns(), opening the
 * container's own /dev/ptmx, and passing a descriptor.
 *
 * usage: machined-pty --socket PATH --mode pty|login|shell [--leader PID] [--cgroup-procs FILE]...
 *                     [--user USER] [--term TERM] [--env K=V]... [-- PATH ARGV0 ARGS...]
 *
 *   --socket        unix stream socket machined listens on (connected to before entering anything)
 *   --leader        the machine's leader PID; absent for the host itself (no namespace is entered)
 *   --cgroup-procs  cgroup.procs files to join first, so the session lives in the machine's cgroup
 *   --user          shell only: user name or number from the machine's /etc/passwd (default root)
 *   --term          TERM for login's getty, and for a shell whose --env has none (default vt220)
 *   --env           shell only: the caller's environment; TERM, HOME, USER, LOGNAME, SHELL and
 *                   PATH are added where the caller did not give them. Nothing of ours is passed.
 *   -- PATH ARGV    shell only: what to run; without it the user's shell as a login shell
 *
 * One message goes back on the socket: "OK <pty path>\n" with the master descriptor attached, or
 * "ERR <errno name> <text>\n". For login and shell the helper then waits for the program (so the
 * container's init, often a plain `sleep`, does not collect zombies) and exits with its status.
 * The program gets only descriptors 0, 1 and 2 (the PTY) and the environment described above.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define MAX_CGROUPS 8
#define MAX_ENV 256
#define MAX_GROUPS 64
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int report_fd = -1;

/* Sends one line (and optionally a descriptor) to machined. */
static int send_line(const char *line, int fd) {
  struct iovec iov = {.iov_base = (void *)line, .iov_len = strlen(line)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  memset(&control, 0, sizeof(control));
  if (fd >= 0) {
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t n;
  do n = sendmsg(report_fd, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)iov.iov_len ? 0 : -1;
}

/* Reports a failure to machined (and stderr, for its debug log) and exits. */
__attribute__((noreturn, format(printf, 2, 3))) static void fail(int err, const char *fmt, ...) {
  char text[512], line[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  for (char *p = text; *p; p++)
    if (*p == '\n') *p = ' ';
  /* errno 0: a plain fact about the machine (no such user), not a failed system call. */
  const char *name = err ? strerrorname_np(err) : "-";
  if (err) snprintf(line, sizeof(line), "ERR %s %s: %s\n", name ? name : "EIO", text, strerror(err));
  else snprintf(line, sizeof(line), "ERR - %s\n", text);
  if (report_fd >= 0) send_line(line, -1);
  fprintf(stderr, "machined-pty: %s", line + 4);
  _exit(1);
}

__attribute__((noreturn)) static void usage(const char *why) {
  fprintf(stderr, "machined-pty: %s\n", why);
  _exit(2);
}

static void connect_report_socket(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) usage("socket path too long");
  strcpy(sa.sun_path, path);
  report_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (report_fd < 0 || connect(report_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    int err = errno;
    report_fd = -1;
    fail(err, "cannot connect to %s", path);
  }
}

/* Moves this process into the machine's cgroups, so its session is part of the machine. */
static void join_cgroups(char **files, int n) {
  char pid[32];
  snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
  for (int i = 0; i < n; i++) {
    int fd = open(files[i], O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
      fprintf(stderr, "machined-pty: cannot join %s: %s (continuing outside it)\n", files[i], strerror(errno));
    if (fd >= 0) close(fd);
  }
}

static const struct {
  const char *name;
  int type;
} NAMESPACES[] = {
    /* nsenter's order: the user namespace first, so the others (owned by it) may be joined. */
    {"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
    {"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID},       {"mnt", CLONE_NEWNS},
};
#define N_NAMESPACES (sizeof(NAMESPACES) / sizeof(NAMESPACES[0]))

/*
 * Joins every namespace of the leader that differs from ours, then makes the leader's root our
 * root (a mount namespace's root need not be the container's: nspawn chroots inside it).
 */
static void enter_machine(pid_t leader) {
  char path[64];
  int fds[N_NAMESPACES];
  bool entered_user = false;
  for (size_t i = 0; i < N_NAMESPACES; i++) {
    struct stat theirs, ours;
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)leader, NAMESPACES[i].name);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) fail(errno, "cannot open %s", path);
    snprintf(path, sizeof(path), "/proc/self/ns/%s", NAMESPACES[i].name);
    if (fstat(fds[i], &theirs) < 0) fail(errno, "cannot stat the leader's %s namespace", NAMESPACES[i].name);
    if (stat(path, &ours) < 0) fail(errno, "cannot stat %s", path);
    if (theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino) {
      close(fds[i]);
      fds[i] = -1;
    }
  }
  snprintf(path, sizeof(path), "/proc/%d/root", (int)leader);
  int root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail(errno, "cannot open %s", path);

  /* Two passes, as nsenter: a namespace owned by our own user namespace may refuse once we are in
   * the container's, and one owned by the container's refuses before. */
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < N_NAMESPACES; i++) {
      if (fds[i] < 0) continue;
      if (setns(fds[i], NAMESPACES[i].type) < 0) {
        if (pass == 1) fail(errno, "cannot enter the %s namespace of PID %d", NAMESPACES[i].name, (int)leader);
        continue;
      }
      if (NAMESPACES[i].type == CLONE_NEWUSER) entered_user = true;
      close(fds[i]);
      fds[i] = -1;
    }
  }
  /* In a user namespace we are whoever our host IDs map to (often nobody): become its root, so
   * that the PTY we create belongs to a user the container knows. */
  if (entered_user && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
    fail(errno, "cannot become root in the user namespace of PID %d", (int)leader);
  /* EPERM: the namespace was made with setgroups "deny" (rootless containers); we have none left
   * anyway (dropped above). */
  if (entered_user && setgroups(0, NULL) < 0 && errno != EPERM) fail(errno, "cannot drop supplementary groups");
  if (fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0) fail(errno, "cannot change root to that of PID %d", (int)leader);
  close(root);
}

/* /dev/ptmx as the machine sees it, so the PTY is in the machine's own devpts. */
static int open_master(char *name, size_t size) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail(errno, "cannot open /dev/ptmx");
  if (unlockpt(master) < 0) fail(errno, "cannot unlock the PTY");
  int err = ptsname_r(master, name, size);
  if (err != 0) fail(err, "cannot name the PTY");
  return master;
}

/* A regular file of the machine, opened so that a FIFO planted there cannot block us. */
static FILE *open_regular(const char *path) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    errno = EINVAL;
    return NULL;
  }
  return fdopen(fd, "r");
}

struct account {
  uid_t uid;
  gid_t gid;
  char name[256];
  char home[PATH_MAX];
  char shell[PATH_MAX];
  gid_t groups[MAX_GROUPS];
  int ngroups;
};

static bool all_digits(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

/*
 * The user from the machine's own /etc/passwd and /etc/group, read as files: getpwnam() would load
 * the machine's NSS modules into this privileged process.
 */
static void lookup_account(const char *user, struct account *a) {
  FILE *f = open_regular("/etc/passwd");
  struct passwd *pw = NULL;
  bool numeric = all_digits(user);
  if (f) {
    while ((pw = fgetpwent(f)))
      if (strcmp(pw->pw_name, user) == 0 || (numeric && pw->pw_uid == (uid_t)strtoul(user, NULL, 10))) break;
  }
  if (pw) {
    a->uid = pw->pw_uid;
    a->gid = pw->pw_gid;
    snprintf(a->name, sizeof(a->name), "%s", pw->pw_name);
    snprintf(a->home, sizeof(a->home), "%s", pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/");
    snprintf(a->shell, sizeof(a->shell), "%s", pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh");
  } else if (numeric) {
    /* A UID without an entry, as systemd's User= accepts it. */
    a->uid = a->gid = (uid_t)strtoul(user, NULL, 10);
    snprintf(a->name, sizeof(a->name), "%s", user);
    snprintf(a->home, sizeof(a->home), "/");
    snprintf(a->shell, sizeof(a->shell), "/bin/sh");
  } else {
    if (f) fclose(f);
    fail(0, "no user '%s' in the machine's /etc/passwd", user);
  }
  if (f) fclose(f);

  a->groups[0] = a->gid;
  a->ngroups = 1;
  FILE *g = open_regular("/etc/group");
  struct group *gr;
  while (g && (gr = fgetgrent(g)) && a->ngroups < MAX_GROUPS) {
    if (gr->gr_gid == a->gid) continue;
    for (char **m = gr->gr_mem; m && *m; m++)
      if (strcmp(*m, a->name) == 0) {
        a->groups[a->ngroups++] = gr->gr_gid;
        break;
      }
  }
  if (g) fclose(g);
}

static bool env_has(char **env, int n, const char *key) {
  size_t k = strlen(key);
  for (int i = 0; i < n; i++)
    if (strncmp(env[i], key, k) == 0 && env[i][k] == '=') return true;
  return false;
}

static void env_add(char **env, int *n, const char *key, const char *value) {
  if (env_has(env, *n, key) || *n >= MAX_ENV - 1) return;
  size_t len = strlen(key) + strlen(value) + 2;
  char *s = malloc(len);
  if (!s) fail(ENOMEM, "environment");
  snprintf(s, len, "%s=%s", key, value);
  env[(*n)++] = s;
}

/* The login program the machine has: agetty as systemd's container-getty@ runs it, else BusyBox
 * getty, else plain login (each prints the machine's "HOST login:" prompt). */
static const char *login_program(char **argv, const char *term) {
  static const char *const gettys[] = {"/sbin/agetty", "/usr/sbin/agetty", "/sbin/getty", "/usr/sbin/getty"};
  static const char *const logins[] = {"/bin/login", "/usr/bin/login", "/sbin/login"};
  for (size_t i = 0; i < sizeof(gettys) / sizeof(gettys[0]); i++) {
    if (access(gettys[i], X_OK) < 0) continue;
    char real[PATH_MAX];
    const char *base = realpath(gettys[i], real) ? strrchr(real, '/') + 1 : "";
    int n = 0;
    argv[n++] = (char *)"getty";
    if (strcmp(base, "busybox") == 0) {
      argv[n++] = (char *)"-L"; /* a PTY has no carrier */
      argv[n++] = (char *)"0";  /* leave the speed alone */
    } else {
      argv[n++] = (char *)"--noclear";
      argv[n++] = (char *)"--keep-baud";
      argv[n++] = (char *)"115200,38400,9600";
    }
    argv[n++] = (char *)"-"; /* the terminal is our standard input */
    argv[n++] = (char *)term;
    argv[n] = NULL;
    return gettys[i];
  }
  for (size_t i = 0; i < sizeof(logins) / sizeof(logins[0]); i++) {
    if (access(logins[i], X_OK) < 0) continue;
    argv[0] = (char *)"login";
    argv[1] = NULL;
    return logins[i];
  }
  fail(0, "the machine has no agetty, getty or login program");
}

/* In the child: the PTY becomes the controlling terminal and 0, 1, 2; everything else closes at exec. */
__attribute__((noreturn)) static void run_on_pty(const char *pty, const struct account *a, const char *program, char **argv,
                                                 char **envp, int status_fd) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  int err = 0;
  const char *what = "setsid";
  if (setsid() < 0) goto failed;
  what = "open the PTY";
  int slave = open(pty, O_RDWR | O_CLOEXEC);
  if (slave < 0) goto failed;
  what = "make the PTY the controlling terminal";
  if (ioctl(slave, TIOCSCTTY, 0) < 0) goto failed;
  if (a) {
    /* As login does: the terminal belongs to the user who logs in on it. */
    what = "hand the PTY to the user";
    if (fchown(slave, a->uid, (gid_t)-1) < 0 || fchmod(slave, 0620) < 0) goto failed;
  }
  what = "set up standard input and output";
  if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) goto failed;
  if (a) {
    what = "switch to the user";
    if (setgroups((size_t)a->ngroups, a->groups) < 0 && errno != EPERM) goto failed; /* EPERM: setgroups "deny"; none are left */
    if (setgid(a->gid) < 0 || setuid(a->uid) < 0) goto failed;
    /* systemd's WorkingDirectory=-~: the home directory if there is one, else the root. */
    if (chdir(a->home) < 0 && chdir("/") < 0) goto failed;
  }
  /* machined's D-Bus socket is not close-on-exec; nothing but 0, 1, 2 may reach the program. */
  what = "close inherited descriptors";
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) goto failed;
  what = "execute";
  execve(program, argv, envp);
failed:
  err = errno;
  char msg[PATH_MAX + 64];
  snprintf(msg, sizeof(msg), "%d cannot %s %s", err, what, strcmp(what, "execute") == 0 ? program : "");
  if (write(status_fd, msg, strlen(msg)) < 0) _exit(127);
  _exit(127);
}

int main(int argc, char **argv) {
  /* Node's spawn() passes on every descriptor not marked close-on-exec, machined's bus socket
   * among them: drop them all before anything else. */
  if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
    perror("machined-pty: close_range");
    return 1;
  }
  const char *socket_path = NULL, *mode = NULL, *user = "root", *term = NULL;
  pid_t leader = 0;
  char *cgroups[MAX_CGROUPS];
  int ncgroups = 0;
  char *env[MAX_ENV];
  int nenv = 0;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (!v) usage("missing value after an option");
    if (strcmp(a, "--socket") == 0) socket_path = v;
    else if (strcmp(a, "--mode") == 0) mode = v;
    else if (strcmp(a, "--leader") == 0) leader = (pid_t)strtol(v, NULL, 10);
    else if (strcmp(a, "--user") == 0) user = *v ? v : "root";
    else if (strcmp(a, "--term") == 0) term = v;
    else if (strcmp(a, "--cgroup-procs") == 0) {
      if (ncgroups >= MAX_CGROUPS) usage("too many --cgroup-procs");
      cgroups[ncgroups++] = (char *)v;
    } else if (strcmp(a, "--env") == 0) {
      if (nenv >= MAX_ENV - 8) usage("too many --env");
      env[nenv++] = (char *)v;
    } else
      usage("unknown option");
    i++;
  }
  char **command = i < argc ? &argv[i] : NULL;
  if (!socket_path || !mode) usage("--socket and --mode are required");
  bool shell = strcmp(mode, "shell") == 0, login = strcmp(mode, "login") == 0;
  if (!shell && !login && strcmp(mode, "pty") != 0) usage("--mode must be pty, login or shell");
  if (command && (!shell || !command[0] || command[0][0] != '/' || !command[1])) usage("a command needs --mode shell, an absolute path and argv[0]");
  if (leader < 0 || leader == 1) usage("--leader must be the PID of a machine's leader (not 1)");

  connect_report_socket(socket_path);
  /* No supplementary group of machined's may reach the session, even where a user namespace
   * forbids setgroups() later (then the session simply has none). */
  if (setgroups(0, NULL) < 0) fail(errno, "cannot drop supplementary groups");
  if (leader > 0) {
    join_cgroups(cgroups, ncgroups);
    enter_machine(leader);
  }

  char pty[128];
  int master = open_master(pty, sizeof(pty));
  if (!shell && !login) {
    char line[160];
    snprintf(line, sizeof(line), "OK %s\n", pty);
    if (send_line(line, master) < 0) fail(errno, "cannot hand the PTY to machined");
    return 0;
  }

  struct account acct;
  const char *program;
  char *login_argv[8];
  char **child_argv;
  char login_shell[PATH_MAX + 1];
  char *shell_argv[2];
  if (shell) {
    lookup_account(user, &acct);
    if (!term) term = "vt220";
    env_add(env, &nenv, "TERM", term);
    env_add(env, &nenv, "HOME", acct.home);
    env_add(env, &nenv, "USER", acct.name);
    env_add(env, &nenv, "LOGNAME", acct.name);
    env_add(env, &nenv, "SHELL", acct.shell);
    env_add(env, &nenv, "PATH", DEFAULT_PATH);
    if (command) {
      program = command[0];
      child_argv = &command[1];
    } else {
      /* The user's own shell as a login shell: argv[0] is "-" and its name, as login(1) does. */
      const char *base = strrchr(acct.shell, '/');
      snprintf(login_shell, sizeof(login_shell), "-%s", base ? base + 1 : acct.shell);
      shell_argv[0] = login_shell;
      shell_argv[1] = NULL;
      program = acct.shell;
      child_argv = shell_argv;
    }
  } else {
    if (!term) term = "vt220";
    program = login_program(login_argv, term);
    child_argv = login_argv;
    env_add(env, &nenv, "TERM", term);
    env_add(env, &nenv, "PATH", DEFAULT_PATH);
  }
  env[nenv] = NULL;

  /* A close-on-exec pipe tells whether the program started: EOF means it did. */
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) < 0) fail(errno, "pipe");
  pid_t child = fork();
  if (child < 0) fail(errno, "fork");
  if (child == 0) {
    close(status_pipe[0]);
    close(master);
    close(report_fd);
    run_on_pty(pty, shell ? &acct : NULL, program, child_argv, env, status_pipe[1]);
  }
  close(status_pipe[1]);
  char status[PATH_MAX + 64];
  ssize_t n;
  do n = read(status_pipe[0], status, sizeof(status) - 1);
  while (n < 0 && errno == EINTR);
  close(status_pipe[0]);
  if (n > 0) {
    status[n] = '\0';
    char *text;
    int err = (int)strtol(status, &text, 10);
    waitpid(child, NULL, 0);
    fail(err, "%s", text + 1);
  }
  char line[160];
  snprintf(line, sizeof(line), "OK %s\n", pty);
  if (send_line(line, master) < 0) {
    kill(child, SIGHUP);
    fail(errno, "cannot hand the PTY to machined");
  }
  close(master);
  close(report_fd);

  int st;
  while (waitpid(child, &st, 0) < 0)
    if (errno != EINTR) return 1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
