// A delegated UDP socket, the application's side: its fd is one end of a SOCK_SEQPACKET socketpair (poll,
// select, epoll and blocking behave natively), and every datagram in it carries a DGRAM_HDR naming the
// destination (on the way out) or the source (on the way in). The send and receive calls below add and
// strip that header; on any other fd they are libc's. The per-fd flag keeps the lock off every read/write.
#include "interposer.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile uint8_t g_udp_fd[UDP_FD_LIMIT];

/** The most iovecs one call may carry (the kernel's UIO_MAXIOV). */
#define MAX_IOV 1024

struct udp_view {
  int connected;
  int family;
  int err; /* a pending asynchronous error (a failed send, an ICMP error), reported once */
};

/** Whether fd is a delegated UDP socket; fills v and takes its pending error when it is. */
static int udp_fd(int fd, struct udp_view *v) {
  real_init();
  if (!g_enabled || fd < 0 || fd >= UDP_FD_LIMIT || !g_udp_fd[fd]) return 0;
  pthread_mutex_lock(&g_lock);
  struct lsock *s = lsock_by_fd(fd);
  if (!s || !s->udp) {
    g_udp_fd[fd] = 0; // the number was reused for something else
    pthread_mutex_unlock(&g_lock);
    return 0;
  }
  v->connected = s->state == S_CONNECTED;
  v->family = s->family;
  v->err = s->so_error;
  s->so_error = 0;
  pthread_mutex_unlock(&g_lock);
  return 1;
}

/**
 * Whether fd is a delegated TCP socket: its socketpair would refuse a destination address (EISCONN) and
 * report an AF_UNIX source, where a TCP socket ignores the one and reports none (sockperf sends with
 * sendto and an address on its connected socket). Asked only when an address is given.
 */
static int delegated_stream(int fd) {
  if (!g_enabled) return 0;
  pthread_mutex_lock(&g_lock);
  struct lsock *s = lsock_lookup(fd);
  int stream = s && !s->udp;
  pthread_mutex_unlock(&g_lock);
  return stream;
}

static ssize_t fail(int err) {
  errno = err;
  return -1;
}

static ssize_t udp_sendmsg(int fd, const struct udp_view *v, const struct msghdr *m, int flags) {
  if (v->err) return fail(v->err);
  if (!m || m->msg_iovlen > MAX_IOV || (m->msg_iovlen && !m->msg_iov)) return fail(m ? EMSGSIZE : EFAULT);
  size_t total = 0;
  for (size_t i = 0; i < m->msg_iovlen; i++) {
    total += m->msg_iov[i].iov_len;
    if (total > MAX_DATAGRAM) return fail(EMSGSIZE);
  }
  uint8_t hdr[DGRAM_HDR];
  memset(hdr, 0, sizeof hdr);
  if (m->msg_name && m->msg_namelen && !v->connected) {
    struct endpoint e;
    const struct sockaddr *sa = m->msg_name;
    if (sockaddr_to_endpoint(sa, m->msg_namelen, &e) < 0) return fail(sa->sa_family == AF_INET || sa->sa_family == AF_INET6 ? EINVAL : EAFNOSUPPORT);
    if ((e.family == 6) != (v->family == AF_INET6)) return fail(EAFNOSUPPORT);
    put_endpoint(hdr, &e);
  } else if (!v->connected) {
    return fail(EDESTADDRREQ);
  } // connected: family 0, the daemon sends to the peer (an address given anyway is not honoured)
  struct iovec *iov = malloc((m->msg_iovlen + 1) * sizeof *iov);
  if (!iov) return fail(ENOBUFS);
  iov[0] = (struct iovec){ hdr, sizeof hdr };
  if (m->msg_iovlen) memcpy(iov + 1, m->msg_iov, m->msg_iovlen * sizeof *iov);
  struct msghdr out = { .msg_iov = iov, .msg_iovlen = m->msg_iovlen + 1 };
  ssize_t n = real.sendmsg(fd, &out, (flags & MSG_DONTWAIT) | MSG_NOSIGNAL);
  int e = errno;
  free(iov);
  if (n < 0) return fail(e == EPIPE ? ECONNRESET : e);
  return n - DGRAM_HDR;
}

static ssize_t udp_recvmsg(int fd, const struct udp_view *v, struct msghdr *m, int flags) {
  if (flags & MSG_ERRQUEUE) return fail(EAGAIN); // no ICMP error queue comes through the daemon: always empty
  if (v->err) return fail(v->err);
  if (!m || m->msg_iovlen > MAX_IOV || (m->msg_iovlen && !m->msg_iov)) return fail(m ? EMSGSIZE : EFAULT);
  uint8_t hdr[DGRAM_HDR];
  struct iovec *iov = malloc((m->msg_iovlen + 1) * sizeof *iov);
  if (!iov) return fail(ENOBUFS);
  iov[0] = (struct iovec){ hdr, sizeof hdr };
  if (m->msg_iovlen) memcpy(iov + 1, m->msg_iov, m->msg_iovlen * sizeof *iov);
  struct msghdr in = { .msg_iov = iov, .msg_iovlen = m->msg_iovlen + 1 };
  ssize_t n = real.recvmsg(fd, &in, flags & (MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC));
  int e = errno;
  free(iov);
  if (n < 0) return fail(e);
  m->msg_flags = in.msg_flags & MSG_TRUNC;
  m->msg_controllen = 0; // no ancillary data (IP_PKTINFO, timestamps) comes through the daemon
  if (n == 0) { // the channel to linsockd is gone
    if (m->msg_name) m->msg_namelen = 0;
    return 0;
  }
  if (n < DGRAM_HDR) return fail(EIO);
  if (hdr[0] == DGRAM_ERROR) { // an asynchronous error, reported once (by this call, not again by the next)
    int err = get_u16(hdr + 1);
    pthread_mutex_lock(&g_lock);
    struct lsock *s = lsock_by_fd(fd);
    if (s && s->so_error == err) s->so_error = 0;
    pthread_mutex_unlock(&g_lock);
    return fail(err ? err : EIO);
  }
  struct endpoint src;
  if (m->msg_name && get_endpoint(hdr, sizeof hdr, &src)) {
    socklen_t len = m->msg_namelen;
    endpoint_to_sockaddr(&src, m->msg_name, &len);
    m->msg_namelen = len;
  } else if (m->msg_name) {
    m->msg_namelen = 0;
  }
  return n - DGRAM_HDR;
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags) {
  struct udp_view v;
  if (!udp_fd(fd, &v)) {
    if (m && m->msg_name && m->msg_namelen && delegated_stream(fd)) {
      struct msghdr plain = *m;
      plain.msg_name = NULL;
      plain.msg_namelen = 0;
      return real.sendmsg(fd, &plain, flags);
    }
    TRACE_KERNEL(OP_SENDMSG, fd, real.sendmsg(fd, m, flags));
    return real.sendmsg(fd, m, flags);
  }
  return udp_sendmsg(fd, &v, m, flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *sa, socklen_t salen) {
  struct udp_view v;
  if (!udp_fd(fd, &v)) {
    if (sa && salen && delegated_stream(fd)) return real.sendto(fd, buf, len, flags, NULL, 0);
    TRACE_KERNEL(OP_SENDTO, fd, real.sendto(fd, buf, len, flags, sa, salen));
    return real.sendto(fd, buf, len, flags, sa, salen);
  }
  struct iovec one = { (void *)buf, len };
  struct msghdr m = { .msg_name = (void *)sa, .msg_namelen = sa ? salen : 0, .msg_iov = &one, .msg_iovlen = 1 };
  return udp_sendmsg(fd, &v, &m, flags);
}

ssize_t send(int fd, const void *buf, size_t len, int flags) {
  struct udp_view v;
  if (!udp_fd(fd, &v)) {
    TRACE_KERNEL(OP_SEND, fd, real.send(fd, buf, len, flags));
    return real.send(fd, buf, len, flags);
  }
  struct iovec one = { (void *)buf, len };
  struct msghdr m = { .msg_iov = &one, .msg_iovlen = 1 };
  return udp_sendmsg(fd, &v, &m, flags);
}

ssize_t write(int fd, const void *buf, size_t len) {
  struct udp_view v;
  if (!udp_fd(fd, &v)) {
    TRACE_KERNEL(OP_SEND, fd, real.write(fd, buf, len));
    return real.write(fd, buf, len);
  }
  struct iovec one = { (void *)buf, len };
  struct msghdr m = { .msg_iov = &one, .msg_iovlen = 1 };
  return udp_sendmsg(fd, &v, &m, 0);
}

ssize_t writev(int fd, const struct iovec *iov, int n) {
  struct udp_view v;
  if (!udp_fd(fd, &v)) {
    TRACE_KERNEL(OP_SEND, fd, real.writev(fd, iov, n));
    return real.writev(fd, iov, n);
  }
  if (n < 0) return fail(EINVAL);
  struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
  return udp_sendmsg(fd, &v, &m, 0);
}

ssize_t recvmsg(int fd, struct msghdr *m, int flags) {
  struct udp_view v;
  if (!udp_fd(fd, &v)) {
    if (m && m->msg_name && delegated_stream(fd)) {
      void *name = m->msg_name;
      m->msg_name = NULL;
      ssize_t n = real.recvmsg(fd, m, flags);
      m->msg_name = name;
      m->msg_namelen = 0;
      return n;
    }
    TRACE_KERNEL(OP_RECVFROM, fd, real.recvmsg(fd, m, flags));
    return real.recvmsg(fd, m, flags);
  }
  return udp_recvmsg(fd, &v, m, flags);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa, socklen_t *salen) {
  struct udp_view v;
  if (!udp_fd(fd, &v)) {
    if (sa && salen && delegated_stream(fd)) {
      ssize_t n = real.recvfrom(fd, buf, len, flags, NULL, NULL);
      if (n >= 0) *salen = 0;
      return n;
    }
    TRACE_KERNEL(OP_RECVFROM, fd, real.recvfrom(fd, buf, len, flags, sa, salen));
    return real.recvfrom(fd, buf, len, flags, sa, salen);
  }
  struct iovec one = { buf, len };
  struct msghdr m = { .msg_name = sa && salen ? sa : NULL, .msg_namelen = sa && salen ? *salen : 0, .msg_iov = &one, .msg_iovlen = 1 };
  ssize_t n = udp_recvmsg(fd, &v, &m, flags);
  if (n >= 0 && sa && salen) *salen = m.msg_namelen;
  return n;
}

ssize_t recv(int fd, void *buf, size_t len, int flags) {
  struct udp_view v;
  if (!udp_fd(fd, &v)) {
    TRACE_KERNEL(OP_RECV, fd, real.recv(fd, buf, len, flags));
    return real.recv(fd, buf, len, flags);
  }
  struct iovec one = { buf, len };
  struct msghdr m = { .msg_iov = &one, .msg_iovlen = 1 };
  return udp_recvmsg(fd, &v, &m, flags);
}

ssize_t read(int fd, void *buf, size_t len) {
  struct udp_view v;
  if (!udp_fd(fd, &v)) {
    TRACE_KERNEL(OP_RECV, fd, real.read(fd, buf, len));
    return real.read(fd, buf, len);
  }
  struct iovec one = { buf, len };
  struct msghdr m = { .msg_iov = &one, .msg_iovlen = 1 };
  return udp_recvmsg(fd, &v, &m, 0);
}

ssize_t readv(int fd, const struct iovec *iov, int n) {
  struct udp_view v;
  if (!udp_fd(fd, &v)) {
    TRACE_KERNEL(OP_RECV, fd, real.readv(fd, iov, n));
    return real.readv(fd, iov, n);
  }
  if (n < 0) return fail(EINVAL);
  struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
  return udp_recvmsg(fd, &v, &m, 0);
}

/** Up to vlen datagrams; after the first, only those already there (as MSG_WAITFORONE; no timeout). */
int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout) {
  struct udp_view v;
  if (!udp_fd(fd, &v)) return real.recvmmsg(fd, vec, vlen, flags, timeout);
  if (vlen > MAX_IOV) vlen = MAX_IOV;
  unsigned int i = 0;
  for (; i < vlen; i++) {
    ssize_t n = udp_recvmsg(fd, &v, &vec[i].msg_hdr, i ? (flags & ~MSG_WAITFORONE) | MSG_DONTWAIT : flags & ~MSG_WAITFORONE);
    v.err = 0;
    if (n < 0) break;
    vec[i].msg_len = (unsigned int)n;
  }
  return i ? (int)i : -1;
}

int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags) {
  struct udp_view v;
  if (!udp_fd(fd, &v)) return real.sendmmsg(fd, vec, vlen, flags);
  if (vlen > MAX_IOV) vlen = MAX_IOV;
  unsigned int i = 0;
  for (; i < vlen; i++) {
    ssize_t n = udp_sendmsg(fd, &v, &vec[i].msg_hdr, flags);
    v.err = 0;
    if (n < 0) break;
    vec[i].msg_len = (unsigned int)n;
  }
  return i ? (int)i : -1;
}

// _FORTIFY_SOURCE builds (Debian's socat, iperf3) call these instead of read, recv and recvfrom.
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags, struct sockaddr *sa, socklen_t *salen);

ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen) {
  real_init();
  if (!g_enabled) TRACE_KERNEL(OP_RECV, fd, real.read_chk(fd, buf, len, buflen));
  if (len > buflen || !g_enabled || fd < 0 || fd >= UDP_FD_LIMIT || !g_udp_fd[fd]) return real.read_chk(fd, buf, len, buflen);
  return read(fd, buf, len);
}

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags) {
  real_init();
  if (!g_enabled) TRACE_KERNEL(OP_RECV, fd, real.recv_chk(fd, buf, len, buflen, flags));
  if (len > buflen || !g_enabled || fd < 0 || fd >= UDP_FD_LIMIT || !g_udp_fd[fd]) return real.recv_chk(fd, buf, len, buflen, flags);
  return recv(fd, buf, len, flags);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags, struct sockaddr *sa, socklen_t *salen) {
  real_init();
  if (!g_enabled) TRACE_KERNEL(OP_RECVFROM, fd, real.recvfrom_chk(fd, buf, len, buflen, flags, sa, salen));
  if (len <= buflen && sa && salen && delegated_stream(fd)) return recvfrom(fd, buf, len, flags, sa, salen);
  if (len > buflen || !g_enabled || fd < 0 || fd >= UDP_FD_LIMIT || !g_udp_fd[fd]) return real.recvfrom_chk(fd, buf, len, buflen, flags, sa, salen);
  return recvfrom(fd, buf, len, flags, sa, salen);
}
