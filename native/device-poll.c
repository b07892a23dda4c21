/* linsock_devpoll: a character device (a virtio-serial port inside a VM) read and written from libuv's
 * event loop instead of its thread pool. A port's read returns at most one port buffer (about a page), so
 * a blocking read per thread-pool hand-off capped the guest's inbound rate and added a hand-off to every
 * round trip. Here the fd is non-blocking and watched with uv_poll_t: when it is readable we read until
 * EAGAIN (or a bounded batch) and hand JavaScript one Buffer; writes are plain non-blocking writev calls
 * and, when the device is full, the watcher also waits for it to become writable.
 *
 * Every call returns -errno (a number) on failure; the TypeScript wrapper (device-poll.ts) words it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

/* The most one readable event hands to JavaScript: more waits for the next turn of the loop (the poll is
 * level-triggered), so a fast sender cannot starve the loop or grow one Buffer without bound. */
#define READ_BATCH ((size_t)256 * 1024)
/* Buffers one writev takes; the wrapper writes the rest after. */
#define MAX_IOV 64

/* What the callback's first argument says. */
enum { EVENT_DATA = 1, EVENT_END = 2, EVENT_WRITABLE = 3, EVENT_ERROR = 4 };

static napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static int arg_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  int fd;
  int closed;
  int events; /* what the poll waits for now */
  char *buffer; /* READ_BATCH bytes */
} watcher_t;

static void watcher_closed(uv_handle_t *h) {
  watcher_t *w = (watcher_t *)h->data;
  close(w->fd);
  free(w->buffer);
  free(w);
}

static void call(watcher_t *w, int event, napi_value payload) {
  napi_value cb, global, argv[2], result;
  napi_get_reference_value(w->env, w->callback, &cb);
  napi_get_global(w->env, &global);
  argv[0] = num(w->env, event);
  argv[1] = payload;
  napi_make_callback(w->env, w->async, global, cb, 2, argv, &result);
}

/* Stops watching for good: after an end or an error nothing more is read (the wrapper closes). */
static void stop(watcher_t *w) {
  w->events = 0;
  uv_poll_stop(&w->poll);
}

static void on_event(uv_poll_t *p, int status, int events) {
  watcher_t *w = (watcher_t *)p->data;
  if (w->closed) return;
  napi_handle_scope scope;
  napi_open_handle_scope(w->env, &scope);
  if (status < 0) {
    stop(w);
    call(w, EVENT_ERROR, num(w->env, status));
    napi_close_handle_scope(w->env, scope);
    return;
  }
  if (events & (UV_READABLE | UV_DISCONNECT)) {
    size_t got = 0;
    int end = 0, error = 0;
    while (got < READ_BATCH) {
      ssize_t n = read(w->fd, w->buffer + got, READ_BATCH - got);
      if (n > 0) {
        got += (size_t)n;
        continue;
      }
      if (n == 0) end = 1; /* a virtio-serial port whose host side closed */
      else if (errno == EINTR) continue;
      else if (errno != EAGAIN) error = errno;
      break;
    }
    if (got > 0) {
      napi_value chunk;
      void *copy;
      if (napi_create_buffer_copy(w->env, got, w->buffer, &copy, &chunk) == napi_ok) call(w, EVENT_DATA, chunk);
    }
    /* The data callback may have closed the watcher (a frame the channel refused). */
    if (!w->closed && (end || error)) {
      stop(w);
      call(w, end ? EVENT_END : EVENT_ERROR, num(w->env, end ? 0 : -error));
    }
  }
  if (!w->closed && (events & UV_WRITABLE) && (w->events & UV_WRITABLE)) call(w, EVENT_WRITABLE, num(w->env, 0));
  napi_close_handle_scope(w->env, scope);
}

static void free_handle(napi_env env, void *data, void *hint) {
  /* The JS handle object was collected; the watcher itself is freed by unwatch (uv_close). */
}

/* watch(fd, callback(event, payload)) -> handle or -errno: calls back from the event loop with data
 * (payload: a Buffer), the end (0) or an error (-errno). The watcher owns fd from here: unwatch closes it,
 * after libuv has let go of it, so the number is never reused under a poll. */
static napi_value watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || !arg_int(env, argv[0], &fd) || fd < 0 ||
      napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "watch(fd, callback)");
    return NULL;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return num(env, -errno);
  if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return num(env, -errno);
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return num(env, -EINVAL);
  watcher_t *w = calloc(1, sizeof *w);
  char *buffer = malloc(READ_BATCH);
  if (!w || !buffer) {
    free(w);
    free(buffer);
    return num(env, -ENOMEM);
  }
  w->env = env;
  w->fd = fd;
  w->buffer = buffer;
  int r = uv_poll_init(loop, &w->poll, fd);
  if (r != 0) {
    free(buffer);
    free(w);
    return num(env, r);
  }
  w->poll.data = w;
  napi_value name;
  napi_create_string_utf8(env, "linsock:device", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &w->async);
  napi_create_reference(env, argv[1], 1, &w->callback);
  w->events = UV_READABLE | UV_DISCONNECT;
  uv_poll_start(&w->poll, w->events, on_event);
  napi_value handle;
  napi_create_external(env, w, free_handle, NULL, &handle);
  return handle;
}

static watcher_t *get_watcher(napi_env env, napi_callback_info info, napi_value *extra) {
  size_t argc = 2;
  napi_value argv[2];
  void *w = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_external(env, argv[0], &w) != napi_ok)
    return NULL;
  if (extra) *extra = argc > 1 ? argv[1] : NULL;
  return (watcher_t *)w;
}

/* write(handle, [buffers]) -> bytes written (possibly fewer than given) or -errno (EAGAIN: the device
 * is full; wantWritable says when to try again). At most MAX_IOV buffers are tried. */
static napi_value write_device(napi_env env, napi_callback_info info) {
  napi_value list;
  watcher_t *w = get_watcher(env, info, &list);
  bool is_array = false;
  uint32_t n = 0;
  if (!w || !list || napi_is_array(env, list, &is_array) != napi_ok || !is_array || napi_get_array_length(env, list, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "write(handle, buffers)");
    return NULL;
  }
  if (w->closed) return num(env, -EBADF);
  if (n > MAX_IOV) n = MAX_IOV;
  struct iovec iov[MAX_IOV];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    void *data = NULL;
    size_t len = 0;
    bool typed = false;
    if (napi_get_element(env, list, i, &v) != napi_ok || napi_is_typedarray(env, v, &typed) != napi_ok || !typed) {
      napi_throw_type_error(env, NULL, "write: buffers must be Uint8Arrays");
      return NULL;
    }
    napi_typedarray_type type;
    napi_value ab;
    size_t offset;
    if (napi_get_typedarray_info(env, v, &type, &len, &data, &ab, &offset) != napi_ok || type != napi_uint8_array) {
      napi_throw_type_error(env, NULL, "write: buffers must be Uint8Arrays");
      return NULL;
    }
    iov[i].iov_base = data;
    iov[i].iov_len = len;
  }
  ssize_t written;
  do written = writev(w->fd, iov, (int)n);
  while (written < 0 && errno == EINTR);
  return num(env, written >= 0 ? (double)written : -errno);
}

/* wantWritable(handle, want): whether the poll also waits for room to write. */
static napi_value want_writable(napi_env env, napi_callback_info info) {
  napi_value arg;
  watcher_t *w = get_watcher(env, info, &arg);
  bool want = false;
  if (!w || !arg || napi_get_value_bool(env, arg, &want) != napi_ok) {
    napi_throw_type_error(env, NULL, "wantWritable(handle, want)");
    return NULL;
  }
  if (w->closed || w->events == 0) return NULL;
  int events = want ? (w->events | UV_WRITABLE) : (w->events & ~UV_WRITABLE);
  if (events != w->events) {
    w->events = events;
    uv_poll_start(&w->poll, events, on_event);
  }
  return NULL;
}

/* unwatch(handle): stops watching and closes the fd once libuv has let go of it; idempotent. */
static napi_value unwatch(napi_env env, napi_callback_info info) {
  watcher_t *w = get_watcher(env, info, NULL);
  if (!w) {
    napi_throw_type_error(env, NULL, "unwatch(handle)");
    return NULL;
  }
  if (!w->closed) {
    w->closed = 1;
    napi_delete_reference(env, w->callback);
    napi_async_destroy(env, w->async);
    uv_close((uv_handle_t *)&w->poll, watcher_closed);
  }
  return NULL;
}

/* refWatch(handle, ref): whether the watcher keeps the process alive (as a socket's ref/unref). */
static napi_value ref_watch(napi_env env, napi_callback_info info) {
  napi_value arg;
  watcher_t *w = get_watcher(env, info, &arg);
  bool ref = true;
  if (!w || !arg || napi_get_value_bool(env, arg, &ref) != napi_ok) {
    napi_throw_type_error(env, NULL, "refWatch(handle, ref)");
    return NULL;
  }
  if (!w->closed) {
    if (ref) uv_ref((uv_handle_t *)&w->poll);
    else uv_unref((uv_handle_t *)&w->poll);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "watch", NULL, watch, NULL, NULL, NULL, napi_default, NULL },
    { "write", NULL, write_device, NULL, NULL, NULL, napi_default, NULL },
    { "wantWritable", NULL, want_writable, NULL, NULL, NULL, napi_default, NULL },
    { "unwatch", NULL, unwatch, NULL, NULL, NULL, napi_default, NULL },
    { "refWatch", NULL, ref_watch, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
