// A test client for the interposer: non-blocking connect + poll + SO_ERROR, then writes BYTES (argv[3]) of
// a pattern to an echo server at 127.0.0.1:PORT (argv[2]) while reading the echo back, and checks every
// byte. argv[1] is the address. Prints "echoed N bytes from FAMILY" on success; exits 1 with why otherwise.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what) {
  printf("FAIL %s: %s\n", what, strerror(errno));
  return 1;
}

static unsigned char at(size_t i) { return (unsigned char)((i * 7 + i / 251) & 0xff); }

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  size_t total = strtoul(argv[3], NULL, 10);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail("socket");
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2])) };
  inet_pton(AF_INET, argv[1], &sa.sin_addr);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno != EINPROGRESS) return fail("connect (expected EINPROGRESS)");
  struct pollfd p = { fd, POLLOUT, 0 };
  if (poll(&p, 1, 5000) != 1) return fail("poll for connect");
  int err = -1;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return fail("getsockopt");
  if (err != 0) { errno = err; return fail("SO_ERROR"); }
  struct sockaddr_storage local;
  len = sizeof local;
  if (getsockname(fd, (struct sockaddr *)&local, &len) < 0) return fail("getsockname");
  size_t sent = 0, got = 0;
  unsigned char buf[65536];
  while (got < total) {
    struct pollfd q = { fd, (short)(POLLIN | (sent < total ? POLLOUT : 0)), 0 };
    if (poll(&q, 1, 10000) != 1) return fail("poll (stalled)");
    if ((q.revents & POLLOUT) && sent < total) {
      size_t n = total - sent < sizeof buf ? total - sent : sizeof buf;
      for (size_t i = 0; i < n; i++) buf[i] = at(sent + i);
      ssize_t w = write(fd, buf, n);
      if (w < 0 && errno != EAGAIN) return fail("write");
      if (w > 0) sent += (size_t)w;
    }
    if (q.revents & (POLLIN | POLLHUP)) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0) { errno = r == 0 ? ECONNRESET : errno; return fail("read"); }
      for (ssize_t i = 0; i < r; i++)
        if (buf[i] != at(got + (size_t)i)) { printf("FAIL byte %zu differs\n", got + (size_t)i); return 1; }
      got += (size_t)r;
    }
  }
  shutdown(fd, SHUT_WR);
  struct pollfd e = { fd, POLLIN, 0 };
  if (poll(&e, 1, 5000) != 1 || read(fd, buf, 1) != 0) return fail("EOF after shutdown");
  close(fd);
  printf("echoed %zu bytes from %s\n", got, local.ss_family == AF_INET ? "AF_INET" : "another family");
  return 0;
}
