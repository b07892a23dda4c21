// getaddrinfo through the daemon's lookup op: a delegated program resolves names as the host does. Numeric
// hosts, a NULL host and AI_NUMERICHOST stay with libc. The lists we build are remembered so that
// freeaddrinfo frees ours and hands libc's back to libc.
#include "interposer.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OWN_LISTS 256
static struct addrinfo *own[MAX_OWN_LISTS];
static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;

static int numeric(const char *node) {
  unsigned char b[16];
  return inet_pton(AF_INET, node, b) == 1 || inet_pton(AF_INET6, node, b) == 1;
}

static int service_port(const char *service, const struct addrinfo *hints, int *port) {
  *port = 0;
  if (!service) return 0;
  char *end;
  long v = strtol(service, &end, 10);
  if (*service && *end == '\0' && v >= 0 && v <= 65535) { *port = (int)v; return 0; }
  if (hints && (hints->ai_flags & AI_NUMERICSERV)) return EAI_NONAME;
  struct servent se, *res = NULL;
  char buf[1024];
  if (getservbyname_r(service, "tcp", &se, buf, sizeof buf, &res) != 0 || !res) return EAI_SERVICE;
  *port = ntohs((uint16_t)res->s_port);
  return 0;
}

static void free_list(struct addrinfo *a) {
  while (a) {
    struct addrinfo *n = a->ai_next;
    free(a->ai_canonname);
    free(a);
    a = n;
  }
}

static struct addrinfo *entry(const struct endpoint *e, int port, int socktype) {
  struct addrinfo *a = calloc(1, sizeof *a + sizeof(struct sockaddr_in6));
  if (!a) return NULL;
  struct endpoint p = *e;
  p.port = (uint16_t)port;
  socklen_t len = sizeof(struct sockaddr_in6);
  a->ai_addr = (struct sockaddr *)(a + 1);
  endpoint_to_sockaddr(&p, a->ai_addr, &len);
  a->ai_addrlen = len;
  a->ai_family = e->family == 6 ? AF_INET6 : AF_INET;
  a->ai_socktype = socktype;
  a->ai_protocol = socktype == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
  return a;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
  real_init();
  int family = hints ? hints->ai_family : AF_UNSPEC;
  if (g_trace_kernel && node) { // trace-only: libc resolves, timed
    uint64_t t0 = trace_now();
    int rc = real.getaddrinfo(node, service, hints, res);
    trace_lookup(t0, rc, errno);
    return rc;
  }
  if (!g_enabled || !node || numeric(node) || (hints && (hints->ai_flags & AI_NUMERICHOST)) ||
      (family != AF_UNSPEC && family != AF_INET && family != AF_INET6))
    return real.getaddrinfo(node, service, hints, res);
  size_t n = strlen(node);
  if (n == 0 || n > 255) return EAI_NONAME;
  int port, rc = service_port(service, hints, &port);
  if (rc) return rc;
  uint8_t b[257];
  b[0] = family == AF_INET ? 4 : family == AF_INET6 ? 6 : 0;
  b[1] = (uint8_t)n;
  memcpy(b + 2, node, n);
  struct reply r;
  r.type = 0;
  pthread_mutex_lock(&g_lock);
  int ok = channel_call(FT_LOOKUP, 0, b, (uint32_t)(2 + n), &r);
  int err = errno;
  pthread_mutex_unlock(&g_lock);
  if (ok < 0) {
    if (r.type == FT_ERROR && wire_errno_name(r.payload[0]) && strcmp(wire_errno_name(r.payload[0]), "EAI_AGAIN") == 0) return EAI_AGAIN;
    if (r.type == FT_ERROR) return EAI_NONAME;
    errno = err;
    return EAI_SYSTEM;
  }
  if (r.type != FT_LOOKUP_OK || r.len < 1) return EAI_FAIL;
  int socktype = hints ? hints->ai_socktype : 0;
  struct addrinfo *head = NULL, **tail = &head;
  uint32_t off = 1;
  for (unsigned i = 0; i < r.payload[0]; i++) {
    struct endpoint e;
    size_t used = get_endpoint(r.payload + off, r.len - off, &e);
    if (!used) break;
    off += (uint32_t)used;
    int types[2] = { socktype ? socktype : SOCK_STREAM, socktype ? 0 : SOCK_DGRAM };
    for (int t = 0; t < 2 && types[t]; t++) {
      struct addrinfo *a = entry(&e, port, types[t]);
      if (!a) { free_list(head); return EAI_MEMORY; }
      *tail = a;
      tail = &a->ai_next;
    }
  }
  if (!head) return EAI_NONAME;
  if (hints && (hints->ai_flags & AI_CANONNAME)) head->ai_canonname = strdup(node);
  pthread_mutex_lock(&own_lock);
  int slot = -1;
  for (int i = 0; i < MAX_OWN_LISTS && slot < 0; i++) if (!own[i]) slot = i;
  if (slot >= 0) own[slot] = head;
  pthread_mutex_unlock(&own_lock);
  if (slot < 0) { free_list(head); return EAI_MEMORY; } // too many lists not freed: refuse, never grow
  *res = head;
  return 0;
}

void freeaddrinfo(struct addrinfo *a) {
  real_init();
  pthread_mutex_lock(&own_lock);
  int mine = 0;
  for (int i = 0; i < MAX_OWN_LISTS && a; i++) if (own[i] == a) { own[i] = NULL; mine = 1; break; }
  pthread_mutex_unlock(&own_lock);
  if (mine) free_list(a);
  else if (a) real.freeaddrinfo(a);
}
