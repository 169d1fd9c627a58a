/*
 * Batched UDP for a busy server: recvmmsg(2) drains up to 64 datagrams per system call and hands them to
 * JavaScript in one call; sendmmsg(2) sends a batch of datagrams in one. Node's dgram reads and sends one datagram
 * per system call and crosses into JavaScript once per datagram, with a Buffer, an rinfo object and an address
 * string each. Mechanics only: which datagrams to send and what they mean is the caller's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>
#include "udp.h"

#define BATCH 64
/* Room for the largest UDP datagram, so that none is cut (an oversized or malformed one must reach the decoder to
   be counted under its drop reason). The slots are allocated untouched: only the bytes datagrams fill become
   resident (a page or so per slot in service). */
#define SLOT 65536
/* recvmmsg calls per wake-up: 256 datagrams at most, so one busy socket cannot starve the loop. */
#define ROUNDS 4

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "hadhcp_native: N-API call failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

typedef struct {
  uv_poll_t poll;
  int fd;
  int closed;
  napi_env env;
  napi_ref callback;
  /* The caller's Int32Array: per datagram of a batch, offset, length, source address (network order read as
     big-endian into an int), source port. Written before each call of the callback. */
  napi_ref meta_ref;
  int32_t *meta;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in from[BATCH];
  unsigned char bufs[BATCH][SLOT];
} udp_t;

static napi_value throw_sys(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, message, error, no;
  const char *name = err == EADDRINUSE      ? "EADDRINUSE"
                     : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL"
                     : err == EACCES        ? "EACCES"
                     : err == EPERM         ? "EPERM"
                                            : "ESYSCALL";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &no);
  napi_set_named_property(env, error, "errno", no);
  napi_throw(env, error);
  return NULL;
}

static void on_closed(uv_handle_t *h) {
  udp_t *u = (udp_t *)h->data;
  close(u->fd);
  free(u);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  udp_t *u = (udp_t *)handle->data;
  if (status < 0) {
    /* A pending socket error (an ICMP error for an earlier send): clear it and poll again. */
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    uv_poll_start(&u->poll, UV_READABLE, on_readable);
    return;
  }
  if (!(events & UV_READABLE)) return;
  napi_env env = u->env;
  for (int round = 0; round < ROUNDS && !u->closed; round++) {
    for (int i = 0; i < BATCH; i++) {
      u->iov[i].iov_base = u->bufs[i];
      u->iov[i].iov_len = SLOT;
      memset(&u->msgs[i].msg_hdr, 0, sizeof u->msgs[i].msg_hdr);
      u->msgs[i].msg_hdr.msg_name = &u->from[i];
      u->msgs[i].msg_hdr.msg_namelen = sizeof u->from[i];
      u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
      u->msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(u->fd, u->msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; /* EAGAIN: drained; another error: cleared by this read, polled again */
    size_t total = 0;
    for (int i = 0; i < n; i++)
      if (!(u->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) total += u->msgs[i].msg_len;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value ab, arr, cb, global, result, argv[2];
    void *data;
    int k = 0;
    if (napi_create_arraybuffer(env, total, &data, &ab) == napi_ok &&
        napi_create_typedarray(env, napi_uint8_array, total, ab, 0, &arr) == napi_ok) {
      size_t off = 0;
      for (int i = 0; i < n; i++) {
        if (u->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue; /* larger than SLOT: not possible for UDP/IPv4 */
        size_t len = u->msgs[i].msg_len;
        memcpy((unsigned char *)data + off, u->bufs[i], len);
        u->meta[k * 4] = (int32_t)off;
        u->meta[k * 4 + 1] = (int32_t)len;
        u->meta[k * 4 + 2] = (int32_t)ntohl(u->from[i].sin_addr.s_addr);
        u->meta[k * 4 + 3] = ntohs(u->from[i].sin_port);
        off += len;
        k++;
      }
      napi_create_int32(env, k, &argv[1]);
      argv[0] = arr;
      if (k > 0 && napi_get_reference_value(env, u->callback, &cb) == napi_ok) {
        napi_get_global(env, &global);
        if (napi_call_function(env, global, cb, 2, argv, &result) != napi_ok) {
          napi_value exc;
          if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
          napi_close_handle_scope(env, scope);
          return;
        }
      }
    }
    napi_close_handle_scope(env, scope);
    if (n < BATCH) break;
  }
}

/*
 * openUdp(address: number, port: number, rcvbuf: number, sndbuf: number, meta: Int32Array(4 * 64),
 *         onBatch: (data: Uint8Array, count: number) => void): handle
 * A non-blocking UDP socket bound to address:port (host order; 0 = INADDR_ANY) with SO_REUSEADDR and SO_BROADCAST,
 * polled on the event loop.
 */
static napi_value open_udp(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t addr = 0, port = 0, rcvbuf = 0, sndbuf = 0;
  napi_valuetype t;
  napi_typedarray_type mt;
  size_t mlen = 0;
  void *mdata = NULL;
  if (argc < 6 || napi_get_value_uint32(env, argv[0], &addr) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &port) != napi_ok || port > 65535 ||
      napi_get_value_uint32(env, argv[2], &rcvbuf) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &sndbuf) != napi_ok ||
      napi_get_typedarray_info(env, argv[4], &mt, &mlen, &mdata, NULL, NULL) != napi_ok || mt != napi_int32_array ||
      mlen < 4 * BATCH || napi_typeof(env, argv[5], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "openUdp(address, port, rcvbuf, sndbuf, meta: Int32Array(256), onBatch) expected");
    return NULL;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return throw_sys(env, "socket(AF_INET, SOCK_DGRAM)", errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
  if (rcvbuf) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons((uint16_t)port);
  sin.sin_addr.s_addr = htonl(addr);
  if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
    int err = errno;
    close(fd);
    char what[64];
    snprintf(what, sizeof what, "bind %u.%u.%u.%u:%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255,
             port);
    return throw_sys(env, what, err);
  }
  udp_t *u = calloc(1, sizeof *u);
  if (!u) {
    close(fd);
    napi_throw_error(env, NULL, "openUdp: out of memory");
    return NULL;
  }
  u->fd = fd;
  u->env = env;
  u->meta = (int32_t *)mdata;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || napi_create_reference(env, argv[5], 1, &u->callback) != napi_ok ||
      napi_create_reference(env, argv[4], 1, &u->meta_ref) != napi_ok || uv_poll_init(loop, &u->poll, fd) != 0) {
    close(fd);
    free(u);
    napi_throw_error(env, NULL, "openUdp: cannot poll the socket");
    return NULL;
  }
  u->poll.data = u;
  uv_poll_start(&u->poll, UV_READABLE, on_readable);
  napi_value out;
  CHECK(napi_create_external(env, u, NULL, NULL, &out));
  return out;
}

/*
 * udpSend(handle, data: Uint8Array, meta: Int32Array, start: number, count: number): number
 * Sends datagrams start .. start+count-1 of a batch (meta: offset, length, destination address in host order,
 * destination port, per datagram) with sendmmsg. Returns how many left (from start), or -errno when the first of
 * them was refused (the caller reports it and goes on with the next).
 */
static napi_value udp_send(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_t *u = NULL;
  napi_typedarray_type dt, mt;
  size_t dlen = 0, mlen = 0;
  void *ddata = NULL, *mdata = NULL;
  uint32_t start = 0, count = 0;
  if (argc < 5 || napi_get_value_external(env, argv[0], (void **)&u) != napi_ok || !u ||
      napi_get_typedarray_info(env, argv[1], &dt, &dlen, &ddata, NULL, NULL) != napi_ok || dt != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[2], &mt, &mlen, &mdata, NULL, NULL) != napi_ok || mt != napi_int32_array ||
      napi_get_value_uint32(env, argv[3], &start) != napi_ok || napi_get_value_uint32(env, argv[4], &count) != napi_ok ||
      (size_t)(start + count) * 4 > mlen) {
    napi_throw_type_error(env, NULL, "udpSend(handle, data, meta, start, count) expected");
    return NULL;
  }
  napi_value out;
  if (u->closed) {
    CHECK(napi_create_int32(env, -EBADF, &out));
    return out;
  }
  if (count > BATCH) count = BATCH;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in to[BATCH];
  const int32_t *m = (const int32_t *)mdata + start * 4;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t off = (uint32_t)m[i * 4], len = (uint32_t)m[i * 4 + 1];
    if ((size_t)off + len > dlen) {
      napi_throw_range_error(env, NULL, "udpSend: a datagram outside the data");
      return NULL;
    }
    iov[i].iov_base = (unsigned char *)ddata + off;
    iov[i].iov_len = len;
    memset(&to[i], 0, sizeof to[i]);
    to[i].sin_family = AF_INET;
    to[i].sin_addr.s_addr = htonl((uint32_t)m[i * 4 + 2]);
    to[i].sin_port = htons((uint16_t)m[i * 4 + 3]);
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_name = &to[i];
    msgs[i].msg_hdr.msg_namelen = sizeof to[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n;
  do n = sendmmsg(u->fd, msgs, count, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  CHECK(napi_create_int32(env, n < 0 ? -errno : n, &out));
  return out;
}

/* closeUdp(handle) */
static napi_value close_udp(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_t *u = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&u) != napi_ok || !u || u->closed) return NULL;
  u->closed = 1;
  uv_poll_stop(&u->poll);
  napi_delete_reference(env, u->callback);
  napi_delete_reference(env, u->meta_ref);
  uv_close((uv_handle_t *)&u->poll, on_closed);
  return NULL;
}

napi_status hadhcp_udp_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"openUdp", NULL, open_udp, NULL, NULL, NULL, napi_default, NULL},
      {"udpSend", NULL, udp_send, NULL, NULL, NULL, napi_default, NULL},
      {"closeUdp", NULL, close_udp, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
