// The pump thread: one per process, it moves bytes between each delegated socket's socketpair and the
// channel. The application's writes leave as `send` frames within the socket's send credit; pushed `data`
// frames are written into the socketpair (the rest waits in a per-socket buffer bounded by the daemon's
// push window) and granted back as credit once the socketpair took them. EOF and close travel both ways:
// EOF read from the socketpair is a shutdown(write), the application's last close (POLLHUP) a close.
#include "interposer.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct lsock *g_socks;
static struct lsock **fdtab;
static int fdtab_n;
/** The frames from the daemon: at most one whole frame of the negotiated size, plus what follows it. */
static uint8_t *rbuf;
static size_t rlen, rcap;
/** Stop reading the application's data while this much waits for the channel. */
#define OUTQ_HIGH (1024u * 1024u)

uint8_t *channel_send_slot(size_t n);
void channel_commit(size_t n);
void pending_forget_socket(struct lsock *s);

// ---- the fd table: which application fd is which delegated socket ----

void lsock_set_fd(struct lsock *s) {
  if (s->app_fd >= fdtab_n) {
    int n = fdtab_n ? fdtab_n : 256;
    while (n <= s->app_fd) n *= 2;
    struct lsock **t = realloc(fdtab, (size_t)n * sizeof *t);
    if (!t) return;
    memset(t + fdtab_n, 0, (size_t)(n - fdtab_n) * sizeof *t);
    fdtab = t;
    fdtab_n = n;
  }
  fdtab[s->app_fd] = s;
}

struct lsock *lsock_by_fd(int fd) {
  if (fd < 0 || fd >= fdtab_n || !fdtab[fd]) return NULL;
  struct lsock *s = fdtab[fd];
  struct stat st;
  // The number may have been reused behind our back (dup2 over it, close_range): check it is still ours.
  if (fstat(fd, &st) < 0 || st.st_dev != s->dev || st.st_ino != s->ino) {
    lsock_forget_fd(fd);
    return NULL;
  }
  return s;
}

void lsock_forget_fd(int fd) {
  if (fd >= 0 && fd < fdtab_n && fdtab[fd]) {
    if (fdtab[fd]->foreign) free(fdtab[fd]); // no pump holds it: the fd was all it had here
    fdtab[fd] = NULL;
  }
  if (fd >= 0 && fd < UDP_FD_LIMIT) g_udp_fd[fd] = 0;
}

struct lsock *lsock_new(uint32_t handle, int family, int type_flags, int udp) {
  int sv[2];
  if (socketpair(AF_UNIX, (udp ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0, sv) < 0) return NULL;
  if (udp && sv[0] >= UDP_FD_LIMIT) { real.close(sv[0]); real.close(sv[1]); errno = EMFILE; return NULL; }
  struct lsock *s = calloc(1, sizeof *s);
  if (!s) { real.close(sv[0]); real.close(sv[1]); errno = ENOMEM; return NULL; }
  s->app_fd = sv[0];
  s->pump_fd = sv[1];
  s->handle = handle;
  s->family = family;
  s->state = S_NEW;
  s->udp = udp;
  s->fork_gen = g_forks;
  fcntl(s->pump_fd, F_SETFL, fcntl(s->pump_fd, F_GETFL) | O_NONBLOCK);
  if (!(type_flags & SOCK_CLOEXEC)) fcntl(s->app_fd, F_SETFD, 0);
  if (type_flags & SOCK_NONBLOCK) fcntl(s->app_fd, F_SETFL, fcntl(s->app_fd, F_GETFL) | O_NONBLOCK);
  // Larger socketpair buffers: fewer pump wake-ups per MiB (capped by net.core.wmem_max).
  int big = 1024 * 1024;
  real.setsockopt(s->app_fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  real.setsockopt(s->pump_fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  struct stat st;
  if (fstat(s->app_fd, &st) == 0) { s->dev = st.st_dev; s->ino = st.st_ino; }
  s->next = g_socks;
  g_socks = s;
  lsock_set_fd(s);
  if (udp) g_udp_fd[s->app_fd] = 1;
  return s;
}

static struct lsock *last;
static struct lsock *by_handle(uint32_t handle) {
  if (last && last->handle == handle && last->pump_fd >= 0) return last;
  for (struct lsock *s = g_socks; s; s = s->next)
    if (s->handle == handle && s->pump_fd >= 0) return last = s;
  return NULL;
}

/** The application's end is closed for good: the daemon closes the socket, we forget it. */
static void finalize(struct lsock *s) {
  if (s->handle) channel_queue(FT_CLOSE, 0, channel_next_id(), s->handle, NULL, 0);
  real.close(s->pump_fd);
  s->pump_fd = -1;
  if (s->app_fd >= 0 && s->app_fd < fdtab_n && fdtab[s->app_fd] == s) lsock_forget_fd(s->app_fd);
  pending_forget_socket(s);
  if (last == s) last = NULL;
  for (struct lsock **pp = &g_socks; *pp; pp = &(*pp)->next)
    if (*pp == s) { *pp = s->next; break; }
  free(s->rx);
  free(s);
}

void connect_done(struct lsock *s, const struct reply *r) {
  if (r->type == FT_ADDRESS) {
    s->state = S_CONNECTED;
    s->so_error = 0;
  } else {
    s->state = S_FAILED;
    s->so_error = r->type == FT_ERROR ? wire_errno(r->payload[0]) : EPROTO;
    s->peer_closed = 1; // the application reads EOF after a failed connect
  }
  pthread_cond_broadcast(&g_cond);
}

// ---- host -> application ----

/** Moves buffered pushed bytes into the socketpair; shuts the app's read side after the peer's EOF. */
static void deliver(struct lsock *s) {
  while (s->rx_len > 0) {
    ssize_t n = send(s->pump_fd, s->rx + s->rx_head, s->rx_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      s->credit_owed += (uint32_t)s->rx_len; // the application is gone: the bytes are dropped
      s->rx_len = 0;
      break;
    }
    s->rx_head += (size_t)n;
    s->rx_len -= (size_t)n;
    s->credit_owed += (uint32_t)n;
  }
  s->rx_head = 0;
  if (s->peer_closed && !s->rx_shut) {
    s->rx_shut = 1;
    real.shutdown(s->pump_fd, SHUT_WR);
  }
}

static int on_data(struct lsock *s, const uint8_t *p, uint32_t len) {
  if (s->push_outstanding + len > PUSH_WINDOW || s->push_outstanding + len < len) return -1;
  s->push_outstanding += len;
  if (s->rx_shut) { s->credit_owed += len; return 0; }
  size_t off = 0;
  if (s->rx_len == 0) {
    while (off < len) {
      ssize_t n = send(s->pump_fd, p + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) off = len; // application gone: drop
        break;
      }
      off += (size_t)n;
    }
    s->credit_owed += (uint32_t)off;
  }
  if (off < len) {
    size_t rest = len - off;
    if (s->rx_head + s->rx_len + rest > s->rx_cap) {
      memmove(s->rx, s->rx + s->rx_head, s->rx_len);
      s->rx_head = 0;
    }
    if (s->rx_len + rest > s->rx_cap) {
      size_t cap = s->rx_cap ? s->rx_cap : 64 * 1024;
      while (cap < s->rx_len + rest) cap *= 2;
      uint8_t *b = realloc(s->rx, cap); // at most PUSH_WINDOW rounded up: the window bounds it
      if (!b) return -1;
      s->rx = b;
      s->rx_cap = cap;
    }
    memcpy(s->rx + s->rx_head + s->rx_len, p + off, rest);
    s->rx_len += rest;
  }
  return 0;
}

/** A connection the daemon accepted: a labelled socketpair at once (data may follow before accept()), whose
 * end travels through the listener's socketpair (SCM_RIGHTS, one byte with it) to whichever process holds
 * the listener and calls accept -- this one, a forked worker or an exec'd program. Our pump serves it. */
static void on_accepted(struct lsock *l, const uint8_t *p, uint32_t len) {
  struct endpoint remote, local;
  uint32_t nh = get_u32(p);
  size_t a = get_endpoint(p + 4, len - 4, &remote);
  size_t b = a ? get_endpoint(p + 4 + a, len - 4 - a, &local) : 0;
  struct lsock *s = b ? lsock_new(nh, l->family, SOCK_CLOEXEC, 0) : NULL;
  if (!s) { // like a full backlog: the connection is dropped
    channel_queue(FT_CLOSE, 0, channel_next_id(), nh, NULL, 0);
    return;
  }
  lsock_forget_fd(s->app_fd); // not the application's until accept() receives it
  s->state = S_CONNECTED;
  s->send_credit = g_init_credit;
  s->nodelay = l->nodelay;
  s->keepalive = l->keepalive;
  s->local = local;
  s->remote = remote;
  label_socket(s, 'C');
  uint8_t one = 1;
  struct iovec iov = { &one, 1 };
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } c;
  memset(&c, 0, sizeof c);
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b };
  struct cmsghdr *h = CMSG_FIRSTHDR(&m);
  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_RIGHTS;
  h->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(h), &s->app_fd, sizeof(int));
  // The listener's socketpair buffer bounds the connections not accepted yet; beyond it, or with the
  // listener gone, our copy's close below is the last one: the pump sees the hangup and closes it.
  ssize_t sent = real.sendmsg(l->pump_fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)sent;
  real.close(s->app_fd);
  s->app_fd = -1;
}

void pump_dispatch(const uint8_t *h, const uint8_t *p, uint32_t len) {
  uint8_t type = h[0];
  uint32_t id = get_u32(h + 4), handle = get_u32(h + 8);
  if (check_reply_payload(type, p, len) < 0) { channel_fail("malformed frame from linsockd"); return; }
  switch (type) {
  case FT_OK: case FT_ERROR: case FT_ADDRESS: case FT_LOOKUP_OK: case FT_HELLO_OK: case FT_CLOCK_OK:
    if (!pending_complete(id, type, p, len) && type == FT_ERROR && handle) {
      struct lsock *s = by_handle(handle); // a pipelined send failed
      if (s && s->udp) udp_on_error(s, wire_errno(p[0]));
      else if (s) { s->so_error = wire_errno(p[0]); s->peer_closed = 1; deliver(s); }
    }
    return;
  case FT_GOODBYE:
    return;
  default: break;
  }
  struct lsock *s = by_handle(handle);
  if (!s) return; // closed meanwhile
  switch (type) {
  case FT_CREDIT: {
    uint32_t c = get_u32(p);
    s->send_credit = s->send_credit + c < s->send_credit ? UINT32_MAX : s->send_credit + c;
    return;
  }
  case FT_DATA: {
    uint64_t in = g_stamps_on ? trace_now() : 0;
    if (on_data(s, p, len) < 0) channel_fail("linsockd pushed more than the receive window");
    else if (g_stamps_on) stamp_add(get_u32(h + 4), 0, 0, in, trace_now());
    return;
  }
  case FT_ACCEPTED:
    if (s->state == S_LISTENING) on_accepted(s, p, len);
    return;
  case FT_DATAGRAM: {
    uint64_t in = g_stamps_on ? trace_now() : 0;
    if (s->udp && udp_on_datagram(s, p, len) < 0) channel_fail("linsockd pushed a bad datagram or more than the receive window");
    else if (g_stamps_on) stamp_add(get_u32(h + 4), 0, 0, in, trace_now());
    return;
  }
  case FT_SOCKET_ERROR:
    if (s->udp) { udp_on_error(s, wire_errno(p[0])); return; } // the socket stays
    s->so_error = wire_errno(p[0]);
    /* fall through */
  case FT_PEER_CLOSED: case FT_CLOSED:
    if (type == FT_CLOSED) s->handle = 0;
    s->peer_closed = 1;
    deliver(s);
    return;
  default: return;
  }
}

static void read_channel(void) {
  size_t want = g_max_payload + HDR;
  if (rcap < want) {
    uint8_t *b = realloc(rbuf, want);
    if (!b) { channel_fail("out of memory"); return; }
    rbuf = b;
    rcap = want;
  }
  // With the passed-descriptor plane a passFd reply arrives with a descriptor attached (fdpass.c): recvmsg
  // takes it, where read() would drop it. Without it plain read(): a VM's character device is no socket.
  ssize_t n;
  if (!g_fd_pass_on) n = read(g_chan_fd, rbuf + rlen, rcap - rlen);
  else {
    struct iovec iov = { rbuf + rlen, rcap - rlen };
    union { struct cmsghdr h; char b[CMSG_SPACE(4 * sizeof(int))]; } c;
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b };
    n = recvmsg(g_chan_fd, &m, MSG_CMSG_CLOEXEC);
    if (n > 0) {
      for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
        size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
          int fd;
          memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
          fdpass_received(fd);
        }
      }
      if (m.msg_flags & MSG_CTRUNC) { channel_fail("linsockd sent more descriptors than a reply carries"); return; }
    }
  }
  if (n == 0) { channel_fail("linsockd closed the channel"); return; }
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) channel_fail("reading from linsockd failed");
    return;
  }
  rlen += (size_t)n;
  size_t off = 0;
  while (rlen - off >= HDR) {
    const uint8_t *h = rbuf + off;
    if (check_host_frame(h, g_max_payload) < 0) { channel_fail("malformed frame header from linsockd"); return; }
    uint32_t plen = get_u32(h + 12);
    if (rlen - off < HDR + (size_t)plen) break;
    pump_dispatch(h, h + HDR, plen);
    off += HDR + plen;
  }
  memmove(rbuf, rbuf + off, rlen - off);
  rlen -= off;
}

// ---- application -> host ----

static void take_app_data(struct lsock *s) {
  while (s->send_credit > 0 && g_outq_len < OUTQ_HIGH) {
    size_t n = s->send_credit < g_max_payload ? s->send_credit : g_max_payload;
    uint8_t *f = channel_send_slot(n);
    if (!f) return;
    uint64_t enter = g_stamps_on ? trace_now() : 0;
    ssize_t r = recv(s->pump_fd, f + HDR, n, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) s->app_eof = 1;
      return;
    }
    if (r == 0) {
      s->app_eof = 1;
      if (s->handle) {
        uint8_t how = 1;
        channel_queue(FT_SHUTDOWN, 0, channel_next_id(), s->handle, &how, 1);
      }
      return;
    }
    f[0] = FT_SEND; f[1] = FLAG_NO_REPLY; f[2] = f[3] = 0;
    uint32_t id = channel_next_id();
    put_u32(f + 4, id);
    put_u32(f + 8, s->handle);
    put_u32(f + 12, (uint32_t)r);
    channel_commit(HDR + (size_t)r);
    if (g_stamps_on) stamp_add(id, enter, trace_now(), 0, 0);
    s->send_credit -= (uint32_t)r;
    if ((size_t)r < n) return;
  }
}

/** Grants back what the application took; one credit frame per socket and round. */
static void grant_credit(void) {
  for (struct lsock *s = g_socks; s; s = s->next) {
    if (s->credit_owed == 0) continue;
    if (s->handle) {
      uint8_t b[4];
      put_u32(b, s->credit_owed);
      channel_queue(FT_CREDIT, 0, 0, s->handle, b, 4);
    }
    s->push_outstanding -= s->credit_owed < s->push_outstanding ? s->credit_owed : s->push_outstanding;
    s->credit_owed = 0;
  }
}

void *pump_main(void *arg) {
  (void)arg;
  struct pollfd *fds = NULL;
  struct lsock **who = NULL;
  size_t cap = 0;
  pthread_mutex_lock(&g_lock);
  for (;;) {
    size_t n = 0;
    for (struct lsock *s = g_socks; s; s = s->next) n++;
    if (n + 2 > cap) {
      cap = (n + 2) * 2;
      fds = realloc(fds, cap * sizeof *fds);
      who = realloc(who, cap * sizeof *who);
      if (!fds || !who) { channel_fail("out of memory"); break; }
    }
    size_t k = 0;
    fds[k++] = (struct pollfd){ g_wake_fd, POLLIN, 0 };
    fds[k++] = (struct pollfd){ g_chan_dead ? -1 : g_chan_fd, (short)(POLLIN | (g_outq_len ? POLLOUT : 0)), 0 };
    for (struct lsock *s = g_socks; s; s = s->next) {
      if (s->peer_closed && !s->rx_shut && s->rx_len == 0) deliver(s);
      if (s->udp) {
        int can_take = !s->app_eof && s->send_credit >= s->udp_need && g_outq_len < OUTQ_HIGH;
        who[k] = s;
        fds[k++] = (struct pollfd){ s->pump_fd, (short)(can_take ? POLLIN : 0), 0 };
        continue;
      }
      short ev = 0;
      if (s->rx_len > 0) ev |= POLLOUT;
      int can_read = s->state == S_CONNECTED && !s->app_eof && s->send_credit > 0 && g_outq_len < OUTQ_HIGH;
      if (can_read) ev |= POLLIN;
      // An idle socket is still watched for the application's close (POLLHUP), unless its unread data
      // waits for credit: then POLLHUP would return at once, so it waits for the credit first.
      if (s->hup && !can_read && s->state == S_CONNECTED && !s->app_eof) continue;
      who[k] = s;
      fds[k++] = (struct pollfd){ s->pump_fd, ev, 0 };
    }
    pthread_mutex_unlock(&g_lock);
    int r = poll(fds, k, -1);
    pthread_mutex_lock(&g_lock);
    if (r < 0) continue;
    if (fds[0].revents) { uint64_t v; ssize_t x = read(g_wake_fd, &v, sizeof v); (void)x; }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) read_channel();
    for (size_t i = 2; i < k; i++) {
      struct lsock *s = who[i];
      short re = fds[i].revents;
      if (!re) continue;
      if (s->udp) { // datagrams the application wrote before closing still leave
        if (re & (POLLIN | POLLHUP | POLLERR)) udp_take(s);
        if (re & (POLLHUP | POLLERR)) finalize(s);
        continue;
      }
      if (re & POLLOUT) deliver(s);
      if (re & POLLIN) take_app_data(s);
      if (re & (POLLHUP | POLLERR)) {
        s->hup = 1;
        if (s->state == S_CONNECTED && !s->app_eof) take_app_data(s); // what the app wrote before closing
        if (s->state != S_CONNECTED || s->app_eof) finalize(s);
      }
    }
    grant_credit();
    stamps_flush(0);
    channel_flush();
  }
  pthread_mutex_unlock(&g_lock);
  return NULL;
}

void pump_after_fork_child(void) {
  for (struct lsock *s = g_socks; s; s = s->next) {
    if (s->pump_fd >= 0) real.close(s->pump_fd);
  }
  g_socks = NULL; // their memory is a copy of the parent's, left as it is
  last = NULL;
  if (fdtab) memset(fdtab, 0, (size_t)fdtab_n * sizeof *fdtab);
  memset((void *)g_udp_fd, 0, sizeof g_udp_fd);
  rlen = 0;
}
