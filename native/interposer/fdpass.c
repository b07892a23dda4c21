// The passed-descriptor data plane (protocol/README.md, passFd): once a delegated TCP socket is connected
// and nothing has moved on it, the interposer asks linsockd for the host socket itself. The ok reply
// carries it (SCM_RIGHTS, received by read_channel into the queue below) and it is dup3()'d over the
// program's socketpair end: same fd number, same flags, and from then on the program's data calls are the
// kernel's, with no pump and no daemon in between. Only at moments where the swap cannot be seen: in a
// blocking connect before it returns, or in getsockopt(SO_ERROR) after a non-blocking one, and only when
// the fd is in no epoll set (a dup over it would silently drop the registration) and no fork shared it.
#include "interposer.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int g_fd_pass_on;
unsigned g_forks;

/** Descriptors received on the channel, in stream order, until the reply they came with is applied. */
#define RECEIVED_MAX 8
static int received[RECEIVED_MAX];
static int received_n;

/** Passed sockets by fd number: the program's close of one tells linsockd (the handle is counted there until then). */
struct passed { uint32_t handle; dev_t dev; ino_t ino; };
static struct passed *passed;
static int passed_n;

void fdpass_received(int fd) {
  if (received_n == RECEIVED_MAX) { real.close(fd); return; } // more than replies can claim: not ours to keep
  received[received_n++] = fd;
}

static int take_received(void) {
  if (received_n == 0) return -1;
  int fd = received[0];
  memmove(received, received + 1, (size_t)--received_n * sizeof *received);
  return fd;
}

static void remember(int fd, uint32_t handle) {
  if (fd >= passed_n) {
    int n = passed_n ? passed_n : 256;
    while (n <= fd) n *= 2;
    struct passed *t = realloc(passed, (size_t)n * sizeof *t);
    if (!t) return; // the handle then stays counted until the process's channel closes
    memset(t + passed_n, 0, (size_t)(n - passed_n) * sizeof *t);
    passed = t;
    passed_n = n;
  }
  struct stat st;
  if (fstat(fd, &st) < 0) return;
  passed[fd] = (struct passed){ handle, st.st_dev, st.st_ino };
}

void fdpass_on_close(int fd) {
  if (fd >= 0 && fd < TRACE_FD_LIMIT) g_trace_fd[fd] = 0;
  if (fd < 0 || fd >= passed_n || !passed[fd].handle) return;
  struct stat st;
  uint32_t h = passed[fd].handle;
  int same = fstat(fd, &st) == 0 && st.st_dev == passed[fd].dev && st.st_ino == passed[fd].ino;
  passed[fd].handle = 0;
  if (!same || g_chan_dead) return; // the number was reused behind our back (dup2 over it): not ours
  channel_queue(FT_CLOSE, 0, channel_next_id(), h, NULL, 0);
  channel_wake();
}

void fdpass_after_fork_child(void) {
  // The child's channel is a session of its own: the parent's handles mean nothing there.
  free(passed);
  passed = NULL;
  passed_n = 0;
  received_n = 0;
}

/** Hands what the program wrote into the socketpair before the swap to the host socket (blocking, small). */
static int move_unsent(struct lsock *s, int host) {
  char buf[16384];
  for (;;) {
    ssize_t n = recv(s->pump_fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) return n == 0 || errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = real.send(host, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
      if (w < 0) { if (errno == EINTR) continue; return -1; }
      off += w;
    }
  }
}

void fdpass_try(struct lsock *s, int fd) {
  if (!g_fd_pass_on || g_chan_dead || s->udp || s->foreign || s->state != S_CONNECTED || s->app_fd != fd || s->pump_fd < 0) return;
  if (s->in_epoll || s->fork_gen != g_forks || s->rx_len || s->push_outstanding || s->app_eof || s->peer_closed) return;
  int unread = 0;
  if (ioctl(s->pump_fd, FIONREAD, &unread) < 0 || unread > 0) return; // the program's bytes already wait: frames
  struct reply r;
  if (channel_call(FT_PASS_FD, s->handle, NULL, 0, &r) < 0) return; // refused: the socket stays on frames
  int host = take_received();
  if (host < 0) { channel_fail("linsockd answered passFd without a descriptor"); return; }
  struct stat st;
  int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
  if (fstat(host, &st) < 0 || !S_ISSOCK(st.st_mode) || fl < 0 || fdfl < 0) { real.close(host); channel_fail("linsockd passed something that is not a socket"); return; }
  // From the ok reply on, the daemon serves no data on it: whatever the program wrote meanwhile goes now.
  if (move_unsent(s, host) < 0) diag("passFd: the bytes written before the swap were lost: %s", strerror(errno));
  fcntl(host, F_SETFL, (fcntl(host, F_GETFL) & ~O_NONBLOCK) | (fl & O_NONBLOCK));
  if (dup3(host, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
    // The daemon no longer serves it: the socket can only end here, as after a reset.
    real.close(host);
    s->so_error = ECONNRESET;
    s->peer_closed = 1;
    return;
  }
  real.close(host);
  uint32_t handle = s->handle;
  s->handle = 0;           // the pump's finalize must not close it on the daemon: the program's close does
  lsock_forget_fd(fd);     // the program's calls on fd are plain kernel calls from now on
  s->app_fd = -1;          // dup3 closed the socketpair end: the pump sees the hangup and finalizes the record
  remember(fd, handle);
  if (g_trace_calls && fd < TRACE_FD_LIMIT) g_trace_fd[fd] = 1; // its calls are timed here now (trace.c)
  channel_wake();
}
