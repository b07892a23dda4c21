// The process's one channel to linsockd: opened at the first delegated call (HELLO over the Unix socket
// named by LINSOCK_GUEST_SOCKET, or over the character device it names: a VM's virtio-serial port whose
// host side is the daemon's guest socket, lab/vm), an output queue that the pump thread writes without ever blocking, and
// request/reply matching by id for the application's threads, which wait on a condition variable.
#include "interposer.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
uint32_t g_max_payload = OFFERED_MAX_PAYLOAD, g_init_credit;
int g_chan_fd = -1, g_wake_fd = -1;
int g_chan_dead;
#define chan_dead g_chan_dead
/** The channel is a character device (a VM's port): write(2), not send(2), which wants a socket. */
static int chan_is_device;
static uint32_t next_id = 1;

/** The frames waiting for the channel socket: [head, head+len) of a buffer of cap bytes. */
static uint8_t *outq;
static size_t outq_head, outq_cap;
size_t g_outq_len;

struct pending {
  uint32_t id;
  int done;
  struct reply r;
  struct lsock *connecting; /* non-blocking connect: the pump applies the reply to this socket */
  uint64_t reply_in;        /* when the pump decoded the reply (stamps) */
  struct pending *next;
};
static struct pending *pendings;

uint32_t channel_next_id(void) {
  uint32_t id = next_id++;
  if (next_id == 0) next_id = 1;
  return id;
}

int channel_is_internal_fd(int fd) { return fd >= 0 && (fd == g_chan_fd || fd == g_wake_fd); }

void channel_wake(void) {
  if (g_wake_fd < 0) return;
  uint64_t one = 1;
  ssize_t n = write(g_wake_fd, &one, sizeof one);
  (void)n;
}

static int outq_reserve(size_t n) {
  if (outq_head > 0 && outq_head + g_outq_len + n > outq_cap) {
    memmove(outq, outq + outq_head, g_outq_len);
    outq_head = 0;
  }
  if (g_outq_len + n <= outq_cap) return 0;
  size_t cap = outq_cap ? outq_cap : 64 * 1024;
  while (cap < g_outq_len + n) cap *= 2;
  uint8_t *b = realloc(outq, cap);
  if (!b) return -1;
  outq = b;
  outq_cap = cap;
  return 0;
}

int channel_queue(uint8_t type, uint8_t flags, uint32_t id, uint32_t handle, const void *payload, uint32_t len) {
  if (chan_dead || g_chan_fd < 0) { errno = ECONNRESET; return -1; }
  if (len > g_max_payload) { errno = EMSGSIZE; return -1; }
  if (outq_reserve(HDR + (size_t)len) < 0) { errno = ENOMEM; return -1; }
  uint8_t *h = outq + outq_head + g_outq_len;
  h[0] = type; h[1] = flags; h[2] = 0; h[3] = 0;
  put_u32(h + 4, id);
  put_u32(h + 8, handle);
  put_u32(h + 12, len);
  if (len) memcpy(h + HDR, payload, len);
  g_outq_len += HDR + len;
  return 0;
}

/** Room for a send frame of up to n data bytes, written in place by the pump (pump.c). */
uint8_t *channel_send_slot(size_t n);
uint8_t *channel_send_slot(size_t n) {
  if (outq_reserve(HDR + n) < 0) return NULL;
  return outq + outq_head + g_outq_len;
}
void channel_commit(size_t n);
void channel_commit(size_t n) { g_outq_len += n; }

int channel_flush(void) {
  while (g_outq_len > 0 && !chan_dead) {
    ssize_t n = chan_is_device ? real.write(g_chan_fd, outq + outq_head, g_outq_len) // non-blocking fd
                               : send(g_chan_fd, outq + outq_head, g_outq_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      channel_fail("writing to linsockd failed");
      return -1;
    }
    outq_head += (size_t)n;
    g_outq_len -= (size_t)n;
  }
  if (g_outq_len == 0) outq_head = 0;
  return chan_dead ? -1 : 0;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = chan_is_device ? real.write(fd, p, n) : send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) { if (errno == EINTR) continue; return -1; }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) { if (r == 0) errno = ECONNRESET; return -1; }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/** Clock probes taken when tracing: the daemon maps our stamps through the one with the smallest round trip. */
#define CLOCK_PROBES 8

static void put_time(uint8_t *p, uint64_t t) {
  t &= 0x1FFFFFFFFFFFFFull;
  put_u32(p, (uint32_t)(t >> 32));
  put_u32(p + 4, (uint32_t)t);
}

/**
 * A few `clock` round trips right after helloOk, blocking (the pump is not up yet): HELLO's own probe may
 * have waited behind the daemon's start, and a guest's stamps are only as exact as its best probe.
 */
static int clock_probes(int fd) {
  for (int i = 0; i < CLOCK_PROBES; i++) {
    uint8_t f[HDR + 8], h[HDR], body[16];
    f[0] = FT_CLOCK; f[1] = f[2] = f[3] = 0;
    put_u32(f + 4, channel_next_id());
    put_u32(f + 8, 0);
    put_u32(f + 12, 8);
    put_time(f + HDR, now_ns());
    if (write_all(fd, f, sizeof f) < 0 || read_all(fd, h, HDR) < 0) return -1;
    if (check_host_frame(h, 257) < 0 || h[0] != FT_CLOCK_OK || get_u32(h + 12) != 16) { errno = EPROTO; return -1; }
    if (read_all(fd, body, 16) < 0) return -1;
  }
  return 0;
}

/** HELLO and helloOk, blocking, before the pump starts. */
static int handshake(int fd) {
  static unsigned counter;
  char name[64];
  // The program's name and pid (the trace's guest); a second channel of one process (after the first failed) gets #2.
  const char *prog = program_invocation_short_name ? program_invocation_short_name : "run";
  int n = ++counter == 1 ? snprintf(name, sizeof name, "%.40s[%d]", prog, (int)getpid()) : snprintf(name, sizeof name, "%.40s[%d]#%u", prog, (int)getpid(), counter);
  uint8_t f[HDR + 18 + 1 + 64];
  uint32_t len = 18 + 1 + (uint32_t)n;
  uint8_t *p = f + HDR;
  f[0] = FT_HELLO; f[1] = f[2] = f[3] = 0;
  put_u32(f + 4, channel_next_id());
  put_u32(f + 8, 0);
  put_u32(f + 12, len);
  put_u16(p, WIRE_VERSION);
  const char *want = getenv("LINSOCK_TRACE_STAMPS");
  int stamps = want && strcmp(want, "1") == 0;
  // The passed-descriptor plane needs a Unix socket: a character device (a VM's) cannot carry descriptors.
  // A traced run passes only when the interposer times the passed sockets' calls itself (LINSOCK_TRACE_SOCKET,
  // trace.c): their data calls reach no daemon, and would otherwise have no record.
  const char *frames = getenv("LINSOCK_FD_PASS");
  int fd_pass = !chan_is_device && (!stamps || g_trace_calls) && !(frames && strcmp(frames, "0") == 0);
  put_u32(p + 2, CAP_PUSH_DATA | (stamps ? CAP_STAMPS : 0) | (fd_pass ? CAP_FD_PASS : 0));
  put_u32(p + 6, OFFERED_MAX_PAYLOAD);
  uint64_t t = now_ns() & 0x1FFFFFFFFFFFFFull;
  put_u32(p + 10, (uint32_t)(t >> 32));
  put_u32(p + 14, (uint32_t)t);
  p[18] = (uint8_t)n;
  memcpy(p + 19, name, (size_t)n);
  if (write_all(fd, f, HDR + len) < 0) return -1;
  uint8_t h[HDR], body[257];
  if (read_all(fd, h, HDR) < 0) return -1;
  uint32_t plen = get_u32(h + 12);
  if (check_host_frame(h, 257) < 0 || (h[0] != FT_HELLO_OK && h[0] != FT_ERROR)) { errno = EPROTO; return -1; }
  if (read_all(fd, body, plen) < 0) return -1;
  if (h[0] == FT_ERROR) {
    if (check_reply_payload(FT_ERROR, body, plen) == 0) diag("linsockd refused HELLO: %s: %.*s", wire_errno_name(body[0]), body[1], (const char *)body + 2);
    errno = ECONNREFUSED;
    return -1;
  }
  uint32_t max = get_u32(body + 6);
  if (get_u16(body) != WIRE_VERSION || max < MIN_MAX_PAYLOAD || max > MAX_PAYLOAD_CEILING) { errno = EPROTO; return -1; }
  g_max_payload = max < OFFERED_MAX_PAYLOAD ? max : OFFERED_MAX_PAYLOAD;
  g_init_credit = get_u32(body + 10);
  g_stamps_on = stamps && (get_u32(body + 2) & CAP_STAMPS) != 0;
  g_fd_pass_on = fd_pass && (get_u32(body + 2) & CAP_FD_PASS) != 0;
  return g_stamps_on ? clock_probes(fd) : 0;
}

static int channel_open(int fd, const char *path, int device);

int channel_ensure(void) {
  if (g_chan_fd >= 0 && !chan_dead) return 0;
  if (chan_dead) { errno = ENETDOWN; return -1; }
  const char *path = g_guest_path;
  struct stat st;
  if (stat(path, &st) == 0 && S_ISCHR(st.st_mode)) return channel_open(open(path, O_RDWR | O_NOCTTY | O_CLOEXEC), path, 1);
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  if (!*path || strlen(path) >= sizeof sun.sun_path) { errno = ENETDOWN; return -1; }
  strcpy(sun.sun_path, path);
  int fd = real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (real.connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
    int e = errno;
    real.close(fd);
    errno = e;
    fd = -1;
  }
  return channel_open(fd, path, 0);
}

/** HELLO over fd (a connected socket, or an open device; -1 with errno when opening failed), then the pump. */
static int channel_open(int fd, const char *path, int device) {
  chan_is_device = device;
  if (fd < 0 || handshake(fd) < 0) {
    int e = errno;
    diag("cannot open a channel to linsockd at %s: %s", path, strerror(e));
    if (fd >= 0) real.close(fd);
    errno = ENETDOWN;
    return -1;
  }
  if (!device) {
    int big = 4 * 1024 * 1024;
    real.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    real.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int w = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (w < 0) { real.close(fd); return -1; }
  g_chan_fd = fd;
  g_wake_fd = w;
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); // the application's signals stay with its own threads
  int rc = pthread_create(&t, &a, pump_main, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&a);
  if (rc != 0) {
    real.close(fd); real.close(w);
    g_chan_fd = g_wake_fd = -1;
    errno = rc;
    return -1;
  }
  return 0;
}

static struct pending *pending_add(struct lsock *connecting) {
  struct pending *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->id = channel_next_id();
  p->connecting = connecting;
  p->next = pendings;
  pendings = p;
  return p;
}

static void pending_remove(struct pending *p) {
  for (struct pending **pp = &pendings; *pp; pp = &(*pp)->next)
    if (*pp == p) { *pp = p->next; return; }
}

/** Applies a non-blocking connect's reply to its socket (pump.c). */
void connect_done(struct lsock *s, const struct reply *r);

int pending_complete(uint32_t id, uint8_t type, const uint8_t *p, uint32_t len) {
  for (struct pending *q = pendings; q; q = q->next) {
    if (q->id != id || q->done) continue;
    q->r.type = type;
    q->r.len = len > MAX_REPLY ? MAX_REPLY : len;
    memcpy(q->r.payload, p, q->r.len);
    q->done = 1;
    if (g_stamps_on) q->reply_in = trace_now();
    if (q->connecting) {
      pending_remove(q);
      connect_done(q->connecting, &q->r);
      free(q);
    }
    pthread_cond_broadcast(&g_cond);
    return 1;
  }
  return 0;
}

/** A socket is going away: a non-blocking connect still pending forgets it. */
void pending_forget_socket(struct lsock *s);
void pending_forget_socket(struct lsock *s) {
  struct pending *q = pendings;
  while (q) {
    struct pending *next = q->next;
    if (q->connecting == s) { pending_remove(q); free(q); }
    q = next;
  }
}

static void reply_errno(const struct reply *r) {
  errno = r->type == FT_ERROR ? wire_errno(r->payload[0]) : EPROTO;
}

int channel_call(uint8_t type, uint32_t handle, const void *payload, uint32_t len, struct reply *r) {
  if (channel_ensure() < 0) return -1;
  uint64_t enter = g_stamps_on ? trace_now() : 0;
  struct pending *p = pending_add(NULL);
  if (!p) { errno = ENOMEM; return -1; }
  if (channel_queue(type, 0, p->id, handle, payload, len) < 0) {
    int e = errno;
    pending_remove(p); free(p);
    errno = e;
    return -1;
  }
  stamps_flush(0);
  channel_flush();
  uint64_t out = g_stamps_on ? trace_now() : 0;
  channel_wake();
  while (!p->done) pthread_cond_wait(&g_cond, &g_lock);
  pending_remove(p);
  *r = p->r;
  if (g_stamps_on && type != FT_CLOCK) stamp_add(p->id, enter, out, p->reply_in, trace_now());
  free(p);
  if (r->type == FT_ERROR) { reply_errno(r); return -1; }
  return 0;
}

int channel_call_async_connect(struct lsock *s, const struct endpoint *e) {
  if (channel_ensure() < 0) return -1;
  struct pending *p = pending_add(s);
  if (!p) { errno = ENOMEM; return -1; }
  uint8_t b[19];
  size_t n = put_endpoint(b, e);
  if (channel_queue(FT_CONNECT, 0, p->id, s->handle, b, (uint32_t)n) < 0) {
    int err = errno;
    pending_remove(p); free(p);
    errno = err;
    return -1;
  }
  channel_flush();
  channel_wake();
  return 0;
}

void channel_fail(const char *why) {
  if (chan_dead) return;
  chan_dead = 1;
  diag("the channel to linsockd closed: %s", why);
  struct pending *q = pendings;
  while (q) {
    struct pending *next = q->next;
    q->r.type = FT_ERROR;
    q->r.len = 2;
    q->r.payload[0] = 31; /* ECONNRESET */
    q->r.payload[1] = 0;
    q->done = 1;
    if (q->connecting) { pending_remove(q); connect_done(q->connecting, &q->r); free(q); }
    q = next;
  }
  for (struct lsock *s = g_socks; s; s = s->next) s->peer_closed = 1;
  pthread_cond_broadcast(&g_cond);
}

/** After fork, in the child: the parent's pump keeps serving the sockets both share; the child starts over. */
void channel_after_fork_child(void);
void channel_after_fork_child(void) {
  if (g_chan_fd >= 0) real.close(g_chan_fd);
  if (g_wake_fd >= 0) real.close(g_wake_fd);
  g_chan_fd = g_wake_fd = -1;
  chan_dead = 0;
  g_outq_len = outq_head = 0;
  stamps_after_fork_child();
  pendings = NULL; /* the parent's waiters are not the child's (their memory is a copy; leaked on purpose) */
  pthread_mutex_init(&g_lock, NULL);
  pthread_cond_init(&g_cond, NULL);
}
