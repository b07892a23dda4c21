/* linsock_fdpass: writes one frame on a Unix stream socket with a descriptor attached (SCM_RIGHTS), which
 * libuv cannot do on a socket it owns. linsockd uses it on a guest's channel for the "passed descriptor"
 * data plane (protocol/README.md, passFd): the reply frame carries the connected host socket, so that the
 * interposer puts it under the program's fd number and the program's data calls reach the kernel directly.
 * The caller writes nothing else on the channel meanwhile (its libuv write queue is empty), so the frame
 * stays in stream order. */
#include <errno.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>

/** A passFd reply is one 16-byte header and a 4-byte value: anything much larger is a caller's bug. */
#define MAX_FRAME 4096

/* sendWithFd(channelFd, frame, fd) -> bytes written (all or some of the frame; the descriptor went with the
 * first of them), or -errno (EAGAIN: the channel is full, nothing was written, the descriptor did not go). */
static napi_value send_with_fd(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t chan = -1, fd = -1;
  void *data = NULL;
  size_t len = 0;
  bool is_buffer = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_int32(env, argv[0], &chan) != napi_ok || napi_get_value_int32(env, argv[2], &fd) != napi_ok ||
      napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok || chan < 0 || fd < 0 || len == 0 || len > MAX_FRAME) {
    napi_throw_type_error(env, NULL, "sendWithFd(channelFd, frame: Buffer of 1..4096 bytes, fd)");
    return NULL;
  }
  struct iovec iov = { data, len };
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } c;
  memset(&c, 0, sizeof c);
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b };
  struct cmsghdr *h = CMSG_FIRSTHDR(&m);
  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_RIGHTS;
  h->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(h), &fd, sizeof(int));
  ssize_t n;
  do n = sendmsg(chan, &m, MSG_DONTWAIT | MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  napi_value out;
  napi_create_int32(env, n < 0 ? -errno : (int32_t)n, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "sendWithFd", NULL, send_with_fd, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, 1, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
