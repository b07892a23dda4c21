// A delegated UDP socket, the pump's side: each datagram the application wrote (DGRAM_HDR + data) leaves
// as one `sendto` (or, to the connected peer, `sendmsg` of one buffer) frame with noReply, within the send credit the
// daemon returns once the kernel took it; each pushed `datagram` enters the socketpair as one datagram
// behind its source's header, or is dropped when the socketpair is full, as a full socket buffer would.
#include "interposer.h"
#include <errno.h>
#include <string.h>

/** Stop reading the application's data while this much waits for the channel (as pump.c). */
#define OUTQ_HIGH (1024u * 1024u)

/** A sendmsg payload's bytes before its one buffer: endpoint? none (1) · u16 count (2) · u32 length (4). */
#define SENDMSG_ONE_BUFFER 7

uint8_t *channel_send_slot(size_t n);
void channel_commit(size_t n);

/** Reads and forgets the next datagram (malformed: the application wrote past our send hooks). */
static void discard(struct lsock *s) {
  uint8_t b[DGRAM_HDR];
  ssize_t n = recv(s->pump_fd, b, sizeof b, MSG_DONTWAIT);
  (void)n;
}

void udp_take(struct lsock *s) {
  while (g_outq_len < OUTQ_HIGH && !s->app_eof) {
    // Its size first: it leaves whole or waits for credit.
    ssize_t size = recv(s->pump_fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    if (size < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) s->app_eof = 1;
      return;
    }
    if (size == 0) { s->app_eof = 1; return; } // a SOCK_SEQPACKET end of file: the application closed
    if (size < DGRAM_HDR || size - DGRAM_HDR > MAX_DATAGRAM) { discard(s); continue; }
    uint32_t data = (uint32_t)(size - DGRAM_HDR);
    if (data > s->send_credit) { s->udp_need = data; return; }
    uint8_t *f = channel_send_slot((size_t)size);
    if (!f) return;
    uint8_t *hdr = f + HDR;
    ssize_t r = recv(s->pump_fd, hdr, (size_t)size, MSG_DONTWAIT);
    if (r != size) {
      if (r < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) s->app_eof = 1;
      if (r < 0) return;
      continue; // it changed under us: dropped
    }
    size_t ep = hdr[0] == 4 ? 7 : hdr[0] == 6 ? 19 : 0;
    if (hdr[0] != 0 && ep == 0) continue;
    uint8_t type = FT_SENDTO;
    if (ep) {
      // The wire's endpoint is the header's first 7 or 19 bytes: the data moves up to follow it.
      memmove(hdr + ep, hdr + DGRAM_HDR, data);
    } else {
      // To the connected peer: `sendmsg` with no endpoint and one buffer, not `send`, whose frames the
      // daemon may take in pieces as they arrive -- each piece would leave as a datagram of its own.
      type = FT_SENDMSG;
      ep = SENDMSG_ONE_BUFFER;
      memmove(hdr + ep, hdr + DGRAM_HDR, data);
      hdr[0] = 0; // endpoint? none
      put_u16(hdr + 1, 1);
      put_u32(hdr + 3, data);
    }
    f[0] = type;
    f[1] = FLAG_NO_REPLY; f[2] = f[3] = 0;
    put_u32(f + 4, channel_next_id());
    put_u32(f + 8, s->handle);
    put_u32(f + 12, (uint32_t)(ep + data));
    channel_commit(HDR + ep + data);
    s->send_credit -= data;
    s->udp_need = 0;
  }
}

int udp_on_datagram(struct lsock *s, const uint8_t *p, uint32_t len) {
  struct endpoint src;
  size_t a = get_endpoint(p, len, &src);
  if (a == 0) return -1;
  uint32_t data = len - (uint32_t)a;
  if (s->push_outstanding + data > PUSH_WINDOW || s->push_outstanding + data < data) return -1;
  s->push_outstanding += data;
  s->credit_owed += data; // delivered or dropped, at once: the daemon may push the next one
  if (s->rx_shut || s->pump_fd < 0) return 0;
  uint8_t hdr[DGRAM_HDR];
  memset(hdr, 0, sizeof hdr);
  put_endpoint(hdr, &src);
  struct iovec iov[2] = { { hdr, sizeof hdr }, { (void *)(p + a), data } };
  struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
  ssize_t n;
  do n = real.sendmsg(s->pump_fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return 0; // EAGAIN: the socketpair is full and the datagram is dropped
}

void udp_on_error(struct lsock *s, int err) {
  s->so_error = err;
  s->udp_failed = 1;
  if (s->rx_shut || s->pump_fd < 0) return;
  uint8_t rec[DGRAM_HDR];
  memset(rec, 0, sizeof rec);
  rec[0] = DGRAM_ERROR;
  put_u16(rec + 1, (uint16_t)err);
  ssize_t n = send(s->pump_fd, rec, sizeof rec, MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)n; // a full socketpair: the error stays pending for the next send or SO_ERROR
}
