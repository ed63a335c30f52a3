/*
 * libnss_machines.so.2: glibc NSS "hosts" module resolving the names of local containers to the
 * addresses inside their network namespaces, by asking nss-helper over a unix socket.
 *
 *   hosts: files mymachines machines dns     (/etc/nsswitch.conf; "machines" is this module)
 *
 * It never blocks a program for long: the whole exchange has a 200 ms deadline; a helper that is
 * not running (no socket, connection refused) gives NSS_STATUS_UNAVAIL at once, so the next
 * source answers. The results follow libnss_mymachines (systemd 252): the queried name is the
 * canonical name, no aliases, ttl 0, addresses in the helper's order (global, site, link-local).
 *
 * Fast path: nss-helper also publishes its whole table as a file beside the socket (the socket
 * path with ".sock" replaced by ".table"), rewritten atomically on every change, and holds an
 * exclusive flock on "<table>.lock" while it lives. When that lock is held, the module answers
 * from the file, as the "files" module answers from /etc/hosts: no round trip. A missing,
 * unlocked (helper gone: stale), oversized or unreadable table, or a name marked "?" in it (its
 * addresses are being read), sends the look-up over the socket instead.
 *   table     "machines-hosts 1\n", then per container "= <lowercase name> <scopeid> <count>\n"
 *             and count address lines as in an answer; "? <lowercase name>\n" for the others
 * $MACHINED_NSS_NO_TABLE (non-empty) turns the fast path off (tests of the socket path).
 *
 * Wire protocol (one request per connection; the helper closes after its answer):
 *   request   "HOSTS <af> <name>\n"        af: 0 (any), 2 (AF_INET) or 10 (AF_INET6)
 *   answer    "OK <scopeid> <count>\n" then count lines "4 <dotted quad>\n" / "6 <ipv6>\n"
 *             "NOTFOUND\n" | "TRYAGAIN\n" | "UNAVAIL <why>\n" | "ERROR <why>\n"
 * The socket is /run/machined-nss/hosts.sock; $MACHINED_NSS_SOCKET overrides it for tests
 * (read with secure_getenv, so never for setuid programs).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <nss.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/machined-nss/hosts.sock"
#define TIMEOUT_MS 200
#define MAX_ADDRS 128
#define REPLY_MAX 8192
#define TABLE_MAX (4 << 20)
#define ALIGN_PTR(n) (((n) + sizeof(void *) - 1) & ~(sizeof(void *) - 1))

#define EXPORT __attribute__((visibility("default")))

struct answer {
  enum nss_status status;
  int err;  /* errno to report when status is not SUCCESS */
  int herr; /* h_errno to report when status is not SUCCESS */
  uint32_t scopeid;
  size_t n;
  struct {
    int family;
    unsigned char bytes[16];
  } a[MAX_ADDRS];
};

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void fail(struct answer *ans, enum nss_status status, int err, int herr) {
  ans->status = status;
  ans->err = err;
  ans->herr = herr;
  ans->n = 0;
}

/* Container names are hostnames: anything else cannot be one of ours and is not sent. */
static int plausible_name(const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len > 253) return 0;
  for (const char *p = name; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f) return 0;
  return 1;
}

/* Reads count address lines ("4 a.b.c.d" / "6 x::y") from the strtok_r state into ans. */
static int parse_addresses(char **save, unsigned long count, struct answer *ans) {
  ans->n = 0;
  for (unsigned long i = 0; i < count; i++) {
    char *line = strtok_r(NULL, "\n", save);
    if (!line || strlen(line) < 3 || line[1] != ' ') return -1;
    int family = line[0] == '4' ? AF_INET : line[0] == '6' ? AF_INET6 : -1;
    if (family < 0 || inet_pton(family, line + 2, ans->a[i].bytes) != 1) return -1;
    ans->a[i].family = family;
    ans->n++;
  }
  return 0;
}

static int parse_answer(char *text, struct answer *ans) {
  char *save = NULL;
  char *line = strtok_r(text, "\n", &save);
  if (!line) return -1;
  if (strcmp(line, "NOTFOUND") == 0) {
    fail(ans, NSS_STATUS_NOTFOUND, ENOENT, HOST_NOT_FOUND);
    return 0;
  }
  if (strcmp(line, "TRYAGAIN") == 0) {
    fail(ans, NSS_STATUS_TRYAGAIN, EAGAIN, TRY_AGAIN);
    return 0;
  }
  if (strncmp(line, "UNAVAIL", 7) == 0) {
    fail(ans, NSS_STATUS_UNAVAIL, ENXIO, NO_RECOVERY);
    return 0;
  }
  unsigned long scope, count;
  char extra;
  if (sscanf(line, "OK %lu %lu%c", &scope, &count, &extra) != 2 || count > MAX_ADDRS || scope > UINT32_MAX) return -1;
  ans->scopeid = (uint32_t)scope;
  if (parse_addresses(&save, count, ans) < 0) return -1;
  if (strtok_r(NULL, "\n", &save)) return -1;
  ans->status = NSS_STATUS_SUCCESS;
  return 0;
}

/* The socket path in use: $MACHINED_NSS_SOCKET (not for setuid programs) or the default. */
static const char *socket_path(void) {
  const char *path = secure_getenv("MACHINED_NSS_SOCKET");
  return path && *path ? path : DEFAULT_SOCKET;
}

static int read_all(int fd, char *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = read(fd, buf + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

/*
 * The fast path: answers from the published table. Returns 0 when ans holds the answer, -1 when
 * the table cannot answer and the socket must be asked.
 */
static int table_lookup(const char *name, struct answer *ans) {
  const char *sock = socket_path();
  char table[sizeof(((struct sockaddr_un *)0)->sun_path) + 16], lock[sizeof(table) + 8];
  size_t l = strlen(sock);
  if (l >= sizeof(((struct sockaddr_un *)0)->sun_path)) return -1;
  if (l > 5 && strcmp(sock + l - 5, ".sock") == 0) l -= 5;
  snprintf(table, sizeof(table), "%.*s.table", (int)l, sock);
  snprintf(lock, sizeof(lock), "%s.lock", table);

  /* Held by a live nss-helper; if we can take it, the helper is gone and the table is stale. */
  int lfd = open(lock, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (lfd < 0) return -1;
  int held = flock(lfd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
  close(lfd);
  if (!held) return -1;

  int fd = open(table, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 17 || st.st_size > TABLE_MAX) {
    close(fd);
    return -1;
  }
  size_t size = (size_t)st.st_size;
  char stackbuf[16384];
  char *buf = size < sizeof(stackbuf) ? stackbuf : malloc(size + 1);
  if (!buf) {
    close(fd);
    return -1;
  }
  int rc = read_all(fd, buf, size);
  close(fd);
  if (rc < 0 || buf[size - 1] != '\n') goto unusable;
  buf[size] = '\0';

  char key[256];
  size_t kl = strlen(name);
  for (size_t i = 0; i <= kl; i++) key[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];

  char *save = NULL;
  char *line = strtok_r(buf, "\n", &save);
  if (!line || strcmp(line, "machines-hosts 1") != 0) goto unusable;
  while ((line = strtok_r(NULL, "\n", &save))) {
    if ((line[0] != '=' && line[0] != '?') || line[1] != ' ') continue;
    char *n = line + 2;
    if (strncmp(n, key, kl) != 0 || (n[kl] != ' ' && n[kl] != '\0')) continue;
    if (line[0] == '?') goto unusable; /* being read: the helper waits for it */
    unsigned long scope, count;
    char extra;
    if (sscanf(n + kl, " %lu %lu%c", &scope, &count, &extra) != 2 || count > MAX_ADDRS || scope > UINT32_MAX) goto unusable;
    ans->scopeid = (uint32_t)scope;
    if (parse_addresses(&save, count, ans) < 0) goto unusable;
    ans->status = NSS_STATUS_SUCCESS;
    if (buf != stackbuf) free(buf);
    return 0;
  }
  /* Not in a live helper's table: no such container (or none with addresses). */
  if (buf != stackbuf) free(buf);
  fail(ans, NSS_STATUS_NOTFOUND, ENOENT, HOST_NOT_FOUND);
  return 0;

unusable:
  if (buf != stackbuf) free(buf);
  return -1;
}

static void query(const char *name, int af, struct answer *ans) {
  if (!plausible_name(name)) {
    fail(ans, NSS_STATUS_NOTFOUND, ENOENT, HOST_NOT_FOUND);
    return;
  }
  const char *no_table = secure_getenv("MACHINED_NSS_NO_TABLE");
  if ((!no_table || !*no_table) && table_lookup(name, ans) == 0) return;
  const char *path = socket_path();
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) {
    fail(ans, NSS_STATUS_UNAVAIL, ENAMETOOLONG, NO_RECOVERY);
    return;
  }
  strcpy(sa.sun_path, path);

  long deadline = now_ms() + TIMEOUT_MS;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    fail(ans, NSS_STATUS_UNAVAIL, errno, NO_RECOVERY);
    return;
  }
  /* A unix connect never waits in non-blocking mode: it succeeds, fails (helper not running:
   * UNAVAIL now), or says EAGAIN when the helper's backlog is full; then try again shortly. */
  while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    if (errno != EAGAIN && errno != EINTR) {
      fail(ans, NSS_STATUS_UNAVAIL, errno, NO_RECOVERY);
      close(fd);
      return;
    }
    if (now_ms() >= deadline) {
      fail(ans, NSS_STATUS_TRYAGAIN, EAGAIN, TRY_AGAIN);
      close(fd);
      return;
    }
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, NULL);
  }

  char req[300];
  int len = snprintf(req, sizeof(req), "HOSTS %d %s\n", af, name);
  if (len < 0 || (size_t)len >= sizeof(req) || send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
    /* The request is far below the socket buffer: a short or failed send means the helper went away. */
    fail(ans, NSS_STATUS_UNAVAIL, errno ? errno : EIO, NO_RECOVERY);
    close(fd);
    return;
  }

  char buf[REPLY_MAX + 1];
  size_t got = 0;
  for (;;) {
    ssize_t r = recv(fd, buf + got, REPLY_MAX - got, 0);
    if (r > 0) {
      got += (size_t)r;
      if (got == REPLY_MAX) break; /* more than any valid answer: rejected by the parser */
      continue;
    }
    if (r == 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      fail(ans, NSS_STATUS_UNAVAIL, errno, NO_RECOVERY);
      close(fd);
      return;
    }
    long left = deadline - now_ms();
    if (left <= 0) {
      fail(ans, NSS_STATUS_TRYAGAIN, EAGAIN, TRY_AGAIN);
      close(fd);
      return;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
      fail(ans, NSS_STATUS_UNAVAIL, errno, NO_RECOVERY);
      close(fd);
      return;
    }
  }
  close(fd);
  buf[got] = '\0';
  if (got == REPLY_MAX || got == 0 || buf[got - 1] != '\n' || parse_answer(buf, ans) < 0)
    fail(ans, NSS_STATUS_UNAVAIL, EBADMSG, NO_RECOVERY);
}

static enum nss_status report(const struct answer *ans, int *errnop, int *h_errnop) {
  *errnop = ans->err;
  *h_errnop = ans->herr;
  return ans->status;
}

static enum nss_status erange(int *errnop, int *h_errnop) {
  *errnop = ERANGE;
  *h_errnop = NETDB_INTERNAL;
  return NSS_STATUS_TRYAGAIN;
}

EXPORT enum nss_status _nss_machines_gethostbyname4_r(const char *name, struct gaih_addrtuple **pat, char *buffer, size_t buflen,
                                                      int *errnop, int *h_errnop, int32_t *ttlp) {
  int saved = errno;
  struct answer ans;
  query(name, AF_UNSPEC, &ans);
  errno = saved;
  if (ans.status != NSS_STATUS_SUCCESS) return report(&ans, errnop, h_errnop);
  if (ans.n == 0) {
    *errnop = ENOENT;
    *h_errnop = HOST_NOT_FOUND;
    return NSS_STATUS_NOTFOUND;
  }

  size_t l = strlen(name);
  size_t ms = ALIGN_PTR(l + 1) + ALIGN_PTR(sizeof(struct gaih_addrtuple)) * ans.n;
  if (buflen < ms) return erange(errnop, h_errnop);

  char *r_name = buffer;
  memcpy(r_name, name, l + 1);
  size_t idx = ALIGN_PTR(l + 1);
  struct gaih_addrtuple *first = NULL, *prev = NULL;
  for (size_t i = 0; i < ans.n; i++) {
    struct gaih_addrtuple *t = (struct gaih_addrtuple *)(buffer + idx);
    memset(t, 0, sizeof(*t));
    t->name = r_name;
    t->family = ans.a[i].family;
    memcpy(t->addr, ans.a[i].bytes, ans.a[i].family == AF_INET ? 4 : 16);
    t->scopeid = ans.scopeid;
    if (prev) prev->next = t;
    else first = t;
    prev = t;
    idx += ALIGN_PTR(sizeof(struct gaih_addrtuple));
  }
  /* glibc may hand in a tuple of its own to fill first (as systemd's modules handle it). */
  if (*pat) **pat = *first;
  else *pat = first;
  if (ttlp) *ttlp = 0;
  *errnop = 0;
  *h_errnop = NETDB_SUCCESS;
  h_errno = 0;
  return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_machines_gethostbyname3_r(const char *name, int af, struct hostent *result, char *buffer, size_t buflen,
                                                      int *errnop, int *h_errnop, int32_t *ttlp, char **canonp) {
  if (af == AF_UNSPEC) af = AF_INET;
  if (af != AF_INET && af != AF_INET6) {
    *errnop = EAFNOSUPPORT;
    *h_errnop = NO_DATA;
    return NSS_STATUS_UNAVAIL;
  }
  int saved = errno;
  struct answer ans;
  query(name, af, &ans);
  errno = saved;
  if (ans.status != NSS_STATUS_SUCCESS) return report(&ans, errnop, h_errnop);
  size_t c = 0;
  for (size_t i = 0; i < ans.n; i++)
    if (ans.a[i].family == af) c++;
  if (c == 0) {
    *errnop = ENOENT;
    *h_errnop = HOST_NOT_FOUND;
    return NSS_STATUS_NOTFOUND;
  }

  size_t alen = af == AF_INET ? 4 : 16;
  size_t l = strlen(name);
  size_t ms = ALIGN_PTR(l + 1) + sizeof(char *) + ALIGN_PTR(c * alen) + (c + 1) * sizeof(char *);
  if (buflen < ms) return erange(errnop, h_errnop);

  char *r_name = buffer;
  memcpy(r_name, name, l + 1);
  size_t idx = ALIGN_PTR(l + 1);
  char **r_aliases = (char **)(buffer + idx);
  r_aliases[0] = NULL;
  idx += sizeof(char *);
  char *r_addr = buffer + idx;
  size_t k = 0;
  for (size_t i = 0; i < ans.n; i++)
    if (ans.a[i].family == af) memcpy(r_addr + alen * k++, ans.a[i].bytes, alen);
  idx += ALIGN_PTR(c * alen);
  char **r_list = (char **)(buffer + idx);
  for (size_t i = 0; i < c; i++) r_list[i] = r_addr + i * alen;
  r_list[c] = NULL;

  result->h_name = r_name;
  result->h_aliases = r_aliases;
  result->h_addrtype = af;
  result->h_length = (int)alen;
  result->h_addr_list = r_list;
  if (ttlp) *ttlp = 0;
  if (canonp) *canonp = r_name;
  *errnop = 0;
  *h_errnop = NETDB_SUCCESS;
  h_errno = 0;
  return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_machines_gethostbyname2_r(const char *name, int af, struct hostent *host, char *buffer, size_t buflen,
                                                      int *errnop, int *h_errnop) {
  return _nss_machines_gethostbyname3_r(name, af, host, buffer, buflen, errnop, h_errnop, NULL, NULL);
}

EXPORT enum nss_status _nss_machines_gethostbyname_r(const char *name, struct hostent *host, char *buffer, size_t buflen, int *errnop,
                                                     int *h_errnop) {
  return _nss_machines_gethostbyname3_r(name, AF_INET, host, buffer, buflen, errnop, h_errnop, NULL, NULL);
}
