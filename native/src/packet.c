/*
 * AF_PACKET send-only sockets: raw Ethernet frames out of one interface, for gratuitous ARP (VRRP) and DHCP
 * replies to clients that have no address yet (RFC 2131 4.1). Mechanics only: the caller builds the frame.
 * A socket with protocol 0 receives nothing, so it costs no per-packet work in the kernel.
 */
#include <errno.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "hadhcp_native: N-API call failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, message, error;
  napi_create_string_utf8(env, err == EPERM || err == EACCES ? "EPERM" : "ESYSCALL", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_throw(env, error);
  return NULL;
}

/* openPacketSocket(ifname: string): { fd: number, ifindex: number } */
static napi_value open_packet_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ifname[IF_NAMESIZE + 1] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len) != napi_ok || len == 0 ||
      len >= IF_NAMESIZE) {
    napi_throw_type_error(env, NULL, "openPacketSocket(ifname): interface name of 1-15 characters expected");
    return NULL;
  }
  unsigned int ifindex = if_nametoindex(ifname);
  if (ifindex == 0) return throw_errno(env, ifname, errno);
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_PACKET)", errno);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = (int)ifindex;
  sll.sll_protocol = 0;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind(AF_PACKET)", err);
  }
  napi_value result, vfd, vidx;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_int32(env, fd, &vfd));
  CHECK(napi_create_uint32(env, ifindex, &vidx));
  CHECK(napi_set_named_property(env, result, "fd", vfd));
  CHECK(napi_set_named_property(env, result, "ifindex", vidx));
  return result;
}

/* sendFrame(fd: number, frame: Uint8Array): number of bytes sent. Frames are small; the send does not block. */
static napi_value send_frame(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "sendFrame(fd, frame): fd expected");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void *data = NULL;
  napi_value arraybuffer;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, &arraybuffer, &offset) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "sendFrame(fd, frame): Uint8Array frame expected");
    return NULL;
  }
  if (length < 14) {
    napi_throw_range_error(env, NULL, "sendFrame: a frame has at least 14 bytes (Ethernet header)");
    return NULL;
  }
  ssize_t n = send(fd, data, length, MSG_DONTWAIT);
  if (n < 0) return throw_errno(env, "send(AF_PACKET)", errno);
  napi_value out;
  CHECK(napi_create_int64(env, (int64_t)n, &out));
  return out;
}

/* closeSocket(fd: number) */
static napi_value close_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  if (argc >= 1 && napi_get_value_int32(env, argv[0], &fd) == napi_ok && fd >= 0) close(fd);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"openPacketSocket", NULL, open_packet_socket, NULL, NULL, NULL, napi_default, NULL},
      {"sendFrame", NULL, send_frame, NULL, NULL, NULL, napi_default, NULL},
      {"closeSocket", NULL, close_socket, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
