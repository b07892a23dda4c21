// Two threads, each with a TCP socket of its own: connect to 127.0.0.1:PORT, send N bytes, close. Prints
// "main TID" and "worker TID" so that a test can find each thread's calls in a trace.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port, bytes;

static void *talk(void *name) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); exit(1); }
  char *buf = calloc(1, (size_t)bytes);
  for (int off = 0; off < bytes;) {
    ssize_t n = send(fd, buf + off, (size_t)(bytes - off), 0);
    if (n <= 0) { perror("send"); exit(1); }
    off += (int)n;
  }
  free(buf);
  close(fd);
  printf("%s %d\n", (const char *)name, gettid());
  fflush(stdout);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  port = atoi(argv[1]);
  bytes = atoi(argv[2]);
  pthread_t t;
  pthread_create(&t, NULL, talk, "worker");
  pthread_join(t, NULL);
  talk("main");
  return 0;
}
