// At exit: what the application wrote must still leave. Its last bytes may wait in a socketpair, in the
// channel's queue, or in the daemon (not yet taken by the host kernel); the process ending would lose them
// all (the daemon destroys every socket of a closed channel). So exit waits, bounded, until every open
// socket's socketpair and the queue are empty and its whole send credit is back (the daemon returns credit
// once the kernel took the bytes), then closes each socket as close(2) would and waits for one reply.
#include "interposer.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>

/** At most this long: a peer that stopped reading must not keep the process from ending. */
#define EXIT_DRAIN_MS 10000

static uint64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/** Whether a socket's sent data all reached the host kernel; sockets whose peer ended are done. */
static int settled(const struct lsock *s) {
  if (s->pump_fd < 0 || !s->handle || s->peer_closed || s->app_eof || s->udp_failed) return 1;
  if (!s->udp && s->state != S_CONNECTED) return 1;
  int unread = 0;
  if (ioctl(s->pump_fd, FIONREAD, &unread) == 0 && unread > 0) return 0;
  return s->send_credit >= g_init_credit;
}

static int all_settled(void) {
  if (g_outq_len > 0) return 0;
  for (struct lsock *s = g_socks; s; s = s->next)
    if (!settled(s)) return 0;
  return 1;
}

static void drain_at_exit(void) {
  if (!g_enabled) return;
  pthread_mutex_lock(&g_lock);
  uint64_t deadline = now_ms() + EXIT_DRAIN_MS;
  while (g_chan_fd >= 0 && !g_chan_dead && !all_settled() && now_ms() < deadline) {
    channel_wake(); // the pump moves the data while we wait
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += 2 * 1000000;
    if (t.tv_nsec >= 1000000000) { t.tv_sec++; t.tv_nsec -= 1000000000; }
    pthread_cond_timedwait(&g_cond, &g_lock, &t);
  }
  if (g_chan_fd < 0 || g_chan_dead) { pthread_mutex_unlock(&g_lock); return; }
  for (struct lsock *s = g_socks; s; s = s->next) {
    if (!s->handle) continue;
    channel_queue(FT_CLOSE, 0, channel_next_id(), s->handle, NULL, 0); // graceful, unlike a channel's end
    s->handle = 0;
  }
  stamps_flush(1); // the last guest stamps leave before the round trip below
  // One round trip: the daemon answers `clock` after it took every frame before it. Leaving earlier, its
  // next write to the gone channel could fail before it read our last frames, and they would be lost.
  uint8_t b[8];
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  uint64_t ns = ((uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec) & 0x1FFFFFFFFFFFFFull;
  put_u32(b, (uint32_t)(ns >> 32));
  put_u32(b + 4, (uint32_t)ns);
  struct reply r;
  channel_call(FT_CLOCK, 0, b, 8, &r);
  pthread_mutex_unlock(&g_lock); // the pump may run on until the process is gone: nothing is left for it
}

__attribute__((constructor)) static void register_drain(void) { atexit(drain_at_exit); }
