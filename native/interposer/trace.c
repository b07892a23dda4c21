// Trace-only mode (LINSOCK_TRACE_SOCKET set, no LINSOCK_GUEST_SOCKET): the program's AF_INET/AF_INET6 TCP
// and UDP calls go to the kernel as they are, timed (enter and return around the real call), and each
// becomes a 32-byte record in its thread's buffer. A full buffer (or one whose oldest record waited
// TRACE_FLUSH_NS, at the thread's next call), a thread's end and the process's exit send the buffer as one
// batch to `linsock run` over a Unix stream socket, never blocking the program: a batch the socket does not
// take at once is dropped and counted, and the count rides the next batch. protocol/README.md, "Interposer
// trace stream", has the layout; protocol/interposer-trace.ts reads it.
#include "interposer.h"
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int g_trace_kernel;
int g_trace_calls;
volatile uint8_t g_trace_fd[TRACE_FD_LIMIT];

#define TB_RECORDS 256
#define REC_BYTES 32
#define BATCH_HDR 16
#define TRACE_FLUSH_NS 10000000ull
#define MAGIC_HELLO 0x5254534cu /* "LSTR" little-endian */
#define MAGIC_BATCH 0x4254534cu /* "LSTB" */
#define TRACE_VERSION 1

struct tbuf {
  uint32_t tid;
  uint32_t n;
  uint64_t first;
  struct tbuf *next;
  uint8_t rec[TB_RECORDS * REC_BYTES];
};

static char trace_path[108];
static __thread struct tbuf *t_buf __attribute__((tls_model("initial-exec")));
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tbuf *buffers;       /* every live thread's buffer, for the flush at exit */
static int trace_fd = -1;          /* the connection to `linsock run` */
static int trace_broken;           /* it failed: every later batch is dropped (and no longer counted anywhere) */
static uint32_t dropped;           /* records dropped since the last batch that left */
static uint8_t pending[BATCH_HDR + TB_RECORDS * REC_BYTES]; /* the unsent tail of a batch the socket took in part */
static size_t pending_len;
static pthread_key_t thread_key;

uint64_t trace_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void put_le32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_le64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

int trace_is_internal_fd(int fd) { return fd >= 0 && fd == trace_fd; }

/** Blocking connect and hello (a few dozen bytes), then non-blocking. Caller holds trace_lock. */
static int trace_connect(void) {
  if (trace_fd >= 0) return 0;
  if (trace_broken) return -1;
  int fd = real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  strcpy(sun.sun_path, trace_path);
  const char *name = program_invocation_short_name ? program_invocation_short_name : "?";
  size_t nlen = strnlen(name, 255);
  uint8_t h[13 + 255];
  put_le32(h, MAGIC_HELLO);
  h[4] = TRACE_VERSION; h[5] = h[6] = h[7] = 0;
  put_le32(h + 8, (uint32_t)getpid());
  h[12] = (uint8_t)nlen;
  memcpy(h + 13, name, nlen);
  ssize_t want = (ssize_t)(13 + nlen);
  if (fd < 0 || real.connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || real.send(fd, h, (size_t)want, MSG_NOSIGNAL) != want) {
    if (fd >= 0) real.close(fd);
    trace_broken = 1;
    diag("trace-only mode: cannot reach linsock run at %s: %s (the program runs untraced)", trace_path, strerror(errno));
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  trace_fd = fd;
  return 0;
}

/** Sends what `pending` holds, as far as the socket takes it now; 0 when it is empty. Caller holds trace_lock. */
static int send_pending(void) {
  size_t off = 0;
  while (off < pending_len) {
    ssize_t n = real.send(trace_fd, pending + off, pending_len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) { trace_broken = 1; real.close(trace_fd); trace_fd = -1; pending_len = 0; return -1; }
    off += (size_t)n;
  }
  memmove(pending, pending + off, pending_len - off);
  pending_len -= off;
  return pending_len == 0 ? 0 : -1;
}

/** Hands b's records to the socket (or drops and counts them); b is empty after. Caller holds trace_lock. */
static void flush_locked(struct tbuf *b) {
  if (b->n == 0) return;
  int err = errno;
  if (trace_connect() < 0 || send_pending() < 0) {
    dropped += b->n;
  } else {
    uint8_t h[BATCH_HDR];
    put_le32(h, MAGIC_BATCH);
    put_le32(h + 4, b->tid);
    put_le32(h + 8, b->n);
    put_le32(h + 12, dropped);
    struct iovec iov[2] = { { h, BATCH_HDR }, { b->rec, (size_t)b->n * REC_BYTES } };
    struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
    size_t total = BATCH_HDR + (size_t)b->n * REC_BYTES;
    ssize_t n;
    do n = real.sendmsg(trace_fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      dropped += b->n; // the reader is behind: this batch is lost, counted in the next one that leaves
    } else if (n < 0) {
      dropped += b->n;
      trace_broken = 1;
      real.close(trace_fd);
      trace_fd = -1;
    } else {
      dropped = 0;
      if ((size_t)n < total) { // the stream took part of it: the rest must follow before anything else
        size_t from = (size_t)n;
        pending_len = 0;
        if (from < BATCH_HDR) { memcpy(pending, h + from, BATCH_HDR - from); pending_len = BATCH_HDR - from; from = BATCH_HDR; }
        memcpy(pending + pending_len, b->rec + (from - BATCH_HDR), total - from);
        pending_len += total - from;
      }
    }
  }
  b->n = 0;
  errno = err;
}

static void flush_buffer(struct tbuf *b) {
  if (b->n == 0) return;
  pthread_mutex_lock(&trace_lock);
  flush_locked(b);
  pthread_mutex_unlock(&trace_lock);
}

static void unlink_buffer(struct tbuf *b) {
  for (struct tbuf **p = &buffers; *p; p = &(*p)->next)
    if (*p == b) { *p = b->next; return; }
}

/** A thread ends: its records leave, its buffer goes. */
static void thread_done(void *arg) {
  struct tbuf *b = arg;
  pthread_mutex_lock(&trace_lock);
  flush_locked(b);
  unlink_buffer(b);
  pthread_mutex_unlock(&trace_lock);
  if (t_buf == b) t_buf = NULL;
  free(b);
}

static struct tbuf *thread_buffer(void) {
  if (t_buf) return t_buf;
  struct tbuf *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->tid = (uint32_t)syscall(SYS_gettid);
  pthread_mutex_lock(&trace_lock);
  b->next = buffers;
  buffers = b;
  pthread_mutex_unlock(&trace_lock);
  pthread_setspecific(thread_key, b);
  t_buf = b;
  return b;
}

/** The errno's wire code (protocol/errno.ts); EIO's for one the wire does not name. */
static uint8_t errno_code(int e) {
  for (unsigned c = 0; wire_errno_name((uint8_t)c); c++)
    if (wire_errno((uint8_t)c) == e) return (uint8_t)c;
  return 3; /* EIO */
}

static int carries_bytes(uint8_t op) {
  return op == OP_SEND || op == OP_RECV || op == OP_SENDTO || op == OP_RECVFROM || op == OP_SENDMSG;
}

/** Appends one record to the calling thread's buffer (sends the buffer when it is due). */
static void add_record(uint8_t op, int fd, uint64_t enter, uint64_t ret, uint8_t result, uint32_t bytes) {
  struct tbuf *b = thread_buffer();
  if (b) {
    uint8_t *r = b->rec + (size_t)b->n * REC_BYTES;
    r[0] = op;
    r[1] = result;
    r[2] = r[3] = 0;
    put_le32(r + 4, (uint32_t)fd);
    put_le32(r + 8, bytes);
    put_le32(r + 12, 0);
    put_le64(r + 16, enter);
    put_le64(r + 24, ret);
    if (b->n++ == 0) b->first = enter;
    if (b->n == TB_RECORDS || ret - b->first >= TRACE_FLUSH_NS) flush_buffer(b);
  }
}

void trace_kernel(uint8_t op, int fd, uint64_t enter, long rc, int err) {
  uint64_t ret = trace_now();
  add_record(op, fd, enter, ret, rc < 0 ? errno_code(err) : 0xff, carries_bytes(op) && rc > 0 ? (uint32_t)rc : 0);
  if (op == OP_ACCEPT && rc >= 0 && rc < TRACE_FD_LIMIT) g_trace_fd[rc] = 1;
  if (op == OP_CLOSE && rc == 0 && fd >= 0 && fd < TRACE_FD_LIMIT) g_trace_fd[fd] = 0;
  errno = err;
}

/** wire codes (protocol/errno.ts) of getaddrinfo's failures */
#define CODE_ENOTFOUND 42
#define CODE_EAI_AGAIN 43

void trace_lookup(uint64_t enter, int rc, int err) {
  uint8_t result = rc == 0 ? 0xff : rc == EAI_AGAIN ? CODE_EAI_AGAIN : rc == EAI_SYSTEM ? errno_code(err) : (rc == EAI_NONAME || rc == EAI_NODATA) ? CODE_ENOTFOUND : 3 /* EIO */;
  add_record(OP_LOOKUP, -1, enter, trace_now(), result, 0);
  errno = err;
}

void trace_mark_socket(int fd, int domain, int type) {
  int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0 && fd < TRACE_FD_LIMIT && (domain == AF_INET || domain == AF_INET6) && (kind == SOCK_STREAM || kind == SOCK_DGRAM))
    g_trace_fd[fd] = 1;
}

/** The inet sockets this program was handed across exec (an inetd-style server, nginx's workers). */
static void scan_inherited(void) {
  for (int fd = 0; fd < 1024; fd++) {
    int domain, type;
    socklen_t n = sizeof domain;
    if (real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &n) < 0) continue;
    n = sizeof type;
    if (real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &n) < 0) continue;
    trace_mark_socket(fd, domain, type);
  }
}

/**
 * Every thread's records at exit. The list is walked under the lock (a thread that ends meanwhile unlinks
 * its buffer under it too); a thread still running may add a record as its buffer leaves, which is lost.
 */
static void flush_all(void) {
  if (!g_trace_calls) return;
  pthread_mutex_lock(&trace_lock);
  for (struct tbuf *b = buffers; b; b = b->next) flush_locked(b);
  pthread_mutex_unlock(&trace_lock);
}

void trace_after_fork_child(void) {
  if (!g_trace_calls) return;
  // The parent's connection and the other threads' buffers are the parent's: it sends those records.
  if (trace_fd >= 0) real.close(trace_fd);
  trace_fd = -1;
  trace_broken = 0;
  pending_len = 0;
  dropped = 0;
  pthread_mutex_init(&trace_lock, NULL);
  buffers = NULL;
  if (t_buf) {
    t_buf->n = 0;
    t_buf->tid = (uint32_t)syscall(SYS_gettid);
    t_buf->next = NULL;
    buffers = t_buf;
  }
}

void trace_init(void) {
  const char *p = getenv("LINSOCK_TRACE_SOCKET");
  if (!p || !*p || strlen(p) >= sizeof trace_path) return;
  strcpy(trace_path, p);
  pthread_key_create(&thread_key, thread_done);
  g_trace_calls = 1;
  atexit(flush_all);
  // Delegating: only the sockets passed to the program (fdpass.c) are timed here; the rest are the daemon's.
  if (g_enabled) return;
  g_trace_kernel = 1;
  scan_inherited();
}
