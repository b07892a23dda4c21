/* linsock_shm: the system calls of the shared-memory guest channel (protocol/shm-ring.ts holds its logic,
 * pure TypeScript). A guest makes a region (memfd) and a doorbell pair, maps the region, and passes the
 * region and the daemon's end of the doorbell to linsockd over a short side connection (SCM_RIGHTS); the
 * daemon checks what it received before mapping it. Both sides watch their doorbell from libuv's loop
 * (uv_poll_t), so nothing spins.
 *
 * Why the doorbell is an AF_UNIX datagram socketpair and not an eventfd: an eventfd's blocking flag lives
 * in the file description both processes share, so a guest could clear O_NONBLOCK and fill (or empty) the
 * counter, and the daemon's next write (or read) would block its whole event loop. On a socket every call
 * here says MSG_DONTWAIT, whatever the flags: a guest can only silence or flood its own doorbell.
 *
 * Every call returns -errno (a number) on failure; the TypeScript wrapper (shm-channel.ts) words it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

/* The largest region either side maps: a 4 KiB header and two rings of at most 64 MiB. */
#define MAX_REGION ((size_t)4096 + 2 * ((size_t)64 << 20))
/* What a side-connection message may carry: a small header and two descriptors. */
#define MAX_MESSAGE 512
#define MAX_FDS 2

static napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static int arg_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

static void unmap_region(napi_env env, void *data, void *hint) {
  munmap(data, (size_t)(uintptr_t)hint);
  int64_t adjusted;
  napi_adjust_external_memory(env, -(int64_t)(uintptr_t)hint, &adjusted);
}

/* Maps fd's whole size read/write and shared; the ArrayBuffer unmaps it when collected, so no view of
 * the region (a frame a host socket is still writing) can outlive the mapping. */
static napi_value map_shared(napi_env env, int fd, size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return num(env, -errno);
  napi_value ab;
  if (napi_create_external_arraybuffer(env, p, size, unmap_region, (void *)(uintptr_t)size, &ab) != napi_ok) {
    munmap(p, size);
    return num(env, -ENOMEM);
  }
  int64_t adjusted;
  napi_adjust_external_memory(env, (int64_t)size, &adjusted);
  return ab;
}

/* createRegion(bytes) -> [fd, ArrayBuffer]: a sealed memfd (it can neither shrink nor grow, so the peer's
 * mapping never faults) mapped here. */
static napi_value create_region(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t bytes = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !arg_int(env, argv[0], &bytes) ||
      bytes <= 0 || (size_t)bytes > MAX_REGION) {
    napi_throw_range_error(env, NULL, "createRegion(bytes): 1..MAX_REGION");
    return NULL;
  }
  int fd = memfd_create("linsock-channel", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return num(env, -errno);
  if (ftruncate(fd, bytes) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    int e = errno;
    close(fd);
    return num(env, -e);
  }
  napi_value ab = map_shared(env, fd, (size_t)bytes);
  napi_valuetype t;
  napi_typeof(env, ab, &t);
  if (t == napi_number) {
    close(fd);
    return ab;
  }
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, num(env, fd));
  napi_set_element(env, out, 1, ab);
  return out;
}

/* mapRegion(fd, maxBytes) -> ArrayBuffer: a region a peer made. It must be a memfd sealed against
 * shrinking (else the peer could truncate it under our mapping and every access would SIGBUS) and at
 * most maxBytes. The fd stays open; the caller closes it. */
static napi_value map_region(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1, max = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || !arg_int(env, argv[0], &fd) ||
      !arg_int(env, argv[1], &max) || fd < 0 || max <= 0) {
    napi_throw_type_error(env, NULL, "mapRegion(fd, maxBytes)");
    return NULL;
  }
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0) return num(env, -errno); /* EINVAL: not a memfd */
  if (!(seals & F_SEAL_SHRINK) || (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))) return num(env, -EPERM);
  struct stat st;
  if (fstat(fd, &st) != 0) return num(env, -errno);
  if (st.st_size <= 0 || (uint64_t)st.st_size > (uint64_t)max || (size_t)st.st_size > MAX_REGION) return num(env, -EFBIG);
  return map_shared(env, fd, (size_t)st.st_size);
}

/* doorbellPair() -> [mine, theirs]: a datagram socketpair, non-blocking and close-on-exec. */
static napi_value doorbell_pair(napi_env env, napi_callback_info info) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return num(env, -errno);
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, num(env, sv[0]));
  napi_set_element(env, out, 1, num(env, sv[1]));
  return out;
}

/* ring(fd) -> 0 or -errno: one byte to the peer's doorbell. EAGAIN (its queue is full) means it has
 * wake-ups waiting already and counts as rung. */
static napi_value ring(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !arg_int(env, argv[0], &fd)) {
    napi_throw_type_error(env, NULL, "ring(fd)");
    return NULL;
  }
  char b = 1;
  ssize_t n = send(fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  return num(env, n < 0 && errno != EAGAIN ? -errno : 0);
}

static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !arg_int(env, argv[0], &fd) || fd < 0) {
    napi_throw_type_error(env, NULL, "closeFd(fd)");
    return NULL;
  }
  return num(env, close(fd) == 0 ? 0 : -errno);
}

/* ---- doorbell watchers ---- */

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  int fd;
  int closed;
} watcher_t;

static void watcher_closed(uv_handle_t *h) {
  watcher_t *w = (watcher_t *)h->data;
  close(w->fd);
  free(w);
}

#define BELL_BATCH 16

/* Empties the doorbell and calls JS: the callback drains its ring, so one call serves any number of rings.
 * One recvmmsg takes every ring waiting (one, as a rule: a peer rings only a side that said it sleeps), so a
 * wake-up costs one system call, not a read and a read that finds nothing; at most 256 a turn, a flooding
 * peer just gets called again (the poll is level-triggered). A hang-up or error also calls it, once, with
 * true, and stops watching. */
static void on_readable(uv_poll_t *p, int status, int events) {
  watcher_t *w = (watcher_t *)p->data;
  if (w->closed) return;
  char bufs[BELL_BATCH][8];
  struct iovec iov[BELL_BATCH];
  struct mmsghdr msgs[BELL_BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BELL_BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = sizeof bufs[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int gone = status < 0 || (events & UV_DISCONNECT);
  for (int round = 0; round < 256 / BELL_BATCH && !gone; round++) {
    int n = recvmmsg(w->fd, msgs, BELL_BATCH, MSG_DONTWAIT, NULL);
    if (n == BELL_BATCH) continue;
    if (n >= 0) break;
    if (errno != EAGAIN && errno != EINTR) gone = 1;
    break;
  }
  napi_handle_scope scope;
  napi_open_handle_scope(w->env, &scope);
  napi_value cb, global, arg, result;
  napi_get_reference_value(w->env, w->callback, &cb);
  napi_get_global(w->env, &global);
  napi_get_boolean(w->env, gone, &arg);
  if (gone) uv_poll_stop(p);
  napi_make_callback(w->env, w->async, global, cb, 1, &arg, &result);
  napi_close_handle_scope(w->env, scope);
}

static void free_watcher_ref(napi_env env, void *data, void *hint) {
  /* The JS handle object was collected; the watcher itself is freed by unwatch (uv_close). */
}

/* watch(fd, callback(gone)) -> handle: calls back from the event loop each time the doorbell rings. The
 * watcher owns fd from here: unwatch closes it. */
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
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return num(env, -EINVAL);
  watcher_t *w = calloc(1, sizeof *w);
  if (!w) return num(env, -ENOMEM);
  w->env = env;
  w->fd = fd;
  int r = uv_poll_init(loop, &w->poll, fd);
  if (r != 0) {
    free(w);
    return num(env, r);
  }
  w->poll.data = w;
  napi_value name;
  napi_create_string_utf8(env, "linsock:doorbell", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &w->async);
  napi_create_reference(env, argv[1], 1, &w->callback);
  uv_poll_start(&w->poll, UV_READABLE | UV_DISCONNECT, on_readable);
  napi_value handle;
  napi_create_external(env, w, free_watcher_ref, NULL, &handle);
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

/* unwatch(handle): stops watching and closes the doorbell; idempotent. */
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

/* ---- the side connection ---- */

/* sendFds(path, message, [fds]) -> 0 or -errno: connects to the Unix socket path, sends message with the
 * descriptors attached (SCM_RIGHTS) and closes. A local connect and one small send do not block. */
static napi_value send_fds(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  size_t path_len = 0;
  void *data = NULL;
  size_t len = 0;
  uint32_t nfds = 0;
  bool is_array = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_len) != napi_ok || path_len == 0 || path_len >= sizeof path - 1 ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok || len == 0 || len > MAX_MESSAGE ||
      napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[2], &nfds) != napi_ok ||
      nfds == 0 || nfds > MAX_FDS) {
    napi_throw_type_error(env, NULL, "sendFds(path, message, fds)");
    return NULL;
  }
  int fds[MAX_FDS];
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value v;
    napi_get_element(env, argv[2], i, &v);
    if (!arg_int(env, v, &fds[i]) || fds[i] < 0) {
      napi_throw_type_error(env, NULL, "sendFds: fds must be descriptors");
      return NULL;
    }
  }
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return num(env, -errno);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, path_len);
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int e = errno;
    close(s);
    return num(env, -e);
  }
  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = { data, len };
  struct msghdr msg = { 0 };
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
  memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  ssize_t n = sendmsg(s, &msg, MSG_NOSIGNAL);
  int e = n < 0 ? errno : (size_t)n != len ? EMSGSIZE : 0;
  close(s);
  return num(env, -e);
}

/* receiveFds(fd) -> [message Buffer, [fds]] or -errno (EAGAIN: nothing yet). One recvmsg, never blocking.
 * Anything beyond MAX_FDS descriptors or MAX_MESSAGE bytes is refused, and whatever arrived is closed. */
static napi_value receive_fds(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !arg_int(env, argv[0], &fd) || fd < 0) {
    napi_throw_type_error(env, NULL, "receiveFds(fd)");
    return NULL;
  }
  char data[MAX_MESSAGE + 1];
  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
    struct cmsghdr align;
  } control;
  struct iovec iov = { data, sizeof data };
  struct msghdr msg = { 0 };
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) return num(env, -errno);
  int fds[MAX_FDS];
  int nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    int *p = (int *)CMSG_DATA(c);
    for (int i = 0; i < k; i++) {
      if (nfds < MAX_FDS) fds[nfds++] = p[i];
      else close(p[i]);
    }
  }
  if ((msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || n == 0 || n > MAX_MESSAGE) {
    for (int i = 0; i < nfds; i++) close(fds[i]);
    return num(env, n == 0 ? -ECONNRESET : -EMSGSIZE);
  }
  napi_value buf, list, out;
  void *copy;
  napi_create_buffer_copy(env, (size_t)n, data, &copy, &buf);
  napi_create_array_with_length(env, (size_t)nfds, &list);
  for (int i = 0; i < nfds; i++) napi_set_element(env, list, (uint32_t)i, num(env, fds[i]));
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, buf);
  napi_set_element(env, out, 1, list);
  return out;
}

/* isDoorbell(fd) -> 1 when fd is an AF_UNIX datagram socket (what a doorbell must be), else 0 or -errno. */
static napi_value is_doorbell(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !arg_int(env, argv[0], &fd) || fd < 0) {
    napi_throw_type_error(env, NULL, "isDoorbell(fd)");
    return NULL;
  }
  int type = 0, domain = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return num(env, -errno);
  len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return num(env, -errno);
  return num(env, type == SOCK_DGRAM && domain == AF_UNIX ? 1 : 0);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "createRegion", NULL, create_region, NULL, NULL, NULL, napi_enumerable, NULL },
    { "mapRegion", NULL, map_region, NULL, NULL, NULL, napi_enumerable, NULL },
    { "doorbellPair", NULL, doorbell_pair, NULL, NULL, NULL, napi_enumerable, NULL },
    { "ring", NULL, ring, NULL, NULL, NULL, napi_enumerable, NULL },
    { "closeFd", NULL, close_fd, NULL, NULL, NULL, napi_enumerable, NULL },
    { "watch", NULL, watch, NULL, NULL, NULL, napi_enumerable, NULL },
    { "unwatch", NULL, unwatch, NULL, NULL, NULL, napi_enumerable, NULL },
    { "refWatch", NULL, ref_watch, NULL, NULL, NULL, napi_enumerable, NULL },
    { "sendFds", NULL, send_fds, NULL, NULL, NULL, napi_enumerable, NULL },
    { "receiveFds", NULL, receive_fds, NULL, NULL, NULL, napi_enumerable, NULL },
    { "isDoorbell", NULL, is_doorbell, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
