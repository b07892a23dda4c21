/* linsock_sockbuf: sets a socket's kernel send buffer, which Node offers for UDP but not for stream
 * sockets. The guest channel needs it: a Unix socket's default send buffer (wmem_default, 208 KiB)
 * holds about two 64 KiB frames, so the sender blocks, the receiver wakes per frame, and a bulk transfer
 * through linsockd runs at two thirds of what a deeper pipe gives (see the README's figures).
 * And writes what the kernel takes at once from memory the caller cannot keep: the daemon writes a
 * guest's send straight from its shared-memory ring, then copies only what did not go. */
#include <errno.h>
#include <node_api.h>
#include <sys/socket.h>

/* setSendBuffer(fd, bytes) -> the size the kernel granted (it doubles the request for its bookkeeping
 * and caps it at net.core.wmem_max unless the caller holds CAP_NET_ADMIN, when SO_SNDBUFFORCE lifts
 * the cap), or -errno when it refused (ENOTSOCK when fd is not a socket). */
static napi_value set_send_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1, bytes = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &bytes) != napi_ok || bytes <= 0) {
    napi_throw_type_error(env, NULL, "setSendBuffer(fd, bytes)");
    return NULL;
  }
  int result = 0;
  socklen_t len = sizeof result;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0 &&
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) != 0)
    result = -errno;
  else if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &result, &len) != 0)
    result = -errno;
  napi_value out;
  napi_create_int32(env, result, &out);
  return out;
}

/* tryWrite(fd, bytes: Uint8Array) -> how many bytes the kernel took now (0 when its buffer is full), or
 * -errno. Never blocks (MSG_DONTWAIT) and never raises SIGPIPE (MSG_NOSIGNAL); N-API hands over the
 * array's own pointer and length, already offset, so the read stays inside the array. */
static napi_value try_write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "tryWrite(fd, bytes: Uint8Array)");
    return NULL;
  }
  ssize_t n = length == 0 ? 0 : send(fd, data, length, MSG_DONTWAIT | MSG_NOSIGNAL);
  double result = n >= 0 ? (double)n : (errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -(double)errno);
  napi_value out;
  napi_create_double(env, result, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "setSendBuffer", NULL, set_send_buffer, NULL, NULL, NULL, napi_enumerable, NULL },
    { "tryWrite", NULL, try_write, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
