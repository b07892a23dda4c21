// An inetd-style service: started by exec with its connection as stdin and stdout (socat's
// EXEC:...,nofork), it asks the inherited socket what it is, then echoes until EOF. Run delegated, the
// socket it inherited across fork and exec is a delegated one: its calls must answer as the kernel would.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  struct sockaddr_in peer, self;
  socklen_t plen = sizeof peer, slen = sizeof self;
  int one = 1, type = 0;
  socklen_t tlen = sizeof type;
  if (getpeername(0, (struct sockaddr *)&peer, &plen) < 0) { perror("getpeername"); return 2; }
  if (getsockname(1, (struct sockaddr *)&self, &slen) < 0) { perror("getsockname"); return 2; }
  if (setsockopt(1, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) { perror("setsockopt"); return 2; }
  if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_STREAM) { fprintf(stderr, "SO_TYPE %d\n", type); return 2; }
  char line[160];
  char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
  int n = snprintf(line, sizeof line, "peer %s:%u self %s:%u family %s\n", inet_ntop(AF_INET, &peer.sin_addr, a, sizeof a),
                   ntohs(peer.sin_port), inet_ntop(AF_INET, &self.sin_addr, b, sizeof b), ntohs(self.sin_port),
                   peer.sin_family == AF_INET ? "AF_INET" : "other");
  if (write(1, line, (size_t)n) != n) return 3;
  char buf[65536];
  for (;;) {
    ssize_t r = read(0, buf, sizeof buf);
    if (r < 0) { perror("read"); return 3; }
    if (r == 0) return 0;
    for (ssize_t off = 0; off < r;) {
      ssize_t w = write(1, buf + off, (size_t)(r - off));
      if (w < 0) { perror("write"); return 3; }
      off += w;
    }
  }
}
