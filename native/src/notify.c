/*
 * sd_notify(3) without libsystemd: one datagram to the AF_UNIX socket that systemd names in $NOTIFY_SOCKET, which
 * Node cannot send (its dgram sockets are udp4/udp6 only). Mechanics only: the caller decides what to say, and when.
 * A name starting with '@' is in the abstract namespace, as sd_notify reads $NOTIFY_SOCKET: the '@' becomes a NUL
 * byte and the address length covers the name only (an abstract name has no terminating NUL).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "notify.h"

static napi_value throw_send_error(napi_env env, const char *path, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "sdNotify: sendto(%s): %s", path, strerror(err));
  napi_value code, message, error;
  napi_create_string_utf8(env, "ESYSCALL", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_throw(env, error);
  return NULL;
}

napi_value hadhcp_sd_notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "sdNotify(socketPath, message): two strings expected");
    return NULL;
  }
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  /* One byte more than sun_path holds, so a name that is too long is seen (len == sizeof) and refused. */
  char path[sizeof sa.sun_path + 1];
  size_t plen = 0;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &plen) != napi_ok || plen < 2 ||
      plen >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@')) {
    napi_throw_type_error(env, NULL,
                          "sdNotify: socketPath must be an absolute path or an @abstract name of at most 107 bytes");
    return NULL;
  }
  memcpy(sa.sun_path, path, plen);
  int abstract = path[0] == '@';
  if (abstract) sa.sun_path[0] = '\0';
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (abstract ? 0 : 1));

  size_t mlen = 0;
  if (napi_get_value_string_utf8(env, argv[1], NULL, 0, &mlen) != napi_ok) {
    napi_throw_type_error(env, NULL, "sdNotify: message must be a string");
    return NULL;
  }
  char *msg = malloc(mlen + 1);
  if (!msg) return throw_send_error(env, path, ENOMEM);
  napi_get_value_string_utf8(env, argv[1], msg, mlen + 1, &mlen);

  /* A socket per message: the daemon says something every few seconds at most, and nothing is left open. */
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    free(msg);
    return throw_send_error(env, path, err);
  }
  ssize_t n = sendto(fd, msg, mlen, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
  int err = errno;
  close(fd);
  free(msg);
  if (n < 0) return throw_send_error(env, path, err);
  return NULL;
}
