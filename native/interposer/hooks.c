// The intercepted libc calls. An AF_INET/AF_INET6 SOCK_STREAM or SOCK_DGRAM socket becomes a delegated
// socket: the application holds one end of a socketpair (a real fd: poll, epoll, select, fcntl, read, write
// behave natively; UDP's data calls are udp.c's) and the control calls below go to linsockd over the
// channel. Every other fd and family goes to libc untouched, and so does everything when
// LINSOCK_GUEST_SOCKET is not set.
#include "interposer.h"
#include <sys/epoll.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct real_fns real;
int g_enabled;
char g_guest_path[108];

#define LOAD(name) real.name = (__typeof__(real.name))dlsym(RTLD_NEXT, #name)

static void at_fork_prepare(void) { pthread_mutex_lock(&g_lock); }
static void at_fork_parent(void) { g_forks++; pthread_mutex_unlock(&g_lock); }
static void at_fork_child(void) {
  channel_after_fork_child();
  pump_after_fork_child();
  fdpass_after_fork_child();
  trace_after_fork_child();
  if (!g_enabled) return;
  label_new_token();
  inherit_scan(); // the parent's pump keeps serving what we inherited: it is foreign here now
}

void real_init(void) {
  if (real.close) return;
  LOAD(socket); LOAD(connect); LOAD(bind); LOAD(listen); LOAD(accept); LOAD(accept4);
  LOAD(getsockname); LOAD(getpeername); LOAD(setsockopt); LOAD(getsockopt); LOAD(shutdown);
  LOAD(getaddrinfo); LOAD(freeaddrinfo); LOAD(epoll_ctl);
  LOAD(sendmsg); LOAD(recvmsg); LOAD(send); LOAD(sendto); LOAD(recv); LOAD(recvfrom);
  LOAD(read); LOAD(write); LOAD(readv); LOAD(writev); LOAD(sendmmsg); LOAD(recvmmsg);
  real.read_chk = (__typeof__(real.read_chk))dlsym(RTLD_NEXT, "__read_chk");
  real.recv_chk = (__typeof__(real.recv_chk))dlsym(RTLD_NEXT, "__recv_chk");
  real.recvfrom_chk = (__typeof__(real.recvfrom_chk))dlsym(RTLD_NEXT, "__recvfrom_chk");
  LOAD(close); LOAD(sendfile);
}

__attribute__((constructor)) static void init(void) {
  real_init();
  const char *p = getenv("LINSOCK_GUEST_SOCKET");
  g_enabled = p != NULL && *p != '\0' && strlen(p) < sizeof g_guest_path;
  pthread_atfork(at_fork_prepare, at_fork_parent, at_fork_child);
  trace_init();
  if (!g_enabled) return;
  strcpy(g_guest_path, p);
  label_new_token();
  inherit_scan(); // after exec: the delegated sockets this program was handed
}

void diag(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  dprintf(2, "linsock interposer: %.*s", n, line);
}

/** The delegated socket behind fd, with g_lock held; NULL (lock released) when fd is not one. */
static struct lsock *delegated(int fd) {
  real_init();
  if (!g_enabled) return NULL;
  pthread_mutex_lock(&g_lock);
  struct lsock *s = lsock_lookup(fd);
  if (!s) pthread_mutex_unlock(&g_lock);
  return s;
}


static int unlock_fail(int err) {
  pthread_mutex_unlock(&g_lock);
  errno = err;
  return -1;
}

/** What another process's socket cannot do here: its handle belongs to the owner's channel. */
static int foreign_fail(const char *call) {
  diag("%s on a delegated socket inherited from another process is not supported", call);
  return unlock_fail(EOPNOTSUPP);
}

int socket(int domain, int type, int protocol) {
  real_init();
  int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  int tcp = kind == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP);
  int udp = kind == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP);
  if (g_trace_kernel && (domain == AF_INET || domain == AF_INET6) && (tcp || udp)) {
    uint64_t t0 = trace_now();
    int fd = real.socket(domain, type, protocol);
    int err = errno;
    trace_mark_socket(fd, domain, type);
    trace_kernel(OP_SOCKET, fd, t0, fd, err);
    return fd;
  }
  if (!g_enabled || (domain != AF_INET && domain != AF_INET6) || (!tcp && !udp))
    return real.socket(domain, type, protocol);
  pthread_mutex_lock(&g_lock);
  uint8_t b[2] = { domain == AF_INET6 ? 6 : 4, udp ? 1 : 0 };
  struct reply r;
  if (channel_call(FT_SOCKET, 0, b, 2, &r) < 0) return unlock_fail(errno);
  if (r.type != FT_OK) return unlock_fail(EPROTO);
  uint32_t handle = get_u32(r.payload);
  struct lsock *s = lsock_new(handle, domain, type, udp);
  if (!s) {
    int e = errno;
    channel_queue(FT_CLOSE, 0, channel_next_id(), handle, NULL, 0);
    channel_flush();
    return unlock_fail(e);
  }
  s->send_credit = g_init_credit;
  if (udp) label_socket(s, 'U');
  channel_wake();
  int fd = s->app_fd;
  pthread_mutex_unlock(&g_lock);
  return fd;
}

int connect(int fd, const struct sockaddr *sa, socklen_t len) {
  struct lsock *s = delegated(fd);
  if (!s) {
    TRACE_KERNEL(OP_CONNECT, fd, real.connect(fd, sa, len));
    return real.connect(fd, sa, len);
  }
  if (s->foreign) return s->state == S_CONNECTED ? unlock_fail(EISCONN) : foreign_fail("connect");
  struct endpoint e;
  if (sockaddr_to_endpoint(sa, len, &e) < 0) return unlock_fail(sa && len >= sizeof(sa_family_t) && sa->sa_family != AF_INET && sa->sa_family != AF_INET6 ? EAFNOSUPPORT : EINVAL);
  switch (s->state) {
  case S_CONNECTED: case S_LISTENING: return unlock_fail(EISCONN);
  case S_CONNECTING: return unlock_fail(EALREADY);
  case S_FAILED:
    if (s->so_error) { int err = s->so_error; s->so_error = 0; return unlock_fail(err); }
    break;
  case S_NEW: break;
  }
  s->remote = e;
  if (!s->udp && (fcntl(fd, F_GETFL) & O_NONBLOCK)) { // a UDP connect only names the peer: never waits
    s->state = S_CONNECTING;
    if (channel_call_async_connect(s, &e) < 0) { s->state = S_NEW; return unlock_fail(errno); }
    return unlock_fail(EINPROGRESS);
  }
  uint8_t b[19];
  size_t n = put_endpoint(b, &e);
  struct reply r;
  s->state = S_CONNECTING;
  if (channel_call(FT_CONNECT, s->handle, b, (uint32_t)n, &r) < 0) { s->state = S_NEW; return unlock_fail(errno); }
  s->state = S_CONNECTED;
  if (!s->udp) {
    if (r.type == FT_ADDRESS) get_endpoint(r.payload, r.len, &s->local);
    label_socket(s, 'C');
    fdpass_try(s, fd); // before connect returns: the program cannot have seen the socketpair in use
  }
  channel_wake();
  pthread_mutex_unlock(&g_lock);
  return 0;
}

int bind(int fd, const struct sockaddr *sa, socklen_t len) {
  struct lsock *s = delegated(fd);
  if (!s) {
    TRACE_KERNEL(OP_BIND, fd, real.bind(fd, sa, len));
    return real.bind(fd, sa, len);
  }
  if (s->foreign) return foreign_fail("bind");
  struct endpoint e;
  if (sockaddr_to_endpoint(sa, len, &e) < 0) return unlock_fail(EINVAL);
  uint8_t b[19];
  size_t n = put_endpoint(b, &e);
  struct reply r;
  if (channel_call(FT_BIND, s->handle, b, (uint32_t)n, &r) < 0) return unlock_fail(errno);
  pthread_mutex_unlock(&g_lock);
  return 0;
}

int listen(int fd, int backlog) {
  struct lsock *s = delegated(fd);
  if (!s) {
    TRACE_KERNEL(OP_LISTEN, fd, real.listen(fd, backlog));
    return real.listen(fd, backlog);
  }
  if (s->udp) return unlock_fail(EOPNOTSUPP);
  if (s->state == S_LISTENING) { pthread_mutex_unlock(&g_lock); return 0; }
  if (s->state != S_NEW) return unlock_fail(EINVAL);
  if (s->foreign) return foreign_fail("listen");
  uint8_t b[4];
  put_u32(b, backlog < 0 ? 0u : (uint32_t)backlog);
  struct reply r;
  if (channel_call(FT_LISTEN, s->handle, b, 4, &r) < 0) return unlock_fail(errno);
  s->state = S_LISTENING;
  if (channel_call(FT_GETSOCKNAME, s->handle, NULL, 0, &r) == 0 && r.type == FT_ADDRESS) get_endpoint(r.payload, r.len, &s->local);
  label_socket(s, 'L'); // a forked or exec'd worker accepts on it too
  channel_wake();
  pthread_mutex_unlock(&g_lock);
  return 0;
}

int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags) {
  struct lsock *l = delegated(fd);
  if (!l) {
    TRACE_KERNEL(OP_ACCEPT, fd, real.accept4(fd, sa, len, flags));
    return real.accept4(fd, sa, len, flags);
  }
  if (l->state != S_LISTENING) return unlock_fail(EINVAL);
  pthread_mutex_unlock(&g_lock);
  // Each connection is one byte with its socketpair end attached (pump.c on_accepted): blocking or not,
  // and interrupted by signals, as the application's fd is; any process holding the listener may take it.
  uint8_t one;
  struct iovec iov = { &one, 1 };
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } c;
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b };
  ssize_t n = real.recvmsg(fd, &m, (flags & SOCK_CLOEXEC) ? MSG_CMSG_CLOEXEC : 0);
  if (n < 0) return -1;
  if (n == 0) { errno = EINVAL; return -1; }
  struct cmsghdr *h = CMSG_FIRSTHDR(&m);
  if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS || h->cmsg_len != CMSG_LEN(sizeof(int))) {
    errno = (m.msg_flags & MSG_CTRUNC) ? EMFILE : ECONNABORTED; // the kernel could not install the fd here
    return -1;
  }
  int out;
  memcpy(&out, CMSG_DATA(h), sizeof out);
  pthread_mutex_lock(&g_lock);
  struct lsock *s = lsock_adopt_accepted(out);
  if (!s) {
    pthread_mutex_unlock(&g_lock);
    real.close(out);
    errno = ECONNABORTED;
    return -1;
  }
  if (flags & SOCK_NONBLOCK) fcntl(out, F_SETFL, fcntl(out, F_GETFL) | O_NONBLOCK);
  if (sa && len) endpoint_to_sockaddr(&s->remote, sa, len);
  pthread_mutex_unlock(&g_lock);
  return out;
}

int accept(int fd, struct sockaddr *sa, socklen_t *len) {
  real_init();
  if (!g_enabled) {
    TRACE_KERNEL(OP_ACCEPT, fd, real.accept(fd, sa, len));
    return real.accept(fd, sa, len);
  }
  return accept4(fd, sa, len, 0);
}

static int address_of(int fd, uint8_t op, struct sockaddr *sa, socklen_t *len, int (*fallback)(int, struct sockaddr *, socklen_t *)) {
  struct lsock *s = delegated(fd);
  if (!s) {
    TRACE_KERNEL(op == FT_GETSOCKNAME ? OP_GETSOCKNAME : OP_GETPEERNAME, fd, fallback(fd, sa, len));
    return fallback(fd, sa, len);
  }
  if (!len) return unlock_fail(EFAULT);
  struct reply r;
  struct endpoint e;
  const struct endpoint *known = op == FT_GETSOCKNAME ? &s->local : &s->remote;
  if (s->foreign && known->family) {
    endpoint_to_sockaddr(known, sa, len); // from its label: the owner's channel is not ours
  } else if (s->foreign && op == FT_GETPEERNAME && s->state != S_CONNECTED) {
    return unlock_fail(ENOTCONN);
  } else if (!s->foreign && channel_call(op, s->handle, NULL, 0, &r) == 0 && r.type == FT_ADDRESS && get_endpoint(r.payload, r.len, &e)) {
    endpoint_to_sockaddr(&e, sa, len);
  } else if (op == FT_GETSOCKNAME) {
    memset(&e, 0, sizeof e); // not bound yet: the kernel answers the wildcard address, port 0
    e.family = s->family == AF_INET6 ? 6 : 4;
    endpoint_to_sockaddr(&e, sa, len);
  } else {
    return unlock_fail(ENOTCONN);
  }
  pthread_mutex_unlock(&g_lock);
  return 0;
}

int getsockname(int fd, struct sockaddr *sa, socklen_t *len) {
  real_init();
  return address_of(fd, FT_GETSOCKNAME, sa, len, real.getsockname);
}

int getpeername(int fd, struct sockaddr *sa, socklen_t *len) {
  real_init();
  return address_of(fd, FT_GETPEERNAME, sa, len, real.getpeername);
}

static int int_option(const void *v, socklen_t len) {
  if (!v || len < (socklen_t)sizeof(int)) return -1;
  int x;
  memcpy(&x, v, sizeof x);
  return x != 0;
}

int setsockopt(int fd, int level, int opt, const void *v, socklen_t len) {
  struct lsock *s = delegated(fd);
  if (!s) {
    TRACE_KERNEL(OP_SETSOCKOPT, fd, real.setsockopt(fd, level, opt, v, len));
    return real.setsockopt(fd, level, opt, v, len);
  }
  int wire = -1;
  if (level == IPPROTO_TCP && opt == TCP_NODELAY) wire = SOCKOPT_TCP_NODELAY;
  if (level == SOL_SOCKET && opt == SO_KEEPALIVE) wire = SOCKOPT_SO_KEEPALIVE;
  if (wire >= 0) {
    int on = int_option(v, len);
    if (on < 0) return unlock_fail(EINVAL);
    uint8_t b[5] = { (uint8_t)wire, 0, 0, 0, (uint8_t)on };
    struct reply r;
    // Another process's socket keeps the option here only: its handle is on the owner's channel.
    if (!s->foreign && channel_call(FT_SETSOCKOPT, s->handle, b, 5, &r) < 0) return unlock_fail(errno);
    if (wire == SOCKOPT_TCP_NODELAY) s->nodelay = on; else s->keepalive = on;
    pthread_mutex_unlock(&g_lock);
    return 0;
  }
  pthread_mutex_unlock(&g_lock);
  // Buffer sizes size the socketpair; every other option (SO_REUSEADDR, TCP_KEEPIDLE, ...) is accepted
  // and has no effect: the daemon's host socket keeps its own settings.
  if (level == SOL_SOCKET && (opt == SO_SNDBUF || opt == SO_RCVBUF)) return real.setsockopt(fd, level, opt, v, len);
  return 0;
}

/** The daemon's socket's MSS is not on the wire: TCP's default (RFC 9293) stands in for TCP_MAXSEG. */
#define DEFAULT_MSS 536

static int put_int(void *v, socklen_t *len, int x) {
  if (!v || !len || *len < (socklen_t)sizeof(int)) { errno = EINVAL; return -1; }
  memcpy(v, &x, sizeof x);
  *len = sizeof x;
  return 0;
}

int getsockopt(int fd, int level, int opt, void *v, socklen_t *len) {
  struct lsock *s = delegated(fd);
  if (!s) {
    TRACE_KERNEL(OP_GETSOCKOPT, fd, real.getsockopt(fd, level, opt, v, len));
    return real.getsockopt(fd, level, opt, v, len);
  }
  int x = 0;
  if (level == SOL_SOCKET && opt == SO_ERROR) {
    // A non-blocking connect's result: the socketpair was writable at once, so wait for the daemon here.
    while (s->state == S_CONNECTING) pthread_cond_wait(&g_cond, &g_lock);
    x = s->so_error;
    s->so_error = 0;
    if (x == 0) fdpass_try(s, fd); // the program learns of the connection only now
  } else if (level == SOL_SOCKET && (opt == SO_SNDBUF || opt == SO_RCVBUF)) {
    pthread_mutex_unlock(&g_lock);
    return real.getsockopt(fd, level, opt, v, len);
  } else if (level == SOL_SOCKET && opt == SO_TYPE) x = s->udp ? SOCK_DGRAM : SOCK_STREAM;
  else if (level == SOL_SOCKET && opt == SO_DOMAIN) x = s->family;
  else if (level == SOL_SOCKET && opt == SO_PROTOCOL) x = s->udp ? IPPROTO_UDP : IPPROTO_TCP;
  else if (level == SOL_SOCKET && opt == SO_ACCEPTCONN) x = s->state == S_LISTENING;
  else if (level == SOL_SOCKET && opt == SO_KEEPALIVE) x = s->keepalive;
  else if (level == IPPROTO_TCP && opt == TCP_NODELAY) x = s->nodelay;
  else if (level == IPPROTO_TCP && opt == TCP_MAXSEG && !s->udp) x = DEFAULT_MSS;
  else if (level == IPPROTO_TCP && opt == TCP_INFO && !s->udp) {
    // The host socket's counters are not on the wire: an honest "nothing known" (zeros) with the state.
    int connected = s->state == S_CONNECTED;
    pthread_mutex_unlock(&g_lock);
    if (!v || !len) { errno = EFAULT; return -1; }
    struct tcp_info ti;
    memset(&ti, 0, sizeof ti);
    ti.tcpi_state = connected ? TCP_ESTABLISHED : TCP_CLOSE;
    ti.tcpi_snd_mss = ti.tcpi_rcv_mss = DEFAULT_MSS;
    socklen_t n = *len < (socklen_t)sizeof ti ? *len : (socklen_t)sizeof ti;
    memcpy(v, &ti, n);
    *len = n;
    return 0;
  }
  pthread_mutex_unlock(&g_lock);
  return put_int(v, len, x);
}

int shutdown(int fd, int how) {
  struct lsock *s = delegated(fd);
  if (!s) {
    TRACE_KERNEL(OP_SHUTDOWN, fd, real.shutdown(fd, how));
    return real.shutdown(fd, how);
  }
  int connected = s->state == S_CONNECTED, udp = s->udp;
  pthread_mutex_unlock(&g_lock);
  if (!connected) { errno = ENOTCONN; return -1; }
  if (udp) return 0; // a datagram socket has no stream to end: nothing to tell the daemon
  // The pump reads EOF after the app's SHUT_WR and sends the daemon shutdown(write) after the data.
  return real.shutdown(fd, how);
}

int close(int fd) {
  real_init();
  if (!g_enabled) {
    if (trace_is_internal_fd(fd)) return 0; // the trace connection is ours: a close-all-fds loop must not cut it
    TRACE_KERNEL(OP_CLOSE, fd, real.close(fd));
    return real.close(fd);
  }
  pthread_mutex_lock(&g_lock);
  if (channel_is_internal_fd(fd) || trace_is_internal_fd(fd)) { // ours: a close-all-fds loop must not cut them
    pthread_mutex_unlock(&g_lock);
    return 0;
  }
  if (lsock_by_fd(fd)) lsock_forget_fd(fd); // the pump sees POLLHUP once the last reference is gone
  else fdpass_on_close(fd);
  pthread_mutex_unlock(&g_lock);
  return real.close(fd);
}

// sendfile to a socket (nginx): a send of its own in trace-only mode; a delegated socket's socketpair takes it natively.
ssize_t sendfile(int out, int in, off_t *offset, size_t count);
ssize_t sendfile64(int out, int in, off_t *offset, size_t count);
ssize_t sendfile(int out, int in, off_t *offset, size_t count) {
  real_init();
  TRACE_KERNEL(OP_SEND, out, real.sendfile(out, in, offset, count));
  return real.sendfile(out, in, offset, count);
}
ssize_t sendfile64(int out, int in, off_t *offset, size_t count) { return sendfile(out, in, offset, count); }

// epoll_ctl: a delegated socket added to an epoll set keeps its socketpair for good (fdpass.c), since a dup
// over a registered fd would drop the registration without a word.
int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
  real_init();
  if (g_enabled && op == EPOLL_CTL_ADD) {
    pthread_mutex_lock(&g_lock);
    struct lsock *s = lsock_by_fd(fd);
    if (s) s->in_epoll = 1;
    pthread_mutex_unlock(&g_lock);
  }
  return real.epoll_ctl(epfd, op, fd, ev);
}
