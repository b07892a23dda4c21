// A test client for delegated UDP: sendmmsg of 3 datagrams (sizes 1, 700, 9000) to an echo at
// 127.0.0.1:PORT (argv[1]), then recvmmsg/recvfrom until all 3 came back; checks each one's bytes, size and
// source address, and that a short buffer truncates with MSG_TRUNC. Prints "mmsg ok" or "FAIL why".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define N 3
static const size_t SIZES[N] = { 1, 700, 9000 };
static unsigned char out[N][9000], in[N][9000];

static int fail(const char *what) {
  printf("FAIL %s: %s\n", what, strerror(errno));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) return fail("usage: udp-mmsg PORT");
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return fail("socket");
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  struct mmsghdr msgs[N];
  struct iovec iov[N];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < N; i++) {
    for (size_t j = 0; j < SIZES[i]; j++) out[i][j] = (unsigned char)(i * 31 + j * 7);
    iov[i] = (struct iovec){ out[i], SIZES[i] };
    msgs[i].msg_hdr = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov[i], .msg_iovlen = 1 };
  }
  if (sendmmsg(fd, msgs, N, 0) != N) return fail("sendmmsg");
  int got = 0;
  struct sockaddr_in from[N];
  while (got < N) {
    struct mmsghdr rm[N];
    memset(rm, 0, sizeof rm);
    for (int i = got; i < N; i++) {
      iov[i] = (struct iovec){ in[i], sizeof in[i] };
      rm[i - got].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof from[i], .msg_iov = &iov[i], .msg_iovlen = 1 };
    }
    int n = recvmmsg(fd, rm, (unsigned)(N - got), MSG_WAITFORONE, NULL);
    if (n <= 0) return fail("recvmmsg");
    for (int k = 0; k < n; k++) {
      int i = got + k;
      if (rm[k].msg_len != SIZES[i] || memcmp(in[i], out[i], SIZES[i]) != 0) { errno = EBADMSG; return fail("echoed datagram differs"); }
      if (from[i].sin_family != AF_INET || from[i].sin_port != to.sin_port) { errno = EBADMSG; return fail("source address"); }
    }
    got += n;
  }
  // Truncation: 9000 bytes into 100, as the kernel does (MSG_TRUNC returns the real length).
  if (sendto(fd, out[2], 9000, 0, (struct sockaddr *)&to, sizeof to) != 9000) return fail("sendto");
  unsigned char small[100];
  ssize_t n = recv(fd, small, sizeof small, MSG_TRUNC);
  if (n != 9000 || memcmp(small, out[2], sizeof small) != 0) { errno = EBADMSG; return fail("MSG_TRUNC recv"); }
  printf("mmsg ok\n");
  close(fd);
  return 0;
}
