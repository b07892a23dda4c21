// Wire protocol v1 encoding and checks (protocol/README.md): big-endian integers, endpoints, the errno
// table, and the length rules of every frame the host may send. Everything read from a frame is checked
// against the bytes present before it is used.
#include "interposer.h"
#include <errno.h>
#include <string.h>

void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
void put_u32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
uint16_t get_u16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
uint32_t get_u32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

size_t endpoint_size(const struct endpoint *e) { return e->family == 6 ? 19 : 7; }

size_t put_endpoint(uint8_t *p, const struct endpoint *e) {
  p[0] = e->family;
  put_u16(p + 1, e->port);
  memcpy(p + 3, e->addr, e->family == 6 ? 16 : 4);
  return endpoint_size(e);
}

size_t get_endpoint(const uint8_t *p, size_t n, struct endpoint *e) {
  if (n < 1) return 0;
  size_t need = p[0] == 4 ? 7 : p[0] == 6 ? 19 : 0;
  if (need == 0 || n < need) return 0;
  memset(e, 0, sizeof *e);
  e->family = p[0];
  e->port = get_u16(p + 1);
  memcpy(e->addr, p + 3, need - 3);
  return need;
}

int sockaddr_to_endpoint(const struct sockaddr *sa, socklen_t len, struct endpoint *e) {
  memset(e, 0, sizeof *e);
  if (sa == NULL || len < (socklen_t)sizeof(sa_family_t)) return -1;
  if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    e->family = 4;
    e->port = ntohs(in->sin_port);
    memcpy(e->addr, &in->sin_addr, 4);
    return 0;
  }
  if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    e->family = 6;
    e->port = ntohs(in6->sin6_port);
    memcpy(e->addr, &in6->sin6_addr, 16);
    return 0;
  }
  return -1;
}

void endpoint_to_sockaddr(const struct endpoint *e, struct sockaddr *sa, socklen_t *len) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t full;
  if (e->family == 6) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(e->port);
    memcpy(&in6->sin6_addr, e->addr, 16);
    full = sizeof *in6;
  } else {
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons(e->port);
    memcpy(&in->sin_addr, e->addr, 4);
    full = sizeof *in;
  }
  if (sa != NULL && len != NULL) memcpy(sa, &ss, *len < full ? *len : full);
  if (len != NULL) *len = full;
}

/** protocol/errno.ts ERRNO_NAMES, in order (append-only there, so append here too). */
static const struct { const char *name; int value; } ERRNOS[] = {
  {"EPERM", EPERM}, {"ENOENT", ENOENT}, {"EINTR", EINTR}, {"EIO", EIO}, {"EBADF", EBADF}, {"EAGAIN", EAGAIN},
  {"ENOMEM", ENOMEM}, {"EACCES", EACCES}, {"EFAULT", EFAULT}, {"EBUSY", EBUSY}, {"EEXIST", EEXIST},
  {"EINVAL", EINVAL}, {"ENFILE", ENFILE}, {"EMFILE", EMFILE}, {"ENOSPC", ENOSPC}, {"EPIPE", EPIPE},
  {"ENOSYS", ENOSYS}, {"ENOTSOCK", ENOTSOCK}, {"EDESTADDRREQ", EDESTADDRREQ}, {"EMSGSIZE", EMSGSIZE},
  {"EPROTOTYPE", EPROTOTYPE}, {"ENOPROTOOPT", ENOPROTOOPT}, {"EPROTONOSUPPORT", EPROTONOSUPPORT},
  {"EOPNOTSUPP", EOPNOTSUPP}, {"EAFNOSUPPORT", EAFNOSUPPORT}, {"EADDRINUSE", EADDRINUSE},
  {"EADDRNOTAVAIL", EADDRNOTAVAIL}, {"ENETDOWN", ENETDOWN}, {"ENETUNREACH", ENETUNREACH},
  {"ENETRESET", ENETRESET}, {"ECONNABORTED", ECONNABORTED}, {"ECONNRESET", ECONNRESET}, {"ENOBUFS", ENOBUFS},
  {"EISCONN", EISCONN}, {"ENOTCONN", ENOTCONN}, {"ESHUTDOWN", ESHUTDOWN}, {"ETIMEDOUT", ETIMEDOUT},
  {"ECONNREFUSED", ECONNREFUSED}, {"EHOSTDOWN", EHOSTDOWN}, {"EHOSTUNREACH", EHOSTUNREACH},
  {"EALREADY", EALREADY}, {"EINPROGRESS", EINPROGRESS},
  {"ENOTFOUND", ENOENT}, /* a name lookup's failure: getaddrinfo maps it to EAI_NONAME */
  {"EAI_AGAIN", EAGAIN}, {"EPROTO", EPROTO}, {"ECANCELED", ECANCELED},
};
#define N_ERRNOS (sizeof ERRNOS / sizeof ERRNOS[0])

int wire_errno(uint8_t code) { return code < N_ERRNOS ? ERRNOS[code].value : EIO; }
const char *wire_errno_name(uint8_t code) { return code < N_ERRNOS ? ERRNOS[code].name : NULL; }

/** `name` field (u8 n + n bytes) ending exactly at the payload's end, starting at `off`. */
static int name_fills(const uint8_t *p, uint32_t len, uint32_t off) { return off < len && off + 1u + p[off] == len; }

int check_host_frame(const uint8_t *h, uint32_t max_payload) {
  uint8_t type = h[0];
  uint32_t len = get_u32(h + 12);
  if (h[1] != 0 || h[2] != 0 || h[3] != 0 || len > max_payload) return -1;
  switch (type) {
  case FT_OK: case FT_CREDIT: return len == 4 ? 0 : -1;
  case FT_ERROR: case FT_SOCKET_ERROR: return len >= 2 && len <= 257 ? 0 : -1;
  case FT_HELLO_OK: return len == 22 ? 0 : -1;
  case FT_CLOCK_OK: return len == 16 ? 0 : -1;
  case FT_ADDRESS: return len == 7 || len == 19 ? 0 : -1;
  case FT_LOOKUP_OK: return len >= 1 && len <= 1217 ? 0 : -1;
  case FT_DATA: return 0;
  case FT_DATAGRAM: return len >= 7 ? 0 : -1;
  case FT_ACCEPTED: return len >= 18 && len <= 42 ? 0 : -1;
  case FT_PEER_CLOSED: case FT_CLOSED: return len == 0 ? 0 : -1;
  case FT_GOODBYE: return len >= 1 && len <= 256 ? 0 : -1;
  default: return -1;
  }
}

/** Checks the fields inside a reply's payload (called with the whole payload present). */

int check_reply_payload(uint8_t type, const uint8_t *p, uint32_t len) {
  struct endpoint e;
  switch (type) {
  case FT_ERROR: case FT_SOCKET_ERROR: return p[0] < N_ERRNOS && name_fills(p, len, 1) ? 0 : -1;
  case FT_GOODBYE: return name_fills(p, len, 0) ? 0 : -1;
  case FT_ADDRESS: return get_endpoint(p, len, &e) == len ? 0 : -1;
  case FT_LOOKUP_OK: {
    uint32_t off = 1;
    if (p[0] > 64) return -1;
    for (unsigned i = 0; i < p[0]; i++) {
      size_t n = get_endpoint(p + off, len - off, &e);
      if (n == 0) return -1;
      off += (uint32_t)n;
    }
    return off == len ? 0 : -1;
  }
  case FT_ACCEPTED: {
    struct endpoint r, l;
    size_t a = get_endpoint(p + 4, len - 4, &r);
    if (a == 0) return -1;
    size_t b = get_endpoint(p + 4 + a, len - 4 - a, &l);
    return b != 0 && 4 + a + b == len ? 0 : -1;
  }
  default: return 0;
  }
}
