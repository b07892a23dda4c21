// Delegated sockets that outlive their process's memory: inherited by fork, across exec (nginx's workers,
// inetd-style servers), or handed over by accept. The pump that serves a socket stays in the process that
// created it (its owner), so another process needs only to know that an fd is delegated and what it is.
// The fd says so itself: the owner binds its socketpair end to an abstract Unix name, the label, that
// carries the kind, family, handle and endpoints (an abstract name goes with the socket and needs no
// clean-up). Another process reads it with getsockname at load (after exec), after fork, and at the first
// socket call on an fd it does not know, and keeps a "foreign" record: control calls are answered from the
// label, the data flows through the socketpair to the owner's pump.
#include "interposer.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/** The label: NUL · magic · u8 kind · u8 family · u32 token · u32 handle · endpoint local · endpoint remote. */
static const char MAGIC[8] = { 'l', 'i', 'n', 's', 'o', 'c', 'k', '1' };
#define LABEL_BYTES (1 + 8 + 1 + 1 + 4 + 4 + 19 + 19)

/** This process's part of every label it binds (two processes' handles may be equal). */
static uint32_t token;

void label_new_token(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  token = (uint32_t)getpid() * 2654435761u ^ (uint32_t)t.tv_nsec ^ (uint32_t)(uintptr_t)&t;
}

void label_socket(struct lsock *s, char kind) {
  if (s->app_fd < 0 || s->labelled) return;
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  uint8_t *p = (uint8_t *)a.sun_path + 1;
  memcpy(p, MAGIC, 8);
  p[8] = (uint8_t)kind;
  p[9] = s->family == AF_INET6 ? 6 : 4;
  put_u32(p + 10, token);
  put_u32(p + 14, s->handle);
  if (s->local.family) put_endpoint(p + 18, &s->local);
  if (s->remote.family) put_endpoint(p + 37, &s->remote);
  // Unique while the socket lives (token, handle); a clash only costs the label, never the socket.
  if (real.bind(s->app_fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + LABEL_BYTES)) == 0) s->labelled = 1;
  else diag("cannot label delegated socket %u for other processes: %s", s->handle, strerror(errno));
}

struct lsock *lsock_foreign(int fd) {
  struct sockaddr_un a;
  socklen_t len = sizeof a;
  if (real.getsockname(fd, (struct sockaddr *)&a, &len) < 0) return NULL;
  if (a.sun_family != AF_UNIX || len != offsetof(struct sockaddr_un, sun_path) + LABEL_BYTES || a.sun_path[0] != 0) return NULL;
  const uint8_t *p = (const uint8_t *)a.sun_path + 1;
  if (memcmp(p, MAGIC, 8) != 0 || (p[8] != 'L' && p[8] != 'C' && p[8] != 'U')) return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0) return NULL;
  struct lsock *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->foreign = 1;
  s->labelled = 1;
  s->app_fd = fd;
  s->pump_fd = -1;
  s->dev = st.st_dev;
  s->ino = st.st_ino;
  s->family = p[9] == 6 ? AF_INET6 : AF_INET;
  s->handle = get_u32(p + 14);
  get_endpoint(p + 18, 19, &s->local); // family 0 (unknown) leaves it zeroed
  get_endpoint(p + 37, 19, &s->remote);
  s->udp = p[8] == 'U';
  s->state = p[8] == 'L' ? S_LISTENING : p[8] == 'C' ? S_CONNECTED : S_NEW;
  lsock_set_fd(s);
  if (s->udp && fd < UDP_FD_LIMIT) g_udp_fd[fd] = 1;
  return s;
}

struct lsock *lsock_lookup(int fd) {
  struct lsock *s = lsock_by_fd(fd);
  return s ? s : lsock_foreign(fd);
}

struct lsock *lsock_adopt_accepted(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) return NULL;
  for (struct lsock *s = g_socks; s; s = s->next) {
    if (s->app_fd >= 0 || s->dev != st.st_dev || s->ino != st.st_ino) continue;
    s->app_fd = fd; // our own pump serves it: the full socket, as if it had never left
    lsock_set_fd(s);
    return s;
  }
  return lsock_foreign(fd);
}

void inherit_scan(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return; // no /proc: each fd is still found at its first socket call
  int self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end || end == e->d_name || fd == self || fd < 0 || fd > 0x7fffffff) continue;
    if (!lsock_by_fd((int)fd)) lsock_foreign((int)fd);
  }
  closedir(d);
}
