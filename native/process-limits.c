/* linsock_proc: the few kernel calls linsockd needs and Node does not offer. Each takes small integer or
 * short string arguments, checks them, and returns a number (or -errno) rather than throwing, so that a
 * failure is the caller's decision.
 *   raiseFileLimit()        -> [soft, hard] after raising RLIMIT_NOFILE's soft limit to the hard one
 *   peerCredentials(fd)     -> [pid, uid, gid] of a Unix socket's peer (SO_PEERCRED), or -errno
 *   interfaceIndex(name)    -> the index of a network interface of this network namespace, or 0
 *   interfaceName(index)    -> its name, or null */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <node_api.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

static napi_value number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static napi_value raise_file_limit(napi_env env, napi_callback_info info) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return number(env, -errno);
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  napi_value arr;
  napi_create_array_with_length(env, 2, &arr);
  /* RLIM_INFINITY does not occur for RLIMIT_NOFILE on Linux (nr_open caps it), but say so if it did. */
  napi_set_element(env, arr, 0, number(env, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur));
  napi_set_element(env, arr, 1, number(env, rl.rlim_max == RLIM_INFINITY ? -1 : (double)rl.rlim_max));
  return arr;
}

static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "peerCredentials(fd)");
    return NULL;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return number(env, -errno);
  napi_value arr;
  napi_create_array_with_length(env, 3, &arr);
  napi_set_element(env, arr, 0, number(env, cred.pid));
  napi_set_element(env, arr, 1, number(env, cred.uid));
  napi_set_element(env, arr, 2, number(env, cred.gid));
  return arr;
}

static napi_value interface_index(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[IF_NAMESIZE + 1];
  size_t n = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], name, sizeof name, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "interfaceIndex(name)");
    return NULL;
  }
  /* A name that filled the buffer was cut: no interface has it (IF_NAMESIZE counts the NUL). */
  if (n == 0 || n >= IF_NAMESIZE) return number(env, 0);
  return number(env, if_nametoindex(name));
}

static napi_value interface_name(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t index = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_uint32(env, argv[0], &index) != napi_ok) {
    napi_throw_type_error(env, NULL, "interfaceName(index)");
    return NULL;
  }
  char name[IF_NAMESIZE];
  napi_value out;
  if (index == 0 || if_indextoname(index, name) == NULL) {
    napi_get_null(env, &out);
    return out;
  }
  napi_create_string_utf8(env, name, strnlen(name, sizeof name), &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "raiseFileLimit", NULL, raise_file_limit, NULL, NULL, NULL, napi_enumerable, NULL },
    { "peerCredentials", NULL, peer_credentials, NULL, NULL, NULL, napi_enumerable, NULL },
    { "interfaceIndex", NULL, interface_index, NULL, NULL, NULL, napi_enumerable, NULL },
    { "interfaceName", NULL, interface_name, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, 4, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
