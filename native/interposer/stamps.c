// Delegated tracing (LINSOCK_TRACE_STAMPS=1 and the daemon accepted the stamps capability in helloOk): the
// interposer's guest stage stamps, batched into `stamps` frames (wire type 0x1d, protocol/README.md) that
// ride the channel with the other frames, so that tracing costs no round trip. linsockd joins them by id
// with its own host stages (daemon/trace/call-trace.ts), as it does for the Node guest runtime
// (guest/stamp-batch.ts). What each entry's four times mean here:
//   a request (channel_call): enter = the call reached the channel, channel out = its frame was handed to
//     the channel socket, reply in = the pump decoded the reply, return = the waiting thread woke with it;
//   a pump send frame (pipelined, no reply): enter = the pump began reading the application's bytes from
//     the socketpair, channel out = the frame was queued; return 0 (the application's own write went into
//     the socketpair natively and is not seen here, so the record counts no application call: calls 0);
//   pushed data: enter = channel out = 0, reply in = the pump read the frame, return = its bytes went into
//     the socketpair (or waited in the socket's buffer for room).
#include "interposer.h"
#include <stdlib.h>
#include <string.h>

int g_stamps_on;
#define STAMP_ENTRY 36
/** Entries per stamps frame (the wire allows 4096); a full batch leaves at once. */
#define STAMP_BATCH 256
/** A batch leaves with the next channel activity once its oldest entry waited this long. */
#define STAMP_FLUSH_NS 5000000ull

static uint8_t batch[2 + STAMP_BATCH * STAMP_ENTRY];
static unsigned entries;
static uint64_t oldest;

static void put_u64(uint8_t *p, uint64_t v) {
  v &= 0x1FFFFFFFFFFFFFull; // the wire's u64 times are exact JS numbers (< 2^53)
  put_u32(p, (uint32_t)(v >> 32));
  put_u32(p + 4, (uint32_t)v);
}

void stamps_flush(int force) {
  if (!g_stamps_on || entries == 0) return;
  if (!force && entries < STAMP_BATCH && trace_now() - oldest < STAMP_FLUSH_NS) return;
  put_u16(batch, (uint16_t)entries);
  if (channel_queue(FT_STAMPS, 0, channel_next_id(), 0, batch, 2 + entries * STAMP_ENTRY) < 0) return; // channel gone: kept for no one
  entries = 0;
}

void stamp_add(uint32_t id, uint64_t enter, uint64_t out, uint64_t in, uint64_t ret) {
  if (!g_stamps_on) return;
  if (entries == STAMP_BATCH) stamps_flush(1);
  if (entries == STAMP_BATCH) return; // the channel did not take the batch: this entry is lost, the host stages stay
  uint8_t *p = batch + 2 + entries * STAMP_ENTRY;
  put_u32(p, id);
  put_u64(p + 4, enter);
  put_u64(p + 12, out);
  put_u64(p + 20, in);
  put_u64(p + 28, ret);
  if (entries++ == 0) oldest = ret ? ret : in ? in : out;
  if (entries == STAMP_BATCH) stamps_flush(1);
}

void stamps_after_fork_child(void) { entries = 0; g_stamps_on = 0; }
