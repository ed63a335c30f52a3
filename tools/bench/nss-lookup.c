/*
 * The client of tools/bench/nss-lookup.ts: getaddrinfo() in a loop, one phase per argument
 * "LABEL=SERVICES=NAME[=VAR=VALUE]", each with its own NSS configuration for the hosts database
 * (__nss_configure_lookup, what `getent -s` uses) and optionally one environment variable set
 * for that phase only, so one program measures every path in one run. Per phase: WARMUP untimed calls, then calls for SECONDS; prints one JSON line per phase:
 *   {"label":…,"services":…,"name":…,"calls":N,"perSecond":X,"medianUs":Y,"p90Us":Z,"failures":F,"addresses":"…"}
 * A failed look-up counts in "failures" (the bench reports it as a functional failure).
 *
 * usage: nss-lookup SECONDS LABEL=SERVICES=NAME[=VAR=VALUE]...
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <nss.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

extern int __nss_configure_lookup(const char *dbname, const char *string);

#define WARMUP 200
#define MAX_SAMPLES 4000000

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static void first_address(const struct addrinfo *res, char *out, size_t len) {
  out[0] = '\0';
  if (!res) return;
  const void *src = res->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                                              : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
  inet_ntop(res->ai_family, src, out, (socklen_t)len);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s SECONDS LABEL=SERVICES=NAME...\n", argv[0]);
    return 2;
  }
  double seconds = atof(argv[1]);
  float *samples = malloc(sizeof(float) * MAX_SAMPLES);
  if (!samples) return 1;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  for (int p = 2; p < argc; p++) {
    char *label = strdup(argv[p]);
    char *services = strchr(label, '=');
    char *name = services ? strchr(services + 1, '=') : NULL;
    if (!services || !name) {
      fprintf(stderr, "nss-lookup: bad phase %s (LABEL=SERVICES=NAME)\n", argv[p]);
      return 2;
    }
    *services++ = '\0';
    *name++ = '\0';
    char *var = strchr(name, '=');
    char *value = var ? strchr(var + 1, '=') : NULL;
    if (var) {
      *var++ = '\0';
      if (!value) {
        fprintf(stderr, "nss-lookup: bad phase %s (VAR=VALUE)\n", argv[p]);
        return 2;
      }
      *value++ = '\0';
      setenv(var, value, 1);
    }
    if (__nss_configure_lookup("hosts", services) != 0) {
      fprintf(stderr, "nss-lookup: __nss_configure_lookup(hosts, %s) failed\n", services);
      return 1;
    }
    long failures = 0;
    char first[INET6_ADDRSTRLEN] = "";
    for (int i = 0; i < WARMUP; i++) {
      struct addrinfo *res = NULL;
      if (getaddrinfo(name, NULL, &hints, &res) != 0) failures++;
      else if (i == 0) first_address(res, first, sizeof(first));
      if (res) freeaddrinfo(res);
    }
    long n = 0;
    double start = now_us(), stop = start + seconds * 1e6, t = start;
    while (t < stop && n < MAX_SAMPLES) {
      struct addrinfo *res = NULL;
      int rc = getaddrinfo(name, NULL, &hints, &res);
      double t2 = now_us();
      if (rc != 0) failures++;
      if (res) freeaddrinfo(res);
      samples[n++] = (float)(t2 - t);
      t = t2;
    }
    double elapsed = (t - start) / 1e6;
    qsort(samples, (size_t)n, sizeof(float), cmp);
    printf("{\"label\":\"%s\",\"services\":\"%s\",\"name\":\"%s\",\"calls\":%ld,\"perSecond\":%.0f,\"medianUs\":%.1f,\"p90Us\":%.1f,"
           "\"failures\":%ld,\"address\":\"%s\"}\n",
           label, services, name, n, n / elapsed, n ? samples[n / 2] : 0.0, n ? samples[n * 9 / 10] : 0.0, failures, first);
    fflush(stdout);
    if (var) unsetenv(var);
    free(label);
  }
  free(samples);
  return 0;
}
