// linsock_tap: opens TAP devices in a given network namespace, reads frame batches on the event loop,
// each frame stamped with the clock right after its own read(2), and writes one frame per write(2). Node cannot ioctl(TUNSETIFF); fs.read on the fd costs a threadpool
// round trip per frame, and net.Socket merges writes into one writev that the TAP takes as one frame.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <node_api.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define VNET_HDR_LEN 10 /* struct virtio_net_hdr, no mergeable buffers */
#define MAX_FRAME (65536 + VNET_HDR_LEN + 14)
#define BATCH_MAX 256 /* frames per callback: keeps one busy TAP from starving the loop */

#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) {                          \
      napi_throw_error(env, NULL, #call " failed");  \
      return NULL;                                    \
    }                                                 \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, text, error;
  napi_create_int32(env, err, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, NULL, text, &error);
  napi_set_named_property(env, error, "errno", code);
  napi_throw(env, error);
  return NULL;
}

static int get_flag(napi_env env, napi_value obj, const char *key) {
  bool has = false, value = false;
  napi_value v;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return 0;
  if (napi_get_value_bool(env, v, &value) != napi_ok) return 0;
  return value;
}

/* Opens /dev/net/tun and attaches it to TAP `name` inside `ns_path` (or the current namespace when
 * empty). The TAP's namespace is the one the opener is in, and TUNSETIFF looks the name up there, so
 * this thread enters the namespace for just these two calls and returns. */
static int open_tap(const char *name, const char *ns_path, int vnet, int offload, char *out_name, int *err_out) {
  int saved = -1, target = -1, fd = -1, err = 0;
  if (ns_path[0]) {
    saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved < 0) { *err_out = errno; return -1; }
    target = open(ns_path, O_RDONLY | O_CLOEXEC);
    if (target < 0 || setns(target, CLONE_NEWNET) < 0) {
      err = errno;
      if (target >= 0) close(target);
      close(saved);
      *err_out = err;
      return -1;
    }
    close(target);
  }
  fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) err = errno;
  if (fd >= 0) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
      err = errno;
    } else {
      snprintf(out_name, IFNAMSIZ, "%.*s", IFNAMSIZ - 1, ifr.ifr_name);
      int hdr = VNET_HDR_LEN;
      if (vnet && ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) err = errno;
      unsigned long offloads = offload ? (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) : 0;
      if (!err && ioctl(fd, TUNSETOFFLOAD, offloads) < 0) err = errno;
    }
    if (err) { close(fd); fd = -1; }
  }
  if (saved >= 0) {
    /* Staying in the guest's namespace would silently move every later socket of this thread. */
    if (setns(saved, CLONE_NEWNET) < 0) napi_fatal_error("linsock_tap", NAPI_AUTO_LENGTH, "cannot return to the original network namespace", NAPI_AUTO_LENGTH);
    close(saved);
  }
  *err_out = err;
  return fd;
}

/* open(name, nsPath, { vnetHdr, offload }) -> { fd, name } */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result, v;
  char name[IFNAMSIZ + 1] = {0}, out_name[IFNAMSIZ] = {0}, ns_path[4096] = {0};
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) { napi_throw_type_error(env, NULL, "open(name, nsPath, flags) takes 3 arguments"); return NULL; }
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) { napi_throw_type_error(env, NULL, "name must be a string"); return NULL; }
  if (len >= IFNAMSIZ) { napi_throw_range_error(env, NULL, "TAP name must be at most 15 bytes"); return NULL; }
  if (napi_get_value_string_utf8(env, argv[1], ns_path, sizeof ns_path, &len) != napi_ok) { napi_throw_type_error(env, NULL, "nsPath must be a string ('' for this namespace)"); return NULL; }
  int err = 0;
  int fd = open_tap(name, ns_path, get_flag(env, argv[2], "vnetHdr"), get_flag(env, argv[2], "offload"), out_name, &err);
  if (fd < 0) return throw_errno(env, "opening TAP", err);
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_int32(env, fd, &v));
  CHECK(napi_set_named_property(env, result, "fd", v));
  CHECK(napi_create_string_utf8(env, out_name, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, result, "name", v));
  return result;
}

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  int fd;
  int stopped;
} Reader;

static unsigned char frame_buf[MAX_FRAME];
static double frame_t_in[BATCH_MAX];

/* CLOCK_MONOTONIC in ns, the clock of uv_hrtime() and process.hrtime(), which stamp the calls. */
static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void reader_closed(uv_handle_t *h) { free(h->data); }

static void reader_stop(Reader *r) {
  if (r->stopped) return;
  r->stopped = 1;
  uv_poll_stop(&r->poll);
  napi_delete_reference(r->env, r->callback);
  napi_async_destroy(r->env, r->async);
  uv_close((uv_handle_t *)&r->poll, reader_closed);
}

/* Reads until EAGAIN (or BATCH_MAX frames) and calls back once: callback(frames, tInNs, errno), tInNs a
 * Float64Array with each frame's own time. One stamp per batch, taken before the first read, would give
 * every frame that the guest queued while the batch was being read a time before it was sent. */
static void on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  Reader *r = h->data;
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value frames, cb, recv, args[3];
  napi_create_array(env, &frames);
  uint32_t n = 0;
  int err = status < 0 ? EIO : 0;
  while (!err && n < BATCH_MAX) {
    ssize_t got = read(r->fd, frame_buf, sizeof frame_buf);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) err = errno;
      break;
    }
    frame_t_in[n] = now_ns();
    napi_value b;
    void *data;
    napi_create_buffer_copy(env, (size_t)got, frame_buf, &data, &b);
    napi_set_element(env, frames, n++, b);
  }
  napi_value times_buf;
  void *times;
  napi_create_arraybuffer(env, n * sizeof(double), &times, &times_buf);
  if (n) memcpy(times, frame_t_in, n * sizeof(double));
  napi_create_typedarray(env, napi_float64_array, n, times_buf, 0, &args[1]);
  napi_create_int32(env, err, &args[2]);
  args[0] = frames;
  if (n > 0 || err) {
    napi_value ignored;
    napi_get_reference_value(env, r->callback, &cb);
    napi_get_global(env, &recv); /* make_callback needs an object receiver */
    /* make_callback runs microtasks after the call, as any I/O callback does. */
    if (napi_make_callback(env, r->async, recv, cb, 3, args, &ignored) == napi_pending_exception) {
      napi_value ex;
      napi_get_and_clear_last_exception(env, &ex);
      napi_fatal_exception(env, ex);
    }
  }
  if (err) reader_stop(r); /* the callback heard the errno once; the device is gone or broken */
  napi_close_handle_scope(env, scope);
}

/* startReading(fd, callback) -> reader handle (pass to stopReading) */
static napi_value js_start_reading(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], handle, name;
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) { napi_throw_type_error(env, NULL, "startReading(fd, callback)"); return NULL; }
  Reader *r = calloc(1, sizeof *r);
  if (!r) return throw_errno(env, "startReading", ENOMEM);
  r->env = env;
  r->fd = fd;
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  CHECK(napi_create_reference(env, argv[1], 1, &r->callback));
  CHECK(napi_create_string_utf8(env, "linsock_tap.read", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &r->async));
  int rc = uv_poll_init(loop, &r->poll, fd);
  if (rc < 0) { free(r); return throw_errno(env, "uv_poll_init", -rc); }
  r->poll.data = r;
  uv_poll_start(&r->poll, UV_READABLE, on_readable);
  CHECK(napi_create_external(env, r, NULL, NULL, &handle));
  return handle;
}

static napi_value js_stop_reading(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *r;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_external(env, argv[0], &r) != napi_ok) { napi_throw_type_error(env, NULL, "stopReading(reader)"); return NULL; }
  reader_stop(r);
  return NULL;
}

/* writeFrames(fd, frames[], errnos?) -> frames written; one write(2) per frame, because a TAP takes each
 * write as one frame. Stops at the first EAGAIN (a full device queue drops, as a NIC would); skips frames
 * the device refuses; throws on other errors. With `errnos` (an Int32Array at least as long as frames),
 * errnos[i] is 0 for a frame written, else the errno that dropped it (EAGAIN for all from the first). */
static napi_value js_write_frames(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  int32_t fd;
  uint32_t count, written = 0;
  int32_t *status = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_array_length(env, argv[1], &count) != napi_ok) {
    napi_throw_type_error(env, NULL, "writeFrames(fd, frames[], errnos?)");
    return NULL;
  }
  if (argc >= 3) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[2], &t));
    if (t != napi_undefined) {
      napi_typedarray_type type;
      size_t length;
      void *data;
      bool is_typed = false;
      napi_is_typedarray(env, argv[2], &is_typed);
      if (!is_typed || napi_get_typedarray_info(env, argv[2], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_int32_array || length < count) {
        napi_throw_type_error(env, NULL, "writeFrames: errnos must be an Int32Array at least as long as frames");
        return NULL;
      }
      status = data;
    }
  }
  uint32_t i = 0;
  for (; i < count; i++) {
    napi_value b;
    void *data;
    size_t len;
    CHECK(napi_get_element(env, argv[1], i, &b));
    if (napi_get_buffer_info(env, b, &data, &len) != napi_ok) { napi_throw_type_error(env, NULL, "frames must be Buffers"); return NULL; }
    ssize_t n;
    do n = write(fd, data, len); while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN) break;
      /* EINVAL/EIO for a frame the device refuses (too long, bad vnet header): drop it, keep the rest. */
      if (errno == EINVAL || errno == EIO || errno == EMSGSIZE) {
        if (status) status[i] = errno;
        continue;
      }
      return throw_errno(env, "writing a frame to TAP", errno);
    }
    if (status) status[i] = 0;
    written++;
  }
  if (status)
    for (; i < count; i++) status[i] = EAGAIN;
  CHECK(napi_create_uint32(env, written, &result));
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) { napi_throw_type_error(env, NULL, "close(fd)"); return NULL; }
  if (close(fd) < 0) return throw_errno(env, "closing TAP", errno);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL },
    { "startReading", NULL, js_start_reading, NULL, NULL, NULL, napi_enumerable, NULL },
    { "stopReading", NULL, js_stop_reading, NULL, NULL, NULL, napi_enumerable, NULL },
    { "writeFrames", NULL, js_write_frames, NULL, NULL, NULL, napi_enumerable, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_value max;
  napi_create_uint32(env, MAX_FRAME, &max);
  napi_set_named_property(env, exports, "MAX_FRAME", max);
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
