/*
 * AF_PACKET send-only sockets: raw Ethernet frames out of one interface, for gratuitous ARP (VRRP) and DHCP
 * replies to clients that have no address yet (RFC 2131 4.1). Mechanics only: the caller builds the frame.
 * A socket with protocol 0 receives nothing, so it costs no per-packet work in the kernel.
 */
#include <errno.h>
#include <net/if.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>
#include "notify.h"
#include "udp.h"

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

/*
 * Receiving: openDhcpReceiver(ifname, onFrame) opens an AF_PACKET socket for IPv4 with a classic BPF filter that
 * keeps only unfragmented UDP to port 67 from clients on the segment (giaddr 0; relayed requests reach the UDP
 * socket, and a message too short to hold a giaddr is dropped here and counted there), polls it on
 * the event loop, and calls onFrame(frame: Uint8Array) for each frame that came in from the wire (frames this
 * host sends are skipped). A link going down only makes the socket quiet; it never takes the process down.
 */
static struct sock_filter DHCP_SERVER_FILTER[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),               /* 0: ethertype */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 10), /* 1: IPv4, else drop */
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),               /* 2: IP protocol */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 8),        /* 3: UDP, else drop */
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),               /* 4: flags + fragment offset */
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 6, 0),   /* 5: a fragment: drop */
    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),              /* 6: X = IP header length */
    BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),               /* 7: UDP destination port */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 67, 0, 3),        /* 8: port 67, else drop */
    BPF_STMT(BPF_LD | BPF_W | BPF_IND, 46),               /* 9: giaddr (14 + IHL + 8 + 24) */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),         /* 10: relayed (giaddr set): the UDP socket's; drop */
    BPF_STMT(BPF_RET | BPF_K, 0x40000),                   /* 11: accept the whole frame */
    BPF_STMT(BPF_RET | BPF_K, 0),                         /* 12: drop */
};

typedef struct {
  uv_poll_t poll;
  int fd;
  napi_env env;
  napi_ref callback;
  unsigned char buf[65536];
} receiver_t;

static void on_closed(uv_handle_t *h) {
  receiver_t *r = (receiver_t *)h->data;
  close(r->fd);
  free(r);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  receiver_t *r = (receiver_t *)handle->data;
  if (status < 0) {
    /* The link went down (the kernel sets ENETDOWN on the socket) or similar. libuv stops a poll handle on
       POLLERR: clear the error by reading SO_ERROR and poll again, so frames flow when the link is back. */
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    uv_poll_start(&r->poll, UV_READABLE, on_readable);
    return;
  }
  if (!(events & UV_READABLE)) return;
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  /* Drain what is queued, a bounded number per wake-up so one busy socket cannot starve the loop. */
  for (int i = 0; i < 64; i++) {
    struct sockaddr_ll from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(r->fd, r->buf, sizeof r->buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
    if (n < 0) {
      if (errno == EINTR) continue;
      break; /* EAGAIN; or an error such as ENETDOWN, which this read has now cleared */
    }
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    napi_value ab, arr, cb, global, result;
    void *data;
    if (napi_create_arraybuffer(env, (size_t)n, &data, &ab) != napi_ok) break;
    memcpy(data, r->buf, (size_t)n);
    if (napi_create_typedarray(env, napi_uint8_array, (size_t)n, ab, 0, &arr) != napi_ok) break;
    if (napi_get_reference_value(env, r->callback, &cb) != napi_ok) break;
    napi_get_global(env, &global);
    if (napi_call_function(env, global, cb, 1, &arr, &result) != napi_ok) {
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
      break;
    }
  }
  napi_close_handle_scope(env, scope);
}

/* openDhcpReceiver(ifname: string, onFrame: (frame: Uint8Array) => void): number (a handle id = the fd) */
static napi_value open_dhcp_receiver(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ifname[IF_NAMESIZE + 1] = {0};
  size_t len = 0;
  napi_valuetype t;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len) != napi_ok || len == 0 ||
      len >= IF_NAMESIZE || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "openDhcpReceiver(ifname, onFrame) expected");
    return NULL;
  }
  unsigned int ifindex = if_nametoindex(ifname);
  if (ifindex == 0) return throw_errno(env, ifname, errno);
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_IP));
  if (fd < 0) return throw_errno(env, "socket(AF_PACKET)", errno);
  struct sock_fprog prog = {sizeof DHCP_SERVER_FILTER / sizeof DHCP_SERVER_FILTER[0], DHCP_SERVER_FILTER};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "SO_ATTACH_FILTER", err);
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = (int)ifindex;
  sll.sll_protocol = htons(ETH_P_IP);
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind(AF_PACKET)", err);
  }
  /* Frames that arrived between socket() and the filter may not match it: drop them. */
  unsigned char junk[1];
  while (recv(fd, junk, sizeof junk, MSG_DONTWAIT | MSG_TRUNC) >= 0) {
  }
  receiver_t *r = calloc(1, sizeof *r);
  if (!r) {
    close(fd);
    napi_throw_error(env, NULL, "openDhcpReceiver: out of memory");
    return NULL;
  }
  r->fd = fd;
  r->env = env;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || napi_create_reference(env, argv[1], 1, &r->callback) != napi_ok ||
      uv_poll_init(loop, &r->poll, fd) != 0) {
    close(fd);
    free(r);
    napi_throw_error(env, NULL, "openDhcpReceiver: cannot poll the socket");
    return NULL;
  }
  r->poll.data = r;
  uv_poll_start(&r->poll, UV_READABLE, on_readable);
  napi_value out;
  CHECK(napi_create_external(env, r, NULL, NULL, &out));
  return out;
}

/* closeDhcpReceiver(handle) */
static napi_value close_dhcp_receiver(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  receiver_t *r = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&r) != napi_ok || !r || r->fd < 0) return NULL;
  uv_poll_stop(&r->poll);
  napi_delete_reference(env, r->callback);
  uv_close((uv_handle_t *)&r->poll, on_closed);
  return NULL;
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
      {"openDhcpReceiver", NULL, open_dhcp_receiver, NULL, NULL, NULL, napi_default, NULL},
      {"closeDhcpReceiver", NULL, close_dhcp_receiver, NULL, NULL, NULL, napi_default, NULL},
      {"sdNotify", NULL, hadhcp_sd_notify, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  CHECK(hadhcp_udp_register(env, exports));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
